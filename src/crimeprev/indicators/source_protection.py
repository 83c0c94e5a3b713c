"""One disclosure pattern per source, shared by every table crimeprev publishes from it.

Exports at any ICCS level, period and area breakdown, the profile page and
its JSON twin, the rates table and the map are all sums of one fine table
(ICCS code as coded x area x month). Protecting each of them on its own lets
a reader get a hidden cell back by comparing two of them; here the fine table
and every coarser cell are protected once, together
(:func:`crimeprev.indicators.disclosure` describes the method), and each
output looks its cells up in that one pattern. The pattern is cached per
warehouse, source, import log and threshold.
"""

from __future__ import annotations

import hashlib
import os
import threading
from collections import OrderedDict
from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from crimeprev.errors import InvalidInputError
from crimeprev.indicators._joint_audit import (
    CellSystem,
    JointProtection,
    View,
    build_cells,
    protect_cells,
)
from crimeprev.indicators.disclosure import PRIMARY, PUBLISHED, SECONDARY, public_marks
from crimeprev.standards.iccs import LEVELS

#: Period kinds one pattern covers, finest first; weeks and days are not (weeks cross months).
PERIOD_KINDS = ("month", "quarter", "year")
#: Group key of a whole dimension: all offences, all areas or all periods.
ALL: tuple[str] = ("all",)
_UNMAPPED = "_U"
_NO_AREA = "_Z"


def code_key(code: Any, level: int | None) -> Hashable:
    """The group of fine codes a counts row at ICCS `level` adds up (None: the code as coded).

    Examples
    --------
    >>> code_key("0501", 2), code_key("05", 2), code_key(None, 1)
    (('prefix', '0501'), ('code', '05'), ('code', '_U'))
    """
    text = _UNMAPPED if code is None or pd.isna(code) else str(code)
    if level is not None and text != _UNMAPPED and len(text) == LEVELS[level]:
        return ("prefix", text)
    return ("code", text)


def area_key(area: Any) -> Hashable:
    """The group of one area (incidents with no area form an area of their own)."""
    return ("area", _NO_AREA if area is None or pd.isna(area) else str(area))


def period_key(kind: str | None, period: Any) -> Hashable:
    """The group of one period of `kind` (None: all periods together)."""
    if kind is None:
        return ALL
    return (kind, pd.Timestamp(period).date().isoformat())


@dataclass(frozen=True)
class SourcePattern:
    """The protected cells of one source: look any published cell up with :meth:`status_of`."""

    system: CellSystem
    protection: JointProtection
    period_kinds: tuple[str, ...]
    threshold: int

    def covers(self, period: str | None) -> bool:
        """Whether tables by `period` (None: all periods) are cells of this pattern."""
        return period is None or period in self.period_kinds

    def status_of(self, view: View, value: float | None = None) -> str:
        """``""``, ``"primary"`` or ``"secondary"`` for the cell (code, area, period) `view`.

        A view that is not in the pattern adds up no incident: a zero, which
        is published. With `value`, the cell's count must match the pattern's.

        Raises
        ------
        InvalidInputError
            If `value` is positive but the pattern has no such cell, or a
            different count (the warehouse changed since the pattern was made).
        """
        cell = self.system.views.get(tuple(view))
        if cell is None:
            if value is not None and value > 0:
                raise InvalidInputError(
                    f"the disclosure pattern has no cell {view!r} but the table counts {value:g}; "
                    "the warehouse changed since the pattern was made"
                )
            return PUBLISHED
        if value is not None and abs(self.system.values[cell] - value) > 1e-6:
            raise InvalidInputError(
                f"the disclosure pattern counts {self.system.values[cell]:g} for {view!r} but the "
                f"table counts {value:g}; the warehouse changed since the pattern was made"
            )
        if not self.protection.hidden[cell]:
            return PUBLISHED
        return PRIMARY if self.protection.primary[cell] else SECONDARY

    def frame_status(
        self,
        frame: pd.DataFrame,
        *,
        level: int | None,
        period: str | None,
        by_area: bool,
        value: str = "count",
    ) -> pd.Series:
        """The status of each row of a counts frame (``count_incidents`` with these settings).

        Raises
        ------
        InvalidInputError
            If the period is one the pattern does not cover (weeks, days).
        """
        if not self.covers(period):
            raise InvalidInputError(
                f"tables by {period} are not part of the source's disclosure pattern; "
                f"periods covered: {', '.join(self.period_kinds)} or all"
            )
        codes = frame["iccs_code"] if "iccs_code" in frame else pd.Series(None, index=frame.index)
        areas = frame["area_id"] if by_area else pd.Series(None, index=frame.index)
        periods = frame["period"] if period is not None else pd.Series(None, index=frame.index)
        counts = frame[value].fillna(0).to_numpy(dtype=float)
        marks = [
            self.status_of(
                (
                    code_key(code, level),
                    area_key(area) if by_area else ALL,
                    period_key(period, when),
                ),
                count,
            )
            for code, area, when, count in zip(codes, areas, periods, counts, strict=True)
        ]
        return pd.Series(marks, index=frame.index, dtype=object)


