"""Disclosure control for published tables: primary and secondary suppression.

Primary suppression hides counts in ``1 .. threshold-1`` (zeros are not
disclosive and stay). Hiding them is not enough when totals are published
too: a reader who knows a row total and every other cell of the row gets the
hidden one back by subtraction. Secondary (complementary) suppression hides
further cells so that this cannot happen.

One pattern per source (what the exports, pages, rates and map use)
--------------------------------------------------------------------
Every count table crimeprev publishes for an incident source is a sum of
one *fine table*: ICCS code as coded x area (incidents with no area form one
more area) x month (the source's precision if coarser). Protecting each
output on its own would let a reader compare two of them (the level-3
export with the level-1 one, a monthly table with the yearly one, a table by
area with the profile page's totals, the CSV with the SDMX file). So
:func:`crimeprev.indicators.source_protection.protect_source` protects, once,
every cell any output can show: each combination of a code group (the code
as coded, each ICCS code above it at levels 1-4, all offences), an area
group (one area, all areas) and a period group (month, quarter, year, all
periods). Combinations adding up the same non-zero fine cells are one cell.
A cell in ``1 .. threshold-1`` at any of these levels is primary.

The reader is modelled as knowing every published cell of every output,
that counts are non-negative, and that a listed hidden cell is not empty
(tables list non-zero cells only, so with whole counts it is at least 1). A
primary cell is protected when its feasible range under all that is at
least `protection` wide (default: the threshold). Cells are taken finest
first; for each not yet proven safe, a small linear programme (HiGHS via
``highspy``) finds the cheapest change of the fine table that raises it by
the protection width while keeping every other published cell equal, where
touching a published cell costs its value times the square of the number of
fine cells it adds up (so yearly and area totals are hidden only where fine
cells within reach cannot balance the change). The programme looks in the
cell's neighbourhood (its parent group on each dimension, the largest 6
categories of a long one) and widens the dimensions on which the change
still reaches out. Every cell the
change touches is hidden, and the changed table is kept: it matches every
published cell, so it *proves* a part of each primary cell's range (the
spread over all kept tables, the true one included). Hiding more later never
invalidates a kept table, so no audit needs to run again: the pattern ends
with every primary cell's range proven at least the width, in the
``lower``/``upper`` of :class:`crimeprev.indicators._joint_audit.JointProtection`.
The approach follows the "cell suppression with linear programming" family
of Hundepool et al., *Statistical Disclosure Control* (Wiley, 2012),
chapter 4, and Fischetti and Salazar-Gonzalez (*Journal of the American
Statistical Association* 95, 2000), with greedy one-cell-at-a-time
programmes in place of their exact integer programme, so the pattern is
safe but not minimal.

The pattern is cached per warehouse, source, import log and threshold
(:func:`crimeprev.indicators.source_protection.source_pattern`); a new
import changes the key and the pattern is made again.

Assumptions and what is not covered
-----------------------------------
* Cells are counts: non-negative, and whole numbers for the "at least 1"
  bound (sources whose concordance splits a record between codes give
  fractional counts; then the bound is 0). Listing the zero cells too
  would not lower that bound: zeros are never hidden, so a hidden cell is
  known to be at least 1 however the table is listed. This is why
  Vancouver 2020's yearly homicide total (19 single incidents, each a
  hidden small cell) stays hidden. The bound could be 0 only with zero
  cells eligible as complements.
* Marks (fixed: one mark). A mark saying why a cell is hidden would tell
  the reader more than "at least 1": ``primary`` that it is at most
  threshold - 1, ``secondary`` that it is at least the threshold, bounds
  the proven ranges do not take into account (on Vancouver 2020's exports
  they narrowed every small count below the threshold and pinned some
  exactly). So every public output gives every hidden cell the same mark
  (:func:`public_marks`: ``suppressed`` in JSON and exports, SDMX
  ``CONF_STATUS`` ``C``), and the reader's knowledge is what the audit
  assumes. The reasons stay inside (:func:`protect_counts`,
  :meth:`crimeprev.indicators.source_protection.SourcePattern.status_of`)
  and in ``crimeprev stats export --detailed-marks`` files (SDMX ``A`` or
  ``D``), which are for an organisation that manages confidentiality and
  must not be published.
* Covered: counts exports (CSV, Parquet, Excel, SDMX-CSV, SDMX-ML) at any
  ICCS level, by month, quarter, year or all periods, by area or not, and
  one ICCS branch of them; the profile page and its JSON (codes by year,
  code totals, yearly totals, rates by area, the count with no area); the
  ``/counts`` and ``/rates`` JSON; the map.
* Linked to the pattern: tables by week or day, with tags (sex, age, ...)
  or between dates, and the seasonal heat tables (months, month x weekday
  and weekday x hour, protected together), by
  :mod:`crimeprev.indicators.linked_protection`: each is cut from counts by
  code x area x day (x tags; x weekday x hour) inside the pattern's monthly
  cells, the pattern's published cells are known to the reader, its hidden
  ones stay hidden, and complements are hidden in the new table until every
  small count of the table *and* of the pattern keeps its range. A table
  that cannot be protected so (e.g. single days a published month pins
  down) is refused with the reason, never published unprotected. Tables by
  week or between dates take their marks from the daily table of the same
  selection (:mod:`crimeprev.indicators.derived_tables`: a row is shown only
  when all its days are), so the daily, weekly and date-limited tables of a
  selection can be read together; tables of two selections (e.g. daily
  tables at ICCS levels 1 and 2) are linked to the pattern, not to each
  other.
* Not covered: tables of another selection (another source, filters). The
  yearly trend's counts are cells of the pattern (its moving averages and
  changes over a hidden year are hidden too). Hot spots and grid counts of
  the spatial map are not suppressed (its points layer shows every
  incident). The reader's other knowledge (e.g. that a cell is at most
  some bound, or the count of one victim's own incidents) is not modelled.
* Concentration (:func:`crimeprev.indicators.counts.public_concentration`):
  each area's count is a cell of the pattern; the Gini coefficient, top
  share and top areas are published only when every area's count is (then
  they follow from published counts). The quality report, quarantine
  counts and import log (:func:`crimeprev.indicators.quality.public_quality_report`):
  quarantined rows by file x rule get primary and secondary suppression;
  a share that gives back a hidden cell is hidden, the geocoded share is
  rounded; outliers are sought among published rates. Age-standardised
  rates (:mod:`crimeprev.indicators.standardised_protection`): an area's
  counts of known and unknown age follow the pattern's cell and each
  other; its rates and interval are hidden where, with the count, they
  would pin a small count by age band. The CLI prints every figure (the
  statistician's view) unless ``--public`` (``quality``, ``counts``,
  ``rates``, ``trends``, ``concentration``).
* SDG indicator tables by sex x age (x form) (:mod:`crimeprev.indicators.sdg`)
  get secondary suppression over their Total rows, each area and year on
  its own, alike in SDMX, the JSON and the page.

Per-table protection (weeks, days, tags)
----------------------------------------
For a plain two-way table :func:`suppress_table` hides, in any row or column
with a single hidden cell, the smallest other cell, until none is left alone.
For one counts table :func:`protect_counts` follows the tau-argus approach:
the table is written as cells tied by linear relations (a margin equals the
sum of its parts), complements are chosen greedily where they cost least,
and the pattern is *audited*: for every primary cell two linear programmes
(``scipy.optimize.linprog``) find the smallest and largest value it can take
given every published cell, relation and non-negative counts; a cell whose
interval is too narrow gets another complement until the audit passes. Its
relations are totals over areas and each ICCS parent code equal to the sum
of its children; periods are protected one at a time.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

import numpy as np
import pandas as pd
from scipy import sparse
from scipy.optimize import linprog
from scipy.sparse.csgraph import connected_components

from crimeprev.errors import InvalidInputError
from crimeprev.standards.iccs import LEVELS


@dataclass(frozen=True)
class Suppressed:
    """Values with suppressed cells set to None, and the mask of suppressed cells."""

    values: list[float | None]
    suppressed: list[bool]


def suppress_small(values: list[float], *, threshold: int = 5) -> Suppressed:
    """Primary suppression of a list of counts.

    Examples
    --------
    >>> suppress_small([0, 3, 12], threshold=5).values
    [0, None, 12]
    """
    if threshold <= 0:
        return Suppressed(list(values), [False] * len(values))
    hidden = [0 < v < threshold for v in values]
    return Suppressed([None if h else v for v, h in zip(values, hidden, strict=True)], hidden)


@dataclass(frozen=True)
class SuppressedTable:
    """A 2-D table after primary and secondary suppression."""

    values: np.ndarray  # float, NaN where suppressed
    primary: np.ndarray  # bool
    secondary: np.ndarray  # bool


def suppress_table(table: np.ndarray, *, threshold: int = 5) -> SuppressedTable:
    """Primary and secondary suppression of a 2-D count table with published margins.

    Examples
    --------
    >>> result = suppress_table(np.array([[2, 10, 20], [8, 9, 30]]), threshold=5)
    >>> result.primary.sum(), result.secondary.sum()
    (np.int64(1), np.int64(3))
    """
    counts = np.asarray(table, dtype=float)
    primary = (counts > 0) & (counts < threshold)
    hidden = primary.copy()
    changed = True
    while changed:
        changed = False
        for axis in (0, 1):
            lines = hidden.T if axis == 0 else hidden
            data = counts.T if axis == 0 else counts
            for index in range(lines.shape[0]):
                if lines[index].sum() == 1 and lines.shape[1] > 1:
                    candidates = np.where(~lines[index], data[index], np.inf)
                    # Hide the smallest other cell (least information lost), zeros included.
                    pick = int(np.argmin(candidates))
                    if np.isfinite(candidates[pick]):
                        if axis == 0:
                            hidden[pick, index] = True
                        else:
                            hidden[index, pick] = True
                        changed = True
    values = np.where(hidden, np.nan, counts)
    return SuppressedTable(values=values, primary=primary, secondary=hidden & ~primary)


#: Suppression status of a published cell.
PUBLISHED, PRIMARY, SECONDARY = "", "primary", "secondary"
#: The one mark every public output gives a hidden cell, whatever the reason.
SUPPRESSED = "suppressed"

_Marks = TypeVar("_Marks", str, list[Any], dict[str, Any], pd.Series)


def public_marks(marks: _Marks) -> _Marks:
    """The marks as published: ``""`` for a shown cell, ``"suppressed"`` for every hidden one.

    The protection knows why a cell is hidden (``primary``: a count from 1
    to threshold - 1; ``secondary``: a complement), but a reader told so
    learns that a primary cell is at most threshold - 1 and a secondary one
    at least the threshold: bounds the audit does not model, which can pin
    a hidden cell (a hidden total whose hidden parts are all primary is
    bounded above). With one mark the reader knows only that a listed
    hidden cell is not empty, which is what the audit assumes. Every public
    face (JSON, pages, exports, SDMX ``CONF_STATUS`` ``C``) calls this at
    its boundary; the detail stays for the statistician's own outputs.

    Takes one status, a list (nested lists too), a dict of statuses (e.g.
    a result's ``suppression`` by field) or a Series, and returns the same
    shape.

    Examples
    --------
    >>> public_marks(["primary", "", "secondary"])
    ['suppressed', '', 'suppressed']
    >>> public_marks({"gini": "secondary", "total": "suppressed"})
    {'gini': 'suppressed', 'total': 'suppressed'}
    """
    if isinstance(marks, str):
        return PUBLISHED if marks == PUBLISHED else SUPPRESSED
    if isinstance(marks, pd.Series):
        return marks.map(lambda mark: public_marks(str(mark)) if pd.notna(mark) else PUBLISHED)
    if isinstance(marks, dict):
        return {key: public_marks(mark) for key, mark in marks.items()}
    return [PUBLISHED if mark is None else public_marks(mark) for mark in marks]


def public_json(data: Any) -> Any:
    """A JSON document with every ``suppression`` and ``*_suppression`` field's marks made public.

    The one walk each JSON twin and page goes through before it leaves
    (:func:`public_marks`): whatever an output nests (rows, tables by
    field, grids), its marks end up uniform.

    Examples
    --------
    >>> public_json({"rows": [{"count": None, "suppression": "primary"}]})
    {'rows': [{'count': None, 'suppression': 'suppressed'}]}
    >>> public_json({"grid_suppression": [["secondary", ""]], "suppression": {"gini": "primary"}})
    {'grid_suppression': [['suppressed', '']], 'suppression': {'gini': 'suppressed'}}
    """
    if isinstance(data, dict):
        return {
            key: public_marks(value) if _is_marks(key, value) else public_json(value)
            for key, value in data.items()
        }
    if isinstance(data, list):
        return [public_json(item) for item in data]
    return data


def _is_marks(key: object, value: object) -> bool:
    """Whether `value` holds marks: a ``suppression`` or ``*_suppression`` field's status(es)."""
    named = isinstance(key, str) and (key == "suppression" or key.endswith("_suppression"))
    return named and isinstance(value, (str, list, dict))


@dataclass(frozen=True)
class LinkedTable:
    """Cells tied by linear relations: the input of :func:`protect`.

    ``values`` holds every cell, the table's own (``own``) and the margins
    published elsewhere. Each row of ``relations`` has ``+1`` on a margin and
    ``-1`` on each of its parts, so ``relations @ values == 0``.
    """

    values: np.ndarray  # float, (n,)
    own: np.ndarray  # bool, (n,): a cell of the exported table, may be hidden as a complement
    relations: sparse.csr_matrix  # (m, n)
    labels: tuple[tuple[str, str], ...] = ()  # (ICCS code or "_T", area or "_T") per cell


@dataclass(frozen=True)
class Protection:
    """A suppression pattern and its audit.

    ``lower`` and ``upper`` are the feasible bounds of each primary cell
    (NaN elsewhere); ``exposed`` lists primary cells whose interval stayed
    narrower than the protection range (empty when the audit passes).
    """

    primary: np.ndarray
    secondary: np.ndarray
    lower: np.ndarray
    upper: np.ndarray
    exposed: list[int]


def feasible_intervals(
    table: LinkedTable, hidden: np.ndarray, cells: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Smallest and largest value of each of `cells` consistent with what is published.

    The unknowns are the hidden cells (non-negative); every relation must
    hold with the published cells at their values. Returns ``inf`` as the
    upper bound when nothing limits a cell from above.

    The minimum and the maximum are separable, so one linear programme over
    two copies of the unknowns (``x`` and ``y``, each satisfying every
    relation) that maximises ``x_i - y_i`` finds both at once: half the
    solver calls of solving them one by one.
    """
    lower = np.full(len(cells), np.nan)
    upper = np.full(len(cells), np.nan)
    unknown = np.flatnonzero(hidden)
    if not len(cells):
        return lower, upper
    matrix = table.relations.tocsc()
    a_hidden = matrix[:, unknown]
    touched = np.flatnonzero(np.asarray(abs(a_hidden).sum(axis=1)).ravel() > 0)
    a_single = a_hidden[touched]
    published = np.flatnonzero(~hidden)
    b_single = -(matrix[touched][:, published] @ table.values[published])
    a_eq = sparse.block_diag([a_single, a_single], format="csr")
    b_eq = np.concatenate([b_single, b_single])
    position = {int(cell): index for index, cell in enumerate(unknown)}
    size = len(unknown)
    for slot, cell in enumerate(cells):
        at = position[int(cell)]
        objective = np.zeros(2 * size)
        objective[at], objective[size + at] = -1.0, 1.0
        result = linprog(objective, A_eq=a_eq, b_eq=b_eq, bounds=(0, None), method="highs")
        if result.status == 3:  # unbounded above; the minimum on its own
            alone = linprog(
                objective[size:], A_eq=a_single, b_eq=b_single, bounds=(0, None), method="highs"
            )
            lower[slot], upper[slot] = alone.fun, np.inf
        elif result.status != 0:
            raise InvalidInputError(
                f"the disclosure audit failed ({result.message}); the table's margins do not add up"
            )
        else:
            upper[slot], lower[slot] = result.x[at], result.x[size + at]
    return lower, upper


def protect(
    table: LinkedTable, *, threshold: int = 5, protection: float | None = None
) -> Protection:
    """Primary suppression, greedy complements and an LP audit until no primary cell is exposed.

    A primary cell is protected when its feasible interval is at least
    `protection` wide (default: the threshold), so a reader of every
    published cell and margin cannot narrow it below that. Complements are
    the table's own cells where one will do; a margin (a total published
    elsewhere) only when none is left, since it must then be hidden wherever
    it is published. A margin that is itself a small count is primary too.

    Examples
    --------
    >>> parts = np.array([3.0, 9.0, 20.0])
    >>> table = LinkedTable(np.append(parts, parts.sum()), np.array([True] * 3 + [False]),
    ...                     sparse.csr_matrix(np.array([[-1.0, -1.0, -1.0, 1.0]])))
    >>> result = protect(table, threshold=5)
    >>> result.primary.tolist()[:3], result.secondary.tolist()[:3], float(result.upper[0])
    ([True, False, False], [False, True, False], 12.0)
    """
    width = float(threshold if protection is None else protection)
    values = np.asarray(table.values, dtype=float)
    primary = (values > 0) & (values < threshold)
    hidden = primary.copy()
    lower = np.full(len(values), np.nan)
    upper = np.full(len(values), np.nan)
    if threshold <= 0 or not primary.any():
        return Protection(primary, np.zeros_like(primary), lower, upper, [])
    relations = table.relations.tocsr()
    _cover_lone_cells(table, relations, hidden)
    same = _equal_cells(relations)
    # One audit per set of equal cells (a parent with a single child equals it).
    _, first = np.unique(same[primary], return_index=True)
    narrow = np.flatnonzero(primary)[first]
    while True:
        # Hiding more cells only widens an interval, so a cell that passed stays passed.
        low, high = feasible_intervals(table, hidden, narrow)
        for cell, low_value, high_value in zip(narrow, low, high, strict=True):
            members = primary & (same == same[cell])
            lower[members], upper[members] = low_value, high_value
        narrow = narrow[(high - low) < width - 1e-9]
        if not len(narrow):
            return Protection(primary, hidden & ~primary, lower, upper, [])
        added = [
            _cheapest_complement(table, relations, hidden, np.flatnonzero(same == same[cell]))
            for cell in narrow
        ]
        picks = [cell for cell in added if cell is not None]
        if not picks:
            exposed = np.flatnonzero(primary & np.isin(same, same[narrow]))
            return Protection(primary, hidden & ~primary, lower, upper, exposed.tolist())
        hidden[picks] = True


def _equal_cells(relations: sparse.csr_matrix) -> np.ndarray:
    """A label per cell, shared by cells a two-cell relation makes equal (total = its one part)."""
    pairs = relations[np.diff(relations.indptr) == 2]
    links = sparse.csr_matrix(
        (
            np.ones(pairs.nnz // 2),
            (pairs.indices[0::2], pairs.indices[1::2]),
        ),
        shape=(relations.shape[1], relations.shape[1]),
    )
    _, labels = connected_components(links, directed=False)
    return labels


def _cover_lone_cells(table: LinkedTable, relations: sparse.csr_matrix, hidden: np.ndarray) -> None:
    """Hide complements until no relation has exactly one hidden cell (the cheap first pass)."""
    incidence = relations.copy()
    incidence.data = np.ones_like(incidence.data)
    while True:
        lone = np.flatnonzero(incidence @ hidden.astype(float) == 1)
        picks = set()
        for row in lone:
            cells = incidence.indices[incidence.indptr[row] : incidence.indptr[row + 1]]
            pick = _cheapest(table, cells, hidden)
            if pick is not None:
                picks.add(pick)
        if not picks:
            return
        hidden[list(picks)] = True


def _cheapest(table: LinkedTable, cells: np.ndarray, hidden: np.ndarray) -> int | None:
    """The published cell of `cells` that costs least to hide.

    The table's own cells come first (positive values before zeros: a hidden
    zero adds little, as counts cannot go below it); a margin only when no
    own cell is left, since hiding it means hiding it wherever it is published.
    """
    free = cells[~hidden[cells]]
    if not len(free):
        return None
    costs = table.values[free]
    costs = np.where(costs > 0, costs, costs.max() + 1.0)
    costs = np.where(table.own[free], costs, costs + table.values.max() + 2.0)
    return int(free[np.argmin(costs)])


def _cheapest_complement(
    table: LinkedTable, relations: sparse.csr_matrix, hidden: np.ndarray, cells: np.ndarray
) -> int | None:
    """A further complement for exposed (equal) cells: nearest first.

    First a published cell sharing a relation with them; if none, the search
    steps out through the hidden cells they are linked to, one relation at a
    time, until it finds one (hiding everything, the grand total included,
    leaves nothing recoverable, so this always ends).
    """
    columns = relations.tocsc()
    reached = np.unique(np.asarray(cells))
    while True:
        near = np.unique(relations[np.unique(columns[:, reached].indices)].indices)
        pick = _cheapest(table, near, hidden)
        if pick is not None:
            return pick
        linked = np.union1d(reached, near[hidden[near]])
        if len(linked) == len(reached):
            return _cheapest(table, np.arange(len(table.values)), hidden)
        reached = linked


#: Code of the all-offences total and of the all-areas total.
_TOTAL = "_T"


def _ancestors(code: str) -> list[str]:
    """The ICCS codes above `code`, nearest first, ending with the all-offences total."""
    widths = sorted((w for w in LEVELS.values() if w < len(code)), reverse=True)
    if len(code) not in LEVELS.values():
        return [_TOTAL]
    return [code[:w] for w in widths] + [_TOTAL]


def counts_table(
    codes: Sequence[str], areas: Sequence[str] | None, counts: Sequence[float]
) -> LinkedTable:
    """The linked table of one period's counts by ICCS code (x area): cells and relations.

    Own cells come first, one per input row and in order. Margins: for every
    ICCS ancestor of the codes (up to the all-offences total) a cell per area,
    equal to the sum of its children; with areas, an all-areas cell per code
    and ancestor, equal to the sum over areas. A code that is also the parent
    of other exported codes (records coded at the coarser level) is one child
    of its own margin.

    Raises
    ------
    InvalidInputError
        If a code (and area) appears twice.

    Examples
    --------
    >>> table = counts_table(["0501", "0502"], ["A", "A"], [3, 9])
    >>> table.values.tolist()  # two own cells, then 05 and _T for area A and all areas
    [3.0, 9.0, 12.0, 12.0, 3.0, 12.0, 12.0, 9.0]
    """
    codes = [str(c) for c in codes]
    area_list = [str(a) for a in areas] if areas is not None else ["*"] * len(codes)
    if len(set(zip(codes, area_list, strict=True))) < len(codes):
        raise InvalidInputError("the counts table has the same ICCS code (and area) twice")
    parents = {a for code in codes for a in _ancestors(code)}
    pairs = list(zip(codes, area_list, strict=True))
    index = {(f"own:{code}", area): row for row, (code, area) in enumerate(pairs)}
    values = [float(v) for v in counts]
    # A margin may be the total of two relations: of its ICCS children, and over areas.
    children: dict[tuple[int, str], set[int]] = {}

    def cell(node: str, area: str) -> int:
        if (node, area) not in index:
            index[(node, area)] = len(values)
            values.append(0.0)
        return index[(node, area)]

    for row, (code, area) in enumerate(pairs):
        nodes = [f"own:{code}", *([code] if code in parents else []), *_ancestors(code)]
        for where in [area, *([_TOTAL] if areas is not None else [])]:
            below = None
            for node in nodes:
                position = cell(node, where)
                if position != row:
                    values[position] += values[row]
                if below is not None:
                    children.setdefault((position, "codes"), set()).add(below)
                if where == _TOTAL:
                    children.setdefault((position, "areas"), set()).add(cell(node, area))
                below = position
    array = np.asarray(values, dtype=float)
    rows: list[int] = []
    cols: list[int] = []
    data: list[float] = []
    for number, ((total, _kind), members) in enumerate(children.items()):
        rows += [number] * (len(members) + 1)
        cols += [total, *sorted(members)]
        data += [1.0] + [-1.0] * len(members)
    own = np.zeros(len(array), dtype=bool)
    own[: len(codes)] = True
    shape = (len(children), len(array))
    labels = [("", "")] * len(array)
    for (node, area), position in index.items():
        labels[position] = (node.removeprefix("own:"), area)
    relations = sparse.csr_matrix((data, (rows, cols)), shape=shape)
    return LinkedTable(array, own, relations, tuple(labels))


@dataclass(frozen=True)
class CountsProtection:
    """The suppression status of each row of a counts frame, and what the audit found.

    ``status`` is ``""`` (published), ``"primary"`` or ``"secondary"`` per
    row; ``exposed`` counts primary cells the audit could not protect;
    ``hidden_margins`` lists the totals (an ICCS code or parent, ``_T`` for
    all offences, by area or ``_T`` for all areas, with the sub-table's
    other columns) that had to be hidden as complements because no cell of
    the table would do: they are published elsewhere, so the protection
    holds where those totals are hidden too.
    """

    status: pd.Series
    exposed: int
    tables: int
    hidden_margins: pd.DataFrame


def protect_counts(
    frame: pd.DataFrame,
    *,
    threshold: int,
    value: str = "count",
    code: str = "iccs_code",
    area: str = "area_id",
    protection: float | None = None,
) -> CountsProtection:
    """Primary and secondary suppression of a counts frame (ICCS code x area x period x ...).

    Each combination of the other columns (the period, tags) is an
    independent sub-table, protected by :func:`protect` against its ICCS
    parent sums and, with an area column, its totals over areas.

    Examples
    --------
    >>> counts = pd.DataFrame({"period": ["2020"] * 4, "iccs_code": ["0501", "0502"] * 2,
    ...                        "area_id": ["A", "A", "B", "B"], "count": [3, 9, 7, 20]})
    >>> protect_counts(counts, threshold=5).status.tolist()
    ['primary', 'secondary', 'secondary', 'secondary']
    """
    status = pd.Series(PUBLISHED, index=frame.index, dtype=object)
    keys = [c for c in frame.columns if c not in (value, code, area, "records", "rate")]
    margins: list[dict[str, object]] = []
    if threshold <= 0 or frame.empty:
        return CountsProtection(status, 0, 0, pd.DataFrame(columns=[*keys, code, area]))
    groups = frame.groupby(keys, dropna=False, sort=False) if keys else [((), frame)]
    exposed = 0
    tables = 0
    counts = frame[value].fillna(0).to_numpy(dtype=float)
    positions = pd.Series(np.arange(len(frame)), index=frame.index)
    marks = np.full(len(frame), PUBLISHED, dtype=object)
    for group, part in groups:
        rows = positions[part.index].to_numpy()
        sub = counts[rows]
        if not ((sub > 0) & (sub < threshold)).any():
            continue
        tables += 1
        table = counts_table(
            part[code].fillna("_U").astype(str).tolist(),
            part[area].fillna("_Z").astype(str).tolist() if area in part else None,
            sub,
        )
        result = protect(table, threshold=threshold, protection=protection)
        own = len(part)
        marks[rows[result.primary[:own]]] = PRIMARY
        marks[rows[result.secondary[:own]]] = SECONDARY
        exposed += len(result.exposed)
        group_values = group if isinstance(group, tuple) else (group,)
        for position in np.flatnonzero(result.secondary[own:]) + own:
            node, where = table.labels[position]
            margins.append({**dict(zip(keys, group_values, strict=True)), code: node, area: where})
    status[:] = marks
    hidden = pd.DataFrame(margins, columns=[*keys, code, area])
    return CountsProtection(status, exposed, tables, hidden)
