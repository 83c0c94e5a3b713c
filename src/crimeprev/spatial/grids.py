"""Square and hexagonal grids over projected points, and counts per area polygon.

A grid records its geometry (origin, cell size, the integer position of every
kept cell), the counts per cell, and how the cell size was chosen.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
from scipy.spatial import cKDTree

from crimeprev.errors import InvalidInputError
from crimeprev.spatial._common import as_float_array, same_length
from crimeprev.spatial.weights import Weights, grid_contiguity, hex_contiguity

SQRT3 = float(np.sqrt(3.0))


@dataclass(frozen=True, eq=False)
class Grid:
    """Cells of a square or hexagonal grid with the number of events in each.

    Attributes
    ----------
    kind : {"square", "hex"}
    cell_size : float
        Side of a square, or distance between neighbouring hexagon centres
        (flat-to-flat width), in metres.
    a, b : numpy.ndarray
        Integer cell positions: (column, row) for squares, axial (q, r) for hexagons.
    x, y : numpy.ndarray
        Cell centres (metres).
    counts : numpy.ndarray
        Events per cell.
    cell_area : float
        Square metres per cell.
    size_rule : str
        How ``cell_size`` was chosen ("given" or the automatic rule with its inputs).
    outside : int
        Events that fell in no kept cell (outside the mask).
    """

    kind: str
    cell_size: float
    origin_x: float
    origin_y: float
    a: np.ndarray
    b: np.ndarray
    x: np.ndarray
    y: np.ndarray
    counts: np.ndarray
    cell_area: float
    size_rule: str
    outside: int = 0
    epsg: int | None = None
    parameters: dict[str, Any] = field(default_factory=dict)

    @property
    def cells(self) -> int:
        """Number of cells."""
        return int(self.counts.size)

    def contiguity(self, rule: Literal["queen", "rook"] = "queen") -> Weights:
        """Contiguity weights between cells (hexagons always have six sides)."""
        if self.kind == "hex":
            return hex_contiguity(self.a, self.b)
        return grid_contiguity(self.a, self.b, rule=rule)

    def polygons(self) -> list[list[tuple[float, float]]]:
        """Return each cell's outline as a closed ring of (x, y) in metres."""
        if self.kind == "square":
            half = self.cell_size / 2
            corners = [(-half, -half), (half, -half), (half, half), (-half, half), (-half, -half)]
        else:
            radius = self.cell_size / SQRT3
            angles = np.deg2rad(np.arange(30, 391, 60))
            corners = list(zip(radius * np.cos(angles), radius * np.sin(angles), strict=True))
        return [
            [(float(cx + dx), float(cy + dy)) for dx, dy in corners]
            for cx, cy in zip(self.x, self.y, strict=True)
        ]


def _nice(value: float) -> float:
    """Round to two significant digits."""
    if value <= 0:
        return value
    magnitude = 10 ** np.floor(np.log10(value))
    return float(np.round(value / magnitude, 1) * magnitude)


def locational_outliers(x: np.ndarray, y: np.ndarray, *, spread: float = 3.0) -> np.ndarray:
    """Mark points farther than ``spread`` standard distances from the median centre.

    Examples
    --------
    >>> x = np.r_[np.zeros(50), 1000.0]
    >>> locational_outliers(x + np.arange(51) % 5, np.arange(51) % 7 * 1.0).nonzero()[0].tolist()
    [50]
    """
    centre_x, centre_y = np.median(x), np.median(y)
    distance = np.hypot(x - centre_x, y - centre_y)
    standard = np.sqrt(np.mean(distance**2))
    return np.asarray(distance > spread * standard) if standard > 0 else np.zeros(x.size, bool)


def automatic_cell_size(x: Any, y: Any) -> tuple[float, str]:
    """Choose a cell size from the data and say how.

    The rule: twice the mean distance from each distinct incident location to
    its nearest other location, but no smaller than the longer side of the
    extent over 150 (so a city-wide grid has at most about 150 x 150 cells),
    both after dropping locational outliers (more than 3 standard distances
    from the median centre); rounded to two significant digits.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> size, rule = automatic_cell_size(rng.uniform(0, 10_000, 500), rng.uniform(0, 10_000, 500))
    >>> size
    470.0
    """
    xs = as_float_array(x, "x")
    ys = as_float_array(y, "y")
    same_length(x=xs, y=ys)
    keep = ~locational_outliers(xs, ys)
    points = np.unique(np.column_stack([xs[keep], ys[keep]]), axis=0)
    if points.shape[0] < 2:
        raise InvalidInputError("need at least two distinct locations to choose a cell size")
    distance, _ = cKDTree(points).query(points, k=2)
    mean_nearest = float(distance[:, 1].mean())
    extent = float(max(np.ptp(points[:, 0]), np.ptp(points[:, 1])))
    size = _nice(max(2 * mean_nearest, extent / 150))
    rule = (
        f"automatic: max(2 x mean nearest-neighbour distance {mean_nearest:.1f} m, "
        f"extent {extent:.0f} m / 150) over {points.shape[0]} distinct locations "
        f"({int((~keep).sum())} locational outliers set aside), rounded to {size:g} m"
    )
    return size, rule


