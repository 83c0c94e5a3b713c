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

Not covered: two different tables outside the pattern (e.g. a daily table
by area and a weekly one at another ICCS level) are each linked to the
pattern, not to each other.

References: Hundepool et al., *Statistical Disclosure Control* (Wiley,
2012), chapter 4 (linked tables, cell suppression by linear programming).
"""

from __future__ import annotations

import hashlib
import os
import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from scipy import sparse
from scipy.optimize import linprog

from crimeprev.errors import InvalidInputError
from crimeprev.indicators.disclosure import PRIMARY, PUBLISHED, SECONDARY
from crimeprev.indicators.source_protection import (
    ALL,
    SourcePattern,
    area_key,
    code_key,
    period_key,
)

if TYPE_CHECKING:
    from crimeprev.indicators.counts import CountQuery
    from crimeprev.store.warehouse import Warehouse

#: Slices with more non-zero sub-cells than this are refused (too large for a web request).
MAX_SUB_CELLS = 150_000
#: Linear programmes one table may take before it is refused.
MAX_PROGRAMMES = 400


class DisclosureRefusedError(InvalidInputError):
    """A table cannot be published jointly protected with the source's pattern."""


@dataclass(frozen=True)
class LinkedProtection:
    """The status of each published row of a table linked to a source's pattern.

    ``status`` is ``""``, ``"primary"`` or ``"secondary"`` per row (rows
    adding up the same sub-cells share it; a row equal to a pattern cell
    takes the pattern's mark). ``lower``/``upper`` bound each primary row's
    proven range (NaN elsewhere); ``pattern_lower``/``pattern_upper`` the
    same for the pattern's small cells the table touches, in the joint
    system. ``exposed`` lists rows (and ``pattern_exposed`` pattern cells)
    whose range could not be proven wide enough; ``gave_up`` says some of
    them were left unproven because the programmes ran out (a table too
    costly to protect during a request), not because no change exists.
    """

    status: list[str]
    lower: np.ndarray
    upper: np.ndarray
    exposed: list[int]
    pattern_cells: np.ndarray
    pattern_lower: np.ndarray
    pattern_upper: np.ndarray
    pattern_exposed: list[int]
    linear_programmes: int
    gave_up: bool = False


def protect_linked(
    pattern: SourcePattern,
    fine: np.ndarray,
    values: np.ndarray,
    rows: sparse.spmatrix,
    *,
    fixed: np.ndarray | None = None,
    open_slots: bool = False,
    protection: float | None = None,
    max_programmes: int = MAX_PROGRAMMES,
    cache_dir: Path | None = None,
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
    open_slots : bool, default False
        Whether a sub-cell's rows depend only on its month and slot (the
        seasonal tables), so that a fine cell may take counts in an empty
        slot of its month its reader cannot rule out.
    protection : float, optional
        The width each small count's range must reach (default: the threshold).
    max_programmes : int
        Give up (every unproven cell exposed) after this many programmes.
    cache_dir : Path, optional
        Where the pattern's proofs (:func:`pattern_proofs`) are kept.

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
        pattern, np.asarray(fine), np.asarray(values, dtype=float), rows, fixed, open_slots
    )
    engine.run(width, max_programmes, cache_dir)
    return engine.result()


