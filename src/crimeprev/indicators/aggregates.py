"""Aggregate sources (pre-counted data such as UN-CTS and WDI): country profiles and the
hierarchical-consistency check.

An aggregate source reports a value for several levels of the ICCS hierarchy
(theft and, inside it, theft of a motorised vehicle). A child can never
exceed its parent, and the children together can never exceed it either:
each cell (area, year, sex, age, unit) where they do is a finding. The
parent of a reported code is its nearest ICCS ancestor that the source
also reports for the same cell, so a source that skips a level is still
checked. Rates are checked like counts (one population divides both).

A cell's period is its SDMX time period (``2019``, or ``2019-Q1``, ``2019-01``
for a source read from sub-annual SDMX), so months are never summed into a year.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from crimeprev.errors import NotFoundError
from crimeprev.standards import iccs
from crimeprev.store.warehouse import Warehouse

CELL = ["area_id", "year", "period", "sex", "age", "unit"]
#: SDMX codes (a source read back from SDMX) and the labels used for every other source.
_SEX_LABELS = {"_T": "Total", "M": "Male", "F": "Female", "_U": "Unknown"}
_UNIT_LABELS = {"NUMBER": "Counts", "PER_100000": "Rate per 100,000 population"}


def with_labels(frame: pd.DataFrame) -> pd.DataFrame:
    """Sex, age and unit as labels (``Total``, ``Counts``) where a source gives SDMX codes.

    Examples
    --------
    >>> with_labels(pd.DataFrame({"sex": ["_T", "Male"], "age": ["_T", "Y15T29"],
    ...     "unit": ["PER_100000", "Counts"]})).values.tolist()
    [['Total', 'Total', 'Rate per 100,000 population'], ['Male', 'Y15T29', 'Counts']]
    """
    out = frame.copy()
    if "sex" in out:
        out["sex"] = out["sex"].replace(_SEX_LABELS)
    if "age" in out:
        out["age"] = out["age"].replace({"_T": "Total"})
    if "unit" in out:
        out["unit"] = out["unit"].replace(_UNIT_LABELS)
    return out


def aggregate_rows(
    warehouse: Warehouse, source: str, *, area_id: str | None = None
) -> pd.DataFrame:
    """The source's rows mapped to ICCS (one per cell and code), optionally for one area.

    Raises
    ------
    NotFoundError
        If the source (or the area in it) has no aggregate rows.
    """
    table = warehouse.table("aggregate")
    rows = table.filter(table.source == source)
    if area_id:
        rows = rows.filter(rows.area_id == area_id)
    frame = warehouse.to_arrow(
        rows.select(
            "area_id", "area_name", "year", "iccs_code", "offence_code", "offence_label",
            "sex", "age", "unit", "value", "source_row", "period", "freq",
        )
    ).to_pandas()  # fmt: skip
    if frame.empty:
        where = f" for area {area_id!r}" if area_id else ""
        raise NotFoundError(f"no aggregate rows for source {source!r}{where}")
    return with_labels(with_periods(frame))


def with_periods(frame: pd.DataFrame) -> pd.DataFrame:
    """The frame with ``period`` and ``freq`` filled: rows stored before they existed are years.

    Examples
    --------
    >>> with_periods(pd.DataFrame({"year": [2019, 2020], "period": [None, "2020-Q1"],
    ...     "freq": [None, "Q"]}))[["period", "freq"]].values.tolist()
    [['2019', 'A'], ['2020-Q1', 'Q']]
    """
    out = frame.copy()
    years = out["year"].astype("Int64").astype(str)
    out["period"] = (
        out["period"].astype(object).where(out["period"].notna(), years)
        if ("period" in out)
        else years
    )
    out["freq"] = (
        out["freq"].astype(object).where(out["freq"].notna(), "A") if ("freq" in out) else "A"
    )
    return out


@dataclass(frozen=True)
class HierarchyFinding:
    """A cell where reported children exceed their reported parent."""

    area_id: str
    area_name: str
    year: int
    sex: str
    age: str
    unit: str
    parent_code: str
    parent_value: float
    children: dict[str, float]
    children_total: float
    source_row: int
    period: str = ""

    @property
    def excess(self) -> float:
        """How much the children exceed the parent."""
        return self.children_total - self.parent_value


def _nearest_reported_ancestor(code: str, reported: set[str]) -> str | None:
    for ancestor in reversed(iccs.ancestors(code)):
        if ancestor.code in reported:
            return ancestor.code
    return None


def hierarchy_findings(frame: pd.DataFrame, *, tolerance: float = 1e-9) -> list[HierarchyFinding]:
    """Every cell where one child, or the children together, exceed the parent.

    `frame` has the :data:`CELL` columns, ``iccs_code``, ``value`` and
    optionally ``area_name`` and ``source_row`` (of the parent row). Values
    within `tolerance` (relative) of the parent pass: published rates are
    rounded.

    Examples
    --------
    >>> cells = pd.DataFrame({"area_id": "X", "year": 2019, "sex": "Total", "age": "Total",
    ...     "unit": "Counts", "iccs_code": ["0502", "050211"], "value": [10.0, 12.0]})
    >>> finding = hierarchy_findings(cells)[0]
    >>> finding.parent_code, finding.children, finding.excess
    ('0502', {'050211': 12.0}, 2.0)
    """
    mapped = with_periods(frame.dropna(subset=["iccs_code", "value"]))
    mapped = mapped.drop_duplicates([*CELL, "iccs_code"])
    codes = sorted(set(mapped["iccs_code"]))
    reported = set(codes)
    parent_of = {
        code: _nearest_reported_ancestor(code, reported) for code in codes if iccs.is_valid(code)
    }
    pairs = mapped.assign(parent=mapped["iccs_code"].map(parent_of)).dropna(subset=["parent"])
    parents = mapped.rename(
        columns={"iccs_code": "parent", "value": "parent_value", "source_row": "parent_row"}
    )
    keep = [*CELL, "parent", "parent_value"] + (["parent_row"] if "parent_row" in parents else [])
    joined = pairs.merge(parents[keep], on=[*CELL, "parent"], how="inner")
    # Sum the children of every cell at once; only the violating cells are visited.
    keys = [*CELL, "parent"]
    totals = joined.groupby(keys)["value"].transform("sum")
    over = totals > joined["parent_value"] * (1 + tolerance) + tolerance
    findings = []
    for key, group in joined[over].groupby(keys, sort=True):
        parent_value = float(group["parent_value"].iloc[0])
        total = float(group["value"].sum())
        area_id, year, period, sex, age, unit, parent = key
        findings.append(
            HierarchyFinding(
                area_id=str(area_id),
                area_name=str(group["area_name"].iloc[0]) if "area_name" in group else "",
                year=int(str(year)),
                sex=str(sex),
                age=str(age),
                unit=str(unit),
                parent_code=str(parent),
                parent_value=parent_value,
                children=dict(
                    zip(group["iccs_code"].astype(str), group["value"].astype(float), strict=True)
                ),
                children_total=total,
                source_row=int(group["parent_row"].iloc[0]) if "parent_row" in group else 0,
                period=str(period),
            )
        )
    return findings


def hierarchy_check(warehouse: Warehouse, source: str) -> list[HierarchyFinding]:
    """:func:`hierarchy_findings` over every cell of an aggregate source."""
    return hierarchy_findings(aggregate_rows(warehouse, source))


@dataclass(frozen=True)
class AreaSummary:
    """One area (country) of an aggregate source."""

    area_id: str
    area_name: str
    first_year: int
    last_year: int
    codes: int
    rows: int


def aggregate_areas(warehouse: Warehouse, source: str) -> list[AreaSummary]:
    """The areas of an aggregate source with their years and number of ICCS codes."""
    table = warehouse.table("aggregate")
    rows = table.filter(table.source == source)
    grouped = rows.group_by("area_id").aggregate(
        area_name=rows.area_name.max(),
        first_year=rows.year.min(),
        last_year=rows.year.max(),
        codes=rows.iccs_code.nunique(),
        rows=rows.count(),
    )
    frame = warehouse.to_arrow(grouped.order_by("area_id")).to_pandas()
    return [
        AreaSummary(
            str(r.area_id), str(r.area_name), int(r.first_year), int(r.last_year), int(r.codes),
            int(r.rows),
        )
        for r in frame.itertuples(index=False)
    ]  # fmt: skip


@dataclass(frozen=True)
class AreaProfile:
    """An area's published values by ICCS code and year, and its quality findings."""

    source: str
    area_id: str
    area_name: str
    years: list[int]
    units: list[str]
    table: list[dict[str, Any]]  # one row per unit x ICCS code: values by period
    unmapped: list[dict[str, Any]]  # rows of codes the concordance does not map
    findings: list[HierarchyFinding]
    #: SDMX time periods of the values (the years as text for an annual source).
    periods: list[str] = field(default_factory=list)


