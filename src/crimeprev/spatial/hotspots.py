"""Automatic hot-spot analysis in the manner of ArcGIS's Optimized Hot Spot Analysis,
and the rate-based (risk-adjusted) variant.

Every choice is made from the data and reported: locational outliers set aside,
the grid cell size, the distance band at the first peak of incremental spatial
autocorrelation (global Moran's I z-score over increasing distances), and the
false discovery rate correction of the Gi* classes. The rules are ours and are
stated in ``choices``; they follow the published description of the ArcGIS
tool, not its code.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from crimeprev.errors import InvalidInputError
from crimeprev.spatial._common import RandomLike, as_float_array, same_length
from crimeprev.spatial.getis_ord import LocalG, local_g
from crimeprev.spatial.grids import Grid, locational_outliers, square_grid
from crimeprev.spatial.moran import global_moran
from crimeprev.spatial.smoothing import smooth_rates
from crimeprev.spatial.weights import Weights, lattice_distance_band


@dataclass(frozen=True, eq=False)
class HotSpots:
    """Gi* hot spots on a grid with the choices that produced them."""

    grid: Grid
    result: LocalG
    distance_band: float
    incremental: list[dict[str, float]]
    choices: list[str]
    outliers: int
    parameters: dict[str, Any] = field(default_factory=dict)


def incremental_autocorrelation(grid: Grid, distances: np.ndarray) -> list[dict[str, float]]:
    """Global Moran's I z-score of the grid counts at each distance band.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> grid = square_grid(rng.normal(0, 300, 2000), rng.normal(0, 300, 2000), cell_size=100)
    >>> rows = incremental_autocorrelation(grid, np.array([100.0, 200.0]))
    >>> [row["distance"] for row in rows], all(row["z"] > 10 for row in rows)
    ([100.0, 200.0], True)
    """
    rows = []
    for distance in distances:
        weights = lattice_distance_band(grid.a, grid.b, grid.cell_size, float(distance))
        moran = global_moran(grid.counts, weights)
        rows.append({"distance": float(distance), "i": moran.i, "z": moran.z_normal})
    return rows


def _first_peak(z: np.ndarray) -> int | None:
    for k in range(1, z.size - 1):
        if z[k] > z[k - 1] and z[k] >= z[k + 1]:
            return k
    return None


def optimized_hot_spots(
    x: Any,
    y: Any,
    *,
    cell_size: float | None = None,
    distance_band: float | None = None,
    mask: Any | None = None,
    permutations: int = 0,
    rng: RandomLike = None,
    epsg: int | None = None,
    source: str | None = None,
) -> HotSpots:
    """Find Gi* hot and cold spots of incident points with every setting chosen from the data.

    Steps: (1) set aside locational outliers (more than 3 standard distances
    from the median centre) when sizing the grid; (2) count incidents on a
    square grid (cell size from :func:`~crimeprev.spatial.grids.automatic_cell_size`
    unless given), keeping only cells inside ``mask`` when given; (3) compute
    global Moran's I of the counts at 10 distance bands from 1 to 5.5 cell
    sizes and take the first peak of its z-score (1.5 cell sizes, the eight
    surrounding cells, when z rises throughout); (4) Gi* with binary
    distance-band weights at that distance,
    classes corrected by the false discovery rate.

    Parameters
    ----------
    x, y : array-like
        Incident coordinates in metres.
    cell_size, distance_band : float, optional
        Override the automatic choices.
    mask : shapely geometry, optional
        Where incidents are possible (e.g. the city boundary).
    permutations : int, default=0
        Conditional permutations for pseudo p-values (classes then use them).
    rng : numpy.random.Generator, int or None
    epsg : int, optional
        Recorded coordinate system.
    source : str, optional

    Returns
    -------
    HotSpots

    Examples
    --------
    >>> rng = np.random.default_rng(2)
    >>> x = np.r_[rng.uniform(0, 5000, 3000), rng.normal(2500, 150, 600)]
    >>> y = np.r_[rng.uniform(0, 5000, 3000), rng.normal(2500, 150, 600)]
    >>> spots = optimized_hot_spots(x, y, cell_size=250)
    >>> int(spots.result.classes.max()), spots.distance_band > 0
    (3, True)
    """
    xs = as_float_array(x, "x")
    ys = as_float_array(y, "y")
    same_length(x=xs, y=ys)
    if xs.size < 30:
        raise InvalidInputError(f"optimized hot spots need at least 30 incidents, got {xs.size}")
    choices = []
    outlying = locational_outliers(xs, ys)
    inner_x, inner_y = xs[~outlying], ys[~outlying]
    if outlying.any():
        choices.append(
            f"{int(outlying.sum())} locational outliers (beyond 3 standard distances from "
            "the median centre) were left out of the grid extent"
        )
    bounds = (inner_x.min(), inner_y.min(), inner_x.max(), inner_y.max())
    grid = square_grid(inner_x, inner_y, cell_size=cell_size, mask=mask, bounds=bounds, epsg=epsg)
    choices.append(
        f"cell size {grid.cell_size:g} m ({grid.size_rule}); {grid.cells:,} cells, "
        f"{int(grid.counts.sum()):,} incidents inside"
    )
    if grid.outside:
        choices.append(f"{grid.outside:,} incidents fell outside the kept cells")
    if np.ptp(grid.counts) == 0:
        raise InvalidInputError("every cell has the same count: there are no hot spots to find")
    incremental: list[dict[str, float]] = []
    if distance_band is None:
        distances = grid.cell_size * np.arange(1.0, 6.0, 0.5)
        incremental = incremental_autocorrelation(grid, distances)
        z = np.array([row["z"] for row in incremental])
        peak = _first_peak(z)
        if peak is None:
            choices.append(
                f"no peak of spatial autocorrelation between {distances[0]:g} and "
                f"{distances[-1]:g} m (z rises throughout): the band of 1.5 cell sizes, "
                f"{1.5 * grid.cell_size:g} m, was used (the 8 surrounding cells)"
            )
            distance_band = float(1.5 * grid.cell_size)
        else:
            choices.append(
                f"distance band {distances[peak]:g} m: the first peak of incremental spatial "
                f"autocorrelation (Moran's I z = {z[peak]:.2f})"
            )
            distance_band = float(distances[peak])
    else:
        choices.append(f"distance band {distance_band:g} m (given)")
    weights = lattice_distance_band(grid.a, grid.b, grid.cell_size, distance_band)
    isolated = weights.islands.size
    if isolated:
        choices.append(f"{isolated} cells have no neighbour within the band (left unclassed)")
    result = local_g(
        grid.counts,
        weights,
        star=True,
        permutations=permutations,
        rng=rng,
        fdr=True,
        source=source,
    )
    choices.append(
        "Gi* with binary weights; hot and cold classes at 90/95/99% corrected by the false "
        "discovery rate" + (f"; {permutations} conditional permutations" if permutations else "")
    )
    return HotSpots(
        grid=grid,
        result=result,
        distance_band=float(distance_band),
        incremental=incremental,
        choices=choices,
        outliers=int(outlying.sum()),
        parameters={"cell_size": grid.cell_size, "distance_band": float(distance_band)},
    )


@dataclass(frozen=True, eq=False)
class RateHotSpots:
    """Gi* on rates (events per ``per`` of the denominator) per area or cell.

    ``rates`` are the rates the statistic used: raw, or Empirical Bayes
    smoothed as named by ``smoothing``; ``raw_rates`` are always the raw ones.
    """

    rates: np.ndarray
    result: LocalG
    per: float
    excluded: np.ndarray
    smoothing: str = "none"
    raw_rates: np.ndarray | None = None


def rate_hot_spots(
    counts: Any,
    denominator: Any,
    weights: Weights,
    *,
    per: float = 100_000,
    permutations: int = 0,
    rng: RandomLike = None,
    fdr: bool = True,
    smoothing: str = "none",
) -> RateHotSpots:
    """Risk-adjusted hot spots: Gi* on rates rather than counts.

    Counts alone find where most people (or most targets) are; dividing by the
    population at risk finds where the risk is high. Areas with a zero or
    missing denominator are excluded (reported in ``excluded``) and take no
    part in the statistic.

    Raw rates of areas with small denominators are noisy, so ``smoothing``
    can replace them by Empirical Bayes rates first (see
    :mod:`crimeprev.spatial.smoothing`): "global-eb" shrinks towards the rate of
    the whole study area, "local-eb" towards that of each area's neighbours
    in ``weights``; "none" (default) keeps the raw rates.

    Examples
    --------
    >>> from crimeprev.spatial.weights import grid_contiguity
    >>> cols, rows = np.meshgrid(np.arange(5), np.arange(5))
    >>> w = grid_contiguity(cols.ravel(), rows.ravel())
    >>> population = np.full(25, 1000.0)
    >>> counts = np.where((cols.ravel() < 2) & (rows.ravel() < 2), 30, 2)
    >>> spots = rate_hot_spots(counts, population, w)
    >>> int(spots.result.classes[0]), float(spots.rates[0])
    (3, 3000.0)
    """
    count = as_float_array(counts, "counts")
    population = np.asarray(denominator, dtype=float)
    if population.shape != count.shape:
        raise InvalidInputError(f"denominator has {population.size} values for {count.size} counts")
    usable = np.isfinite(population) & (population > 0)
    raw_rates = np.full(count.size, np.nan)
    raw_rates[usable] = count[usable] / population[usable] * per
    kept = np.flatnonzero(usable)
    matrix = weights.matrix.tocsr()[kept][:, kept]
    sub = Weights(matrix.tocsr(), weights.kind, dict(weights.parameters))
    rates = raw_rates.copy()
    rates[kept] = smooth_rates(count[kept], population[kept], smoothing, sub) * per
    partial = local_g(rates[kept], sub, permutations=permutations, rng=rng, fdr=fdr)
    full = {}
    for name in ("g", "z", "p_values"):
        values = np.full(count.size, np.nan)
        values[kept] = getattr(partial, name)
        full[name] = values
    classes = np.zeros(count.size, dtype=np.int64)
    classes[kept] = partial.classes
    neighbours = np.zeros(count.size, dtype=np.int64)
    neighbours[kept] = partial.neighbours
    p_sim = None
    if partial.p_sim is not None:
        p_sim = np.full(count.size, np.nan)
        p_sim[kept] = partial.p_sim
    result = LocalG(
        g=full["g"],
        z=full["z"],
        p_values=full["p_values"],
        p_sim=p_sim,
        z_sim=None,
        classes=classes,
        neighbours=neighbours,
        star=True,
        fdr=fdr,
        permutations=partial.permutations,
        seed=partial.seed,
        weights_kind=weights.kind,
        weights_parameters=dict(weights.parameters),
    )
    return RateHotSpots(
        rates=rates,
        result=result,
        per=per,
        excluded=np.flatnonzero(~usable),
        smoothing=smoothing,
        raw_rates=raw_rates,
    )