class _Joint:
    """The joint system of one table's rows and the pattern's cells over the sub-cells."""

    def __init__(
        self,
        pattern: SourcePattern,
        fine: np.ndarray,
        values: np.ndarray,
        rows: sparse.spmatrix,
        fixed: np.ndarray | None,
        open_slots: bool = False,
    ) -> None:
        system = pattern.system
        self.pattern = pattern
        self.x = values
        n = len(values)
        self.n = n
        self.fine = fine.astype(np.int64)
        lumps = sparse.csr_matrix(
            (np.ones(n), (self.fine, np.arange(n))), shape=(len(system.fine_values), n)
        )
        touched = np.unique(self.fine)
        sums = lumps[touched] @ values
        if not np.allclose(sums, system.fine_values[touched], atol=1e-6):
            raise InvalidInputError(
                "the counts by day do not add up to the source's monthly counts its disclosure "
                "pattern was made from; the warehouse changed since (import again or restart)"
            )
        # Pattern cells over the sub-cells (cells the slice does not touch are left out).
        over = (system.members @ lumps).tocsr()
        over.data[:] = 1.0
        keep = np.flatnonzero(np.diff(over.indptr) > 0)
        self.p_ids = keep
        self.p = over[keep].tocsr()
        self.p_values = system.values[keep]
        self.p_hidden = pattern.protection.hidden[keep]
        self.p_primary = pattern.protection.primary[keep]
        self.p_columns = self.p.tocsc()
        self.p_full = system.members[keep].tocsr()
        # The table's rows; rows adding up the same sub-cells are one cell.
        table = sparse.csr_matrix(rows, dtype=float)
        table.sum_duplicates()
        table.sort_indices()
        table.data[:] = 1.0
        keys = [
            table.indices[table.indptr[r] : table.indptr[r + 1]].tobytes()
            for r in range(table.shape[0])
        ]
        index: dict[bytes, int] = {}
        self.cell_of_row = np.array([index.setdefault(k, len(index)) for k in keys], dtype=np.int64)
        first = np.unique(self.cell_of_row, return_index=True)[1]
        self.t = table[first].tocsr()
        self.t_columns = self.t.tocsc()
        self.t_values = self.t @ values
        # Hiding a row that adds up many sub-cells (a month over all years)
        # costs readers more than hiding a fine one, as in the pattern.
        self.t_cost = self.t_values * np.diff(self.t.indptr)
        cells = self.t.shape[0]
        fixed_rows = np.zeros(table.shape[0], bool) if fixed is None else np.asarray(fixed, bool)
        self.t_fixed = np.zeros(cells, bool)
        np.logical_or.at(self.t_fixed, self.cell_of_row, fixed_rows)
        # A row adding up exactly the sub-cells of a pattern cell is that cell.
        whole = np.isclose(self.p @ values, self.p_values, atol=1e-6)
        pattern_keys = {
            self.p.indices[self.p.indptr[r] : self.p.indptr[r + 1]].tobytes(): r
            for r in np.flatnonzero(whole)
        }
        self.t_link = np.array(
            [pattern_keys.get(keys[row], -1) for row in first], dtype=np.int64
        ).reshape(-1)
        linked = self.t_link >= 0
        small = (self.t_values > 0) & (self.t_values < pattern.threshold)
        self.t_primary = small & ~linked
        self.t_hidden = self.t_primary.copy()
        self.t_hidden[linked] = self.p_hidden[self.t_link[linked]]
        self.t_fixed &= ~small
        self.t_fixed |= linked  # a pattern cell changes only where the pattern hides it
        self.floor = 1.0 if np.all(values == np.round(values)) else 0.0
        self.t_low, self.t_high = self.t_values.copy(), self.t_values.copy()
        self.p_low, self.p_high = self.p_values.copy(), self.p_values.copy()
        self.partition = bool(np.all(np.diff(self.t_columns.indptr) <= 1))
        self.open_slots = open_slots
        self.programmes = 0
        self.gave_up = False
        self.lifts = 0
        self.exposed_t: list[int] = []
        self.exposed_p: list[int] = []
        self.months: np.ndarray = system.categories[self.fine, -1]

    # -- proofs ---------------------------------------------------------------------------
    def _add(
        self, t_change: np.ndarray, p_change: np.ndarray, change: np.ndarray | None = None
    ) -> None:
        """Keep an alternative table (true values + change) and the opposite one where valid.

        The opposite change is kept only when the change of each sub-cell is
        known (`change`), so that no count goes below zero.
        """
        self.t_hidden[(np.abs(t_change) > 1e-7) & ~self.t_hidden] = True
        for sign in (1.0, -1.0):
            if sign < 0 and change is None:
                continue
            scale = 1.0
            if sign < 0 and change is not None:
                scale = self._reverse_scale(change, t_change, p_change)
            if scale <= 1e-9:
                continue
            t_new = self.t_values + sign * scale * t_change
            p_new = self.p_values + sign * scale * p_change
            np.minimum(self.t_low, t_new, out=self.t_low)
            np.maximum(self.t_high, t_new, out=self.t_high)
            np.minimum(self.p_low, p_new, out=self.p_low)
            np.maximum(self.p_high, p_new, out=self.p_high)

    def _reverse_scale(
        self, change: np.ndarray, t_change: np.ndarray, p_change: np.ndarray
    ) -> float:
        """How far the opposite change may go before a count or a hidden cell's floor is hit."""
        scale = 1.0
        for value, step, bound in (
            (self.x, change, 0.0),
            (self.t_values, t_change, self.floor),
            (self.p_values, p_change, self.floor),
        ):
            rising = step > 1e-9
            if rising.any():
                scale = min(scale, float(np.min((value[rising] - bound) / step[rising])))
        return max(scale, 0.0)

    def _lift(self, fines: np.ndarray, steps: np.ndarray) -> bool:
        """Carry a pattern-level alternative (fine cells changed by `steps`) into the sub-cells.

        Each changed fine cell's change is spread over its sub-cells so that
        no published row of the table moves (published rows it must move are
        hidden, the cheapest first, as the programme's cost says) and every
        hidden row keeps its floor. Fine cells outside the slice keep their
        change at the pattern level, where no row of the table sees it.
        """
        self.lifts += 1
        system = self.pattern.system
        local = np.isin(self.fine, fines)
        area = np.flatnonzero(local)
        full = np.zeros(len(system.fine_values))
        full[fines] = steps
        p_change = self.p_full @ full
        if not len(area):
            self._widen(np.zeros(len(self.t_values)), p_change)
            return True
        quick = self._quick_lift(fines, steps, area)
        if quick is not None:
            self.t_hidden[(quick != 0) & ~self.t_hidden] = True
            self._widen(quick, p_change)
            return True
        present, position = np.unique(self.fine[area], return_inverse=True)
        t_real = self.t_columns[:, area]
        ups = t_real
        up_fine = position
        if self.open_slots:
            extra_columns, extra_fine = self._open_slots(area, present, position)
            if len(extra_fine):
                ups = sparse.hstack([t_real, extra_columns], format="csc")
                up_fine = np.concatenate([position, extra_fine])
        n, k = len(area), ups.shape[1]
        per_fine = sparse.hstack(
            [
                sparse.csr_matrix((np.ones(k), (up_fine, np.arange(k))), shape=(len(present), k)),
                -sparse.csr_matrix((np.ones(n), (position, np.arange(n))), shape=(len(present), n)),
            ]
        )
        t_block = sparse.hstack([ups, -t_real], format="csr")
        t_rows = np.flatnonzero(np.diff(t_block.indptr) > 0)
        t_pub = t_rows[~self.t_hidden[t_rows] & ~self.t_fixed[t_rows]]
        t_fix = t_rows[~self.t_hidden[t_rows] & self.t_fixed[t_rows]]
        t_hid = t_rows[self.t_hidden[t_rows]]
        m = len(t_pub)
        zeros = sparse.csr_matrix
        equality = sparse.vstack(
            [
                sparse.hstack([per_fine, zeros((len(present), 2 * m))]),
                sparse.hstack([t_block[t_fix], zeros((len(t_fix), 2 * m))]),
                sparse.hstack([t_block[t_pub], -sparse.identity(m), sparse.identity(m)]),
            ],
            format="csr",
        )
        target = np.concatenate([full[present], np.zeros(len(t_fix) + m)])
        inequality = sparse.hstack([-t_block[t_hid], zeros((len(t_hid), 2 * m))], format="csr")
        bounds = np.zeros((k + n + 2 * m, 2))
        bounds[:, 1] = np.inf
        bounds[k : k + n, 1] = self.x[area]
        result = linprog(
            np.concatenate([np.full(k + n, 1e-6), np.tile(self.t_cost[t_pub], 2)]),
            A_ub=inequality if len(t_hid) else None,
            b_ub=(self.t_values[t_hid] - self.floor) if len(t_hid) else None,
            A_eq=equality,
            b_eq=target,
            bounds=bounds,
            method="highs",
        )
        if result.status != 0:
            return False
        t_change = t_block @ result.x[: k + n]
        t_change[np.abs(t_change) < 1e-7] = 0.0
        self.t_hidden[(t_change != 0) & ~self.t_hidden] = True
        self._widen(t_change, p_change)
        return True

    def _open_slots(
        self, area: np.ndarray, present: np.ndarray, position: np.ndarray
    ) -> tuple[sparse.csc_matrix, np.ndarray]:
        """Empty sub-cells a changed fine cell may fill: the slots of its month's other cells.

        For the seasonal tables a sub-cell's rows depend on its month,
        weekday and hour only, and when in the month a fine cell's
        incidents fell is published nowhere: a reader cannot rule out that
        a count sits in another weekday and hour of the same month.
        """
        months = self.months[area]
        fine_months = self.pattern.system.categories[present, -1]
        columns = self.t_columns[:, area].tocsc()
        patterns = [
            columns.indices[columns.indptr[j] : columns.indptr[j + 1]].tobytes()
            for j in range(len(area))
        ]
        have = set(zip(position.tolist(), patterns, strict=True))
        picks: list[int] = []
        owners: list[int] = []
        seen: set[tuple[int, bytes]] = set()
        for j, pattern_key in enumerate(patterns):
            for fine_position in np.flatnonzero(fine_months == months[j]):
                key = (int(fine_position), pattern_key)
                if key in have or key in seen:
                    continue
                seen.add(key)
                picks.append(j)
                owners.append(int(fine_position))
        return columns[:, picks], np.asarray(owners, dtype=np.int64)

    def _quick_lift(
        self, fines: np.ndarray, steps: np.ndarray, area: np.ndarray
    ) -> np.ndarray | None:
        """The table's change for a pattern change that needs no programme, or None.

        Seasonal tables: where each month's changes add up to zero, every
        rise can sit in the very weekday and hour slots of the falls, and no
        row moves. Tables splitting the sub-cells: a rise goes to a sub-cell
        of the fine cell in a hidden row (or in no row), a fall comes out of
        such sub-cells down to each hidden row's floor.
        """
        inside = np.isin(fines, self.fine[area])
        fines, steps = fines[inside], steps[inside]
        if self.open_slots:
            months = self.pattern.system.categories[fines, -1]
            sums = np.bincount(months, weights=steps)
            if np.all(np.abs(sums) < 1e-7):
                return np.zeros(len(self.t_values))
            return None
        if not self.partition:
            return None
        change = np.zeros(self.n)
        room = self.t_values - self.floor
        for fine_cell, step in zip(fines, steps, strict=True):
            subs = area[self.fine[area] == fine_cell]
            rows = self._row_of_sub[subs]
            open_rows = (rows < 0) | self.t_hidden[np.maximum(rows, 0)]
            subs, rows = subs[open_rows], rows[open_rows]
            if not len(subs):
                return None
            if step > 0:
                change[subs[0]] += step
                continue
            left = -step
            for sub, row in zip(subs, rows, strict=True):
                take = min(self.x[sub] + change[sub], left, room[row] if row >= 0 else np.inf)
                if take <= 0:
                    continue
                change[sub] -= take
                if row >= 0:
                    room[row] -= take
                left -= take
                if left <= 1e-12:
                    break
            if left > 1e-9:
                return None
        t_change = self.t @ change
        t_change[np.abs(t_change) < 1e-7] = 0.0
        return t_change

    def _widen(self, t_change: np.ndarray, p_change: np.ndarray) -> None:
        t_new = self.t_values + t_change
        p_new = self.p_values + p_change
        np.minimum(self.t_low, t_new, out=self.t_low)
        np.maximum(self.t_high, t_new, out=self.t_high)
        np.minimum(self.p_low, p_new, out=self.p_low)
        np.maximum(self.p_high, p_new, out=self.p_high)

    def _months_published(self) -> bool:
        """Whether the slots may be refilled and the pattern publishes every month's total."""
        if not self.open_slots:
            return False
        system = self.pattern.system
        starts = _period_starts(self.pattern)
        kind = self.pattern.period_kinds[0]
        for category in np.unique(self.months).tolist():
            view = (ALL, ALL, period_key(kind, starts[category]))
            cell = system.views.get(view)
            if cell is None or self.pattern.protection.hidden[cell]:
                return False
        return True

    def _proven(self, cells: np.ndarray, table: bool, width: float) -> np.ndarray:
        low, high = (self.t_low, self.t_high) if table else (self.p_low, self.p_high)
        return (high[cells] - low[cells]) >= width - 1e-9

    def _shift_within_fine_cells(self, cell: int, width: float) -> bool:
        """Prove a hidden row's range by moving units to it within its own fine cells.

        Rows split the sub-cells here. Taking units from sub-cells of the same
        pattern fine cells in other hidden rows (down to each row's floor)
        or in no row keeps every pattern cell. Adds complements (the
        smallest published row that closes the gap, else the largest) until
        the move reaches `width`; False if it cannot.
        """
        own = self.t.indices[self.t.indptr[cell] : self.t.indptr[cell + 1]]
        if not len(own):
            return False
        fines = np.unique(self.fine[own])
        partners = np.flatnonzero(np.isin(self.fine, fines))
        partners = partners[~np.isin(partners, own)]
        row_of = self._row_of_sub
        outside = partners[row_of[partners] < 0]
        free = float(self.x[outside].sum())
        inside = partners[row_of[partners] >= 0]
        rows_in = row_of[inside]
        mass = np.bincount(rows_in, weights=self.x[inside], minlength=len(self.t_values))
        candidates = np.flatnonzero(mass > 0)
        while True:
            hidden = candidates[self.t_hidden[candidates]]
            gain = free + float(
                np.minimum(mass[hidden], self.t_values[hidden] - self.floor).clip(0).sum()
            )
            if gain >= width - 1e-9:
                change = np.zeros(self.n)
                self._spread_move(change, own, outside, hidden, inside, rows_in, width)
                self._add(self.t @ change, self.p @ change, change)
                return True
            open_rows = candidates[~self.t_hidden[candidates] & ~self.t_fixed[candidates]]
            if not len(open_rows):
                return False
            offer = np.minimum(mass[open_rows], self.t_values[open_rows] - self.floor).clip(0)
            enough = open_rows[offer >= width - gain - 1e-9]
            if len(enough):
                pick = enough[np.argmin(self.t_values[enough])]
            else:
                pick = open_rows[np.argmax(offer)]
            self.t_hidden[pick] = True

    def _spread_move(
        self,
        change: np.ndarray,
        own: np.ndarray,
        outside: np.ndarray,
        hidden: np.ndarray,
        inside: np.ndarray,
        rows_in: np.ndarray,
        width: float,
    ) -> None:
        """Write the move of `width` units into `change` (taken first from rows, then outside)."""
        left = width
        for row in hidden:
            room = min(self.t_values[row] - self.floor, float(self.x[inside[rows_in == row]].sum()))
            for sub in inside[rows_in == row]:
                if left <= 1e-12 or room <= 1e-12:
                    break
                take = min(room, self.x[sub], left)
                change[sub] -= take
                room -= take
                left -= take
        for sub in outside:
            if left <= 1e-12:
                break
            take = min(self.x[sub], left)
            change[sub] -= take
            left -= take
        # Each fine cell's units go to one of the row's own sub-cells in that fine
        # cell, so no fine cell (and no pattern cell) changes.
        taken = np.bincount(self.fine, weights=-np.minimum(change, 0.0))
        for fine_cell in np.flatnonzero(taken > 0):
            receiver = own[self.fine[own] == fine_cell][0]
            change[receiver] += taken[fine_cell]

    def _programme(
        self, targets: Sequence[tuple[bool, int]], width: float, area: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray | None] | None:
        """The cheapest change of the sub-cells in `area` raising every target by `width`.

        Returns the change of the table's rows, of the pattern's cells and
        of the sub-cells (None when it fills empty slots of the seasonal
        tables, which have no sub-cell of their own), or None if none exists.
        """
        self.programmes += 1
        n = len(area)
        t_real = self.t_columns[:, area]
        p_real = self.p_columns[:, area]
        t_up, p_up = t_real, p_real
        if self.open_slots:
            present, position = np.unique(self.fine[area], return_inverse=True)
            extra, owners = self._open_slots(area, present, position)
            if 0 < len(owners) <= 20 * n + 1000:
                first = np.unique(position, return_index=True)[1]
                t_up = sparse.hstack([t_real, extra], format="csc")
                p_up = sparse.hstack([p_real, self.p_columns[:, area[first[owners]]]], format="csc")
        k = t_up.shape[1]
        t_block = sparse.hstack([t_up, -t_real], format="csr")
        p_block = sparse.hstack([p_up, -p_real], format="csr")
        t_rows = np.flatnonzero(np.diff(t_block.indptr) > 0)
        p_rows = np.flatnonzero(np.diff(p_block.indptr) > 0)
        t_pub = t_rows[~self.t_hidden[t_rows] & ~self.t_fixed[t_rows]]
        t_fix = t_rows[~self.t_hidden[t_rows] & self.t_fixed[t_rows]]
        t_hid = t_rows[self.t_hidden[t_rows]]
        p_pub = p_rows[~self.p_hidden[p_rows]]
        p_hid = p_rows[self.p_hidden[p_rows]]
        goal = sparse.vstack(
            [(t_block if table else p_block)[[cell]] for table, cell in targets], format="csr"
        )
        m = len(t_pub)
        identity = sparse.identity(m, format="csr")
        zeros = sparse.csr_matrix
        equality = sparse.vstack(
            [
                sparse.hstack([p_block[p_pub], zeros((len(p_pub), 2 * m))]),
                sparse.hstack([t_block[t_fix], zeros((len(t_fix), 2 * m))]),
                sparse.hstack([t_block[t_pub], -identity, identity]),
            ],
            format="csr",
        )
        upper_rows = sparse.vstack([p_block[p_hid], t_block[t_hid], goal], format="csr")
        inequality = sparse.hstack([-upper_rows, zeros((upper_rows.shape[0], 2 * m))], format="csr")
        limit = np.concatenate(
            [
                self.p_values[p_hid] - self.floor,
                self.t_values[t_hid] - self.floor,
                np.full(len(targets), -width),
            ]
        )
        cost = np.concatenate([np.full(k + n, 1e-6), np.tile(self.t_cost[t_pub], 2)])
        bounds = np.zeros((k + n + 2 * m, 2))
        bounds[:, 1] = np.inf
        bounds[k : k + n, 1] = self.x[area]
        result = linprog(
            cost,
            A_ub=inequality,
            b_ub=limit,
            A_eq=equality,
            b_eq=np.zeros(equality.shape[0]),
            bounds=bounds,
            method="highs",
        )
        if result.status != 0:
            return None
        step = result.x[: k + n].copy()
        step[np.abs(step) < 1e-9] = 0.0
        t_change = t_block @ step
        p_change = p_block @ step
        t_change[np.abs(t_change) < 1e-7] = 0.0
        p_change[np.abs(p_change) < 1e-7] = 0.0
        real = None
        if k == n:
            real = np.zeros(self.n)
            real[area] = step[:n] - step[n:]
        return t_change, p_change, real

    def _areas(self, targets: Sequence[tuple[bool, int]]) -> list[np.ndarray]:
        """Sub-cells a batch's programme may change: its months, then the whole slice."""
        subs = np.unique(
            np.concatenate(
                [
                    (self.t if table else self.p).indices[
                        (self.t if table else self.p).indptr[cell] : (
                            self.t if table else self.p
                        ).indptr[cell + 1]
                    ]
                    for table, cell in targets
                ]
            )
        )
        out = []
        near = np.flatnonzero(np.isin(self.months, np.unique(self.months[subs])))
        if len(near) < self.n:
            out.append(near)
        out.append(np.arange(self.n))
        return out

    def _prove(self, batch: list[tuple[bool, int]], width: float, budget: int) -> None:
        """Prove a batch with one programme, or split it in halves."""
        batch = [
            (table, cell)
            for table, cell in batch
            if not self._proven(np.array([cell]), table, width)[0]
        ]
        if not batch:
            return
        if self.programmes >= budget:
            self.gave_up = True
            self._expose(batch)
            return
        for area in self._areas(batch):
            found = self._programme(batch, width, area)
            if found is not None:
                self._add(*found)
                return
            if len(batch) > 1:
                break  # split before widening
        if len(batch) == 1:
            self._expose(batch)
            return
        half = len(batch) // 2
        self._prove(batch[:half], width, budget)
        self._prove(batch[half:], width, budget)

    def _expose(self, batch: list[tuple[bool, int]]) -> None:
        for table, cell in batch:
            (self.exposed_t if table else self.exposed_p).append(cell)

    def run(self, width: float, budget: int, cache_dir: Path | None = None) -> None:
        """Prove every small row of the table and every small pattern cell it touches."""
        self._row_of_sub = np.full(self.n, -1)
        if self.partition:
            columns = self.t_columns
            counts = np.diff(columns.indptr)
            self._row_of_sub[counts > 0] = columns.indices
        rows = np.flatnonzero(self.t_primary)
        rows = rows[np.argsort(np.diff(self.t.indptr)[rows], kind="stable")]
        left = []
        for cell in rows:
            if self._proven(np.array([cell]), True, width)[0]:
                continue
            if not (self.partition and self._shift_within_fine_cells(int(cell), width)):
                left.append((True, int(cell)))
        cells = np.flatnonzero(self.p_primary)
        cells = cells[np.argsort(np.diff(self.p.indptr)[cells], kind="stable")]
        if self._months_published():
            # Every alternative table of the pattern keeps each month's total,
            # and each is carried into the slots of the seasonal tables without
            # moving a row, so the pattern's own proven ranges stand.
            self.p_low = np.fmin(self.p_low, self.pattern.protection.lower[self.p_ids])
            self.p_high = np.fmax(self.p_high, self.pattern.protection.upper[self.p_ids])
        # The pattern's small cells: lift the pattern's own alternative tables
        # into the sub-cells first (a small programme over the few fine cells
        # each one changes); a programme over the sub-cells only where that fails.
        unproven = cells[~self._proven(cells, False, width)]
        proofs = pattern_proofs(
            self.pattern, width, cells=self.p_ids[unproven], cache_dir=cache_dir
        )
        hard = []
        for cell in cells:
            if self._proven(np.array([cell]), False, width)[0]:
                continue
            proof = proofs.get(int(self.p_ids[cell]))
            if proof is None or not all(self._lift(*change) for change in proof):
                hard.append(int(cell))
        targets = left + [(False, c) for c in hard]

        # One batch per set of months, so each programme stays local.
        def months_of(item: tuple[bool, int]) -> bytes:
            table, cell = item
            matrix = self.t if table else self.p
            subs = matrix.indices[matrix.indptr[cell] : matrix.indptr[cell + 1]]
            return np.unique(self.months[subs]).tobytes()

        batches: OrderedDict[bytes, list[tuple[bool, int]]] = OrderedDict()
        for item in targets:
            batches.setdefault(months_of(item), []).append(item)
        for batch in sorted(batches.values(), key=len):
            self._prove(batch, width, budget)

    def result(self) -> LinkedProtection:
        threshold = self.pattern.threshold
        marks = np.full(len(self.t_values), PUBLISHED, dtype=object)
        marks[self.t_hidden] = SECONDARY
        marks[self.t_primary] = PRIMARY
        linked = self.t_link >= 0
        for cell in np.flatnonzero(linked & self.t_hidden):
            marks[cell] = PRIMARY if self.p_primary[self.t_link[cell]] else SECONDARY
        small = (self.t_values > 0) & (self.t_values < threshold)
        lower = np.where(small, self.t_low, np.nan)
        upper = np.where(small, self.t_high, np.nan)
        status = [str(marks[c]) for c in self.cell_of_row]
        p_lower = np.where(self.p_primary, self.p_low, np.nan)
        p_upper = np.where(self.p_primary, self.p_high, np.nan)
        exposed_rows = np.flatnonzero(np.isin(self.cell_of_row, self.exposed_t)).tolist()
        for pattern_cell in self.exposed_p:
            linked_rows = np.isin(self.cell_of_row, np.flatnonzero(self.t_link == pattern_cell))
            exposed_rows += np.flatnonzero(linked_rows).tolist()
        return LinkedProtection(
            status=status,
            lower=lower[self.cell_of_row],
            upper=upper[self.cell_of_row],
            exposed=sorted(set(exposed_rows)),
            pattern_cells=self.p_ids,
            pattern_lower=p_lower,
            pattern_upper=p_upper,
            pattern_exposed=[int(self.p_ids[c]) for c in self.exposed_p],
            linear_programmes=self.programmes + self.lifts,
            gave_up=self.gave_up,
        )


