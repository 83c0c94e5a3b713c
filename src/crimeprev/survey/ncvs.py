"""The US National Crime Victimization Survey (NCVS) 2021: analysis frames from the public files.

Follows the Bureau of Justice Statistics recipe as laid out in Zimmer,
Powell and Velasquez (2024), *Exploring Complex Survey Data Analysis Using
R*, ch. "National Crime Victimization Survey Vignette":

* series victimisations (six or more similar incidents the respondent
  cannot tell apart) count as the reported number of times, top-coded at
  10, or 6 when the number is unknown (``serieswgt``);
* incidents outside the United States (``V4022 == 1``) are left out;
* household crimes (type-of-crime codes above 23) are summed per
  household and quarter and attached to the household file with the
  adjustment ``WGTVICCY / WGTHHCY``, so the household-weighted total of
  the adjusted count is the number of victimisations;
* the design is pseudo-stratum ``V2117`` with half-sample ``V2118``
  (Taylor linearisation).

The functions here are pure: they take the data frames and return data
frames. :func:`crimeprev.survey.io.load_ncvs_2021` reads the bundled files.
"""

from __future__ import annotations

from importlib import resources

import numpy as np
import pandas as pd

from crimeprev.errors import InvalidInputError

#: Type-of-crime codes of household (property) crimes.
HOUSEHOLD_CRIME_MINIMUM = 31


def crime_type_mapping() -> pd.DataFrame:
    """The NCVS type-of-crime codes (``V4529``) with their crime group and ICCS code.

    Examples
    --------
    >>> mapping = crime_type_mapping()
    >>> mapping.loc[mapping["ncvs_code"] == 40, "iccs_code"].item()
    '050211'
    """
    path = resources.files("crimeprev.survey") / "data" / "ncvs_crime_types_iccs.csv"
    with path.open(encoding="utf-8") as handle:
        return pd.read_csv(handle, dtype={"iccs_code": str})


#: Analysis categories: name -> (label, set of V4529 codes).
def categories() -> dict[str, tuple[str, tuple[int, ...]]]:
    """Crime categories used in the NCVS tables: name -> (label, type-of-crime codes).

    Examples
    --------
    >>> categories()["burglary"][1]
    (31, 32, 33)
    """
    mapping = crime_type_mapping()

    def codes(mask: pd.Series) -> tuple[int, ...]:
        return tuple(int(code) for code in mapping.loc[mask, "ncvs_code"])

    return {
        "property": ("Property crime", codes(mapping["crime_group"] == "property")),
        "burglary": ("Burglary and trespass", codes(mapping["ncvs_code"].between(31, 33))),
        "motor_vehicle_theft": ("Motor vehicle theft", codes(mapping["ncvs_code"].between(40, 41))),
        "theft": ("Other household theft", codes(mapping["ncvs_code"].between(54, 59))),
        "violent": ("Violent crime", codes(mapping["crime_group"] == "violent")),
        "robbery": ("Robbery", codes(mapping["ncvs_code"].between(5, 10))),
        "aggravated_assault": ("Aggravated assault", codes(mapping["ncvs_code"].between(11, 13))),
        "simple_assault": ("Simple assault", codes(mapping["ncvs_code"].isin([14, 17, 20]))),
        "rape_sexual_assault": (
            "Rape or sexual assault",
            codes(mapping["ncvs_code"].isin([1, 2, 3, 4, 15, 16, 18, 19])),
        ),
    }


#: ICCS code of each NCVS category, at the level police statistics usually report,
#: for the dark figure (violent and property totals span several ICCS sections).
CATEGORY_ICCS: dict[str, str] = {
    "burglary": "0501",
    "motor_vehicle_theft": "05021",
    "theft": "05022",
    "robbery": "0401",
    "aggravated_assault": "020111",
    "simple_assault": "020112",
    "rape_sexual_assault": "0301",
}


def _require(frame: pd.DataFrame, columns: list[str], name: str) -> None:
    missing = [column for column in columns if column not in frame.columns]
    if missing:
        raise InvalidInputError(
            f"the NCVS {name} file lacks columns {', '.join(missing)}",
            file=name,
            field=missing[0],
            expected="the NCVS 2021 public-use columns",
        )


