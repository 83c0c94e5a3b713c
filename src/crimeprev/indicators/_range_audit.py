"""The exact feasible range of each hidden small cell of a pattern: a fast audit.

:func:`crimeprev.indicators._joint_audit.protect_cells` builds a pattern and
proves it safe on the way. This module answers the reverse question for any
pattern, e.g. one read from disk or made by other means: given the hidden
cells, what can a reader who knows every published cell, that counts are
non-negative and that a listed hidden cell is at least 1 (whole counts)
work out about each small one? The answer is two linear programmes per
small cell (its smallest and largest value), made fast in three ways:

* the unknowns fall apart into independent groups (fine cells linked only
  through published cells that add up hidden ones); each group is its own
  programme, and a cell's range is the sum of its groups' ranges;
* one HiGHS model per group is kept and only the objective changes
  between cells, so each solve starts from the last one's basis;
* every solution found is a table the reader cannot rule out, so it gives
  every small cell a value: a cell whose values over all solutions so far
  already span the width needs no programme of its own.

A cell proven this way gets the spread of those values (a lower bound on
its range); every other cell gets its exact range.
"""

from __future__ import annotations

from dataclasses import dataclass

import highspy
import numpy as np
from scipy import sparse
from scipy.sparse.csgraph import connected_components

from crimeprev.indicators._joint_audit import CellSystem


@dataclass(frozen=True)
class RangeAudit:
    """The audited small cells and what a reader can work out about each.

    ``cells`` are the cells in ``1 .. threshold-1``; ``lower`` and
    ``upper`` bound the values a reader cannot rule out: the exact extremes
    where ``exact``, else the spread over the solutions found, already at
    least ``width`` wide. A published small cell has its own value for both.
    """

    cells: np.ndarray
    lower: np.ndarray
    upper: np.ndarray
    exact: np.ndarray
    width: float
    linear_programmes: int

    @property
    def safe(self) -> np.ndarray:
        """Whether each cell's range is at least the width (1e-6 allowed for rounding)."""
        return np.asarray(self.upper - self.lower >= self.width - 1e-6)


def audit_cells(
    system: CellSystem, hidden: np.ndarray, *, threshold: int, protection: float | None = None
) -> RangeAudit:
    """The feasible range of every small cell of `system` when the cells `hidden` are hidden.

    Parameters
    ----------
    system : CellSystem
        The fine cells and every published cell over them.
    hidden : ndarray of bool
        Which cells of `system` are hidden.
    threshold : int
        Cells from 1 to ``threshold - 1`` are the small ones audited.
    protection : float, optional
        The width each small cell's range must reach (default: the threshold).

    Examples
    --------
    >>> from crimeprev.indicators._joint_audit import build_cells
    >>> system = build_cells([np.array([0, 1])], np.array([3.0, 9.0]),
    ...                      [{"a": np.array([0]), "b": np.array([1]), "all": np.array([0, 1])}])
    >>> both = np.array([system.views[(k,)] for k in ("a", "b")])
    >>> only_small = np.zeros(3, bool); only_small[system.views[("a",)]] = True
    >>> audit_cells(system, only_small, threshold=5).safe.tolist()  # 12 - 9 gives it back
    [False]
    >>> with_partner = only_small.copy(); with_partner[both] = True
    >>> audit = audit_cells(system, with_partner, threshold=5)
    >>> audit.safe.tolist(), float(audit.lower[0]), float(audit.upper[0])
    ([True], 1.0, 11.0)
    """
    width = float(threshold if protection is None else protection)
    hidden = np.asarray(hidden, dtype=bool)
    values = system.values
    cells = np.flatnonzero((values > 0) & (values < threshold))
    lower, upper = values[cells].copy(), values[cells].copy()
    exact = np.ones(len(cells), dtype=bool)
    integral = bool(np.all(system.fine_values == np.round(system.fine_values)))
    floor = 1.0 if integral else 0.0
    unknown = np.flatnonzero(hidden[system.finest])
    targets = np.flatnonzero(hidden[cells])
    if not len(unknown) or not len(targets):
        return RangeAudit(cells, lower, upper, exact, width, 0)
    known = system.fine_values.copy()
    known[unknown] = 0.0
    over_unknown = system.columns[:, unknown].tocsr()  # cells x unknowns
    rows = np.flatnonzero(~hidden & (np.diff(over_unknown.indptr) > 0))
    equations = over_unknown[rows]
    right = values[rows] - system.members[rows] @ known
    # Unknowns tied by a published cell are in one group; the rest are apart.
    graph = sparse.bmat([[None, equations], [equations.T, None]], format="csr")
    _, label = connected_components(graph, directed=False)
    group_of = label[len(rows) :]
    row_group = label[: len(rows)]
    parts = over_unknown[cells[targets]].tocsr()  # targets x unknowns
    known_part = system.members[cells[targets]] @ known
    auditor = _Auditor(equations, right, group_of, row_group, parts, system.fine_values[unknown])
    auditor.floor = floor
    auditor.explore()
    for position, target in enumerate(targets):
        if auditor.spread[position] >= width - 1e-9:
            continue
        found = auditor.extremes(position, width)
        if found is not None:
            lower[target], upper[target] = (
                known_part[position] + found[0],
                known_part[position] + found[1],
            )
    for position, target in enumerate(targets):
        if not auditor.done[position]:
            lower[target] = known_part[position] + auditor.low_total(position)
            upper[target] = lower[target] + auditor.spread[position]
            exact[target] = False
    return RangeAudit(cells, lower, upper, exact, width, auditor.solved)