_PROOFS: OrderedDict[tuple[int, float], tuple[SourcePattern, dict[int, list[Any]]]] = OrderedDict()

#: A change of the pattern's fine cells: (fine cells, their change).
Change = tuple[np.ndarray, np.ndarray]


def pattern_proofs(
    pattern: SourcePattern,
    width: float,
    *,
    cells: np.ndarray | None = None,
    cache_dir: Path | None = None,
) -> dict[int, list[Change]]:
    """For small cells of the pattern, alternative tables that prove their ranges.

    The pattern keeps only the proven ranges, not the tables that prove
    them, so they are made again here (for `cells`, default every small
    cell; kept per pattern, in memory and with `cache_dir` on disk): for
    each small cell whose range over the changes found so far is narrower
    than `width`, the smallest change of the hidden fine cells (down to
    their floor) that raises it by `width` while every published cell keeps
    its value; if none does, one raising it by less and one lowering it
    towards its floor. Each programme looks at the cell's months with its
    codes and areas and the largest others first, then its quarter, its
    year, then everything. Returns ``{cell: changes}`` (the changes reaching
    the cell's largest and smallest values); a cell the pattern itself
    leaves narrower than `width` is left out.
    """
    key = (id(pattern), width)
    wanted = np.flatnonzero(pattern.protection.primary) if cells is None else np.asarray(cells)
    stored = None
    if cache_dir is not None:
        digest = hashlib.sha256()
        for array in (pattern.system.values, pattern.protection.hidden, pattern.protection.primary):
            digest.update(np.ascontiguousarray(array).tobytes())
        digest.update(repr(width).encode())
        stored = Path(cache_dir) / f"linked-proofs-{digest.hexdigest()[:24]}.npz"
    with _LOCK:
        hit = _PROOFS.get(key)
        book = hit[1] if hit is not None and hit[0] is pattern else None
    if book is None:
        book = (_load_proofs(stored) if stored is not None else None) or {}
    missing = np.array([c for c in wanted.tolist() if c not in book], dtype=np.int64)
    if len(missing):
        made = _make_proofs(pattern, width, missing)
        for cell in missing.tolist():
            book[int(cell)] = made.get(int(cell), [])  # [] : the pattern leaves it narrow
        if stored is not None:
            _save_proofs(stored, book)
    with _LOCK:
        _PROOFS[key] = (pattern, book)
        while len(_PROOFS) > _CACHE_SIZE:
            _PROOFS.popitem(last=False)
    return {cell: book[cell] for cell in wanted.tolist() if book.get(cell)}


