"""Tables outside a source's disclosure pattern, protected jointly with it.

The source's pattern (:mod:`crimeprev.indicators.source_protection`) covers
every table cut from code as coded x area x month. Tables by week or day,
between two dates, with tags (sex, age, ...) and the seasonal heat tables
(month x weekday, weekday x hour) are finer: protected on their own, a
reader holding the published monthly table could difference them against
it (a month's published total less its shown days gives a hidden day back)
and, the other way round, a finer table can narrow a count the pattern
hides. Here such a table is protected *together with the pattern*, as the
pattern stands: its published cells are known to the reader and its hidden
cells stay hidden; only the new table's cells are hidden to protect.

Design (why this one)
---------------------
* **Sub-cells.** The table is cut from *sub-cells*: code as coded x area x
  day (x tag values; x month x weekday x hour for the heat tables), over
  whole months of the source (the months the table touches), each inside
  exactly one *fine cell* of the pattern (code x area x month). Every cell
  of the pattern is then a sum of sub-cells, and so is every row of the new
  table: one system of linear equations over the sub-cells holds both. A
  date range that cuts a month keeps the month's other days as sub-cells
  in no row of the table, so they still add up to the pattern's month.
* **The reader** knows every published cell of the pattern and of the
  table, that counts are non-negative, that a listed hidden cell is not
  empty (tables list non-zero rows; with whole counts it is at least 1),
  and, as a worst case, which sub-cells are non-zero (as if the finest
  table by day had been published too). Only non-zero sub-cells are
  unknowns. A hidden small count (of the table *or* of the pattern) is
  protected when its feasible range is at least the protection width
  (default: the threshold).
* **Proofs, not audits.** As in :mod:`crimeprev.indicators._joint_audit`,
  protection is proven by alternative sub-cell tables that match every
  published cell: each primary cell's range covers its values over these
  tables (the true one included). An alternative changes only hidden cells,
  so hiding more later never invalidates it.
* **Cheap proofs first.** For tables whose rows split the sub-cells
  (days, weeks, date ranges, tags), a hidden small row can take units
  from other sub-cells *of the same pattern fine cell* in other hidden rows
  (or in no row): every pattern cell keeps its value, so nothing the
  pattern publishes changes. Where that holds the range is proven without
  a solver; complements are added here first (the smallest row of the
  same fine cells that closes the gap, else the largest).
* **Linear programmes for the rest**, with HiGHS through
  :func:`scipy.optimize.linprog`: for a batch of cells still unproven, the
  cheapest change of the sub-cells that raises each by the width, keeps
  every published pattern cell *exactly* (a hard constraint: it is
  published elsewhere and cannot be hidden here), keeps hidden cells at
  their floor, and pays the value of each published row of the table it
  changes (those rows are then hidden). A batch that cannot be raised
  together is split in halves. Programmes look at the sub-cells of the
  cells' months first, then of the whole slice. The pattern's own small
  cells are proven again this way, since the new table may narrow them.
* **Refusal.** A cell no change can protect (for instance a published
  monthly total of 3 spread over 3 listed days: each day is pinned at 1)
  cannot be published at this grain, however much of the table is hidden,
  so :func:`protect_linked` reports it, and the faces refuse the table with
  a message naming the cell and what to ask for instead, never publishing
  it unprotected. So do slices too large to solve in a web request
  (:data:`MAX_SUB_CELLS`).

* **Tables published before.** Counts tables (days, weeks, date ranges,
  tags) are recorded in the source's release ledger
  (:mod:`crimeprev.indicators.release_ledger`), and a new one is protected
  jointly with the pattern *and every earlier release*: the sub-cells are
  the common finest grid of them all (code as coded x area x day x every
  tag any of them uses, over the months any of them touches; the limits
  :data:`MAX_SUB_CELLS` and :data:`MAX_PROGRAMMES` apply to the whole), an
  earlier release's shown rows are fixed like the pattern's published
  cells, its hidden rows stay hidden, and its small counts are proven
  again. The cheap proofs carry over: a unit moves between two sub-cells of
  one fine cell when, in every table, both lie in the same row or in hidden
  ones. A table that would narrow a small count of an earlier release is
  refused; the earlier release is never changed, and the same request
  asked again gets the recorded marks. First asked, first published: the
  order of requests decides which of two competing tables is shown. The
  proofs each table found are kept (in memory, with the ledger) and tried
  first by the next. Cost: a second selection is much dearer than the
  first, since the earlier table's shown rows block most of the pattern's
  proofs and programmes over the whole slice take their place (Vancouver's
  daily table at ICCS level 2 after the one at level 1 runs out of
  :data:`MAX_PROGRAMMES` and is refused as too costly for a request).
  No programme starts after :data:`MAX_SECONDS` either, so such a request
  is refused within about a minute and a half instead of after many minutes
  (818 s on a busy machine before the limit).

Not covered: the seasonal heat tables (month x weekday, weekday x hour over
all years) are linked to the pattern only, not recorded in the ledger nor
protected against the counts tables of days (their sub-cells carry hours
and the empty slots a reader cannot rule out, which the days' grid does
not); a reader holding both a daily table and the heat tables is protected
by the pattern's proofs of each, not of the two together.

References: Hundepool et al., *Statistical Disclosure Control* (Wiley,
2012), chapter 4 (linked tables, cell suppression by linear programming).
"""

