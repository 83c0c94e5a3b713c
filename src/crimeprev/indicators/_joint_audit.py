"""One suppression pattern for every table cut from one fine table, and its fast audit.

Private to :mod:`crimeprev.indicators.disclosure` (which states the method).
A *fine cell* is one non-zero count of the finest table (ICCS code as coded
x area x month); a published *cell* is any set of fine cells that some output
adds up (a code, a parent code or all offences; an area or all areas; a
month, quarter, year or all periods). The reader's unknowns are the hidden
fine cells; every published cell is one linear equation over them.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass

import highspy
import numpy as np
import pandas as pd
from scipy import sparse

from crimeprev.errors import InvalidInputError

#: A view: one group key per dimension (e.g. ("prefix", "05"), ("area", "A"), ("year", "2020")).
View = tuple[Hashable, ...]


@dataclass(frozen=True)
class CellSystem:
    """Fine cells, the distinct published cells over them, and which view is which cell.

    ``members`` is the (cells x fine cells) 0/1 matrix; ``finest[i]`` is the
    cell made of fine cell ``i`` alone; ``views`` maps each group
    combination to its cell (combinations with the same non-zero fine cells
    are one cell, so they are hidden or shown together). ``categories`` is
    the (fine cells x dimensions) category matrix, ``group_members[d][g]``
    the categories of group ``g`` of dimension ``d``, ``parents[d][g]`` the
    smallest group strictly containing it (-1 for the whole dimension) and
    ``cell_groups[c]`` the finest group combination that adds up cell ``c``.
    """

    fine_values: np.ndarray
    members: sparse.csr_matrix
    values: np.ndarray
    finest: np.ndarray
    views: dict[View, int]
    sizes: np.ndarray
    categories: np.ndarray
    group_members: list[list[np.ndarray]]
    parents: list[np.ndarray]
    cell_groups: np.ndarray

    @property
    def columns(self) -> sparse.csc_matrix:
        """``members`` by column (fine cell), built once."""
        cached = self.__dict__.get("_columns")
        if cached is None:
            cached = self.members.tocsc()
            object.__setattr__(self, "_columns", cached)
        return cached


def _parents(members: list[np.ndarray]) -> np.ndarray:
    """The smallest strict superset of each group (groups of one dimension nest)."""
    sets = [frozenset(m.tolist()) for m in members]
    order = np.argsort([len(m) for m in sets], kind="stable")
    parents = np.full(len(sets), -1)
    for position, group in enumerate(order):
        for bigger in order[position + 1 :]:
            if len(sets[bigger]) > len(sets[group]) and sets[group] < sets[bigger]:
                parents[group] = bigger
                break
    return parents


def build_cells(
    categories: Sequence[np.ndarray],
    fine_values: np.ndarray,
    groups: Sequence[Mapping[Hashable, np.ndarray]],
) -> CellSystem:
    """Every published cell over the fine cells, given each dimension's groups of categories.

    `categories[d][i]` is fine cell ``i``'s category (0..k-1) on dimension
    ``d``; `groups[d]` maps each group key to the categories it adds up. Each
    dimension must have the group of every single category, so that each
    fine cell is a cell on its own, and its groups must nest (a hierarchy).
    """
    fine_values = np.asarray(fine_values, dtype=float)
    category_matrix = np.column_stack([np.asarray(c, dtype=np.int64) for c in categories])
    frame = pd.DataFrame(
        {
            "fine": np.arange(len(fine_values)),
            **{f"c{d}": category_matrix[:, d] for d in range(len(groups))},
        }
    )
    keys: list[list[Hashable]] = []
    group_members: list[list[np.ndarray]] = []
    for dim, grouping in enumerate(groups):
        names = list(grouping)
        keys.append(names)
        group_members.append([np.asarray(grouping[k], dtype=np.int64) for k in names])
        pairs = pd.DataFrame(
            {
                f"g{dim}": np.repeat(np.arange(len(names)), [len(grouping[k]) for k in names]),
                f"c{dim}": np.concatenate(group_members[-1]) if names else np.zeros(0, np.int64),
            }
        )
        frame = frame.merge(pairs, on=f"c{dim}").drop(columns=f"c{dim}")
    group_columns = [f"g{d}" for d in range(len(groups))]
    view_ids, view_index = pd.MultiIndex.from_frame(frame[group_columns]).factorize()
    view_groups = np.array([list(combo) for combo in view_index], dtype=np.int64).reshape(
        -1, len(groups)
    )
    by_view = sparse.csr_matrix(
        (np.ones(len(frame)), (view_ids, frame["fine"].to_numpy())),
        shape=(len(view_index), len(fine_values)),
    )
    by_view.sum_duplicates()
    by_view.sort_indices()
    # Views adding up the same fine cells are one cell: two random projections
    # of the membership rows tell them apart (a collision is vanishingly rare,
    # and would only merge two equal-sized sets: checked below).
    rng = np.random.default_rng(20261129)
    projection = by_view @ rng.random((len(fine_values), 2))
    _, first, cell_of_view = np.unique(
        np.round(projection, 9), axis=0, return_index=True, return_inverse=True
    )
    cell_of_view = np.asarray(cell_of_view).ravel()
    members = by_view[first].tocsr()
    view_sizes = np.diff(by_view.indptr)
    if not np.array_equal(view_sizes, np.diff(members.indptr)[cell_of_view]):
        raise InvalidInputError("the disclosure cell index collided; report this as a bug")
    views = {
        tuple(keys[d][code] for d, code in enumerate(combo)): int(cell)
        for combo, cell in zip(view_groups, cell_of_view, strict=True)
    }
    # The finest view of each cell: the one whose groups are smallest.
    width = np.zeros(len(view_groups))
    for d in range(len(groups)):
        width += np.array([len(m) for m in group_members[d]])[view_groups[:, d]]
    order = np.lexsort((width, cell_of_view))
    chosen = order[np.r_[True, np.diff(cell_of_view[order]) != 0][: len(order)]]
    cell_groups = view_groups[chosen]
    sizes = np.diff(members.indptr)
    single = np.flatnonzero(sizes == 1)
    finest = np.full(len(fine_values), -1)
    finest[members.indices[members.indptr[single]]] = single
    if (finest < 0).any():
        raise InvalidInputError("every category needs its own group; a fine cell is never shown")
    return CellSystem(
        fine_values,
        members,
        members @ fine_values,
        finest,
        views,
        sizes,
        category_matrix,
        group_members,
        [_parents(m) for m in group_members],
        cell_groups,
    )


@dataclass(frozen=True)
class JointProtection:
    """Hidden cells of a :class:`CellSystem`, which are primary, and the proven ranges.

    ``lower`` and ``upper`` bound each primary cell's values over the pool
    of alternative tables that match every published cell (NaN elsewhere):
    the feasible range is at least ``upper - lower`` wide.
    """

    hidden: np.ndarray
    primary: np.ndarray
    lower: np.ndarray
    upper: np.ndarray
    linear_programmes: int


class _Pool:
    """Alternative fine tables that match every published cell: proofs of protection.

    Each primary cell's values over the pool (the true table included) span
    a proven part of its feasible range, since every pool table is one the
    reader cannot rule out: hiding more cells later keeps it so.
    """

    def __init__(self, system: CellSystem) -> None:
        self.system = system
        self.low = system.values.copy()
        self.high = system.values.copy()
        self.size = 1

    def add(self, table: np.ndarray) -> None:
        sums = self.system.members @ table
        np.minimum(self.low, sums, out=self.low)
        np.maximum(self.high, sums, out=self.high)
        self.size += 1

    def spread(self, cells: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return self.low[cells], self.high[cells]


def protect_cells(
    system: CellSystem, *, threshold: int, protection: float | None = None
) -> JointProtection:
    """Hide small cells and complements so that every small cell's range is proven wide.

    Primary cells are those in ``1 .. threshold-1`` at any aggregation.
    Finest first, each primary cell not yet proven safe by the pool gets a
    linear programme (:func:`_perturbation`) for the cheapest change of the
    fine table that raises it by the protection width; every published cell
    the change touches is hidden, and the changed table joins the pool as
    the proof. Each programme is limited to the cell's neighbourhood (its
    parent groups on each dimension), then widened if that cannot do it.
    """
    width = float(threshold if protection is None else protection)
    values = system.values
    primary = (values > 0) & (values < threshold)
    hidden = primary.copy()
    lower = np.full(len(values), np.nan)
    upper = np.full(len(values), np.nan)
    if threshold <= 0 or not primary.any():
        return JointProtection(hidden, primary, lower, upper, 0)
    integral = bool(np.all(system.fine_values == np.round(system.fine_values)))
    # A listed hidden cell is known to be non-zero: with whole counts, at least 1.
    floor = 1.0 if integral else 0.0
    pool = _Pool(system)
    cells = np.flatnonzero(primary)
    cells = cells[np.argsort(system.sizes[cells], kind="stable")]
    solved = 0
    # The bare solver: highspy.Highs() prints a banner to standard output on
    # creation, which would end up in the CLI's output and exported files.
    solver = highspy._core._Highs()
    solver.setOptionValue("output_flag", False)
    # The serial dual simplex solves these small programmes 2-3 times faster
    # than the default choice here (bench/RESULTS.md, "disclosure").
    solver.setOptionValue("simplex_strategy", 1)
    for cell in cells:
        if pool.high[cell] - pool.low[cell] >= width - 1e-9:
            continue
        change = None
        best = np.inf
        reach = np.ones(len(system.parents), dtype=np.int64)
        for _ in range(_TRIES):
            found = _perturbation(system, int(cell), hidden, width, floor, reach, solver)
            solved += 1
            if found is None:
                break
            if found[1] < best:
                change, best = found[0], found[1]
            # A change that hides a published cell reaching out of the
            # neighbourhood may be balanced within a wider one (e.g. against
            # other offences instead of hiding an area's total): widen the
            # dimensions it reaches out on, and keep the cheapest change.
            wider = found[2] & (reach < _depth(system, int(cell)))
            if not wider.any():
                break
            reach = reach + wider
        if change is None:
            raise InvalidInputError(
                "disclosure control found no way to protect a small count; report this as a bug"
            )
        hidden[np.abs(system.members @ change) > 1e-7] = True
        pool.add(system.fine_values + change)
        # The opposite change is valid too, as far as the cells it lowers allow.
        rising = change > 0
        if rising.any():
            scale = float(np.min((system.fine_values[rising] - floor) / change[rising]))
            if scale > 1e-9:
                pool.add(system.fine_values - min(scale, 1.0) * change)
    low, high = pool.spread(np.flatnonzero(primary))
    lower[primary], upper[primary] = low, high
    return JointProtection(hidden, primary, lower, upper, solved)


#: At most this many categories per dimension in a first, local programme.
_LOCAL_CATEGORIES = 6


#: Tries per cell, each on a wider neighbourhood.
_TRIES = 2


def _depth(system: CellSystem, cell: int) -> np.ndarray:
    """How many steps up each dimension's hierarchy the cell's group can go."""
    steps = np.zeros(len(system.parents), dtype=np.int64)
    for dim, group in enumerate(system.cell_groups[cell]):
        while system.parents[dim][group] >= 0:
            group = system.parents[dim][group]
            steps[dim] += 1
    return steps


def _neighbourhood(system: CellSystem, cell: int, reach: np.ndarray) -> list[np.ndarray]:
    """The categories, per dimension, of the cell's ancestor group `reach` steps up.

    Each dimension keeps the cell's own categories and the largest others
    (by their count in the neighbourhood), at most :data:`_LOCAL_CATEGORIES`:
    a long dimension such as 80 areas would make every programme large, and
    complements are found among large counts.
    """
    allowed = []
    for dim, group in enumerate(system.cell_groups[cell]):
        own = system.group_members[dim][group]
        for _ in range(int(reach[dim])):
            if system.parents[dim][group] < 0:
                break
            group = system.parents[dim][group]
        allowed.append(system.group_members[dim][group])
    inside = np.ones(len(system.fine_values), dtype=bool)
    for dim, categories in enumerate(allowed):
        inside &= np.isin(system.categories[:, dim], categories)
    fine = np.flatnonzero(inside)
    kept = []
    for dim, group in enumerate(system.cell_groups[cell]):
        own = system.group_members[dim][group]
        totals = np.bincount(
            system.categories[fine, dim],
            weights=system.fine_values[fine],
            minlength=int(system.categories[:, dim].max()) + 1,
        )
        totals[own] = np.inf
        present = np.flatnonzero(totals > 0)
        order = present[np.argsort(-totals[present], kind="stable")]
        kept.append(order[: max(_LOCAL_CATEGORIES, len(own))])
    return kept


def _perturbation(
    system: CellSystem,
    cell: int,
    hidden: np.ndarray,
    width: float,
    floor: float,
    reach: np.ndarray,
    solver: highspy._core._Highs,
) -> tuple[np.ndarray, float, np.ndarray] | None:
    """The cheapest change of the fine table that raises `cell` by `width`, or None.

    Returns the change, its cost, and the dimensions on which it touches a
    published cell that adds up fine cells outside the neighbourhood.

    Variables: the rise and fall of each fine cell of the neighbourhood (a
    fall at most down to `floor`) and the rise and fall of each cell over
    them; a published cell costs its value times the square of the number of
    fine cells it adds up, per unit it changes; a hidden one nothing. The
    change is valid once every cell it touches is hidden.
    """
    kept = _neighbourhood(system, cell, reach)
    inside_mask = np.ones(len(system.fine_values), dtype=bool)
    for dim, categories in enumerate(kept):
        inside_mask &= np.isin(system.categories[:, dim], categories)
    fine = np.flatnonzero(inside_mask)
    block = system.columns[:, fine].tocsr()
    rows = np.flatnonzero(np.diff(block.indptr) > 0)
    block = block[rows].tocsc()
    n, m = len(fine), len(rows)
    identity = sparse.identity(m, format="csc")
    matrix = sparse.hstack([block, -block, -identity, identity], format="csc")
    # Hiding a coarse cell (a yearly total, an area's total) costs readers far
    # more than hiding a fine one: the cost grows with the cells it adds up.
    cost = np.where(hidden[rows], 0.0, system.values[rows] * system.sizes[rows] ** 2)
    lower = np.zeros(2 * n + 2 * m)
    upper = np.concatenate([np.full(n, highspy.kHighsInf), system.fine_values[fine] - floor,
                            np.full(2 * m, highspy.kHighsInf)])  # fmt: skip
    # The cell's own rise is fixed at `width`.
    at = 2 * n + int(np.searchsorted(rows, cell))
    lower[at] = upper[at] = width
    upper[at + m] = 0.0
    model = highspy.HighsLp()
    model.num_col_ = 2 * n + 2 * m
    model.num_row_ = m
    model.col_cost_ = np.concatenate([np.full(2 * n, 1e-6), cost, cost])
    model.col_lower_ = lower
    model.col_upper_ = upper
    model.row_lower_ = np.zeros(m)
    model.row_upper_ = np.zeros(m)
    model.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    model.a_matrix_.start_ = matrix.indptr
    model.a_matrix_.index_ = matrix.indices
    model.a_matrix_.value_ = matrix.data
    solver.passModel(model)
    solver.run()
    if solver.getModelStatus() != highspy.HighsModelStatus.kOptimal:
        # Rare numerical trouble: once more with the solver's own choice of method.
        solver.setOptionValue("simplex_strategy", 0)
        solver.passModel(model)
        solver.run()
        solver.setOptionValue("simplex_strategy", 1)
    if solver.getModelStatus() != highspy.HighsModelStatus.kOptimal:
        return None
    values = np.asarray(solver.getSolution().col_value)
    step = values[:n] - values[n : 2 * n]
    step[np.abs(step) < 1e-9] = 0.0
    change = np.zeros(len(system.fine_values))
    change[fine] = step
    moved = np.abs(values[2 * n : 2 * n + m] - values[2 * n + m :]) > 1e-7
    published = rows[moved & ~hidden[rows]]
    outside = np.zeros(len(kept), dtype=bool)
    if len(published):
        reached = system.members[published]
        beyond = np.unique(reached.indices[~inside_mask[reached.indices]])
        for dim, categories in enumerate(kept):
            outside[dim] = bool((~np.isin(system.categories[beyond, dim], categories)).any())
    return change, float(solver.getInfo().objective_function_value), outside
