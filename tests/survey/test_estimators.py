"""Quantiles (Woodruff), proportion intervals and vectorised domains.

Expected values come from closed forms for simple random samples computed
here (binomial variance of a share, Clopper-Pearson via the beta
distribution), and from explicit per-domain loops.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from crimeprev.errors import InvalidInputError
from crimeprev.survey import (
    create_replicates,
    estimate_means,
    estimate_proportions,
    estimate_quantiles,
    estimate_ratios,
    estimate_totals,
    survey_design,
)
from crimeprev.survey.estimators import weighted_quantile


def srs(n: int = 41, seed: int = 1) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "w": np.full(n, 3.0),
            "y": rng.integers(0, 1000, n).astype(float),
            "victim": rng.random(n) < 0.2,
            "group": rng.integers(0, 3, n),
        }
    )


def test_woodruff_median_on_a_simple_random_sample():
    frame = srs()
    design = survey_design(frame, weights="w")
    row = estimate_quantiles(design, "y", quantiles=[0.5]).rows[0]
    values = np.sort(frame["y"].to_numpy())
    n = len(values)
    assert row.estimate == values[n // 2]  # 41 values: the 21st
    share = (values <= row.estimate).mean()
    se_share = np.sqrt(share * (1 - share) / (n - 1))
    t = stats.t.ppf(0.975, n - 1)
    low = values[int(np.ceil((0.5 - t * se_share) * n)) - 1]
    high = values[int(np.ceil((0.5 + t * se_share) * n)) - 1]
    assert (row.ci_low, row.ci_high) == (low, high)
    assert row.se == pytest.approx((high - low) / (2 * t))


def test_weighted_quantile_is_the_inverse_cdf():
    values = np.array([5.0, 1.0, 3.0, 2.0])
    weights = np.array([1.0, 3.0, 1.0, 5.0])  # cdf at 1,2,3,5: .3 .8 .9 1
    assert weighted_quantile(values, weights, np.array([0.3, 0.31, 0.8, 0.85, 1.0])).tolist() == [
        1.0,
        2.0,
        2.0,
        3.0,
        5.0,
    ]


def test_quantiles_by_domain_and_for_replicates():
    frame = srs(60)
    frame["h"] = np.repeat([1, 2, 3], 20)
    design = survey_design(frame, weights="w", strata="h")
    table = estimate_quantiles(design, "y", quantiles=[0.25, 0.75], by="group")
    for code in range(3):
        subset = np.sort(frame.loc[frame["group"] == code, "y"].to_numpy())
        row = table.get("y", f"group={code}", "0.25")
        assert row.estimate == subset[int(np.ceil(0.25 * len(subset))) - 1]
        assert row.ci_low <= row.estimate <= row.ci_high
    boot = create_replicates(design, "bootstrap", replicates=50, rng=1)
    assert estimate_quantiles(boot, "y").rows[0].se > 0


@pytest.mark.parametrize("method", ["wald", "logit", "korn-graubard"])
def test_proportion_intervals_on_a_simple_random_sample(method):
    frame = srs(80, seed=4)
    design = survey_design(frame, weights="w")
    row = estimate_proportions(design, "victim", method=method).get("victim", category="True")
    n = len(frame)
    p = frame["victim"].mean()
    se = np.sqrt(p * (1 - p) / (n - 1))
    assert row.se == pytest.approx(se)
    t = stats.t.ppf(0.975, n - 1)
    if method == "wald":
        expected = (p - t * se, p + t * se)
    elif method == "logit":
        centre, half = np.log(p / (1 - p)), t * se / (p * (1 - p))
        expected = (1 / (1 + np.exp(-(centre - half))), 1 / (1 + np.exp(-(centre + half))))
    else:
        # Effective sample size p(1-p)/v = n - 1; df = n - 1 so no t adjustment.
        size = n - 1
        expected = (
            stats.beta.ppf(0.025, size * p, size * (1 - p) + 1),
            stats.beta.ppf(0.975, size * p + 1, size * (1 - p)),
        )
    assert (row.ci_low, row.ci_high) == pytest.approx(expected)


def test_korn_graubard_stays_inside_zero_one_for_rare_events():
    frame = pd.DataFrame({"w": np.ones(200), "rare": [1] * 2 + [0] * 198})
    row = estimate_proportions(survey_design(frame, weights="w"), "rare", method="korn-graubard")
    hit = row.get("rare", category="1")
    assert 0 <= hit.ci_low < hit.estimate < hit.ci_high < 0.05


def test_unknown_interval_method():
    frame = srs()
    with pytest.raises(InvalidInputError, match="unknown interval method"):
        estimate_proportions(survey_design(frame, weights="w"), "victim", method="exact")


def test_value_labels_name_the_categories():
    frame = pd.DataFrame({"w": np.ones(4), "safe": [1, 2, 1, 1]})
    table = estimate_proportions(
        survey_design(frame, weights="w"), "safe", labels={"safe": {1: "Very safe", 2: "Unsafe"}}
    )
    assert table.get("safe", category="Very safe").estimate == 0.75


def test_many_variables_and_crossed_domains_equal_one_at_a_time():
    rng = np.random.default_rng(9)
    n = 300
    frame = pd.DataFrame(
        {
            "w": rng.uniform(1, 5, n),
            "h": rng.integers(0, 6, n),
            "psu": rng.integers(0, 4, n),
            "a": rng.normal(size=n),
            "b": rng.poisson(2.0, n).astype(float),
            "sex": rng.integers(1, 3, n),
            "area": rng.choice(["north", "south"], n),
        }
    )
    design = survey_design(frame, weights="w", strata="h", clusters="psu")
    table = estimate_means(design, ["a", "b"], by=["sex", "area"])
    assert len(table.rows) == 2 * 2 * 2
    for sex in (1, 2):
        for area in ("north", "south"):
            inside = (frame["sex"] == sex) & (frame["area"] == area)
            single = estimate_ratios(
                survey_design(
                    frame.assign(num=frame["b"] * inside, den=inside.astype(float)),
                    weights="w",
                    strata="h",
                    clusters="psu",
                ),
                "num",
                "den",
            ).rows[0]
            row = table.get("b", f"sex={sex}, area={area}")
            assert row.estimate == pytest.approx(single.estimate)
            assert row.se == pytest.approx(single.se)


@settings(max_examples=25, deadline=None)
@given(
    scale=st.floats(0.5, 100.0),
    values=st.lists(st.floats(-1e3, 1e3, allow_nan=False), min_size=4, max_size=30),
)
def test_total_is_mean_times_population_under_any_weight_scale(scale, values):
    frame = pd.DataFrame({"w": np.full(len(values), scale), "y": values})
    design = survey_design(frame, weights="w")
    total = estimate_totals(design, "y").rows[0]
    mean = estimate_means(design, "y").rows[0]
    population = scale * len(values)
    assert total.estimate == pytest.approx(mean.estimate * population, rel=1e-9, abs=1e-6)
    assert total.se == pytest.approx(mean.se * population, rel=1e-9, abs=1e-6)


def test_taylor_domain_means_agree_with_samplics():
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # samplics announces its archival on import
        samplics_estimation = pytest.importorskip("samplics.estimation")
        samplics_types = pytest.importorskip("samplics.utils.types")
    rng = np.random.default_rng(21)
    n = 3000
    frame = pd.DataFrame(
        {
            "h": rng.integers(0, 25, n),
            "psu": rng.integers(0, 4, n),
            "w": rng.uniform(1, 4, n),
            "y": rng.normal(size=n),
            "d": rng.integers(0, 4, n),
        }
    )
    design = survey_design(frame, weights="w", strata="h", clusters="psu")
    ours = estimate_means(design, "y", by="d")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        peer = samplics_estimation.TaylorEstimator(samplics_types.PopParam.mean)
        peer.estimate(
            y=frame["y"].to_numpy(),
            samp_weight=frame["w"].to_numpy(),
            stratum=frame["h"].to_numpy(),
            psu=(frame["h"] * 10 + frame["psu"]).to_numpy(),
            domain=frame["d"].to_numpy(),
        )
    for code in range(4):
        row = ours.get("y", f"d={code}")
        assert row.estimate == pytest.approx(peer.point_est[code])
        assert row.se == pytest.approx(peer.stderror[code])