from __future__ import annotations

import dataclasses
import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from scipy import sparse

from crimeprev.errors import InvalidInputError
from crimeprev.indicators._linked_joint import LinkedProtection, _Joint
from crimeprev.indicators.source_protection import (
    SourcePattern,
    area_key,
    code_key,
    period_key,
)

if TYPE_CHECKING:
    from crimeprev.indicators.counts import CountQuery
    from crimeprev.indicators.release_ledger import Release
    from crimeprev.store.warehouse import Warehouse

#: Slices with more non-zero sub-cells than this are refused (too large for a web request).
MAX_SUB_CELLS = 150_000
#: Linear programmes one table may take before it is refused.
MAX_PROGRAMMES = 400
#: Seconds one table may take before it is refused (no programme starts later):
#: a request gets an answer, a refusal at worst, instead of waiting for minutes.
MAX_SECONDS = 90.0


class DisclosureRefusedError(InvalidInputError):
    """A table cannot be published jointly protected with the source's pattern."""


def protect_linked(
    pattern: SourcePattern,
    fine: np.ndarray,
    values: np.ndarray,
    rows: sparse.spmatrix,
    *,
    fixed: np.ndarray | None = None,
    hidden: np.ndarray | None = None,
    layers: np.ndarray | None = None,
    open_slots: bool = False,
    protection: float | None = None,
    max_programmes: int = MAX_PROGRAMMES,
    max_seconds: float | None = MAX_SECONDS,
    cache_dir: Path | None = None,
    reuse: list[tuple[np.ndarray, np.ndarray]] | None = None,
) -> LinkedProtection:
    """Hide small rows of a table and complements, jointly with the source's `pattern`.

    Parameters
    ----------
    pattern : SourcePattern
        The source's pattern (:func:`crimeprev.indicators.source_protection.source_pattern`).
    fine : ndarray of int
        For each sub-cell, the index of the pattern's fine cell it lies in.
    values : ndarray
        The count of each sub-cell (non-zero).
    rows : sparse matrix
        Published rows x sub-cells, 1 where a row adds up a sub-cell.
    fixed : ndarray of bool, optional
        Rows known to the reader that cannot be hidden (totals published
        elsewhere); a small one is hidden all the same.
    hidden : ndarray of bool, optional
        Rows that must stay hidden (hidden in a table published before);
        their small counts are proven like the new table's.
    layers : ndarray of int, optional
        The table each row belongs to (0: the new one, then earlier
        releases), when several tables share the sub-cells; each table's
        rows should split the sub-cells for the cheap proofs.
    open_slots : bool, default False
        Whether a sub-cell's rows depend only on its month and slot (the
        seasonal tables), so that a fine cell may take counts in an empty
        slot of its month its reader cannot rule out.
    protection : float, optional
        The width each small count's range must reach (default: the threshold).
    max_programmes : int
        Give up (every unproven cell exposed) after this many programmes.
    max_seconds : float, optional
        Give up the same way once this many seconds have passed (None: no
        limit); how many cells get proven then depends on the machine, but
        an exposed cell is never published.
    cache_dir : Path, optional
        Where the pattern's proofs
        (:func:`crimeprev.indicators._linked_proofs.pattern_proofs`) are kept.
    reuse : list of (positions, change), optional
        Proofs an earlier table of the ledger found (``alternatives`` of its
        result, over these sub-cells), tried first where they still hold.

    Raises
    ------
    InvalidInputError
        If the sub-cells do not add up to the pattern's fine cells (the
        slice must hold whole months; the warehouse may have changed).

    Examples
    --------
    >>> from crimeprev.indicators.source_protection import protect_source
    >>> month = pd.DataFrame({"iccs_code": ["0501"], "area_id": ["A"],
    ...                       "period": ["2020-01-01"], "count": [12.0]})
    >>> pattern = protect_source(month, threshold=5)
    >>> days = sparse.identity(3, format="csr")  # 2 + 3 + 7 on three days
    >>> result = protect_linked(pattern, np.zeros(3, int), np.array([2.0, 3.0, 7.0]), days)
    >>> result.status, float(result.upper[0])
    (['primary', 'primary', 'secondary'], 7.0)
    """
    threshold = pattern.threshold
    width = float(threshold if protection is None else protection)
    engine = _Joint(
        pattern,
        np.asarray(fine),
        np.asarray(values, dtype=float),
        rows,
        fixed,
        open_slots,
        hidden=hidden,
        layers=layers,
    )
    engine.run(width, max_programmes, cache_dir, reuse, seconds=max_seconds)
    return engine.result()


