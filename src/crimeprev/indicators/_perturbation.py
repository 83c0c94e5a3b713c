"""The cheapest change of the fine table that protects one small cell: one small programme.

Private to :func:`crimeprev.indicators._joint_audit.protect_cells`, which
hides what each change touches and keeps the change as the proof.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import highspy
import numpy as np
from scipy import sparse

if TYPE_CHECKING:
    from crimeprev.indicators._joint_audit import CellSystem


@dataclass(frozen=True)
class Change:
    """A change of the fine table: its non-zero steps, its cost, where it reaches out."""

    fine: np.ndarray
    step: np.ndarray
    cost: float
    outside: np.ndarray


#: At most this many categories per dimension in a first, local programme.
_LOCAL_CATEGORIES = 6

#: HiGHS's codes for a column-wise matrix and for minimising.
_COLUMNWISE = int(highspy.MatrixFormat.kColwise)
_MINIMISE = int(highspy.ObjSense.kMinimize)


def gather(
    matrix: sparse.csr_matrix | sparse.csc_matrix, lines: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """The start offsets and indices of `lines` (rows of CSR, columns of CSC), in order.

    Plain index arithmetic: SciPy's fancy indexing builds a whole matrix
    and checked its arguments for longer than the rest of a programme took.
    """
    begin = matrix.indptr[lines]
    lengths = matrix.indptr[lines + 1] - begin
    starts = np.concatenate([[0], np.cumsum(lengths)])
    offsets = np.arange(starts[-1]) - np.repeat(starts[:-1] - begin, lengths)
    return starts, matrix.indices[offsets]


def depth(system: CellSystem, cell: int) -> np.ndarray:
    """How many steps up each dimension's hierarchy the cell's group can go."""
    steps = np.zeros(len(system.parents), dtype=np.int64)
    for dim, group in enumerate(system.cell_groups[cell]):
        while system.parents[dim][group] >= 0:
            group = system.parents[dim][group]
            steps[dim] += 1
    return steps


class Search:
    """Finds cheap changes of the fine table, one small linear programme each.

    Holds what every programme of one
    :func:`crimeprev.indicators._joint_audit.protect_cells` run shares (the
    solver, each cell's cost, a row look-up), so that a programme costs its
    solve and little else. `hidden` is the caller's array, read as it grows.
    """

    def __init__(self, system: CellSystem, hidden: np.ndarray, width: float, floor: float) -> None:
        self.system = system
        self.hidden = hidden
        self.width = width
        self.floor = floor
        # Hiding a coarse cell (a yearly total, an area's total) costs readers
        # far more than hiding a fine one: the cost grows with its size.
        self.cost = system.values * system.sizes.astype(float) ** 2
        self.extent = [
            int(system.categories[:, d].max()) + 1 if len(system.categories) else 0
            for d in range(system.categories.shape[1])
        ]
        self.row_at = np.full(len(system.values), -1, dtype=np.int64)
        self.solved = 0
        # The bare solver: highspy.Highs() prints a banner to standard output
        # on creation, which would end up in the CLI's output and exported files.
        self.solver = highspy._core._Highs()
        self.solver.setOptionValue("output_flag", False)
        self._fast_options()

    def _fast_options(self) -> None:
        # The serial dual simplex solves these small programmes 2-3 times
        # faster than the default choice, and without presolve, which costs
        # more than it saves on them, 1.5 times faster again (bench/RESULTS.md,
        # "disclosure").
        self.solver.setOptionValue("simplex_strategy", 1)
        self.solver.setOptionValue("presolve", "off")

    def neighbourhood(self, cell: int, reach: np.ndarray) -> tuple[list[np.ndarray], np.ndarray]:
        """The categories kept per dimension, and the fine cells inside them.

        Per dimension: the categories of the cell's ancestor group `reach`
        steps up, the cell's own and the largest others (by their count in
        that neighbourhood), at most :data:`_LOCAL_CATEGORIES`: a long
        dimension such as 80 areas would make every programme large, and
        complements are found among large counts.
        """
        system = self.system
        groups = system.cell_groups[cell]
        inside = np.ones(len(system.fine_values), dtype=bool)
        for dim, group in enumerate(groups):
            for _ in range(int(reach[dim])):
                if system.parents[dim][group] < 0:
                    break
                group = system.parents[dim][group]
            allowed = np.zeros(self.extent[dim], dtype=bool)
            allowed[system.group_members[dim][group]] = True
            inside &= allowed[system.categories[:, dim]]
        fine = np.flatnonzero(inside)
        kept = []
        keep = np.ones(len(fine), dtype=bool)
        for dim, group in enumerate(groups):
            own = system.group_members[dim][group]
            totals = np.bincount(
                system.categories[fine, dim],
                weights=system.fine_values[fine],
                minlength=self.extent[dim],
            )
            totals[own] = np.inf
            present = np.flatnonzero(totals > 0)
            order = present[np.argsort(-totals[present], kind="stable")]
            kept.append(order[: max(_LOCAL_CATEGORIES, len(own))])
            chosen = np.zeros(self.extent[dim], dtype=bool)
            chosen[kept[-1]] = True
            keep &= chosen[system.categories[fine, dim]]
        return kept, fine[keep]

    def perturbation(self, cell: int, reach: np.ndarray) -> Change | None:
        """The cheapest change of the fine table that raises `cell` by the width, or None.

        Variables: the rise and fall of each fine cell of the neighbourhood
        (a fall at most down to the floor) and the rise and fall of each
        published cell over them, which costs :attr:`cost` per unit; hidden
        cells are free to change, so their equations are left out (only the
        cell's own stays, fixing its rise). The change is valid once every
        cell it touches is hidden. ``outside`` marks the dimensions on which
        it touches a published cell that adds up fine cells outside the
        neighbourhood.
        """
        system, hidden = self.system, self.hidden
        kept, fine = self.neighbourhood(cell, reach)
        block_starts, block_rows = gather(system.columns, fine)
        rows = np.unique(block_rows)
        rows = rows[~hidden[rows] | (rows == cell)]
        self.row_at[rows] = np.arange(len(rows))
        local = self.row_at[block_rows]
        self.row_at[rows] = -1
        present = local >= 0
        counted = np.concatenate([[0], np.cumsum(present)])
        start = counted[block_starts]
        index = local[present]
        n, nnz = len(fine), len(index)
        published = np.flatnonzero(rows != cell)
        m = len(published)
        columns = 2 * n + 2 * m
        cost = self.cost[rows[published]]
        bounds = np.zeros(len(rows))
        bounds[np.searchsorted(rows, cell)] = self.width
        model = (
            columns,
            len(rows),
            2 * nnz + 2 * m,
            _COLUMNWISE,
            _MINIMISE,
            0.0,
            np.concatenate([np.full(2 * n, 1e-6), cost, cost]),
            np.zeros(columns),
            np.concatenate(
                [
                    np.full(n, highspy.kHighsInf),
                    system.fine_values[fine] - self.floor,
                    np.full(2 * m, highspy.kHighsInf),
                ]
            ),  # fmt: skip
            bounds,
            bounds,
            np.concatenate([start[:-1], nnz + start[:-1], 2 * nnz + np.arange(2 * m)]).astype(
                np.int32
            ),
            np.concatenate([index, index, published, published]).astype(np.int32),
            np.concatenate([np.ones(nnz), -np.ones(nnz), -np.ones(m), np.ones(m)]),
            np.zeros(columns, dtype=np.int32),
        )
        status = self._solve(model)
        self.solved += 1
        if status != highspy.HighsModelStatus.kOptimal:
            return None
        values = np.asarray(self.solver.getSolution().col_value)
        step = values[:n] - values[n : 2 * n]
        step[np.abs(step) < 1e-9] = 0.0
        moved = np.abs(values[2 * n : 2 * n + m] - values[2 * n + m :]) > 1e-7
        outside = np.zeros(len(kept), dtype=bool)
        if moved.any():
            _, reached = gather(system.members, rows[published[moved]])
            inside = np.zeros(len(system.fine_values), dtype=bool)
            inside[fine] = True
            beyond = np.unique(reached[~inside[reached]])
            for dim, categories in enumerate(kept):
                chosen = np.zeros(self.extent[dim], dtype=bool)
                chosen[categories] = True
                outside[dim] = bool((~chosen[system.categories[beyond, dim]]).any())
        nonzero = step != 0
        objective = float(self.solver.getInfo().objective_function_value)
        return Change(fine[nonzero], step[nonzero], objective, outside)

    def _solve(self, model: tuple[Any, ...]) -> highspy.HighsModelStatus:
        # The model goes in as arrays: setting them on a ``HighsLp`` converts
        # each through a Python list, which took as long as the solve.
        self.solver.passModel(*model)
        self.solver.run()
        status = self.solver.getModelStatus()
        if status != highspy.HighsModelStatus.kOptimal:
            # Rare numerical trouble: once more with the solver's own choices.
            self.solver.setOptionValue("simplex_strategy", 0)
            self.solver.setOptionValue("presolve", "on")
            self.solver.passModel(*model)
            self.solver.run()
            status = self.solver.getModelStatus()
            self._fast_options()
        return status
