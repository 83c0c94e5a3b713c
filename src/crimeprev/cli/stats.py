"""``crimeprev stats`` and ``crimeprev concordance``: crime statistics on the ICCS.

Thin commands over :mod:`crimeprev.store` and :mod:`crimeprev.indicators`:
import files, list sources, count, compute rates, inspect quarantine and the
import log; check concordances, report their coverage and suggest ICCS codes.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import typer
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from crimeprev.cli._output import console, print_error, styled
from crimeprev.config import get_settings
from crimeprev.errors import CrimeprevError
from crimeprev.store.warehouse import Warehouse, open_warehouse

app = typer.Typer(help="Crime statistics on the ICCS: import, count, rates.", no_args_is_help=True)
concordance_app = typer.Typer(
    help="Concordances from national codes to ICCS: check, coverage, suggest.",
    no_args_is_help=True,
)


def fail(error: CrimeprevError) -> typer.Exit:
    """Print an error the way every command does and return the exit to raise."""
    print_error(f"{error.message}")
    return typer.Exit(code=2)


@contextmanager
def _warehouse() -> Iterator[Warehouse]:
    settings = get_settings()
    settings.ensure_data_dir()
    warehouse = open_warehouse(settings.warehouse_url)
    try:
        yield warehouse
    finally:
        warehouse.close()


@app.command("import")
def import_command(
    profile: str = typer.Argument(..., help="Bundled profile name or path of a .toml profile"),
    files: list[Path] = typer.Argument(
        ..., help="CSV, Parquet, .xlsx or police.uk files, or folders of them"
    ),
) -> None:
    """Import files into the warehouse: validate, quarantine bad rows, code to ICCS."""
    from crimeprev.store.ingest import import_file
    from crimeprev.store.profiles import load_profile

    try:
        loaded = load_profile(profile)
        files = _expand_folders(files)
        with _warehouse() as warehouse:
            for path in files:
                with Progress(
                    SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(),
                    console=console, transient=True,
                ) as bar:  # fmt: skip
                    task = bar.add_task(f"{path.name}: starting", total=None)
                    result = import_file(
                        warehouse,
                        loaded,
                        path,
                        progress=_progress(bar, task, path.name),
                    )
                if result.skipped:
                    console.print(
                        f"{path.name}: already imported for {loaded.name} (same SHA-256); "
                        "nothing added"
                    )
                else:
                    console.print(
                        f"{path.name}: read {result.rows_read:,}, "
                        f"accepted {result.rows_accepted:,}, "
                        f"quarantined {result.rows_quarantined:,} ({result.seconds:.1f} s)"
                    )
    except CrimeprevError as error:
        raise fail(error) from error


#: File endings the import reads (a folder given to ``ingest`` is searched for these).
IMPORTABLE = (".csv", ".txt", ".parquet", ".xlsx", ".xlsm")


def _expand_folders(paths: list[Path]) -> list[Path]:
    """Each folder in `paths` replaced by the importable files under it, in name order.

    A police.uk archive unzips into one folder per month; giving the archive's
    folder imports every file in it.
    """
    from crimeprev.errors import DataFileError

    expanded: list[Path] = []
    for path in paths:
        if not path.is_dir():
            expanded.append(path)
            continue
        found = sorted(p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in IMPORTABLE)
        if not found:
            raise DataFileError(
                "the folder holds no file to import",
                file=str(path),
                expected=f"files ending in {', '.join(IMPORTABLE)}",
            )
        expanded.extend(found)
    return expanded


@app.command("load-bundled")
def load_bundled() -> None:
    """Load the bundled boundaries, populations and real crime data."""
    from crimeprev.store.bundled import import_bundled, load_bundled_areas

    try:
        with _warehouse() as warehouse:
            for line in load_bundled_areas(warehouse):
                console.print(line)
            for result in import_bundled(warehouse):
                state = "already imported" if result.skipped else "imported"
                console.print(
                    f"{result.source} {Path(result.file).name}: {state}, {result.rows_accepted:,} "
                    f"accepted, {result.rows_quarantined:,} quarantined"
                )
    except CrimeprevError as error:
        raise fail(error) from error


@app.command("sources")
def sources() -> None:
    """List the sources (bundled profiles and imported sources)."""
    from crimeprev.indicators.profile import list_sources

    with _warehouse() as warehouse:
        table = Table(title="sources")
        for column in ("source", "kind", "imports", "rows", "quarantined", "title"):
            table.add_column(column)
        for item in list_sources(warehouse):
            table.add_row(
                item.name, item.kind, str(item.imports), f"{item.rows:,}",
                f"{item.quarantined:,}", item.title,
            )  # fmt: skip
        console.print(table)


@app.command("counts")
def counts(
    source: str = typer.Argument(..., help="Source name"),
    level: int | None = typer.Option(None, min=1, max=4, help="ICCS level to roll up to"),
    period: str = typer.Option("year", help="year, quarter, month, week, day or all"),
    by_area: bool = typer.Option(False, "--by-area", help="Break down by area"),
    tag: list[str] = typer.Option([], help="Tag column to break down by (repeatable)"),
    iccs_code: str | None = typer.Option(None, "--iccs", help="Only this code and below"),
    output: Path | None = typer.Option(None, help="Write CSV here instead of printing"),
    public: bool = typer.Option(
        False, "--public", help="Published version: small counts and their complements hidden"
    ),
) -> None:
    """Counts by ICCS code x period (x area x tags).

    By default every count, for the statistician (not for publication).
    With --public, the counts as the web JSON and exports publish them:
    suppressed cells blank, with a suppression column.
    """
    from crimeprev.indicators.counts import CountQuery, count_incidents

    try:
        with _warehouse() as warehouse:
            query = CountQuery(
                source=source,
                level=level,
                period=None if period == "all" else period,
                by_area=by_area,
                tags=tuple(tag),
                iccs_code=iccs_code,
            )
            frame = count_incidents(warehouse, query)
            if public:
                from crimeprev.indicators.source_protection import counts_status, mark_suppressed

                settings = get_settings()
                status = counts_status(
                    warehouse,
                    query,
                    frame,
                    threshold=settings.small_count_threshold,
                    cache_dir=settings.data_dir / "disclosure",
                )
                frame = mark_suppressed(frame, status, ["count", "records"])
    except CrimeprevError as error:
        raise fail(error) from error
    _emit(frame, output, title=f"counts: {source}", period=period)


@app.command("rates")
def rates(
    source: str = typer.Argument(..., help="Source name"),
    year: list[int] = typer.Option([], help="Year(s) to show (default: all)"),
    iccs_code: str | None = typer.Option(None, "--iccs", help="Only this code and below"),
    per: int | None = typer.Option(None, min=1, help="Population base (default: setting rate_per)"),
    output: Path | None = typer.Option(None, help="Write CSV here instead of printing"),
    public: bool = typer.Option(
        False, "--public", help="Published version: small counts and their complements hidden"
    ),
) -> None:
    """Rates per population by area and year with exact Poisson intervals.

    By default every count and rate (not for publication); with --public,
    as the web JSON publishes them (hidden counts blank with their rates).
    """
    from crimeprev.indicators.counts import area_rates

    settings = get_settings()
    unassigned_hidden = False
    try:
        with _warehouse() as warehouse:
            table = area_rates(
                warehouse, source, iccs_code=iccs_code, years=year or None,
                per=per or settings.rate_per,
            )  # fmt: skip
            frame = table.frame
            if public:
                import pandas as pd

                from crimeprev.indicators.source_protection import (
                    mark_suppressed,
                    rates_status,
                    source_pattern,
                )

                pattern = source_pattern(
                    warehouse,
                    source,
                    threshold=settings.small_count_threshold,
                    cache_dir=settings.data_dir / "disclosure",
                )
                status = rates_status(pattern, frame, iccs_code=iccs_code)
                frame = mark_suppressed(frame, status, ["count", "rate", "ci_low", "ci_high"])
                no_area = pd.DataFrame(
                    {"area_id": [None], "year": [None], "count": [table.unassigned]}
                )
                unassigned_hidden = bool(
                    rates_status(pattern, no_area, iccs_code=iccs_code).iloc[0]
                )
    except CrimeprevError as error:
        raise fail(error) from error
    _emit(frame, output, title=f"rates per {table.per:,}: {source} ({table.area_set})")
    if unassigned_hidden:
        console.print("- incidents fall in no area (suppressed) and are not in any rate")
    elif table.unassigned:
        console.print(f"{table.unassigned:,.0f} incidents fall in no area and are not in any rate")


@app.command("quarantine")
def quarantine(
    source: str = typer.Argument(..., help="Source name"),
    limit: int = typer.Option(20, help="Rows to show"),
) -> None:
    """Quarantined rows of a source with every reason."""
    from crimeprev.store.ingest import import_log, quarantined

    with _warehouse() as warehouse:
        rows = quarantined(warehouse, source, limit=limit)
        imported = bool(rows) or bool(import_log(warehouse, source))
    if not imported:
        raise fail(_not_imported(source))
    if not rows:
        console.print(f"{source}: no quarantined rows")
        return
    table = Table(title=f"quarantine: {source} (row: data row of the file, header not counted)")
    # The file name is what tells two files' row numbers apart: never folded.
    longest = max(len(row["file_name"] or "") for row in rows)
    table.add_column("file", no_wrap=True, min_width=min(longest, 60))
    for column in ("row", "reasons", "raw"):
        table.add_column(column, overflow="fold")
    for row in rows:
        table.add_row(row["file_name"] or "", str(row["source_row"]), row["reasons"], row["raw"])
    console.print(table)


def _not_imported(source: str) -> CrimeprevError:
    from crimeprev.errors import NotFoundError

    return NotFoundError(
        f"nothing imported for source {source!r}; list the sources with crimeprev sources"
    )


@app.command("log")
def log(source: str | None = typer.Argument(None, help="Source name (default: all)")) -> None:
    """The import log: files, hashes and row counts."""
    from crimeprev.store.ingest import import_log

    with _warehouse() as warehouse:
        rows = import_log(warehouse, source)
    if source and not rows:
        raise fail(_not_imported(source))
    table = Table(title="import log")
    for column in ("source", "file", "sha256", "read", "accepted", "quarantined", "status", "at"):
        table.add_column(column)
    for row in rows:
        table.add_row(
            row["source"], row["file_name"], row["file_hash"][:12], f"{row['rows_read']:,}",
            f"{row['rows_accepted']:,}", f"{row['rows_quarantined']:,}", row["status"],
            str(row["finished_at"]),
        )  # fmt: skip
    console.print(table)


@app.command("trends")
def trends(
    source: str = typer.Argument(..., help="Source name"),
    iccs_code: str | None = typer.Option(None, "--iccs", help="Only this code and below"),
    window: int = typer.Option(3, help="Moving-average window (years)"),
    public: bool = typer.Option(
        False, "--public", help="Published version: hidden years, averages and changes as -"
    ),
) -> None:
    """Yearly counts, change with an exact two-count test, a moving average and series breaks.

    By default every count (not for publication); with --public, as the
    web page and JSON publish them.
    """
    from crimeprev.indicators.trends import trend_suppression, window_suppression, yearly_trend

    status = []
    try:
        with _warehouse() as warehouse:
            trend = yearly_trend(warehouse, source, iccs_code=iccs_code, window=window)
            if public and trend.years:
                from crimeprev.indicators.source_protection import source_pattern

                settings = get_settings()
                pattern = source_pattern(
                    warehouse,
                    source,
                    threshold=settings.small_count_threshold,
                    cache_dir=settings.data_dir / "disclosure",
                )
                status = trend_suppression(trend, pattern)
    except CrimeprevError as error:
        raise fail(error) from error
    status = status or [""] * len(trend.years)
    averaged = window_suppression(status, window=window)
    changed = ["", *window_suppression(status, window=2)[1:]]
    changes = {c.period_to: c for c in trend.changes}
    broken = {b.period for b in trend.breaks}
    table = Table(title=f"trend: {source}")
    for column in (
        "year",
        "count",
        "change %",
        "rate ratio (95% CI)",
        "p",
        f"MA({window})",
        "break",
    ):
        table.add_column(column)
    for index, (year, count, average) in enumerate(
        zip(trend.years, trend.counts, trend.moving_average, strict=True)
    ):
        change = None if changed[index] else changes.get(year)
        average = None if averaged[index] else average
        table.add_row(
            year,
            "-" if status[index] else f"{count:,.0f}",
            f"{change.percent_change:+.1f}" if change else "",
            f"{change.rate_ratio:.3f} ({change.ci_low:.3f}-{change.ci_high:.3f})" if change else "",
            f"{change.p_value:.3g}" if change else "",
            "" if average is None else f"{average:,.1f}",
            "yes" if year in broken else "",
        )
    console.print(table)
    for item in trend.breaks:
        console.print(f"series break {item.period} ({item.kind}): {item.detail}")


@app.command("quality")
def quality(
    source: str = typer.Argument(..., help="Source name"),
    public: bool = typer.Option(
        False,
        "--public",
        help="Print the published version (the web page's): small counts suppressed",
    ),
) -> None:
    """Data-quality report: geocoding, ICCS mapping, gaps, empty areas, outliers, quarantine.

    By default the statistician's own report, with every count (not for
    publication). With --public, what the web page and its JSON publish:
    small counts and the figures that would give them back are suppressed (-).
    """
    from crimeprev.indicators.quality import GEOCODING_THRESHOLD, quality_report
    from crimeprev.indicators.trends import profile_kind

    if profile_kind(source) == "aggregate":
        _aggregate_quality(source)
        return
    if public:
        _public_quality(source)
        return
    try:
        with _warehouse() as warehouse:
            report = quality_report(warehouse, source)
    except CrimeprevError as error:
        raise fail(error) from error
    verdict = "ok" if report.geocoding_ok else f"below the {GEOCODING_THRESHOLD:.0%} minimum"
    console.print(
        f"{source}: read {report.rows_read:,}, accepted {report.rows_accepted:,}, "
        f"quarantined {report.rows_quarantined:,}"
    )
    console.print(f"geocoded: {report.geocoded_share:.1%} ({verdict})")
    console.print(f"with an area: {report.area_assigned_share:.1%}")
    console.print(f"mapped to ICCS: {report.iccs_mapped_share:.1%}")
    console.print(f"months without data: {', '.join(report.months_without_data) or 'none'}")
    console.print(f"areas without incidents: {', '.join(report.areas_without_incidents) or 'none'}")
    for item in report.outlier_areas:
        console.print(
            f"outlier area {item['name']} ({item['area_id']}): rate {item['rate']:,.1f}, "
            f"robust z {item['z']:.1f}"
        )
    if report.areas_without_population:
        shown = report.areas_without_population
        console.print(
            f"areas without a population (no rate, not in the outlier search): {len(shown)}: "
            + ", ".join(shown[:10])
            + (f" and {len(shown) - 10} more" if len(shown) > 10 else "")
        )
    for reason in report.quarantine_reasons:
        console.print(
            f"quarantined, {reason['rule']}: {reason['rows']:,} "
            f"(first: row {reason['example_row']}; crimeprev stats quarantine {source})"
        )


def _shown(value: float | None, form: str) -> str:
    """A published figure, or "-" where it is suppressed."""
    return "-" if value is None else format(value, form)


def _public_quality(source: str) -> None:
    from crimeprev.indicators.quality import GEOCODING_THRESHOLD, public_quality_report

    settings = get_settings()
    try:
        with _warehouse() as warehouse:
            report = public_quality_report(
                warehouse,
                source,
                threshold=settings.small_count_threshold,
                cache_dir=settings.data_dir / "disclosure",
            )
    except CrimeprevError as error:
        raise fail(error) from error
    verdict = "ok" if report.geocoding_ok else f"below the {GEOCODING_THRESHOLD:.0%} minimum"
    console.print(
        f"{source}: read {_shown(report.rows_read, ',')}, accepted {report.rows_accepted:,}, "
        f"quarantined {_shown(report.rows_quarantined, ',')}"
    )
    console.print(f"geocoded: {_shown(report.geocoded_share, '.1%')} ({verdict})")
    console.print(f"with an area: {_shown(report.area_assigned_share, '.1%')}")
    console.print(f"mapped to ICCS: {_shown(report.iccs_mapped_share, '.1%')}")
    console.print(f"months without data: {', '.join(report.months_without_data) or 'none'}")
    console.print(f"areas without incidents: {', '.join(report.areas_without_incidents) or 'none'}")
    for item in report.outlier_areas:
        console.print(
            f"outlier area {item['name']} ({item['area_id']}): rate {item['rate']:,.1f}, "
            f"robust z {item['z']:.1f}"
        )
    for reason in report.quarantine_reasons:
        console.print(f"quarantined, {reason['rule']}: {_shown(reason['rows'], ',')}")
    console.print(
        f"- suppressed: fewer than {report.suppressed_threshold}, or would give such a count back"
    )


def _aggregate_quality(source: str) -> None:
    from crimeprev.indicators.aggregates import aggregate_quality, finding_json

    try:
        with _warehouse() as warehouse:
            report = aggregate_quality(warehouse, source)
    except CrimeprevError as error:
        raise fail(error) from error
    console.print(
        f"{source}: {report.rows:,} rows, {report.areas} areas, "
        f"{report.first_year}-{report.last_year}"
    )
    console.print(f"mapped to ICCS: {report.mapped_share:.1%}")
    console.print(f"cells where children exceed their parent: {len(report.findings):,}")
    for finding in report.findings:
        console.print(f"  {finding_json(finding)['message']}")


@app.command("area")
def area(
    source: str = typer.Argument(..., help="Source, e.g. unodc_cts or chicago_assaults"),
    area_id: str = typer.Argument(
        ..., help="Area code: an ISO3 country code, or an area of an incident source (e.g. 8)"
    ),
    unit: str = typer.Option("Counts", help="Unit to show (as published; aggregate sources)"),
    level: int = typer.Option(2, min=1, max=4, help="ICCS level (incident sources)"),
    output: Path | None = typer.Option(None, help="Write CSV here instead of printing"),
) -> None:
    """One area of a source: a country's published values, or an incident source's area profile.

    For an incident source, the area's counts by ICCS category and year and its
    yearly rates, as the web page publishes them (small counts suppressed, -).
    """
    import pandas as pd

    from crimeprev.indicators.aggregates import area_profile, finding_json
    from crimeprev.indicators.trends import profile_kind

    if profile_kind(source) == "incident":
        _incident_area(source, area_id, level, output)
        return
    try:
        with _warehouse() as warehouse:
            profile = area_profile(warehouse, source, area_id)
    except CrimeprevError as error:
        raise fail(error) from error
    rows = [
        {
            "iccs_code": row["iccs_code"],
            "label": row["label"],
            **{str(y): v for y, v in row["values"].items()},
        }
        for row in profile.table
        if row["unit"] == unit
    ]
    if not rows:
        print_error(f"no {unit!r} values; units: {', '.join(profile.units)}")
        raise typer.Exit(code=2)
    _emit(pd.DataFrame(rows), output, title=f"{profile.area_name} ({area_id}): {unit}")
    for finding in profile.findings:
        console.print(f"hierarchy: {finding_json(finding)['message']}")


def _incident_area(source: str, area_id: str, level: int, output: Path | None) -> None:
    import pandas as pd

    from crimeprev.indicators.area_profile import area_crime_profile

    settings = get_settings()
    try:
        with _warehouse() as warehouse:
            profile = area_crime_profile(
                warehouse,
                source,
                area_id,
                level=level,
                per=settings.rate_per,
                threshold=settings.small_count_threshold,
                cache_dir=settings.data_dir / "disclosure",
            )
    except CrimeprevError as error:
        raise fail(error) from error
    rows = [
        {
            "iccs_code": row["iccs_code"] or "",
            "label": row["label"],
            **{str(y): ("-" if v is None else f"{v:,.0f}") for y, v in row["counts"].items()},
        }
        for row in profile.by_category
    ]
    title = f"{profile.area_name} ({area_id}) of {source}: ICCS level {level}"
    _emit(pd.DataFrame(rows), output, title=title)
    if output is not None:
        return
    years = Table(title=f"{profile.area_name}: offences by year")
    for column in ("year", "count", "population", f"rate per {profile.per:,}", "95% CI"):
        years.add_column(column, justify="right")
    for row in profile.by_year:
        rate = row.get("rate")
        years.add_row(
            str(row["year"]),
            "-" if row["count"] is None else f"{row['count']:,.0f}",
            "" if row.get("population") is None else f"{row['population']:,.0f}",
            "" if rate is None else f"{rate:,.1f}",
            "" if rate is None else f"{row['ci_low']:,.1f}-{row['ci_high']:,.1f}",
        )
    console.print(years)
    console.print(
        f"{profile.rates_note}; -: suppressed (fewer than {profile.suppressed_threshold}, "
        "or would give such a count back)"
    )


@app.command("victims")
def victims(
    area_id: str | None = typer.Argument(
        None, help="Country code (ISO3), e.g. DEU; without it, every country's latest shares"
    ),
    source: str = typer.Option("unodc_cts", help="Aggregate source with victims by relationship"),
    confidence: float = typer.Option(0.95, help="Coverage of the Clopper-Pearson intervals"),
    output: Path | None = typer.Option(None, help="Write every column as CSV here"),
) -> None:
    """Victims of sexual violence and serious assault by sex and relationship to the perpetrator.

    The share whose perpetrator was an intimate partner or family member, and
    the share female, each with its exact (Clopper-Pearson) interval; small
    counts hidden as in every published table.
    """
    from rich.text import Text

    from crimeprev.indicators.gender import PARTNER_FAMILY, victims_by_relationship, victims_table

    threshold = get_settings().small_count_threshold
    if area_id is None:
        _victims_overview(source, threshold, confidence, output)
        return
    try:
        with _warehouse() as warehouse:
            profile = victims_by_relationship(
                warehouse, area_id, source=source, threshold=threshold, confidence=confidence
            )
    except CrimeprevError as error:
        raise fail(error) from error
    if output is not None:
        _emit(victims_table(profile), output, title="")
        return
    level = f"{confidence:.0%}"
    shares = {(s.indicator, s.year): s for s in profile.female_shares}
    for indicator in dict.fromkeys(row.indicator for row in profile.rows):
        table = Table(title=f"{profile.area_name} ({profile.area_id}): {indicator}")
        columns = ("year", "sex", "partner/family", "all victims", "rate /100k",
                   f"share partner/family ({level} CI)", f"share female ({level} CI)")  # fmt: skip
        for column in columns:
            table.add_column(column, justify="left" if column in ("year", "sex") else "right")
        for row in (r for r in profile.rows if r.indicator == indicator):
            female = shares[(row.indicator, row.year)].victims if row.sex == "Female" else None
            table.add_row(
                str(row.year), row.sex, _count(row.counts[PARTNER_FAMILY]), _count(row.total),
                _format(row.rate) if row.rate is not None else "",
                _share_text(row.partner_family), _share_text(female),
            )  # fmt: skip
        console.print(table)
    flagged = [row for row in profile.rows if row.flags]
    for row in flagged:
        console.print(Text(f"{row.indicator} {row.year} {row.sex}: {'; '.join(row.flags)}"))
    hidden = f"counts from 1 to {threshold - 1} hidden" if threshold > 1 else "no count hidden"
    console.print(f"{hidden}; totals only where all four relationship categories are reported")


def _victims_overview(source: str, threshold: int, confidence: float, output: Path | None) -> None:
    """Every country's latest shares, one line per country and indicator."""
    import pandas as pd

    from crimeprev.indicators.gender import victims_overview

    try:
        with _warehouse() as warehouse:
            overview = victims_overview(
                warehouse, source=source, threshold=threshold, confidence=confidence
            )
    except CrimeprevError as error:
        raise fail(error) from error
    level = f"{confidence:.0%}"
    lines = [
        {
            "area": item.area_id,
            "name": item.area_name,
            "indicator": item.indicator,
            "latest complete year": "" if item.year is None else str(item.year),
            "years": str(item.years),
            f"female: share partner/family ({level} CI)": _share_text(item.partner_family_female),
            f"male: share partner/family ({level} CI)": _share_text(item.partner_family_male),
            f"share female ({level} CI)": _share_text(item.female_share),
        }
        for item in overview
    ]
    _emit(pd.DataFrame(lines), output, title=f"{source}: victims by relationship, latest year")