# -- the faces: counts tables outside the pattern, and the seasonal heat tables --------------

_CACHE: OrderedDict[tuple[object, ...], tuple[SourcePattern, Any]] = OrderedDict()
_CACHE_SIZE = 32
_LOCK = threading.Lock()
_MISSING = "\x00"


def _cached(pattern: SourcePattern, key: tuple[object, ...], make: Callable[[], Any]) -> Any:
    """One result per pattern (which is itself per import log state) and request."""
    full = (id(pattern), *key)
    with _LOCK:
        hit = _CACHE.get(full)
        if hit is not None and hit[0] is pattern:
            _CACHE.move_to_end(full)
            return hit[1]
    value = make()
    with _LOCK:
        _CACHE[full] = (pattern, value)
        while len(_CACHE) > _CACHE_SIZE:
            _CACHE.popitem(last=False)
    return value


def _fine_cells(pattern: SourcePattern, codes: Any, areas: Any, starts: Any) -> np.ndarray:
    """The pattern's fine cell of each (code as coded, area, fine period start).

    Raises
    ------
    InvalidInputError
        If a sub-cell lies in no fine cell of the pattern (the warehouse changed).
    """
    system = pattern.system
    kind = pattern.period_kinds[0]
    fine_of_cell = {int(cell): index for index, cell in enumerate(system.finest)}
    out = np.empty(len(codes), dtype=np.int64)
    for position, (code, area, start) in enumerate(zip(codes, areas, starts, strict=True)):
        view = (code_key(code, None), area_key(area), period_key(kind, start))
        cell = system.views.get(view)
        if cell is None or int(cell) not in fine_of_cell:
            raise InvalidInputError(
                f"the disclosure pattern has no monthly count for {view!r}; the warehouse "
                "changed since the pattern was made (import again or restart)"
            )
        out[position] = fine_of_cell[int(cell)]
    return out


