"""What the CLI and the web show: estimates from a profile, the NCVS 2021 example, charts.

The faces call these functions and only format the results. Built-in
datasets are prepared once per process (they take about a second).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from crimeprev.errors import InvalidInputError
from crimeprev.survey.dark_figure import DarkFigure, compare_with_police
from crimeprev.survey.estimators import (
    Design,
    Estimate,
    EstimateTable,
    estimate_means,
    estimate_proportions,
    estimate_quantiles,
    estimate_ratios,
    estimate_totals,
)
from crimeprev.survey.io import (
    NEEDS_FILE,
    PROFILES,
    DesignProfile,
    SurveyData,
    build_design,
    bundled_profile,
    load_dataset,
    load_profile,
    profile_data,
)
from crimeprev.survey.ncvs import CATEGORY_ICCS, categories
from crimeprev.survey.publication import PublicationRules, PublishedEstimate, apply_rules
from crimeprev.survey.victimisation import IndicatorTable, victimisation_indicators

#: Statistics the estimate command offers.
STATISTICS: tuple[str, ...] = ("total", "mean", "proportion", "ratio", "quantile")


@lru_cache(maxsize=4)
def _cached_dataset(name: str) -> SurveyData:
    return load_dataset(name)


def open_profile(
    profile: str | Path, data: str | Path | None = None
) -> tuple[DesignProfile, SurveyData, Design]:
    """Load a profile (a path or a bundled name), its data and its design."""
    text = str(profile)
    path = bundled_profile(text) if text in PROFILES else Path(text)
    loaded = load_profile(path)
    if data is None and loaded.file is None and loaded.dataset and loaded.dataset not in NEEDS_FILE:
        survey = _cached_dataset(str(loaded.dataset))
        if loaded.labels:
            survey = profile_data(loaded)
    else:
        survey = profile_data(loaded, data)
    return loaded, survey, build_design(loaded, survey.frame)


def estimate(
    design: Design,
    statistic: str,
    variables: Sequence[str],
    *,
    denominators: Sequence[str] = (),
    by: Sequence[str] = (),
    level: float = 0.95,
    interval: str = "logit",
    quantiles: Sequence[float] = (0.5,),
    missing: str = "fail",
    labels: dict[str, dict[Any, str]] | None = None,
) -> EstimateTable:
    """Dispatch to the estimator for `statistic` (one of :data:`STATISTICS`)."""
    if not variables:
        raise InvalidInputError("name at least one variable to estimate", field="variables")
    group = list(by) or None
    if statistic == "total":
        return estimate_totals(design, variables, by=group, level=level, missing=missing)
    if statistic == "mean":
        return estimate_means(design, variables, by=group, level=level, missing=missing)
    if statistic == "proportion":
        return estimate_proportions(
            design,
            variables,
            by=group,
            level=level,
            method=interval,
            missing=missing,
            labels=labels,
        )
    if statistic == "ratio":
        return estimate_ratios(
            design, variables, denominators, by=group, level=level, missing=missing
        )
    if statistic == "quantile":
        return estimate_quantiles(
            design, variables, quantiles=quantiles, by=group, level=level, missing=missing
        )
    raise InvalidInputError(
        f"unknown statistic {statistic!r}; expected one of {', '.join(STATISTICS)}",
        field="statistic",
        value=statistic,
    )


def label_domains(table: EstimateTable, labels: dict[str, dict[Any, str]]) -> EstimateTable:
    """Replace coded domain values (``region=3``) by their labels (``region=South``)."""
    if not labels:
        return table
    rows = []
    for row in table.rows:
        parts = []
        for part in row.domain.split(", "):
            name, _, value = part.partition("=")
            mapping = labels.get(name, {})
            key: Any = int(value) if value.lstrip("-").isdigit() else value
            parts.append(f"{name}={mapping.get(key, value)}" if value else part)
        rows.append(Estimate(**{**row.__dict__, "domain": ", ".join(parts)}))
    return EstimateTable(rows=tuple(rows), design=table.design, level=table.level)


@dataclass(frozen=True)
class NcvsExample:
    """The NCVS 2021 worked example.

    Attributes
    ----------
    household : IndicatorTable
        Property crime indicators per household, overall and by tenure,
        urbanicity, region and income.
    victimisations : tuple of PublishedEstimate
        Victimisation totals per crime category (incident design).
    reporting : tuple of PublishedEstimate
        Share reported to the police per crime category.
    survey_side : dict
        ICCS code -> (label, total, se): the survey side of the dark figure.
    degrees_of_freedom : int
        Design degrees of freedom.
    """

    household: IndicatorTable
    victimisations: tuple[PublishedEstimate, ...]
    reporting: tuple[PublishedEstimate, ...]
    survey_side: dict[str, tuple[str, float, float]]
    degrees_of_freedom: int


@lru_cache(maxsize=2)
def ncvs_example(rules: PublicationRules | None = None) -> NcvsExample:
    """Compute the NCVS 2021 worked example (cached per rules)."""
    profile, survey, design = open_profile("ncvs_2021_households")
    settings = profile.indicators
    household = victimisation_indicators(
        design,
        settings["counts"],
        reported=settings.get("reported"),
        by=settings.get("by"),
        per=int(settings.get("per", 1000)),
        rules=rules,
    )
    labelled = [
        (key, value) for key, value in survey.value_labels.items() if key in settings.get("by", [])
    ]
    if labelled:
        mapping = dict(labelled)
        relabelled = []
        for row in household.rows:
            table = label_domains(
                EstimateTable((row.published.estimate,), {}, household.level), mapping
            )
            published = PublishedEstimate(
                table.rows[0], row.published.flags, row.published.suppressed, row.published.note
            )
            relabelled.append(
                type(row)(row.indicator, row.label, row.crime_type, row.sdg, published)
            )
        household = IndicatorTable(
            tuple(relabelled), household.design, household.rules, household.level
        )
    _, _, incidents = open_profile("ncvs_2021_incidents")
    names = list(categories())
    totals = estimate_totals(incidents, names)
    reported = [f"{name}_reported" for name in names]
    rates = estimate_ratios(incidents, reported, names)
    labels = {name: label for name, (label, _) in categories().items()}
    survey_side = {
        code: (labels[name], totals.get(name).estimate, totals.get(name).se)
        for name, code in CATEGORY_ICCS.items()
    }
    return NcvsExample(
        household=household,
        victimisations=apply_rules(totals, rules),
        reporting=apply_rules(rates, rules),
        survey_side=survey_side,
        degrees_of_freedom=incidents.degrees_of_freedom,
    )


def survey_side(profile: DesignProfile, design: Design) -> dict[str, tuple[str, float, float]]:
    """ICCS code -> (label, total, se) from the profile's ``[dark_figure]`` table.

    Raises
    ------
    InvalidInputError
        If the profile has no ``[dark_figure]`` table.
    """
    table = profile.dark_figure
    if not table:
        raise InvalidInputError(
            f"design profile {profile.source!r} has no [dark_figure] table mapping ICCS codes "
            "to victimisation columns",
            file=profile.source,
            field="dark_figure",
        )
    columns = [str(entry["column"]) for entry in table.values()]
    totals = estimate_totals(design, columns)
    return {
        str(code): (
            str(entry.get("label", entry["column"])),
            totals.get(str(entry["column"])).estimate,
            totals.get(str(entry["column"])).se,
        )
        for code, entry in table.items()
    }


def profile_dark_figure(
    profile: str | Path,
    police: list[dict[str, Any]],
    *,
    data: str | Path | None = None,
    method: str = "log-delta",
    level: float = 0.95,
) -> list[DarkFigure]:
    """Dark figures of a profile's survey totals against police counts."""
    loaded, _, design = open_profile(profile, data)
    return compare_with_police(
        survey_side(loaded, design),
        police,
        level=level,
        degrees_of_freedom=design.degrees_of_freedom,
        method=method,
    )


