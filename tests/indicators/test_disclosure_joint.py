"""One disclosure pattern per source: no hidden cell can be recovered by comparing outputs.

The attacker here is written from scratch in the test. It reads the tables a
source publishes (the fine export by code as coded x area x month, exports
at other ICCS levels and periods, with and without areas, the profile
page's table), takes the hidden rows of the fine export as unknowns (each
at least 1, since only non-zero cells are listed), writes every published
number of every table as the sum of the fine rows it covers, and finds with
``scipy.optimize.linprog`` the smallest and largest value of each hidden
small count of any table. Nothing of crimeprev's cell building is reused:
the roll-up rule (a code longer than the level's width is cut to it, a
shorter one kept) and the period truncation are the ones the exports
document.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy.optimize import linprog
from typer.testing import CliRunner

from crimeprev.cli.main import app as cli
from crimeprev.indicators.source_protection import protect_source

THRESHOLD = 5
WIDTHS = {1: 2, 2: 4, 3: 5, 4: 6}
FREQ = {"month": "MS", "quarter": "QS", "year": "YS"}


def _table_keys(fine: pd.DataFrame, level: int | None, period: str | None, by_area: bool):
    """Each fine row's key in a table at `level` x `period` (x area)."""
    codes = fine["iccs_code"].astype(object)
    if level is not None:
        width = WIDTHS[level]
        codes = codes.map(lambda c: c if pd.isna(c) or len(c) <= width else c[:width])
    keys = pd.DataFrame({"iccs_code": codes.fillna("<none>")})
    if by_area:
        keys["area_id"] = fine["area_id"].astype(object).fillna("<none>")
    if period is not None:
        start = pd.to_datetime(fine["period"])
        keys["period"] = start.dt.to_period(FREQ[period][0]).dt.start_time
    return keys


def published_equations(fine: pd.DataFrame, tables):
    """The rows of every table as (mask over fine rows, value or NaN, status)."""
    out = []
    for table, level, period, by_area in tables:
        keys = _table_keys(fine, level, period, by_area)
        columns = list(keys.columns)
        rows = table.copy()
        rows["iccs_code"] = rows["iccs_code"].astype(object).fillna("<none>")
        if by_area:
            rows["area_id"] = rows["area_id"].astype(object).fillna("<none>")
        if period is not None:
            rows["period"] = pd.to_datetime(rows["period"])
        index = keys.reset_index().merge(rows[columns].reset_index(), on=columns, how="left")
        assert index["index_y"].notna().all(), "a fine row is in no row of a table"
        for row, group in index.groupby("index_y"):
            mask = np.zeros(len(fine), bool)
            mask[group["index_x"].to_numpy()] = True
            out.append((mask, table.loc[int(row), "count"], table.loc[int(row), "suppression"]))
    return out


def attack(fine: pd.DataFrame, tables, *, limit: int | None = None, seed: int = 0):
    """Feasible (min, max) of hidden small counts of every table, given all published numbers."""
    hidden = fine["count"].isna().to_numpy()
    known = fine["count"].fillna(0).to_numpy(dtype=float)
    unknown = np.flatnonzero(hidden)
    equations = published_equations(fine, tables)
    a_rows, b = [], []
    for mask, value, _ in equations:
        if pd.notna(value) and mask[unknown].any():
            a_rows.append(mask[unknown].astype(float))
            b.append(float(value) - known[mask].sum())
        elif pd.notna(value):
            assert abs(known[mask].sum() - float(value)) < 1e-9  # the tables add up
    a_eq = np.array(a_rows) if a_rows else None
    b_eq = np.array(b) if b else None
    targets = {}
    for mask, _, status in equations:
        if status == "primary":
            targets.setdefault(mask.tobytes(), mask)
    chosen = list(targets.values())
    if limit is not None and len(chosen) > limit:
        picks = np.random.default_rng(seed).choice(len(chosen), size=limit, replace=False)
        chosen = [chosen[i] for i in sorted(picks)]
    ranges = []
    for mask in chosen:
        assert not (mask & ~hidden).any(), "a small count's fine rows are published"
        objective = mask[unknown].astype(float)
        low = linprog(objective, A_eq=a_eq, b_eq=b_eq, bounds=(1, None), method="highs")
        high = linprog(-objective, A_eq=a_eq, b_eq=b_eq, bounds=(1, None), method="highs")
        assert low.status == 0
        ranges.append((low.fun, np.inf if high.status == 3 else -high.fun))
    return ranges


