"""Daily, weekly and date-limited tables of one selection read together (issue #3, item 10).

Each is protected with the source's monthly pattern; weekly and date-limited
tables take their marks from the selection's daily table, so that the three
read together with the monthly tables still give no small count away. The
attacker (``attack`` of ``test_linked_protection``, scipy ``linprog``) knows
every published number of the monthly tables and of all three tables; the
tables are summed with pandas from the records.
"""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
import pytest

from crimeprev.indicators.counts import CountQuery, count_incidents

from .conftest import synthetic_source
from .test_linked_protection import (
    LINKED_PROFILE,
    THRESHOLD,
    _pattern_tables,
    _table,
    attack,
)
from .test_release_ledger import forget_releases


def _records() -> pd.DataFrame:
    """About 8 burglaries a day per region over January-February 2020, and a few robberies."""
    rng = np.random.default_rng(5)
    minutes = rng.integers(0, 60 * 24 * 60, size=960)
    when = pd.Timestamp("2020-01-01") + pd.to_timedelta(minutes, unit="min")
    bulk = pd.DataFrame(
        {
            "date": when.strftime("%Y-%m-%d %H:%M"),
            "iccs": rng.choice(["0501", "0502"], size=960, p=[0.97, 0.03]),
            "region": rng.choice(["A", "B"], size=960),
        }
    )
    return bulk


@pytest.fixture(scope="module")
def derived(tmp_path_factory):
    from crimeprev.store import open_warehouse

    records = _records()
    root = tmp_path_factory.mktemp("derived")
    files = {"d.csv": records}
    with synthetic_source(root, "test_linked", LINKED_PROFILE, files, threshold=THRESHOLD) as made:
        settings, (result,) = made
        assert result.rows_accepted == 960
        warehouse = open_warehouse(settings.warehouse_url)
        try:
            yield warehouse, records
        finally:
            warehouse.close()


def _marks(warehouse, query: CountQuery) -> pd.DataFrame:
    from crimeprev.indicators.source_protection import counts_status

    frame = count_incidents(warehouse, query)
    frame["mark"] = counts_status(warehouse, query, frame, threshold=THRESHOLD).to_numpy()
    return frame


def _ranges_of_hidden_small_counts(warehouse, records):
    """The attacker's ranges over the monthly, daily, weekly and date-limited tables."""
    from crimeprev.indicators.source_protection import source_pattern

    when = pd.to_datetime(records["date"])
    sub = (
        records.assign(
            day=when.dt.normalize(), iccs_code=records["iccs"], area_id=records["region"]
        )
        .groupby(["iccs_code", "area_id", "day"], as_index=False)
        .size()
        .rename(columns={"size": "count"})
    )
    sub["count"] = sub["count"].astype(float)
    pattern = source_pattern(warehouse, "test_linked", threshold=THRESHOLD)
    tables = _pattern_tables(sub, pattern)
    start, end = date(2020, 1, 10), date(2020, 2, 20)
    hidden_published = {}
    for period in ("day", "week"):
        query = CountQuery("test_linked", level=1, period=period, by_area=True)
        got = _marks(warehouse, query)
        table, row_of = _table(sub, 1, period, True)
        got["period"] = pd.to_datetime(got["period"])
        merged = table.merge(got, on=["iccs_code", "area_id", "period"], how="left")
        assert np.array_equal(merged["count_x"], merged["count_y"])  # the same table
        tables.append((table, row_of, merged["mark"].to_numpy()))
        hidden_published[period] = ((merged["mark"] != "").sum(), len(merged))
    # Counts between two dates (all of it by area and code), from the same daily table.
    query = CountQuery("test_linked", level=1, period=None, by_area=True, start=start, end=end)
    got = _marks(warehouse, query)
    inside = (sub["day"] >= pd.Timestamp(start)) & (sub["day"] < pd.Timestamp(end))
    keys = pd.MultiIndex.from_frame(
        pd.DataFrame({"iccs_code": sub["iccs_code"].str[:2], "area_id": sub["area_id"]})
    )
    rows = pd.MultiIndex.from_frame(got[["iccs_code", "area_id"]])
    row_of = np.where(inside, rows.get_indexer(keys), -1)
    expected = np.bincount(row_of[inside], weights=sub["count"][inside], minlength=len(got))
    assert np.array_equal(expected, got["count"].to_numpy())
    tables.append((got[["iccs_code", "area_id", "count"]], row_of, got["mark"].to_numpy()))

    return attack(sub["count"].to_numpy(), tables), hidden_published


def test_days_weeks_and_a_date_range_together_give_no_small_count_away(derived):
    ranges, hidden_published = _ranges_of_hidden_small_counts(*derived)
    # Some days and weeks are hidden, some shown: the test has something to attack.
    days_hidden, days = hidden_published["day"]
    weeks_hidden, weeks = hidden_published["week"]
    assert 0 < days_hidden < days and 0 < weeks_hidden < weeks
    assert ranges
    for low, high in ranges:
        assert high - low >= THRESHOLD - 1e-6, (low, high)


def test_a_weekly_table_protected_apart_from_the_daily_one_gives_a_count_away(derived, monkeypatch):
    # Each protected with the monthly tables only (before; and with no release
    # ledger to link them), the weekly and the daily tables read together pin a
    # small count.
    import crimeprev.indicators.derived_tables as derived_tables

    monkeypatch.setattr(derived_tables, "made_from_days", lambda _query: False)
    forget_releases(monkeypatch)
    ranges, _ = _ranges_of_hidden_small_counts(*derived)
    assert min(high - low for low, high in ranges) < THRESHOLD - 1


def test_a_week_is_shown_only_when_all_its_days_are(derived):
    warehouse, _ = derived
    days = _marks(warehouse, CountQuery("test_linked", level=1, period="day", by_area=True))
    weeks = _marks(warehouse, CountQuery("test_linked", level=1, period="week", by_area=True))
    day = pd.to_datetime(days["period"])
    days["week"] = day - pd.to_timedelta(day.dt.day_of_week, unit="D")
    with_hidden = days.groupby(["iccs_code", "area_id", "week"])["mark"].apply(
        lambda marks: (marks != "").any()
    )
    weeks["period"] = pd.to_datetime(weeks["period"])
    lookup = list(zip(weeks["iccs_code"], weeks["area_id"], weeks["period"], strict=True))
    assert np.array_equal(with_hidden.loc[lookup].to_numpy(), (weeks["mark"] != "").to_numpy())
