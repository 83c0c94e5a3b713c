"""Incidents from the warehouse as spatial events, so that the spatial commands can
analyse a loaded source (``crimeprev stats load-bundled``, ``stats import``, the
demo build) by name as well as a file.

Why a reader of its own: the analyses need only coordinates and times, as
arrays; the warehouse holds many more columns and rows of other sources. One
filtered query (source, optional offence, optional dates) returns just those
columns, and rows without coordinates are counted and left out, as
:func:`crimeprev.spatial.files.read_events` does for files.
"""

from __future__ import annotations

import ibis
import numpy as np

from crimeprev.errors import InvalidInputError, NotFoundError
from crimeprev.spatial.files import Events
from crimeprev.store.warehouse import Warehouse


def _known_sources(warehouse: Warehouse) -> list[str]:
    """Sources with incidents in the warehouse."""
    incident = warehouse.table("incident")
    names = warehouse.to_arrow(incident.select("source").distinct()).column(0).to_pylist()
    return sorted(str(name) for name in names if name is not None)


def read_source_events(
    warehouse: Warehouse,
    source: str,
    *,
    offence: str | None = None,
    start: str | None = None,
    end: str | None = None,
) -> Events:
    """Read one warehouse source's incidents as lon/lat events with times.

    Parameters
    ----------
    warehouse : Warehouse
        An open warehouse.
    source : str
        Source name, as listed by ``crimeprev stats sources``.
    offence : str, optional
        Only these offences: an ICCS code prefix (digits, e.g. ``0501`` for
        burglary) or text found in the offence label (case-insensitive).
    start, end : str, optional
        Only incidents on or after ``start`` and before ``end`` (ISO dates).

    Returns
    -------
    Events
        Longitude/latitude (``geographic=True``), ``datetime64[s]`` times, the
        number of rows read and of rows left out for missing coordinates or
        times.

    Raises
    ------
    NotFoundError
        If the source has no incidents in the warehouse (the known sources are named).
    InvalidInputError
        If a date cannot be read, or nothing is left after the filters.
    """
    known = _known_sources(warehouse)
    if source not in known:
        raise NotFoundError(
            f"the warehouse has no incidents of source {source!r}; sources with incidents: "
            f"{', '.join(known) or 'none (load some with crimeprev stats load-bundled)'}"
        )
    incident = warehouse.table("incident")
    rows = incident.filter(incident.source == source)
    described = f"warehouse source {source}"
    if offence:
        if offence.isdigit():
            rows = rows.filter(rows.iccs_code.startswith(offence))
        else:
            rows = rows.filter(rows.offence_label.lower().contains(offence.lower()))
        described += f", offence {offence!r}"
    for bound, name, keep in ((start, "start", True), (end, "end", False)):
        if bound is None:
            continue
        try:
            moment = np.datetime64(bound, "s")
        except ValueError as error:
            raise InvalidInputError(
                f"{name} must be a date such as 2019-01-01, got {bound!r}", field=name
            ) from error
        limit = ibis.literal(str(moment)).cast("timestamp")
        rows = rows.filter(rows.occurred_at >= limit if keep else rows.occurred_at < limit)
        described += f", {name} {bound}"
    frame = warehouse.to_arrow(rows.select("lon", "lat", "occurred_at")).to_pandas()
    if frame.empty:
        raise InvalidInputError(f"no incidents in {described}")
    usable = frame["lon"].notna() & frame["lat"].notna() & frame["occurred_at"].notna()
    kept = frame[usable]
    if kept.empty:
        raise InvalidInputError(f"no incidents with coordinates and a time in {described}")
    return Events(
        x=kept["lon"].to_numpy(dtype=float),
        y=kept["lat"].to_numpy(dtype=float),
        times=kept["occurred_at"].to_numpy().astype("datetime64[s]"),
        geographic=True,
        source=described,
        rows=len(kept),
        dropped=int((~usable).sum()),
    )