def ncvs_dark_figure(
    police: list[dict[str, Any]], *, method: str = "log-delta", level: float = 0.95
) -> list[DarkFigure]:
    """Dark figures of NCVS 2021 victimisations against the given police counts."""
    example = ncvs_example()
    return compare_with_police(
        example.survey_side,
        police,
        level=level,
        degrees_of_freedom=example.degrees_of_freedom,
        method=method,
    )


def estimates_chart(rows: Sequence[dict[str, Any]], *, title: str, axis: str) -> dict[str, Any]:
    """Vega-Lite spec: one point per row with its confidence interval.

    Parameters
    ----------
    rows : sequence of dict
        Records with ``name``, ``estimate``, ``ci_low``, ``ci_high`` (None skips a row).
    title, axis : str
        Chart and x-axis titles.

    Examples
    --------
    >>> spec = estimates_chart([{"name": "a", "estimate": 1.0, "ci_low": 0.5, "ci_high": 1.5}],
    ...                        title="t", axis="x")
    >>> spec["data"]["values"][0]["name"]
    'a'
    """
    values = [
        {key: row[key] for key in ("name", "estimate", "ci_low", "ci_high")}
        for row in rows
        if row.get("estimate") is not None
    ]
    return {
        "$schema": "https://vega.github.io/schema/vega-lite/v5.json",
        "title": title,
        "data": {"values": values},
        "width": "container",
        "height": {"step": 24},
        "encoding": {"y": {"field": "name", "type": "nominal", "title": None, "sort": None}},
        "layer": [
            {
                "mark": {"type": "rule"},
                "encoding": {
                    "x": {"field": "ci_low", "type": "quantitative", "title": axis},
                    "x2": {"field": "ci_high"},
                },
            },
            {
                "mark": {"type": "point", "filled": True, "size": 60},
                "encoding": {
                    "x": {"field": "estimate", "type": "quantitative"},
                    "tooltip": [
                        {"field": "name"},
                        {"field": "estimate", "format": ",.3~f"},
                        {"field": "ci_low", "format": ",.3~f"},
                        {"field": "ci_high", "format": ",.3~f"},
                    ],
                },
            },
        ],
    }
