"""Getis-Ord Gi*/Gi, Moran's I and weights against published values (esda's test
suite, spdep) and against esda/libpysal on small inputs."""

from __future__ import annotations

import json
from pathlib import Path

import esda
import libpysal
import numpy as np
import pandas as pd
import pytest
from esda.smoothing import Empirical_Bayes, Spatial_Empirical_Bayes
from hypothesis import given, settings
from hypothesis import strategies as st
from numpy.testing import assert_allclose
from scipy import sparse

from crimeprev.errors import InvalidInputError
from crimeprev.spatial.getis_ord import local_g
from crimeprev.spatial.hotspots import optimized_hot_spots, rate_hot_spots
from crimeprev.spatial.moran import global_moran, local_moran
from crimeprev.spatial.significance import benjamini_hochberg, confidence_classes
from crimeprev.spatial.smoothing import (
    empirical_bayes_rates,
    smooth_rates,
    spatial_empirical_bayes_rates,
)
from crimeprev.spatial.weights import (
    Weights,
    distance_band,
    from_pairs,
    grid_contiguity,
    k_nearest,
    lattice_distance_band,
)

DATA = Path(__file__).parents[1] / "data"


@pytest.fixture(scope="module")
def toy():
    points = pd.read_csv(DATA / "getis_ord_toy_points" / "points.csv")
    expected = json.loads((DATA / "getis_ord_toy_points" / "expected.json").read_text())
    return points, expected["results"], expected["crosscheck_spdep"]


@pytest.mark.parametrize(
    ("star", "key"), [(True, "Gi_star_binary"), (False, "Gi_binary")], ids=["gi-star", "gi"]
)
def test_getis_ord_toy_example(toy, star, key):
    points, expected, spdep = toy
    weights = distance_band(points.x, points.y, 15)
    result = local_g(points.value, weights, star=star)
    assert_allclose(result.g, expected[key]["Gs"], atol=1e-7)
    assert_allclose(result.z, expected[key]["Zs"], atol=1e-6)
    spdep_key = "Gi_star_binary_z" if star else "Gi_binary_z"
    assert_allclose(result.z, spdep[spdep_key], atol=1e-6)


def test_row_standardised_gi_statistic(toy):
    # G values agree with esda; the z-scores use the general Ord-Getis variance
    # (sum of squared weights), as spdep does, where esda substitutes the weight sum.
    points, expected, _ = toy
    weights = distance_band(points.x, points.y, 15).row_standardized()
    result = local_g(points.value, weights, star=False)
    assert_allclose(result.g, expected["Gi_rowstd"]["Gs"], atol=1e-7)


def test_gi_star_matches_esda_on_a_grid():
    rng = np.random.default_rng(3)
    cols, rows = np.meshgrid(np.arange(15), np.arange(12))
    counts = rng.poisson(2 + 3 * (cols.ravel() > 9), cols.size).astype(float)
    ours = local_g(counts, grid_contiguity(cols.ravel(), rows.ravel()), star=True)
    w = libpysal.weights.lat2W(12, 15, rook=False)
    reference = esda.G_Local(counts, w, transform="B", star=True, permutations=0)
    assert_allclose(ours.z, reference.Zs, atol=1e-8)
    assert_allclose(ours.g, reference.Gs, atol=1e-10)