def _save_proofs(path: Path, proofs: dict[int, list[Change]]) -> None:
    """Keep the proofs on disk (written aside, then moved in place)."""
    cells, lengths, fines, steps = [], [], [], []
    for cell, changes in proofs.items():
        if not changes:  # tried: the pattern leaves this cell narrow
            cells.append(cell)
            lengths.append(-1)
        for change_fines, change_steps in changes:
            cells.append(cell)
            lengths.append(len(change_fines))
            fines.append(change_fines)
            steps.append(change_steps)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.{os.getpid()}.partial.npz")
    np.savez_compressed(
        partial,
        cells=np.asarray(cells, dtype=np.int64),
        lengths=np.asarray(lengths, dtype=np.int64),
        fines=np.concatenate(fines) if fines else np.zeros(0, np.int64),
        steps=np.concatenate(steps) if steps else np.zeros(0),
    )
    os.replace(partial, path)


def _load_proofs(path: Path) -> dict[int, list[Change]] | None:
    try:
        with np.load(path) as data:
            cells, lengths = data["cells"], data["lengths"]
            fines, steps = data["fines"], data["steps"]
    except (OSError, KeyError, ValueError):
        return None
    proofs: dict[int, list[Change]] = {}
    starts = np.concatenate([[0], np.cumsum(np.maximum(lengths, 0))])
    for index, cell in enumerate(cells.tolist()):
        changes = proofs.setdefault(int(cell), [])
        if lengths[index] >= 0:
            piece = slice(int(starts[index]), int(starts[index + 1]))
            changes.append((fines[piece], steps[piece]))
    return proofs


