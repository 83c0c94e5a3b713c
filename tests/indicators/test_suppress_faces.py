"""Small-count suppression on the trends, seasonal heat tables and SDG indicator faces
(issue #3, item 10): hidden cells are null in the JSON twin, marked on the page, and no
hidden cell can be worked out from the published totals."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.optimize import linprog

from crimeprev.indicators.export import read_sdmx
from crimeprev.indicators.trends import protect_grid, protect_line

from .conftest import synthetic_source, web_client

THRESHOLD = 5
PROFILE = """
name = "test_small"
title = "Synthetic records with small cells"
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

[tags]
victim_sex = "sex"
victim_age = "age"
"""


def _records() -> pd.DataFrame:
    """400 burglaries over 2019-2020, 40 homicides in 2020 with victims, 3 burglaries in 2021."""
    rng = np.random.default_rng(7)
    start = pd.Timestamp("2019-01-01")
    minutes = rng.integers(0, 2 * 365 * 24 * 60, size=400)
    bulk = pd.DataFrame(
        {
            "date": (start + pd.to_timedelta(minutes, unit="min")).strftime("%Y-%m-%d %H:%M"),
            "iccs": "0501",
            "region": rng.choice(["A", "B"], size=400),
            "sex": "",
            "age": "",
        }
    )
    # Homicides: 30 men aged 20-29, 8 women aged 30-44, 2 women aged 70 (a small cell).
    sexes = ["M"] * 30 + ["F"] * 10
    ages = [str(a) for a in rng.integers(20, 30, size=30)] + ["35"] * 8 + ["70", "70"]
    days = pd.Timestamp("2020-01-01") + pd.to_timedelta(rng.integers(0, 365, size=40), unit="D")
    homicides = pd.DataFrame(
        {
            "date": days.strftime("%Y-%m-%d 12:00"),
            "iccs": "0101",
            "region": "A",
            "sex": sexes,
            "age": ages,
        }
    )
    late = pd.DataFrame(
        {
            "date": ["2021-02-01 10:00", "2021-05-01 11:00", "2021-09-01 12:00"],
            "iccs": "0501",
            "region": "B",
            "sex": "",
            "age": "",
        }
    )
    return pd.concat([bulk, homicides, late], ignore_index=True)


@pytest.fixture(scope="module")
def small(tmp_path_factory):
    records = _records()
    root = tmp_path_factory.mktemp("small")
    files = {"d.csv": records}
    with synthetic_source(root, "test_small", PROFILE, files, threshold=THRESHOLD) as made:
        settings, (result,) = made
        assert result.rows_accepted == len(records)
        with web_client(settings) as client:
            yield client, records


def _recoverable(
    matrix: np.ndarray, hidden: np.ndarray, rows: np.ndarray, columns: np.ndarray
) -> list[tuple[int, int]]:
    """Hidden cells whose value the published cells and the totals pin down (an LP attacker).

    Each hidden cell is minimised and maximised over non-negative tables with
    the published cells and the row and column totals; a cell whose range is
    narrower than 1 is given away.
    """
    height, width = matrix.shape
    unknown = list(zip(*np.nonzero(hidden), strict=True))
    index = {cell: i for i, cell in enumerate(unknown)}
    equalities, right = [], []
    for r in range(height):
        row = np.zeros(len(unknown))
        for c in range(width):
            if (r, c) in index:
                row[index[(r, c)]] = 1
        equalities.append(row)
        right.append(rows[r] - matrix[r][~hidden[r]].sum())
    for c in range(width):
        column = np.zeros(len(unknown))
        for r in range(height):
            if (r, c) in index:
                column[index[(r, c)]] = 1
        equalities.append(column)
        right.append(columns[c] - matrix[:, c][~hidden[:, c]].sum())
    given_away = []
    for cell, i in index.items():
        objective = np.zeros(len(unknown))
        objective[i] = 1
        low = linprog(objective, A_eq=np.array(equalities), b_eq=right, bounds=(0, None))
        high = linprog(-objective, A_eq=np.array(equalities), b_eq=right, bounds=(0, None))
        assert low.status == 0 and high.status == 0
        if -high.fun - low.fun < 1 - 1e-6:
            given_away.append((int(cell[0]), int(cell[1])))
    return given_away


def test_protect_grid_hides_small_cells_and_their_complements():
    rng = np.random.default_rng(3)
    matrix = rng.poisson(6, size=(7, 9)).astype(float)
    grid = protect_grid(matrix.tolist(), threshold=THRESHOLD)
    marks = np.array(grid.cells)
    small = (matrix > 0) & (matrix < THRESHOLD)
    assert small.any()
    assert (marks[small] == "primary").all() and not (marks[~small] == "primary").any()
    hidden = marks != ""
    assert _recoverable(matrix, hidden, matrix.sum(axis=1), matrix.sum(axis=0)) == []


def test_protect_line_leaves_no_hidden_month_alone():
    rng = np.random.default_rng(5)
    for _ in range(20):
        months = rng.poisson(4, size=12).astype(float)
        marks = np.array(protect_line(months.tolist(), threshold=THRESHOLD))
        small_cells = (months > 0) & (months < THRESHOLD)
        assert (marks[small_cells] == "primary").all()
        hidden = marks != ""
        # With the total published, one hidden month is the total less the others;
        # two or more hidden months must hide at least 1 + THRESHOLD - 1 between them
        # for a small one to range over THRESHOLD values.
        assert hidden.sum() != 1
        if small_cells.any():
            assert months[hidden].sum() >= THRESHOLD


def test_seasonal_json_and_page(small):
    client, records = small
    data = client.get("/api/stats/test_small/seasonal").json()
    when = pd.to_datetime(records["date"])
    month_weekday = (
        pd.crosstab(when.dt.month, when.dt.day_of_week)
        .reindex(index=range(1, 13), columns=range(7), fill_value=0)
        .to_numpy(dtype=float)
    )
    weekday_hour = (
        pd.crosstab(when.dt.day_of_week, when.dt.hour)
        .reindex(index=range(7), columns=range(24), fill_value=0)
        .to_numpy(dtype=float)
    )
    for name, expected in (("month_weekday", month_weekday), ("weekday_hour", weekday_hour)):
        shown = np.array([[np.nan if v is None else v for v in row] for row in data[name]])
        marks = np.array(data[f"{name}_suppression"])
        hidden = np.isnan(shown)
        small_cells = (expected > 0) & (expected < THRESHOLD)
        assert small_cells.any(), name
        # Every small count is hidden, every hidden cell has the one public mark
        # (not why it is hidden), and the shown ones are the counts of the file.
        assert (marks[small_cells] == "suppressed").all()
        assert ((marks != "") == hidden).all()
        assert np.array_equal(shown[~hidden], expected[~hidden])
        assert set(marks[hidden]) == {"suppressed"}
        # The row and column totals do not give a hidden cell back.
        rows, columns = expected.sum(axis=1), expected.sum(axis=0)
        assert _recoverable(expected, hidden, rows, columns) == []
    months = when.dt.month.value_counts().reindex(range(1, 13), fill_value=0)
    shown = [
        (m, v) for m, v in zip(months.tolist(), data["by_month"], strict=True) if v is not None
    ]
    assert all(float(m) == v for m, v in shown)  # every month is at least 5, but:
    # each month adds up that month of 2019, 2020 and 2021, and the source's monthly
    # counts (published by the profile and exports) give 2019 and 2020; so a month
    # holding one of 2021's three single burglaries would give it back: hidden.
    for month in (2, 5, 9):
        assert data["by_month"][month - 1] is None, month
    page = client.get("/stats/test_small").text
    heat = page[page.index('id="heat-weekday-hour"') :]
    heat = heat[: heat.index("</table>")]
    hidden_count = int((np.array(data["weekday_hour_suppression"]) != "").sum())
    assert heat.count("–") == hidden_count > 0
    assert f"suppressed: fewer than {THRESHOLD}, or needed to protect one" in page


def test_trend_json_hides_the_small_year_and_what_it_touches(small):
    client, records = small
    data = client.get("/api/stats/test_small/trends", params={"window": 2}).json()
    years = {row["year"]: row for row in data["years"]}
    counts = pd.to_datetime(records["date"]).dt.year.value_counts()
    assert int(counts[2021]) == 3
    assert years["2021"]["count"] is None and years["2021"]["suppression"] == "suppressed"
    # The total over the years is published elsewhere (the profile), so one hidden
    # year alone would be given back: at least one more year is hidden.
    hidden = [row["year"] for row in data["years"] if row["suppression"]]
    assert len(hidden) >= 2
    for row in data["years"]:
        if not row["suppression"]:
            assert row["count"] == float(counts[int(row["year"])])
    # The change into 2021 and the moving average over it are hidden too.
    assert years["2021"]["change"] is None and years["2021"]["change_suppression"] == "suppressed"
    assert years["2021"]["moving_average"] is None
    assert years["2021"]["moving_average_suppression"] == "suppressed"
    marks = {row[f] for row in data["years"] for f in row if f.endswith("suppression")}
    assert marks == {"", "suppressed"}
    # The trend agrees with the profile's yearly totals (one pattern for the source).
    profile = client.get("/api/stats/test_small").json()
    by_year = {str(row["year"]): row["count"] for row in profile["by_year"]}
    for row in data["years"]:
        assert by_year.get(row["year"]) == row["count"]
    # A branch at ICCS level 1 is a cell of the pattern too; a code of no level is refused.
    branch = client.get("/api/stats/test_small/trends", params={"iccs": "01"}).json()
    assert [(row["year"], row["count"]) for row in branch["years"]] == [("2020", 40.0)]
    odd = client.get("/api/stats/test_small/trends", params={"iccs": "050"})
    assert odd.status_code == 422 and "'050' is not a code of any ICCS level" in odd.text


def test_sdg_json_page_and_sdmx_agree(small):
    client, _ = small
    data = client.get("/api/stats/indicators/16.1.1", params={"source": "test_small"}).json()
    frame = pd.DataFrame(data["rows"])
    women_old = frame[(frame["sex"] == "Female") & (frame["age"] == "60+")].iloc[0]
    assert women_old["suppression"] == "suppressed" and pd.isna(women_old["numerator"])
    assert pd.isna(women_old["value"]) and pd.isna(women_old["ci_low"])
    total = frame[(frame["sex"] == "Total") & (frame["age"] == "Total")].iloc[0]
    assert total["numerator"] == 40 and total["suppression"] == ""
    hidden = frame["suppression"] != ""
    assert frame.loc[hidden, "numerator"].isna().all()
    assert frame.loc[~hidden, "numerator"].notna().all()
    # No published Total row leaves exactly one hidden row under it.
    for fixed, free in (("sex", "age"), ("age", "sex")):
        for _, group in frame.groupby(fixed):
            children = group[group[free] != "Total"]
            margin = group[group[free] == "Total"]
            if len(margin) and margin["suppression"].iloc[0] == "":
                assert (children["suppression"] != "").sum() != 1, (fixed, group)
    # The SDMX-CSV download hides the same rows (one method for every face).
    csv = client.get(
        "/api/stats/indicators/16.1.1", params={"source": "test_small", "format": "sdmx-csv"}
    )
    sdmx = read_sdmx(csv.content)
    numbers = sdmx[sdmx["UNIT_MEASURE"] == "NUMBER"]
    assert int((numbers["CONF_STATUS"] != "F").sum()) == int(hidden.sum())
    assert set(sdmx["CONF_STATUS"]) == {"F", "C"}  # one mark for every hidden value
    page = client.get("/stats/indicators", params={"indicator": "16.1.1", "source": "test_small"})
    assert page.status_code == 200
    assert f"suppressed: fewer than {THRESHOLD}, or needed to protect one" in page.text
    assert page.text.count('<span class="suppressed">–</span>') >= 2 * int(hidden.sum())
