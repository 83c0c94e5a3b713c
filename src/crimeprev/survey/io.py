"""Reading survey microdata and design profiles.

Files: CSV, Parquet, Stata ``.dta`` and SPSS ``.sav`` (through pyreadstat,
keeping the codes in the data and the value labels beside them so tables
can show "Very safe" while the design stays numeric).

A design profile is a TOML file naming the data, the weights, strata,
PSUs, FPCs and replicate weights, and optionally the victimisation
indicators to compute::

    [survey]
    name = "My victimisation survey 2024"
    file = "microdata.sav"          # relative to the profile; or dataset = "ncvs_2021_households"

    [design]
    weights = "wgt"
    strata = "stratum"              # or one per stage: ["stratum", "stratum2"]
    clusters = ["psu"]              # one per stage: ["psu", "ssu"]
    lonely_psu = "adjust"

    [design.replicates]            # optional: use replicate weights instead
    type = "JK1"
    columns = "repwt"              # a prefix or a list of columns

    [indicators]                   # optional
    counts = { assault = "n_assault" }
    reported = { assault = "n_assault_reported" }
    violence = ["assault"]
    by = ["sex", "region"]
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import pandas as pd

from crimeprev.errors import DataFileError, InvalidInputError, NotFoundError
from crimeprev.survey.design import survey_design
from crimeprev.survey.estimators import Design
from crimeprev.survey.ncvs import (
    HOUSEHOLD_LABELS,
    PERSON_LABELS,
    prepare_households,
    prepare_incidents,
    prepare_persons,
)
from crimeprev.survey.replicates import create_replicates, replicate_design

#: Built-in datasets: name -> description.
DATASETS: dict[str, str] = {
    "ncvs_2021_households": "NCVS 2021 households with property victimisation counts (BJS recipe)",
    "ncvs_2021_incidents": "NCVS 2021 victimisations (series-adjusted) with the household design",
    "ncvs_2021_persons": "NCVS 2021 persons with violent victimisation counts (needs the person "
    "file, which is not bundled: pass it as the data file)",
}

#: Built-in datasets that need a file from the user (passed as the data file).
NEEDS_FILE: dict[str, str] = {
    "ncvs_2021_persons": "the NCVS 2021 person file (ICPSR 38429; columns YEARQ, IDHH, IDPER, "
    "WGTPERCY, V3014, V3018 and V2117, V2118), as CSV, Parquet, .dta or .sav",
}

#: Bundled design profiles: name -> file in crimeprev/survey/data.
PROFILES: dict[str, str] = {
    "ncvs_2021_households": "ncvs_2021_households.toml",
    "ncvs_2021_incidents": "ncvs_2021_incidents.toml",
    "ncvs_2021_persons": "ncvs_2021_persons.toml",
}


@dataclass(frozen=True)
class SurveyData:
    """Microdata with its value labels.

    Attributes
    ----------
    frame : pandas.DataFrame
        The data, codes as stored.
    value_labels : dict
        Column -> {code: label}.
    variable_labels : dict
        Column -> label.
    source : str
        Where it came from.
    """

    frame: pd.DataFrame
    value_labels: dict[str, dict[Any, str]] = field(default_factory=dict)
    variable_labels: dict[str, str] = field(default_factory=dict)
    source: str = ""


def read_survey_file(path: str | Path) -> SurveyData:
    """Read CSV, Parquet, Stata or SPSS microdata, keeping value labels.

    Parameters
    ----------
    path : str or pathlib.Path
        ``.csv``, ``.parquet``, ``.dta`` or ``.sav``/``.zsav``.

    Returns
    -------
    SurveyData

    Raises
    ------
    DataFileError
        If the file is missing, of another type, or unreadable.
    """
    file = Path(path)
    if not file.is_file():
        raise DataFileError(f"survey file {str(file)!r} does not exist", file=str(file))
    suffix = file.suffix.lower()
    try:
        if suffix == ".csv":
            return SurveyData(frame=pd.read_csv(file, low_memory=False), source=str(file))
        if suffix == ".parquet":
            return SurveyData(frame=pd.read_parquet(file), source=str(file))
        if suffix in (".dta", ".sav", ".zsav"):
            import pyreadstat

            reader = pyreadstat.read_dta if suffix == ".dta" else pyreadstat.read_sav
            frame, meta = reader(str(file), apply_value_formats=False)
            labels = {
                column: {_plain(code): str(text) for code, text in mapping.items()}
                for column, mapping in (meta.variable_value_labels or {}).items()
            }
            variable_labels = {
                name: str(label)
                for name, label in zip(meta.column_names, meta.column_labels or [], strict=False)
                if label
            }
            return SurveyData(
                frame=frame, value_labels=labels, variable_labels=variable_labels, source=str(file)
            )
    except DataFileError:
        raise
    except Exception as error:  # each reader raises its own types; report them uniformly
        raise DataFileError(
            f"could not read survey file {str(file)!r}: {error}", file=str(file)
        ) from error
    raise DataFileError(
        f"survey file {str(file)!r} has type {suffix or '(none)'}; "
        "expected .csv, .parquet, .dta or .sav",
        file=str(file),
        expected=".csv, .parquet, .dta, .sav",
    )


def read_police_counts(path: str | Path) -> list[dict[str, Any]]:
    """Read police-recorded counts from a CSV with ``iccs_code`` and ``count`` columns.

    Optional columns ``period``, ``area`` and ``label`` are kept. ICCS codes
    are read as text (leading zeros matter) and checked against ICCS 1.0.

    Raises
    ------
    DataFileError
        Naming the file, row (1 = first data row), field and value of the first problem.
    """
    from crimeprev.standards import iccs

    file = Path(path)
    if not file.is_file():
        raise DataFileError(f"police counts file {str(file)!r} does not exist", file=str(file))
    try:
        frame = pd.read_csv(file, dtype=str, keep_default_na=False)
    except Exception as error:  # pandas raises several parser errors
        raise DataFileError(
            f"could not read {str(file)!r} as CSV: {error}", file=str(file)
        ) from error
    for column in ("iccs_code", "count"):
        if column not in frame.columns:
            raise DataFileError(
                f"police counts file {str(file)!r} has no {column!r} column; columns are "
                f"{', '.join(frame.columns)}",
                file=str(file),
                field=column,
                expected="columns iccs_code, count (and optionally period, area, label)",
            )
    rows = []
    for index, record in enumerate(frame.to_dict("records"), start=1):
        code = record["iccs_code"].strip()
        if not iccs.is_valid(code):
            raise DataFileError(
                f"{str(file)!r} row {index}: {code!r} is not an ICCS 1.0 code",
                file=str(file),
                row=index,
                field="iccs_code",
                value=code,
                expected="an ICCS code such as 0501",
            )
        text = record["count"].strip().replace(",", "")
        if not text.isdigit():
            raise DataFileError(
                f"{str(file)!r} row {index}: count {record['count']!r} is not a whole number >= 0",
                file=str(file),
                row=index,
                field="count",
                value=record["count"],
                expected="a whole number >= 0",
            )
        rows.append(
            {
                "iccs_code": code,
                "count": int(text),
                "period": record.get("period") or None,
                "area": record.get("area") or None,
                "label": record.get("label") or None,
            }
        )
    return rows


def _plain(code: Any) -> Any:
    if isinstance(code, float) and code.is_integer():
        return int(code)
    return code


def _ncvs_files() -> tuple[pd.DataFrame, pd.DataFrame]:
    folder = resources.files("crimeprev") / "data" / "real" / "ncvs_2021"
    with (folder / "ncvs_2021_household.parquet").open("rb") as handle:
        household = pd.read_parquet(handle)
    with (folder / "ncvs_2021_incident.parquet").open("rb") as handle:
        incident = pd.read_parquet(handle)
    return household, incident


def load_dataset(name: str, supplied: str | Path | None = None) -> SurveyData:
    """Load a built-in analysis dataset (see :data:`DATASETS`).

    Parameters
    ----------
    name : str
        Dataset name.
    supplied : str or pathlib.Path, optional
        The user's file for a dataset of :data:`NEEDS_FILE` (the NCVS person
        file), combined with the bundled files.

    Raises
    ------
    NotFoundError
        For an unknown name.
    InvalidInputError
        When the dataset needs a file that was not supplied.
    """
    if name not in DATASETS:
        raise NotFoundError(
            f"unknown dataset {name!r}; built-in datasets are {', '.join(DATASETS)}", dataset=name
        )
    if name in NEEDS_FILE and supplied is None:
        raise InvalidInputError(
            f"dataset {name!r} needs {NEEDS_FILE[name]}; it is not bundled. Pass it as the data "
            "file (crimeprev survey indicators --design ncvs_2021_persons --data FILE)",
            field="data",
            expected=NEEDS_FILE[name],
        )
    household, incident = _ncvs_files()
    if name == "ncvs_2021_persons":
        assert supplied is not None
        person = read_survey_file(supplied)
        return SurveyData(
            frame=prepare_persons(person.frame, incident, household),
            value_labels={column: dict(mapping) for column, (_, mapping) in PERSON_LABELS.items()},
            variable_labels={column: label for column, (label, _) in PERSON_LABELS.items()},
            source=f"NCVS 2021 person file {Path(supplied).name} with the bundled incident file",
        )
    if name == "ncvs_2021_households":
        labels = {column: dict(mapping) for column, (_, mapping) in HOUSEHOLD_LABELS.items()}
        variables = {column: label for column, (label, _) in HOUSEHOLD_LABELS.items()}
        return SurveyData(
            frame=prepare_households(household, incident),
            value_labels=labels,
            variable_labels=variables,
            source="NCVS 2021 (bundled)",
        )
    return SurveyData(frame=prepare_incidents(household, incident), source="NCVS 2021 (bundled)")


@dataclass(frozen=True)
class DesignProfile:
    """A parsed design profile (see the module docstring for the format).

    Attributes
    ----------
    name : str
    description : str
    dataset : str or None
        Built-in dataset name.
    file : pathlib.Path or None
        Data file, resolved against the profile's folder.
    design : dict
        The ``[design]`` table.
    indicators : dict
        The ``[indicators]`` table (may be empty).
    dark_figure : dict
        The ``[dark_figure]`` table: ICCS code -> {column, label} (may be empty).
    labels : dict
        Extra value labels from ``[labels.<column>]``.
    source : str
        The profile file.
    """

    name: str
    description: str
    dataset: str | None
    file: Path | None
    design: dict[str, Any]
    indicators: dict[str, Any]
    labels: dict[str, dict[Any, str]]
    source: str
    dark_figure: dict[str, Any] = field(default_factory=dict)


def bundled_profile(name: str) -> Path:
    """Path of a bundled profile (``ncvs_2021_households`` or ``ncvs_2021_incidents``).

    Examples
    --------
    >>> bundled_profile("ncvs_2021_households").name
    'ncvs_2021_households.toml'
    """
    if name not in PROFILES:
        raise NotFoundError(
            f"unknown bundled profile {name!r}; have {', '.join(PROFILES)}", profile=name
        )
    return Path(str(resources.files("crimeprev.survey") / "data" / PROFILES[name]))


def load_profile(path: str | Path) -> DesignProfile:
    """Read and check a TOML design profile.

    Raises
    ------
    DataFileError
        If the file is missing or not valid TOML.
    InvalidInputError
        If a required key is missing or has the wrong type.

    Examples
    --------
    >>> profile = load_profile(bundled_profile("ncvs_2021_households"))
    >>> profile.design["strata"], profile.design["clusters"]
    ('V2117', ['V2118'])
    """
    file = Path(path)
    if file.name in PROFILES and not file.exists():
        file = bundled_profile(file.name)
    if not file.is_file():
        raise DataFileError(f"design profile {str(file)!r} does not exist", file=str(file))
    try:
        body = tomllib.loads(file.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as error:
        raise DataFileError(
            f"design profile {str(file)!r} is not valid TOML: {error}", file=str(file)
        ) from error
    survey = body.get("survey", {})
    design = body.get("design")
    if not isinstance(design, dict) or "weights" not in design:
        raise InvalidInputError(
            f"design profile {str(file)!r} needs a [design] table with 'weights'",
            file=str(file),
            field="design.weights",
        )
    allowed = {"weights", "strata", "clusters", "fpc", "lonely_psu", "replicates"}
    unknown = sorted(set(design) - allowed)
    if unknown:
        raise InvalidInputError(
            f"design profile {str(file)!r} has unknown [design] keys {', '.join(unknown)}; "
            f"expected {', '.join(sorted(allowed))}",
            file=str(file),
            field=f"design.{unknown[0]}",
        )
    data_file = survey.get("file")
    labels = {
        column: {_label_key(code): str(text) for code, text in mapping.items()}
        for column, mapping in body.get("labels", {}).items()
    }
    return DesignProfile(
        name=str(survey.get("name", file.stem)),
        description=str(survey.get("description", "")),
        dataset=survey.get("dataset"),
        file=(file.parent / data_file) if data_file else None,
        design=design,
        indicators=body.get("indicators", {}),
        labels=labels,
        source=str(file),
        dark_figure=body.get("dark_figure", {}),
    )


def _label_key(code: str) -> Any:
    try:
        return int(code)
    except ValueError:
        return code


def profile_data(profile: DesignProfile, data: str | Path | None = None) -> SurveyData:
    """Load the data a profile names, or `data` when given (which wins)."""
    if profile.dataset in NEEDS_FILE:
        loaded = load_dataset(str(profile.dataset), data)
    elif data is not None:
        loaded = read_survey_file(data)
    elif profile.file is not None:
        loaded = read_survey_file(profile.file)
    elif profile.dataset:
        loaded = load_dataset(str(profile.dataset))
    else:
        raise InvalidInputError(
            f"design profile {profile.source!r} names no data: add [survey] file or dataset, "
            "or pass a data file",
            file=profile.source,
            field="survey.file",
        )
    labels = {**loaded.value_labels}
    for column, mapping in profile.labels.items():
        labels[column] = {**labels.get(column, {}), **mapping}
    return SurveyData(
        frame=loaded.frame,
        value_labels=labels,
        variable_labels=loaded.variable_labels,
        source=loaded.source,
    )


def build_design(profile: DesignProfile, frame: pd.DataFrame) -> Design:
    """The design a profile describes, over `frame`.

    Raises
    ------
    InvalidInputError
        If the design is bad (see :func:`~crimeprev.survey.design.survey_design`).
    """
    settings = profile.design
    replicates = settings.get("replicates")
    if isinstance(replicates, dict) and not replicates.get("create", False):
        if "columns" not in replicates or "type" not in replicates:
            raise InvalidInputError(
                "[design.replicates] needs 'type' and 'columns' (or create = true)",
                file=profile.source,
                field="design.replicates",
            )
        return replicate_design(
            frame,
            weights=settings["weights"],
            replicate_weights=replicates["columns"],
            replicate_type=replicates["type"],
            scale=replicates.get("scale"),
            rscales=replicates.get("rscales"),
            fay_rho=float(replicates.get("fay_rho", 0.0)),
            combined_weights=bool(replicates.get("combined_weights", True)),
            mse=bool(replicates.get("mse", False)),
            degrees_of_freedom=replicates.get("degrees_of_freedom"),
        )
    taylor = survey_design(
        frame,
        weights=settings["weights"],
        strata=settings.get("strata"),
        clusters=settings.get("clusters"),
        fpc=settings.get("fpc"),
        lonely_psu=settings.get("lonely_psu", "fail"),
    )
    if isinstance(replicates, dict):
        return create_replicates(
            taylor,
            replicates.get("type", "bootstrap"),
            replicates=int(replicates.get("replicates", 50)),
            fay_rho=float(replicates.get("fay_rho", 0.0)),
            mse=bool(replicates.get("mse", False)),
            rng=replicates.get("seed"),
        )
    return taylor