def _count(value: float | None) -> str:
    return "" if value is None else f"{value:,.0f}"


def _share_text(share: Any) -> str:
    if share is None:
        return ""
    return f"{share.share:.1%} ({share.ci_low:.1%}-{share.ci_high:.1%})"


@app.command("seasonal")
def seasonal(source: str = typer.Argument(..., help="Source name")) -> None:
    """Seasonal heat tables: offences by month x weekday and weekday x hour."""
    from crimeprev.indicators.trends import MONTHS, WEEKDAYS, seasonal_tables

    try:
        with _warehouse() as warehouse:
            tables = seasonal_tables(warehouse, source)
    except CrimeprevError as error:
        raise fail(error) from error
    console.print(f"{source}: dates recorded to the {tables.precision}")
    if tables.month_weekday is None:
        by_month = Table(title="offences by month")
        for month in MONTHS:
            by_month.add_column(month, justify="right")
        by_month.add_row(
            *[
                f"{v:,.0f}" if covered else "no data"
                for v, covered in zip(tables.by_month, tables.months_covered, strict=True)
            ]
        )
        console.print(by_month)
        return
    grid = Table(title="offences by month x weekday")
    grid.add_column("month")
    for day in WEEKDAYS:
        grid.add_column(day, justify="right")
    for month, row, covered in zip(
        MONTHS, tables.month_weekday, tables.months_covered, strict=True
    ):
        grid.add_row(month, *[f"{v:,.0f}" if covered else "-" for v in row])
    console.print(grid)
    if not all(tables.months_covered):
        console.print("-: no data (the source's dates do not cover the month), not zero offences")
    if tables.weekday_hour is not None:
        hours = Table(title="offences by weekday x hour")
        hours.add_column("day")
        for hour in range(24):
            hours.add_column(f"{hour:02d}", justify="right")
        for day, row in zip(WEEKDAYS, tables.weekday_hour, strict=True):
            hours.add_row(day, *[f"{v:,.0f}" for v in row])
        console.print(hours)


