"""One mark for every hidden cell: the marks give a reader nothing the audit did not assume.

The attacker is written here from scratch and *uses the marks*. It reads
published tables (the files themselves: CSV's ``suppression`` column,
SDMX's ``CONF_STATUS``), takes the hidden rows of the finest table (ICCS
code as coded x area x month) as unknowns, writes every published number as
the sum of the fine rows it covers, and turns every hidden row's mark into
bounds on that sum, as a reader would:

* ``suppressed`` (SDMX ``C``): hidden, and listed, so not empty: at least 1;
* ``primary`` (SDMX ``A``): a small count, from 1 to threshold - 1;
* ``secondary`` (SDMX ``D``): hidden but not small, so at least the threshold.

``scipy.optimize.linprog`` then finds the smallest and largest value of
each hidden small count. With the reasons in the file (the old marks, now
only in ``--detailed-marks`` files that must not be published) the ranges
shrink below the threshold, and the test shows it; with one mark the
reader's constraints are the audit's ("a hidden cell is at least 1") and
every range stays at least the threshold, on random tables and on the
Vancouver 2020 exports.
"""

from __future__ import annotations

import io

import numpy as np
import pandas as pd
import pytest
from scipy.optimize import linprog
from typer.testing import CliRunner

from crimeprev.cli.main import app as cli
from crimeprev.indicators.disclosure import public_json, public_marks
from crimeprev.indicators.export import export_counts, read_sdmx
from crimeprev.indicators.sdmx import read_sdmx_ml, to_sdmx_frame, write_sdmx_ml
from crimeprev.indicators.source_protection import protect_source

THRESHOLD = 5
#: Characters of an ICCS code at each level (the ICCS numbering).
WIDTHS = {1: 2, 2: 4, 3: 5, 4: 6}
#: What a reader learns about a hidden cell from its mark: (lowest, highest).
READS = {
    "suppressed": (1.0, np.inf),
    "C": (1.0, np.inf),
    "primary": (1.0, THRESHOLD - 1.0),
    "A": (1.0, THRESHOLD - 1.0),
    "secondary": (float(THRESHOLD), np.inf),
    "D": (float(THRESHOLD), np.inf),
}


def rolled_up(fine: pd.DataFrame, level: int | None, period: str | None, by_area: bool):
    """Each fine row's row key in a table at `level` x `period` (x area)."""
    codes = fine["iccs_code"].astype(object)
    if level is not None:
        codes = codes.map(lambda c: c if pd.isna(c) else c[: WIDTHS[level]])
    keys = pd.DataFrame({"iccs_code": codes.fillna("?")})
    if by_area:
        keys["area_id"] = fine["area_id"].astype(object).fillna("?")
    if period is not None:
        keys["period"] = pd.to_datetime(fine["period"]).dt.to_period(period[0].upper())
        keys["period"] = keys["period"].dt.start_time
    return keys