def _mask_keep(cx: np.ndarray, cy: np.ndarray, mask: Any | None) -> np.ndarray:
    if mask is None:
        return np.ones(cx.size, dtype=bool)
    import shapely

    return np.asarray(shapely.contains_xy(mask, cx, cy))


def square_grid(
    x: Any,
    y: Any,
    *,
    cell_size: float | None = None,
    mask: Any | None = None,
    bounds: Sequence[float] | None = None,
    epsg: int | None = None,
) -> Grid:
    """Count events in square cells covering the events (or ``bounds``).

    Parameters
    ----------
    x, y : array-like
        Projected coordinates (metres).
    cell_size : float, optional
        Side in metres; chosen by :func:`automatic_cell_size` when omitted.
    mask : shapely geometry, optional
        Keep only cells whose centre lies inside (e.g. the city boundary); the
        events falling elsewhere are counted in ``outside``.
    bounds : (xmin, ymin, xmax, ymax), optional
        Extent of the grid (default: the events' extent).
    epsg : int, optional
        Recorded coordinate system.

    Returns
    -------
    Grid

    Examples
    --------
    >>> grid = square_grid([5, 15, 16, 35], [5, 5, 6, 5], cell_size=10)
    >>> grid.counts.tolist(), grid.cells
    ([1, 2, 0, 1], 4)
    """
    xs = as_float_array(x, "x")
    ys = as_float_array(y, "y")
    same_length(x=xs, y=ys)
    if xs.size == 0:
        raise InvalidInputError("no events to grid")
    rule = "given"
    if cell_size is None:
        cell_size, rule = automatic_cell_size(xs, ys)
    if not cell_size > 0:
        raise InvalidInputError(f"cell_size must be > 0, got {cell_size!r}")
    xmin, ymin, xmax, ymax = (
        bounds if bounds is not None else (xs.min(), ys.min(), xs.max(), ys.max())
    )
    columns = max(int(np.floor((xmax - xmin) / cell_size)) + 1, 1)
    rows = max(int(np.floor((ymax - ymin) / cell_size)) + 1, 1)
    if columns * rows > 25_000_000:
        raise InvalidInputError(
            f"a {cell_size:g} m grid over this extent has {columns * rows:,} cells; "
            "choose a larger cell size"
        )
    col = np.floor((xs - xmin) / cell_size).astype(np.int64)
    row = np.floor((ys - ymin) / cell_size).astype(np.int64)
    inside = (col >= 0) & (col < columns) & (row >= 0) & (row < rows)
    counts = np.bincount(row[inside] * columns + col[inside], minlength=columns * rows)
    all_rows, all_cols = np.divmod(np.arange(columns * rows), columns)
    cx = xmin + (all_cols + 0.5) * cell_size
    cy = ymin + (all_rows + 0.5) * cell_size
    keep = _mask_keep(cx, cy, mask)
    return Grid(
        kind="square",
        cell_size=float(cell_size),
        origin_x=float(xmin),
        origin_y=float(ymin),
        a=all_cols[keep],
        b=all_rows[keep],
        x=cx[keep],
        y=cy[keep],
        counts=counts[keep],
        cell_area=float(cell_size) ** 2,
        size_rule=rule,
        outside=int(xs.size - counts[keep].sum()),
        epsg=epsg,
        parameters={"columns": columns, "rows": rows},
    )