def _make_proofs(
    pattern: SourcePattern, width: float, primary: np.ndarray
) -> dict[int, list[Change]]:
    """The proofs of :func:`pattern_proofs` for the small cells `primary`, made."""
    system = pattern.system
    hidden = pattern.protection.hidden
    floor = 1.0 if np.all(system.fine_values == np.round(system.fine_values)) else 0.0
    free = hidden[system.finest]  # fine cells whose own cell is hidden may change
    columns = system.members.tocsc()
    high, low = system.values.copy(), system.values.copy()
    best_high = np.full(len(high), -1)
    best_low = np.full(len(high), -1)
    changes: list[Change] = []
    order = primary[np.argsort(system.sizes[primary], kind="stable")]

    def keep(fines: np.ndarray, step: np.ndarray) -> None:
        moved = np.abs(step) > 1e-9
        fines, step = fines[moved], step[moved]
        changes.append((fines, step))
        new = system.values + columns[:, fines] @ step
        up, down = new > high, new < low
        high[up], best_high[up] = new[up], len(changes) - 1
        low[down], best_low[down] = new[down], len(changes) - 1

    for cell in order:
        if high[cell] - low[cell] >= width - 1e-9:
            continue
        own = system.members.indices[system.members.indptr[cell] : system.members.indptr[cell + 1]]
        stages = _stages(pattern, free, own)
        room = float(system.values[cell] - floor)
        plans = [[(width, 1.0)]]
        if room > 0 and width - room > 0:
            plans.append([(width - room, 1.0), (room, -1.0)])
        for plan in plans:
            found = []
            for amount, sign in plan:
                for fines in stages:
                    step = _raise_fine(system, hidden, columns, fines, int(cell), amount * sign,
                                       floor)  # fmt: skip
                    if step is not None:
                        found.append((fines, step))
                        break
            if len(found) == len(plan):
                for fines, step in found:
                    keep(fines, step)
                break
    proofs: dict[int, list[Change]] = {}
    for cell in order:
        if high[cell] - low[cell] >= width - 1e-9:
            proofs[int(cell)] = [changes[i] for i in (best_high[cell], best_low[cell]) if i >= 0]
    return proofs


