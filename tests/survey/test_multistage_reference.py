"""Multistage designs against R's survey package: strata at the second stage, FPC at both
stages and every lonely-PSU option at both stages.

``tests/data/survey_multistage/make_reference.R`` made the fictional sample
(with ``ym``, a copy of ``y`` with missing values)
(``design.csv``) and R's estimates (``reference.csv``) with survey 4.1.1 on
R 4.2.2; this test needs neither R nor the script, only the saved values.
In the sample, stage-1 stratum 3 has a single PSU and two second-stage
strata have a single SSU, so every option acts at both stages.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from crimeprev.errors import InvalidInputError
from crimeprev.survey import estimate_means, estimate_totals, survey_design

FOLDER = Path(__file__).parent.parent / "data" / "survey_multistage"


@pytest.fixture(scope="module")
def sample() -> pd.DataFrame:
    return pd.read_csv(FOLDER / "design.csv")


@pytest.fixture(scope="module")
def reference() -> pd.DataFrame:
    return pd.read_csv(FOLDER / "reference.csv")


@pytest.mark.parametrize("option", ["remove", "certainty", "adjust", "average"])
def test_two_stage_stratified_design_matches_r(sample, reference, option):
    design = survey_design(
        sample,
        weights="w",
        strata=["h1", "h2"],
        clusters=["psu", "ssu"],
        fpc=["N1", "N2"],
        lonely_psu=option,
    )
    expected = reference[reference["lonely_psu"] == option].reset_index(drop=True)
    rows = [
        estimate_totals(design, "y").get("y"),
        estimate_means(design, "y").get("y"),
        *estimate_means(design, "y", by="d").rows,
        # ym has missing values: R's na.rm = TRUE drops those rows (and, under "average",
        # the strata left without rows in a domain).
        estimate_means(design, "ym", missing="exclude").get("ym"),
        *estimate_means(design, "ym", by="d", missing="exclude").rows,
    ]
    for row, (_, want) in zip(rows, expected.iterrows(), strict=True):
        assert (row.variable, row.statistic, row.domain) == (
            want["variable"],
            want["statistic"],
            want["domain"],
        )
        assert row.estimate == pytest.approx(want["estimate"], rel=1e-10)
        assert row.se == pytest.approx(want["se"], rel=1e-10)


def test_second_stage_fpc_needs_the_second_stage_strata(sample):
    # N2 is the size of each second-stage stratum; without h2 it varies within a PSU.
    with pytest.raises(InvalidInputError, match="'N2' varies within a stage-2 stratum"):
        survey_design(
            sample,
            weights="w",
            strata="h1",
            clusters=["psu", "ssu"],
            fpc=["N1", "N2"],
            lonely_psu="remove",
        )


def test_lonely_second_stage_stratum_fails_by_default(sample):
    with pytest.raises(InvalidInputError, match="h2=.* has only one PSU at stage 2"):
        survey_design(
            sample.query("h1 != 3"),
            weights="w",
            strata=["h1", "h2"],
            clusters=["psu", "ssu"],
            fpc=["N1", "N2"],
        )


def test_more_strata_columns_than_stages(sample):
    with pytest.raises(InvalidInputError, match="3 strata columns given for 2 stage"):
        survey_design(
            sample,
            weights="w",
            strata=["h1", "h2", "d"],
            clusters=["psu", "ssu"],
            lonely_psu="remove",
        )
