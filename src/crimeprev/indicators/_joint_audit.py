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

import numpy as np
import pandas as pd
from scipy import sparse

from crimeprev.errors import InvalidInputError
from crimeprev.indicators._perturbation import Change, Search, depth, gather

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
    # One integer per group combination (factorised in order of appearance):
    # a MultiIndex of the combinations took a fifth of a large source's time.
    counts = [len(k) for k in keys]
    combined = np.zeros(len(frame), dtype=np.int64)
    for dim, column in enumerate(group_columns):
        combined = combined * max(counts[dim], 1) + frame[column].to_numpy(dtype=np.int64)
    view_ids, combos = pd.factorize(combined)
    view_groups = np.zeros((len(combos), len(groups)), dtype=np.int64)
    rest = np.asarray(combos, dtype=np.int64)
    for dim in reversed(range(len(groups))):
        rest, view_groups[:, dim] = np.divmod(rest, max(counts[dim], 1))
    by_view = sparse.csr_matrix(
        (np.ones(len(frame)), (view_ids, frame["fine"].to_numpy())),
        shape=(len(combos), len(fine_values)),
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
    labels = []
    for dim, names in enumerate(keys):
        lookup = np.empty(len(names), dtype=object)
        for position, name in enumerate(names):
            lookup[position] = name  # one by one: a tuple key must stay one object
        labels.append(lookup[view_groups[:, dim]])
    views = dict(zip(zip(*labels, strict=True), cell_of_view.tolist(), strict=True))
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
    """The spread of each cell over alternative tables that match every published cell.

    Every alternative is the true table moved along a valid change (one
    that touches hidden cells only) as far as the fine cells' floor allows,
    in either direction: each is a table the reader cannot rule out, so a
    cell's values over them span a proven part of its feasible range, and
    hiding more cells later keeps it so. Only each cell's lowest and highest
    value is kept, not the tables.
    """

    def __init__(self, system: CellSystem) -> None:
        self.values = system.values
        self.low = system.values.copy()
        self.high = system.values.copy()
        self.size = 1

    def add_line(self, cells: np.ndarray, delta: np.ndarray, forward: float, back: float) -> None:
        """Add the tables ``x + forward * d`` and ``x - back * d``; `delta` is ``d`` on `cells`."""
        ahead = self.values[cells] + forward * delta
        behind = self.values[cells] - back * delta
        self.low[cells] = np.minimum(self.low[cells], np.minimum(ahead, behind))
        self.high[cells] = np.maximum(self.high[cells], np.maximum(ahead, behind))
        self.size += 2 if back > 0 else 1


def protect_cells(
    system: CellSystem, *, threshold: int, protection: float | None = None
) -> JointProtection:
    """Hide small cells and complements so that every small cell's range is proven wide.

    Primary cells are those in ``1 .. threshold-1`` at any aggregation.
    Finest first, each primary cell not yet proven safe by the pool gets a
    linear programme
    (:meth:`crimeprev.indicators._perturbation.Search.perturbation`) for
    the cheapest change of the fine table that raises it by the protection
    width; every published cell the change touches is hidden, and the
    change joins the pool as the proof (:func:`_keep_proof`). Each programme is limited to
    the cell's neighbourhood (its parent groups on each dimension), then
    widened if that cannot do it.

    Raises
    ------
    InvalidInputError
        If no change protects a small cell (a bug: the cell's whole
        neighbourhood can always be hidden).
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
    search = Search(system, hidden, width, floor)
    cells = np.flatnonzero(primary)
    cells = cells[np.argsort(system.sizes[cells], kind="stable")]
    for cell in cells:
        if pool.high[cell] - pool.low[cell] >= width - 1e-9:
            continue
        change = None
        reach = np.ones(len(system.parents), dtype=np.int64)
        for _ in range(_TRIES):
            found = search.perturbation(int(cell), reach)
            if found is None:
                break
            if change is None or found.cost < change.cost:
                change = found
            # A change that hides a published cell reaching out of the
            # neighbourhood may be balanced within a wider one (e.g. against
            # other offences instead of hiding an area's total): widen the
            # dimensions it reaches out on, and keep the cheapest change.
            wider = found.outside & (reach < depth(system, int(cell)))
            if not wider.any():
                break
            reach = reach + wider
        if change is None:
            raise InvalidInputError(
                "disclosure control found no way to protect a small count; report this as a bug"
            )
        _keep_proof(system, hidden, pool, change, width, floor)
    low, high = pool.low[primary], pool.high[primary]
    if np.any(high - low < width - 1e-6):
        raise InvalidInputError(
            "disclosure control left a small count's range unproven; report this as a bug"
        )
    lower[primary], upper[primary] = low, high
    return JointProtection(hidden, primary, lower, upper, search.solved)


def _keep_proof(
    system: CellSystem,
    hidden: np.ndarray,
    pool: _Pool,
    change: Change,
    width: float,
    floor: float,
) -> None:
    """Hide every cell `change` touches and add its line of tables to the pool.

    The change may be scaled by any factor that keeps every fine cell at
    or above `floor`, forwards or backwards: each such table matches every
    published cell. The farthest ones prove the most, so a later small cell
    that this change moves a little may need no programme of its own. The
    factor is capped where every moved cell has moved by `width` (more
    proves nothing) and where rounding in the published cells' zero changes
    could reach 1e-7.
    """
    starts, cells = gather(system.columns, change.fine)
    delta = np.bincount(
        cells, weights=np.repeat(change.step, np.diff(starts)), minlength=len(system.values)
    )
    moved = np.abs(delta) > 1e-7
    touched = np.flatnonzero(moved)
    hidden[touched] = True
    room = system.fine_values[change.fine] - floor
    falling, rising = change.step < 0, change.step > 0
    forward = float(np.min(room[falling] / -change.step[falling])) if falling.any() else np.inf
    back = float(np.min(room[rising] / change.step[rising])) if rising.any() else np.inf
    cap = max(1.0, width / float(np.min(np.abs(delta[touched]))))
    drift = float(np.max(np.abs(delta[~moved]), initial=0.0))
    if drift > 0:
        cap = min(cap, max(1.0, 1e-7 / drift))
    # The programme keeps each fall within the floor up to the solver's
    # tolerance: the change itself (factor 1) is the table it proved.
    forward = min(max(forward, 1.0), cap)
    back = min(max(back, 0.0), cap)
    pool.add_line(touched, delta[touched], forward, back)


#: Tries per cell, each on a wider neighbourhood.
_TRIES = 2
