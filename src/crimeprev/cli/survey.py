"""``crimeprev survey``: design-based estimates, victimisation indicators and the dark figure."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import typer
from rich.table import Table

from crimeprev.cli._output import console, print_error
from crimeprev.errors import CrimeprevError, InvalidInputError
from crimeprev.survey.estimators import EstimateTable
from crimeprev.survey.io import PROFILES, bundled_profile, read_police_counts
from crimeprev.survey.publication import PublicationRules, apply_rules
from crimeprev.survey.report import (
    STATISTICS,
    estimate,
    label_domains,
    open_profile,
    profile_dark_figure,
)
from crimeprev.survey.victimisation import victimisation_indicators

app = typer.Typer(
    help="Victimisation surveys: design-based estimates, indicators, the dark figure.",
    no_args_is_help=True,
)

DESIGN_HELP = "Design profile (TOML), or a bundled one: " + ", ".join(PROFILES) + "."


def _fail(error: CrimeprevError) -> typer.Exit:
    print_error(f"{error.message}")
    return typer.Exit(2)


def _number(value: Any, digits: int = 4) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        if abs(value) >= 1000:
            return f"{value:,.0f}"
        return f"{value:.{digits}g}"
    return str(value)


def _rules(flag_n: int, flag_rse: float, suppress_n: int, suppress_rse: float) -> PublicationRules:
    return PublicationRules(
        flag_below_n=flag_n,
        flag_rse=flag_rse,
        suppress_below_n=suppress_n,
        suppress_rse=suppress_rse,
    )


def _print_records(records: list[dict[str, Any]], title: str, output: str) -> None:
    if output == "json":
        typer.echo(json.dumps(records, indent=2, default=str))
        return
    if output == "csv":
        import pandas as pd

        typer.echo(pd.DataFrame(records).to_csv(index=False), nl=False)
        return
    table = Table(title=title)
    columns = [
        "variable",
        "domain",
        "category",
        "estimate",
        "se",
        "ci_low",
        "ci_high",
        "cv",
        "deff",
        "n",
        "note",
    ]
    present = [c for c in columns if any(r.get(c) not in (None, "") for r in records)]
    for column in present:
        table.add_column(column, overflow="fold")
    for record in records:
        table.add_row(*(_number(record.get(column)) for column in present))
    console.print(table)


@app.command("profiles")
def profiles() -> None:
    """List the bundled design profiles."""
    for name in PROFILES:
        console.print(f"{name}: {bundled_profile(name)}")


@app.command("estimate")
def estimate_command(
    variables: list[str] = typer.Argument(
        ..., help="Variables to estimate (numerators for ratios)."
    ),
    design: str = typer.Option(..., "--design", help=DESIGN_HELP),
    data: Path | None = typer.Option(
        None, help="Data file (CSV, Parquet, .dta, .sav); overrides the profile's."
    ),
    statistic: str = typer.Option("mean", help="One of: " + ", ".join(STATISTICS) + "."),
    denominator: list[str] = typer.Option(
        [], help="Denominator(s) for --statistic ratio, paired in order."
    ),
    by: list[str] = typer.Option([], help="Domain column(s); repeated columns are crossed."),
    level: float = typer.Option(0.95, help="Confidence level."),
    interval: str = typer.Option(
        "logit", help="Proportion interval: logit, wald or korn-graubard."
    ),
    quantile: list[float] = typer.Option([0.5], help="Probabilities for --statistic quantile."),
    missing: str = typer.Option(
        "fail", help="Missing values: fail, or exclude (design kept whole)."
    ),
    flag_n: int = typer.Option(30, help="Flag estimates from fewer respondents."),
    flag_rse: float = typer.Option(
        0.30, help="Flag estimates with a larger relative standard error."
    ),
    suppress_n: int = typer.Option(10, help="Suppress estimates from fewer respondents."),
    suppress_rse: float = typer.Option(0.50, help="Suppress estimates with a larger RSE."),
    output: str = typer.Option("table", "--format", help="table, json or csv."),
) -> None:
    """Estimate totals, means, proportions, ratios or quantiles with SE, CI, CV and deff."""
    try:
        profile, survey, built = open_profile(design, data)
        table: EstimateTable = estimate(
            built,
            statistic,
            variables,
            denominators=denominator,
            by=by,
            level=level,
            interval=interval,
            quantiles=quantile,
            missing=missing,
            labels=survey.value_labels,
        )
        table = label_domains(table, survey.value_labels)
        published = apply_rules(table, _rules(flag_n, flag_rse, suppress_n, suppress_rse))
    except CrimeprevError as error:
        raise _fail(error) from error
    records = [item.to_record() for item in published]
    method = built.describe()["method"]
    _print_records(
        records, f"{profile.name}: {statistic} ({method}, df {built.degrees_of_freedom})", output
    )


@app.command("indicators")
def indicators_command(
    design: str = typer.Option(..., "--design", help=DESIGN_HELP),
    data: Path | None = typer.Option(None, help="Data file; overrides the profile's."),
    by: list[str] = typer.Option(
        [], help="Domain columns (default: the profile's [indicators] by)."
    ),
    interval: str = typer.Option(
        "logit", help="Interval for shares: logit, wald or korn-graubard."
    ),
    flag_n: int = typer.Option(30, help="Flag estimates from fewer respondents."),
    flag_rse: float = typer.Option(0.30, help="Flag estimates with a larger RSE."),
    suppress_n: int = typer.Option(10, help="Suppress estimates from fewer respondents."),
    suppress_rse: float = typer.Option(0.50, help="Suppress estimates with a larger RSE."),
    output: str = typer.Option("table", "--format", help="table, json or csv."),
) -> None:
    """Prevalence, incidence, concentration, reporting rate, totals (profile [indicators])."""
    try:
        profile, survey, built = open_profile(design, data)
        settings = profile.indicators
        if not settings.get("counts"):
            raise InvalidInputError(
                f"design profile {profile.source!r} has no [indicators] counts table",
                field="indicators.counts",
            )
        table = victimisation_indicators(
            built,
            settings["counts"],
            reported=settings.get("reported"),
            by=list(by) or settings.get("by"),
            per=int(settings.get("per", 1000)),
            interval=interval,
            violence=settings.get("violence", []),
            rules=_rules(flag_n, flag_rse, suppress_n, suppress_rse),
        )
    except CrimeprevError as error:
        raise _fail(error) from error
    records = table.to_records()
    labels = survey.value_labels
    for record in records:
        record["domain"] = _relabel(record["domain"], labels)
        record["variable"] = f"{record['indicator']}: {record['crime_type']}"
    _print_records(records, f"{profile.name}: victimisation indicators", output)


def _relabel(domain: str, labels: dict[str, dict[Any, str]]) -> str:
    parts = []
    for part in domain.split(", "):
        name, _, value = part.partition("=")
        key: Any = int(value) if value.lstrip("-").isdigit() else value
        parts.append(f"{name}={labels.get(name, {}).get(key, value)}" if value else part)
    return ", ".join(parts)


def _warehouse_counts(
    design: str, data: Path | None, source: str, year: int
) -> list[dict[str, Any]]:
    """Police counts for the profile's ICCS categories from the warehouse, for one year."""
    from datetime import date

    from crimeprev.config import get_settings
    from crimeprev.indicators.counts import CountQuery, count_incidents
    from crimeprev.store.warehouse import open_warehouse

    profile, _, _ = open_profile(design, data)
    rows = []
    with open_warehouse(get_settings().warehouse_url) as warehouse:
        for code in (str(key) for key in profile.dark_figure):
            query = CountQuery(
                source=source,
                period=None,
                iccs_code=code,
                start=date(year, 1, 1),
                end=date(year + 1, 1, 1),
            )
            counted = count_incidents(warehouse, query)
            total = float(counted["count"].sum()) if len(counted) else 0.0
            if total > 0:
                rows.append({"iccs_code": code, "count": round(total), "period": str(year)})
    return rows


