"""Data-quality report of one incident source.

Missing is kept apart from zero: areas with boundaries but no incidents are
zeros; incidents without an area are missing area. Geocoding is judged
against the usual 85% minimum acceptable hit rate (Ratcliffe 2004).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from crimeprev.indicators.counts import CountQuery, area_rates, count_incidents
from crimeprev.store.concordance import coverage
from crimeprev.store.ingest import import_log
from crimeprev.store.warehouse import Warehouse

#: Minimum acceptable geocoding hit rate (Ratcliffe, 2004, IJGIS 18(1)).
GEOCODING_THRESHOLD = 0.85


@dataclass(frozen=True)
class QualityReport:
    """Quality indicators of one incident source."""

    source: str
    rows_read: int
    rows_accepted: int
    rows_quarantined: int
    geocoded_share: float
    geocoding_ok: bool
    area_assigned_share: float
    iccs_mapped_share: float
    months_without_data: list[str]
    areas_without_incidents: list[str]
    outlier_areas: list[dict]
    #: Quarantined rows by rule broken (first reason): ``rule``, ``rows``, ``example_row``.
    quarantine_reasons: list[dict] = field(default_factory=list)
    #: Areas with no population for the rates' census year: they have no rate and are left
    #: out of the outlier search (Lancashire: 26 of 271 wards, new since the 2020 populations).
    areas_without_population: list[str] = field(default_factory=list)


def robust_z(values: np.ndarray) -> np.ndarray:
    """Robust z-scores: (x - median) / (1.4826 * MAD); NaN when the MAD is 0.

    Examples
    --------
    >>> robust_z(np.array([1.0, 2.0, 3.0, 100.0])).round(2).tolist()
    [-1.01, -0.34, 0.34, 65.76]
    """
    values = np.asarray(values, dtype=float)
    if not np.isfinite(values).any():
        return np.full(values.shape, np.nan)
    median = np.nanmedian(values)
    mad = 1.4826 * np.nanmedian(np.abs(values - median))
    if mad == 0:
        return np.full(values.shape, np.nan)
    return (values - median) / mad


def quality_report(warehouse: Warehouse, source: str, *, z_threshold: float = 3.5) -> QualityReport:
    """Build the quality report of an incident source."""
    from crimeprev.indicators.profile import _quarantine_reasons

    log = pd.DataFrame(import_log(warehouse, source))
    committed = log[log["status"] == "committed"] if not log.empty else log
    incident = warehouse.table("incident")
    rows = incident.filter(incident.source == source)
    stats_row = warehouse.to_arrow(
        rows.aggregate(
            records=rows.iccs_weight.sum(),
            geocoded=(rows.lon.notnull().cast("float64") * rows.iccs_weight).sum(),
            with_area=(rows.area_id.notnull().cast("float64") * rows.iccs_weight).sum(),
        )
    ).to_pylist()[0]
    records = stats_row["records"] or 0.0
    geocoded = (stats_row["geocoded"] or 0.0) / records if records else float("nan")
    with_area = (stats_row["with_area"] or 0.0) / records if records else float("nan")
    months = count_incidents(warehouse, CountQuery(source, period="month"))
    present = pd.to_datetime(months.groupby("period")["count"].sum().index)
    gaps: list[str] = []
    if len(present):
        expected = pd.date_range(present.min(), present.max(), freq="MS")
        gaps = [d.strftime("%Y-%m") for d in expected.difference(present)]
    empty_areas: list[str] = []
    outliers: list[dict] = []
    no_population: list[str] = []
    try:
        table = area_rates(warehouse, source).frame
    except Exception:  # no areas or no population: nothing to report on areas
        table = None
    if table is not None:
        totals = table.groupby(["area_id", "name"], dropna=False, as_index=False)["count"].sum()
        empty_areas = totals.loc[totals["count"] == 0, "area_id"].astype(str).tolist()
        latest = table[table["year"] == table["year"].max()].dropna(subset=["rate"])
        outliers = _rate_outliers(latest, z_threshold)
        missing = table.loc[table["population"].isna(), "area_id"].astype(str)
        no_population = list(dict.fromkeys(missing))
    return QualityReport(
        source=source,
        rows_read=int(committed["rows_read"].sum()) if not committed.empty else 0,
        rows_accepted=int(committed["rows_accepted"].sum()) if not committed.empty else 0,
        rows_quarantined=int(committed["rows_quarantined"].sum()) if not committed.empty else 0,
        geocoded_share=geocoded,
        geocoding_ok=bool(geocoded >= GEOCODING_THRESHOLD),
        area_assigned_share=with_area,
        iccs_mapped_share=coverage(warehouse, source).share_records,
        months_without_data=gaps,
        areas_without_incidents=empty_areas,
        outlier_areas=outliers,
        quarantine_reasons=_quarantine_reasons(warehouse, source),
        areas_without_population=no_population,
    )


@dataclass(frozen=True)
class PublicQualityReport:
    """The quality report as the public page and JSON show it: small counts suppressed.

    ``suppression`` names each hidden figure (``rows_read``,
    ``rows_quarantined``, ``geocoded_share``, ``area_assigned_share``,
    ``iccs_mapped_share``) with ``primary`` or ``secondary``; hidden
    figures are None. ``quarantine_reasons`` and ``imports`` rows carry
    their own ``suppression``. ``outlier_areas`` are found among the
    published rates only. ``rounding`` gives the step each rounded share
    was rounded to (the geocoded share).
    """

    source: str
    rows_read: int | None
    rows_accepted: int
    rows_quarantined: int | None
    geocoded_share: float | None
    geocoding_ok: bool
    area_assigned_share: float | None
    iccs_mapped_share: float | None
    months_without_data: list[str]
    areas_without_incidents: list[str]
    outlier_areas: list[dict]
    quarantine_reasons: list[dict]
    imports: list[dict]
    suppression: dict[str, str]
    suppressed_threshold: int
    rounding: dict[str, float]


def rounded_share(share: float, records: float, *, threshold: int) -> tuple[float | None, float]:
    """A share rounded so that the count it implies is uncertain by at least 2 x `threshold`.

    The step is the finest of 0.1%, 1% and 10% for which ``records x step``
    reaches ``2 x threshold``; the count behind the share is then only known
    within a range that wide. Returns (None, 0) when even 10% is too fine
    (fewer than ``20 x threshold`` records).

    Examples
    --------
    >>> rounded_share(33_759 / 37_510, 37_510, threshold=5)
    (0.9, 0.001)
    >>> rounded_share(0.97, 300, threshold=5)
    (1.0, 0.1)
    """
    for step in (0.001, 0.01, 0.1):
        if records * step >= 2 * threshold:
            return round(round(share / step) * step, 6), step
    return None, 0.0


def public_quality_report(
    warehouse: Warehouse,
    source: str,
    *,
    threshold: int,
    cache_dir: Path | None = None,
    z_threshold: float = 3.5,
) -> PublicQualityReport:
    """The quality report with its small counts suppressed, for the public page and JSON.

    The statistician's report (:func:`quality_report`, the CLI's
    ``crimeprev stats quality``) keeps every figure; a published one must
    not give back a count the source's tables hide, nor a small count of
    its own. So:

    * Quarantined rows are a table by import (file) x rule broken, with
      totals per file, per rule and overall; it is protected with
      :func:`crimeprev.indicators.source_protection.protect_breakdown`
      (primary and secondary suppression, listed rules being at least 1).
      Rows accepted are published (their sum is the source's grand total,
      published everywhere), so rows read, being accepted plus
      quarantined, is hidden wherever the quarantined count is.
    * The shares of records with an area and mapped to ICCS give back the
      count with no area and the unmapped count (a share times the
      published total): each is shown only where the source's disclosure
      pattern publishes that cell. The geocoded share gives back the
      number of records without coordinates, which is not a cell of the
      pattern but may add up offences it hides (Vancouver withholds the
      location of offences against a person and of homicides, so the
      exact share gives the hidden homicide total back within one): it
      is rounded (:func:`rounded_share`) so the count stays uncertain by
      at least twice the threshold.
    * Outlying area rates (robust z) are looked for among the published
      rates of the latest year only, so neither the flag nor the z-score
      depends on a hidden count.
    * Months and areas without data are zeros, which are not disclosive.

    The raw quarantined rows are records, not counts: they are not part of
    the public report (listing them would give every count back).
    """
    from crimeprev.indicators.disclosure import PRIMARY, PUBLISHED, SECONDARY
    from crimeprev.indicators.source_protection import (
        ALL,
        area_key,
        code_key,
        period_key,
        source_pattern,
    )

    report = quality_report(warehouse, source, z_threshold=z_threshold)
    suppression: dict[str, str] = {}
    pattern = source_pattern(warehouse, source, threshold=threshold, cache_dir=cache_dir)
    quarantine = public_quarantine(warehouse, source, threshold=threshold)
    if quarantine.suppression:
        suppression["rows_quarantined"] = quarantine.suppression
        suppression["rows_read"] = SECONDARY
    # Records without coordinates: a count of its own, hidden when small.
    geocoded: float | None = report.geocoded_share
    rounding: dict[str, float] = {}
    if geocoded is not None and np.isfinite(geocoded):
        geocoded, step = rounded_share(geocoded, _records(warehouse, source), threshold=threshold)
        if geocoded is None:
            suppression["geocoded_share"] = PRIMARY
        else:
            rounding["geocoded_share"] = step
    if pattern.status_of((ALL, area_key(None), ALL)) != PUBLISHED:
        suppression["area_assigned_share"] = pattern.status_of((ALL, area_key(None), ALL))
    if pattern.status_of((code_key(None, None), ALL, ALL)) != PUBLISHED:
        suppression["iccs_mapped_share"] = pattern.status_of((code_key(None, None), ALL, ALL))
    outliers: list[dict] = []
    try:
        rates = area_rates(warehouse, source).frame
    except Exception:  # no areas or no population: nothing to report on areas
        rates = None
    if rates is not None:
        latest_year = int(rates["year"].max())
        latest = rates[rates["year"] == latest_year].dropna(subset=["rate"])
        when = period_key("year", f"{latest_year}-01-01")
        shown = np.array(
            [
                pattern.status_of((ALL, area_key(area), when), float(count)) == PUBLISHED
                for area, count in zip(latest["area_id"], latest["count"], strict=True)
            ],
            dtype=bool,
        )
        outliers = _rate_outliers(latest[shown], z_threshold)
    return PublicQualityReport(
        source=source,
        rows_read=None if "rows_read" in suppression else report.rows_read,
        rows_accepted=report.rows_accepted,
        rows_quarantined=quarantine.rows_quarantined,
        geocoded_share=geocoded,
        geocoding_ok=report.geocoding_ok,
        area_assigned_share=None
        if "area_assigned_share" in suppression
        else report.area_assigned_share,
        iccs_mapped_share=None if "iccs_mapped_share" in suppression else report.iccs_mapped_share,
        months_without_data=report.months_without_data,
        areas_without_incidents=report.areas_without_incidents,
        outlier_areas=outliers,
        quarantine_reasons=quarantine.reasons,
        imports=quarantine.imports,
        suppression=suppression,
        suppressed_threshold=threshold,
        rounding=rounding,
    )


def _records(warehouse: Warehouse, source: str) -> float:
    """The source's records, weighted as the counts are (the denominator of the shares)."""
    incident = warehouse.table("incident")
    rows = incident.filter(incident.source == source)
    value = warehouse.to_arrow(rows.aggregate(records=rows.iccs_weight.sum())).to_pylist()[0]
    return float(value["records"] or 0.0)


