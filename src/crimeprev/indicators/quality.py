"""Data-quality report of one incident source.

Missing is kept apart from zero: areas with boundaries but no incidents are
zeros; incidents without an area are missing area. Geocoding is judged
against the usual 85% minimum acceptable hit rate (Ratcliffe 2004).
"""

from __future__ import annotations

from dataclasses import dataclass

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
    try:
        table = area_rates(warehouse, source).frame
    except Exception:  # no areas or no population: nothing to report on areas
        table = None
    if table is not None:
        totals = table.groupby(["area_id", "name"], dropna=False, as_index=False)["count"].sum()
        empty_areas = totals.loc[totals["count"] == 0, "area_id"].astype(str).tolist()
        latest = table[table["year"] == table["year"].max()].dropna(subset=["rate"])
        z = robust_z(latest["rate"].to_numpy())
        for (_, row), score in zip(latest.iterrows(), z, strict=True):
            if np.isfinite(score) and abs(score) > z_threshold:
                outliers.append(
                    {
                        "area_id": row["area_id"],
                        "name": row["name"],
                        "rate": row["rate"],
                        "z": score,
                    }
                )
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
    )