@app.command("dark-figure")
def dark_figure_command(
    police: Path | None = typer.Option(None, help="CSV: iccs_code, count [, period, area]."),
    source: str | None = typer.Option(
        None, help="Or count police records of this warehouse source (needs --year)."
    ),
    year: int | None = typer.Option(None, help="Calendar year counted from the warehouse."),
    design: str = typer.Option(
        "ncvs_2021_incidents", "--design", help=DESIGN_HELP + " Needs a [dark_figure] table."
    ),
    data: Path | None = typer.Option(None, help="Data file; overrides the profile's."),
    method: str = typer.Option("log-delta", help="Interval: log-delta or fieller."),
    level: float = typer.Option(0.95, help="Confidence level."),
    output: str = typer.Option("table", "--format", help="table or json."),
) -> None:
    """Survey-implied victimisations per police-recorded offence, by ICCS category."""
    try:
        if police is not None:
            counts = read_police_counts(police)
        elif source is not None and year is not None:
            counts = _warehouse_counts(design, data, source, year)
        else:
            raise InvalidInputError(
                "give --police FILE, or --source and --year to count the warehouse",
                field="police",
            )
        rows = profile_dark_figure(design, counts, data=data, method=method, level=level)
    except CrimeprevError as error:
        raise _fail(error) from error
    records = [row.to_record() for row in rows]
    if output == "json":
        typer.echo(json.dumps(records, indent=2))
        return
    table = Table(title=f"Dark figure ({method}, {level:.0%} interval): survey / police")
    for column in (
        "ICCS",
        "category",
        "period",
        "survey",
        "SE",
        "police",
        "ratio",
        "interval",
        "unrecorded",
    ):
        table.add_column(column)
    for row in rows:
        high = "inf" if row.ratio_ci_high == float("inf") else f"{row.ratio_ci_high:.2f}"
        table.add_row(
            row.iccs_code or "",
            row.label,
            row.period or "",
            f"{row.survey_total:,.0f}",
            f"{row.survey_se:,.0f}",
            f"{row.police_count:,}",
            f"{row.ratio:.2f}",
            f"{row.ratio_ci_low:.2f} - {high}",
            f"{row.unrecorded_share:.0%}",
        )
    console.print(table)