def _stages(pattern: SourcePattern, free: np.ndarray, own: np.ndarray) -> list[np.ndarray]:
    """Fine cells a proof may change, nearest first.

    A change that raises one cell must be balanced on every published
    margin: by other codes, other areas and other months at once (a
    rectangle of fine cells), so each stage is a product: the cell's own
    codes and areas with the largest others (by hidden count) over its
    months, then its quarter, then its year, then every hidden fine cell.
    """
    system = pattern.system
    categories = system.categories
    periods = categories[:, -1]
    starts = _period_starts(pattern)
    own_periods = np.unique(periods[own])
    quarters = starts.to_period("Q")[own_periods].unique()
    years = starts.year[own_periods].unique()
    near = free.copy()
    for dim in range(categories.shape[1] - 1):
        totals = np.bincount(
            categories[free, dim],
            weights=system.fine_values[free],
            minlength=int(categories[:, dim].max()) + 1,
        )
        totals[np.unique(categories[own, dim])] = np.inf
        near &= np.isin(categories[:, dim], np.argsort(-totals, kind="stable")[:8])
    out = []
    for chosen in (
        own_periods,
        np.flatnonzero(starts.to_period("Q").isin(quarters)),
        np.flatnonzero(starts.year.isin(years)),
    ):
        out.append(np.flatnonzero(near & np.isin(periods, chosen)))
    out.append(np.flatnonzero(free))
    return out


