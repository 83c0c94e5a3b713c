"""Victimisation indicators from survey microdata, with publication flags.

For each crime type, given per-respondent victimisation counts:

* **prevalence**: share of respondents (persons or households) victimised
  at least once in the reference period (SDG 16.1.3 when the crime type is
  physical, psychological or sexual violence);
* **incidence**: victimisations per ``per`` respondents (1,000 by default);
* **concentration**: victimisations per victim;
* **reporting rate**: share of victimisations reported to the police
  (SDG 16.3.1 for violent victimisation);
* **victimisations**: the estimated number (the survey side of the dark figure).

And :func:`share_feeling_safe` gives SDG 16.1.4 from a "how safe do you
feel walking alone at night" item. All use the full design for domains and
pass through :func:`~crimeprev.survey.publication.apply_rules`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from crimeprev.errors import InvalidInputError
from crimeprev.survey.estimators import (
    Design,
    EstimateTable,
    estimate_means,
    estimate_ratios,
    estimate_totals,
)
from crimeprev.survey.intervals import proportion_interval
from crimeprev.survey.publication import PublicationRules, PublishedEstimate, apply_rules

#: Indicator keys with their labels.
INDICATORS: dict[str, str] = {
    "prevalence": "Prevalence (share victimised at least once)",
    "incidence": "Incidence (victimisations per {per:,})",
    "concentration": "Concentration (victimisations per victim)",
    "reporting_rate": "Reporting rate (share reported to the police)",
    "victimisations": "Victimisations (estimated number)",
    "feeling_safe": "Feeling safe walking alone at night",
}


@dataclass(frozen=True)
class Indicator:
    """One indicator value for a crime type and domain.

    Attributes
    ----------
    indicator : str
        Key in :data:`INDICATORS`.
    label : str
        Reader-facing name.
    crime_type : str
        The crime type (or the survey item for ``feeling_safe``).
    sdg : str or None
        SDG indicator number when the value serves one (16.1.3, 16.1.4, 16.3.1).
    published : PublishedEstimate
        The estimate with flags and suppression.
    """

    indicator: str
    label: str
    crime_type: str
    sdg: str | None
    published: PublishedEstimate

    def to_record(self) -> dict[str, Any]:
        """JSON-able record."""
        record = self.published.to_record()
        record.update(
            indicator=self.indicator, label=self.label, crime_type=self.crime_type, sdg=self.sdg
        )
        return record


@dataclass(frozen=True)
class IndicatorTable:
    """Indicators from one call."""

    rows: tuple[Indicator, ...]
    design: dict[str, Any]
    rules: PublicationRules
    level: float

    def to_records(self) -> list[dict[str, Any]]:
        """The rows as JSON-able dictionaries."""
        return [row.to_record() for row in self.rows]

    def to_frame(self) -> pd.DataFrame:
        """The rows as a data frame."""
        return pd.DataFrame(self.to_records())

    def get(self, indicator: str, crime_type: str, domain: str = "all") -> Indicator:
        """The row for `indicator`, `crime_type` and `domain`."""
        for row in self.rows:
            if (
                row.indicator == indicator
                and row.crime_type == crime_type
                and row.published.estimate.domain == domain
            ):
                return row
        raise InvalidInputError(
            f"no {indicator} for {crime_type!r} in domain {domain!r}",
            indicator=indicator,
            crime_type=crime_type,
        )


def _with_columns(design: Design, columns: Mapping[str, np.ndarray]) -> Design:
    frame = design.frame.assign(**columns)
    return dataclasses.replace(design, frame=frame)


def _proportion_limits(table: EstimateTable, method: str, degrees_of_freedom: int) -> EstimateTable:
    rows = list(table.rows)
    estimates = np.array([row.estimate for row in rows])
    errors = np.array([row.se for row in rows])
    sizes = np.array([row.n for row in rows], dtype=float)
    low, high = proportion_interval(
        estimates,
        errors,
        method=method,
        level=table.level,
        degrees_of_freedom=degrees_of_freedom,
        sample_size=sizes,
    )
    fixed = tuple(
        dataclasses.replace(row, statistic="proportion", ci_low=float(a), ci_high=float(b))
        for row, a, b in zip(rows, low, high, strict=True)
    )
    return EstimateTable(rows=fixed, design=table.design, level=table.level)


def _overall_and_domains(
    function: Any, design: Design, *args: Any, by: Sequence[str], **kwargs: Any
) -> EstimateTable:
    table = function(design, *args, **kwargs)
    for column in by:
        table = table + function(design, *args, by=column, **kwargs)
    return table


def _rename(table: EstimateTable, names: Mapping[str, str]) -> EstimateTable:
    rows = tuple(
        dataclasses.replace(row, variable=names.get(row.variable, row.variable))
        for row in table.rows
    )
    return EstimateTable(rows=rows, design=table.design, level=table.level)


def victimisation_indicators(
    design: Design,
    counts: Mapping[str, str],
    *,
    reported: Mapping[str, str] | None = None,
    by: str | Sequence[str] | None = None,
    per: int = 1000,
    level: float = 0.95,
    interval: str = "logit",
    rules: PublicationRules | None = None,
    violence: Iterable[str] = (),
    indicators: Iterable[str] = (
        "prevalence",
        "incidence",
        "concentration",
        "reporting_rate",
        "victimisations",
    ),
) -> IndicatorTable:
    """Prevalence, incidence, concentration, reporting rate and totals by crime type.

    Parameters
    ----------
    design : TaylorDesign or ReplicateDesign
        Respondent-level design (one row per person or household).
    counts : mapping of str to str
        Crime type -> column with the respondent's number of victimisations
        (may be fractional, e.g. after the NCVS series adjustment).
    reported : mapping of str to str, optional
        Crime type -> column with the number of those reported to the police.
    by : str or list of str, optional
        Domain columns, each taken on its own (overall rows are always given).
    per : int, default=1000
        Base of the incidence rate.
    level : float, default=0.95
        Confidence level.
    interval : {"logit", "wald", "korn-graubard"}, default="logit"
        Interval for prevalence and reporting rates.
    rules : PublicationRules, optional
        Flag and suppression thresholds.
    violence : iterable of str
        Crime types whose prevalence is SDG 16.1.3, and whose reporting
        rate is SDG 16.3.1.
    indicators : iterable of str
        Which of prevalence, incidence, concentration, reporting_rate,
        victimisations to compute.

    Returns
    -------
    IndicatorTable

    Examples
    --------
    >>> from crimeprev.survey.design import survey_design
    >>> frame = pd.DataFrame({"w": [100.0] * 40, "assaults": [0] * 30 + [1] * 8 + [3] * 2,
    ...                       "reported": [0] * 34 + [1] * 6})
    >>> table = victimisation_indicators(survey_design(frame, weights="w"), {"assault": "assaults"},
    ...                                  reported={"assault": "reported"})
    >>> round(table.get("prevalence", "assault").published.estimate.estimate, 3)
    0.25
    >>> round(table.get("concentration", "assault").published.estimate.estimate, 2)
    1.4
    """
    chosen = list(indicators)
    unknown = [name for name in chosen if name not in INDICATORS or name == "feeling_safe"]
    if unknown:
        raise InvalidInputError(
            f"unknown indicators {', '.join(unknown)}; choose from prevalence, incidence, "
            "concentration, reporting_rate, victimisations",
            field="indicators",
        )
    if per <= 0:
        raise InvalidInputError(f"per must be positive, got {per}", field="per", value=per)
    domains = [by] if isinstance(by, str) else list(by or [])
    violent = set(violence)
    extra: dict[str, np.ndarray] = {}
    for crime, column in counts.items():
        if column not in design.frame.columns:
            raise InvalidInputError(
                f"count column {column!r} for {crime!r} is not in the data", field=column
            )
        values = pd.to_numeric(design.frame[column], errors="coerce").to_numpy(dtype=float)
        if np.isnan(values).any() or (values < 0).any():
            row = int(np.flatnonzero(np.isnan(values) | (values < 0))[0])
            raise InvalidInputError(
                f"count column {column!r} needs a number >= 0 for every respondent; row {row} has "
                f"{str(design.frame[column].iloc[row])}",
                field=column,
                row=row,
                expected="a count >= 0",
            )
        extra[f"__victim__{crime}"] = (values > 0).astype(float)
        extra[f"__rate__{crime}"] = values * per
    work = _with_columns(design, extra)
    df = design.degrees_of_freedom
    results: list[Indicator] = []

    def add(key: str, crime: str, table: EstimateTable, sdg: str | None) -> None:
        label = INDICATORS[key].format(per=per)
        for published in apply_rules(table, rules):
            results.append(Indicator(key, label, crime, sdg, published))

    crimes = list(counts)
    pairs = [(crime, reported[crime]) for crime in crimes if reported and crime in reported]
    # One estimator call per statistic and domain set, all crime types at once.
    tables: dict[str, EstimateTable] = {}
    if "prevalence" in chosen:
        tables["prevalence"] = _overall_and_domains(
            estimate_means, work, [f"__victim__{c}" for c in crimes], by=domains, level=level
        )
    if "incidence" in chosen:
        tables["incidence"] = _overall_and_domains(
            estimate_means, work, [f"__rate__{c}" for c in crimes], by=domains, level=level
        )
    if "concentration" in chosen:
        tables["concentration"] = _overall_and_domains(
            estimate_ratios,
            work,
            [counts[c] for c in crimes],
            [f"__victim__{c}" for c in crimes],
            by=domains,
            level=level,
        )
    if "victimisations" in chosen:
        tables["victimisations"] = _overall_and_domains(
            estimate_totals, work, [counts[c] for c in crimes], by=domains, level=level
        )
    if "reporting_rate" in chosen and pairs:
        tables["reporting_rate"] = _overall_and_domains(
            estimate_ratios,
            work,
            [column for _, column in pairs],
            [counts[c] for c, _ in pairs],
            by=domains,
            level=level,
        )
    for crime in crimes:
        column = counts[crime]
        rate_name = f"{reported[crime]}/{column}" if reported and crime in reported else ""
        names = {
            "prevalence": (f"__victim__{crime}", column),
            "incidence": (f"__rate__{crime}", column),
            "concentration": (f"{column}/__victim__{crime}", f"{column}/victims"),
            "victimisations": (column, column),
            "reporting_rate": (rate_name, rate_name),
        }
        for key, (internal, shown) in names.items():
            if key not in tables:
                continue
            picked = tuple(row for row in tables[key].rows if row.variable == internal)
            if not picked:
                continue
            table = _rename(EstimateTable(picked, tables[key].design, level), {internal: shown})
            if key in ("prevalence", "reporting_rate"):
                table = _proportion_limits(table, interval, df)
            sdg = None
            if crime in violent and key == "prevalence":
                sdg = "16.1.3"
            elif crime in violent and key == "reporting_rate":
                sdg = "16.3.1"
            add(key, crime, table, sdg)
    return IndicatorTable(
        rows=tuple(results),
        design=design.describe(),
        rules=rules or PublicationRules(),
        level=level,
    )


def share_feeling_safe(
    design: Design,
    column: str,
    safe_values: Iterable[Any],
    *,
    by: str | Sequence[str] | None = None,
    level: float = 0.95,
    interval: str = "logit",
    rules: PublicationRules | None = None,
) -> IndicatorTable:
    """SDG 16.1.4: share of the population that feels safe walking alone at night.

    Respondents without an answer (missing values) are left out of the
    denominator; the design is kept whole.

    Parameters
    ----------
    design : TaylorDesign or ReplicateDesign
    column : str
        The survey item (e.g. 1 very safe, 2 fairly safe, 3 a bit unsafe, 4 very unsafe).
    safe_values : iterable
        Answers that count as feeling safe (e.g. ``[1, 2]``).
    by, level, interval, rules
        As :func:`victimisation_indicators`.

    Returns
    -------
    IndicatorTable

    Examples
    --------
    >>> from crimeprev.survey.design import survey_design
    >>> frame = pd.DataFrame({"w": [1.0] * 4, "safe_night": [1, 2, 4, None]})
    >>> table = share_feeling_safe(survey_design(frame, weights="w"), "safe_night", [1, 2])
    >>> round(table.rows[0].published.estimate.estimate, 4)
    0.6667
    """
    if column not in design.frame.columns:
        raise InvalidInputError(f"item {column!r} is not in the data", field=column)
    answers = design.frame[column]
    safe = answers.isin(list(safe_values)).astype(float).where(answers.notna())
    work = _with_columns(design, {"__safe__": safe.to_numpy(dtype=float)})
    domains = [by] if isinstance(by, str) else list(by or [])
    table = _overall_and_domains(
        estimate_means, work, "__safe__", by=domains, level=level, missing="exclude"
    )
    table = _proportion_limits(
        _rename(table, {"__safe__": column}), interval, design.degrees_of_freedom
    )
    label = INDICATORS["feeling_safe"]
    rows = tuple(
        Indicator("feeling_safe", label, column, "16.1.4", p) for p in apply_rules(table, rules)
    )
    return IndicatorTable(
        rows=rows, design=design.describe(), rules=rules or PublicationRules(), level=level
    )
