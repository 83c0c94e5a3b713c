"""The joint system of a finer table and a source's pattern: private to
:mod:`crimeprev.indicators.linked_protection` (which states the method)."""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from scipy import sparse
from scipy.optimize import linprog

from crimeprev.errors import InvalidInputError
from crimeprev.indicators._linked_proofs import _period_starts, pattern_proofs
from crimeprev.indicators.disclosure import PRIMARY, PUBLISHED, SECONDARY
from crimeprev.indicators.source_protection import ALL, SourcePattern, period_key


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
    ``alternatives`` holds the proofs found, as changes of the sub-cells
    (positions, change), for the next table of the ledger to try first.
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
    alternatives: list[tuple[np.ndarray, np.ndarray]] = field(default_factory=list)


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
        hidden: np.ndarray | None = None,
        layers: np.ndarray | None = None,
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
        if hidden is not None:  # rows hidden in an earlier release stay hidden
            np.logical_or.at(self.t_hidden, self.cell_of_row, np.asarray(hidden, bool))
        self.t_fixed &= ~small
        self.t_fixed |= linked  # a pattern cell changes only where the pattern hides it
        self.floor = 1.0 if np.all(values == np.round(values)) else 0.0
        self.t_low, self.t_high = self.t_values.copy(), self.t_values.copy()
        self.p_low, self.p_high = self.p_values.copy(), self.p_values.copy()
        self._layer_rows(table, layers)
        self.partition = bool(np.all(np.diff(self.t_columns.indptr) <= 1)) and not self.layered
        self.open_slots = open_slots
        self.programmes = 0
        self.deadline = np.inf
        self.gave_up = False
        self.lifts = 0
        self.exposed_t: list[int] = []
        self.alternatives: list[tuple[np.ndarray, np.ndarray]] = []
        self.exposed_p: list[int] = []
        self.months: np.ndarray = system.categories[self.fine, -1]

    def _layer_rows(self, table: sparse.csr_matrix, layers: np.ndarray | None) -> None:
        """Each sub-cell's row in each layer (a table of the ledger), -1 where it is in none.

        ``split`` says every layer's rows split the sub-cells (each sub-cell
        in at most one row of a layer), which the cheap proofs need.
        """
        layer_of_row = np.zeros(table.shape[0], np.int64) if layers is None else np.asarray(layers)
        count = int(layer_of_row.max()) + 1 if len(layer_of_row) else 1
        self.layered = count > 1
        self._rows_of_sub = np.full((count, self.n), -1, dtype=np.int64)
        self.split = True
        for layer in range(count):
            members = np.flatnonzero(layer_of_row == layer)
            block = table[members].tocoo()
            if len(block.col) and np.bincount(block.col).max() > 1:
                self.split = False
            self._rows_of_sub[layer, block.col] = self.cell_of_row[members[block.row]]

    # -- proofs ---------------------------------------------------------------------------
    def _add(
        self, t_change: np.ndarray, p_change: np.ndarray, change: np.ndarray | None = None
    ) -> None:
        """Keep an alternative table (true values + change) and the opposite one where valid.

        The opposite change is kept only when the change of each sub-cell is
        known (`change`), so that no count goes below zero.
        """
        self.t_hidden[(np.abs(t_change) > 1e-7) & ~self.t_hidden] = True
        if change is not None:
            self._keep(change)
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
        # Every listed row keeps its floor, a published row the change hides
        # too: the reader knows a listed row is not empty.
        floored = np.concatenate([t_hid, t_pub])
        inequality = sparse.hstack([-t_block[floored], zeros((len(floored), 2 * m))], format="csr")
        bounds = np.zeros((k + n + 2 * m, 2))
        bounds[:, 1] = np.inf
        bounds[k : k + n, 1] = self.x[area]
        result = linprog(
            np.concatenate([np.full(k + n, 1e-6), np.tile(self.t_cost[t_pub], 2)]),
            A_ub=inequality if len(floored) else None,
            b_ub=(self.t_values[floored] - self.floor) if len(floored) else None,
            A_eq=equality,
            b_eq=target,
            bounds=bounds,
            method="highs",
        )
        if result.status != 0:
            return False
        t_change = t_block @ result.x[: k + n]
        if k == n:
            change = np.zeros(self.n)
            change[area] = result.x[:n] - result.x[n : 2 * n]
            if self.partition:
                t_change = self._repair(change)
            if np.abs(full[np.setdiff1d(fines, present)]).max(initial=0.0) < 1e-9:
                self._keep(change)  # the whole change lies inside the slice
        t_change[np.abs(t_change) < 1e-7] = 0.0
        self.t_hidden[(t_change != 0) & ~self.t_hidden] = True
        self._widen(t_change, p_change)
        return True

    def _repair(self, change: np.ndarray) -> np.ndarray:
        """Undo what `change` does to published rows by moving units inside fine cells.

        Where a published row rose and another fell, a fine cell with
        sub-cells in both can give units from the first to the second: no
        pattern cell moves (the fine cell's total stays), both rows come
        back. Returns the table's change after the moves (`change` is updated).
        """
        t_change = self.t @ change
        moved = np.flatnonzero((np.abs(t_change) > 1e-7) & ~self.t_hidden)
        ups = [int(r) for r in moved if t_change[r] > 0]
        downs = [int(r) for r in moved if t_change[r] < 0]
        for up in ups:
            givers = self.t.indices[self.t.indptr[up] : self.t.indptr[up + 1]]
            for down in downs:
                if t_change[up] <= 1e-9:
                    break
                if t_change[down] >= -1e-9:
                    continue
                takers: dict[int, int] = {}
                for sub in self.t.indices[self.t.indptr[down] : self.t.indptr[down + 1]]:
                    takers.setdefault(int(self.fine[sub]), int(sub))
                for sub in givers:
                    taker = takers.get(int(self.fine[sub]))
                    if taker is None:
                        continue
                    amount = min(t_change[up], -t_change[down], self.x[sub] + change[sub])
                    if amount <= 1e-9:
                        continue
                    change[sub] -= amount
                    change[taker] += amount
                    t_change[up] -= amount
                    t_change[down] += amount
                    if t_change[up] <= 1e-9 or t_change[down] >= -1e-9:
                        break
        return self.t @ change

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
        if not self.split:
            return None
        change = np.zeros(self.n)
        room = self.t_values - self.floor
        for fine_cell, step in zip(fines, steps, strict=True):
            subs = area[self.fine[area] == fine_cell]
            # A sub-cell may move when its row in every layer is hidden (or it has none).
            rows = self._rows_of_sub[:, subs]
            open_rows = np.all((rows < 0) | self.t_hidden[np.maximum(rows, 0)], axis=0)
            subs, rows = subs[open_rows], rows[:, open_rows]
            if not len(subs):
                return None
            if step > 0:
                change[subs[0]] += step
                continue
            left = -step
            for position, sub in enumerate(subs):
                own_rows = np.unique(rows[:, position])
                own_rows = own_rows[own_rows >= 0]
                limit = float(room[own_rows].min()) if len(own_rows) else np.inf
                take = min(self.x[sub] + change[sub], left, limit)
                if take <= 0:
                    continue
                change[sub] -= take
                room[own_rows] -= take
                left -= take
                if left <= 1e-12:
                    break
            if left > 1e-9:
                return None
        t_change = self.t @ change
        t_change[np.abs(t_change) < 1e-7] = 0.0
        return t_change

    def _keep(self, change: np.ndarray) -> None:
        """Remember a proof (a change of the sub-cells) for the ledger's next table."""
        moved = np.flatnonzero(np.abs(change) > 1e-9)
        if len(moved):
            self.alternatives.append((moved, change[moved].copy()))

    def _reuse(self, proofs: list[tuple[np.ndarray, np.ndarray]], most_hidden: int = 3) -> None:
        """Try the proofs an earlier table of the ledger found, before any programme.

        A proof kept every published cell of the pattern and every shown row
        of the tables before; it is used where that still holds, where every
        count and hidden cell keeps its floor, and where it hides at most
        `most_hidden` shown rows of the new table.
        """
        for positions, steps in proofs:
            change = np.zeros(self.n)
            change[positions] = steps
            if (self.x + change < -1e-9).any():
                continue
            t_change = self.t @ change
            p_change = self.p @ change
            t_moved = np.abs(t_change) > 1e-7
            p_moved = np.abs(p_change) > 1e-7
            if (t_moved & self.t_fixed & ~self.t_hidden).any() or (p_moved & ~self.p_hidden).any():
                continue
            if (self.t_values[t_moved] + t_change[t_moved] < self.floor - 1e-9).any():
                continue
            if (self.p_values[p_moved] + p_change[p_moved] < self.floor - 1e-9).any():
                continue
            if (t_moved & ~self.t_hidden).sum() > most_hidden:
                continue
            t_change[~t_moved] = 0.0
            p_change[~p_moved] = 0.0
            self._add(t_change, p_change, change)

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

    def _shift_across_layers(self, cell: int, width: float) -> bool:
        """:meth:`_shift_within_fine_cells` when several tables (layers) share the sub-cells.

        A unit may move from a sub-cell to one of the row's own sub-cells of
        the same fine cell when, in every layer, both lie in the same row or
        both rows are hidden (or absent): no published row of any table and
        no pattern cell moves; each hidden row that falls keeps its floor.
        Rows of the new table that block a move are hidden as complements
        (the smallest that closes the gap, else the one unblocking most).
        """
        own = self.t.indices[self.t.indptr[cell] : self.t.indptr[cell + 1]]
        if not len(own):
            return False
        partners = np.flatnonzero(np.isin(self.fine, self.fine[own]))
        partners = partners[~np.isin(partners, own)]
        if not len(partners):
            return False
        while True:
            change, gained, blockers = self._layered_moves(own, partners, width)
            if change is not None:
                self._add(self.t @ change, self.p @ change, change)
                return True
            if not blockers:
                return False
            enough = [row for row, units in blockers.items() if units >= width - gained - 1e-9]
            if enough:
                pick = min(enough, key=lambda row: float(self.t_values[row]))
            else:
                pick = max(blockers, key=lambda row: blockers[row])
            self.t_hidden[pick] = True

    def _layered_moves(
        self, own: np.ndarray, partners: np.ndarray, width: float
    ) -> tuple[np.ndarray | None, float, dict[int, float]]:
        """The moves of :meth:`_shift_across_layers` as hidden rows stand now.

        Returns the change (None if it falls short of `width`), the units
        moved, and for each published row that may still be hidden the units
        it blocks.
        """
        rows = self._rows_of_sub
        change = np.zeros(self.n)
        room: dict[int, float] = {}
        blockers: dict[int, float] = {}
        left = width
        for partner in partners:
            if left <= 1e-12:
                break
            giver = rows[:, partner]
            chosen = -1
            for receiver in own[self.fine[own] == self.fine[partner]]:
                taker = rows[:, receiver]
                differ = giver != taker
                moved = np.concatenate([giver[differ], taker[differ]])
                moved = moved[moved >= 0]
                shown = np.unique(moved[~self.t_hidden[moved]])
                if not len(shown):
                    chosen = int(receiver)
                    break
                if not self.t_fixed[shown].any():
                    for row in shown.tolist():
                        blockers[row] = blockers.get(row, 0.0) + float(self.x[partner])
            if chosen < 0:
                continue
            falling = np.unique(giver[(giver != rows[:, chosen]) & (giver >= 0)])
            limit = min(float(self.x[partner]), left)
            for row in falling.tolist():
                limit = min(limit, room.get(row, float(self.t_values[row] - self.floor)))
            if limit <= 1e-12:
                continue
            change[partner] -= limit
            change[chosen] += limit
            for row in falling.tolist():
                room[row] = room.get(row, float(self.t_values[row] - self.floor)) - limit
            left -= limit
        if left > 1e-9:
            left = self._cycle_moves(own, partners, change, room, left, blockers)
        if left <= 1e-9:
            return change, width, {}
        return None, width - left, blockers

    def _cycle_moves(
        self,
        own: np.ndarray,
        partners: np.ndarray,
        change: np.ndarray,
        room: dict[int, float],
        left: float,
        blockers: dict[int, float],
    ) -> float:
        """Moves around a rectangle where a direct move is blocked by a shown row.

        A unit into own sub-cell ``o`` out of ``p`` (same fine cell) moves a
        shown row of some table (``o``'s row up, ``p``'s down); a unit out of
        ``q`` in ``o``'s row into ``s`` in ``p``'s row (``q`` and ``s`` of
        one fine cell) moves them back. Kept when no shown row of any table
        moves in the end (e.g. a day's codes at level 2 under a shown level-1
        day: two codes trade a unit on two days). Shown rows of the new table
        in the way are added to `blockers`. Returns what is left.
        """
        rows = self._rows_of_sub
        own_set = set(own.tolist())

        def cells(sub: int) -> np.ndarray:
            found = np.unique(rows[:, sub])
            return found[found >= 0]

        for receiver in own.tolist():
            for partner in partners[self.fine[partners] == self.fine[receiver]].tolist():
                if left <= 1e-9:
                    return left
                differ = np.flatnonzero(rows[:, partner] != rows[:, receiver])
                blocking = [
                    k
                    for k in differ.tolist()
                    if rows[k, receiver] >= 0
                    and rows[k, partner] >= 0
                    and not self.t_hidden[rows[k, receiver]]
                ]
                if not blocking:
                    continue
                up_row, down_row = rows[blocking[0], receiver], rows[blocking[0], partner]
                down_members = self.t.indices[self.t.indptr[down_row] : self.t.indptr[down_row + 1]]
                by_fine = {int(self.fine[z]): int(z) for z in down_members if z != partner}
                members = self.t.indices[self.t.indptr[up_row] : self.t.indptr[up_row + 1]]
                for giver in members.tolist():
                    taker = by_fine.get(int(self.fine[giver]))
                    if giver in own_set or taker is None or taker in own_set:
                        continue
                    if self.x[giver] + change[giver] <= 1e-9:
                        continue
                    net: dict[int, int] = {}
                    for sub, sign in ((receiver, 1), (partner, -1), (giver, -1), (taker, 1)):
                        for row in cells(sub).tolist():
                            net[row] = net.get(row, 0) + sign
                    moved = [row for row, step in net.items() if step != 0]
                    shown = [row for row in moved if not self.t_hidden[row]]
                    if shown:
                        if not any(self.t_fixed[row] for row in shown):
                            units = float(min(self.x[partner], self.x[giver]))
                            for row in shown:
                                blockers[row] = blockers.get(row, 0.0) + units / len(shown)
                        continue
                    falling = [row for row in moved if net[row] < 0]
                    amount = min(
                        left,
                        float(self.x[partner] + change[partner]),
                        float(self.x[giver] + change[giver]),
                        *(
                            room.get(row, float(self.t_values[row] - self.floor)) / -net[row]
                            for row in falling
                        ),
                    )
                    if amount <= 1e-9:
                        continue
                    change[receiver] += amount
                    change[partner] -= amount
                    change[giver] -= amount
                    change[taker] += amount
                    for row in falling:
                        room[row] = (
                            room.get(row, float(self.t_values[row] - self.floor))
                            + net[row] * amount
                        )
                    left -= amount
                    if left <= 1e-9 or self.x[partner] + change[partner] <= 1e-9:
                        break
        return left

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
        # Every listed row keeps its floor, a published row the change hides
        # too: the reader knows a listed row is not empty.
        upper_rows = sparse.vstack(
            [p_block[p_hid], t_block[t_hid], t_block[t_pub], goal], format="csr"
        )
        inequality = sparse.hstack([-upper_rows, zeros((upper_rows.shape[0], 2 * m))], format="csr")
        limit = np.concatenate(
            [
                self.p_values[p_hid] - self.floor,
                self.t_values[t_hid] - self.floor,
                self.t_values[t_pub] - self.floor,
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
        if self.programmes >= budget or time.monotonic() > self.deadline:
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

    def run(
        self,
        width: float,
        budget: int,
        cache_dir: Path | None = None,
        reuse: list[tuple[np.ndarray, np.ndarray]] | None = None,
        seconds: float | None = None,
    ) -> None:
        """Prove every small row of the table and every small pattern cell it touches.

        No programme is started after `budget` programmes or `seconds`
        seconds: the cells still unproven are then exposed (``gave_up``).
        """
        if seconds is not None:
            self.deadline = time.monotonic() + seconds
        if reuse:
            self._reuse(reuse)
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
            if self.partition and self._shift_within_fine_cells(int(cell), width):
                continue
            if self.layered and self.split and self._shift_across_layers(int(cell), width):
                continue
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
            alternatives=self.alternatives,
        )
