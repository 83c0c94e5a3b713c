"""Progress indicators: the country series behind a paragraph's indicators.

A tracker indicator names a paragraph and a series (an SDG indicator id such
as ``16.1.1``). The values come from the data that ship with crimeprev:

* ``16.1.1`` (victims of intentional homicide per 100,000 population): the
  UNODC homicide rates published in the World Bank's World Development
  Indicators (``VC.IHR.PSRC.P5``), bundled in
  ``data/real/world_homicide_wdi`` with its provenance.

A series without bundled data raises :class:`NotFoundError`, so a page can say
so rather than show an empty chart.

Where the warehouse holds data (``crimeprev stats load-bundled``, or a
ministry's own imports), :func:`warehouse_series` reads a country's series
from it instead: SDG 16.1.1 from every aggregate source that publishes the
homicide rate, and the other published series of that country (UN-CTS
offences by ICCS code, for example), each as published.

Examples
--------
>>> found = country_series("16.1.1", "KEN")
>>> found.unit, found.points[-1][0] >= 2020
('per 100,000 population', True)
>>> round(dict(found.points)[2020], 2)
3.56
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import TYPE_CHECKING

from crimeprev.errors import NotFoundError
from crimeprev.tracker.member_states import member_state

if TYPE_CHECKING:
    from crimeprev.store.warehouse import Warehouse

__all__ = ["IndicatorSeries", "available_series", "country_series", "warehouse_series"]

#: The ICCS codes behind SDG 16.1.1 (intentional homicide), as the SDG
#: metadata lists them (crimeprev.standards.sdg).
_HOMICIDE_SERIES = "16.1.1"


@dataclass(frozen=True)
class IndicatorSeries:
    """One country's values of a series.

    Attributes
    ----------
    series : str
        The series id (``"16.1.1"``).
    iso3 : str
    label, unit, source : str
    points : tuple of (int, float)
        (year, value) pairs in year order.
    """

    series: str
    iso3: str
    label: str
    unit: str
    source: str
    points: tuple[tuple[int, float], ...]

    @property
    def latest(self) -> tuple[int, float] | None:
        """The most recent (year, value), if any."""
        return self.points[-1] if self.points else None

    @property
    def change(self) -> float | None:
        """Latest value minus the first one (None with fewer than two points)."""
        if len(self.points) < 2:
            return None
        return self.points[-1][1] - self.points[0][1]


_SOURCES = {
    "16.1.1": (
        "world_homicide_wdi",
        "homicide_rate_per_100k.parquet",
        "Victims of intentional homicide",
        "per 100,000 population",
        "UNODC homicide statistics via World Bank WDI (VC.IHR.PSRC.P5), CC BY 4.0",
    )
}


def available_series() -> list[str]:
    """Return the series with bundled data.

    Examples
    --------
    >>> available_series()
    ['16.1.1']
    """
    return sorted(_SOURCES)


@cache
def _table(series: str) -> dict[str, tuple[tuple[int, float], ...]]:
    import pyarrow.parquet as pq

    folder, filename, *_ = _SOURCES[series]
    path = resources.files("crimeprev").joinpath("data", "real", folder, filename)
    with resources.as_file(path) as local:
        table = pq.read_table(local, columns=["iso3", "year", "rate_per_100k"]).to_pydict()
    grouped: dict[str, list[tuple[int, float]]] = {}
    for iso3, year, value in zip(table["iso3"], table["year"], table["rate_per_100k"], strict=True):
        if value is not None:
            grouped.setdefault(iso3, []).append((int(year), float(value)))
    return {iso3: tuple(sorted(points)) for iso3, points in grouped.items()}


def country_series(series: str, state: str) -> IndicatorSeries:
    """Return one Member State's values of a series.

    Parameters
    ----------
    series : str
        A series with bundled data (see :func:`available_series`).
    state : str
        ISO3 code or name.

    Returns
    -------
    IndicatorSeries
        Possibly with no points when the State has no data.

    Raises
    ------
    NotFoundError
        If the series has no bundled data.
    UnknownCodeError
        If `state` is not a Member State.
    """
    if series not in _SOURCES:
        raise NotFoundError(
            f"no bundled data for series {series!r}; available: {', '.join(available_series())}",
            received=series,
        )
    iso3 = member_state(state).iso3
    _, _, label, unit, source = _SOURCES[series]
    return IndicatorSeries(
        series=series,
        iso3=iso3,
        label=label,
        unit=unit,
        source=source,
        points=_table(series).get(iso3, ()),
    )


def _source_title(source: str) -> str:
    from crimeprev.errors import CrimeprevError
    from crimeprev.store.profiles import load_profile

    try:
        profile = load_profile(source)
    except (CrimeprevError, OSError):
        return source
    return f"{profile.title} ({profile.publisher}; {profile.licence})"


def warehouse_series(
    warehouse: Warehouse, state: str, *, limit: int = 20
) -> tuple[IndicatorSeries, ...]:
    """Return a Member State's series from the warehouse's aggregate sources.

    Each (source, ICCS code) gives one series of the country's published totals
    (both sexes, all ages): the rate per 100,000 where the source publishes one,
    else the count. Series of the SDG 16.1.1 codes published as rates are named
    ``16.1.1`` and come first; the others are named ``ICCS <code>``, in code
    order. Values are as published; the warehouse's import checks apply.

    Parameters
    ----------
    warehouse : Warehouse
    state : str
        ISO3 code or name.
    limit : int, default=20
        At most this many series.

    Returns
    -------
    tuple of IndicatorSeries
        Empty when the warehouse holds nothing for the country.
    """
    from crimeprev.standards import iccs, sdg

    iso3 = member_state(state).iso3
    homicide = set(sdg.indicator(_HOMICIDE_SERIES).iccs_codes)
    table = warehouse.table("aggregate")
    rows = table.filter(
        (table.area_set == "iso3")
        & (table.area_id == iso3)
        & (table.sex == "Total")
        & (table.age == "Total")
        & table.iccs_code.notnull()
        & table.value.notnull()
    ).select("source", "iccs_code", "unit", "year", "value")
    frame = warehouse.to_arrow(rows).to_pandas()
    if frame.empty:
        return ()
    frame["unit"] = frame["unit"].fillna("")
    frame["is_rate"] = frame["unit"].str.startswith("Rate")
    found: list[tuple[tuple[int, str, str], IndicatorSeries]] = []
    for (source, code), group in frame.groupby(["source", "iccs_code"], sort=True):
        chosen = group[group["is_rate"]] if group["is_rate"].any() else group
        unit = str(chosen["unit"].iloc[0])
        chosen = chosen[chosen["unit"] == unit].drop_duplicates("year").sort_values("year")
        is_homicide = str(code) in homicide and bool(chosen["is_rate"].iloc[0])
        label = iccs.get(str(code)).label if iccs.is_valid(str(code)) else str(code)
        series = IndicatorSeries(
            series=_HOMICIDE_SERIES if is_homicide else f"ICCS {code}",
            iso3=iso3,
            label="Victims of intentional homicide" if is_homicide else label,
            unit="per 100,000 population" if unit.startswith("Rate") else unit.lower(),
            source=_source_title(str(source)),
            points=tuple(
                (int(year), float(value))
                for year, value in zip(chosen["year"], chosen["value"], strict=True)
            ),
        )
        found.append(((0 if is_homicide else 1, str(code), str(source)), series))
    return tuple(series for _, series in sorted(found, key=lambda item: item[0])[:limit])
