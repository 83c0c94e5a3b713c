"""Domain variances through the (unit, domain) cells, against explicit loops.

The estimators sum rows into unit x domain cells and never form row-level
scores. Each coding of the cells (dense, one row per unit, sorted unique
keys, coarser stages) is checked here against the textbook linearisation
written as plain loops over strata and PSUs (Lohr 2010, 9.1 and 10.3), and
supplied replicate weights by domain against the definition of the
replicate variance.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from crimeprev.survey import estimate_means, estimate_ratios, estimate_totals, survey_design
from crimeprev.survey.design import domain_cells
from crimeprev.survey.replicates import replicate_design_from_arrays


def sample(rows: int, strata: int, psus: int, seed: int, domains: int = 5) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "h": rng.integers(0, strata, rows),
            "psu": rng.integers(0, psus, rows),
            "w": rng.uniform(1.0, 9.0, rows),
            "y": rng.gamma(2.0, 3.0, rows) + 1000.0,  # large mean: tests the shifted sums
            "x": rng.uniform(1.0, 4.0, rows),
            "d": rng.integers(0, domains, rows),
        }
    )


def loop_variance(frame: pd.DataFrame, scores: np.ndarray, clusters: str | None) -> float:
    """sum_h n_h/(n_h - 1) sum_i (t_hi - mean_h)^2 over PSU totals t_hi."""
    total = 0.0
    for _, stratum in frame.assign(z=scores).groupby("h"):
        grouped = stratum["z"] if clusters is None else stratum.groupby(clusters)["z"].sum()
        units = np.asarray(grouped, dtype=float)
        n = len(units)
        total += n / (n - 1) * float(((units - units.mean()) ** 2).sum())
    return total


@pytest.mark.parametrize(
    ("psus", "clusters", "domains", "coding"),
    [(3, "psu", 5, "dense"), (2000, "psu", 20, "unique"), (1, None, 5, "one row per unit")],
    ids=["dense", "unique", "rows"],
)
def test_domain_mean_and_ratio_variances_match_the_loop(psus, clusters, domains, coding):
    frame = sample(3000, 4, psus, seed=psus, domains=domains)
    design = survey_design(frame, weights="w", strata="h", clusters=clusters, lonely_psu="remove")
    cells = domain_cells(design, frame["d"].to_numpy(), domains)
    expected_count = {"dense": 4 * 3 * 5, "rows": 3000}.get(coding)
    if expected_count is not None:
        assert cells.count == expected_count
    else:
        assert cells.count <= 3000 < design.stages[0].unit_group.shape[0] * domains
    means = estimate_means(design, "y", by="d")
    ratios = estimate_ratios(design, "y", "x", by="d")
    w, y, x = (frame[c].to_numpy() for c in ("w", "y", "x"))
    for d in range(domains):
        inside = (frame["d"] == d).to_numpy()
        mean = np.sum(w * y * inside) / np.sum(w * inside)
        z = inside * w * (y - mean) / np.sum(w * inside)
        row = means.get("y", f"d={d}")
        assert row.estimate == pytest.approx(mean, rel=1e-12)
        assert row.se == pytest.approx(np.sqrt(loop_variance(frame, z, clusters)), rel=1e-9)
        ratio = np.sum(w * y * inside) / np.sum(w * x * inside)
        z = inside * w * (y - ratio * x) / np.sum(w * x * inside)
        row = ratios.get("y/x", f"d={d}")
        assert row.estimate == pytest.approx(ratio, rel=1e-12)
        assert row.se == pytest.approx(np.sqrt(loop_variance(frame, z, clusters)), rel=1e-9)


def test_missing_values_in_one_variable_leave_the_others_whole():
    frame = sample(400, 3, 4, seed=5)
    frame["y2"] = frame["y"].where(frame.index % 7 != 0)
    design = survey_design(frame, weights="w", strata="h", clusters="psu")
    both = estimate_means(design, ["y", "y2"], by="d", missing="exclude")
    alone = estimate_means(design, "y", by="d")
    w, y2 = frame["w"].to_numpy(), frame["y2"].to_numpy()
    for d in range(5):
        assert both.get("y", f"d={d}").se == pytest.approx(alone.get("y", f"d={d}").se)
        inside = ((frame["d"] == d) & frame["y2"].notna()).to_numpy()
        mean = np.sum(np.where(inside, w * y2, 0.0)) / np.sum(w * inside)
        z = np.where(inside, w * (y2 - mean), 0.0) / np.sum(w * inside)
        row = both.get("y2", f"d={d}")
        assert row.estimate == pytest.approx(mean)
        assert row.se == pytest.approx(np.sqrt(loop_variance(frame, z, "psu")), rel=1e-9)
        assert row.n == int(inside.sum())


def test_two_stage_domain_totals_add_the_second_stage():
    rng = np.random.default_rng(9)
    frame = pd.DataFrame(
        {
            "psu": np.repeat(np.arange(6), 8),
            "ssu": np.tile(np.arange(8), 6),
            "y": rng.integers(0, 20, 48).astype(float),
            "d": rng.integers(0, 2, 48),
        }
    ).assign(N1=15, N2=30, w=15 / 6 * 30 / 8)
    design = survey_design(frame, weights="w", clusters=["psu", "ssu"], fpc=["N1", "N2"])
    table = estimate_totals(design, "y", by="d")
    for d in range(2):
        z = (frame["w"] * frame["y"] * (frame["d"] == d)).to_numpy()
        psu_totals = np.array([z[frame["psu"] == p].sum() for p in range(6)])
        first = (1 - 6 / 15) * 6 / 5 * ((psu_totals - psu_totals.mean()) ** 2).sum()
        second = 0.0
        for p in range(6):
            t = z[frame["psu"] == p]
            second += 6 / 15 * (1 - 8 / 30) * 8 / 7 * ((t - t.mean()) ** 2).sum()
        assert table.get("y", f"d={d}").se == pytest.approx(np.sqrt(first + second))


@pytest.mark.parametrize("domains", [5, 40], ids=["spread", "gathered"])
def test_supplied_replicates_by_domain_match_the_definition(domains):
    rng = np.random.default_rng(domains)
    rows, replicates = 40_000, 12  # more rows than one block of the product
    frame = pd.DataFrame(
        {"y": rng.normal(10.0, 2.0, rows), "d": rng.integers(-1, domains, rows)}
    ).assign(d=lambda f: f["d"].where(f["d"] >= 0))
    weights = rng.uniform(1.0, 3.0, rows)
    matrix = weights[:, None] * rng.choice([0.0, 2.0], size=(rows, replicates))
    design = replicate_design_from_arrays(frame, weights, matrix, replicate_type="BRR")
    table = estimate_means(design, "y", by="d")
    y = frame["y"].to_numpy()
    for d in range(domains):
        inside = (frame["d"] == d).to_numpy()
        full = np.sum(weights * y * inside) / np.sum(weights * inside)
        each = (matrix * (y * inside)[:, None]).sum(axis=0) / (matrix * inside[:, None]).sum(axis=0)
        expected = ((each - each.mean()) ** 2).sum() / replicates
        row = table.get("y", f"d={d}")
        assert row.estimate == pytest.approx(full)
        assert row.se == pytest.approx(np.sqrt(expected), rel=1e-9)