@dataclass(frozen=True)
class PublicQuarantine:
    """Quarantined rows counted by rule and by import, small counts suppressed.

    ``rows_quarantined`` is the source's total (None when hidden, with
    ``suppression`` saying why); ``reasons`` and ``imports`` rows carry
    their own ``suppression``. Only committed imports are listed.
    """

    rows_quarantined: int | None
    suppression: str
    reasons: list[dict]
    imports: list[dict]


def public_quarantine(warehouse: Warehouse, source: str, *, threshold: int) -> PublicQuarantine:
    """The quarantine summary and import log of a source as the public faces show them.

    Quarantined rows form a table by import (file) x rule broken (the first
    reason of each row), with totals per import, per rule and overall:
    :func:`crimeprev.indicators.source_protection.protect_breakdown` hides
    the small counts and the complements that would give them back (a
    listed rule is known to have at least one row). Rows accepted by import
    are a one-way table whose total (the source's grand total) is published
    everywhere: a small one is hidden with a complement. An import's rows
    read, accepted plus quarantined, is hidden wherever either is.
    """
    from crimeprev.indicators.disclosure import PUBLISHED
    from crimeprev.indicators.source_protection import protect_breakdown
    from crimeprev.indicators.trends import protect_line

    log = [row for row in import_log(warehouse, source) if row["status"] == "committed"]
    table = warehouse.table("quarantine")
    mine = table.filter(table.source == source)
    rule = mine.reasons.re_extract(r"^\[([a-z_0-9]+)\]", 1)
    grouped = warehouse.to_arrow(
        mine.group_by(import_id=mine.import_id, rule=rule).aggregate(
            rows=mine.count(), example_row=mine.source_row.min()
        )
    ).to_pandas()
    grouped["rule"] = grouped["rule"].fillna("other")
    committed = {row["import_id"] for row in log}
    grouped = grouped[grouped["import_id"].isin(committed)]
    fine = grouped[["import_id", "rule", "rows"]].astype({"rows": float})
    by_rule = fine.groupby("rule", as_index=False)["rows"].sum().assign(import_id="Total")
    by_file = fine.groupby("import_id", as_index=False)["rows"].sum().assign(rule="Total")
    overall = pd.DataFrame(
        {"import_id": ["Total"], "rule": ["Total"], "rows": [fine["rows"].sum()]}
    )
    table_rows = pd.concat([fine, by_rule, by_file, overall], ignore_index=True)
    status = protect_breakdown(
        table_rows, threshold=threshold, value="rows", breakdowns=["import_id", "rule"]
    )
    keys = zip(table_rows["import_id"], table_rows["rule"], strict=True)
    marks = dict(zip(keys, status, strict=True))
    total_mark = marks.get(("Total", "Total"), PUBLISHED)
    reasons = grouped.groupby("rule", as_index=False).agg(
        rows=("rows", "sum"), example_row=("example_row", "min")
    )
    quarantine_reasons = [
        {
            "rule": row.rule,
            "rows": None if marks.get(("Total", row.rule)) else int(row.rows),
            "suppression": marks.get(("Total", row.rule), PUBLISHED),
            "example_row": int(row.example_row),
        }
        for row in reasons.itertuples()
    ]
    # Largest published first, hidden ones last by name: an order by the true
    # counts would tell where a hidden count lies between two published ones.
    quarantine_reasons.sort(key=lambda r: (r["rows"] is None, -(r["rows"] or 0), r["rule"]))
    # Rows accepted by file: a one-way table whose total (the source's) is
    # published, so a small file is hidden with a complement.
    accepted_marks = protect_line([float(row["rows_accepted"]) for row in log], threshold=threshold)
    imports = []
    for row, accepted_mark in zip(log, accepted_marks, strict=True):
        mark = marks.get((row["import_id"], "Total"), PUBLISHED)
        imports.append(
            {
                "file_name": row["file_name"],
                "file_hash": row["file_hash"],
                # read = accepted + quarantined: hidden when either is.
                "rows_read": None if mark or accepted_mark else int(row["rows_read"]),
                "rows_accepted": None if accepted_mark else int(row["rows_accepted"]),
                "rows_quarantined": None if mark else int(row["rows_quarantined"]),
                "suppression": mark or accepted_mark,
                "status": row["status"],
                "finished_at": row["finished_at"].isoformat()
                if hasattr(row["finished_at"], "isoformat")
                else row["finished_at"],
            }
        )
    total = sum(int(row["rows_quarantined"]) for row in log)
    return PublicQuarantine(
        rows_quarantined=None if total_mark else total,
        suppression=total_mark,
        reasons=quarantine_reasons,
        imports=imports,
    )