def _axial_round(q: np.ndarray, r: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    s = -q - r
    rq, rr, rs = np.round(q), np.round(r), np.round(s)
    dq, dr, ds = np.abs(rq - q), np.abs(rr - r), np.abs(rs - s)
    fix_q = (dq > dr) & (dq > ds)
    fix_r = ~fix_q & (dr > ds)
    rq = np.where(fix_q, -rr - rs, rq)
    rr = np.where(fix_r, -rq - rs, rr)
    return rq.astype(np.int64), rr.astype(np.int64)


def hex_grid(
    x: Any,
    y: Any,
    *,
    cell_size: float | None = None,
    mask: Any | None = None,
    epsg: int | None = None,
) -> Grid:
    """Count events in pointy-top hexagons ``cell_size`` metres across (flat to flat).

    Examples
    --------
    >>> grid = hex_grid([0, 1, 2, 100], [0, 1, 0, 0], cell_size=10)
    >>> int(grid.counts.sum()), int(grid.counts.max())
    (4, 3)
    """
    xs = as_float_array(x, "x")
    ys = as_float_array(y, "y")
    same_length(x=xs, y=ys)
    if xs.size == 0:
        raise InvalidInputError("no events to grid")
    rule = "given"
    if cell_size is None:
        cell_size, rule = automatic_cell_size(xs, ys)
    if not cell_size > 0:
        raise InvalidInputError(f"cell_size must be > 0, got {cell_size!r}")
    radius = cell_size / SQRT3
    origin_x, origin_y = float(xs.min()), float(ys.min())

    def axial(px: np.ndarray, py: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        u, v = px - origin_x, py - origin_y
        return _axial_round((SQRT3 / 3 * u - v / 3) / radius, (2 / 3 * v) / radius)

    q, r = axial(xs, ys)
    # Every hexagon whose centre lies in the extent grown by one cell.
    r_values = np.arange(r.min() - 1, r.max() + 2)
    q_low = np.floor((xs.min() - origin_x - cell_size) / cell_size - (r_values + 0.0) / 2) - 1
    q_high = np.ceil((xs.max() - origin_x + cell_size) / cell_size - (r_values + 0.0) / 2) + 1
    lengths = (q_high - q_low + 1).astype(np.int64)
    all_r = np.repeat(r_values, lengths)
    all_q = (
        np.repeat(q_low, lengths)
        + np.arange(lengths.sum())
        - np.repeat(np.cumsum(lengths) - lengths, lengths)
    ).astype(np.int64)
    cx = origin_x + radius * SQRT3 * (all_q + all_r / 2)
    cy = origin_y + radius * 1.5 * all_r
    near = (
        (cx >= xs.min() - cell_size)
        & (cx <= xs.max() + cell_size)
        & (cy >= ys.min() - cell_size)
        & (cy <= ys.max() + cell_size)
    )
    all_q, all_r, cx, cy = all_q[near], all_r[near], cx[near], cy[near]
    keep = _mask_keep(cx, cy, mask)
    all_q, all_r, cx, cy = all_q[keep], all_r[keep], cx[keep], cy[keep]
    width = int(max(all_q.max(), q.max()) - min(all_q.min(), q.min())) + 3
    base_q = int(min(all_q.min(), q.min()))
    base_r = int(min(all_r.min(), r.min()))
    cell_keys = (all_r - base_r) * width + (all_q - base_q)
    event_keys = (r - base_r) * width + (q - base_q)
    order = np.argsort(cell_keys)
    position = np.searchsorted(cell_keys[order], event_keys)
    position = np.clip(position, 0, cell_keys.size - 1)
    hit = cell_keys[order][position] == event_keys
    counts = np.bincount(order[position[hit]], minlength=cell_keys.size)
    return Grid(
        kind="hex",
        cell_size=float(cell_size),
        origin_x=origin_x,
        origin_y=origin_y,
        a=all_q,
        b=all_r,
        x=cx,
        y=cy,
        counts=counts,
        cell_area=float(SQRT3 / 2 * cell_size**2),
        size_rule=rule,
        outside=int(xs.size - counts.sum()),
        epsg=epsg,
    )


@dataclass(frozen=True, eq=False)
class AreaCounts:
    """Events per area polygon, with rates when a denominator is given."""

    counts: np.ndarray
    rates: np.ndarray | None
    per: float
    outside: int


def count_in_areas(
    x: Any,
    y: Any,
    areas: Sequence[Any],
    *,
    denominator: Any | None = None,
    per: float = 100_000,
) -> AreaCounts:
    """Count events in each polygon (first match wins on shared borders); rates per ``per``.

    Examples
    --------
    >>> from shapely.geometry import box
    >>> result = count_in_areas([0.5, 1.5, 1.6, 9], [0.5, 0.5, 0.5, 9],
    ...                         [box(0, 0, 1, 1), box(1, 0, 2, 1)], denominator=[1000, 4000])
    >>> result.counts.tolist(), result.rates.tolist(), result.outside
    ([1, 2], [100.0, 50.0], 1)
    """
    import shapely

    xs = as_float_array(x, "x")
    ys = as_float_array(y, "y")
    same_length(x=xs, y=ys)
    geometries = np.asarray(areas, dtype=object)
    tree = shapely.STRtree(geometries)
    points = shapely.points(xs, ys)
    point_index, area_index = tree.query(points, predicate="intersects")
    first = np.full(xs.size, -1, dtype=np.int64)
    order = np.lexsort((area_index, point_index))
    point_index, area_index = point_index[order], area_index[order]
    unique_points, start = np.unique(point_index, return_index=True)
    first[unique_points] = area_index[start]
    counts = np.bincount(first[first >= 0], minlength=len(geometries))
    rates = None
    if denominator is not None:
        population = as_float_array(denominator, "denominator")
        if population.size != len(geometries):
            raise InvalidInputError(
                f"denominator has {population.size} values for {len(geometries)} areas"
            )
        bad = np.flatnonzero(population <= 0)
        if bad.size:
            raise InvalidInputError(
                f"denominator must be > 0, area {int(bad[0])} has {population[bad[0]]!r}"
            )
        rates = counts / population * per
    return AreaCounts(counts=counts, rates=rates, per=per, outside=int((first < 0).sum()))
