"""Near-repeat analysis: the Knox test over space-time bands, and near-repeat chains.

The Knox test counts pairs of events by how far apart they are in space and in
time, and compares each cell of that table with what random timing would give:
the dates are permuted across the fixed locations (Monte Carlo), as in
Ratcliffe's Near Repeat Calculator (NRC) and the R package NearRepeat.

Why this is hand-written rather than taken from pointpats or NearRepeat: those
compute all n(n-1)/2 pairwise distances (quadratic memory and time; NRC users
report failures beyond about 10,000 events). Here a cell list visits only the
pairs closer than the largest finite distance break, once, and keeps them as a
compact list (partner and distance band, 5 bytes a pair); every permutation
then reuses that fixed list and only recomputes the time differences, and a
compiled loop (numba, see ``_knox_kernel``) counts a batch of permutations in
one pass over the pairs.
Pairs farther apart than the largest finite distance break are never
enumerated: their counts per time band follow from the distribution of all
pairwise time differences, which a permutation of dates does not change
(computed once from the sorted dates in O(n log n)).

References
----------
Knox, E. G. (1964). The detection of space-time interactions. *Journal of the
Royal Statistical Society C*, 13(1), 25-30.
Ratcliffe, J. H. (2009). Near Repeat Calculator (version 1.3). Temple University.
Steenbeek, W. (2020). NearRepeat: Near Repeat analysis in R (version 0.1.1).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components
from scipy.spatial import cKDTree

from crimeprev.errors import InvalidInputError
from crimeprev.spatial._common import (
    RandomLike,
    as_breaks,
    as_float_array,
    resolve_rng,
    same_length,
)

Metric = Literal["euclidean", "manhattan"]


def days_since_first(times: Any) -> np.ndarray:
    """Return event times as days (float) since the earliest event.

    Parameters
    ----------
    times : array-like
        ``datetime64`` values (dates or datetimes), ISO date strings, or numbers
        already in days.

    Returns
    -------
    numpy.ndarray
        Days since the first event; whole numbers for dates.

    Raises
    ------
    InvalidInputError
        If a time is missing or cannot be read.

    Examples
    --------
    >>> days_since_first(np.array(["2016-01-03", "2016-01-01"], dtype="datetime64[D]"))
    array([2., 0.])
    >>> days_since_first([1.5, 3.0])
    array([0. , 1.5])
    """
    array = np.asarray(times)
    if array.dtype.kind in "OUS":
        try:
            array = array.astype("datetime64[s]")
        except ValueError as error:
            raise InvalidInputError(
                f"times must be dates (YYYY-MM-DD) or datetimes: {error}", field="date"
            ) from error
    if array.dtype.kind == "M":
        missing = np.flatnonzero(np.isnat(array))
        if missing.size:
            raise InvalidInputError(
                f"times has {missing.size} missing value(s), first at position "
                f"{int(missing[0])}; drop events without a date first",
                field="date",
                row=int(missing[0]),
            )
        seconds = array.astype("datetime64[s]").astype(np.int64)
        return (seconds - seconds.min()) / 86_400.0
    days = as_float_array(array, "times")
    return days - days.min() if days.size else days


def nrc_breaks(
    *,
    spatial_bandwidth: float,
    spatial_bands: int,
    temporal_bandwidth: float,
    temporal_bands: int,
) -> tuple[np.ndarray, np.ndarray, tuple[str, ...], tuple[str, ...]]:
    """Return the distance and time breaks and labels of the Near Repeat Calculator.

    NRC 1.3 prints bands as "Same location", "1 to 100", "101 to 200", ...,
    "More than 300" (and "0 to 7", "8 to 14", ..., "More than 21" days), but its
    counts are reproduced exactly by the half-open intervals [0, 1), [1, 100),
    [100, 200), ... metres and [0, 7), [7, 14), ... days (Steenbeek's NearRepeat
    vignette "NRC"; checked cell by cell against NRC output in our tests). The
    same-location band is [0, 1) metre when the bandwidth exceeds 1, else a
    tiny [0, 0.001).

    Parameters
    ----------
    spatial_bandwidth, temporal_bandwidth : float
        Band width in metres and in days.
    spatial_bands, temporal_bands : int
        Number of bands before the open "More than" band.

    Returns
    -------
    tuple
        ``(distance_breaks, time_breaks, distance_labels, time_labels)``.

    Examples
    --------
    >>> d, t, dl, tl = nrc_breaks(
    ...     spatial_bandwidth=100, spatial_bands=3, temporal_bandwidth=7, temporal_bands=3
    ... )
    >>> d.tolist(), t.tolist()
    ([0.0, 0.001, 100.0, 200.0, 300.0, inf], [0.0, 7.0, 14.0, 21.0, inf])
    >>> dl
    ('Same location', '1 to 100', '101 to 200', '201 to 300', 'More than 300')
    >>> tl
    ('0 to 7', '8 to 14', '15 to 21', 'More than 21')
    """
    if spatial_bandwidth <= 0 or temporal_bandwidth <= 0:
        raise InvalidInputError(
            f"bandwidths must be > 0, got spatial {spatial_bandwidth!r} and "
            f"temporal {temporal_bandwidth!r}"
        )
    if spatial_bands < 1 or temporal_bands < 1:
        raise InvalidInputError(
            f"band counts must be >= 1, got {spatial_bands!r} and {temporal_bands!r}"
        )
    same = 1e-3
    distance = np.array(
        [0.0, same] + [spatial_bandwidth * k for k in range(1, spatial_bands + 1)] + [np.inf]
    )
    time = np.array([temporal_bandwidth * k for k in range(temporal_bands + 1)] + [np.inf])

    def number(value: float) -> str:
        return f"{value:g}"

    distance_labels = ["Same location"]
    for k in range(1, spatial_bands + 1):
        distance_labels.append(
            f"{number(spatial_bandwidth * (k - 1) + 1)} to {number(spatial_bandwidth * k)}"
        )
    distance_labels.append(f"More than {number(spatial_bandwidth * spatial_bands)}")
    time_labels = [f"0 to {number(temporal_bandwidth)}"]
    for k in range(2, temporal_bands + 1):
        time_labels.append(
            f"{number(temporal_bandwidth * (k - 1) + 1)} to {number(temporal_bandwidth * k)}"
        )
    time_labels.append(f"More than {number(temporal_bandwidth * temporal_bands)}")
    return distance, time, tuple(distance_labels), tuple(time_labels)


def interval_labels(breaks: np.ndarray, unit: str) -> tuple[str, ...]:
    """Return labels "[a, b) unit" for half-open bands.

    Examples
    --------
    >>> interval_labels(np.array([0, 100, np.inf]), "m")
    ('[0, 100) m', '[100, inf) m')
    """
    return tuple(
        f"[{low:g}, {high:g}) {unit}" for low, high in zip(breaks[:-1], breaks[1:], strict=True)
    )


def close_pairs(
    x: np.ndarray, y: np.ndarray, radius: float, metric: Metric = "euclidean"
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return the pairs of events strictly closer than ``radius``, with their distances.

    A KD-tree visits only nearby pairs, so time and memory grow with the
    number of close pairs, not with n squared.

    Parameters
    ----------
    x, y : numpy.ndarray
        Projected coordinates (metres).
    radius : float
        Pairs at distance < radius are returned.
    metric : {"euclidean", "manhattan"}, default="euclidean"

    Returns
    -------
    tuple of numpy.ndarray
        ``(first, second, distance)``: int32 event indices with first < second,
        and float64 distances.

    Examples
    --------
    >>> i, j, d = close_pairs(np.array([0.0, 3.0, 10.0]), np.array([0.0, 4.0, 0.0]), 6)
    >>> i.tolist(), j.tolist(), d.tolist()
    ([0], [1], [5.0])
    >>> close_pairs(np.array([0.0, 3.0]), np.array([0.0, 4.0]), 7.5, "manhattan")[2].tolist()
    [7.0]
    """
    if metric not in ("euclidean", "manhattan"):
        raise InvalidInputError(f"metric must be 'euclidean' or 'manhattan', got {metric!r}")
    empty = (np.empty(0, np.int32), np.empty(0, np.int32), np.empty(0))
    if len(x) < 2 or radius <= 0:
        return empty
    points = np.column_stack([x, y])
    tree = cKDTree(points)
    # query_pairs includes distance == radius; widen slightly against rounding and
    # filter with the exact rule below.
    pairs = tree.query_pairs(
        radius * (1 + 1e-12) + 1e-12, p=2.0 if metric == "euclidean" else 1.0, output_type="ndarray"
    )
    if pairs.size == 0:
        return empty
    first = pairs[:, 0].astype(np.int32)
    second = pairs[:, 1].astype(np.int32)
    del pairs
    dx = np.abs(x[first] - x[second])
    dy = np.abs(y[first] - y[second])
    distance = np.hypot(dx, dy) if metric == "euclidean" else dx + dy
    keep = distance < radius
    low = np.minimum(first, second)[keep]
    high = np.maximum(first, second)[keep]
    return low, high, distance[keep]