def reader_ranges(fine: pd.DataFrame, tables, truth: np.ndarray, *, limit=None, seed=0):
    """Feasible (lowest, highest) of each hidden small count, for a reader who uses the marks.

    `fine` lists the fine rows (``count`` NaN where hidden); `tables` are
    ``(frame, level, period, by_area)`` with ``count`` (NaN where hidden)
    and ``mark``; `truth` is the true count of each fine row (the test's
    knowledge, used only to pick the small hidden counts as targets).
    """
    hidden = fine["count"].isna().to_numpy()
    unknown = np.flatnonzero(hidden)
    known = fine["count"].fillna(0).to_numpy(dtype=float)
    a_eq, b_eq, a_ub, b_ub, targets = [], [], [], [], {}
    for table, level, period, by_area in tables:
        keys = rolled_up(fine, level, period, by_area)
        rows = table.copy()
        rows["iccs_code"] = rows["iccs_code"].astype(object).fillna("?")
        if by_area:
            rows["area_id"] = rows["area_id"].astype(object).fillna("?")
        if period is not None:
            rows["period"] = pd.to_datetime(rows["period"])
        columns = list(keys.columns)
        joined = keys.reset_index().merge(rows[columns].reset_index(), on=columns, how="left")
        assert joined["index_y"].notna().all(), "a fine row is in no row of a table"
        for row, group in joined.groupby("index_y"):
            mask = np.zeros(len(fine), dtype=bool)
            mask[group["index_x"].to_numpy()] = True
            value, mark = table["count"].iloc[int(row)], table["mark"].iloc[int(row)]
            part, rest = mask[unknown].astype(float), known[mask].sum()
            if pd.notna(value):
                assert mark == "", (mark, value)
                a_eq.append(part)
                b_eq.append(float(value) - rest)
                continue
            low, high = READS[mark]
            a_ub.append(-part)
            b_ub.append(rest - low)
            if np.isfinite(high):
                a_ub.append(part)
                b_ub.append(high - rest)
            if 0 < truth[mask].sum() < THRESHOLD:
                targets.setdefault(mask.tobytes(), part)
    chosen = list(targets.values())
    if limit is not None and len(chosen) > limit:
        picks = np.random.default_rng(seed).choice(len(chosen), size=limit, replace=False)
        chosen = [chosen[i] for i in sorted(picks)]
    system = {
        "A_eq": np.array(a_eq) if a_eq else None,
        "b_eq": np.array(b_eq) if b_eq else None,
        "A_ub": np.array(a_ub) if a_ub else None,
        "b_ub": np.array(b_ub) if b_ub else None,
        "bounds": (0, None),  # each hidden fine row's own mark bounds it (at least 1 if listed)
        "method": "highs",
    }
    ranges = []
    for objective in chosen:
        low = linprog(objective, **system)
        high = linprog(-objective, **system)
        assert low.status == 0, low.message
        ranges.append((low.fun, np.inf if high.status == 3 else -high.fun))
    return ranges


def random_fine(seed: int) -> pd.DataFrame:
    """A fine table of random counts, one in five of them small, over three ICCS sections."""
    rng = np.random.default_rng(seed)
    codes = ["0101", "0501", "050211", "050222", "0502", "02"]
    areas = ["A", "B", "C", "D"]
    months = pd.to_datetime(["2020-01-01", "2020-02-01", "2020-05-01", "2021-03-01"])
    index = pd.MultiIndex.from_product(
        [codes, areas, months], names=["iccs_code", "area_id", "period"]
    )
    fine = index.to_frame(index=False)
    draws = rng.choice(3, size=len(fine), p=[0.25, 0.2, 0.55])
    fine["count"] = np.where(
        draws == 0,
        0,
        np.where(draws == 1, rng.integers(1, THRESHOLD, len(fine)), rng.integers(5, 60, len(fine))),
    ).astype(float)
    return fine[fine["count"] > 0].reset_index(drop=True)


SETTINGS = [
    (None, "month", True),
    (None, "year", True),
    (None, "year", False),
    (1, "month", False),
    (1, "quarter", True),
    (2, "year", False),
    (1, None, True),
]


def published_files(fine: pd.DataFrame, *, detailed: bool):
    """Each table of SETTINGS as its exported CSV (the source's one pattern), read back."""
    pattern = protect_source(fine, threshold=THRESHOLD)
    tables = []
    for level, period, by_area in SETTINGS:
        keys = rolled_up(fine, level, period, by_area)
        keys["count"] = fine["count"].to_numpy()
        table = keys.groupby(list(keys.columns[:-1]), as_index=False)["count"].sum()
        table["iccs_code"] = table["iccs_code"].replace("?", None)
        if by_area:
            table["area_id"] = table["area_id"].replace("?", None)
        status = pattern.frame_status(table, level=level, period=period, by_area=by_area)
        data = export_counts(
            table, "csv", threshold=THRESHOLD, status=status, detailed_marks=detailed
        )
        back = pd.read_csv(
            io.BytesIO(data), dtype={"iccs_code": str, "area_id": str, "suppression": str}
        )
        back["mark"] = back["suppression"].fillna("")
        tables.append((back, level, period, by_area))
    finest = tables[0][0]
    attacker_fine = finest.assign(period=pd.to_datetime(finest["period"]))
    truth = fine.set_index(["iccs_code", "area_id", "period"])["count"]
    order = pd.MultiIndex.from_frame(attacker_fine[["iccs_code", "area_id", "period"]])
    return attacker_fine, tables, truth.reindex(order).to_numpy(dtype=float)


