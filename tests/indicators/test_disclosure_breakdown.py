"""Secondary suppression of SDG indicator tables by sex x age band with Total rows.

The attacker is written in the test: the hidden rows without a Total are the
unknowns (at least 1 each: a small count is never 0), every published Total
row is an equation over them, and ``scipy.optimize.linprog`` finds each
hidden small count's smallest and largest value.
"""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.optimize import linprog

from crimeprev.indicators.sdmx import indicator_sdmx_frame
from crimeprev.indicators.source_protection import protect_breakdown

THRESHOLD = 5
SEXES = ["Male", "Female", "Unknown"]
AGES = ["0-14", "15-29", "30-44", "45+"]


def with_totals(counts: dict[tuple[str, str], int]) -> pd.DataFrame:
    """An indicator table: every sex x age cell, each sex's and age's Total, and Total x Total."""
    rows = []
    for sex in [*SEXES, "Total"]:
        for age in [*AGES, "Total"]:
            value = sum(
                v
                for (s, a), v in counts.items()
                if (sex == "Total" or s == sex) and (age == "Total" or a == age)
            )
            rows.append({"area_id": "X", "year": 2020, "sex": sex, "age": age, "numerator": value})
    return pd.DataFrame(rows)


def attack(table: pd.DataFrame, hidden: np.ndarray) -> list[tuple[float, float]]:
    fine = ((table["sex"] != "Total") & (table["age"] != "Total")).to_numpy()
    unknown = np.flatnonzero(fine & hidden)
    values = table["numerator"].to_numpy(dtype=float)
    a_rows, b = [], []
    for position in np.flatnonzero(~hidden & ~fine):
        sex, age = table.loc[position, "sex"], table.loc[position, "age"]
        cover = fine & ((table["sex"] == sex) | (sex == "Total")).to_numpy()
        cover &= ((table["age"] == age) | (age == "Total")).to_numpy()
        a_rows.append(cover[unknown].astype(float))
        b.append(values[position] - values[cover & ~hidden].sum())
    ranges = []
    for position in np.flatnonzero(hidden & (values > 0) & (values < THRESHOLD)):
        sex, age = table.loc[position, "sex"], table.loc[position, "age"]
        cover = fine & ((table["sex"] == sex) | (sex == "Total")).to_numpy()
        cover &= ((table["age"] == age) | (age == "Total")).to_numpy()
        objective = cover[unknown].astype(float)
        a_eq = np.array(a_rows) if a_rows else None
        b_eq = np.array(b) if b else None
        low = linprog(objective, A_eq=a_eq, b_eq=b_eq, bounds=(1, None), method="highs")
        high = linprog(-objective, A_eq=a_eq, b_eq=b_eq, bounds=(1, None), method="highs")
        assert low.status == 0
        ranges.append((low.fun, np.inf if high.status == 3 else -high.fun))
    return ranges


@settings(max_examples=30, deadline=None, derandomize=True)
@given(
    st.lists(
        st.one_of(st.just(0), st.integers(1, 4), st.integers(5, 60)),
        min_size=len(SEXES) * len(AGES),
        max_size=len(SEXES) * len(AGES),
    )
)
def test_no_small_count_is_recoverable_from_the_total_rows(values):
    counts = dict(zip(itertools.product(SEXES, AGES), values, strict=True))
    table = with_totals(counts)
    status = protect_breakdown(
        table, threshold=THRESHOLD, value="numerator", breakdowns=["sex", "age"],
        keys=["area_id", "year"],
    )  # fmt: skip
    numbers = table["numerator"].to_numpy(dtype=float)
    assert ((status == "primary").to_numpy() == ((numbers > 0) & (numbers < THRESHOLD))).all()
    for low, high in attack(table, (status != "").to_numpy()):
        assert high - low >= THRESHOLD - 1e-6, (low, high)


def test_primary_suppression_alone_would_be_undone_by_the_totals():
    table = with_totals({("Male", "0-14"): 3, ("Female", "0-14"): 20, ("Male", "15-29"): 9})
    primary_only = ((table["numerator"] > 0) & (table["numerator"] < THRESHOLD)).to_numpy()
    ((low, high),) = [r for r in attack(table, primary_only) if r[1] - r[0] < THRESHOLD][:1]
    assert low == high == 3.0


def test_sdmx_of_an_indicator_marks_every_hidden_value_c_and_a_or_d_only_in_detail():
    table = with_totals({("Male", "0-14"): 3, ("Female", "0-14"): 20, ("Male", "15-29"): 9})
    table["value"] = table["numerator"] / 1000.0
    detailed = indicator_sdmx_frame(table, iccs_code="0101", threshold=THRESHOLD, detailed=True)
    assert set(detailed["CONF_STATUS"]) == {"F", "A", "D"}
    sdmx = indicator_sdmx_frame(table, iccs_code="0101", threshold=THRESHOLD)
    numbers = sdmx[sdmx["UNIT_MEASURE"] == "NUMBER"].reset_index(drop=True)
    assert set(numbers["CONF_STATUS"]) == {"F", "C"}
    assert (sdmx["CONF_STATUS"] == "C").tolist() == (detailed["CONF_STATUS"] != "F").tolist()
    hidden = numbers["OBS_STATUS"] == "C"
    assert (numbers["CONF_STATUS"] == "C").equals(hidden)
    assert numbers.loc[hidden, "OBS_VALUE"].isna().all()
    # The rates of hidden numerators are hidden too.
    rates = sdmx[sdmx["UNIT_MEASURE"] == "PER_100000"].reset_index(drop=True)
    assert rates.loc[hidden.to_numpy(), "OBS_VALUE"].isna().all()
