"""Tables outside the source's pattern (days, weeks, seasonal heat tables) protected jointly
with it (issue #3, item 10).

The attacker is written here from scratch: it knows every published number of
the source's monthly tables (code as coded and level 1, by month, year and all
periods, by area and not) and of the finer table, that counts are not negative
and that a listed hidden count is at least 1; its unknowns are the counts by
code x area x day (or x month x weekday x hour for the heat tables). With
``scipy.optimize.linprog`` it finds the smallest and largest value of every
hidden small count of every table. The tables are summed with pandas from the
records, not with crimeprev's cell building.
"""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
import pytest
from scipy import sparse
from scipy.optimize import linprog

from crimeprev.indicators.disclosure import protect_counts
from crimeprev.indicators.linked_protection import protect_linked
from crimeprev.indicators.source_protection import area_key, code_key, period_key, protect_source

from .conftest import synthetic_source, web_client

THRESHOLD = 5
PATTERN_TABLES = [
    (level, period, by_area)
    for level in (None, 1)
    for period in ("month", "year", None)
    for by_area in (True, False)
]


def _records(seed: int) -> pd.DataFrame:
    """Counts by code x area x day over January-February 2020: many small days, and rare
    homicides (0101) whose monthly counts are small too."""
    rng = np.random.default_rng(seed)
    days = pd.date_range("2020-01-01", "2020-02-29", freq="D")
    rows = [(c, a, d) for c in ("0501", "0502", "0101", "02") for a in ("A", "B") for d in days]
    frame = pd.DataFrame(rows, columns=["iccs_code", "area_id", "day"])
    chance = np.where(frame["iccs_code"] == "0101", 0.05, 0.5)
    frame["count"] = np.where(
        rng.random(len(frame)) < chance, rng.choice([1, 2, 3, 6, 9, 14], len(frame)), 0
    ).astype(float)
    frame.loc[frame["iccs_code"] == "0101", "count"] = frame["count"].clip(upper=1)
    return frame[frame["count"] > 0].reset_index(drop=True)


def _key_columns(sub: pd.DataFrame, level: int | None, period: str | None, by_area: bool):
    codes = sub["iccs_code"] if level is None else sub["iccs_code"].str[: {1: 2}[level]]
    keys = pd.DataFrame({"iccs_code": codes})
    if by_area:
        keys["area_id"] = sub["area_id"]
    if period is not None:
        day = pd.to_datetime(sub["day"])
        if period == "day":
            keys["period"] = day
        elif period == "week":
            keys["period"] = day - pd.to_timedelta(day.dt.day_of_week, unit="D")
        else:
            keys["period"] = day.dt.to_period({"month": "M", "year": "Y"}[period]).dt.start_time
    return keys


def _table(sub: pd.DataFrame, level, period, by_area):
    """The table's rows (summed with pandas) and the sub-cell -> row map."""
    keys = _key_columns(sub, level, period, by_area)
    columns = list(keys.columns)
    row_of, index = pd.MultiIndex.from_frame(keys).factorize()
    table = pd.DataFrame(list(index), columns=columns)
    table["count"] = np.bincount(row_of, weights=sub["count"].to_numpy())
    return table, row_of


def _pattern_tables(sub: pd.DataFrame, pattern):
    """Every pattern table: (rows, sub-cell -> row, status) with the pattern's marks."""
    out = []
    for level, period, by_area in PATTERN_TABLES:
        table, row_of = _table(sub, level, period, by_area)
        status = pattern.frame_status(table, level=level, period=period, by_area=by_area)
        out.append((table, row_of, status.to_numpy()))
    return out