_TRUNCATE = {"month": "M", "quarter": "Q", "year": "Y"}


def _period_start(day: date, kind: str) -> date:
    return pd.Timestamp(day).to_period(_TRUNCATE[kind]).start_time.date()


def _precision_rank(warehouse: Warehouse, source: str) -> int:
    from crimeprev.indicators.counts import _PRECISION_RANK

    incident = warehouse.table("incident")
    first = warehouse.to_arrow(
        incident.filter(incident.source == source).select("occurred_precision").limit(1)
    ).column(0)
    values = [v for v in first.to_pylist() if v]
    return _PRECISION_RANK.get(values[0], 7) if values else 7


def _refuse(
    result: LinkedProtection, frame: pd.DataFrame, what: str, advice: str, *, published: int = 0
) -> None:
    if not result.exposed and not result.pattern_exposed:
        return
    example = ""
    if result.exposed:
        row = frame.iloc[result.exposed[0]].to_dict()
        example = " (e.g. " + ", ".join(f"{k}={v}" for k, v in row.items() if k != "records") + ")"
    elif result.pattern_exposed:
        example = " (a small count the source's published tables hide)"
    count = len(result.exposed) + len(result.pattern_exposed)
    if result.gave_up:
        raise DisclosureRefusedError(
            f"{what}: protecting its {count} remaining small count(s) jointly with the source's "
            f"published monthly tables takes more than the {MAX_PROGRAMMES} linear programmes "
            f"or {MAX_SECONDS:.0f} seconds a request may use; it is not published. {advice}"
        )
    others = f" and the {published} finer table(s) published before it" if published else ""
    raise DisclosureRefusedError(
        f"{what}: {count} small count(s){example} could be narrowed below the small-count "
        f"threshold by comparing this table with the source's published monthly tables{others}, "
        f"however many of its cells were hidden; it is not published. {advice}"
    )


def linked_counts_status(
    warehouse: object,
    query: CountQuery,
    frame: pd.DataFrame,
    pattern: SourcePattern,
    *,
    value: str = "count",
    cache_dir: Path | None = None,
) -> pd.Series:
    """The status of each row of a counts table outside the pattern, linked to `pattern`.

    For tables by week or day, between dates or with tags
    (``count_incidents(warehouse, query)`` = `frame`): the sub-cells are the
    counts by code as coded x area x day (or the pattern's fine period when
    no table needs a finer one) x the tags of this table and of the tables
    published before, over the whole months they touch; each row of `frame`
    and of every earlier release is a sum of them. The table is protected
    jointly with the pattern and the source's release ledger
    (:mod:`crimeprev.indicators.release_ledger`) and recorded there; the
    same request asked again gets the recorded marks.

    Raises
    ------
    DisclosureRefusedError
        If the slice is too large to protect during a request, or a small
        count (of this table, of a table published before or of the
        pattern) cannot be protected at this grain.
    InvalidInputError
        If the table or the warehouse no longer matches the pattern.
    """
    from crimeprev.indicators.release_ledger import open_ledger, request_key
    from crimeprev.store.warehouse import Warehouse

    assert isinstance(warehouse, Warehouse)
    if frame.empty:
        return pd.Series([], index=frame.index, dtype=object)
    request, fields = request_key(query, value)
    with open_ledger(pattern, query.source, cache_dir) as ledger:
        release = ledger.find(request)
        if release is None:
            made, found = _linked_counts(
                warehouse, query, frame, pattern, value, ledger.releases, cache_dir,
                ledger.proofs,
            )  # fmt: skip
            release = dataclasses.replace(made, request=request, query=fields)
            ledger.record(release)
            ledger.keep_proofs(found)
        status = release.status_for(frame, value)
    return pd.Series(status, index=frame.index, dtype=object)