#: Random objectives per group of unknowns, in groups that at least this many cells touch.
_EXPLORATIONS = 16
_EXPLORE_FROM = 20


class _Auditor:
    """One HiGHS model per group of unknowns, and each target's spread over the solutions."""

    def __init__(
        self,
        equations: sparse.csr_matrix,
        right: np.ndarray,
        group_of: np.ndarray,
        row_group: np.ndarray,
        parts: sparse.csr_matrix,
        truth: np.ndarray,
    ) -> None:
        self.equations = equations
        self.right = right
        self.group_of = group_of
        self.row_group = row_group
        self.parts = parts
        self.truth = truth
        self.floor = 0.0
        self.solved = 0
        self.models: dict[int, _Group] = {}
        self.spread = np.zeros(parts.shape[0])
        self.done = np.zeros(parts.shape[0], dtype=bool)

    def groups_of(self, target: int) -> np.ndarray:
        columns = self.parts.indices[self.parts.indptr[target] : self.parts.indptr[target + 1]]
        return np.unique(self.group_of[columns])

    def low_total(self, target: int) -> float:
        """The lowest sum of the target's unknowns over the solutions (per group)."""
        begin, end = self.parts.indptr[target], self.parts.indptr[target + 1]
        total = float(self.parts.data[begin:end] @ self.truth[self.parts.indices[begin:end]])
        for group in self.groups_of(target):
            model = self.models.get(int(group))
            if model is not None:
                at = int(np.searchsorted(model.targets, target))
                total += float(model.low[at] - model.true_parts[at])
        return total

    def extremes(self, target: int, width: float) -> tuple[float, float] | None:
        """The exact lowest and highest sum of `target`'s unknowns; None once proven wide."""
        low = high = 0.0
        for group in self.groups_of(target):
            model = self._model(int(group))
            for sense in (1.0, -1.0):
                value = model.optimise(self.parts, target, sense)
                self.solved += 1
                if value is None:  # unbounded above
                    self.spread[target] = np.inf
                    return None
                self._record(model, model.solution)
                if self.spread[target] >= width - 1e-9:
                    return None
                if sense > 0:
                    low += value
                else:
                    high -= value
        self.done[target] = True
        return low, high

    def explore(self) -> None:
        """Solve a few random objectives in each large group, before any cell's own.

        A solution for one cell's objective moves few others; one for a
        random direction ends at a vertex where many cells are at an
        extreme at once, and proves them together (a third of the programmes
        on the 10-area benchmark table, 356 instead of 984, with 16 of them).
        """
        rng = np.random.default_rng(20261129)
        groups, counts = np.unique(self.group_of[self.parts.indices], return_counts=True)
        for group in groups[counts >= _EXPLORE_FROM]:
            model = self._model(int(group))
            for _ in range(_EXPLORATIONS):
                if model.optimise_weights(rng.normal(size=len(model.columns))):
                    self.solved += 1
                    self._record(model, model.solution)

    def _model(self, group: int) -> _Group:
        if group not in self.models:
            self.models[group] = _Group(self, group)
        return self.models[group]

    def _record(self, model: _Group, solution: np.ndarray) -> None:
        """Widen every target's part in the model's group by one more solution."""
        sums = model.target_parts @ solution
        low = np.minimum(model.low, sums)
        high = np.maximum(model.high, sums)
        self.spread[model.targets] += (high - low) - (model.high - model.low)
        model.low, model.high = low, high