def attack(values: np.ndarray, tables, *, limit: int | None = None, seed: int = 0):
    """(min, max) of every hidden small count, given all published numbers of `tables`.

    `tables` holds (rows, unknown -> row, status); an unknown may be in no row (-1).
    """
    equations, right, floors = [], [], []
    targets = {}
    n = len(values)
    for table, row_of, status in tables:
        used = row_of >= 0
        matrix = sparse.csr_matrix(
            (np.ones(used.sum()), (row_of[used], np.flatnonzero(used))), shape=(len(table), n)
        )
        counts = table["count"].to_numpy(dtype=float)
        for row in range(len(table)):
            members = matrix[row]
            if not members.nnz:
                continue
            if status[row] == "":
                equations.append(members.toarray().ravel())
                right.append(counts[row])
            else:
                floors.append(members.toarray().ravel())
                if 0 < counts[row] < THRESHOLD:
                    targets.setdefault(members.indices.tobytes(), members.toarray().ravel())
    a_eq, b_eq = np.array(equations), np.array(right)
    a_ub = -np.array(floors) if floors else None
    b_ub = -np.ones(len(floors)) if floors else None
    chosen = list(targets.values())
    if limit is not None and len(chosen) > limit:
        picks = np.random.default_rng(seed).choice(len(chosen), size=limit, replace=False)
        chosen = [chosen[i] for i in sorted(picks)]
    ranges = []
    for objective in chosen:
        low = linprog(objective, A_ub=a_ub, b_ub=b_ub, A_eq=a_eq, b_eq=b_eq, method="highs")
        high = linprog(-objective, A_ub=a_ub, b_ub=b_ub, A_eq=a_eq, b_eq=b_eq, method="highs")
        assert low.status == 0, low.message
        ranges.append((low.fun, np.inf if high.status == 3 else -high.fun))
    return ranges


def _fine_index(pattern, codes, areas, months) -> np.ndarray:
    """Each sub-cell's fine cell of the pattern (code as coded x area x month)."""
    fine_of_cell = {int(c): i for i, c in enumerate(pattern.system.finest)}
    return np.array(
        [
            fine_of_cell[
                pattern.system.views[(code_key(c, None), area_key(a), period_key("month", m))]
            ]
            for c, a, m in zip(codes, areas, months, strict=True)
        ]
    )


def _protect_linked_table(sub: pd.DataFrame, pattern, level, period, by_area):
    table, row_of = _table(sub, level, period, by_area)
    months = pd.to_datetime(sub["day"]).dt.to_period("M").dt.start_time
    fine = _fine_index(pattern, sub["iccs_code"], sub["area_id"], months)
    rows = sparse.csr_matrix(
        (np.ones(len(sub)), (row_of, np.arange(len(sub)))), shape=(len(table), len(sub))
    )
    result = protect_linked(pattern, fine, sub["count"].to_numpy(), rows)
    return table, row_of, result


def _month_pattern(sub: pd.DataFrame):
    months = pd.to_datetime(sub["day"]).dt.to_period("M").dt.start_time
    fine = (
        sub.assign(period=months)
        .groupby(["iccs_code", "area_id", "period"], as_index=False)["count"]
        .sum()
    )
    return protect_source(fine, threshold=THRESHOLD)


@pytest.mark.parametrize("seed", [1, 2, 3], ids=["seed1", "seed2", "seed3"])
def test_days_and_weeks_with_the_monthly_tables_give_no_small_count_away(seed):
    sub = _records(seed)
    pattern = _month_pattern(sub)
    monthly = _pattern_tables(sub, pattern)
    # Each finer table is linked to the monthly ones, not to the other finer one.
    for level, period in ((1, "day"), (None, "week")):
        table, row_of, result = _protect_linked_table(sub, pattern, level, period, False)
        assert result.exposed == [] and result.pattern_exposed == []
        status = np.array(result.status)
        small = (table["count"] > 0) & (table["count"] < THRESHOLD)
        assert (status[small.to_numpy()] == "primary").all()
        assert set(status[~small.to_numpy()]) <= {"", "secondary"}
        tables = [*monthly, (table, row_of, status)]
        # Every small count of every table (the pattern's too) keeps a range of the threshold.
        for low, high in attack(sub["count"].to_numpy(), tables):
            assert high - low >= THRESHOLD - 1e-6, (period, low, high)