@app.command("concentration")
def concentration_command(
    source: str = typer.Argument(..., help="Source name"),
    year: int | None = typer.Option(None, help="Year (default: all years)"),
    top: float = typer.Option(0.1, min=0.0, max=1.0, help="Top fraction of areas"),
    iccs_code: str | None = typer.Option(None, "--iccs", help="Only this code and below"),
    public: bool = typer.Option(
        False, "--public", help="Published version: small counts and their complements hidden"
    ),
) -> None:
    """How concentrated offences are across areas: Gini and the share in the top areas.

    By default from every count (not for publication); with --public, the
    published version (JSON, one line per area, as the web JSON).
    """
    from crimeprev.indicators.counts import area_concentration

    if public:
        import json
        from dataclasses import asdict

        from crimeprev.indicators.counts import public_concentration

        settings = get_settings()
        try:
            with _warehouse() as warehouse:
                shown = public_concentration(
                    warehouse,
                    source,
                    threshold=settings.small_count_threshold,
                    year=year,
                    top_fraction=top,
                    iccs_code=iccs_code,
                    cache_dir=settings.data_dir / "disclosure",
                )
        except CrimeprevError as error:
            raise fail(error) from error
        from crimeprev.indicators.disclosure import public_json

        console.print_json(json.dumps(public_json(asdict(shown))))
        return
    try:
        with _warehouse() as warehouse:
            result = area_concentration(
                warehouse, source, year=year, top_fraction=top, iccs_code=iccs_code
            )
    except CrimeprevError as error:
        raise fail(error) from error
    console.print(
        f"{source} ({result.area_set}, {result.year or 'all years'}): {result.total:,.0f} "
        f"offences in {result.areas} areas; Gini {result.gini:.3f}; the top "
        f"{result.top_fraction:.0%} of areas ({len(result.top_areas)}) have "
        f"{result.top_share:.1%} of offences"
    )
    for item in result.top_areas:
        console.print(f"  {item['name'] or item['area_id']}: {item['count']:,.0f}")
    if result.unassigned:
        console.print(f"{result.unassigned:,.0f} offences fall in no area and are left out")