def public_coverage(
    warehouse: Warehouse, source: str, *, threshold: int, cache_dir: Path | None = None
) -> dict[str, Any]:
    """The concordance coverage report of an incident source as the public JSON shows it.

    The records not mapped to ICCS are one cell of the source's disclosure
    pattern (unmapped code, all areas, all periods), and the mapped records
    and their share give it back from the published total. Where the
    pattern hides that cell, the mapped records, their share and the
    unmapped codes' counts are withheld (the codes are not listed either:
    each listed code would tell the hidden count is at least the number of
    codes). Where it is published, the unmapped codes' counts are a
    one-way table with that total: small ones and their complements are
    hidden (:func:`crimeprev.indicators.source_protection.protect_breakdown`),
    and the codes are listed largest published count first.
    """
    from crimeprev.indicators.disclosure import PUBLISHED, SECONDARY
    from crimeprev.indicators.source_protection import (
        ALL,
        code_key,
        protect_breakdown,
        source_pattern,
    )

    report = coverage(warehouse, source)
    pattern = source_pattern(warehouse, source, threshold=threshold, cache_dir=cache_dir)
    unmapped_total = report.records - report.records_mapped
    total_mark = pattern.status_of((code_key(None, None), ALL, ALL))
    out: dict[str, Any] = {
        "source": source,
        "records": report.records,
        "records_mapped": report.records_mapped,
        "share_records": report.share_records,
        "codes": report.codes,
        "codes_mapped": report.codes_mapped,
        "share_codes": report.share_codes,
        "unmapped": [],
        "suppression": {},
        "suppressed_threshold": threshold,
    }
    if total_mark != PUBLISHED:
        out["records_mapped"] = out["share_records"] = None
        out["suppression"] = {
            "records_mapped": total_mark,
            "share_records": total_mark,
            "unmapped": total_mark,
        }
        return out
    table = pd.DataFrame(
        {
            "national_code": [item.national_code for item in report.unmapped] + ["Total"],
            "records": [float(item.records) for item in report.unmapped] + [unmapped_total],
        }
    )
    status = protect_breakdown(
        table, threshold=threshold, value="records", breakdowns=["national_code"]
    ).tolist()
    if status[-1] != PUBLISHED:  # the total is published elsewhere: hide every part instead
        status = [SECONDARY if s == PUBLISHED else s for s in status]
    rows = [
        {
            "national_code": item.national_code,
            "label": item.label,
            "records": None if mark else item.records,
            "suppression": mark,
        }
        for item, mark in zip(report.unmapped, status, strict=False)
    ]
    rows.sort(key=lambda r: (r["records"] is None, -(r["records"] or 0), r["national_code"]))
    out["unmapped"] = rows
    return out


def _rate_outliers(latest: pd.DataFrame, z_threshold: float) -> list[dict]:
    """Areas whose rate lies more than `z_threshold` robust z-scores from the others'."""
    scores = robust_z(latest["rate"].to_numpy())
    return [
        {"area_id": row["area_id"], "name": row["name"], "rate": row["rate"], "z": score}
        for (_, row), score in zip(latest.iterrows(), scores, strict=True)
        if np.isfinite(score) and abs(score) > z_threshold
    ]
