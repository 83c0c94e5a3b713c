"""The fast protection and the fast audit against a plain scipy attacker, on random tables.

The attacker is written here from scratch: for small random tables (4 codes
under 2 parents x 3 areas x 3 months, with every total over them) it lists
each published cell's fine cells with plain Python, takes the fine cells of
hidden cells as unknowns (at least 1 with whole counts, 0 otherwise),
writes one equation per published cell and finds each hidden small cell's
smallest and largest value with ``scipy.optimize.linprog``. Only the hidden
marks come from crimeprev (through the view each cell answers to).

Both directions are checked: a pattern made by
:func:`crimeprev.indicators._joint_audit.protect_cells` resists the
attacker, and its proofs lie inside the attacker's ranges; and
:func:`crimeprev.indicators._range_audit.audit_cells` calls a cell safe
exactly when the attacker cannot narrow it below the threshold, on safe
patterns, on patterns with primary suppression only, and on protected
patterns with complements taken away.
"""

from __future__ import annotations

from itertools import product

import numpy as np
import pytest
from numpy.testing import assert_allclose
from scipy.optimize import linprog

from crimeprev.indicators._joint_audit import build_cells, protect_cells
from crimeprev.indicators._range_audit import audit_cells

THRESHOLD = 5
CODES = {("code", c): [c] for c in range(4)} | {("parent", "a"): [0, 1], ("parent", "b"): [2, 3]}
CODES["all"] = [0, 1, 2, 3]
AREAS = {("area", a): [a] for a in range(3)} | {"all": [0, 1, 2]}
MONTHS = {("month", m): [m] for m in range(3)} | {"quarter": [0, 1, 2]}
DIMENSIONS = (CODES, AREAS, MONTHS)


def random_table(seed: int) -> tuple[list[tuple[int, int, int]], np.ndarray]:
    """Non-zero cells of a code x area x month table, about 40% of them small."""
    rng = np.random.default_rng(seed)
    cells, values = [], []
    for cell in product(range(4), range(3), range(3)):
        kind = rng.choice(3, p=[0.25, 0.4, 0.35])
        value = 0 if kind == 0 else rng.integers(1, 5) if kind == 1 else rng.integers(5, 31)
        if value:
            cells.append(cell)
            values.append(float(value))
    fine = np.array(values)
    return cells, fine / 2 if seed % 4 == 3 else fine  # every 4th: fractional counts


def system_of(cells, values):
    categories = [np.array([cell[d] for cell in cells]) for d in range(3)]
    groups = [{key: np.array(members) for key, members in dim.items()} for dim in DIMENSIONS]
    return build_cells(categories, values, groups)


def attacker(cells, values, is_hidden):
    """Each distinct small published-or-hidden cell: (view, low, high) as the reader sees it."""
    floor = 1.0 if np.all(values == np.round(values)) else 0.0
    sets = {}
    for view in product(*DIMENSIONS):
        members = tuple(
            i
            for i, cell in enumerate(cells)
            if all(cell[d] in DIMENSIONS[d][view[d]] for d in range(3))
        )
        if members:
            sets.setdefault(members, view)
    unknown = [i for i, cell in enumerate(cells) if is_hidden(own_view(cell))]
    position = {i: k for k, i in enumerate(unknown)}
    rows, right = [], []
    for members, view in sets.items():
        if is_hidden(view):
            continue
        row = np.zeros(len(unknown))
        for i in members:
            if i in position:
                row[position[i]] = 1.0
        if row.any():
            rows.append(row)
            # The published total less the published fine cells in it.
            right.append(sum(values[i] for i in members if i in position))
    a_eq = np.array(rows) if rows else None
    b_eq = np.array(right) if right else None
    out = []
    for members, view in sets.items():
        total = sum(values[i] for i in members)
        if not 0 < total < THRESHOLD:
            continue
        if not is_hidden(view):
            out.append((view, total, total))
            continue
        known = sum(values[i] for i in members if i not in position)
        objective = np.zeros(len(unknown))
        for i in members:
            if i in position:
                objective[position[i]] = 1.0
        if not objective.any():
            out.append((view, total, total))
            continue
        bounds = (floor, None)
        low = linprog(objective, A_eq=a_eq, b_eq=b_eq, bounds=bounds, method="highs")
        high = linprog(-objective, A_eq=a_eq, b_eq=b_eq, bounds=bounds, method="highs")
        assert low.status == 0
        top = np.inf if high.status == 3 else -high.fun
        out.append((view, known + low.fun, known + top))
    return out


def own_view(cell):
    """The view of one fine cell: its own code, area and month."""
    return (("code", cell[0]), ("area", cell[1]), ("month", cell[2]))


def test_protected_patterns_resist_the_attacker_and_their_proofs_are_feasible():
    checked = 0
    for seed in range(10):
        cells, values = random_table(seed)
        system = system_of(cells, values)
        result = protect_cells(system, threshold=THRESHOLD)
        hidden = result.hidden

        def is_hidden(view, system=system, hidden=hidden):
            return bool(hidden[system.views[view]])

        for view, low, high in attacker(cells, values, is_hidden):
            cell = system.views[view]
            assert high - low >= THRESHOLD - 1e-6, (seed, view, low, high)
            # A proof is a table the reader cannot rule out: inside the range.
            assert low - 1e-6 <= result.lower[cell] <= result.upper[cell] <= high + 1e-6
            assert result.upper[cell] - result.lower[cell] >= THRESHOLD - 1e-6
            checked += 1
    assert checked > 100


@pytest.mark.parametrize("pattern", ["protected", "primary only", "complements removed"])
def test_the_fast_audit_agrees_with_the_attacker_in_both_directions(pattern):
    verdicts = {True: 0, False: 0}
    for seed in range(10):
        cells, values = random_table(seed)
        system = system_of(cells, values)
        protected = protect_cells(system, threshold=THRESHOLD)
        if pattern == "protected":
            hidden = protected.hidden.copy()
        elif pattern == "primary only":
            hidden = protected.primary.copy()
        else:
            hidden = protected.hidden.copy()
            complements = np.flatnonzero(protected.hidden & ~protected.primary)
            rng = np.random.default_rng(seed)
            taken = rng.choice(complements, size=min(3, len(complements)), replace=False)
            hidden[taken] = False
        audit = audit_cells(system, hidden, threshold=THRESHOLD)
        at = {int(cell): k for k, cell in enumerate(audit.cells)}

        def is_hidden(view, system=system, hidden=hidden):
            return bool(hidden[system.views[view]])

        seen = attacker(cells, values, is_hidden)
        assert len(seen) == len(audit.cells)
        for view, low, high in seen:
            k = at[system.views[view]]
            safe = high - low >= THRESHOLD - 1e-6
            assert bool(audit.safe[k]) == safe, (seed, view, low, high, audit.lower[k])
            verdicts[safe] += 1
            if audit.exact[k]:
                assert_allclose([audit.lower[k], audit.upper[k]], [low, high], atol=1e-6)
            else:  # proven by solutions found for other cells: inside the range
                assert low - 1e-6 <= audit.lower[k] <= audit.upper[k] <= high + 1e-6
    if pattern == "protected":
        assert verdicts[False] == 0 and verdicts[True] > 100
    else:
        assert verdicts[False] > 10
        if pattern == "complements removed":
            assert verdicts[True] > 10