def series_weights(incident: pd.DataFrame) -> np.ndarray:
    """Number of victimisations each incident record stands for (BJS series rule).

    Examples
    --------
    >>> frame = pd.DataFrame({"V4016": [1, 25, 997], "V4017": [1, 2, 2],
    ...                       "V4018": [None, 1, 1], "V4019": [None, 2, 2]})
    >>> series_weights(frame).tolist()
    [1.0, 10.0, 6.0]
    """
    _require(incident, ["V4016", "V4017", "V4018", "V4019"], "incident")
    not_series = (
        incident["V4017"].isin([1, 8])
        | incident["V4018"].isin([2, 8])
        | incident["V4019"].isin([1, 8])
    )
    times = incident["V4016"].astype(float).where(~incident["V4016"].isin([997, 998]))
    times = times.clip(upper=10)
    weights = np.where(not_series, 1.0, times.fillna(6.0).to_numpy())
    return weights.astype(float)


def prepare_incidents(household: pd.DataFrame, incident: pd.DataFrame) -> pd.DataFrame:
    """Incident-level analysis frame with the design of the household file.

    Every pseudo-stratum and half-sample appears (zero-weight rows stand for
    PSUs without incidents), so the design is whole.

    Parameters
    ----------
    household, incident : pandas.DataFrame
        The NCVS household and incident files.

    Returns
    -------
    pandas.DataFrame
        ``weight`` (victimisation weight x series weight), ``V2117``,
        ``V2118``, ``crime_type`` (V4529), ``reported`` (1 if reported to the
        police, else 0), one 0/1 column per category of :func:`categories` and
        ``<category>_reported``.
    """
    _require(household, ["YEARQ", "IDHH", "V2117", "V2118"], "household")
    _require(incident, ["YEARQ", "IDHH", "WGTVICCY", "V4022", "V4399", "V4529"], "incident")
    incidents = incident.loc[incident["V4022"] != 1].copy()
    incidents["weight"] = incidents["WGTVICCY"].to_numpy(dtype=float) * series_weights(incidents)
    design = household[["YEARQ", "IDHH", "V2117", "V2118"]].drop_duplicates(["YEARQ", "IDHH"])
    incidents = incidents.merge(design, on=["YEARQ", "IDHH"], how="left", validate="many_to_one")
    unmatched = incidents["V2117"].isna()
    if unmatched.any():
        row = incidents.loc[unmatched].iloc[0]
        raise InvalidInputError(
            f"{int(unmatched.sum())} incidents have no household record "
            f"(first: YEARQ {row['YEARQ']}, IDHH {row['IDHH']})",
            file="incident",
            field="IDHH",
            value=str(row["IDHH"]),
        )
    incidents["crime_type"] = incidents["V4529"].astype(int)
    incidents["reported"] = (incidents["V4399"] == 1).astype(float)
    dummies = (
        household[["V2117", "V2118"]]
        .drop_duplicates()
        .assign(weight=0.0, crime_type=0, reported=0.0)
    )
    frame = pd.concat(
        [incidents[["weight", "V2117", "V2118", "crime_type", "reported"]], dummies],
        ignore_index=True,
    )
    for name, (_, codes) in categories().items():
        frame[name] = frame["crime_type"].isin(codes).astype(float)
        frame[f"{name}_reported"] = frame[name] * frame["reported"]
    frame["V2117"] = frame["V2117"].astype(int)
    frame["V2118"] = frame["V2118"].astype(int)
    return frame


#: Household characteristics: column -> (label, {code: label}).
HOUSEHOLD_LABELS: dict[str, tuple[str, dict[int, str]]] = {
    "tenure": ("Tenure", {1: "Owned", 2: "Rented"}),
    "urbanicity": ("Urbanicity", {1: "Urban", 2: "Suburban", 3: "Rural"}),
    "region": ("Region", {1: "Northeast", 2: "Midwest", 3: "South", 4: "West"}),
    "income": (
        "Household income",
        {
            1: "Less than $25,000",
            2: "$25,000-49,999",
            3: "$50,000-99,999",
            4: "$100,000-199,999",
            5: "$200,000 or more",
        },
    ),
}


