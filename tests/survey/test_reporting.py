"""Publication flags and suppression, the dark figure, and file/profile reading."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from crimeprev.errors import DataFileError, InvalidInputError
from crimeprev.survey import estimate_proportions, survey_design
from crimeprev.survey.dark_figure import compare_with_police, dark_figure, dark_figure_chart
from crimeprev.survey.estimators import Estimate, EstimateTable
from crimeprev.survey.io import build_design, load_profile, read_police_counts, read_survey_file
from crimeprev.survey.publication import PublicationRules, apply_rules
from crimeprev.survey.victimisation import share_feeling_safe, victimisation_indicators


def row(n: int, estimate: float, se: float) -> Estimate:
    return Estimate(
        "mean",
        "y",
        "all",
        None,
        estimate,
        se,
        estimate - 2 * se,
        estimate + 2 * se,
        se / estimate,
        1.0,
        100,
        n,
        1000.0,
    )


@pytest.mark.parametrize(
    ("n", "se", "flags", "suppressed"),
    [
        (200, 1.0, (), False),
        (29, 1.0, ("small_n",), False),
        (200, 3.0, ("high_rse",), False),
        (9, 1.0, ("small_n",), True),
        (200, 5.0, ("high_rse",), True),
    ],
    ids=["fine", "small-n", "high-rse", "suppress-n", "suppress-rse"],
)
def test_publication_rules(n, se, flags, suppressed):
    published = apply_rules(EstimateTable((row(n, 10.0, se),), {}, 0.95))[0]
    assert published.flags == flags
    assert published.suppressed is suppressed
    record = published.to_record()
    assert (record["estimate"] is None) is suppressed


def test_rules_are_configurable_and_checked():
    rules = PublicationRules(flag_below_n=100, flag_rse=0.05, suppress_below_n=50, suppress_rse=0.4)
    published = apply_rules(EstimateTable((row(60, 10.0, 1.0),), {}, 0.95), rules)[0]
    assert published.flags == ("small_n", "high_rse") and not published.suppressed
    with pytest.raises(InvalidInputError, match="stricter"):
        PublicationRules(flag_below_n=10, suppress_below_n=30)


def test_indicators_on_a_small_survey_by_sex():
    frame = pd.DataFrame(
        {
            "w": np.tile([50.0, 150.0], 20),
            "h": np.repeat([1, 2], 20),
            "sex": np.tile([1, 1, 2, 2], 10),
            "violence": np.tile([0, 1, 0, 0, 2, 0, 0, 0], 5),
            "violence_reported": np.tile([0, 0, 0, 0, 1, 0, 0, 0], 5),
            "safe": np.tile([1, 2, 3, 4, 1, 1, 2, np.nan], 5),
        }
    )
    design = survey_design(frame, weights="w", strata="h")
    table = victimisation_indicators(
        design,
        {"violence": "violence"},
        reported={"violence": "violence_reported"},
        by="sex",
        violence=["violence"],
    )
    w, v = frame["w"], frame["violence"]
    prevalence = table.get("prevalence", "violence")
    assert prevalence.sdg == "16.1.3"
    assert prevalence.published.estimate.estimate == pytest.approx((w * (v > 0)).sum() / w.sum())
    incidence = table.get("incidence", "violence").published.estimate
    assert incidence.estimate == pytest.approx(1000 * (w * v).sum() / w.sum())
    concentration = table.get("concentration", "violence").published.estimate
    assert concentration.estimate == pytest.approx((w * v).sum() / (w * (v > 0)).sum())
    assert concentration.n == int((v > 0).sum())
    reporting = table.get("reporting_rate", "violence")
    assert reporting.sdg == "16.3.1"
    assert reporting.published.estimate.estimate == pytest.approx(
        (w * frame["violence_reported"]).sum() / (w * v).sum()
    )
    # Few victims: the publication rules flag the concentration.
    assert "small_n" in table.get("concentration", "violence").published.flags
    safe = share_feeling_safe(design, "safe", [1, 2], by="sex")
    answered = frame["safe"].notna()
    expected = (w * frame["safe"].isin([1, 2]))[answered].sum() / w[answered].sum()
    assert safe.rows[0].sdg == "16.1.4"
    assert safe.rows[0].published.estimate.estimate == pytest.approx(expected)


def test_negative_counts_are_refused():
    frame = pd.DataFrame({"w": [1.0, 1.0, 1.0], "c": [0, -1, 2]})
    with pytest.raises(InvalidInputError, match="row 1 has -1"):
        victimisation_indicators(survey_design(frame, weights="w"), {"x": "c"})


def test_dark_figure_log_delta_by_hand():
    result = dark_figure(1_500_000.0, 90_000.0, 600_000, degrees_of_freedom=170)
    t = stats.t.ppf(0.975, 170)
    spread = math.sqrt((90_000 / 1_500_000) ** 2 + 1 / 600_000)
    assert result.ratio == 2.5
    assert result.ratio_ci_low == pytest.approx(2.5 * math.exp(-t * spread))
    assert result.ratio_ci_high == pytest.approx(2.5 * math.exp(t * spread))
    assert result.unrecorded_share == pytest.approx(0.6)


def test_dark_figure_fieller_limits_solve_the_pivot():
    survey, se, police = 5_000.0, 900.0, 40
    result = dark_figure(survey, se, police, method="fieller")
    z = stats.norm.ppf(0.975)
    for limit in (result.ratio_ci_low, result.ratio_ci_high):
        assert (survey - limit * police) ** 2 == pytest.approx(z**2 * (se**2 + limit**2 * police))
    unbounded = dark_figure(10.0, 5.0, 2, method="fieller")
    assert math.isinf(unbounded.ratio_ci_high)
    assert unbounded.to_record()["ratio_ci_high"] is None


def test_dark_figure_interval_covers_in_simulation():
    rng = np.random.default_rng(2)
    truth_survey, truth_police, se = 20_000.0, 5_000.0, 1_500.0
    hits = 0
    for _ in range(2000):
        s = rng.normal(truth_survey, se)
        p = rng.poisson(truth_police)
        result = dark_figure(s, se, p)
        hits += result.ratio_ci_low <= truth_survey / truth_police <= result.ratio_ci_high
    assert 0.93 < hits / 2000 < 0.97


def test_dark_figure_bad_input():
    with pytest.raises(InvalidInputError, match="police count must be a whole number > 0"):
        dark_figure(100.0, 1.0, 0)
    with pytest.raises(InvalidInputError, match="unknown method"):
        dark_figure(100.0, 1.0, 5, method="bootstrap")
    with pytest.raises(InvalidInputError, match="no police count matches"):
        compare_with_police({"0501": ("Burglary", 1.0, 0.1)}, [{"iccs_code": "0401", "count": 3}])
    assert (
        dark_figure_chart([dark_figure(10.0, 1.0, 5, label="x")])["data"]["values"][0]["ratio"] == 2
    )


def test_police_counts_file(tmp_path):
    good = tmp_path / "police.csv"
    good.write_text('iccs_code,count,period\n0501,"1,200",2021\n0401,300,2021\n')
    rows = read_police_counts(good)
    assert rows[0] == {
        "iccs_code": "0501",
        "count": 1200,
        "period": "2021",
        "area": None,
        "label": None,
    }
    bad = tmp_path / "bad.csv"
    bad.write_text("iccs_code,count\n0501,12\n9999,3\n")
    with pytest.raises(DataFileError, match="row 2: '9999' is not an ICCS") as error:
        read_police_counts(bad)
    assert error.value.details["field"] == "iccs_code"
    bad.write_text("iccs_code,count\n0501,twelve\n")
    with pytest.raises(DataFileError, match="count 'twelve' is not a whole number"):
        read_police_counts(bad)


def test_sav_and_dta_keep_value_labels(tmp_path):
    import pyreadstat

    frame = pd.DataFrame({"w": [1.0, 2.0, 1.0, 1.0], "safe": [1.0, 2.0, 1.0, 4.0]})
    labels = {"safe": {1.0: "Very safe", 2.0: "Fairly safe", 4.0: "Very unsafe"}}
    for suffix, writer in ((".sav", pyreadstat.write_sav), (".dta", pyreadstat.write_dta)):
        path = tmp_path / f"survey{suffix}"
        writer(frame, str(path), variable_value_labels=labels)
        data = read_survey_file(path)
        assert data.value_labels["safe"][1] == "Very safe"
        table = estimate_proportions(
            survey_design(data.frame, weights="w"), "safe", labels=data.value_labels
        )
        assert table.get("safe", category="Very safe").estimate == pytest.approx(0.4)


def test_profile_with_replicates_and_errors(tmp_path):
    data = tmp_path / "data.csv"
    pd.DataFrame(
        {"w": [1.0, 1.0, 1.0, 1.0], "r1": [2.0, 0, 2, 0], "r2": [0, 2.0, 0, 2], "y": [1, 2, 3, 4]}
    ).to_csv(data, index=False)
    profile = tmp_path / "p.toml"
    profile.write_text(
        '[survey]\nfile = "data.csv"\n[design]\nweights = "w"\n'
        '[design.replicates]\ntype = "BRR"\ncolumns = ["r1", "r2"]\n'
    )
    loaded = load_profile(profile)
    design = build_design(loaded, read_survey_file(loaded.file).frame)
    assert design.method == "replicate:BRR"
    profile.write_text('[design]\nweight = "w"\n')
    with pytest.raises(InvalidInputError, match="needs a \\[design\\] table with 'weights'"):
        load_profile(profile)
    profile.write_text("[design\n")
    with pytest.raises(DataFileError, match="not valid TOML"):
        load_profile(profile)
    with pytest.raises(DataFileError, match="expected .csv, .parquet, .dta or .sav"):
        read_survey_file(profile)


def test_profile_creates_replicates_from_the_design(tmp_path):
    data = tmp_path / "data.parquet"
    pd.DataFrame(
        {"w": [2.0] * 8, "h": [1, 1, 2, 2, 3, 3, 4, 4], "psu": [1, 2] * 4, "y": range(8)}
    ).to_parquet(data)
    profile = tmp_path / "p.toml"
    profile.write_text(
        '[survey]\nfile = "data.parquet"\n'
        '[design]\nweights = "w"\nstrata = "h"\nclusters = ["psu"]\n'
        '[design.replicates]\ncreate = true\ntype = "Fay"\nfay_rho = 0.5\n'
    )
    loaded = load_profile(profile)
    design = build_design(loaded, read_survey_file(loaded.file).frame)
    assert design.method == "replicate:Fay"
    assert design.replicates == 8  # Hadamard order 8 > 4 strata
