"""Compiled close-pair search and pair counting for the Knox test.

Why compiled, and why laid out like this: a Knox permutation touches every
close pair once, so the cost is (close pairs) x (permutations + 1) visits. Two
choices keep a visit near the machine's limit of about 1 ns:

- The close pairs are stored compactly as a CSR list by first event: only the
  partner index (int32) and the distance band (uint8) per pair, 5 bytes,
  found with a cell list (cells of the search radius, events sorted by cell)
  so that nothing of quadratic or tree size is ever materialised. Memory is
  linear in the number of close pairs.
- Many permutations are counted in one pass over the pairs: the permuted
  times are stored event-major (one row per event, one column per
  permutation, int16 for dates), so a pair's partner row is one contiguous
  read that serves every permutation of the batch. Instead of looking up one
  time band per pair and adding to a scattered cell, the loop counts for each
  time break the gaps below it, which compiles to vector instructions across
  the permutations (about a third of the time of a look-up-and-add loop in
  our measurements, bench/RESULTS.md). Events are sorted by
  cell, so partners are near in memory and the reads come from cache.

Both loops run in parallel over chunks of events (``numba.prange``); the
compiled code is cached on disk, so only the first run on a machine compiles.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit, prange


@njit(cache=True, nogil=True)
def _distance(x: np.ndarray, y: np.ndarray, i: int, j: int, manhattan: bool) -> float:
    """Distance between events i and j (same arithmetic as NumPy's hypot or sum)."""
    dx = abs(x[i] - x[j])
    dy = abs(y[i] - y[j])
    if manhattan:
        return dx + dy
    return math.hypot(dx, dy)


@njit(cache=True, nogil=True)
def _exact_pair(
    x: np.ndarray,
    y: np.ndarray,
    i: int,
    j: int,
    radius: float,
    manhattan: bool,
    breaks: np.ndarray,
    trash: int,
) -> tuple[int, int]:
    """(closer than radius, distance band) of the pair (i, j) from the exact distance."""
    distance = _distance(x, y, i, j, manhattan)
    band = -1
    for b in range(breaks.size):
        if breaks[b] <= distance:
            band = b
        else:
            break
    return int(distance < radius), trash if band < 0 else band


@njit(cache=True, nogil=True)
def _pair(
    x: np.ndarray,
    y: np.ndarray,
    i: int,
    j: int,
    radius: float,
    manhattan: bool,
    breaks: np.ndarray,
    trash: int,
) -> tuple[int, int]:
    """(closer than radius, distance band) of the pair (i, j), as from :func:`_exact_pair`.

    Why not just call that: half the candidates are rejected at random, so an
    if per candidate is mispredicted often, and hypot is slow. Here the
    comparisons are summed without branches, on the squared distance for
    Euclidean pairs; only a pair within a relative 1e-9 of the radius or a
    break (a rare, well-predicted branch) is decided by the exact distance.
    """
    dx = abs(x[i] - x[j])
    dy = abs(y[i] - y[j])
    if manhattan:
        value = dx + dy
        low = 1.0
        high = 1.0
    else:
        value = dx * dx + dy * dy
        low = 1.0 - 1e-9
        high = 1.0 + 1e-9
    edge = radius if manhattan else radius * radius
    close = int(value < edge * low)
    unsure = (value >= edge * low) & (value <= edge * high)
    above = 0
    for b in range(breaks.size):
        edge = breaks[b] if manhattan else breaks[b] * breaks[b]
        above += int(edge * high <= value)
        unsure |= (value >= edge * low) & (value < edge * high)
    if unsure and not manhattan:
        return _exact_pair(x, y, i, j, radius, manhattan, breaks, trash)
    return close, trash if above == 0 else above - 1


@njit(cache=True, nogil=True)
def _close(x: np.ndarray, y: np.ndarray, i: int, j: int, radius: float, manhattan: bool) -> int:
    """1 if events i and j are closer than ``radius`` (as ``_distance(...) < radius``), else 0.

    Euclidean pairs are decided on the squared distance; only a pair within a
    relative 1e-9 of the radius (rare, so a well-predicted branch) calls the
    slower hypot, so the answer is that of the distance the bands use.
    """
    dx = x[j] - x[i]
    dy = y[j] - y[i]
    if manhattan:
        return int(abs(dx) + abs(dy) < radius)
    squared = dx * dx + dy * dy
    low = radius * radius * (1.0 - 1e-9)
    high = radius * radius * (1.0 + 1e-9)
    if low <= squared <= high:
        return int(_distance(x, y, i, j, manhattan) < radius)
    return int(squared < low)


@njit(cache=True, nogil=True)
def _close_in_range(
    x: np.ndarray, y: np.ndarray, i: int, first: int, last: int, radius: float, manhattan: bool
) -> int:
    """Number of events first .. last - 1 closer than ``radius`` to event i.

    Written as plain sums over the range so that it compiles to vector
    instructions; for the Euclidean distance the squared distance decides,
    and only when some pair lies within a relative 1e-9 of the radius is the
    range recounted pair by pair with :func:`_close`.
    """
    xi = x[i]
    yi = y[i]
    found = 0
    if manhattan:
        for j in range(first, last):
            found += int(abs(x[j] - xi) + abs(y[j] - yi) < radius)
        return found
    low = radius * radius * (1.0 - 1e-9)
    high = radius * radius * (1.0 + 1e-9)
    unsure = 0
    for j in range(first, last):
        dx = x[j] - xi
        dy = y[j] - yi
        squared = dx * dx + dy * dy
        found += int(squared < low)
        unsure += int((squared >= low) & (squared <= high))
    if unsure:
        found = 0
        for j in range(first, last):
            found += _close(x, y, i, j, radius, manhattan)
    return found


@njit(cache=True, nogil=True, parallel=True)
def count_partners(
    x: np.ndarray,
    y: np.ndarray,
    same_end: np.ndarray,
    next_start: np.ndarray,
    next_end: np.ndarray,
    radius: float,
    manhattan: bool,
    bounds: np.ndarray,
) -> np.ndarray:  # pragma: no cover - compiled; exercised through knox_test
    """Number of later partners closer than ``radius`` for each event.

    Event i's candidates are i+1 .. same_end[i] (rest of its cell and the next
    cell in the row) and next_start[i] .. next_end[i] (the three cells above).
    Chunks of events (``bounds``, with about equal numbers of candidates) run
    in parallel.
    """
    counts = np.zeros(x.size, dtype=np.int64)
    for c in prange(bounds.size - 1):
        for i in range(bounds[c], bounds[c + 1]):
            counts[i] = _close_in_range(x, y, i, i + 1, same_end[i], radius, manhattan)
            counts[i] += _close_in_range(x, y, i, next_start[i], next_end[i], radius, manhattan)
    return counts


@njit(cache=True, nogil=True, parallel=True)
def fill_partners(
    x: np.ndarray,
    y: np.ndarray,
    same_end: np.ndarray,
    next_start: np.ndarray,
    next_end: np.ndarray,
    radius: float,
    manhattan: bool,
    bounds: np.ndarray,
    offsets: np.ndarray,
    breaks: np.ndarray,
    trash: int,
) -> tuple[np.ndarray, np.ndarray]:  # pragma: no cover - compiled; exercised through knox_test
    """Fill the CSR pair list: partner index and distance band of every close pair.

    ``offsets`` comes from :func:`count_partners` (cumulative counts); pairs
    below the first break get band ``trash``. Every candidate is written to
    the next free slot, which only advances when the pair is close (no
    mispredicted branch); writes stop at the end of the event's own slots.
    """
    partner = np.empty(offsets[x.size], dtype=np.int32)
    band = np.empty(offsets[x.size], dtype=np.uint8)
    for c in prange(bounds.size - 1):
        for i in range(bounds[c], bounds[c + 1]):
            k = offsets[i]
            end = offsets[i + 1]
            if k == end:
                continue
            for j in range(i + 1, same_end[i]):
                close, value = _pair(x, y, i, j, radius, manhattan, breaks, trash)
                if k < end:
                    partner[k] = j
                    band[k] = value
                k += close
            for j in range(next_start[i], next_end[i]):
                close, value = _pair(x, y, i, j, radius, manhattan, breaks, trash)
                if k < end:
                    partner[k] = j
                    band[k] = value
                k += close
    return partner, band


@njit(cache=True, nogil=True, parallel=True)
def count_below(
    times: np.ndarray,
    offsets: np.ndarray,
    partner: np.ndarray,
    band: np.ndarray,
    limits: np.ndarray,
    rows: int,
    bounds: np.ndarray,
) -> np.ndarray:  # pragma: no cover - compiled; exercised through knox_test
    """Count close pairs by distance band whose time gap is below each limit.

    ``times`` has one row per event and one column per permutation. Returns
    ``counts[band, limit, column]``: the pairs of that distance band whose
    absolute time difference in that column is < ``limits[limit]``; the time
    bands are differences of these cumulative counts. Comparing against every
    limit instead of looking up one band per pair keeps the inner loop free of
    scattered additions, so it runs as vector instructions over the columns.
    Chunks of events (``bounds``) are counted in parallel into their own
    tables (int32: a chunk holds fewer than 2**31 pairs).
    """
    width = times.shape[1]
    chunks = bounds.size - 1
    steps = limits.size
    tables = np.zeros((chunks, rows, steps, width), dtype=np.int32)
    for c in prange(chunks):
        own = np.empty(width, dtype=times.dtype)
        gap = np.empty(width, dtype=times.dtype)
        for i in range(bounds[c], bounds[c + 1]):
            own[:] = times[i]
            for k in range(offsets[i], offsets[i + 1]):
                table = tables[c, band[k]]
                other = times[partner[k]]
                for b in range(width):
                    gap[b] = abs(own[b] - other[b])
                for t in range(steps):
                    limit = limits[t]
                    row = table[t]
                    for b in range(width):
                        row[b] += gap[b] < limit
    total = np.zeros((rows, steps, width), dtype=np.int64)
    for c in range(chunks):
        total += tables[c]
    return total
