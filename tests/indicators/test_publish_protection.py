"""The remaining public faces protect small counts (issue #3, item 10).

The quality report, the quarantine counts and the import log, and the
concentration of offences over areas: their public page, JSON and
``--public`` CLI versions hide small counts and whatever would give one
back, while the statistician's CLI keeps every figure. Checks are made
against counts worked out in the test from the files (pandas) and against
an attacker written here with ``scipy.optimize.linprog``.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy.optimize import linprog
from typer.testing import CliRunner

from crimeprev.cli.main import app as cli
from crimeprev.store import open_warehouse, profiles
from crimeprev.store.ingest import import_file
from crimeprev.store.profiles import load_profile

from .conftest import synthetic_source, web_client

THRESHOLD = 5
#: The Vancouver profile's aliases of neighbourhood names (the file's names -> the area set's).
ALIASES = {"Central Business District": "Downtown", "Arbutus Ridge": "Arbutus-Ridge"}
VANCOUVER = Path(__file__).parents[2] / "src/crimeprev/data/real/vancouver_crime_2020"

PROFILE = """
name = "test_quarantine"
title = "Synthetic records, some of them bad"
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
"""

#: Bad rows per file and rule broken: (file, rule) -> rows. Two are small counts.
BAD = {
    ("one.csv", "date_too_early"): 3,
    ("one.csv", "iccs_unknown"): 12,
    ("two.csv", "date_too_early"): 8,
    ("two.csv", "iccs_unknown"): 2,
}
GOOD = {"one.csv": 300, "two.csv": 200}


def _file(name: str) -> pd.DataFrame:
    rng = np.random.default_rng(len(name))
    good = pd.DataFrame(
        {
            "date": (
                pd.Timestamp("2020-01-01")
                + pd.to_timedelta(rng.integers(0, 365 * 24 * 60, GOOD[name]), unit="min")
            ).strftime("%Y-%m-%d %H:%M"),
            "iccs": "0501",
        }
    )
    early = pd.DataFrame(
        {"date": ["2010-06-01 10:00"] * BAD[(name, "date_too_early")], "iccs": "0501"}
    )
    unknown = pd.DataFrame({"date": ["2020-06-01 10:00"] * BAD[(name, "iccs_unknown")]})
    unknown["iccs"] = "9999"
    return pd.concat([good, early, unknown], ignore_index=True)


@pytest.fixture
def quarantine_client(tmp_path_factory):
    root = tmp_path_factory.mktemp("publish")
    files = {name: _file(name) for name in GOOD}
    with synthetic_source(root, "test_quarantine", PROFILE, files, threshold=THRESHOLD) as made:
        settings, _ = made
        with web_client(settings) as client:
            yield client, settings


def _ranges(
    published: dict, imports: list[dict], reasons: list[dict], *, known: dict | None = None
) -> dict:
    """Feasible (min, max) of each hidden file x rule count, given every published number.

    Unknowns: the four file x rule counts, each at least 1 (every rule of
    every file is listed somewhere, so none is empty). Published: rows
    accepted (per file and overall), rows read and quarantined per file and
    overall where shown, and the rows per rule.
    """
    cells = list(BAD)
    equations, right = [], []

    def add(mask, value):
        equations.append([1.0 if m else 0.0 for m in mask])
        right.append(float(value))

    for cell, value in (known or {}).items():
        add([c == cell for c in cells], value)
    files = {row["file_name"]: row for row in imports}
    for name, row in files.items():
        if row["rows_quarantined"] is not None:
            add([c[0] == name for c in cells], row["rows_quarantined"])
        if row["rows_read"] is not None:
            add([c[0] == name for c in cells], row["rows_read"] - row["rows_accepted"])
    for reason in reasons:
        if reason["rows"] is not None:
            add([c[1] == reason["rule"] for c in cells], reason["rows"])
    if published["rows_quarantined"] is not None:
        add([True] * len(cells), published["rows_quarantined"])
    if published["rows_read"] is not None:
        add([True] * len(cells), published["rows_read"] - published["rows_accepted"])
    out = {}
    for index, cell in enumerate(cells):
        objective = np.zeros(len(cells))
        objective[index] = 1.0
        low = linprog(objective, A_eq=equations, b_eq=right, bounds=(1, None), method="highs")
        high = linprog(-objective, A_eq=equations, b_eq=right, bounds=(1, None), method="highs")
        assert low.status == 0
        out[cell] = (low.fun, np.inf if high.status == 3 else -high.fun)
    return out


def test_quarantine_counts_are_protected_on_every_public_face(quarantine_client):
    client, _ = quarantine_client
    quality = client.get("/api/stats/test_quarantine/quality").json()
    assert quality["rows_accepted"] == sum(GOOD.values())
    # 25 rows quarantined over both files: published, and so is rows read.
    assert quality["rows_quarantined"] == sum(BAD.values())
    assert quality["rows_read"] == sum(GOOD.values()) + sum(BAD.values())
    reasons = {r["rule"]: r for r in quality["quarantine_reasons"]}
    imports = {r["file_name"]: r for r in quality["imports"]}
    assert set(reasons) == {"date_too_early", "iccs_unknown"}
    # No small count anywhere in what is published.
    shown = [r["rows"] for r in reasons.values()] + [
        r[k] for r in imports.values() for k in ("rows_quarantined",)
    ]
    assert not any(v is not None and 0 < v < THRESHOLD for v in shown)
    ranges = _ranges(quality, quality["imports"], quality["quarantine_reasons"])
    for cell in (("one.csv", "date_too_early"), ("two.csv", "iccs_unknown")):
        low, high = ranges[cell]
        assert low <= BAD[cell] <= high and high - low >= THRESHOLD, (cell, low, high)
    # The profile JSON and the sources list show the same protected numbers.
    profile = client.get("/api/stats/test_quarantine").json()
    assert profile["quarantine_reasons"] == quality["quarantine_reasons"]
    assert profile["imports"] == quality["imports"]
    listed = next(
        s for s in client.get("/api/stats").json()["sources"] if s["name"] == "test_quarantine"
    )
    assert listed["quarantined"] == quality["rows_quarantined"]
    page = client.get("/stats/test_quarantine")
    assert page.status_code == 200 and 'id="quarantine-suppression"' in page.text
    # The raw rows are records: not public.
    assert client.get("/api/stats/test_quarantine/quarantine").status_code == 401


def test_the_attacker_catches_a_primary_only_quarantine_table():
    # Hide only the two small counts and publish the others with every total:
    # the totals by file give both back.
    published = {"rows_quarantined": 25, "rows_read": 525, "rows_accepted": 500}
    imports = [
        {"file_name": f, "rows_read": GOOD[f] + q, "rows_accepted": GOOD[f], "rows_quarantined": q}
        for f, q in (("one.csv", 15), ("two.csv", 10))
    ]
    reasons = [{"rule": "date_too_early", "rows": 11}, {"rule": "iccs_unknown", "rows": 14}]
    known = {("one.csv", "iccs_unknown"): 12, ("two.csv", "date_too_early"): 8}
    ranges = _ranges(published, imports, reasons, known=known)
    assert ranges[("one.csv", "date_too_early")] == pytest.approx((3, 3))
    assert ranges[("two.csv", "iccs_unknown")] == pytest.approx((2, 2))


def test_vancouver_quality_report_public_and_raw(stats_client, stats_settings, monkeypatch):
    records = pd.read_parquet(VANCOUVER / "incidents.parquet")
    # Two offences at 2:xx on 8 March 2020: that local time never existed (quarantined).
    gap = (records["MONTH"] == 3) & (records["DAY"] == 8) & (records["HOUR"] == 2)
    assert int(gap.sum()) == 2
    quality = stats_client.get("/api/stats/vancouver_2020/quality").json()
    assert quality["rows_accepted"] == len(records) - 2
    assert quality["rows_quarantined"] is None and quality["rows_read"] is None
    assert quality["suppression"]["rows_quarantined"] == "suppressed"
    assert quality["quarantine_reasons"][0]["rows"] is None
    # With an area: a share of the published total; its count with no area is published too.
    spread = stats_client.get("/api/stats/vancouver_2020/concentration").json()
    areas = {row["name"] for row in spread["counts"]}
    names = records.loc[~gap, "NEIGHBOURHOOD"].replace(ALIASES)
    # Stanley Park and Musqueam are not local areas of the set: no area, like the blanks.
    no_area = int((~names.isin(areas)).sum())
    assert no_area == 138 and spread["unassigned"] == no_area
    assert quality["area_assigned_share"] == pytest.approx(1 - no_area / (len(records) - 2))
    monkeypatch.setenv("CRIMEPREV_DATA_DIR", str(stats_settings.data_dir))
    runner = CliRunner()
    raw = runner.invoke(cli, ["stats", "quality", "vancouver_2020"])
    assert raw.exit_code == 0 and "quarantined 2" in raw.output
    public = runner.invoke(cli, ["stats", "quality", "vancouver_2020", "--public"])
    assert public.exit_code == 0, public.output
    assert "quarantined -" in public.output and "quarantined 2" not in public.output
    helped = runner.invoke(cli, ["stats", "quality", "--help"])
    assert "--public" in helped.output and "statistician" in " ".join(helped.output.split())


def _gini(values: np.ndarray) -> float:
    """Gini coefficient as the mean absolute difference over twice the mean."""
    values = np.asarray(values, dtype=float)
    differences = np.abs(values[:, None] - values[None, :]).sum()
    return float(differences / (2 * len(values) ** 2 * values.mean()))


def test_concentration_counts_carry_the_pattern_and_the_gini_follows_from_them(stats_client):
    records = pd.read_parquet(VANCOUVER / "incidents.parquet")
    gap = (records["MONTH"] == 3) & (records["DAY"] == 8) & (records["HOUR"] == 2)
    names = records.loc[~gap, "NEIGHBOURHOOD"].replace(ALIASES)
    expected = names.value_counts()
    body = stats_client.get("/api/stats/vancouver_2020/concentration", params={"year": 2020})
    data = body.json()
    by_name = {row["name"]: row for row in data["counts"]}
    assert len(by_name) == data["areas"] == 22
    for name, row in by_name.items():
        assert row["suppression"] == "" and row["count"] == expected.get(name, 0), name
    assert data["total"] == expected[list(by_name)].sum()
    assert data["gini"] == pytest.approx(_gini(np.array([r["count"] for r in data["counts"]])))
    assert data["suppression"] == {}

    # Homicides: small counts per area; hidden, and so are the Gini and the ranking.
    homicide = stats_client.get(
        "/api/stats/vancouver_2020/concentration", params={"year": 2020, "iccs": "0101"}
    ).json()
    assert homicide["gini"] is None and homicide["top_areas"] is None
    assert homicide["suppression"]["gini"] == "suppressed"
    shown = [row["count"] for row in homicide["counts"] if row["count"] is not None]
    assert not any(0 < v < THRESHOLD for v in shown)
    kept = records[~gap & (records["TYPE"] == "Homicide")]
    truth = kept["NEIGHBOURHOOD"].replace(ALIASES).value_counts()
    # One mark for every hidden count: it does not say which are the small ones.
    assert {row["suppression"] for row in homicide["counts"]} == {"", "suppressed"}
    for row in homicide["counts"]:
        if 0 < truth.get(row["name"], 0) < THRESHOLD:
            assert row["suppression"] == "suppressed" and row["count"] is None
    # The same cells in the /counts JSON (level 2, by area and year) have the same status.
    listed = stats_client.get(
        "/api/stats/vancouver_2020/counts",
        params={"level": 2, "by_area": True, "iccs": "0101", "period": "year"},
    ).json()["counts"]
    status = {row["area_id"]: row["suppression"] for row in listed if row["area_id"]}
    for row in homicide["counts"]:
        assert status.get(row["area_id"], "") == row["suppression"], row


def test_concentration_page_says_how_it_is_computed(stats_client):
    page = stats_client.get("/stats/vancouver_2020")
    assert 'id="concentration"' in page.text
    assert "computed from the true counts per area" in page.text
    assert "its figures are not suppressed" not in page.text


def test_cli_public_counts_rates_concentration(stats_settings, monkeypatch):
    monkeypatch.setenv("CRIMEPREV_DATA_DIR", str(stats_settings.data_dir))
    runner = CliRunner()
    out = Path(stats_settings.data_dir) / "public_counts.csv"
    result = runner.invoke(
        cli,
        ["stats", "counts", "vancouver_2020", "--by-area", "--public", "--output", str(out)],
    )
    assert result.exit_code == 0, result.output
    table = pd.read_csv(out, keep_default_na=False, na_values=[""])
    assert "suppression" in table
    small = table["count"].notna() & (table["count"] > 0) & (table["count"] < THRESHOLD)
    assert not small.any() and (table["suppression"] == "suppressed").any()
    assert set(table["suppression"].fillna("")) == {"", "suppressed"}
    raw_out = Path(stats_settings.data_dir) / "raw_counts.csv"
    raw = runner.invoke(
        cli, ["stats", "counts", "vancouver_2020", "--by-area", "--output", str(raw_out)]
    )
    assert raw.exit_code == 0
    raw_table = pd.read_csv(raw_out)
    assert ((raw_table["count"] > 0) & (raw_table["count"] < THRESHOLD)).any()
    assert raw_table["count"].sum() == len(pd.read_parquet(VANCOUVER / "incidents.parquet")) - 2
    trend = runner.invoke(cli, ["stats", "trends", "vancouver_2020", "--iccs", "0101", "--public"])
    assert trend.exit_code == 0, trend.output
    assert "│ 2020 │ -" in trend.output and " 19 " not in trend.output
    raw_trend = runner.invoke(cli, ["stats", "trends", "vancouver_2020", "--iccs", "0101"])
    assert " 19 " in raw_trend.output
    concentration = runner.invoke(
        cli, ["stats", "concentration", "vancouver_2020", "--iccs", "0101", "--public"]
    )
    assert concentration.exit_code == 0, concentration.output
    shown = json.loads(concentration.output)
    assert shown["gini"] is None and shown["suppression"]["gini"] == "suppressed"


def test_every_face_shows_the_same_cell_the_same_way(stats_client):
    """Exports, /counts, the profile JSON, the map and concentration agree cell by cell."""
    import io

    exported = pd.read_csv(
        io.BytesIO(
            stats_client.get(
                "/api/stats/vancouver_2020/export",
                params={"format": "csv", "level": 2, "period": "year", "by_area": False},
            ).content
        ),
        dtype={"iccs_code": str},
        keep_default_na=False,
        na_values=[""],
    )
    listed = stats_client.get(
        "/api/stats/vancouver_2020/counts", params={"level": 2, "period": "year"}
    ).json()["counts"]
    profile = stats_client.get("/api/stats/vancouver_2020", params={"level": 2}).json()
    by_code = {row["iccs_code"]: row for row in profile["by_category"]}
    assert len(exported) == len(listed) == len(by_code)
    for row, twin in zip(exported.to_dict("records"), listed, strict=True):
        assert row["iccs_code"] == twin["iccs_code"]
        assert (row["suppression"] if isinstance(row["suppression"], str) else "") == twin[
            "suppression"
        ]
        shown = None if pd.isna(row["count"]) else row["count"]
        assert shown == twin["count"] == by_code[row["iccs_code"]]["counts"]["2020"]
    # All offences by area in 2020: the map and the concentration JSON.
    features = stats_client.get("/api/stats/vancouver_2020/map", params={"year": 2020}).json()
    spread = stats_client.get(
        "/api/stats/vancouver_2020/concentration", params={"year": 2020}
    ).json()
    areas = {row["area_id"]: row for row in spread["counts"]}
    for feature in features["features"]:
        twin = areas[str(feature["id"])]
        assert feature["properties"]["count"] == twin["count"]
        assert feature["properties"]["suppressed"] == bool(twin["suppression"])


def test_vancouver_yearly_homicide_total_stays_hidden_as_hidden_cells_are_not_empty(
    stats_client,
):
    """Why publishing zeros would not let the 19 homicides' total out (issue #3, item 10).

    From the file: 19 homicides, each alone in its neighbourhood and month.
    Every such cell is hidden (marked suppressed, like every hidden cell) in
    the exports and /counts, and zeros are never hidden, so a reader knows
    it is at least 1 whether or not zeros are listed. A published total of
    19 would then pin each of the 19 to exactly 1: the attacker below shows
    it, so the pattern keeps the total hidden on every face.
    """
    records = pd.read_parquet(VANCOUVER / "incidents.parquet")
    homicides = records[records["TYPE"] == "Homicide"]
    assert len(homicides) == 19
    cells = homicides.groupby([homicides["NEIGHBOURHOOD"].fillna("?"), "MONTH"]).size()
    assert (cells == 1).all() and len(cells) == 19
    fine = stats_client.get(
        "/api/stats/vancouver_2020/counts",
        params={"period": "month", "by_area": True, "iccs": "0101"},
    ).json()["counts"]
    assert len(fine) == 19 and all(r["suppression"] == "suppressed" for r in fine)
    # The attacker: 19 unknowns, each at least 1 (hidden, so not zero), summing to a published 19.
    for index in range(len(fine)):
        objective = np.zeros(len(fine))
        objective[index] = 1.0
        bounds = (1, None)
        low = linprog(objective, A_eq=[np.ones(len(fine))], b_eq=[19], bounds=bounds)
        high = linprog(-objective, A_eq=[np.ones(len(fine))], b_eq=[19], bounds=bounds)
        assert low.fun == pytest.approx(1) and -high.fun == pytest.approx(1)
    # So the total is hidden on every face that shows it.
    profile = stats_client.get("/api/stats/vancouver_2020", params={"level": 2}).json()
    homicide = next(row for row in profile["by_category"] if row["iccs_code"] == "0101")
    assert homicide["counts"] == {"2020": None} and homicide["total"] is None
    yearly = stats_client.get(
        "/api/stats/vancouver_2020/counts", params={"level": 2, "iccs": "0101"}
    ).json()["counts"]
    assert [row["count"] for row in yearly] == [None]
    trend = stats_client.get("/api/stats/vancouver_2020/trends", params={"iccs": "0101"}).json()
    assert [year["count"] for year in trend["years"]] == [None]


def test_coverage_json_hides_small_counts_of_unmapped_codes(stats_client, monkeypatch):
    from crimeprev.indicators import quality
    from crimeprev.store.concordance import Coverage, UnmappedCode

    whole = stats_client.get("/api/stats/sf_2012/coverage").json()
    assert whole["share_records"] == 1.0 and whole["unmapped"] == []
    assert whole["suppression"] == {}

    def fake(warehouse, source):
        # Two national codes left unmapped: 3 records (a small count) and 40.
        return Coverage(source, 10_183.0, 10_140.0, 12, 10, (
            UnmappedCode("Y", "y", 40), UnmappedCode("X", "x", 3)))  # fmt: skip

    monkeypatch.setattr(quality, "coverage", fake)
    data = stats_client.get("/api/stats/sf_2012/coverage").json()
    rows = {row["national_code"]: row for row in data["unmapped"]}
    assert rows["X"]["suppression"] == "suppressed" and rows["X"]["records"] is None
    # With the total of 43 published (records - records_mapped), Y would give X back.
    assert rows["Y"]["suppression"] == "suppressed" and rows["Y"]["records"] is None
    assert data["records"] - data["records_mapped"] == 43


def test_the_geocoded_share_does_not_give_the_hidden_homicide_total_back(stats_client):
    """Vancouver withholds the location of offences against a person and of homicides.

    So the records without coordinates are those two offences' totals (and a
    stray collision): an exact geocoded share, times the published total,
    less the published total of offences against a person, would put the
    hidden homicide total within one. The published share is rounded so
    that the count it implies is uncertain by at least twice the threshold.
    """
    records = pd.read_parquet(VANCOUVER / "incidents.parquet")
    gap = (records["MONTH"] == 3) & (records["DAY"] == 8) & (records["HOUR"] == 2)
    kept = records[~gap]
    missing = ((kept["X"] == 0) & (kept["Y"] == 0)) | kept["X"].isna()
    by_type = kept.loc[missing, "TYPE"].value_counts()
    assert by_type["Homicide"] == 19 and by_type["Offence Against a Person"] == 3731
    total = len(kept)
    quality = stats_client.get("/api/stats/vancouver_2020/quality").json()
    step = quality["rounding"]["geocoded_share"]
    share = quality["geocoded_share"]
    # What a reader can tell about the records without coordinates from the share.
    low, high = total * (1 - share - step / 2), total * (1 - share + step / 2)
    assert low <= missing.sum() <= high and high - low >= 2 * THRESHOLD
    # Less the published total of offences against a person (at level 2 of ICCS, all years):
    # the homicides (at least 19: each listed cell is at least 1) lie in a wide range.
    homicides_high = high - by_type["Offence Against a Person"]
    assert homicides_high - 19 >= THRESHOLD
    # The exact share would have pinned them to 19 or 20 (one collision has no location).
    exact = 1 - missing.sum() / total
    assert total * (1 - exact) - by_type["Offence Against a Person"] == pytest.approx(20)


AGED = """
name = "test_aged"
title = "Synthetic offences with victim ages"
kind = "incident"
format = "csv"
earliest = "2015-01-01"