def protect_source(
    fine: pd.DataFrame,
    *,
    threshold: int,
    fine_period: str = "month",
    protection: float | None = None,
    value: str = "count",
    stored: Path | None = None,
) -> SourcePattern:
    """Protect every table a source publishes at once, from its finest counts.

    Parameters
    ----------
    fine : DataFrame
        Counts by ``iccs_code`` (as coded; null for unmapped), ``area_id``
        (null for no area) and ``period`` (the first day of each `fine_period`).
    threshold : int
        Counts from 1 to ``threshold - 1`` are hidden.
    fine_period : str, default "month"
        The period of the fine table: month, quarter or year; the coarser
        ones and all periods together are covered too.
    protection : float, optional
        The width each hidden small count's feasible range must reach
        (default: the threshold).
    stored : Path, optional
        A file keeping the pattern: read when it was made for the same
        cells, written otherwise.

    Raises
    ------
    InvalidInputError
        If `fine_period` is not one of :data:`PERIOD_KINDS` or a code, area
        and period appear twice.

    Examples
    --------
    >>> fine = pd.DataFrame({"iccs_code": ["0501", "0502", "0501", "0502"],
    ...                      "area_id": ["A", "A", "B", "B"], "period": ["2020-01-01"] * 4,
    ...                      "count": [3, 9, 7, 20]})
    >>> pattern = protect_source(fine, threshold=5, fine_period="year")
    >>> pattern.status_of((("code", "0501"), ("area", "A"), ("year", "2020-01-01")))
    'primary'
    >>> pattern.status_of((("prefix", "05"), ALL, ALL))  # the grand total stays
    ''
    """
    if fine_period not in PERIOD_KINDS:
        raise InvalidInputError(
            f"the fine period must be one of {', '.join(PERIOD_KINDS)}, got {fine_period!r}"
        )
    kinds = PERIOD_KINDS[PERIOD_KINDS.index(fine_period) :]
    fine = fine[fine[value].fillna(0) > 0]  # an empty cell is not listed: nothing to hide
    codes = [code_key(c, None)[1] for c in fine["iccs_code"]]  # type: ignore[index]
    areas = [area_key(a)[1] for a in fine["area_id"]]  # type: ignore[index]
    periods = pd.to_datetime(fine["period"]).dt.to_period(_FREQ[fine_period]).dt.start_time
    if pd.MultiIndex.from_arrays([codes, areas, periods]).has_duplicates:
        raise InvalidInputError(
            "the fine counts have the same ICCS code, area and period twice; "
            "pass one row per code x area x period"
        )
    code_index, code_names = pd.factorize(pd.Series(codes, dtype=object))
    area_index, area_names = pd.factorize(pd.Series(areas, dtype=object))
    period_index, period_starts = pd.factorize(periods)
    area_groups: dict[Hashable, np.ndarray] = {
        ("area", a): np.array([i]) for i, a in enumerate(area_names)
    }
    area_groups[ALL] = np.arange(len(area_names))
    groups = [
        _code_groups(list(code_names)),
        area_groups,
        _period_groups(pd.DatetimeIndex(period_starts), kinds),
    ]
    system = build_cells(
        [code_index, area_index, period_index], fine[value].to_numpy(dtype=float), groups
    )
    if stored is not None:
        result = _load_protection(stored, system)
        if result is not None:
            return SourcePattern(system, result, kinds, threshold)
    result = protect_cells(system, threshold=threshold, protection=protection)
    if stored is not None:
        _save_protection(stored, system, result)
    return SourcePattern(system, result, kinds, threshold)