def _slice_of(warehouse: Warehouse, query: CountQuery, kind: str) -> tuple[str, Any, Any]:
    """The sub-cells' period and the whole months a table of `query` touches."""
    fine_day = _precision_rank(warehouse, query.source) >= 4
    cuts = any(d is not None and _period_start(d, kind) != d for d in (query.start, query.end))
    grain = "day" if fine_day and (query.period in ("week", "day") or cuts) else kind
    low = _period_start(query.start, kind) if query.start else None
    high = None
    if query.end is not None:
        last = _period_start(query.end - timedelta(days=1), kind)
        high = (pd.Timestamp(last).to_period(_TRUNCATE[kind]) + 1).start_time.date()
    return grain, low, high


def _table_keys(query: Any, sub: pd.DataFrame) -> tuple[pd.DataFrame, np.ndarray]:
    """Each sub-cell's row key in a table of `query`, and whether the table counts it.

    The roll-up rule of :func:`crimeprev.indicators.counts.count_expression`.
    """
    from crimeprev.standards.iccs import LEVELS

    days = pd.to_datetime(sub["period"])
    codes = sub["iccs_code"].astype(object)
    if query.level is not None:
        width = LEVELS[query.level]
        codes = codes.map(lambda c: c if pd.isna(c) or len(c) < width else c[:width])
    inside = np.ones(len(sub), dtype=bool)
    if query.iccs_code:
        prefix = str(query.iccs_code)
        inside &= sub["iccs_code"].map(lambda c: isinstance(c, str) and c.startswith(prefix))
    if query.start is not None:
        inside &= (days >= pd.Timestamp(query.start)).to_numpy()
    if query.end is not None:
        inside &= (days < pd.Timestamp(query.end)).to_numpy()
    keys: dict[str, Any] = {"iccs_code": codes}
    if query.period is not None:
        if query.period == "week":
            keys["period"] = days - pd.to_timedelta(days.dt.day_of_week, unit="D")
        elif query.period == "day":
            keys["period"] = days
        else:
            keys["period"] = days.dt.to_period(_TRUNCATE[query.period]).dt.start_time
    if query.by_area:
        keys["area_id"] = sub["area_id"]
    for tag in query.tags:
        keys[tag] = sub[tag]
    return pd.DataFrame(keys), inside


def _rows_over(
    query: Any,
    sub: pd.DataFrame,
    names: list[str],
    keys: list[list[str | None]],
    values: np.ndarray,
    what: str,
) -> sparse.csr_matrix:
    """A table's rows (row keys `keys` over columns `names`) as sums of the sub-cells `sub`.

    Raises
    ------
    InvalidInputError
        If a counted sub-cell has no row or the rows do not add up to `values`.
    """
    from crimeprev.indicators.release_ledger import row_keys

    sub_keys, inside = _table_keys(query, sub)
    index = {tuple(key): position for position, key in enumerate(keys)}
    row_of = np.array([index.get(tuple(key), -1) for key in row_keys(sub_keys, names)])
    row_of[~inside] = -1
    if (row_of[inside] < 0).any():
        raise InvalidInputError(
            f"{what} lacks a row the warehouse counts; it changed since (ask again)"
        )
    used = np.flatnonzero(row_of >= 0)
    rows = sparse.csr_matrix(
        (np.ones(len(used)), (row_of[used], used)), shape=(len(keys), len(sub))
    )
    if not np.allclose(rows @ sub["count"].to_numpy(dtype=float), values, atol=1e-6):
        raise InvalidInputError(
            f"{what} does not add up to the counts by day it is cut from; "
            "the warehouse changed since (ask again)"
        )
    return rows