@app.command("standardise")
def standardise_command(
    source: str = typer.Argument(..., help="Source name"),
    year: int = typer.Option(..., help="Year"),
    age_field: str = typer.Option("victim_age", help="victim_age or perpetrator_age"),
    standard: Path | None = typer.Option(
        None, help="CSV of the standard population (columns age_band, population)"
    ),
    output: Path | None = typer.Option(None, help="Write CSV here instead of printing"),
) -> None:
    """Directly age-standardised rates by area (Fay-Feuer intervals)."""
    import pandas as pd

    from crimeprev.errors import DataFileError
    from crimeprev.indicators.counts import standardised_area_rates

    settings = get_settings()
    try:
        weights = None
        if standard is not None:
            if not standard.is_file():
                raise DataFileError("no such file", file=str(standard), expected="a CSV file")
            frame = pd.read_csv(standard, dtype={"age_band": str})
            if not {"age_band", "population"} <= set(frame.columns):
                raise DataFileError(
                    f"columns {list(frame.columns)}",
                    file=str(standard),
                    expected="columns age_band, population",
                )
            weights = dict(zip(frame["age_band"], frame["population"].astype(float), strict=True))
        with _warehouse() as warehouse:
            table = standardised_area_rates(
                warehouse, source, year=year, age_field=age_field, standard=weights,
                per=settings.rate_per,
            )  # fmt: skip
    except CrimeprevError as error:
        raise fail(error) from error
    console.print(
        f"standard: {table.standard_name}; bands {', '.join(table.bands)}; population of "
        f"{table.population_year}"
    )
    _emit(table.frame, output, title=f"age-standardised rates per {table.per:,}: {source} {year}")