class _Group:
    """A HiGHS model of one group of unknowns; objectives change, the basis is kept."""

    def __init__(self, auditor: _Auditor, group: int) -> None:
        self.columns = np.flatnonzero(auditor.group_of == group)
        rows = np.flatnonzero(auditor.row_group == group)
        block = auditor.equations[rows][:, self.columns].tocsc()
        on_group = auditor.parts[:, self.columns].tocsr()
        self.targets = np.flatnonzero(np.diff(on_group.indptr) > 0)
        self.target_parts = on_group[self.targets]
        # Each target's part in the true table: the first solution.
        self.true_parts = self.target_parts @ auditor.truth[self.columns]
        self.low = self.true_parts.copy()
        self.high = self.true_parts.copy()
        self.local = np.full(auditor.parts.shape[1], -1, dtype=np.int64)
        self.local[self.columns] = np.arange(len(self.columns))
        n = len(self.columns)
        self.solver = highspy._core._Highs()
        self.solver.setOptionValue("output_flag", False)
        # Presolve would drop the basis that makes the next solve short; the
        # basis stays feasible when only the objective changes, so the primal
        # simplex goes on from it (the dual one took hundreds of iterations each).
        self.solver.setOptionValue("presolve", "off")
        self.solver.setOptionValue("simplex_strategy", 4)
        self.solver.passModel(
            n,
            len(rows),
            block.nnz,
            int(highspy.MatrixFormat.kColwise),
            int(highspy.ObjSense.kMinimize),
            0.0,
            np.zeros(n),
            np.full(n, auditor.floor),
            np.full(n, highspy.kHighsInf),
            auditor.right[rows],
            auditor.right[rows],
            block.indptr[:-1].astype(np.int32),
            block.indices.astype(np.int32),
            block.data.astype(float),
            np.zeros(n, dtype=np.int32),
        )
        self.objective = np.zeros(0, dtype=np.int32)
        self.solution = np.zeros(n)

    def optimise_weights(self, weights: np.ndarray) -> bool:
        """Minimise ``weights @ x``; whether a solution was found (not unbounded)."""
        everything = np.arange(len(weights), dtype=np.int32)
        self.solver.changeColsCost(len(weights), everything, weights)
        self.objective = everything
        self.solver.run()
        if self.solver.getModelStatus() != highspy.HighsModelStatus.kOptimal:
            return False
        self.solution = np.asarray(self.solver.getSolution().col_value)
        return True

    def optimise(self, parts: sparse.csr_matrix, target: int, sense: float) -> float | None:
        """Minimise ``sense`` times the target's part; None if that is unbounded below."""
        mine = parts.indices[parts.indptr[target] : parts.indptr[target + 1]]
        local = self.local[mine]
        local = local[local >= 0].astype(np.int32)
        if len(self.objective):
            self.solver.changeColsCost(
                len(self.objective), self.objective, np.zeros(len(self.objective))
            )
        self.solver.changeColsCost(len(local), local, np.full(len(local), sense))
        self.objective = local
        self.solver.run()
        status = self.solver.getModelStatus()
        if status in (
            highspy.HighsModelStatus.kUnbounded,
            highspy.HighsModelStatus.kUnboundedOrInfeasible,
        ):
            return None
        if status != highspy.HighsModelStatus.kOptimal:
            raise RuntimeError(f"the disclosure audit's programme ended with {status}")
        self.solution = np.asarray(self.solver.getSolution().col_value)
        return float(self.solver.getInfo().objective_function_value)