def tables_from_pattern(fine: pd.DataFrame, pattern, settings_list):
    """Each table of `settings_list`, summed from the fine rows with pandas, marked by `pattern`."""
    tables = []
    for level, period, by_area in settings_list:
        keys = _table_keys(fine, level, period, by_area)
        keys["count"] = fine["count"].to_numpy()
        table = keys.groupby(list(keys.columns[:-1]), as_index=False)["count"].sum()
        table["iccs_code"] = table["iccs_code"].replace("<none>", None)
        if by_area:
            table["area_id"] = table["area_id"].replace("<none>", None)
        status = pattern.frame_status(table, level=level, period=period, by_area=by_area)
        table["suppression"] = status.to_numpy()
        table["count"] = table["count"].astype(float).where(status == "")
        tables.append((table, level, period, by_area))
    return tables


ALL_SETTINGS = [
    (level, period, by_area)
    for level in (None, 1, 2, 3)
    for period in ("month", "quarter", "year", None)
    for by_area in (True, False)
]


@st.composite
def fine_tables(draw):
    codes = ["0101", "0501", "050211", "050222", "0502", "02"]
    months = ["2020-01-01", "2020-02-01", "2020-04-01", "2021-01-01"]
    areas = ["A", "B", "C"][: draw(st.integers(2, 3))]
    rows = [(c, a, m) for c in codes for a in areas for m in months]
    counts = draw(
        st.lists(
            st.one_of(st.just(0), st.integers(1, 4), st.integers(5, 40)),
            min_size=len(rows),
            max_size=len(rows),
        )
    )
    frame = pd.DataFrame(rows, columns=["iccs_code", "area_id", "period"])
    frame["count"] = np.array(counts, dtype=float)
    return frame[frame["count"] > 0].reset_index(drop=True)


@settings(
    max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow], derandomize=True
)
@given(fine_tables())
def test_no_small_count_of_any_table_is_recoverable_from_all_tables_together(fine):
    pattern = protect_source(fine, threshold=THRESHOLD)
    tables = tables_from_pattern(fine, pattern, ALL_SETTINGS)
    fine_view = tables[0][0]  # code as coded x month x area: the unknowns
    for table, *_ in tables:
        published = table["suppression"] == ""
        small = (table["count"] > 0) & (table["count"] < THRESHOLD)
        assert not (published & small).any()
    order = fine_view.set_index(["iccs_code", "area_id", "period"])
    merged = fine.assign(period=pd.to_datetime(fine["period"])).join(
        order[["suppression"]], on=["iccs_code", "area_id", "period"]
    )
    attacker_fine = fine.assign(
        count=fine["count"].where(merged["suppression"].to_numpy() == ""),
        period=pd.to_datetime(fine["period"]),
    )
    for low, high in attack(attacker_fine, tables):
        assert high - low >= THRESHOLD - 1e-6, (low, high)


def test_a_primary_pattern_alone_is_caught_by_the_attacker():
    # Hiding only the small count: the yearly table gives it back.
    fine = pd.DataFrame(
        {"iccs_code": ["0501", "0501"], "area_id": ["A", "A"],
         "period": pd.to_datetime(["2020-01-01", "2020-02-01"]), "count": [3.0, 9.0]}
    )  # fmt: skip
    monthly = fine.assign(count=[np.nan, 9.0], suppression=["primary", ""])
    yearly = pd.DataFrame(
        {"iccs_code": ["0501"], "area_id": ["A"], "period": pd.to_datetime(["2020-01-01"]),
         "count": [12.0], "suppression": [""]}
    )  # fmt: skip
    tables = [(monthly, None, "month", True), (yearly, None, "year", True)]
    ((low, high),) = attack(fine.assign(count=[np.nan, 9.0]), tables)
    assert low == high == 3.0


def test_the_pattern_gives_the_same_cell_the_same_mark_in_every_table():
    fine = pd.DataFrame(
        {"iccs_code": ["0501", "0502", "0501", "0502"] * 2, "area_id": ["A", "A", "B", "B"] * 2,
         "period": ["2020-01-01"] * 4 + ["2020-02-01"] * 4,
         "count": [3.0, 9.0, 7.0, 20.0, 12.0, 8.0, 30.0, 6.0]}
    )  # fmt: skip
    pattern = protect_source(fine, threshold=THRESHOLD)
    level2, level1 = tables_from_pattern(fine, pattern, [(2, "year", False), (1, "year", False)])
    # Section 05 in all areas and 2020 is one cell at level 1; its parts at level 2.
    assert level1[0].loc[0, "suppression"] == ""
    assert level1[0].loc[0, "count"] == 95.0
    monthly = tables_from_pattern(fine, pattern, [(None, "month", True)])[0][0]
    assert monthly.loc[monthly["count"].isna(), "suppression"].tolist()[0] == "primary"