@app.command("indicators")
def indicators(
    indicator: str = typer.Option("16.1.1", help="SDG indicator: 16.1.1 or 16.2.2"),
    source: str = typer.Option("wdi_homicide", help="Source to compute it from"),
    year: list[int] = typer.Option([], help="Year(s) to show (default: all)"),
    area: list[str] = typer.Option([], help="Area code(s), e.g. ISO3 (default: all)"),
    show_list: bool = typer.Option(
        False, "--list", help="List every SDG indicator: computable from which sources, or why not"
    ),
    file_format: str = typer.Option("csv", "--format", help="csv, sdmx-csv or sdmx-ml"),
    output: Path | None = typer.Option(None, help="Write the table here instead of printing"),
    detailed_marks: bool = typer.Option(
        False,
        "--detailed-marks",
        help="SDMX: CONF_STATUS A (small count) or D (complement) instead of C for every hidden "
        "value, for an organisation that manages confidentiality. NOT FOR PUBLICATION.",
    ),
) -> None:
    """SDG indicators with numerator, denominator and metadata (16.1.1 by sex and age, 16.2.2)."""
    from crimeprev.indicators.sdg import availability, compute_indicator

    settings = get_settings()
    try:
        with _warehouse() as warehouse:
            if show_list:
                _print_availability(availability(warehouse))
                return
            result = compute_indicator(warehouse, indicator, source)
    except CrimeprevError as error:
        raise fail(error) from error
    frame = result.frame
    if year:
        frame = frame[frame["year"].isin(year)]
    if area:
        frame = frame[frame["area_id"].isin(area)]
    if frame.empty and (year or area) and not result.frame.empty:
        # A filter that matches nothing is a typo or a year without data, not an empty result.
        years = result.frame["year"]
        unknown = sorted(set(area) - set(result.frame["area_id"]))
        print_error(
            f"no {result.indicator} values from {result.source} for "
            + (f"area(s) {', '.join(unknown)} (not in the source); " if unknown else "")
            + f"year(s) {', '.join(map(str, year)) or 'any'}, area(s) {', '.join(area) or 'any'}; "
            f"the source has years {years.min()}-{years.max()} and "
            f"{result.frame['area_id'].nunique():,} areas"
        )
        raise typer.Exit(code=2)
    console.print(f"SDG {result.indicator}: {result.name} ({result.unit}), from {result.source}")
    console.print(f"numerator: {result.numerator_definition}")
    console.print(f"denominator: {result.denominator_definition}")
    for note in result.notes:
        console.print(f"note: {note}")
    if file_format in ("sdmx-csv", "sdmx-ml"):
        from crimeprev.indicators.sdmx import indicator_sdmx_frame, write_sdmx_csv, write_sdmx_ml

        if output is None:
            print_error("--output is needed for SDMX")
            raise typer.Exit(code=2)
        sdmx = indicator_sdmx_frame(
            frame,
            iccs_code=result.iccs_code,
            threshold=settings.small_count_threshold,
            detailed=detailed_marks,
        )
        if file_format == "sdmx-csv":
            output.write_text(write_sdmx_csv(sdmx), encoding="utf-8")
        else:
            output.write_bytes(write_sdmx_ml(sdmx))
        console.print(f"wrote {len(sdmx):,} observations to {output}")
        return
    if file_format != "csv":
        print_error(f"unknown format {file_format!r}; expected csv, sdmx-csv or sdmx-ml")
        raise typer.Exit(code=2)
    _emit(frame, output, title=f"SDG {result.indicator}")