[occurred]
column = "date"
format = "%Y-%m-%d"
precision = "day"

[offence]
code = "iccs"
iccs = "iccs"

[area]
set = "test_aged_regions"
column = "region"
match = "id"

[tags]
victim_age = "age"
"""
#: Victims by region and age band (one age per band), and victims of unknown age.
BANDS = {"0-14": 7, "15-29": 20, "30-44": 35, "45-64": 50, "65+": 70}
BY_BAND = {"A": [20, 2, 30, 25, 15], "B": [30, 40, 35, 30, 20], "C": [10, 12, 3, 8, 9],
           "D": [0, 0, 0, 3, 60]}  # fmt: skip
UNKNOWN = {"A": 6, "B": 0, "C": 2, "D": 0}
PEOPLE = {"A": [2000, 3000, 3000, 4000, 1500], "B": [3000, 2500, 3000, 3500, 2000],
          "C": [1000, 1500, 1200, 1800, 900], "D": [1000] * 5}  # fmt: skip


@pytest.fixture
def aged_client(tmp_path):
    from fastapi.testclient import TestClient

    from crimeprev.config import Settings
    from crimeprev.store import areas
    from crimeprev.web.app import create_app

    (tmp_path / "profiles").mkdir()
    (tmp_path / "profiles" / "test_aged.toml").write_text(AGED, encoding="utf-8")
    patch = pytest.MonkeyPatch()
    patch.setattr(profiles, "PROFILE_DIR", tmp_path / "profiles")
    settings = Settings(data_dir=tmp_path / "data", secret_key="k", small_count_threshold=THRESHOLD)
    settings.ensure_data_dir()
    rows = [
        (region, str(age))
        for region, counts in BY_BAND.items()
        for age, count in zip(BANDS.values(), counts, strict=True)
        for _ in range(count)
    ] + [(region, "") for region, count in UNKNOWN.items() for _ in range(count)]
    frame = pd.DataFrame(rows, columns=["region", "age"]).assign(date="2021-06-01", iccs="0501")
    frame.to_csv(tmp_path / "d.csv", index=False)
    warehouse = open_warehouse(settings.warehouse_url)
    import_file(warehouse, load_profile("test_aged"), tmp_path / "d.csv")
    keys = [(region, band) for region in PEOPLE for band in BANDS]
    areas.store_population(
        warehouse,
        area_set="test_aged_regions",
        area_ids=[region for region, _ in keys],
        years=[2021] * len(keys),
        populations=[float(PEOPLE[r][list(BANDS).index(b)]) for r, b in keys],
        age_bands=[band for _, band in keys],
        source="synthetic",
    )
    warehouse.close()
    try:
        with TestClient(create_app(settings), raise_server_exceptions=False) as client:
            yield client
    finally:
        patch.undo()


def _band_range(counts, people, standard, band):
    """What a reader of the count, the standardised rate and its variance can tell of a band."""
    weights = np.asarray(standard, float) / np.sum(standard)
    factor = weights / np.asarray(people, float) * 1e4
    equations = np.vstack([np.ones(len(counts)), factor, factor**2])
    right = equations @ np.asarray(counts, float)
    objective = np.eye(len(counts))[band]
    low = linprog(objective, A_eq=equations, b_eq=right, bounds=(0, None), method="highs")
    high = linprog(-objective, A_eq=equations, b_eq=right, bounds=(0, None), method="highs")
    return low.fun, -high.fun


def test_standardised_rates_hide_counts_and_rates_that_give_a_small_count_back(aged_client):
    data = aged_client.get("/api/stats/test_aged/standardised", params={"year": 2021}).json()
    rows = {row["area_id"]: row for row in data["rates"]}
    standard = np.sum([PEOPLE[r] for r in PEOPLE], axis=0)
    # B: nothing small; published as computed (rate checked by hand).
    weights = standard / standard.sum()
    expected_b = weights @ (np.array(BY_BAND["B"]) / np.array(PEOPLE["B"])) * 1e5
    assert rows["B"]["count"] == sum(BY_BAND["B"]) and rows["B"]["suppression"] == ""
    assert rows["B"]["rate"] == pytest.approx(expected_b)
    # C: 2 victims of unknown age, a small count; its total is published elsewhere, so the
    # count of known age goes too (and the crude rate that gives it back).
    assert rows["C"]["unknown_age"] is None and rows["C"]["count"] is None
    assert rows["C"]["crude_rate"] is None and rows["C"]["suppression"] == "suppressed"
    # D: 3 victims aged 45-64 and 60 aged 65+: the count, the rate and its variance pin the 3.
    assert rows["D"]["count"] == 63 and rows["D"]["rate"] is None
    assert rows["D"]["ci_low"] is None and rows["D"]["rate_suppression"] == "suppressed"
    # Every published rate leaves each small band count a range at least the threshold wide;
    # a hidden one would not have (the check has teeth).
    for region, counts in BY_BAND.items():
        row = rows[region]
        if row["count"] is None:
            continue
        ranges = [
            _band_range(counts, PEOPLE[region], standard, band)
            for band, value in enumerate(counts)
            if 0 < value < THRESHOLD
        ]
        if row["rate"] is not None:
            assert all(high - low >= THRESHOLD - 1e-6 for low, high in ranges), region
        else:
            assert row["rate_suppression"] == "suppressed"
            assert any(high - low < THRESHOLD for low, high in ranges), region
    # The page marks them.
    page = aged_client.get("/stats/test_aged")
    assert page.status_code == 200


def test_a_small_file_s_accepted_rows_are_hidden_with_a_complement(tmp_path_factory):
    # Three imports: 300 and 200 good rows (with their bad ones) and a file of 3
    # records. The source's total accepted rows (503) is published everywhere,
    # so the 3 needs a complement among the other files' accepted rows; each
    # hidden file's rows read (accepted + quarantined) is hidden too.
    small = pd.DataFrame(
        {"date": ["2020-03-01 10:00", "2020-03-02 10:00", "2020-03-03 10:00"], "iccs": "0501"}
    )
    files = {**{name: _file(name) for name in GOOD}, "three.csv": small}
    root = tmp_path_factory.mktemp("small_file")
    with synthetic_source(root, "test_quarantine", PROFILE, files, threshold=THRESHOLD) as made:
        settings, results = made
        assert [r.rows_accepted for r in results] == [300, 200, 3]
        with web_client(settings) as client:
            quality = client.get("/api/stats/test_quarantine/quality").json()
            page = client.get("/stats/test_quarantine")
    assert quality["rows_accepted"] == 503
    imports = {r["file_name"]: r for r in quality["imports"]}
    hidden = {name for name, r in imports.items() if r["rows_accepted"] is None}
    assert "three.csv" in hidden and len(hidden) == 2
    for name in hidden:
        assert imports[name]["rows_read"] is None and imports[name]["suppression"] == "suppressed"
    shown = {name: r["rows_accepted"] for name, r in imports.items() if name not in hidden}
    assert shown == {name: GOOD[name] for name in shown}
    # From the published total the reader gets the hidden files' sum only: each
    # of them is at least 1, so the 3 could be anything from 1 to that sum less 1.
    hidden_sum = 503 - sum(shown.values())
    assert (hidden_sum - 1) - 1 >= THRESHOLD
    assert page.status_code == 200 and "three.csv" in page.text
