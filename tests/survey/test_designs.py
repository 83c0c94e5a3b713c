"""Design construction, bad designs, lonely PSUs, multistage variances and replicates.

Expected values are computed here from the textbook formulas with explicit
loops (Cochran 1977, Sampling Techniques, 10.4 and 5A; Lohr 2010, 6.3), not
from crimeprev's vectorised code.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from crimeprev.errors import InvalidInputError
from crimeprev.survey import (
    create_replicates,
    estimate_means,
    estimate_totals,
    replicate_design,
    survey_design,
)
from crimeprev.survey.replicates import hadamard, replicate_design_from_arrays


def lonely_frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "w": [4.0, 4.0, 4.0, 6.0, 6.0, 5.0],
            "h": [1, 1, 1, 2, 2, 3],
            "psu": [1, 2, 3, 1, 2, 1],
            "y": [3.0, 5.0, 4.0, 10.0, 14.0, 7.0],
        }
    )


def stratum_variance(z: np.ndarray) -> float:
    n = len(z)
    return n / (n - 1) * float(((z - z.mean()) ** 2).sum())


def test_missing_weights_are_named():
    frame = lonely_frame()
    frame.loc[2, "w"] = np.nan
    with pytest.raises(InvalidInputError, match=r"'w' has 1 missing .*row 2") as error:
        survey_design(frame, weights="w", strata="h", clusters="psu", lonely_psu="remove")
    assert error.value.details["row"] == 2


def test_negative_weights_are_refused():
    frame = lonely_frame()
    frame.loc[4, "w"] = -1.0
    with pytest.raises(InvalidInputError, match="negative"):
        survey_design(frame, weights="w", lonely_psu="remove")


def test_missing_weight_column():
    with pytest.raises(InvalidInputError, match="weight column 'pw' is not in the data"):
        survey_design(lonely_frame(), weights="pw")


def test_lonely_psu_fails_by_default():
    with pytest.raises(InvalidInputError, match=r"h=3 has only one PSU at stage 1"):
        survey_design(lonely_frame(), weights="w", strata="h", clusters="psu")


def test_lonely_psu_options_match_their_definitions():
    frame = lonely_frame()
    z = frame["w"] * frame["y"]
    v1 = stratum_variance(z[:3].to_numpy())
    v2 = stratum_variance(z[3:5].to_numpy())
    lonely_z = float(z[5])

    def se(option: str) -> float:
        design = survey_design(frame, weights="w", strata="h", clusters="psu", lonely_psu=option)
        return estimate_totals(design, "y").rows[0].se

    assert se("remove") == pytest.approx(np.sqrt(v1 + v2))
    assert se("certainty") == pytest.approx(np.sqrt(v1 + v2))
    assert se("average") == pytest.approx(np.sqrt((v1 + v2) * 3 / 2))
    assert se("adjust") == pytest.approx(np.sqrt(v1 + v2 + lonely_z**2))


def test_unknown_lonely_option():
    with pytest.raises(InvalidInputError, match="lonely_psu must be one of"):
        survey_design(lonely_frame(), weights="w", lonely_psu="drop")


def test_fpc_inconsistent_within_stratum():
    frame = lonely_frame()
    frame["N"] = [10, 11, 10, 5, 5, 1]
    with pytest.raises(InvalidInputError, match="varies within"):
        survey_design(frame, weights="w", strata="h", fpc="N", lonely_psu="remove")


def test_fpc_smaller_than_sample():
    frame = lonely_frame()
    frame["N"] = [2, 2, 2, 5, 5, 1]
    with pytest.raises(InvalidInputError, match="more sampled units"):
        survey_design(frame, weights="w", strata="h", fpc="N", lonely_psu="remove")


def test_certainty_stratum_with_one_psu_does_not_fail():
    frame = lonely_frame()
    frame["N"] = [30, 30, 30, 40, 40, 1]
    design = survey_design(frame, weights="w", strata="h", fpc="N")
    assert design.degrees_of_freedom == 3


def test_two_stage_total_matches_the_textbook_estimator():
    rng = np.random.default_rng(7)
    rows = []
    big_n, small_n = 20, 5  # PSUs in population, in sample
    sizes = {1: (12, 4), 2: (8, 3), 3: (15, 5), 4: (6, 2), 5: (10, 4)}
    for psu, (population, sampled) in sizes.items():
        for element in range(sampled):
            rows.append(
                {
                    "psu": psu,
                    "ssu": element,
                    "y": float(rng.integers(0, 50)),
                    "fpc1": big_n,
                    "fpc2": population,
                    "w": (big_n / small_n) * (population / sampled),
                }
            )
    frame = pd.DataFrame(rows)
    design = survey_design(frame, weights="w", clusters=["psu", "ssu"], fpc=["fpc1", "fpc2"])
    # Cochran (1977) eq. 11.24: unbiased variance of the two-stage total.
    psu_totals, within = [], 0.0
    for psu, (population, sampled) in sizes.items():
        y = frame.loc[frame["psu"] == psu, "y"].to_numpy()
        psu_totals.append(population * y.mean())
        within += population**2 * (1 - sampled / population) * y.var(ddof=1) / sampled
    psu_totals = np.array(psu_totals)
    expected = big_n**2 * (1 - small_n / big_n) * psu_totals.var(ddof=1) / small_n
    expected += big_n / small_n * within
    row = estimate_totals(design, "y").rows[0]
    assert row.estimate == pytest.approx(big_n / small_n * psu_totals.sum())
    assert row.se == pytest.approx(np.sqrt(expected))
    # Without the FPC, only the first stage counts (with-replacement approximation).
    wr = survey_design(frame, weights="w", clusters=["psu", "ssu"])
    assert estimate_totals(wr, "y").rows[0].se == pytest.approx(
        np.sqrt(big_n**2 * psu_totals.var(ddof=1) / small_n)
    )


def test_domain_estimate_keeps_the_full_design():
    frame = lonely_frame().iloc[:5].assign(d=[1, 0, 1, 1, 0])
    design = survey_design(frame, weights="w", strata="h", clusters="psu")
    row = estimate_totals(design, "y", by="d").get("y", "d=1")
    z = (frame["w"] * frame["y"] * frame["d"]).to_numpy()
    expected = stratum_variance(z[:3]) + stratum_variance(z[3:5])
    assert row.se == pytest.approx(np.sqrt(expected))
    assert row.n == 3


def test_missing_values_fail_or_are_excluded():
    frame = lonely_frame().iloc[:5].copy()
    frame.loc[1, "y"] = np.nan
    design = survey_design(frame, weights="w", strata="h", clusters="psu")
    with pytest.raises(InvalidInputError, match=r"'y' has 1 missing values \(first at row 1\)"):
        estimate_means(design, "y")
    row = estimate_means(design, "y", missing="exclude").rows[0]
    present = frame.dropna()
    assert row.estimate == pytest.approx(np.average(present["y"], weights=present["w"]))
    assert row.n == 4


def test_replicate_weights_of_the_wrong_shape():
    frame = pd.DataFrame({"y": [1.0, 2.0, 3.0]})
    with pytest.raises(InvalidInputError, match=r"shape \(3, 1\)"):
        replicate_design_from_arrays(frame, np.ones(3), np.ones((3, 1)), replicate_type="JK1")
    with pytest.raises(InvalidInputError, match=r"shape \(2, 4\)"):
        replicate_design_from_arrays(frame, np.ones(3), np.ones((2, 4)), replicate_type="JK1")


def test_replicate_weight_columns_missing_or_negative():
    frame = pd.DataFrame({"w": [1.0, 1.0], "r1": [2.0, -1.0], "r2": [0.0, 2.0], "y": [1.0, 2.0]})
    with pytest.raises(InvalidInputError, match="not in the data: r3"):
        replicate_design(frame, weights="w", replicate_weights=["r1", "r3"], replicate_type="BRR")
    with pytest.raises(InvalidInputError, match="'r1' has 1 negative"):
        replicate_design(frame, weights="w", replicate_weights="r", replicate_type="BRR")
    with pytest.raises(InvalidInputError, match="unknown replicate type"):
        replicate_design(frame, weights="w", replicate_weights="r", replicate_type="BRRR")


def test_sdr_scale_is_four_over_r():
    rng = np.random.default_rng(3)
    frame = pd.DataFrame({"w": np.full(6, 2.0), "y": rng.normal(size=6)})
    multipliers = rng.choice([0.3, 1.0, 1.7], size=(6, 4))
    design = replicate_design_from_arrays(
        frame, frame["w"].to_numpy(), multipliers * 2.0, replicate_type="SDR", mse=True
    )
    full = float((frame["w"] * frame["y"]).sum())
    reps = (multipliers * 2.0 * frame["y"].to_numpy()[:, None]).sum(axis=0)
    expected = 4 / 4 * ((reps - full) ** 2).sum()
    assert estimate_totals(design, "y").rows[0].se == pytest.approx(np.sqrt(expected))


@pytest.mark.parametrize("order", [2, 4, 8, 12, 20, 24, 164], ids=str)
def test_hadamard_is_orthogonal(order):
    matrix = hadamard(order)
    assert (matrix @ matrix.T == order * np.eye(order)).all()
    assert (matrix[:, 0] == 1).all()


def test_brr_needs_two_psus_per_stratum():
    design = survey_design(
        lonely_frame(), weights="w", strata="h", clusters="psu", lonely_psu="remove"
    )
    with pytest.raises(InvalidInputError, match="exactly 2 PSUs per stratum"):
        create_replicates(design, "BRR")


def test_bootstrap_is_unbiased_for_a_linear_total():
    rng = np.random.default_rng(11)
    frame = pd.DataFrame(
        {"h": np.repeat(np.arange(10), 6), "y": rng.gamma(2.0, 3.0, 60), "w": np.full(60, 5.0)}
    )
    taylor = survey_design(frame, weights="w", strata="h")
    boot = create_replicates(taylor, "bootstrap", replicates=4000, rng=5)
    assert boot.multipliers is not None and boot.multipliers.shape == (60, 4000)
    # Each replicate keeps the stratum totals of the multipliers: n_h - 1 draws x n_h/(n_h-1).
    per_stratum = np.add.reduceat(boot.multipliers, np.arange(0, 60, 6), axis=0)
    assert np.allclose(per_stratum, 6.0)
    linear = estimate_totals(taylor, "y").rows[0].se
    # R's harmonic-mean scale equals 1/(R-1) x n/(n-1) here (n_h = 6 everywhere).
    assert estimate_totals(boot, "y").rows[0].se == pytest.approx(linear * np.sqrt(6 / 5), rel=0.05)


def test_jkn_equals_the_linear_variance_for_a_total():
    frame = lonely_frame().iloc[:5]
    taylor = survey_design(frame, weights="w", strata="h", clusters="psu")
    jkn = create_replicates(taylor, "JKn")
    assert estimate_totals(jkn, "y").rows[0].se == pytest.approx(
        estimate_totals(taylor, "y").rows[0].se
    )
    assert jkn.degrees_of_freedom == 3


def test_created_sdr_is_the_successive_difference_estimator():
    # Fay and Train (1995): with distinct Hadamard columns, 4/R sum_r (t_r - t)^2 equals
    # 1/2 [z_1^2 + sum_j (z_j - z_(j-1))^2 + z_n^2] for the PSU totals z in sort order.
    frame = pd.DataFrame({"w": [3.0, 1.0, 2.0, 2.0, 5.0, 1.0], "y": [4.0, 1.0, 7.0, 2.0, 3.0, 9.0]})
    taylor = survey_design(frame, weights="w")
    sdr = create_replicates(taylor, "SDR", replicates=0)
    assert sdr.replicates == 8 and sdr.scale == 0.5
    z = (frame["w"] * frame["y"]).to_numpy()
    expected = 0.5 * (z[0] ** 2 + (np.diff(z) ** 2).sum() + z[-1] ** 2)
    assert estimate_totals(sdr, "y").rows[0].se == pytest.approx(np.sqrt(expected))