def test_permutation_pseudo_p_values_agree_with_esda():
    rng = np.random.default_rng(8)
    x, y = rng.uniform(0, 1000, 120), rng.uniform(0, 1000, 120)
    values = rng.poisson(4, 120).astype(float) + 10 * (x < 250)
    ours = local_g(values, distance_band(x, y, 180), permutations=999, rng=5)
    w = libpysal.weights.DistanceBand(
        np.column_stack([x, y]), 180, binary=True, silence_warnings=True
    )
    reference = esda.G_Local(values, w, transform="B", star=True, permutations=0)
    assert_allclose(ours.z, reference.Zs, atol=1e-8)
    # Brute-force conditional permutation, cell by cell: draw the neighbours'
    # values without replacement from the other values.
    matrix = distance_band(x, y, 180).matrix
    draw = np.random.default_rng(1)
    for i in (0, 17, 69, 98):
        neighbours = matrix.indices[matrix.indptr[i] : matrix.indptr[i + 1]]
        observed = values[neighbours].sum()
        others = np.delete(values, i)
        sums = np.array(
            [draw.choice(others, neighbours.size, replace=False).sum() for _ in range(4000)]
        )
        expected = min(np.mean(sums >= observed), np.mean(sums <= observed))
        assert ours.p_sim[i] == pytest.approx(expected, abs=0.05)
    assert ours.seed == 5
    assert np.nanmin(ours.p_sim) == pytest.approx(1 / 1000)


def test_general_weights_permutations_run(toy):
    points, _, _ = toy
    weights = distance_band(points.x, points.y, 15).row_standardized()
    # Row-standardised weights are constant per row; k-nearest with k=2 likewise;
    # make them non-constant by adding a weighted pair.
    matrix = weights.matrix.tolil()
    matrix[0, 2] = 0.3
    matrix[2, 0] = 0.3
    from crimeprev.spatial.weights import Weights

    general = Weights(matrix.tocsr(), "custom")
    result = local_g(points.value, general, permutations=199, rng=2)
    assert np.all((result.p_sim > 0) & (result.p_sim <= 1))


def test_stlouis_global_moran():
    frame = pd.read_csv(DATA / "stlouis_homicide_moran" / "stl_hom.csv")
    gal = pd.read_csv(DATA / "stlouis_homicide_moran" / "weights_stl_gal.csv")
    expected = json.loads((DATA / "stlouis_homicide_moran" / "expected.json").read_text())
    reference = expected["results"]
    weights = from_pairs(gal.from_id - 1, gal.to_id - 1, len(frame), symmetric=False)
    result = global_moran(frame.HR8893, weights.row_standardized(), permutations=99, rng=0)
    assert result.i == pytest.approx(reference["I"], abs=1e-8)
    assert result.expected == pytest.approx(reference["EI"], abs=1e-12)
    assert result.variance_normal == pytest.approx(reference["VI_norm"], rel=1e-8)
    assert result.z_normal == pytest.approx(reference["z_norm"], rel=1e-8)
    assert result.p_normal == pytest.approx(reference["p_norm_one_sided"], rel=1e-4)
    assert result.variance_random == pytest.approx(reference["VI_rand"], rel=1e-8)
    assert result.z_random == pytest.approx(reference["z_rand"], rel=1e-8)
    assert result.p_sim == pytest.approx(0.01)  # I far above every permuted value


def test_local_moran_matches_esda():
    frame = pd.read_csv(DATA / "stlouis_homicide_moran" / "stl_hom.csv")
    gal = pd.read_csv(DATA / "stlouis_homicide_moran" / "weights_stl_gal.csv")
    weights = from_pairs(gal.from_id - 1, gal.to_id - 1, len(frame), symmetric=False)
    ours = local_moran(frame.HR8893, weights.row_standardized(), permutations=999, rng=1)
    neighbours = {i: list(gal.to_id[gal.from_id == i + 1] - 1) for i in range(len(frame))}
    w = libpysal.weights.W(neighbours, silence_warnings=True)
    w.transform = "r"
    reference = esda.Moran_Local(frame.HR8893.to_numpy(), w, permutations=0)
    assert_allclose(ours.i, reference.Is, atol=1e-8)
    assert ours.quadrant.tolist() == reference.q.tolist()
    assert set(np.unique(ours.cluster)) <= {0, 1, 2, 3, 4}