def test_a_daily_table_protected_on_its_own_is_undone_by_the_monthly_tables():
    # January in area A: 0501 is 3 on the 2nd and 20 on the 9th (23 in the month),
    # 0502 is 12 and 30 (42); both months are published.
    sub = pd.DataFrame(
        {"iccs_code": ["0501", "0501", "0502", "0502"], "area_id": ["A"] * 4,
         "day": pd.to_datetime(["2020-01-02", "2020-01-09"] * 2),
         "count": [3.0, 20.0, 12.0, 30.0]}
    )  # fmt: skip
    pattern = _month_pattern(sub)
    monthly = _pattern_tables(sub, pattern)
    table, row_of = _table(sub, None, "day", True)
    # The old way: the day table on its own, complements within each day.
    alone = protect_counts(table, threshold=THRESHOLD).status.to_numpy()
    assert alone.tolist() == ["primary", "", "secondary", ""]
    ((low, high),) = attack(sub["count"].to_numpy(), [*monthly, (table, row_of, alone)])
    assert low == high == 3.0  # the published month less the published 9th
    # Linked to the monthly tables, 0501's 9th is hidden too and the 3 ranges widely.
    _, _, result = _protect_linked_table(sub, pattern, None, "day", True)
    linked = np.array(result.status)
    assert linked.tolist() == ["primary", "secondary", "", ""]
    ((low, high),) = attack(sub["count"].to_numpy(), [*monthly, (table, row_of, linked)])
    assert high - low >= THRESHOLD


def test_a_month_pinned_by_its_listed_days_is_refused_not_published():
    # 0501 in area A, January: 4 + 1 + 1 + 1 = 7 on four days; the month (7) is published.
    sub = pd.DataFrame(
        {"iccs_code": ["0501"] * 4 + ["0502"] * 2, "area_id": ["A"] * 6,
         "day": pd.to_datetime(["2020-01-02", "2020-01-05", "2020-01-09", "2020-01-20",
                                "2020-01-03", "2020-01-04"]),
         "count": [4.0, 1.0, 1.0, 1.0, 20.0, 30.0]}
    )  # fmt: skip
    pattern = _month_pattern(sub)
    # The finest table by day lists each day: with the month's 7 published, the three
    # single days can only range over 1..4 together, however the day table is hidden.
    _, _, result = _protect_linked_table(sub, pattern, None, "day", True)
    assert result.exposed, "a day pinned by its published month must be reported"


def _heat_records(seed: int) -> pd.DataFrame:
    """Counts by code x area x month x weekday x hour (January-March 2020 and 2021)."""
    rng = np.random.default_rng(seed)
    times = pd.Timestamp("2020-01-01") + pd.to_timedelta(
        rng.integers(0, 90 * 24, size=700), unit="h"
    )
    times = times.append(
        pd.Timestamp("2021-01-01") + pd.to_timedelta(rng.integers(0, 90 * 24, size=6), unit="h")
    )
    frame = pd.DataFrame(
        {
            "iccs_code": rng.choice(["0501", "0502"], len(times), p=[0.9, 0.1]),
            "area_id": rng.choice(["A", "B"], len(times)),
            "month": times.to_period("M").start_time,
            "weekday": times.day_of_week,
            "hour": times.hour,
        }
    )
    return (
        frame.groupby(list(frame.columns), as_index=False).size().rename(columns={"size": "count"})
    )