def area_profile(
    warehouse: Warehouse, source: str, area_id: str, *, sex: str = "Total", age: str = "Total"
) -> AreaProfile:
    """The profile of one area (e.g. a country) of an aggregate source.

    Raises
    ------
    NotFoundError
        If the source has no rows for the area.
    """
    frame = aggregate_rows(warehouse, source, area_id=area_id)
    findings = hierarchy_findings(frame)
    chosen = frame[(frame["sex"] == sex) & (frame["age"] == age)]
    years = sorted(int(y) for y in chosen["year"].unique())
    periods = sorted(str(p) for p in chosen["period"].unique())
    units = sorted(str(u) for u in chosen["unit"].dropna().unique())
    mapped = chosen.dropna(subset=["iccs_code"]).drop_duplicates(["unit", "iccs_code", "period"])
    table = []
    for (unit, key), group in mapped.groupby(["unit", "iccs_code"], sort=True):
        code = str(key)
        values = dict(zip(group["period"].astype(str), group["value"].astype(float), strict=True))
        table.append(
            {
                "unit": unit,
                "iccs_code": code,
                "label": iccs.get(code).label if iccs.is_valid(code) else "",
                "level": iccs.level_of(code) if iccs.is_valid(code) else None,
                "values": {period: values.get(period) for period in periods},
            }
        )
    unmapped = [
        {str(k): v for k, v in row.items()}
        for row in chosen[chosen["iccs_code"].isna()]
        .groupby(["unit", "offence_label"], as_index=False)
        .agg(rows=("value", "size"), first_year=("year", "min"), last_year=("year", "max"))
        .to_dict(orient="records")
    ]
    return AreaProfile(
        source=source,
        area_id=area_id,
        area_name=str(frame["area_name"].dropna().iloc[0])
        if frame["area_name"].notna().any()
        else "",
        years=years,
        units=units,
        table=table,
        unmapped=unmapped,
        findings=findings,
        periods=periods,
    )