def test_weights_match_libpysal():
    rng = np.random.default_rng(2)
    points = rng.uniform(0, 100, (60, 2))
    ours = distance_band(points[:, 0], points[:, 1], 20)
    theirs = libpysal.weights.DistanceBand(points, 20, binary=True, silence_warnings=True)
    assert (ours.matrix != theirs.sparse).nnz == 0
    knn = k_nearest(points[:, 0], points[:, 1], 4)
    reference = libpysal.weights.KNN(points, k=4)
    assert (knn.matrix != reference.sparse).nnz == 0
    cols, rows = np.meshgrid(np.arange(7), np.arange(5))
    queen = grid_contiguity(cols.ravel(), rows.ravel())
    assert (queen.matrix != libpysal.weights.lat2W(5, 7, rook=False).sparse).nnz == 0
    rook = grid_contiguity(cols.ravel(), rows.ravel(), rule="rook")
    assert (rook.matrix != libpysal.weights.lat2W(5, 7, rook=True).sparse).nnz == 0


@settings(max_examples=25, deadline=None)
@given(
    threshold=st.floats(0.5, 4.0),
    width=st.integers(2, 9),
    height=st.integers(2, 9),
)
def test_lattice_band_equals_kd_tree_band(threshold, width, height):
    cols, rows = np.meshgrid(np.arange(width), np.arange(height))
    lattice = lattice_distance_band(cols.ravel(), rows.ravel(), 1.0, threshold)
    tree = distance_band(cols.ravel().astype(float), rows.ravel().astype(float), threshold)
    assert (lattice.matrix != tree.matrix).nnz == 0


def test_fdr_and_classes():
    p = np.array([0.0001, 0.004, 0.019, 0.03, 0.2, 0.7])
    assert benjamini_hochberg(p, 0.05).tolist() == [True, True, True, True, False, False]
    # At 1%: the k-th smallest p must be <= 0.01 k / 6; 0.004 > 0.0033.
    assert benjamini_hochberg(p, 0.01).tolist() == [True, False, False, False, False, False]
    classes = confidence_classes([2, -3, 1, 1, 1, 1], p, fdr=True)
    assert classes.tolist() == [3, -2, 2, 2, 0, 0]
    assert confidence_classes([2, -3, 1, 1, 1, 1], p).tolist() == [3, -3, 2, 2, 0, 0]


def test_rate_hot_spots_exclude_areas_without_population():
    cols, rows = np.meshgrid(np.arange(6), np.arange(6))
    weights = grid_contiguity(cols.ravel(), rows.ravel())
    population = np.full(36, 1000.0)
    population[35] = 0
    counts = np.where((cols.ravel() < 2) & (rows.ravel() < 2), 40, 3)
    result = rate_hot_spots(counts, population, weights)
    assert result.excluded.tolist() == [35]
    assert np.isnan(result.rates[35]) and result.result.classes[35] == 0
    assert result.result.classes[0] == 3


def test_optimized_hot_spots_reports_choices():
    rng = np.random.default_rng(4)
    x = np.r_[rng.uniform(0, 6000, 2500), rng.normal(1500, 200, 500), [90_000]]
    y = np.r_[rng.uniform(0, 6000, 2500), rng.normal(4500, 200, 500), [90_000]]
    spots = optimized_hot_spots(x, y, permutations=99, rng=1)
    text = " ".join(spots.choices)
    assert "1 locational outliers" in text and "cell size" in text and "distance band" in text
    assert spots.outliers == 1
    hottest = np.argmax(spots.result.z)
    assert abs(spots.grid.x[hottest] - 1500) < 600 and abs(spots.grid.y[hottest] - 4500) < 600
    assert len(spots.incremental) == 10


def test_bad_inputs_raise():
    w = grid_contiguity([0, 1, 2], [0, 0, 0])
    with pytest.raises(InvalidInputError, match="all values are equal"):
        local_g([1, 1, 1], w)
    with pytest.raises(InvalidInputError, match="weights are for 3"):
        local_g([1, 2], w)
    with pytest.raises(InvalidInputError, match="position 1"):
        global_moran([1, np.nan, 2], w)