def _period_starts(pattern: SourcePattern) -> pd.DatetimeIndex:
    """The start of each fine period category of a source pattern (its last dimension)."""
    system = pattern.system
    cached = system.__dict__.get("_linked_starts")
    if cached is None:
        kind = pattern.period_kinds[0]
        periods = system.categories[:, -1]
        starts: list[Any] = [pd.NaT] * (int(periods.max()) + 1)
        for view, cell in system.views.items():
            period: Any = view[-1]
            if period[0] == kind and system.sizes[cell] == 1:
                fine = system.members.indices[system.members.indptr[cell]]
                starts[int(periods[fine])] = period[1]
        cached = pd.DatetimeIndex(pd.to_datetime(starts))
        object.__setattr__(system, "_linked_starts", cached)
    return cached


def _raise_fine(
    system: Any,
    hidden: np.ndarray,
    columns: sparse.csc_matrix,
    fines: np.ndarray,
    cell: int,
    amount: float,
    floor: float,
) -> np.ndarray | None:
    """The smallest change of `fines` moving `cell` by `amount` (up or down), published kept."""
    if not len(fines):
        return None
    block = columns[:, fines].tocsr()
    rows = np.flatnonzero(np.diff(block.indptr) > 0)
    if cell not in set(rows.tolist()):
        return None
    published = rows[~hidden[rows]]
    kept = rows[hidden[rows]]
    n = len(fines)
    goal = block[[cell]] * (1.0 if amount > 0 else -1.0)
    upper_rows = sparse.vstack([block[kept], goal], format="csr")
    result = linprog(
        np.ones(2 * n),
        A_ub=sparse.hstack([-upper_rows, upper_rows], format="csr"),
        b_ub=np.concatenate([system.values[kept] - floor, [-abs(amount)]]),
        A_eq=sparse.hstack([block[published], -block[published]], format="csr")
        if len(published)
        else None,
        b_eq=np.zeros(len(published)) if len(published) else None,
        bounds=np.column_stack(
            [
                np.zeros(2 * n),
                np.concatenate([np.full(n, np.inf), system.fine_values[fines] - floor]),
            ]
        ),
        method="highs",
    )
    if result.status != 0:
        return None
    return np.asarray(result.x[:n] - result.x[n:])


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