def _print_availability(statuses: list[Any]) -> None:
    table = Table(title="SDG indicators and the warehouse")
    for column in ("indicator", "computable", "ICCS", "sources or reason"):
        table.add_column(column, overflow="fold")
    for item in statuses:
        table.add_row(
            item.indicator,
            "yes" if item.computable else "no",
            ", ".join(item.iccs_codes),
            item.reason,
        )
    console.print(table)


@app.command("export")
def export(
    source: str = typer.Argument(..., help="Source name"),
    output: Path = typer.Option(..., help="File to write"),
    file_format: str = typer.Option(
        "csv", "--format", help="csv, parquet, xlsx, sdmx-csv or sdmx-ml"
    ),
    level: int | None = typer.Option(None, min=1, max=4, help="ICCS level"),
    period: str = typer.Option("year", help="year, quarter, month, ..."),
    by_area: bool = typer.Option(True, help="Break down by area"),
    detailed_marks: bool = typer.Option(
        False,
        "--detailed-marks",
        help="Mark hidden cells primary or secondary (SDMX CONF_STATUS A or D) for an "
        "organisation that manages confidentiality itself. NOT FOR PUBLICATION: the marks "
        "tell a reader which hidden counts are below the threshold.",
    ),
) -> None:
    """Export counts, small ones suppressed, as CSV, Parquet, Excel, SDMX-CSV or SDMX-ML.

    Every hidden cell gets the same mark (suppressed; SDMX CONF_STATUS C),
    so the file can be published. SDMX-ML is written with its data
    structure definition beside it (``<output>.structure.xml``), which a
    recipient needs to read the data.
    """
    from crimeprev.indicators.counts import CountQuery, count_incidents
    from crimeprev.indicators.export import export_counts
    from crimeprev.indicators.sdmx import structure_xml
    from crimeprev.indicators.source_protection import counts_status
    from crimeprev.indicators.trends import profile_kind

    settings = get_settings()
    threshold = settings.small_count_threshold
    if profile_kind(source) == "aggregate":
        _export_aggregate(source, output, file_format)
        return
    try:
        with _warehouse() as warehouse:
            query = CountQuery(
                source=source,
                level=level,
                period=None if period == "all" else period,
                by_area=by_area,
            )
            frame = count_incidents(warehouse, query)
            # One pattern for every output of the source, so tables cannot be compared.
            status = counts_status(
                warehouse,
                query,
                frame,
                threshold=threshold,
                cache_dir=settings.data_dir / "disclosure",
            )
        data = export_counts(
            frame,
            file_format,
            threshold=threshold,
            period_kind=None if period == "all" else period,
            status=status,
            detailed_marks=detailed_marks,
        )
    except CrimeprevError as error:
        raise fail(error) from error
    output.write_bytes(data)
    marks = (
        "primary or secondary: NOT FOR PUBLICATION"
        if detailed_marks
        else "suppressed, one mark for every hidden cell"
    )
    console.print(
        f"wrote {len(frame):,} rows to {output}: counts from 1 to {threshold - 1} suppressed, "
        f"and further cells wherever a total would give one back (column 'suppression': {marks})"
    )
    if file_format == "sdmx-ml":
        structure = output.with_suffix(".structure.xml")
        structure.write_bytes(structure_xml())
        console.print(f"wrote the data structure definition to {structure}")