def _linked_counts(
    warehouse: Warehouse,
    query: CountQuery,
    frame: pd.DataFrame,
    pattern: SourcePattern,
    value: str,
    earlier: list[Release],
    cache_dir: Path | None = None,
    proofs: Sequence[dict[tuple[str | None, ...], float]] = (),
) -> tuple[Release, list[dict[tuple[str | None, ...], float]]]:
    from crimeprev.indicators.counts import CountQuery, count_incidents
    from crimeprev.indicators.release_ledger import Release, row_keys

    kind = pattern.period_kinds[0]
    grain, low, high = _slice_of(warehouse, query, kind)
    # The common finest grid of this table and every earlier release.
    grains = {grain, *(r.grain for r in earlier)}
    union_grain = "day" if "day" in grains else kind
    tags = list(query.tags)
    for release in earlier:
        tags += [t for t in release.query["tags"] if t not in tags]
    lows = [low, *(date.fromisoformat(r.low) if r.low else None for r in earlier)]
    highs = [high, *(date.fromisoformat(r.high) if r.high else None for r in earlier)]
    union_low = None if None in lows else min(d for d in lows if d is not None)
    union_high = None if None in highs else max(d for d in highs if d is not None)
    sub = count_incidents(
        warehouse,
        CountQuery(
            source=query.source, level=None, period=union_grain, by_area=True,
            tags=tuple(tags), start=union_low, end=union_high,
        ),
    )  # fmt: skip
    sub = sub[sub["count"].fillna(0) > 0].reset_index(drop=True)
    if len(sub) > MAX_SUB_CELLS:
        before = f" and the {len(earlier)} finer table(s) published before it" if earlier else ""
        raise DisclosureRefusedError(
            f"this table{before} are cut from {len(sub):,} counts by ICCS code x area x "
            f"{union_grain}{' x ' + ', '.join(tags) if tags else ''}, more than the "
            f"{MAX_SUB_CELLS:,} that can be protected jointly with the source's published "
            "monthly tables during a request; it is not published. Ask for a shorter date range "
            "or a coarser period (month, quarter or year)"
            + (", or for a table already published." if earlier else ".")
        )
    days = pd.to_datetime(sub["period"])
    starts = days.dt.to_period(_TRUNCATE[kind]).dt.start_time
    fine = _fine_cells(pattern, sub["iccs_code"], sub["area_id"], starts)
    names, _ = _table_keys(query, sub.head(0))
    name_list = list(names.columns)
    keys = row_keys(frame, name_list)
    counts = frame[value].fillna(0).to_numpy(dtype=float)
    blocks = [_rows_over(query, sub, name_list, keys, counts, "the counts table")]
    fixed = [np.zeros(len(frame), bool)]
    hidden = [np.zeros(len(frame), bool)]
    layers = [np.zeros(len(frame), np.int64)]
    for number, release in enumerate(earlier, start=1):
        earlier_query = SimpleNamespace(**{**release.query, "tags": tuple(release.query["tags"])})
        for bound in ("start", "end"):
            text = release.query[bound]
            setattr(earlier_query, bound, date.fromisoformat(text) if text else None)
        blocks.append(
            _rows_over(
                earlier_query, sub, release.names, release.keys, np.asarray(release.values),
                f"the table published before as {release.describe()}",
            )
        )  # fmt: skip
        shown = np.array([mark == "" for mark in release.status], dtype=bool)
        fixed.append(shown)
        hidden.append(~shown)
        layers.append(np.full(len(release.values), number, np.int64))
    # Proofs the earlier tables found (kept in memory with the ledger), over these sub-cells.
    grid = ["iccs_code", "area_id", "period", *tags]
    sub_index = {tuple(key): i for i, key in enumerate(row_keys(sub, grid))}
    reuse = []
    for proof in proofs:
        positions = [sub_index.get(key, -1) for key in proof]
        if min(positions, default=-1) >= 0:
            reuse.append((np.array(positions), np.array(list(proof.values()))))
    result = protect_linked(
        pattern,
        fine,
        sub["count"].to_numpy(dtype=float),
        sparse.vstack(blocks, format="csr"),
        fixed=np.concatenate(fixed),
        hidden=np.concatenate(hidden),
        layers=np.concatenate(layers),
        cache_dir=cache_dir,
        reuse=reuse,
    )
    keys_of_sub = list(sub_index)
    found = [
        {keys_of_sub[int(i)]: float(v) for i, v in zip(positions, steps, strict=True)}
        for positions, steps in result.alternatives
    ]
    what = f"the table of {query.source} by {query.period or 'all periods'}" + (
        f" and {', '.join(query.tags)}" if query.tags else ""
    )
    advice = (
        "Ask for a coarser table: by month, quarter or year, without areas, or at a higher "
        "ICCS level."
    )
    _refuse_ledger(result, frame, earlier, what, advice)
    status = result.status[: len(frame)]
    # An earlier release is never changed: its shown rows were fixed, its hidden rows kept.
    offset = len(frame)
    for release in earlier:
        now = result.status[offset : offset + len(release.status)]
        if any((a == "") != (b == "") for a, b in zip(now, release.status, strict=True)):
            raise DisclosureRefusedError(
                f"{what}: protecting it would change the marks of the table published before "
                f"as {release.describe()}; it is not published. {advice}"
            )
        offset += len(release.status)
    release = Release(
        request="", query={}, grain=grain,
        low=low.isoformat() if low else None, high=high.isoformat() if high else None,
        names=name_list, keys=keys, values=counts.tolist(), status=list(status),
    )  # fmt: skip
    return release, found


