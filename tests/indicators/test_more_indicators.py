"""Age standardisation, concentration, trends, quality, SDG 16.1.1 and SDMX-CSV."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose

from crimeprev.errors import DataFileError
from crimeprev.indicators.poisson import garwood_interval
from crimeprev.indicators.sdmx import read_sdmx_csv, to_sdmx_frame, write_sdmx_csv
from crimeprev.indicators.standardise import concentration, direct_standardised_rate
from crimeprev.indicators.trends import moving_average, period_changes


@pytest.mark.parametrize("count", [0, 3, 40], ids=["0", "3", "40"])
def test_fay_feuer_with_one_band_is_garwood(count):
    # Fay & Feuer (1997): with a single stratum the gamma interval is the exact Poisson one.
    result = direct_standardised_rate([count], [12_345], [7], per=100_000)
    low, high = garwood_interval(count)
    assert_allclose([result.ci_low, result.ci_high], np.array([low, high]) / 12_345 * 1e5)


def test_standardised_rate_is_the_weighted_mean_of_band_rates():
    counts, populations, standard = [10, 40, 90], [50_000, 40_000, 30_000], [0.5, 0.3, 0.2]
    result = direct_standardised_rate(counts, populations, standard)
    expected = (0.5 * 10 / 50_000 + 0.3 * 40 / 40_000 + 0.2 * 90 / 30_000) * 1e5
    assert_allclose(result.rate, expected)
    assert result.ci_low < result.rate < result.ci_high
    assert_allclose(result.crude_rate, 140 / 120_000 * 1e5)


def test_concentration_of_equal_and_concentrated_counts():
    equal = concentration([5, 5, 5, 5])
    assert equal.gini == 0 and equal.top_share == 0.25
    assert concentration(np.r_[np.zeros(9), 100], top_fraction=0.1).top_share == 1.0


def test_period_changes_and_moving_average():
    changes = period_changes(["2018", "2019", "2020"], [100, 100, 150])
    assert changes[0].p_value == 1.0 and changes[0].percent_change == 0
    assert changes[1].percent_change == 50 and changes[1].p_value < 0.02
    assert moving_average([3, 6, 9], window=3) == [None, None, 6.0]


def test_sdmx_csv_round_trip_with_suppression():
    counts = pd.DataFrame(
        {
            "area_id": ["25", "25", "26"],
            "period": ["2019-01-01", "2019-01-01", "2019-01-01"],
            "iccs_code": ["02011", "0501", "02011"],
            "count": [120.0, 2.0, 0.0],
        }
    )
    frame = to_sdmx_frame(counts, threshold=5)
    back = read_sdmx_csv(write_sdmx_csv(frame))
    assert list(back.columns)[:8] == [
        "DATAFLOW",
        "FREQ",
        "REF_AREA",
        "TIME_PERIOD",
        "ICCS",
        "SEX",
        "AGE",
        "UNIT_MEASURE",
    ]
    assert back["OBS_VALUE"].tolist()[0] == 120.0 and np.isnan(back["OBS_VALUE"][1])
    assert back["OBS_STATUS"].tolist() == ["A", "C", "A"]
    assert back["ICCS"].tolist() == ["02011", "0501", "02011"]


def test_sdmx_csv_errors_name_row_and_field():
    with pytest.raises(DataFileError, match="missing SDMX-CSV column"):
        read_sdmx_csv("REF_AREA,OBS_VALUE\nX,1\n")
    bad = write_sdmx_csv(
        to_sdmx_frame(
            pd.DataFrame(
                {"area_id": ["1"], "period": ["2019"], "iccs_code": ["0501"], "count": [9.0]}
            )
        )
    )
    bad = bad.replace(",9.0,", ",nine,")
    with pytest.raises(DataFileError, match="row 1, field 'OBS_VALUE'"):
        read_sdmx_csv(bad)