def _export_aggregate(source: str, output: Path, file_format: str) -> None:
    from crimeprev.indicators.aggregates import aggregate_rows
    from crimeprev.indicators.export import export_aggregate
    from crimeprev.indicators.sdmx import structure_xml

    try:
        with _warehouse() as warehouse:
            frame = aggregate_rows(warehouse, source)
        data = export_aggregate(frame, file_format)
    except CrimeprevError as error:
        raise fail(error) from error
    output.write_bytes(data)
    console.print(f"wrote the published values of {source} to {output} ({len(frame):,} rows read)")
    if file_format == "sdmx-ml":
        structure = output.with_suffix(".structure.xml")
        structure.write_bytes(structure_xml())
        console.print(f"wrote the data structure definition to {structure}")


@app.command("read-sdmx")
def read_sdmx_command(
    path: Path = typer.Argument(..., help="SDMX-CSV or SDMX-ML file written by crimeprev"),
    output: Path | None = typer.Option(None, help="Write the observations as CSV here"),
) -> None:
    """Read an SDMX-CSV or SDMX-ML file back, checking its structure and values."""
    from crimeprev.errors import DataFileError
    from crimeprev.indicators.export import read_sdmx

    try:
        if not path.is_file():
            raise DataFileError("no such file", file=str(path), expected="an SDMX file")
        frame = read_sdmx(path.read_bytes(), file=str(path))
    except CrimeprevError as error:
        raise fail(error) from error
    confidential = int((frame["OBS_STATUS"] == "C").sum())
    console.print(
        f"{path.name}: {len(frame):,} observations, {confidential:,} confidential (suppressed)"
    )
    _emit(frame, output, title=f"SDMX: {path.name}")