def _refuse_ledger(
    result: LinkedProtection,
    frame: pd.DataFrame,
    earlier: list[Release],
    what: str,
    advice: str,
) -> None:
    """Refuse a table whose protection leaves a small count of an earlier release exposed."""
    own = [row for row in result.exposed if row < len(frame)]
    others = [row for row in result.exposed if row >= len(frame)]
    if own or result.pattern_exposed or not others:
        _refuse(
            dataclasses.replace(result, exposed=own), frame, what, advice, published=len(earlier)
        )
        return
    if result.gave_up:
        _refuse(
            dataclasses.replace(result, exposed=[], pattern_exposed=others),
            frame, what, advice, published=len(earlier),
        )  # fmt: skip
    offset, position = len(frame), others[0]
    for release in earlier:
        if position < offset + len(release.status):
            break
        offset += len(release.status)
    key = release.keys[position - offset]
    row = ", ".join(f"{n}={k}" for n, k in zip(release.names, key, strict=True))
    raise DisclosureRefusedError(
        f"{what}: read with the table published before as {release.describe()}, it would "
        f"narrow {len(others)} small count(s) of that table (e.g. {row}) below the small-count "
        f"threshold, however many of its own cells were hidden; it is not published (tables "
        f"already published are never changed). Ask for the table published before, or "
        f"{advice[0].lower()}{advice[1:]}"
    )


def _key(row: tuple[Any, ...]) -> tuple[Any, ...]:
    """A hashable key of a table row: nulls alike, dates as timestamps."""
    out: list[Any] = []
    for v in row:
        if v is None or (not isinstance(v, str) and pd.isna(v)):
            out.append(_MISSING)
        elif isinstance(v, (date, pd.Timestamp)):
            out.append(pd.Timestamp(v))
        else:
            out.append(v)
    return tuple(out)


@dataclass(frozen=True)
class SeasonalStatus:
    """The marks of the seasonal heat tables, linked to the source's pattern."""

    by_month: list[str]
    month_weekday: list[list[str]] | None
    weekday_hour: list[list[str]] | None
    linear_programmes: int