def _pairs_closer_in_time(sorted_days: np.ndarray, limits: np.ndarray) -> np.ndarray:
    """Number of pairs whose time difference is < each limit (all n(n-1)/2 pairs)."""
    n = sorted_days.size
    counts = np.empty(limits.size, dtype=np.int64)
    positions = np.arange(n)
    for k, limit in enumerate(limits):
        if np.isinf(limit):
            counts[k] = n * (n - 1) // 2
        elif limit <= 0:
            counts[k] = 0
        else:
            upper = np.searchsorted(sorted_days, sorted_days + limit, side="left")
            counts[k] = int(np.sum(upper - positions - 1))
    return counts


# Columns of permuted times counted together in one pass over the close pairs
# come in multiples of a 512-bit vector register; a batch takes at most
# _BATCH_BYTES (besides at least one register's worth per event).
_VECTOR_BYTES = 64
_BATCH_BYTES = 128 * 2**20
# Distance bands are stored as one byte per pair (plus the trash band).
_MAX_DISTANCE_BANDS = 255
# Cell indices must stay exact integers in float64 and fit the int64 cell keys.
_MAX_CELLS = 2.0**52


def pair_lists(
    x: np.ndarray, y: np.ndarray, radius: float, breaks: np.ndarray, metric: Metric = "euclidean"
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Return the pairs closer than ``radius`` as a CSR list by first event, with bands.

    Events are ordered by square cells of side ``radius`` (row by row, stably),
    so a pair closer than the radius lies in the same or an adjacent cell and
    only the cell itself, the next one in its row and the three above are
    searched (each pair once, from its earlier event). Memory is five bytes
    per close pair plus a few arrays of n.

    Parameters
    ----------
    x, y : numpy.ndarray
        Projected coordinates (metres), in any order.
    radius : float
        Pairs at distance < radius are listed; 0 lists none.
    breaks : numpy.ndarray
        Distance breaks; a pair's band is the half-open [a, b) holding its
        distance, or ``len(breaks) - 1`` (a "trash" band) below the first break.
    metric : {"euclidean", "manhattan"}, default="euclidean"

    Returns
    -------
    tuple of numpy.ndarray
        ``(order, offsets, partner, band)``: the cell order of the events;
        then, in that order, event i's partners are
        ``partner[offsets[i]:offsets[i + 1]]`` (all > i, int32) with their
        distance bands ``band[...]`` (uint8).

    Raises
    ------
    InvalidInputError
        On an unknown metric, more than 255 distance bands, or coordinates
        spread so widely for the radius that the cell grid cannot be indexed.

    Examples
    --------
    >>> order, offsets, partner, band = pair_lists(
    ...     np.array([0.0, 3.0, 10.0]), np.array([0.0, 4.0, 0.0]), 6.0, np.array([0.0, 5.0, 6.0])
    ... )
    >>> order.tolist(), offsets.tolist(), partner.tolist(), band.tolist()
    ([0, 1, 2], [0, 1, 1, 1], [1], [1])
    """
    if metric not in ("euclidean", "manhattan"):
        raise InvalidInputError(f"metric must be 'euclidean' or 'manhattan', got {metric!r}")
    if breaks.size - 1 > _MAX_DISTANCE_BANDS:
        raise InvalidInputError(
            f"at most {_MAX_DISTANCE_BANDS} distance bands are supported, got {breaks.size - 1}"
        )
    n = x.size
    if n >= 2**31:
        raise InvalidInputError(f"at most 2**31 - 1 events are supported, got {n:,}")
    if radius <= 0 or n < 2:
        return (
            np.arange(n),
            np.zeros(n + 1, dtype=np.int64),
            np.empty(0, np.int32),
            np.empty(0, np.uint8),
        )
    cell_x = np.floor(x / radius)
    cell_y = np.floor(y / radius)
    span_x = cell_x.max() - cell_x.min() + 3
    span_y = cell_y.max() - cell_y.min() + 1
    if max(np.abs(cell_x).max(), np.abs(cell_y).max()) > _MAX_CELLS or span_x * span_y > (
        _MAX_CELLS
    ):
        raise InvalidInputError(
            f"coordinates span {np.ptp(x):.3g} x {np.ptp(y):.3g} m, too wide to search for "
            f"pairs closer than {radius:g} m; are they projected to metres?"
        )
    width = int(span_x)
    key = (cell_y - cell_y.min()).astype(np.int64) * width + (cell_x - cell_x.min() + 1).astype(
        np.int64
    )
    order = np.argsort(key, kind="stable")
    key = key[order]
    x, y = x[order], y[order]
    # Per distinct cell: where the cell and its next neighbour in the row end,
    # and the contiguous range of the three cells above (keys + width - 1 .. + 1).
    starts = np.flatnonzero(np.r_[True, key[1:] != key[:-1]])
    cells = key[starts]
    same_end = np.searchsorted(key, cells + 2, side="left")
    next_start = np.searchsorted(key, cells + width - 1, side="left")
    next_end = np.searchsorted(key, cells + width + 2, side="left")
    sizes = np.diff(np.r_[starts, n])
    same_end, next_start, next_end = (
        np.repeat(values, sizes) for values in (same_end, next_start, next_end)
    )

    from crimeprev.spatial import _knox_kernel  # numba: imported only when needed

    manhattan = metric == "manhattan"
    candidates = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(same_end - np.arange(1, n + 1) + next_end - next_start, out=candidates[1:])
    bounds = _chunk_bounds(candidates)
    float_breaks = breaks.astype(np.float64)
    counts = _knox_kernel.count_partners(
        x, y, same_end, next_start, next_end, radius, manhattan, bounds
    )
    offsets = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(counts, out=offsets[1:])
    del counts
    partner, band = _knox_kernel.fill_partners(
        x,
        y,
        same_end,
        next_start,
        next_end,
        radius,
        manhattan,
        bounds,
        offsets,
        float_breaks,
        breaks.size - 1,
    )
    return order, offsets, partner, band


def _time_columns(days: np.ndarray, breaks: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Return event times in the narrowest exact type, and the matching time limits.

    Whole days become int16 (or int32) and a limit b becomes ceil(b), since an
    integer gap g is < b exactly when g < ceil(b); narrower times mean more
    permutations per vector instruction. Fractional days stay float64. The
    limits are the finite breaks (the counting kernel counts gaps below each).
    """
    finite = breaks[np.isfinite(breaks)]
    if np.all(days == np.round(days)) and days.max() < 2**30:
        kind = np.int16 if days.max() < np.iinfo(np.int16).max else np.int32
        ceiling = np.iinfo(kind).max
        limits = np.minimum(np.ceil(finite), ceiling).astype(kind)
        return np.round(days).astype(kind), limits
    return days.astype(np.float64), finite.astype(np.float64)


def _bands_from_cumulative(
    cumulative: np.ndarray, pairs_per_row: np.ndarray, breaks: np.ndarray
) -> np.ndarray:
    """Pairs per (distance row, time band) from the counts below each finite break.

    ``cumulative[row, k]`` counts the pairs with a time gap < the k-th finite
    break; a band [a, b) holds cumulative(b) - cumulative(a), with
    cumulative(inf) = all the row's pairs. Pairs outside the breaks are left out.
    """
    finite = int(np.isfinite(breaks).sum())
    below = np.concatenate([cumulative[:, :finite], pairs_per_row[:, None]], axis=1)
    if finite == breaks.size:
        below = below[:, :finite]
    return np.diff(below, axis=1)


def _ceil_div(numerator: int, denominator: int) -> int:
    """Integer division rounded up."""
    return -(-numerator // denominator)


def _chunk_bounds(offsets: np.ndarray) -> np.ndarray:
    """Event boundaries of chunks with about equal work (for the threads).

    ``offsets`` is the cumulative work (pairs) by event. A chunk also stays
    below 2**30 pairs, so the kernels' per-chunk int32 tallies cannot overflow.
    """
    from numba import get_num_threads

    n = offsets.size - 1
    chunks = max(1, min(n, max(8 * get_num_threads(), int(offsets[-1] >> 30) + 2)))
    targets = np.linspace(0, offsets[-1], chunks + 1)
    bounds = np.searchsorted(offsets, targets, side="left")
    bounds[0], bounds[-1] = 0, n
    return np.maximum.accumulate(np.minimum(bounds, n)).astype(np.int64)


@dataclass(frozen=True, eq=False)
class KnoxResult:
    """A Knox table: observed and expected pair counts per (distance band, time band).

    Attributes
    ----------
    observed : numpy.ndarray
        Pairs per cell, shape (distance bands, time bands).
    expected : numpy.ndarray
        Mean count over the permutations (the Monte Carlo expectation, as in NRC).
    exact_expected : numpy.ndarray
        The exact expectation under random permutation of dates,
        n_s * m_t / M (pairs in distance band s times pairs in time band t over
        all pairs); None when the last distance or time break is finite.
    knox_ratio : numpy.ndarray
        observed / expected (NaN where expected is 0).
    p_values : numpy.ndarray
        (1 + #{permuted >= observed}) / (permutations + 1); NaN with no permutations.
    distance_breaks, time_breaks : tuple of float
        Half-open bands [a, b); metres and days.
    """

    observed: np.ndarray
    expected: np.ndarray
    exact_expected: np.ndarray | None
    knox_ratio: np.ndarray
    p_values: np.ndarray
    distance_breaks: tuple[float, ...]
    time_breaks: tuple[float, ...]
    distance_labels: tuple[str, ...]
    time_labels: tuple[str, ...]
    metric: str
    convention: str
    permutations: int
    seed: int | None
    events: int
    close_pairs: int
    total_pairs: int
    single_precision: bool = False
    source: str | None = None
    parameters: dict[str, Any] = field(default_factory=dict)

    def significance(self, alpha: float = 0.05) -> np.ndarray:
        """Return marks per cell: "++"/"+" more pairs than expected at p <= alpha/5 or
        alpha; "" otherwise (NRC highlights the same cells)."""
        marks = np.full(self.observed.shape, "", dtype=object)
        above = self.knox_ratio > 1
        marks[above & (self.p_values <= alpha)] = "+"
        marks[above & (self.p_values <= alpha / 5)] = "++"
        return marks

    def to_dict(self) -> dict[str, Any]:
        """Return the result as plain JSON-ready Python values."""

        def clean(array: np.ndarray | None) -> Any:
            if array is None:
                return None
            return [[None if not np.isfinite(v) else float(v) for v in row] for row in array]

        return {
            "observed": self.observed.tolist(),
            "expected": clean(self.expected),
            "exact_expected": clean(self.exact_expected),
            "knox_ratio": clean(self.knox_ratio),
            "p_values": clean(self.p_values),
            "significance": self.significance().tolist(),
            "distance_breaks": [None if np.isinf(b) else b for b in self.distance_breaks],
            "time_breaks": [None if np.isinf(b) else b for b in self.time_breaks],
            "distance_labels": list(self.distance_labels),
            "time_labels": list(self.time_labels),
            "metric": self.metric,
            "convention": self.convention,
            "permutations": self.permutations,
            "seed": self.seed,
            "events": self.events,
            "close_pairs": self.close_pairs,
            "total_pairs": self.total_pairs,
            "single_precision": self.single_precision,
            "source": self.source,
            "parameters": self.parameters,
        }


def knox_test(
    x: Any,
    y: Any,
    times: Any,
    *,
    distance_breaks: Any,
    time_breaks: Any,
    metric: Metric = "euclidean",
    permutations: int = 99,
    rng: RandomLike = None,
    distance_labels: tuple[str, ...] | None = None,
    time_labels: tuple[str, ...] | None = None,
    convention: str = "half-open",
    single_precision: bool = False,
    source: str | None = None,
) -> KnoxResult:
    """Run the Knox test for near repeats with Monte Carlo permutation of the dates.

    Every unordered pair of events is placed in the distance band and time band
    that contain its distance and its absolute time difference; bands are
    half-open [a, b). The dates are then shuffled across the fixed locations
    ``permutations`` times.

    Parameters
    ----------
    x, y : array-like
        Projected coordinates in metres.
    times : array-like
        Dates or datetimes (``datetime64`` or ISO strings) or numbers in days.
    distance_breaks : sequence of float
        Break points in metres, e.g. ``[0, 1, 100, 200, 300, inf]``; the last may
        be ``inf`` (all remaining pairs). Pairs outside the breaks are not counted.
    time_breaks : sequence of float
        Break points in days, e.g. ``[0, 7, 14, 21, inf]``.
    metric : {"euclidean", "manhattan"}, default="euclidean"
        Distance between locations (NRC's default is Manhattan).
    permutations : int, default=99
        Monte Carlo permutations, 0 to 9,999.
    rng : numpy.random.Generator, int or None
        Seed or generator for the permutations (the seed is recorded).
    distance_labels, time_labels : tuple of str, optional
        Labels of the bands (default "[a, b) m" and "[a, b) days").
    convention : str, default="half-open"
        Name recorded with the result ("nrc" when built by :func:`knox_test_nrc`).
    single_precision : bool, default=False
        Round coordinates to single precision (float32) first, as NRC stores them.
    source : str, optional
        Where the events came from (recorded).

    Returns
    -------
    KnoxResult

    Raises
    ------
    InvalidInputError
        On missing coordinates or dates, mismatched lengths, bad breaks or a
        permutation count outside 0..9,999.

    Examples
    --------
    >>> x = np.array([0.0, 10.0, 500.0, 505.0, 2000.0])
    >>> y = np.zeros(5)
    >>> days = np.array([0, 1, 30, 31, 60])
    >>> result = knox_test(
    ...     x, y, days, distance_breaks=[0, 50, np.inf], time_breaks=[0, 7, np.inf],
    ...     permutations=99, rng=1,
    ... )
    >>> result.observed.tolist()
    [[2, 0], [0, 8]]
    >>> result.exact_expected.tolist()
    [[0.4, 1.6], [1.6, 6.4]]
    """
    x = as_float_array(x, "x")
    y = as_float_array(y, "y")
    days = days_since_first(times)
    n = same_length(x=x, y=y, times=days)
    if n < 2:
        raise InvalidInputError(f"the Knox test needs at least 2 events, got {n}")
    if not 0 <= int(permutations) <= 9_999 or int(permutations) != permutations:
        raise InvalidInputError(f"permutations must be an integer 0..9999, got {permutations!r}")
    permutations = int(permutations)
    if single_precision:
        x = x.astype(np.float32).astype(np.float64)
        y = y.astype(np.float32).astype(np.float64)
    dbreaks = as_breaks(distance_breaks, "distance_breaks")
    tbreaks = as_breaks(time_breaks, "time_breaks")
    generator, seed = resolve_rng(rng)
    n_space = dbreaks.size - 1
    n_time = tbreaks.size - 1
    open_space = bool(np.isinf(dbreaks[-1]))
    open_time = bool(np.isinf(tbreaks[-1]))

    # Close pairs: those below the largest finite distance break, as a CSR list
    # by first event (partner index and distance band). Events are put in
    # grid-cell order first: the pair search walks neighbouring cells, and close
    # pairs get close indices, so the counting loop reads times from cache.
    radius = float(dbreaks[-2] if open_space else dbreaks[-1])
    order, offsets, partner, space_band = pair_lists(x, y, radius, dbreaks, metric)
    x, y, days = x[order], y[order], days[order]

    from crimeprev.spatial import _knox_kernel  # numba: imported only when needed

    # Counts are kept per (space band + trash row) x (time band + trash column);
    # the trash row holds close pairs below the first distance break, the trash
    # column pairs outside the time breaks.
    rows = n_space + 1
    total_pairs = n * (n - 1) // 2
    event_times, limits = _time_columns(days, tbreaks)
    pairs_per_row = np.bincount(space_band, minlength=rows)
    bounds = _chunk_bounds(offsets)

    # All-pairs counts per time band (invariant under permutation of dates).
    sorted_days = np.sort(days)
    below = _pairs_closer_in_time(sorted_days, tbreaks)
    pairs_per_time_band = np.diff(below)

    def table_from(cumulative: np.ndarray) -> np.ndarray:
        """Knox table from the close pairs below each time break (one column)."""
        counts = _bands_from_cumulative(cumulative, pairs_per_row, tbreaks)
        result = counts[:n_space].copy()
        if open_space:
            # Far row = pairs in that time band minus every close pair (incl. trash row).
            result[n_space - 1, :] = pairs_per_time_band - counts.sum(axis=0)
        return result

    # The observed times and the permuted ones, as columns of batches; each
    # batch is counted in one pass over the close pairs.
    columns = permutations + 1
    lanes = _VECTOR_BYTES // event_times.itemsize
    most = max(lanes, _BATCH_BYTES // (n * event_times.itemsize) // lanes * lanes)
    batches = _ceil_div(columns, most)
    width = _ceil_div(_ceil_div(columns, batches), lanes) * lanes
    observed = np.zeros((n_space, n_time), dtype=np.int64)
    simulated_sum = np.zeros(observed.shape, dtype=np.float64)
    at_least = np.zeros(observed.shape, dtype=np.int64)
    for start in range(0, columns, width):
        size = min(width, columns - start)
        # A whole number of vector registers per row (padding columns are ignored).
        batch = np.zeros((width, n), dtype=event_times.dtype)
        for column in range(size):
            # permutation(array) shuffles a copy: the same draws as array[permutation(n)].
            batch[column] = (
                event_times if start + column == 0 else generator.permutation(event_times)
            )
        counted = _knox_kernel.count_below(
            np.ascontiguousarray(batch.T), offsets, partner, space_band, limits, rows, bounds
        )
        del batch
        for column in range(size):
            table = table_from(counted[:, :, column])
            if start + column == 0:
                observed = table
                continue
            simulated_sum += table
            at_least += table >= observed
    if permutations:
        expected = simulated_sum / permutations
        p_values = (1.0 + at_least) / (permutations + 1.0)
    else:
        expected = np.full(observed.shape, np.nan)
        p_values = np.full(observed.shape, np.nan)
    with np.errstate(divide="ignore", invalid="ignore"):
        knox_ratio = np.where(expected > 0, observed / np.where(expected > 0, expected, 1), np.nan)

    exact_expected = None
    if open_space and dbreaks[0] == 0 and open_time and tbreaks[0] == 0:
        closer = np.zeros(n_space, dtype=np.int64)
        closer[: n_space - 1] = np.bincount(space_band, minlength=rows)[: n_space - 1]
        closer[n_space - 1] = total_pairs - closer.sum()
        exact_expected = np.outer(closer, pairs_per_time_band) / total_pairs

    return KnoxResult(
        observed=observed,
        expected=expected,
        exact_expected=exact_expected,
        knox_ratio=knox_ratio,
        p_values=p_values,
        distance_breaks=tuple(float(b) for b in dbreaks),
        time_breaks=tuple(float(b) for b in tbreaks),
        distance_labels=distance_labels or interval_labels(dbreaks, "m"),
        time_labels=time_labels or interval_labels(tbreaks, "days"),
        metric=metric,
        convention=convention,
        permutations=permutations,
        seed=seed,
        events=n,
        close_pairs=int(partner.size),
        total_pairs=total_pairs,
        single_precision=single_precision,
        source=source,
        parameters={
            "distance_breaks": [float(b) for b in dbreaks],
            "time_breaks": [float(b) for b in tbreaks],
            "metric": metric,
            "permutations": permutations,
        },
    )


def knox_test_nrc(
    x: Any,
    y: Any,
    times: Any,
    *,
    spatial_bandwidth: float,
    spatial_bands: int = 3,
    temporal_bandwidth: float,
    temporal_bands: int = 3,
    metric: Metric = "manhattan",
    permutations: int = 99,
    rng: RandomLike = None,
    single_precision: bool = True,
    source: str | None = None,
) -> KnoxResult:
    """Run the Knox test with the Near Repeat Calculator's bands and conventions.

    Bands come from :func:`nrc_breaks` (same location, ``spatial_bands`` bands
    of ``spatial_bandwidth`` metres, then "More than"; likewise in days), the
    distance is Manhattan by default as in NRC, and coordinates are rounded to
    single precision (float32) as NRC stores them: this decides one arson pair
    at 399.96 m (400.0 m in single precision) in the NRC reference output.

    Parameters
    ----------
    x, y, times : array-like
        As for :func:`knox_test`.
    spatial_bandwidth : float
        Metres per band.
    spatial_bands : int, default=3
    temporal_bandwidth : float
        Days per band.
    temporal_bands : int, default=3
    metric : {"manhattan", "euclidean"}, default="manhattan"
    permutations : int, default=99
        NRC offers 20, 100, 500 or 1000 iterations; any 0..9,999 here.
    rng : numpy.random.Generator, int or None
    single_precision : bool, default=True
        Round coordinates to float32 as NRC does; False keeps full precision.
    source : str, optional

    Returns
    -------
    KnoxResult

    Examples
    --------
    >>> result = knox_test_nrc(
    ...     [0.0, 50.0, 0.0, 900.0], [0.0, 0.0, 0.0, 900.0],
    ...     ["2016-01-01", "2016-01-03", "2016-01-20", "2016-02-01"],
    ...     spatial_bandwidth=100, temporal_bandwidth=7, permutations=0,
    ... )
    >>> result.distance_labels[:2], result.observed[:2].tolist()
    (('Same location', '1 to 100'), [[0, 0, 1, 0], [1, 0, 1, 0]])
    """
    distance, time, distance_labels, time_labels = nrc_breaks(
        spatial_bandwidth=spatial_bandwidth,
        spatial_bands=spatial_bands,
        temporal_bandwidth=temporal_bandwidth,
        temporal_bands=temporal_bands,
    )
    return knox_test(
        x,
        y,
        times,
        distance_breaks=distance,
        time_breaks=time,
        metric=metric,
        permutations=permutations,
        rng=rng,
        distance_labels=distance_labels,
        time_labels=time_labels,
        convention="nrc",
        single_precision=single_precision,
        source=source,
    )


@dataclass(frozen=True, eq=False)
class NearRepeatChains:
    """Events linked into chains: each link is closer than the distance and time limits.

    Attributes
    ----------
    chain : numpy.ndarray
        Chain number per event (0 = largest chain); -1 for events in no chain.
    members : tuple of numpy.ndarray
        Event indices of each chain (two or more events), largest first, each
        ordered by time.
    links : int
        Pairs of events that are linked.
    """

    chain: np.ndarray
    members: tuple[np.ndarray, ...]
    links: int
    distance: float
    days: float
    metric: str
    events: int

    def summary(self, times: Any | None = None) -> list[dict[str, Any]]:
        """Return one row per chain: number, events, first and last day (or date)."""
        rows = []
        values = None if times is None else np.asarray(times)
        for number, members in enumerate(self.members):
            row: dict[str, Any] = {"chain": number, "events": int(members.size)}
            if values is not None:
                row["first"] = str(values[members].min())
                row["last"] = str(values[members].max())
            rows.append(row)
        return rows


def near_repeat_chains(
    x: Any,
    y: Any,
    times: Any,
    *,
    distance: float,
    days: float,
    metric: Metric = "euclidean",
) -> NearRepeatChains:
    """Link events closer than ``distance`` metres and ``days`` days into chains.

    Two events are linked when both their distance and their time difference
    are strictly below the limits (the first bands of a Knox table); a chain is
    a connected group of linked events (an originator and its near repeats),
    for operational follow-up.

    Parameters
    ----------
    x, y, times : array-like
        As for :func:`knox_test`.
    distance : float
        Metres (exclusive).
    days : float
        Days (exclusive).
    metric : {"euclidean", "manhattan"}, default="euclidean"

    Returns
    -------
    NearRepeatChains

    Examples
    --------
    >>> chains = near_repeat_chains(
    ...     [0, 50, 90, 5000], [0, 0, 0, 0], [0, 3, 5, 4], distance=100, days=7
    ... )
    >>> chains.chain.tolist(), chains.links
    ([0, 0, 0, -1], 3)
    """
    x = as_float_array(x, "x")
    y = as_float_array(y, "y")
    day_values = days_since_first(times)
    n = same_length(x=x, y=y, times=day_values)
    if distance <= 0 or days <= 0:
        raise InvalidInputError(f"distance and days must be > 0, got {distance!r} and {days!r}")
    first, second, _ = close_pairs(x, y, float(distance), metric)
    linked = np.abs(day_values[first] - day_values[second]) < days
    first, second = first[linked], second[linked]
    graph = coo_matrix((np.ones(first.size, dtype=np.int8), (first, second)), shape=(n, n))
    _, labels = connected_components(graph, directed=False)
    sizes = np.bincount(labels)
    in_chain = sizes[labels] >= 2
    chain = np.full(n, -1, dtype=np.int64)
    members: list[np.ndarray] = []
    if in_chain.any():
        count_components = sizes.size
        first_event = np.full(count_components, n, dtype=np.int64)
        np.minimum.at(first_event, labels, np.arange(n))
        # Largest chain first; ties by the earliest event index.
        ordered = np.lexsort((first_event, -sizes))
        ordered = ordered[sizes[ordered] >= 2]
        rank = np.full(count_components, -1, dtype=np.int64)
        rank[ordered] = np.arange(ordered.size)
        chain = rank[labels]
        events = np.flatnonzero(chain >= 0)
        events = events[np.lexsort((day_values[events], chain[events]))]
        boundaries = np.flatnonzero(np.diff(chain[events])) + 1
        members = list(np.split(events, boundaries))
    return NearRepeatChains(
        chain=chain,
        members=tuple(members),
        links=int(first.size),
        distance=float(distance),
        days=float(days),
        metric=metric,
        events=n,
    )