def prepare_households(household: pd.DataFrame, incident: pd.DataFrame) -> pd.DataFrame:
    """Household-level analysis frame: victimisation counts per household and quarter.

    Parameters
    ----------
    household, incident : pandas.DataFrame
        The NCVS household and incident files.

    Returns
    -------
    pandas.DataFrame
        Household rows with ``WGTHHCY``, ``V2117``, ``V2118``, ``tenure``,
        ``urbanicity``, ``region``, ``income`` (coded as
        :data:`HOUSEHOLD_LABELS`), and for each household crime category
        (``property``, ``burglary``, ``motor_vehicle_theft``, ``theft``) the
        adjusted number of victimisations ``<category>`` and of those reported
        to the police ``<category>_reported``.
    """
    _require(
        household,
        ["YEARQ", "IDHH", "WGTHHCY", "V2117", "V2118", "V2015", "V2143", "V2127B", "SC214A"],
        "household",
    )
    _require(incident, ["YEARQ", "IDHH", "WGTVICCY", "V4022", "V4399", "V4529"], "incident")
    incidents = incident.loc[
        (incident["V4022"] != 1) & (incident["V4529"] >= HOUSEHOLD_CRIME_MINIMUM)
    ].copy()
    incidents["times"] = series_weights(incidents)
    incidents["reported"] = (incidents["V4399"] == 1).astype(float)
    chosen = {
        name: codes
        for name, (_, codes) in categories().items()
        if name in ("property", "burglary", "motor_vehicle_theft", "theft")
    }
    for name, codes in chosen.items():
        inside = incidents["V4529"].isin(codes).astype(float)
        incidents[name] = inside * incidents["times"]
        incidents[f"{name}_reported"] = inside * incidents["times"] * incidents["reported"]
    columns = [c for name in chosen for c in (name, f"{name}_reported")]
    sums = incidents.groupby(["YEARQ", "IDHH"], sort=False).agg(
        WGTVICCY=("WGTVICCY", "first"), **{c: (c, "sum") for c in columns}
    )
    frame = household.merge(
        sums.reset_index(), on=["YEARQ", "IDHH"], how="left", validate="one_to_one"
    )
    weight = frame["WGTHHCY"].to_numpy(dtype=float)
    victim_weight = frame["WGTVICCY"].to_numpy(dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        adjustment = np.where(np.isnan(victim_weight) | (weight == 0), 0.0, victim_weight / weight)
    for column in columns:
        frame[column] = frame[column].fillna(0.0).to_numpy() * adjustment
    tenure = frame["V2015"].astype(float)
    frame["tenure"] = np.where(tenure == 1, 1.0, np.where(tenure.notna(), 2.0, np.nan))
    frame["urbanicity"] = frame["V2143"].astype(float)
    frame["region"] = frame["V2127B"].astype(float)
    income = frame["SC214A"].astype(float)
    frame["income"] = np.select(
        [income <= 8, income <= 12, income <= 15, income <= 17, income <= 18],
        [1, 2, 3, 4, 5],
        default=np.nan,
    )
    keep = [
        "YEARQ",
        "IDHH",
        "WGTHHCY",
        "V2117",
        "V2118",
        "tenure",
        "urbanicity",
        "region",
        "income",
        *columns,
    ]
    return frame[keep]


#: Type-of-crime codes below this are personal crimes (violence and personal theft).
PERSONAL_CRIME_LIMIT = 24

#: Person characteristics: column -> (label, {code: label}).
PERSON_LABELS: dict[str, tuple[str, dict[int, str]]] = {
    "sex": ("Sex", {1: "Male", 2: "Female"}),
    "age": (
        "Age",
        {1: "12-17", 2: "18-24", 3: "25-34", 4: "35-49", 5: "50-64", 6: "65 or older"},
    ),
}

#: Personal crime categories of :func:`categories` counted per person.
PERSON_CATEGORIES: tuple[str, ...] = (
    "violent",
    "robbery",
    "aggravated_assault",
    "simple_assault",
    "rape_sexual_assault",
)


def prepare_persons(
    person: pd.DataFrame, incident: pd.DataFrame, household: pd.DataFrame | None = None
) -> pd.DataFrame:
    """Person-level analysis frame: violent victimisations per person aged 12 or older.

    The NCVS person file is not in the bundled public-use subset; a user who
    has it (ICPSR 38429) passes it here with the incident file. The recipe is
    the household one at person level: personal crimes (type-of-crime codes
    below 24) in the United States, counted with the series rule, summed per
    person and quarter, and multiplied by ``WGTVICCY / WGTPERCY`` so that the
    person-weighted total is the number of victimisations.

    Parameters
    ----------
    person : pandas.DataFrame
        Person records: ``YEARQ``, ``IDHH``, ``IDPER``, ``WGTPERCY``, age
        ``V3014``, sex ``V3018``, and the design ``V2117``, ``V2118`` (taken
        from `household` when the person file lacks them).
    incident : pandas.DataFrame
        The incident file (with ``IDPER``).
    household : pandas.DataFrame, optional
        Household file, only needed for ``V2117``/``V2118``.

    Returns
    -------
    pandas.DataFrame
        ``WGTPERCY``, ``V2117``, ``V2118``, ``sex`` and ``age`` (coded as
        :data:`PERSON_LABELS`), and for each of :data:`PERSON_CATEGORIES` the
        adjusted number of victimisations ``<category>`` and of those reported
        to the police ``<category>_reported``.

    Raises
    ------
    InvalidInputError
        If a file lacks a column, or an incident has no person record.

    Examples
    --------
    >>> person = pd.DataFrame({"YEARQ": [2021.1] * 2, "IDHH": ["h1", "h1"], "IDPER": ["p1", "p2"],
    ...     "WGTPERCY": [1000.0, 1000.0], "V3014": [30, 70], "V3018": [2, 1],
    ...     "V2117": [1, 1], "V2118": [1, 1]})
    >>> incident = pd.DataFrame({"YEARQ": [2021.1], "IDHH": ["h1"], "IDPER": ["p1"],
    ...     "WGTVICCY": [2000.0], "V4022": [2], "V4399": [1], "V4529": [11], "V4016": [1],
    ...     "V4017": [1], "V4018": [None], "V4019": [None]})
    >>> frame = prepare_persons(person, incident)
    >>> frame[["age", "violent", "violent_reported"]].to_numpy().tolist()
    [[3.0, 2.0, 2.0], [6.0, 0.0, 0.0]]
    """
    keys = ["YEARQ", "IDHH", "IDPER"]
    _require(person, [*keys, "WGTPERCY", "V3014", "V3018"], "person")
    _require(incident, [*keys, "WGTVICCY", "V4022", "V4399", "V4529"], "incident")
    frame = person.copy()
    if "V2117" not in frame.columns or "V2118" not in frame.columns:
        if household is None:
            raise InvalidInputError(
                "the NCVS person file lacks the design columns V2117 and V2118; "
                "pass the household file too",
                file="person",
                field="V2117",
            )
        _require(household, ["YEARQ", "IDHH", "V2117", "V2118"], "household")
        design = household[["YEARQ", "IDHH", "V2117", "V2118"]].drop_duplicates(["YEARQ", "IDHH"])
        frame = frame.drop(columns=["V2117", "V2118"], errors="ignore").merge(
            design, on=["YEARQ", "IDHH"], how="left", validate="many_to_one"
        )
    incidents = incident.loc[
        (incident["V4022"] != 1) & (incident["V4529"] < PERSONAL_CRIME_LIMIT)
    ].copy()
    incidents["times"] = series_weights(incidents)
    incidents["reported"] = (incidents["V4399"] == 1).astype(float)
    chosen = {name: categories()[name][1] for name in PERSON_CATEGORIES}
    for name, codes in chosen.items():
        inside = incidents["V4529"].isin(codes).astype(float)
        incidents[name] = inside * incidents["times"]
        incidents[f"{name}_reported"] = inside * incidents["times"] * incidents["reported"]
    columns = [c for name in chosen for c in (name, f"{name}_reported")]
    sums = incidents.groupby(keys, sort=False).agg(
        WGTVICCY=("WGTVICCY", "first"), **{c: (c, "sum") for c in columns}
    )
    unmatched = ~sums.index.isin(pd.MultiIndex.from_frame(frame[keys]))
    if unmatched.any():
        first = sums.index[unmatched][0]
        raise InvalidInputError(
            f"{int(unmatched.sum())} victims in the incident file have no person record "
            f"(first: YEARQ {first[0]}, IDHH {first[1]}, IDPER {first[2]})",
            file="incident",
            field="IDPER",
            value=str(first[2]),
            expected="every victim in the person file",
        )
    frame = frame.merge(sums.reset_index(), on=keys, how="left", validate="one_to_one")
    weight = frame["WGTPERCY"].to_numpy(dtype=float)
    victim_weight = frame["WGTVICCY"].to_numpy(dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        adjustment = np.where(np.isnan(victim_weight) | (weight == 0), 0.0, victim_weight / weight)
    for column in columns:
        frame[column] = frame[column].fillna(0.0).to_numpy() * adjustment
    sex = frame["V3018"].astype(float)
    frame["sex"] = sex.where(sex.isin([1.0, 2.0]))
    age = frame["V3014"].astype(float)
    frame["age"] = np.select(
        [age < 12, age <= 17, age <= 24, age <= 34, age <= 49, age <= 64, age <= 120],
        [np.nan, 1, 2, 3, 4, 5, 6],
        default=np.nan,
    )
    for name in ("V2117", "V2118"):
        missing = frame[name].isna().to_numpy()
        if missing.any():
            row = int(np.flatnonzero(missing)[0])
            raise InvalidInputError(
                f"person row {row} (IDHH {frame['IDHH'].iloc[row]}) has no {name}: "
                "its household is not in the household file",
                file="person",
                row=row,
                field=name,
                expected="a pseudo-stratum and half-sample code for every person",
            )
        frame[name] = frame[name].astype(int)
    return frame[["WGTPERCY", "V2117", "V2118", "sex", "age", *columns]]