def protect_seasonal(
    warehouse: Warehouse,
    source: str,
    pattern: SourcePattern,
    *,
    precision_rank: int,
    cache_dir: Path | None = None,
) -> SeasonalStatus:
    """Protect the seasonal tables together, and jointly with the source's `pattern`.

    The months (over all years), month x weekday and weekday x hour are rows
    over the sub-cells code as coded x area x month x weekday x hour (as far
    as the dates are precise), so both heat tables share their weekday
    totals, and each month of each year adds up to the pattern's month. The
    weekday and hour totals are not published (a reader adds them up where
    no cell of a row is hidden); the grand total is the pattern's.

    Raises
    ------
    DisclosureRefusedError
        If a small count cannot be protected at this grain.
    """
    return _cached(
        pattern,
        ("seasonal", source, precision_rank),
        lambda: _seasonal(warehouse, source, pattern, precision_rank, cache_dir),
    )


def _seasonal(
    warehouse: Warehouse,
    source: str,
    pattern: SourcePattern,
    precision_rank: int,
    cache_dir: Path | None = None,
) -> SeasonalStatus:
    incident = warehouse.table("incident")
    rows = incident.filter(incident.source == source)
    keys: dict[str, Any] = {
        "iccs_code": rows.iccs_code,
        "area_id": rows.area_id,
        "month": rows.occurred_at.truncate("M").date(),
    }
    if precision_rank >= 4:
        keys["weekday"] = rows.occurred_at.day_of_week.index()
    if precision_rank >= 5:
        keys["hour"] = rows.occurred_at.hour()
    sub = warehouse.to_arrow(
        rows.group_by(**keys).aggregate(count=rows.iccs_weight.sum())
    ).to_pandas()
    sub = sub[sub["count"].fillna(0) > 0].reset_index(drop=True)
    if len(sub) > MAX_SUB_CELLS:
        raise DisclosureRefusedError(
            f"the seasonal tables of {source} are cut from {len(sub):,} counts by code x area x "
            f"month x weekday x hour, more than the {MAX_SUB_CELLS:,} that can be protected "
            "jointly with the source's published monthly tables during a request"
        )
    kind = pattern.period_kinds[0]
    months = pd.to_datetime(sub["month"])
    starts = months.dt.to_period(_TRUNCATE[kind]).dt.start_time
    fine = _fine_cells(pattern, sub["iccs_code"], sub["area_id"], starts)
    n = len(sub)
    calendar = months.dt.month.to_numpy() - 1
    groups: list[np.ndarray] = [calendar]  # 12 rows: the months over all years
    shapes: list[int] = [12]
    fixed: list[bool] = [False] * 12
    if "weekday" in sub:
        weekday = sub["weekday"].to_numpy(dtype=np.int64)
        groups.append(calendar * 7 + weekday)
        shapes.append(84)
        fixed += [False] * 84
    if "hour" in sub:
        hour = sub["hour"].to_numpy(dtype=np.int64)
        groups.append(weekday * 24 + hour)
        shapes.append(168)
        fixed += [False] * 168
    offsets = np.cumsum([0, *shapes])
    row_index = np.concatenate([g + offsets[i] for i, g in enumerate(groups)])
    columns = np.tile(np.arange(n), len(groups))
    matrix = sparse.csr_matrix(
        (np.ones(len(row_index)), (row_index, columns)), shape=(int(offsets[-1]), n)
    )
    result = protect_linked(
        pattern,
        fine,
        sub["count"].to_numpy(dtype=float),
        matrix,
        fixed=np.array(fixed),
        open_slots=True,
        cache_dir=cache_dir,
    )
    labels = pd.DataFrame({"row": np.arange(int(offsets[-1]))})
    _refuse(
        result,
        labels,
        f"the seasonal tables of {source}",
        "The monthly tables of the source are published as they are.",
    )
    status = result.status
    month_weekday = weekday_hour = None
    position = 12
    if "weekday" in sub:
        month_weekday = [status[position + 7 * m : position + 7 * m + 7] for m in range(12)]
        position += 84
    if "hour" in sub:
        weekday_hour = [status[position + 24 * d : position + 24 * d + 24] for d in range(7)]
    return SeasonalStatus(status[:12], month_weekday, weekday_hour, result.linear_programmes)
