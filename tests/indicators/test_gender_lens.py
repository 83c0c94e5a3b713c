"""The gender lens on the bundled UN-CTS victims: checked with pandas and scipy against the
published CSV (../shared/data/real/unodc_cts_offences_2003_2022 beside the repository), or,
where that folder is absent (a fresh clone), the bundled Parquet copy of it."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from numpy.testing import assert_allclose
from scipy import stats
from typer.testing import CliRunner

from crimeprev.cli.main import app as cli
from crimeprev.errors import InvalidInputError, NotFoundError
from crimeprev.indicators.gender import (
    CATEGORIES,
    clopper_pearson,
    relationship_rows,
    victim_areas,
    victims_by_relationship,
)
from crimeprev.store import open_warehouse
from crimeprev.store.profiles import BUNDLED_DATA_DIR

FILE = "unodc_cts_offences_2003_2022/data_cts_violent_and_sexual_crime"
CSV = Path(__file__).resolve().parents[3] / f"shared/data/real/{FILE}.csv"
PARQUET = BUNDLED_DATA_DIR / f"{FILE}.parquet"
SEXUAL = "Victims of sexual violence"
ASSAULT = "Victims of serious assault"
PARTNER = "Intimate partner or family member"
NOT_KNOWN = "Relationship to perpetrator is not known"


@pytest.fixture(scope="module")
def published() -> pd.DataFrame:
    """The victims by relationship as UNODC published them."""
    raw = pd.read_csv(CSV) if CSV.exists() else pd.read_parquet(PARQUET)
    return raw[raw["Indicator"].str.startswith("Victims of")]


def test_the_bundled_parquet_holds_the_published_csv():
    if not CSV.exists():
        pytest.skip(f"the published CSV is not beside the repository ({CSV})")
    csv, parquet = pd.read_csv(CSV), pd.read_parquet(PARQUET)
    pd.testing.assert_frame_equal(csv, parquet, check_dtype=False)


def _cell(published, iso3, year, indicator, sex, unit="Counts"):
    rows = published[
        (published["Iso3_code"] == iso3)
        & (published["Year"] == year)
        & (published["Indicator"] == indicator)
        & (published["Sex"] == sex)
        & (published["Unit of measurement"] == unit)
    ]
    return rows.set_index("Category")["VALUE"]


def _exact(k: int, n: int, confidence: float = 0.95) -> tuple[float, float]:
    interval = stats.binomtest(k, n).proportion_ci(confidence_level=confidence, method="exact")
    return interval.low, interval.high


@pytest.fixture
def warehouse(stats_settings):
    opened = open_warehouse(stats_settings.warehouse_url)
    yield opened
    opened.close()


@pytest.mark.parametrize(
    ("k", "n"),
    [(0, 7), (7, 7), (3, 10), (1, 1), (6762, 37954)],
    ids=["0", "n", "3/10", "1/1", "big"],
)
@pytest.mark.parametrize("confidence", [0.9, 0.95, 0.99])
def test_clopper_pearson_matches_scipy_binomtest(k, n, confidence):
    share = clopper_pearson(k, n, confidence=confidence)
    assert share.share == k / n
    assert_allclose((share.ci_low, share.ci_high), _exact(k, n, confidence), rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize(
    ("k", "n", "confidence"), [(5, 4, 0.95), (1, 0, 0.95), (2.5, 10, 0.95), (1, 5, 1.0)]
)
def test_clopper_pearson_refuses_what_is_no_proportion_of_counts(k, n, confidence):
    with pytest.raises(InvalidInputError):
        clopper_pearson(k, n, confidence=confidence)


def test_germany_2019_female_victims_of_sexual_violence_by_a_partner_or_family_member(
    warehouse, published
):
    profile = victims_by_relationship(warehouse, "DEU", threshold=5)
    row = next(r for r in profile.rows if (r.indicator, r.year, r.sex) == (SEXUAL, 2019, "Female"))
    female = _cell(published, "DEU", 2019, SEXUAL, "Female")
    assert female[PARTNER] == 6762  # as published by UNODC
    assert row.counts[PARTNER] == female[PARTNER]
    total = female[list(CATEGORIES)].sum()
    assert row.total == total and row.flags == []
    assert_allclose(row.partner_family.share, female[PARTNER] / total)
    expected = _exact(int(female[PARTNER]), int(total))
    assert_allclose((row.partner_family.ci_low, row.partner_family.ci_high), expected)
    known = total - female[NOT_KNOWN]
    assert_allclose(row.partner_family_known.share, female[PARTNER] / known)
    rates = _cell(published, "DEU", 2019, SEXUAL, "Female", "Rate per 100,000 population")
    assert_allclose(row.rate, rates[list(CATEGORIES)].sum())
    # The share female among all victims and among victims of a partner or family member.
    male = _cell(published, "DEU", 2019, SEXUAL, "Male")
    share = next(s for s in profile.female_shares if (s.indicator, s.year) == (SEXUAL, 2019))
    all_victims = total + male[list(CATEGORIES)].sum()
    assert_allclose(share.victims.share, total / all_victims)
    assert_allclose(
        (share.victims.ci_low, share.victims.ci_high), _exact(int(total), int(all_victims))
    )
    partners = female[PARTNER] + male[PARTNER]
    assert_allclose(share.partner_family.share, female[PARTNER] / partners)


def test_every_published_country_year_adds_up_like_pandas(published):
    frame = pd.DataFrame(
        {
            "indicator": published["Indicator"],
            "category": published["Category"],
            "year": published["Year"],
            "sex": published["Sex"],
            "unit": published["Unit of measurement"],
            "value": published["VALUE"],
            "area": published["Iso3_code"],
        }
    )
    counts = published[published["Unit of measurement"] == "Counts"]
    grouped = counts.groupby(["Iso3_code", "Indicator", "Year", "Sex"])
    expected = grouped["VALUE"].sum().where(grouped["Category"].nunique() == 4)
    checked = complete = 0
    for area, group in frame.groupby("area"):
        rows, _ = relationship_rows(group, threshold=0)
        for row in rows:
            value = expected[(area, row.indicator, row.year, row.sex)]
            checked += 1
            if pd.isna(value):
                assert row.total is None and row.missing and "not reported" in row.flags[0]
            else:
                complete += 1
                assert row.total == value and row.missing == []
    assert checked == len(expected) and 0 < complete < checked


def test_small_counts_are_hidden_with_what_would_give_them_back(warehouse, published):
    # Austria 2013: one relationship category of male victims of sexual violence is below 5.
    male = _cell(published, "AUT", 2013, SEXUAL, "Male")
    small = [c for c in CATEGORIES if 0 < male[c] < 5]
    assert len(small) == 1 and len(male) == 4
    profile = victims_by_relationship(warehouse, "AUT", threshold=5)
    row = next(r for r in profile.rows if (r.indicator, r.year, r.sex) == (SEXUAL, 2013, "Male"))
    assert row.hidden == small and row.counts[small[0]] is None
    assert row.total is None and row.rate is None and row.partner_family is None
    assert "below 5, hidden" in row.flags[0]
    share = next(s for s in profile.female_shares if (s.indicator, s.year) == (SEXUAL, 2013))
    assert share.victims is None  # female / (female + male) would give the male total back
    shown = [c for c in CATEGORIES if c not in small]
    assert [row.counts[c] for c in shown] == [male[c] for c in shown]
    # With suppression off, the same row is complete.
    open_row = next(
        r
        for r in victims_by_relationship(warehouse, "AUT", threshold=0).rows
        if (r.indicator, r.year, r.sex) == (SEXUAL, 2013, "Male")
    )
    assert open_row.total == male[list(CATEGORIES)].sum()


def test_germany_2013_reports_one_category_only_and_is_flagged(warehouse, published):
    female = _cell(published, "DEU", 2013, ASSAULT, "Female")
    assert list(female.index) == [PARTNER]
    profile = victims_by_relationship(warehouse, "DEU")
    row = next(r for r in profile.rows if (r.indicator, r.year, r.sex) == (ASSAULT, 2013, "Female"))
    assert row.counts[PARTNER] == female[PARTNER] and row.total is None
    assert row.missing == [c for c in CATEGORIES if c != PARTNER]
    assert row.partner_family is None and row.partner_family_known is None


def test_the_areas_with_victims_are_those_of_the_csv(warehouse, published):
    assert victim_areas(warehouse) == sorted(published["Iso3_code"].unique())
    with pytest.raises(NotFoundError, match="no victims by sex"):
        victims_by_relationship(warehouse, "BEL")  # offences only, no victims


def test_country_page_and_its_json_twin_show_the_gender_lens(stats_client, published):
    female = _cell(published, "DEU", 2019, SEXUAL, "Female")
    total = female[list(CATEGORIES)].sum()
    data = stats_client.get("/api/stats/unodc_cts/areas/DEU").json()
    assert data["victims"]["threshold"] == 5 and data["victims"]["categories"] == list(CATEGORIES)
    row = next(
        r
        for r in data["victims"]["rows"]
        if (r["indicator"], r["year"], r["sex"]) == (SEXUAL, 2019, "Female")
    )
    assert row["counts"][PARTNER] == female[PARTNER] and row["total"] == total
    assert_allclose(row["partner_family"]["share"], female[PARTNER] / total)
    alone = stats_client.get("/api/stats/unodc_cts/areas/DEU/victims").json()
    assert alone == data["victims"]
    page = stats_client.get("/stats/unodc_cts/areas/DEU")
    assert page.status_code == 200
    assert "Victims by sex and relationship to the perpetrator" in page.text
    low, high = _exact(int(female[PARTNER]), int(total))
    share = f"{female[PARTNER] / total * 100:.1f}%"
    assert f'{share} <span class="muted ci">{low * 100:.1f}–{high * 100:.1f}</span>' in page.text
    assert f"{female[PARTNER]:,.0f}" in page.text
    # A country without victims: no section, null in JSON, 404 from the endpoint.
    assert stats_client.get("/api/stats/unodc_cts/areas/BEL").json()["victims"] is None
    assert "Victims by sex" not in stats_client.get("/stats/unodc_cts/areas/BEL").text
    missing = stats_client.get("/api/stats/unodc_cts/areas/BEL/victims")
    assert missing.status_code == 404 and "no victims by sex" in missing.json()["error"]["message"]


def test_cli_prints_and_writes_the_victims_of_a_country(
    stats_settings, monkeypatch, tmp_path, published
):
    monkeypatch.setenv("CRIMEPREV_DATA_DIR", str(stats_settings.data_dir))
    monkeypatch.setenv("COLUMNS", "200")
    female = _cell(published, "DEU", 2019, SEXUAL, "Female")
    total = female[list(CATEGORIES)].sum()
    runner = CliRunner()
    result = runner.invoke(cli, ["stats", "victims", "DEU"])
    assert result.exit_code == 0, result.output
    low, high = _exact(int(female[PARTNER]), int(total))
    assert f"{female[PARTNER] / total:.1%} ({low:.1%}-{high:.1%})" in result.output
    assert "counts from 1 to 4 hidden" in result.output
    output = tmp_path / "deu.csv"
    written = runner.invoke(cli, ["stats", "victims", "DEU", "--output", str(output)])
    assert written.exit_code == 0, written.output
    table = pd.read_csv(output)
    line = table[(table.indicator == SEXUAL) & (table.year == 2019) & (table.sex == "Female")]
    assert line["total"].item() == total
    assert_allclose(line["partner_family_share_low"].item(), low)
    bad = runner.invoke(cli, ["stats", "victims", "BEL"])
    assert bad.exit_code == 2 and "no victims by sex" in bad.output


def test_counts_that_are_not_whole_get_no_exact_interval_and_say_so():
    frame = pd.DataFrame(
        {
            "indicator": SEXUAL,
            "year": 2020,
            "sex": ["Female"] * 4,
            "category": list(CATEGORIES),
            "unit": "Counts",
            "value": [40.5, 30.0, 20.0, 10.0],
        }
    )
    (row,), _ = relationship_rows(frame)
    assert row.total == 100.5 and row.partner_family is None
    assert row.flags == [f"not whole numbers: {PARTNER}; no share with an exact interval"]


def _latest_complete(published, iso3, indicator):
    """Pandas: the latest year whose female victims have all four categories, none small."""
    female = published[
        (published["Iso3_code"] == iso3)
        & (published["Indicator"] == indicator)
        & (published["Sex"] == "Female")
        & (published["Unit of measurement"] == "Counts")
    ]
    by_year = female.groupby("Year")["VALUE"]
    ok = (female.groupby("Year")["Category"].nunique() == 4) & ~by_year.apply(
        lambda v: ((v > 0) & (v < 5)).any()
    )
    return int(ok[ok].index.max())


def test_every_country_s_latest_shares_on_the_cli_page_and_json(
    stats_client, stats_settings, monkeypatch, published
):
    year = _latest_complete(published, "DEU", SEXUAL)
    female = _cell(published, "DEU", year, SEXUAL, "Female")
    male = _cell(published, "DEU", year, SEXUAL, "Male")
    total = female[list(CATEGORIES)].sum()
    both = total + male[list(CATEGORIES)].sum()
    data = stats_client.get("/api/stats/unodc_cts/victims").json()
    assert data["threshold"] == 5
    assert {a["area_id"] for a in data["areas"]} == set(published["Iso3_code"])
    germany = next(a for a in data["areas"] if (a["area_id"], a["indicator"]) == ("DEU", SEXUAL))
    assert germany["year"] == year
    assert germany["years"] == published[published["Iso3_code"] == "DEU"]["Year"].nunique()
    assert_allclose(germany["partner_family_female"]["share"], female[PARTNER] / total)
    assert_allclose(germany["female_share"]["share"], total / both)
    low, high = _exact(int(total), int(both))
    assert_allclose(
        (germany["female_share"]["ci_low"], germany["female_share"]["ci_high"]), (low, high)
    )
    page = stats_client.get("/stats/unodc_cts/victims")
    assert page.status_code == 200 and "/stats/unodc_cts/areas/DEU#victims" in page.text
    assert f'{total / both * 100:.1f}% <span class="muted ci">{low * 100:.1f}–' in page.text
    monkeypatch.setenv("CRIMEPREV_DATA_DIR", str(stats_settings.data_dir))
    monkeypatch.setenv("COLUMNS", "250")
    result = CliRunner().invoke(cli, ["stats", "victims"])
    assert result.exit_code == 0, result.output
    assert (
        "Germany" in result.output and f"{total / both:.1%} ({low:.1%}-{high:.1%})" in result.output
    )
    none = stats_client.get("/api/stats/vancouver_2020/victims")
    assert none.status_code == 404


def test_a_confidence_outside_0_1_is_refused_by_every_face(
    stats_client, stats_settings, monkeypatch
):
    with pytest.raises(InvalidInputError, match="confidence must be between 0 and 1"):
        relationship_rows(pd.DataFrame(columns=["indicator", "category", "sex"]), confidence=1.5)
    response = stats_client.get("/api/stats/unodc_cts/areas/DEU/victims", params={"confidence": 2})
    assert response.status_code == 422
    monkeypatch.setenv("CRIMEPREV_DATA_DIR", str(stats_settings.data_dir))
    result = CliRunner().invoke(cli, ["stats", "victims", "DEU", "--confidence", "95"])
    assert result.exit_code == 2 and "confidence must be between 0 and 1, got 95.0" in result.output