def test_heat_tables_and_the_monthly_tables_together_give_no_small_count_away():
    sub = _heat_records(4).astype({"count": float})
    fine = sub.groupby(["iccs_code", "area_id", "month"], as_index=False)["count"].sum()
    pattern = protect_source(fine.rename(columns={"month": "period"}), threshold=THRESHOLD)
    index = _fine_index(pattern, sub["iccs_code"], sub["area_id"], sub["month"])
    calendar = sub["month"].dt.month.to_numpy() - 1
    weekday, hour = sub["weekday"].to_numpy(), sub["hour"].to_numpy()
    groups = [calendar, 12 + calendar * 7 + weekday, 96 + weekday * 24 + hour]
    rows = sparse.csr_matrix(
        (np.ones(3 * len(sub)), (np.concatenate(groups), np.tile(np.arange(len(sub)), 3))),
        shape=(264, len(sub)),
    )
    result = protect_linked(pattern, index, sub["count"].to_numpy(), rows, open_slots=True)
    assert result.exposed == [] and result.pattern_exposed == []
    status = np.array(result.status)
    # The attacker does not know in which weekday and hour of a month a code x area's
    # counts fell: its unknowns are every code x area x month x weekday x hour.
    cells = sub[["iccs_code", "area_id", "month"]].drop_duplicates()
    slots = pd.MultiIndex.from_product([range(7), range(24)], names=["weekday", "hour"])
    grid = cells.merge(slots.to_frame(index=False), how="cross")
    grid = grid.merge(sub, how="left", on=list(grid.columns)).fillna({"count": 0.0})
    grid["day"] = grid["month"]  # the pattern tables need a date in the month
    tables = _pattern_tables(grid, pattern)
    heat = pd.DataFrame({"count": np.asarray(rows @ sub["count"].to_numpy()).ravel()})
    key = pd.MultiIndex.from_frame(grid[["month", "weekday", "hour"]])
    calendar_g = key.get_level_values(0).month.to_numpy() - 1
    weekday_g, hour_g = key.get_level_values(1).to_numpy(), key.get_level_values(2).to_numpy()
    for offset, group in ((0, calendar_g), (12, calendar_g * 7 + weekday_g),
                          (96, weekday_g * 24 + hour_g)):  # fmt: skip
        size = {0: 12, 12: 84, 96: 168}[offset]
        part = heat.iloc[offset : offset + size].reset_index(drop=True)
        tables.append((part, np.asarray(group), status[offset : offset + size]))
    small = (heat["count"] > 0) & (heat["count"] < THRESHOLD)
    assert small.any() and (status[small.to_numpy()] == "primary").all()
    ranges = attack(grid["count"].to_numpy(), tables, limit=40, seed=1)
    assert ranges
    for low, high in ranges:
        assert high - low >= THRESHOLD - 1e-6, (low, high)


def test_vancouver_weeks_of_march_with_the_monthly_tables(stats_settings):
    from crimeprev.indicators.counts import CountQuery, count_incidents
    from crimeprev.indicators.source_protection import counts_status, source_pattern
    from crimeprev.store import open_warehouse

    warehouse = open_warehouse(stats_settings.warehouse_url)
    try:
        query = CountQuery(
            source="vancouver_2020", level=1, period="week",
            start=date(2020, 3, 1), end=date(2020, 4, 1),
        )  # fmt: skip
        weekly = count_incidents(warehouse, query)
        cache = stats_settings.data_dir / "disclosure"
        status = counts_status(warehouse, query, weekly, threshold=THRESHOLD, cache_dir=cache)
        pattern = source_pattern(warehouse, "vancouver_2020", threshold=THRESHOLD, cache_dir=cache)
        daily = count_incidents(
            warehouse, CountQuery(source="vancouver_2020", period="day", by_area=True)
        )
    finally:
        warehouse.close()
    small = ((weekly["count"] > 0) & (weekly["count"] < THRESHOLD)).to_numpy()
    assert small.any() and (status[small] == "primary").all()
    # The attacker: March by code x area x day; the other months by code x area (the
    # pattern's fine cells), known where the pattern publishes them.
    daily = daily.rename(columns={"period": "day"})
    daily["day"] = pd.to_datetime(daily["day"])
    march = daily["day"].dt.month == 3
    others = daily[~march].copy()
    others["day"] = others["day"].dt.to_period("M").dt.start_time
    others = others.groupby(["iccs_code", "area_id", "day"], dropna=False, as_index=False)[
        "count"
    ].sum()
    unknowns = pd.concat([daily[march], others], ignore_index=True)
    unknowns = unknowns[["iccs_code", "area_id", "day", "count"]]
    unknowns["iccs_code"] = unknowns["iccs_code"].fillna("_U")
    unknowns["area_id"] = unknowns["area_id"].fillna("_Z")
    tables = []
    for level, period, by_area in PATTERN_TABLES:
        table, row_of = _table(unknowns, level, period, by_area)
        frame = table.replace({"iccs_code": {"_U": None}, "area_id": {"_Z": None}})
        marks = pattern.frame_status(frame, level=level, period=period, by_area=by_area)
        tables.append((table, row_of, marks.to_numpy()))
    in_march = np.flatnonzero((unknowns["day"].dt.month == 3).to_numpy())
    table, march_rows = _table(unknowns.iloc[in_march], 1, "week", False)
    row_of = np.full(len(unknowns), -1)
    row_of[in_march] = march_rows
    published = weekly.assign(
        iccs_code=weekly["iccs_code"].fillna("_U"),
        period=pd.to_datetime(weekly["period"]),
        mark=status.to_numpy(),
    )
    merged = table.merge(published, on=["iccs_code", "period"], how="left")
    assert merged["mark"].notna().all()
    assert np.allclose(merged["count_x"], merged["count_y"])  # the same table
    tables.append((table, row_of, merged["mark"].fillna("").to_numpy()))
    ranges = attack(unknowns["count"].to_numpy(), tables, limit=15, seed=2)
    assert len(ranges) == 15
    for low, high in ranges:
        assert high - low >= THRESHOLD - 1e-6, (low, high)