@pytest.fixture
def vancouver_outputs(stats_settings, stats_client, tmp_path, monkeypatch):
    """The CLI exports at two ICCS levels and two periods (detailed marks), and the profile JSON."""
    monkeypatch.setenv("CRIMEPREV_DATA_DIR", str(stats_settings.data_dir))
    runner = CliRunner()
    tables = {}
    for level, period, by_area in [
        (None, "month", True),
        (None, "year", True),
        (1, "month", False),
        (1, "year", True),
        (2, "year", False),
    ]:
        read = {}
        for detail in ([], ["--detailed-marks"]):
            path = tmp_path / f"{level}_{period}_{by_area}{'_'.join(detail)}.csv"
            args = ["stats", "export", "vancouver_2020", "--output", str(path), "--period", period]
            args += ["--level", str(level)] if level else []
            args += [] if by_area else ["--no-by-area"]
            result = runner.invoke(cli, args + detail)
            assert result.exit_code == 0, result.output
            table = pd.read_csv(path, dtype={"iccs_code": str, "area_id": str})
            table["suppression"] = table["suppression"].fillna("")
            read[bool(detail)] = table
        # The published file gives every hidden cell one mark; the detailed one (not
        # for publication) says which are small: the test picks its targets from it.
        public, detailed = read[False], read[True]
        assert set(public["suppression"]) <= {"", "suppressed"}
        assert public.drop(columns="suppression").equals(detailed.drop(columns="suppression"))
        assert ((public["suppression"] != "") == (detailed["suppression"] != "")).all()
        tables[(level, period, by_area)] = detailed
    profile = stats_client.get("/api/stats/vancouver_2020", params={"level": 2}).json()
    return tables, profile


def test_vancouver_exports_and_profile_agree_and_resist_the_attacker(vancouver_outputs):
    tables, profile = vancouver_outputs
    yearly_level2 = tables[(2, "year", False)]
    # The profile page's table is the level-2 yearly table: same numbers, same cells hidden.
    for row in profile["by_category"]:
        code = None if row["iccs_code"] == "(not mapped)" else row["iccs_code"]
        match = yearly_level2[yearly_level2["iccs_code"].fillna("(none)") == (code or "(none)")]
        assert len(match) == 1
        shown = row["counts"]["2020"]
        value = match["count"].iloc[0]
        assert (shown is None) == pd.isna(value)
        if shown is not None:
            assert shown == value
    fine = tables[(None, "month", True)]
    assert (fine["suppression"] == "primary").sum() > 100
    profile_table = pd.DataFrame(
        {"iccs_code": [r["iccs_code"] for r in profile["by_category"]],
         "period": "2020-01-01",
         "count": [r["counts"]["2020"] for r in profile["by_category"]],
         "suppression": ["hidden" if r["counts"]["2020"] is None else ""
                         for r in profile["by_category"]]}
    )  # fmt: skip
    all_tables = [
        (table, level, period, by_area) for (level, period, by_area), table in tables.items()
    ]
    all_tables.append((profile_table, 2, "year", False))
    attacker_fine = fine.assign(period=pd.to_datetime(fine["period"]))
    for table, *_ in all_tables:
        small = (table["count"] > 0) & (table["count"] < THRESHOLD)
        assert not small.any()
    # Every small count of every table would take one pair of programmes each
    # (about a thousand); a fixed random sample of 40 keeps the test short.
    ranges = attack(attacker_fine, all_tables, limit=40, seed=3)
    assert len(ranges) == 40
    for low, high in ranges:
        assert high - low >= THRESHOLD - 1e-6, (low, high)
    json.dumps(profile, allow_nan=False)  # the JSON twin stays valid JSON (no NaN)


def test_a_stored_pattern_is_read_back_for_the_same_cells_only(tmp_path, monkeypatch):
    from crimeprev.indicators import source_protection

    fine = pd.DataFrame(
        {"iccs_code": ["0501", "0502", "0501", "0502"], "area_id": ["A", "A", "B", "B"],
         "period": ["2020-01-01"] * 4, "count": [3.0, 9.0, 7.0, 20.0]}
    )  # fmt: skip
    stored = tmp_path / "pattern.npz"
    made = protect_source(fine, threshold=THRESHOLD, stored=stored)
    assert stored.exists()

    def refuse(*args, **kwargs):
        raise AssertionError("the stored pattern should have been used")

    monkeypatch.setattr(source_protection, "protect_cells", refuse)
    again = protect_source(fine, threshold=THRESHOLD, stored=stored)
    assert np.array_equal(again.protection.hidden, made.protection.hidden)
    # Other counts: the stored pattern does not fit and is not used.
    with pytest.raises(AssertionError, match="stored pattern"):
        protect_source(fine.assign(count=[3.0, 9.0, 7.0, 21.0]), threshold=THRESHOLD, stored=stored)
