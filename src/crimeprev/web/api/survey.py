"""JSON endpoints of the survey pages: NCVS 2021 estimates, ad-hoc estimates, the dark figure.

The web face offers the bundled design profiles only (no file paths from
requests); the CLI and the library take any profile.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from crimeprev.errors import InvalidInputError
from crimeprev.standards import iccs
from crimeprev.survey.dark_figure import DARK_FIGURE_METHODS, dark_figure_chart
from crimeprev.survey.io import NEEDS_FILE, PROFILES, bundled_profile, load_profile
from crimeprev.survey.publication import PublicationRules, apply_rules
from crimeprev.survey.report import (
    STATISTICS,
    estimate,
    estimates_chart,
    label_domains,
    ncvs_dark_figure,
    ncvs_example,
    open_profile,
)

router = APIRouter(prefix="/api/survey", tags=["Surveys"])


def overview_data() -> dict[str, Any]:
    """The NCVS 2021 worked example as JSON (shared with the page)."""
    example = ncvs_example()
    victimisations = [p.to_record() for p in example.victimisations]
    reporting = [p.to_record() for p in example.reporting]
    for record in reporting:
        record["crime_type"] = record["variable"].split("/")[1]
    household = example.household.to_records()
    return {
        "survey": "US National Crime Victimization Survey 2021 (public-use subset, BJS recipe)",
        "design": {"households": example.household.design},
        "degrees_of_freedom": example.degrees_of_freedom,
        "rules": example.household.rules.__dict__,
        "victimisations": victimisations,
        "reporting": reporting,
        "household_indicators": household,
        "dark_figure_survey_side": [
            {
                "iccs_code": code,
                "iccs_label": iccs.get(code).label,
                "label": label,
                "total": total,
                "se": se,
            }
            for code, (label, total, se) in example.survey_side.items()
        ],
        "charts": {
            "victimisations": estimates_chart(
                [{**r, "name": r["variable"]} for r in victimisations],
                title="Victimisations, NCVS 2021 (95% CI)",
                axis="victimisations",
            ),
            "reporting": estimates_chart(
                [{**r, "name": r["crime_type"]} for r in reporting],
                title="Share reported to the police (95% CI)",
                axis="share reported",
            ),
        },
    }


@router.get("")
def overview() -> dict[str, Any]:
    """NCVS 2021: victimisations and reporting rates by crime type, household indicators."""
    return overview_data()


@router.get("/profiles")
def profiles() -> dict[str, Any]:
    """The bundled design profiles."""
    result: list[dict[str, Any]] = []
    for name in PROFILES:
        if name in NEEDS_FILE:  # the data are the user's: describe the profile only
            loaded = load_profile(bundled_profile(name))
            result.append({"name": name, "title": loaded.name, "needs_file": NEEDS_FILE[name]})
            continue
        profile, _, design = open_profile(name)
        result.append({"name": name, "title": profile.name, "design": design.describe()})
    return {"profiles": result}


def run_estimate(
    profile: str,
    statistic: str,
    variables: list[str],
    denominators: list[str],
    by: list[str],
    level: float,
    interval: str,
    quantiles: list[float],
) -> dict[str, Any]:
    """Estimate on a bundled profile; the page and the endpoint share it."""
    if profile not in PROFILES:
        raise InvalidInputError(
            f"unknown profile {profile!r}; choose one of {', '.join(PROFILES)}",
            field="profile",
            value=profile,
        )
    loaded, survey, design = open_profile(profile)
    table = estimate(
        design,
        statistic,
        variables,
        denominators=denominators,
        by=by,
        level=level,
        interval=interval,
        quantiles=quantiles or [0.5],
        labels=survey.value_labels,
        missing="exclude",
    )
    table = label_domains(table, survey.value_labels)
    records = [p.to_record() for p in apply_rules(table, PublicationRules())]
    return {
        "profile": profile,
        "title": loaded.name,
        "statistic": statistic,
        "design": design.describe(),
        "level": level,
        "estimates": records,
        "chart": estimates_chart(
            [
                {
                    **r,
                    "name": " ".join(
                        x for x in (r["variable"], r["domain"], r["category"] or "") if x
                    ),
                }
                for r in records
            ],
            title=f"{statistic} ({level:.0%} CI)",
            axis=statistic,
        ),
    }


@router.get("/estimate")
def estimate_endpoint(
    variable: list[str] = Query(..., description="Variables (numerators for ratios)."),
    profile: str = Query("ncvs_2021_households", description="Bundled design profile."),
    statistic: str = Query("mean", description="One of " + ", ".join(STATISTICS)),
    denominator: list[str] = Query([], description="Denominators of ratios, in order."),
    by: list[str] = Query([], description="Domain columns (crossed)."),
    level: float = Query(0.95, gt=0, lt=1),
    interval: str = Query("logit", description="logit, wald or korn-graubard"),
    quantile: list[float] = Query([0.5], description="Probabilities for quantiles."),
) -> dict[str, Any]:
    """Design-based estimates with SE, CI, CV, deff and publication flags."""
    return run_estimate(profile, statistic, variable, denominator, by, level, interval, quantile)


class PoliceCount(BaseModel):
    """One police-recorded count."""

    iccs_code: str = Field(description="ICCS code, e.g. 0501")
    count: int = Field(gt=0, description="Recorded offences")
    period: str | None = None
    area: str | None = None


class DarkFigureRequest(BaseModel):
    """Police counts to compare with NCVS 2021."""

    counts: list[PoliceCount]
    method: str = "log-delta"
    level: float = Field(0.95, gt=0, lt=1)


def parse_police_text(text: str) -> list[dict[str, Any]]:
    """Parse ``code:count`` pairs or CSV lines ``code,count[,period]``.

    Raises
    ------
    InvalidInputError
        Naming the line and value that could not be read.
    """
    rows: list[dict[str, Any]] = []
    pieces = [line.strip() for line in text.replace(";", "\n").splitlines() if line.strip()]
    for number, piece in enumerate(pieces, start=1):
        if piece.lower().startswith("iccs_code"):
            continue
        parts = [p.strip() for p in piece.replace(":", ",").split(",")]
        if len(parts) < 2:
            raise InvalidInputError(
                f"line {number} ({piece!r}): expected 'ICCS code, count'", row=number, value=piece
            )
        code, count = parts[0], parts[1].replace("_", "")
        if not iccs.is_valid(code):
            raise InvalidInputError(
                f"line {number}: {code!r} is not an ICCS 1.0 code",
                row=number,
                field="iccs_code",
                value=code,
            )
        if not count.isdigit() or int(count) == 0:
            raise InvalidInputError(
                f"line {number}: count {parts[1]!r} is not a whole number > 0",
                row=number,
                field="count",
                value=parts[1],
            )
        rows.append(
            {"iccs_code": code, "count": int(count), "period": parts[2] if len(parts) > 2 else None}
        )
    if not rows:
        raise InvalidInputError(
            "give at least one police count as 'ICCS code, count'", field="police"
        )
    return rows


def dark_figure_data(police: list[dict[str, Any]], method: str, level: float) -> dict[str, Any]:
    """Dark figure of NCVS 2021 against `police` (shared with the page)."""
    if method not in DARK_FIGURE_METHODS:
        raise InvalidInputError(
            f"unknown method {method!r}; expected {', '.join(DARK_FIGURE_METHODS)}", field="method"
        )
    rows = ncvs_dark_figure(police, method=method, level=level)
    return {
        "survey": "NCVS 2021",
        "method": method,
        "level": level,
        "note": "ratio = survey victimisations / police-recorded offences; survey side "
        "design-based (Taylor linearisation), police side Poisson",
        "rows": [row.to_record() for row in rows],
        "chart": dark_figure_chart(rows),
    }


@router.get("/dark-figure")
def dark_figure_get(
    police: str = Query(
        ..., description="Pairs 'ICCS:count' separated by ';', e.g. 0501:1000000;0401:200000"
    ),
    method: str = Query("log-delta", description="log-delta or fieller"),
    level: float = Query(0.95, gt=0, lt=1),
) -> dict[str, Any]:
    """NCVS 2021 victimisations per police-recorded offence, by ICCS category."""
    return dark_figure_data(parse_police_text(police), method, level)


@router.post("/dark-figure")
def dark_figure_post(body: DarkFigureRequest) -> dict[str, Any]:
    """As GET, with the police counts as JSON."""
    return dark_figure_data([c.model_dump() for c in body.counts], body.method, body.level)