LINKED_PROFILE = """
name = "test_linked"
title = "Synthetic records for the linked tables"
kind = "incident"
format = "csv"
earliest = "2015-01-01"

[occurred]
column = "date"
format = "%Y-%m-%d %H:%M"
precision = "minute"

[offence]
code = "iccs"
iccs = "iccs"

[area]
set = "test_regions"
column = "region"
match = "id"
"""


def _linked_records() -> pd.DataFrame:
    """600 burglaries (0501) in 2020, six homicides, and 0502 in B in March: 2 + 1 + 1 + 1."""
    rng = np.random.default_rng(11)
    minutes = rng.integers(0, 366 * 24 * 60, size=600)
    when = pd.Timestamp("2020-01-01") + pd.to_timedelta(minutes, unit="min")
    bulk = pd.DataFrame(
        {"date": when.strftime("%Y-%m-%d %H:%M"), "iccs": "0501",
         "region": rng.choice(["A", "B"], size=600)}
    )  # fmt: skip
    rare = pd.DataFrame(
        {"date": ["2020-02-03 10:00", "2020-04-14 11:00", "2020-06-20 12:00",
                  "2020-08-09 13:00", "2020-10-01 14:00", "2020-12-05 15:00",
                  "2020-03-03 09:00", "2020-03-03 21:00", "2020-03-05 10:00",
                  "2020-03-08 10:00", "2020-03-12 10:00"],
         "iccs": ["0101"] * 6 + ["0502"] * 5, "region": ["A"] * 6 + ["B"] * 5}
    )  # fmt: skip
    return pd.concat([bulk, rare], ignore_index=True)


@pytest.fixture(scope="module")
def linked_client(tmp_path_factory):
    records = _linked_records()
    root = tmp_path_factory.mktemp("linked")
    files = {"d.csv": records}
    with synthetic_source(root, "test_linked", LINKED_PROFILE, files, threshold=THRESHOLD) as made:
        settings, (result,) = made
        assert result.rows_accepted == 611
        with web_client(settings) as client:
            yield client, records