def _progress(bar: Progress, task: Any, name: str) -> Callable[[str], None]:
    def update(stage: str) -> None:
        bar.update(task, description=f"{name}: {stage}")

    return update


def _emit(frame, output: Path | None, *, title: str, period: str | None = None) -> None:
    """Write `frame` as CSV to `output`, or print it as a table.

    Printed, whole-number columns (counts, populations) show no decimals and a
    ``period`` column shows its `period` kind's label (``2019``, ``2019-Q1``,
    ``2019-03``); a week or a day keeps the date it starts on.
    """
    if output is not None:
        frame.to_csv(output, index=False)
        console.print(f"wrote {len(frame):,} rows to {output}")
        return
    import pandas as pd

    shown = frame.copy()
    if period in PERIOD_LABELS and "period" in shown.columns:
        dates = pd.to_datetime(shown["period"])
        shown["period"] = (
            dates.dt.to_period("Q").astype(str).str.replace("Q", "-Q")
            if period == "quarter"
            else dates.dt.strftime(PERIOD_LABELS[period])
        )
    whole = {
        str(column)
        for column in shown.columns
        if pd.api.types.is_float_dtype(shown[column])
        and str(column) in WHOLE_NUMBER_COLUMNS
        and bool((shown[column].dropna() % 1 == 0).all())
    }
    table = Table(title=title)
    for column in shown.columns:
        table.add_column(str(column))
    for row in shown.itertuples(index=False):
        table.add_row(
            *[_format(v, whole=str(c) in whole) for c, v in zip(shown.columns, row, strict=True)]
        )
    console.print(table)


#: strftime labels of the printed periods (a quarter is labelled ``2019-Q1``).
PERIOD_LABELS = {
    "year": "%Y",
    "quarter": "",
    "month": "%Y-%m",
    "week": "%Y-%m-%d",
    "day": "%Y-%m-%d",
}
#: Columns printed without decimals when every value is a whole number.
WHOLE_NUMBER_COLUMNS = frozenset(
    {"count", "records", "population", "rows", "numerator", "denominator"}
)


def _format(value: object, *, whole: bool = False) -> str:
    if isinstance(value, float):
        return "" if value != value else f"{value:,.0f}" if whole else f"{value:,.2f}"
    return "" if value is None else str(value)


@concordance_app.command("check")
def check(scheme: str = typer.Argument(..., help="Bundled scheme name or path of a CSV")) -> None:
    """Validate a concordance: ICCS codes, shares, validity periods."""
    from crimeprev.store.concordance import check_concordance

    try:
        problems = check_concordance(scheme)
    except CrimeprevError as error:
        raise fail(error) from error
    if problems:
        for problem in problems:
            print_error(f"{problem}", label="problem")
        raise typer.Exit(code=1)
    console.print(f"{scheme}: valid")


@concordance_app.command("coverage")
def coverage_command(source: str = typer.Argument(..., help="Source name")) -> None:
    """Share of records and codes mapped to ICCS; unmapped codes by frequency."""
    from crimeprev.store.concordance import coverage

    try:
        with _warehouse() as warehouse:
            report = coverage(warehouse, source)
    except CrimeprevError as error:
        raise fail(error) from error
    console.print(
        f"{source}: {report.share_records:.1%} of {report.records:,.0f} records and "
        f"{report.codes_mapped} of {report.codes} codes mapped to ICCS"
    )
    if report.unmapped:
        table = Table(title="unmapped codes")
        for column in ("code", "label", "records"):
            table.add_column(column)
        for item in report.unmapped:
            table.add_row(item.national_code, item.label, f"{item.records:,}")
        console.print(table)


@concordance_app.command("suggest")
def suggest_command(
    source: str | None = typer.Argument(None, help="Source whose unmapped codes to rank"),
    label: list[str] = typer.Option([], help="Label(s) to rank instead of a source's"),
    limit: int = typer.Option(5, help="Candidates per label"),
) -> None:
    """Rank ICCS candidates for unmapped labels (a person confirms them)."""
    from crimeprev.store.concordance import suggest, suggest_unmapped

    if label:
        suggestions = suggest([(text, text, 0) for text in label], limit=limit)
    elif source:
        with _warehouse() as warehouse:
            suggestions = suggest_unmapped(warehouse, source, limit=limit)
    else:
        print_error("give a source or --label")
        raise typer.Exit(code=2)
    if not suggestions:
        console.print("nothing to suggest: every code is mapped")
    for item in suggestions:
        console.print(styled((item.label, "bold"), f" ({item.records:,} records)"))
        for hit in item.candidates:
            console.print(
                styled(
                    f"  {hit.code:<7} {hit.score:5.1f}  {hit.label}  ",
                    (f"via {hit.via}: {hit.matched}", "dim"),
                )
            )


#: Top-level spellings the issue names (``crimeprev counts``) of the ``stats`` commands.
TOP_LEVEL = {
    "ingest": import_command,
    "sources": sources,
    "counts": counts,
    "rates": rates,
    "trends": trends,
    "quality": quality,
    "indicators": indicators,
    "export": export,
}


def register_aliases(app: typer.Typer) -> None:
    """Register the crime-statistics commands at the top level too (``crimeprev counts``)."""
    for name, command in TOP_LEVEL.items():
        app.command(name)(command)