def test_public_marks_name_every_hidden_cell_alike_and_keep_shown_ones():
    assert public_marks("primary") == public_marks("secondary") == "suppressed"
    assert public_marks("") == ""
    assert public_marks(public_marks("primary")) == "suppressed"  # applying twice changes nothing
    assert public_marks(pd.Series(["", "primary", None])).tolist() == ["", "suppressed", ""]
    assert public_marks([["primary", ""], ["secondary"]]) == [["suppressed", ""], ["suppressed"]]
    document = {
        "rows": [{"count": None, "suppression": "secondary", "note": "primary"}],
        "suppression": {"gini": "primary"},
        "heat_suppression": [["", "primary"]],
    }
    assert public_json(document) == {
        "rows": [{"count": None, "suppression": "suppressed", "note": "primary"}],
        "suppression": {"gini": "suppressed"},
        "heat_suppression": [["", "suppressed"]],
    }


def test_the_old_marks_let_the_reader_narrow_a_small_count_below_the_threshold():
    """Reasons in the file: each small count is read as 1-4, complements as 5 or more."""
    narrowed = []
    for seed in range(4):
        fine = random_fine(seed)
        attacker_fine, tables, truth = published_files(fine, detailed=True)
        assert any((table["mark"] == "primary").any() for table, *_ in tables)
        narrowed += [high - low for low, high in reader_ranges(attacker_fine, tables, truth)]
    assert narrowed and max(narrowed) < THRESHOLD
    # More than the mark alone says (1 to 4): some are pinned by the complements' bound.
    assert min(narrowed) < THRESHOLD - 2 - 1e-6


@pytest.mark.parametrize("seed", range(6), ids=[f"seed{s}" for s in range(6)])
def test_with_one_mark_every_small_count_keeps_a_range_of_the_threshold(seed):
    fine = random_fine(seed)
    attacker_fine, tables, truth = published_files(fine, detailed=False)
    marks = {mark for table, *_ in tables for mark in table["mark"]}
    assert marks == {"", "suppressed"}  # the reader's only knowledge: hidden, so at least 1
    ranges = reader_ranges(attacker_fine, tables, truth)
    assert ranges
    for low, high in ranges:
        assert high - low >= THRESHOLD - 1e-6, (low, high)


def test_sdmx_writes_c_for_every_hidden_cell_and_reads_it_back():
    counts = pd.DataFrame(
        {"area_id": ["1", "1", "2"], "period": ["2020-01-01"] * 3,
         "iccs_code": ["0501", "0502", "0501"], "count": [3.0, 12.0, 40.0]}
    )  # fmt: skip
    status = ["primary", "secondary", ""]
    frame = to_sdmx_frame(counts, period_kind="year", suppression=status)
    assert frame["CONF_STATUS"].tolist() == ["C", "C", "F"]
    assert frame["OBS_STATUS"].tolist() == ["C", "C", "A"]
    for data in (frame.to_csv(index=False).encode(), write_sdmx_ml(frame)):
        back = read_sdmx(data)
        assert back["CONF_STATUS"].tolist() == ["C", "C", "F"]
        assert back["OBS_VALUE"].isna().tolist() == [True, True, False]
    detailed = to_sdmx_frame(counts, period_kind="year", suppression=status, detailed=True)
    assert read_sdmx_ml(write_sdmx_ml(detailed))["CONF_STATUS"].tolist() == ["A", "D", "F"]