def _refuse(result: LinkedProtection, frame: pd.DataFrame, what: str, advice: str) -> None:
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
            f"a request may use; it is not published. {advice}"
        )
    raise DisclosureRefusedError(
        f"{what}: {count} small count(s){example} could be narrowed below the small-count "
        "threshold by comparing this table with the source's published monthly tables, "
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
    the table needs no finer one) x the query's tags, over the whole months
    the table touches; each row of `frame` is a sum of them.

    Raises
    ------
    DisclosureRefusedError
        If the slice is too large to protect during a request, or a small
        count cannot be protected at this grain.
    InvalidInputError
        If the table or the warehouse no longer matches the pattern.
    """
    from crimeprev.store.warehouse import Warehouse

    assert isinstance(warehouse, Warehouse)
    key = (
        "counts", query.source, query.level, query.period, query.by_area, tuple(query.tags),
        query.iccs_code, query.start, query.end, value, len(frame), float(frame[value].sum()),
    )  # fmt: skip
    status: list[str] = _cached(
        pattern, key, lambda: _linked_counts(warehouse, query, frame, pattern, value, cache_dir)
    )
    return pd.Series(status, index=frame.index, dtype=object)


def _linked_counts(
    warehouse: Warehouse,
    query: CountQuery,
    frame: pd.DataFrame,
    pattern: SourcePattern,
    value: str,
    cache_dir: Path | None = None,
) -> list[str]:
    from crimeprev.indicators.counts import CountQuery, count_incidents
    from crimeprev.standards.iccs import LEVELS

    if frame.empty:
        return []
    kind = pattern.period_kinds[0]
    fine_day = _precision_rank(warehouse, query.source) >= 4
    cuts = any(d is not None and _period_start(d, kind) != d for d in (query.start, query.end))
    grain = "day" if fine_day and (query.period in ("week", "day") or cuts) else kind
    low = _period_start(query.start, kind) if query.start else None
    high = None
    if query.end is not None:
        last = _period_start(query.end - timedelta(days=1), kind)
        high = (pd.Timestamp(last).to_period(_TRUNCATE[kind]) + 1).start_time.date()
    sub = count_incidents(
        warehouse,
        CountQuery(
            source=query.source, level=None, period=grain, by_area=True,
            tags=tuple(query.tags), start=low, end=high,
        ),
    )  # fmt: skip
    sub = sub[sub["count"].fillna(0) > 0].reset_index(drop=True)
    if len(sub) > MAX_SUB_CELLS:
        raise DisclosureRefusedError(
            f"this table is cut from {len(sub):,} counts by ICCS code x area x {grain}, more than "
            f"the {MAX_SUB_CELLS:,} that can be protected jointly with the source's published "
            "monthly tables during a request; it is not published. Ask for a shorter date range "
            "or a coarser period (month, quarter or year)."
        )
    days = pd.to_datetime(sub["period"])
    starts = days.dt.to_period(_TRUNCATE[kind]).dt.start_time
    fine = _fine_cells(pattern, sub["iccs_code"], sub["area_id"], starts)
    # Each sub-cell's row of the table (the roll-up rule of count_expression).
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
    keys = {"iccs_code": codes}
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
    names = list(keys)
    table_keys = frame[names].copy()
    if "period" in table_keys:
        table_keys["period"] = pd.to_datetime(table_keys["period"])
    sub_keys = pd.DataFrame(keys)
    index = {_key(row): position for position, row in enumerate(table_keys.itertuples(index=False))}
    row_of = np.array([index.get(_key(row), -1) for row in sub_keys.itertuples(index=False)])
    row_of[~inside] = -1
    if (row_of[inside] < 0).any():
        raise InvalidInputError(
            "the counts table lacks a row the warehouse counts; it changed since (ask again)"
        )
    used = np.flatnonzero(row_of >= 0)
    rows = sparse.csr_matrix(
        (np.ones(len(used)), (row_of[used], used)), shape=(len(frame), len(sub))
    )
    values = sub["count"].to_numpy(dtype=float)
    if not np.allclose(rows @ values, frame[value].fillna(0).to_numpy(dtype=float), atol=1e-6):
        raise InvalidInputError(
            "the counts table does not add up to the counts by day it is cut from; "
            "the warehouse changed since (ask again)"
        )
    result = protect_linked(pattern, fine, values, rows, cache_dir=cache_dir)
    _refuse(
        result,
        frame,
        f"the table of {query.source} by {query.period or 'all periods'}"
        + (f" and {', '.join(query.tags)}" if query.tags else ""),
        "Ask for a coarser table: by month, quarter or year, without areas, or at a higher "
        "ICCS level.",
    )
    return result.status


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