def stlouis_counts_and_weights():
    frame = pd.read_csv(DATA / "stlouis_homicide_moran" / "stl_hom.csv")
    gal = pd.read_csv(DATA / "stlouis_homicide_moran" / "weights_stl_gal.csv")
    n = len(frame)
    neighbours = {i: (gal.to_id[gal.from_id == i + 1] - 1).tolist() for i in range(n)}
    ours = Weights(
        sparse.csr_matrix((np.ones(len(gal)), (gal.from_id - 1, gal.to_id - 1)), shape=(n, n)),
        "GAL",
    )
    theirs = libpysal.weights.W(neighbours, id_order=list(range(n)))
    return frame.HC7984.to_numpy(), frame.PO7984.to_numpy(), ours, theirs


def test_empirical_bayes_rates_match_esda_on_st_louis_homicides():
    events, population, ours, theirs = stlouis_counts_and_weights()
    global_rates = empirical_bayes_rates(events, population)
    local_rates = spatial_empirical_bayes_rates(events, population, ours)
    assert_allclose(global_rates, Empirical_Bayes(events, population).r.ravel(), rtol=1e-8)
    assert_allclose(
        local_rates, Spatial_Empirical_Bayes(events, population, theirs).r.ravel(), rtol=1e-8
    )
    # The first values printed in esda's documentation of both classes (same data).
    assert_allclose(global_rates[:3], [2.36718950e-05, 4.54539167e-05, 4.78114019e-05], rtol=1e-8)
    assert_allclose(local_rates[:3], [4.01485749e-05, 3.62437513e-05, 4.93034844e-05], rtol=1e-8)


def test_empirical_bayes_on_a_grid_matches_esda_and_shrinks_small_areas_most():
    rng = np.random.default_rng(8)
    side = 25
    population = rng.choice([50.0, 400.0, 3000.0, 20000.0], side * side)
    events = rng.poisson(population * rng.gamma(4, 0.0025 / 4, side * side)).astype(float)
    cols, rows = np.meshgrid(np.arange(side), np.arange(side))
    ours = grid_contiguity(cols.ravel(), rows.ravel())
    theirs = libpysal.weights.lat2W(side, side, rook=False)
    local_rates = spatial_empirical_bayes_rates(events, population, ours)
    assert_allclose(
        local_rates, Spatial_Empirical_Bayes(events, population, theirs).r.ravel(), rtol=1e-8
    )
    global_rates = empirical_bayes_rates(events, population)
    assert_allclose(global_rates, Empirical_Bayes(events, population).r.ravel(), rtol=1e-8)
    raw = events / population
    overall = events.sum() / population.sum()
    moved = np.abs(global_rates - raw) / np.maximum(np.abs(raw - overall), 1e-12)
    assert moved[population == 50].mean() > moved[population == 20000].mean()


def test_rate_hot_spots_smooth_rates_before_gi_star():
    events, population, ours, theirs = stlouis_counts_and_weights()
    population = population.astype(float)
    population[4] = 0  # left out, as an area without residents
    spots = rate_hot_spots(events, population, ours, smoothing="local-eb", per=100_000)
    assert spots.smoothing == "local-eb" and spots.excluded.tolist() == [4]
    kept = np.flatnonzero(population > 0)
    reference = spatial_empirical_bayes_rates(
        events[kept], population[kept], Weights(ours.matrix[kept][:, kept], "GAL")
    )
    assert_allclose(spots.rates[kept], reference * 100_000, rtol=1e-12)
    assert spots.raw_rates is not None
    assert_allclose(spots.raw_rates[kept], events[kept] / population[kept] * 100_000)
    with pytest.raises(InvalidInputError, match="smoothing must be one of"):
        rate_hot_spots(events, population, ours, smoothing="kriging")
    with pytest.raises(InvalidInputError, match="needs spatial weights"):
        smooth_rates(events[kept], population[kept], "local-eb")