def test_weekly_json_and_download_are_protected_with_the_monthly_tables(linked_client):
    client, records = linked_client
    params = {"period": "week", "level": 1, "by_area": False}
    data = client.get("/api/stats/test_linked/counts", params=params).json()
    rows = pd.DataFrame(data["counts"])
    when = pd.to_datetime(records["date"])
    week = (when - pd.to_timedelta(when.dt.day_of_week, unit="D")).dt.normalize()
    expected = records.assign(week=week, code=records["iccs"].str[:2]).groupby(["code", "week"])
    expected = expected.size().astype(float)
    rows["period"] = pd.to_datetime(rows["period"])
    truth = expected.loc[list(zip(rows["iccs_code"], rows["period"], strict=True))].to_numpy()
    hidden = rows["count"].isna().to_numpy()
    assert (truth[(truth > 0) & (truth < THRESHOLD)] > 0).all()
    assert hidden[(truth > 0) & (truth < THRESHOLD)].all()  # the homicides' weeks
    assert np.array_equal(rows["count"].to_numpy()[~hidden], truth[~hidden])
    assert set(rows["suppression"][hidden]) == {"suppressed"}
    assert set(rows["suppression"][~hidden]) <= {""}
    # Weeks follow the daily table of the same selection: a week with a hidden day is hidden.
    days = client.get("/api/stats/test_linked/counts", params={**params, "period": "day"}).json()
    days = pd.DataFrame(days["counts"])
    day = pd.to_datetime(days["period"])
    days["week"] = day - pd.to_timedelta(day.dt.day_of_week, unit="D")
    with_hidden_day = days[days["count"].isna()].groupby(["iccs_code", "week"]).size()
    hidden_weeks = set(zip(rows["iccs_code"][hidden], rows["period"][hidden], strict=True))
    assert set(with_hidden_day.index) == hidden_weeks
    # The download marks the same cells.
    csv = client.get("/api/stats/test_linked/export", params={**params, "format": "csv"})
    assert csv.status_code == 200
    table = pd.read_csv(__import__("io").StringIO(csv.text))
    assert table["count"].isna().sum() == hidden.sum()


def test_a_day_table_the_monthly_tables_pin_down_is_refused(linked_client):
    client, _ = linked_client
    answer = client.get("/api/stats/test_linked/counts", params={"period": "day", "by_area": True})
    # Single days the published months pin down (e.g. 0502 in B, March: 2 + 1 + 1 + 1 on
    # four listed days, and the published 5), however the day table is hidden.
    assert answer.status_code == 422
    message = answer.json()["error"]["message"]
    assert "it is not published" in message and "coarser" in message


def test_seasonal_page_and_json_with_the_monthly_tables(linked_client):
    client, _ = linked_client
    data = client.get("/api/stats/test_linked/seasonal").json()
    marks = np.array(data["weekday_hour_suppression"])
    shown = np.array([[v is not None for v in row] for row in data["weekday_hour"]])
    assert ((marks == "") == shown).all()
    page = client.get("/stats/test_linked")
    assert page.status_code == 200
    assert "protected together, and with the source's monthly counts" in page.text


def test_a_table_out_of_programmes_reports_it_gave_up():
    sub = _heat_records(4).astype({"count": float})
    fine = sub.groupby(["iccs_code", "area_id", "month"], as_index=False)["count"].sum()
    pattern = protect_source(fine.rename(columns={"month": "period"}), threshold=THRESHOLD)
    index = _fine_index(pattern, sub["iccs_code"], sub["area_id"], sub["month"])
    calendar = sub["month"].dt.month.to_numpy() - 1
    slots = [calendar * 7 + sub["weekday"].to_numpy(), 84 + sub["weekday"] * 24 + sub["hour"]]
    rows = sparse.csr_matrix(
        (np.ones(2 * len(sub)), (np.concatenate(slots), np.tile(np.arange(len(sub)), 2))),
        shape=(252, len(sub)),
    )
    args = (pattern, index, sub["count"].to_numpy(), rows)
    assert not protect_linked(*args, open_slots=True).gave_up
    # Small heat cells need programmes: with none allowed they are left unproven.
    result = protect_linked(*args, open_slots=True, max_programmes=0)
    assert result.gave_up and result.exposed
    # So with no time left: a request gets a refusal instead of waiting for minutes.
    late = protect_linked(*args, open_slots=True, max_seconds=0.0)
    assert late.gave_up and late.exposed