@dataclass(frozen=True)
class AggregateQuality:
    """Quality of an aggregate source: ICCS mapping, coverage and hierarchical consistency."""

    source: str
    rows: int
    rows_mapped: int
    areas: int
    first_year: int
    last_year: int
    findings: list[HierarchyFinding]

    @property
    def mapped_share(self) -> float:
        """Share of rows whose offence the concordance maps to ICCS."""
        return self.rows_mapped / self.rows if self.rows else float("nan")


def aggregate_quality(warehouse: Warehouse, source: str) -> AggregateQuality:
    """The quality report of an aggregate source (one finding per inconsistent cell)."""
    frame = aggregate_rows(warehouse, source)
    return AggregateQuality(
        source=source,
        rows=len(frame),
        rows_mapped=int(frame["iccs_code"].notna().sum()),
        areas=int(frame["area_id"].nunique()),
        first_year=int(frame["year"].min()),
        last_year=int(frame["year"].max()),
        findings=hierarchy_findings(frame),
    )


def finding_json(finding: HierarchyFinding) -> dict[str, Any]:
    """A finding as JSON-ready data, with its excess and a sentence saying what is wrong."""
    children = " + ".join(f"{code} {value:,.6g}" for code, value in finding.children.items())
    return {
        "area_id": finding.area_id,
        "area_name": finding.area_name,
        "year": finding.year,
        "sex": finding.sex,
        "age": finding.age,
        "unit": finding.unit,
        "parent_code": finding.parent_code,
        "parent_value": finding.parent_value,
        "children": finding.children,
        "children_total": finding.children_total,
        "excess": finding.excess,
        "source_row": finding.source_row,
        "period": finding.period or str(finding.year),
        "message": (
            f"{finding.area_name or finding.area_id} {finding.period or finding.year} "
            f"({finding.unit}, sex "
            f"{finding.sex}): children {children} = {finding.children_total:,.6g} exceed "
            f"{finding.parent_code} = {finding.parent_value:,.6g}"
        ),
    }
