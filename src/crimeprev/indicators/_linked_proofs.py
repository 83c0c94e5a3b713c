"""The source pattern's proofs, made again (private to ``linked_protection``).

The pattern (:mod:`crimeprev.indicators._joint_audit`) keeps each small
cell's proven range, not the alternative tables that prove it; a table
linked to the pattern needs those tables to carry them into its sub-cells.
"""

from __future__ import annotations

import hashlib
import os
import threading
from collections import OrderedDict
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy import sparse
from scipy.optimize import linprog

from crimeprev.indicators.source_protection import SourcePattern

_LOCK = threading.Lock()
_CACHE_SIZE = 32

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
