"""NCVS 2021 worked example against the published book values, and the bundled profile."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from crimeprev.errors import InvalidInputError
from crimeprev.standards import iccs
from crimeprev.survey.estimators import estimate_means, estimate_totals
from crimeprev.survey.io import build_design, bundled_profile, load_dataset, load_profile
from crimeprev.survey.ncvs import CATEGORY_ICCS, crime_type_mapping, series_weights
from crimeprev.survey.victimisation import victimisation_indicators

CASE = Path(__file__).parents[1] / "data" / "ncvs_2021_book"


@pytest.fixture(scope="module")
def households():
    data = load_dataset("ncvs_2021_households")
    profile = load_profile(bundled_profile("ncvs_2021_households"))
    return data.frame, build_design(profile, data.frame)


def expected() -> dict[str, dict]:
    body = json.loads((CASE / "expected.json").read_text())
    return {item["id"]: item for item in body["estimates"]}


def test_property_victimisations_match_the_book(households):
    frame, design = households
    reference = expected()
    total = estimate_totals(design, "property").rows[0]
    assert total.estimate == pytest.approx(
        reference["property_victimisations"]["estimate"], abs=0.5
    )
    assert total.se == pytest.approx(reference["property_victimisations"]["se"], abs=0.5)
    assert total.population == pytest.approx(reference["households"]["estimate"], abs=0.5)
    assert design.degrees_of_freedom == 170


def test_property_rate_matches_the_book(households):
    _, design = households
    reference = expected()["property_rate_per_1000_households"]
    table = victimisation_indicators(design, {"property": "property"}, indicators=["incidence"])
    row = table.get("incidence", "property").published.estimate
    assert row.estimate == pytest.approx(reference["estimate"], abs=0.05)
    assert row.se == pytest.approx(reference["se"], abs=0.005)


def test_prevalence_and_domains_recomputed_from_the_frame(households):
    frame, design = households
    table = victimisation_indicators(
        design, {"burglary": "burglary"}, by="tenure", indicators=["prevalence"]
    )
    for code, label in ((1, "1"), (2, "2")):
        inside = frame["tenure"] == code
        weights = frame["WGTHHCY"].where(inside, 0.0)
        share = (weights * (frame["burglary"] > 0)).sum() / weights.sum()
        row = table.get("prevalence", "burglary", f"tenure={label}").published.estimate
        assert row.estimate == pytest.approx(share)
        assert row.ci_low < row.estimate < row.ci_high
    means = estimate_means(design, "burglary", by="tenure")
    assert len(means.rows) == 2


def test_mapping_uses_valid_iccs_codes():
    mapping = crime_type_mapping()
    assert mapping["ncvs_code"].is_unique
    assert all(iccs.is_valid(code) for code in mapping["iccs_code"])
    assert all(iccs.is_valid(code) for code in CATEGORY_ICCS.values())


def test_series_rule():
    frame = pd.DataFrame(
        {
            "V4016": [3, 12, 998, 4],
            "V4017": [2, 2, 2, 1],
            "V4018": [1.0, 1.0, 1.0, np.nan],
            "V4019": [2.0, 2.0, 2.0, np.nan],
        }
    )
    assert series_weights(frame).tolist() == [3.0, 10.0, 6.0, 1.0]
    with pytest.raises(InvalidInputError, match="lacks columns V4016"):
        series_weights(frame.drop(columns="V4016"))