def _load_protection(path: Path, system: CellSystem) -> JointProtection | None:
    """A stored pattern, if it was made for these very cells."""
    try:
        with np.load(path) as data:
            if not np.array_equal(data["values"], system.values):
                return None
            return JointProtection(
                data["hidden"], data["primary"], data["lower"], data["upper"],
                int(data["linear_programmes"]),
            )  # fmt: skip
    except (OSError, KeyError, ValueError):
        return None


def _save_protection(path: Path, system: CellSystem, result: JointProtection) -> None:
    """Store a pattern (written aside, then moved in place, so a reader never sees half)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.{os.getpid()}.partial.npz")
    np.savez_compressed(
        partial,
        values=system.values,
        hidden=result.hidden,
        primary=result.primary,
        lower=result.lower,
        upper=result.upper,
        linear_programmes=result.linear_programmes,
    )
    os.replace(partial, path)


_FREQ = {"month": "M", "quarter": "Q", "year": "Y"}


def _code_groups(codes: Sequence[str]) -> dict[Hashable, np.ndarray]:
    """Each code as coded, each ICCS code above or at it (its prefixes), and all offences."""
    groups: dict[Hashable, np.ndarray] = {("code", c): np.array([i]) for i, c in enumerate(codes)}
    array = np.array(codes, dtype=object)
    prefixes = {
        code[:width]
        for code in codes
        if code != _UNMAPPED
        for width in LEVELS.values()
        if width <= len(code)
    }
    for prefix in sorted(prefixes):
        inside = np.array([c != _UNMAPPED and c.startswith(prefix) for c in array])
        groups[("prefix", prefix)] = np.flatnonzero(inside)
    groups[ALL] = np.arange(len(codes))
    return groups


def _period_groups(starts: pd.DatetimeIndex, kinds: Sequence[str]) -> dict[Hashable, np.ndarray]:
    """Each fine period, the quarters and years made of them, and all periods together."""
    groups: dict[Hashable, np.ndarray] = {}
    for kind in kinds:
        keys = starts.to_period(_FREQ[kind]).start_time
        for key in keys.unique():
            groups[(kind, key.date().isoformat())] = np.flatnonzero(keys == key)
    groups[ALL] = np.arange(len(starts))
    return groups


_CACHE: OrderedDict[tuple[object, ...], SourcePattern] = OrderedDict()
_CACHE_SIZE = 16
_LOCK = threading.Lock()


def source_pattern(
    warehouse: object,
    source: str,
    *,
    threshold: int,
    protection: float | None = None,
    cache_dir: Path | None = None,
) -> SourcePattern:
    """The disclosure pattern of `source` in `warehouse`, computed once per import log state.

    Patterns are kept in memory, and with `cache_dir` also on disk (one
    file per source, import log state and threshold), so a command run
    again or a restarted server does not make them again.

    Raises
    ------
    NotFoundError
        If the source has no incidents.
    """
    from crimeprev.indicators.counts import CountQuery, count_incidents
    from crimeprev.store.ingest import import_log
    from crimeprev.store.warehouse import Warehouse

    assert isinstance(warehouse, Warehouse)
    log = import_log(warehouse, source)
    state = tuple(
        (row["import_id"], row["file_hash"], row["status"], row["rows_accepted"]) for row in log
    )
    key = (warehouse.url, source, state, threshold, protection)
    with _LOCK:
        if key in _CACHE:
            _CACHE.move_to_end(key)
            return _CACHE[key]
        for kind in PERIOD_KINDS:
            try:
                fine = count_incidents(
                    warehouse, CountQuery(source=source, level=None, period=kind, by_area=True)
                )
            except InvalidInputError:
                continue  # the source's dates are coarser: try the next period
            break
        stored = None
        if cache_dir is not None:
            digest = hashlib.sha256(repr(key).encode()).hexdigest()[:20]
            stored = Path(cache_dir) / f"{source}-{digest}.npz"
        pattern = protect_source(
            fine, threshold=threshold, fine_period=kind, protection=protection, stored=stored
        )
        _CACHE[key] = pattern
        while len(_CACHE) > _CACHE_SIZE:
            _CACHE.popitem(last=False)
        return pattern


def counts_status(
    warehouse: object,
    query: Any,
    frame: pd.DataFrame,
    *,
    threshold: int,
    value: str = "count",
    cache_dir: Path | None = None,
) -> pd.Series:
    """The suppression status of each row of ``count_incidents(warehouse, query)``.

    Tables of the source's pattern (any ICCS level, by month, quarter, year
    or all periods, by area or not, optionally one ICCS branch) take their
    status from :func:`source_pattern`, so they agree with every other
    output. Tables outside it (by week or day, with tags, or between
    dates) are protected jointly with that pattern
    (:func:`crimeprev.indicators.linked_protection.linked_counts_status`),
    which refuses (``DisclosureRefusedError``) a table it cannot protect;
    tables by week or between dates take their marks from the selection's
    daily table (:mod:`crimeprev.indicators.derived_tables`). Each such
    table is protected against the finer tables published before it and
    recorded in the source's release ledger (kept under `cache_dir`;
    :mod:`crimeprev.indicators.release_ledger`).
    """
    from crimeprev.indicators.disclosure import protect_counts

    covered = not query.tags and query.start is None and query.end is None
    if covered and (query.period is None or query.period in PERIOD_KINDS) and not frame.empty:
        pattern = source_pattern(warehouse, query.source, threshold=threshold, cache_dir=cache_dir)
        if pattern.covers(query.period):
            return pattern.frame_status(
                frame, level=query.level, period=query.period, by_area=query.by_area, value=value
            )
    if threshold <= 0 or frame.empty:
        return protect_counts(frame, threshold=threshold, value=value).status
    from crimeprev.indicators.derived_tables import made_from_days, status_from_days
    from crimeprev.indicators.linked_protection import linked_counts_status

    pattern = source_pattern(warehouse, query.source, threshold=threshold, cache_dir=cache_dir)
    if made_from_days(query):
        # Weekly and date-limited tables follow the selection's one daily
        # table, so that no two of them can be read against each other.
        derived = status_from_days(
            warehouse, query, frame, pattern, value=value, cache_dir=cache_dir
        )
        if derived is not None:
            return derived
    return linked_counts_status(warehouse, query, frame, pattern, value=value, cache_dir=cache_dir)


def rates_status(
    pattern: SourcePattern, frame: pd.DataFrame, *, iccs_code: str | None = None
) -> pd.Series:
    """The status of each area x year row of a rates table (all offences, or one ICCS branch).

    A null year stands for all years together (e.g. the incidents with no area).
    """
    levels = {width: level for level, width in LEVELS.items()}
    code = ALL if iccs_code is None else code_key(iccs_code, levels.get(len(iccs_code)))
    marks = [
        pattern.status_of(
            (
                code,
                area_key(area),
                ALL if year is None or pd.isna(year) else period_key("year", f"{int(year)}-01-01"),
            ),
            float(count),
        )
        for area, year, count in zip(frame["area_id"], frame["year"], frame["count"], strict=True)
    ]
    return pd.Series(marks, index=frame.index, dtype=object)


def mark_suppressed(frame: pd.DataFrame, status: pd.Series, columns: Sequence[str]) -> pd.DataFrame:
    """A copy of `frame` with `columns` blank where hidden and a ``suppression`` column.

    For the public faces: the column gives every hidden cell one mark
    (:func:`crimeprev.indicators.disclosure.public_marks`), not the reason.

    Examples
    --------
    >>> table = pd.DataFrame({"count": [3.0, 40.0]})
    >>> mark_suppressed(table, pd.Series(["primary", ""]), ["count"]).to_dict("list")
    {'count': [nan, 40.0], 'suppression': ['suppressed', '']}
    """
    out = frame.copy()
    hidden = (status != PUBLISHED).to_numpy()
    for column in columns:
        if column in out:
            out[column] = out[column].astype(float).where(~hidden)
    out["suppression"] = public_marks(status).to_numpy()
    return out


def protect_breakdown(
    frame: pd.DataFrame,
    *,
    threshold: int,
    value: str,
    breakdowns: Sequence[str],
    keys: Sequence[str] = (),
    total: str = "Total",
) -> pd.Series:
    """Primary and secondary suppression of a table by categories with "Total" rows.

    For tables such as an SDG indicator by sex x age band (x form), where a
    row whose `breakdowns` value is `total` adds up the others: the rows
    without any total are the fine cells, each total row a published sum of
    them, and :func:`crimeprev.indicators._joint_audit.protect_cells` hides
    complements until every small count's range is proven wide. Each
    combination of `keys` (e.g. area and year) is its own table.

    Raises
    ------
    InvalidInputError
        If a total row does not equal the sum of the rows it covers.

    Examples
    --------
    >>> table = pd.DataFrame({"sex": ["Male", "Female", "Total"], "numerator": [3, 20, 23]})
    >>> protect_breakdown(table, threshold=5, value="numerator", breakdowns=["sex"]).tolist()
    ['primary', 'secondary', '']
    """
    status = pd.Series(PUBLISHED, index=frame.index, dtype=object)
    if threshold <= 0 or frame.empty:
        return status
    columns = [*keys, *breakdowns]
    is_total = np.zeros(len(frame), dtype=bool)
    for column in breakdowns:
        is_total |= (frame[column].astype(str) == total).to_numpy()
    fine = frame[~is_total & (frame[value].fillna(0).to_numpy(dtype=float) > 0)]
    if fine.empty:
        return status
    categories = []
    groups: list[dict[Hashable, np.ndarray]] = []
    for column in columns:
        codes, names = pd.factorize(fine[column].astype(str))
        categories.append(codes)
        grouping: dict[Hashable, np.ndarray] = {
            ("value", str(n)): np.array([i]) for i, n in enumerate(names)
        }
        if column in breakdowns:
            grouping[ALL] = np.arange(len(names))
        groups.append(grouping)
    system = build_cells(categories, fine[value].to_numpy(dtype=float), groups)
    result = protect_cells(system, threshold=threshold)
    pattern = SourcePattern(system, result, (), threshold)
    marks = []
    for row in frame[[*columns, value]].itertuples(index=False):
        cells = dict(zip([*columns, value], row, strict=True))
        view = tuple(
            ALL
            if column in breakdowns and str(cells[column]) == total
            else ("value", str(cells[column]))
            for column in columns
        )
        count = 0.0 if pd.isna(cells[value]) else float(cells[value])
        marks.append(pattern.status_of(view, count))
    return pd.Series(marks, index=frame.index, dtype=object)