@pytest.fixture(scope="module")
def vancouver_files(stats_settings, tmp_path_factory):
    """The CLI's exports of Vancouver 2020, public and detailed, with the true fine counts."""
    from crimeprev.indicators.counts import CountQuery, count_incidents
    from crimeprev.store import open_warehouse

    folder = tmp_path_factory.mktemp("marks")
    patch = pytest.MonkeyPatch()
    patch.setenv("CRIMEPREV_DATA_DIR", str(stats_settings.data_dir))
    runner = CliRunner()
    files = {}
    try:
        for detail in (False, True):
            tables = []
            for level, period, by_area, file_format in [
                (None, "month", True, "sdmx-csv"),
                (None, "year", True, "csv"),
                (1, "month", False, "csv"),
                (2, "year", False, "sdmx-csv"),
                (1, "quarter", True, "csv"),
            ]:
                path = folder / f"{level}_{period}_{by_area}_{detail}.csv"
                args = ["stats", "export", "vancouver_2020", "--output", str(path)]
                args += ["--period", period, "--format", file_format]
                args += ["--level", str(level)] if level else []
                args += [] if by_area else ["--no-by-area"]
                args += ["--detailed-marks"] if detail else []
                result = runner.invoke(cli, args)
                assert result.exit_code == 0, result.output
                tables.append((_read_table(path, file_format), level, period, by_area))
            files[detail] = tables
    finally:
        patch.undo()
    warehouse = open_warehouse(stats_settings.warehouse_url)
    try:
        truth = count_incidents(
            warehouse, CountQuery(source="vancouver_2020", level=None, period="month", by_area=True)
        )
    finally:
        warehouse.close()
    return files, truth


def _read_table(path, file_format):
    """An export read back as iccs_code, area_id, period, count and the mark it gives."""
    if file_format == "csv":
        table = pd.read_csv(path, dtype={"iccs_code": str, "area_id": str, "suppression": str})
        return table.assign(mark=table["suppression"].fillna(""))
    sdmx = read_sdmx(path.read_bytes(), file=str(path))
    periods = sdmx["TIME_PERIOD"].where(sdmx["FREQ"] != "M", sdmx["TIME_PERIOD"] + "-01")
    return pd.DataFrame(
        {
            "iccs_code": sdmx["ICCS"].replace("_U", None),
            "area_id": sdmx["REF_AREA"].replace({"_Z": None, "_T": None}),
            "period": pd.to_datetime(periods),
            "count": sdmx["OBS_VALUE"],
            "mark": sdmx["CONF_STATUS"].replace("F", ""),
        }
    )


def _attacker_inputs(tables, truth):
    fine = tables[0][0]
    attacker_fine = fine[["iccs_code", "area_id", "period", "count"]]
    keyed = truth.assign(
        iccs_code=truth["iccs_code"].astype(object).fillna("?"),
        area_id=truth["area_id"].astype(object).fillna("?"),
        period=pd.to_datetime(truth["period"]),
    )
    lookup = keyed.set_index(["iccs_code", "area_id", "period"])["count"]
    order = pd.MultiIndex.from_arrays(
        [
            attacker_fine["iccs_code"].fillna("?"),
            attacker_fine["area_id"].fillna("?"),
            attacker_fine["period"],
        ]
    )
    true = lookup.reindex(order).to_numpy(dtype=float)
    assert not np.isnan(true).any() and len(true) == len(truth)
    shown = attacker_fine["count"].notna().to_numpy()
    assert np.array_equal(attacker_fine["count"].to_numpy()[shown], true[shown])
    return attacker_fine, true


def test_vancouver_public_exports_give_one_mark_and_leave_small_counts_wide(vancouver_files):
    files, truth = vancouver_files
    tables = files[False]
    for table, *_ in tables:
        assert set(table["mark"]) <= {"", "C"} or set(table["mark"]) <= {"", "suppressed"}
        assert (table["mark"] != "").equals(table["count"].isna())
    attacker_fine, true = _attacker_inputs(tables, truth)
    # Every small count of every table would take a pair of programmes each; a fixed
    # random sample keeps the test short.
    ranges = reader_ranges(attacker_fine, tables, true, limit=30, seed=7)
    assert len(ranges) == 30
    for low, high in ranges:
        assert high - low >= THRESHOLD - 1e-6, (low, high)


def test_vancouver_detailed_exports_would_narrow_them(vancouver_files):
    files, truth = vancouver_files
    tables = files[True]
    assert {"A", "D"} <= set(tables[0][0]["mark"]) and {"primary", "secondary"} <= set(
        tables[1][0]["mark"]
    )
    attacker_fine, true = _attacker_inputs(tables, truth)
    ranges = reader_ranges(attacker_fine, tables, true, limit=10, seed=7)
    assert ranges and all(high - low < THRESHOLD for low, high in ranges)
