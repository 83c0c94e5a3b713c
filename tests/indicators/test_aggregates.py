"""Aggregate sources: hierarchical consistency (children <= parent) and country profiles."""

from __future__ import annotations

import pandas as pd
from numpy.testing import assert_allclose
from typer.testing import CliRunner

from crimeprev.cli.main import app as cli
from crimeprev.indicators.aggregates import hierarchy_findings
from crimeprev.indicators.export import read_sdmx
from crimeprev.store.profiles import BUNDLED_DATA_DIR

CTS = BUNDLED_DATA_DIR / "unodc_cts_offences_2003_2022"
# Published as sub-categories but not mapped to ICCS by the bundled concordance.
UNMAPPED = {
    "Fraud: Cyber-related (Cy)",
    "Acts intended to induce fear or emotional distress: Cyber-related",
}


def _cell(codes, values, **extra):
    return pd.DataFrame(
        {"area_id": "X", "year": 2020, "sex": "Total", "age": "Total", "unit": "Counts",
         "iccs_code": codes, "value": values, **extra}
    )  # fmt: skip


def test_children_are_checked_against_their_nearest_reported_parent():
    # 050211 skips the unreported 05021: its parent is 0502. 0501 has no reported parent.
    frame = _cell(["0502", "050211", "050229", "0501"], [100.0, 70.0, 40.0, 999.0])
    (finding,) = hierarchy_findings(frame)
    assert finding.parent_code == "0502" and finding.children_total == 110.0
    assert finding.excess == 10.0
    assert hierarchy_findings(_cell(["0502", "050211", "050229"], [110.0, 70.0, 40.0])) == []
    # Rounded published rates within the tolerance pass.
    rates = _cell(["0502", "050211"], [1.0, 1.0 + 1e-12])
    assert hierarchy_findings(rates) == []


def _violations_from_the_files(unit: str) -> set[tuple[str, int, str, str]]:
    """Cells where 'X: y' categories sum to more than 'X', from the CSV-derived Parquet files."""
    raw = pd.concat(
        [pd.read_parquet(CTS / f"data_cts_{name}.parquet")
         for name in ("violent_and_sexual_crime", "corruption_and_economic_crime")]
    )  # fmt: skip
    raw = raw[(raw["Unit of measurement"] == unit) & ~raw["Category"].isin(UNMAPPED)]
    raw = raw.drop_duplicates(["Iso3_code", "Year", "Sex", "Age", "Indicator", "Category"])
    keys = ["Iso3_code", "Year", "Sex", "Age"]
    children = raw[raw["Category"].str.contains(": ")].assign(
        parent=lambda d: d["Category"].str.split(": ").str[0]
    )
    sums = children.groupby([*keys, "Indicator", "parent"], as_index=False)["VALUE"].sum()
    parents = raw.rename(columns={"Category": "parent", "VALUE": "parent_value"})
    joined = sums.merge(parents[[*keys, "Indicator", "parent", "parent_value"]])
    bad = joined[joined["VALUE"] > joined["parent_value"] * (1 + 1e-9) + 1e-9]
    return {(r.Iso3_code, int(r.Year), r.Sex, r.parent) for r in bad.itertuples()}


def test_un_cts_hierarchy_findings_match_the_files(stats_client):
    data = stats_client.get("/api/stats/unodc_cts/hierarchy", params={"limit": 100_000}).json()
    labels = {"0301": "Sexual violence", "0502": "Theft", "0703": "Corruption"}
    found = {
        (f["area_id"], f["year"], f["sex"], labels[f["parent_code"]])
        for f in data["findings"]
        if f["unit"] == "Counts"
    }
    expected = _violations_from_the_files("Counts")
    assert found == expected and len(expected) > 50
    assert data["total"] == len(found) + len(
        _violations_from_the_files("Rate per 100,000 population")
    )


def test_country_profile_page_and_twin(stats_client, stats_settings, monkeypatch):
    austria = stats_client.get("/api/stats/unodc_cts/areas/AUT").json()
    raw = pd.read_parquet(CTS / "data_cts_violent_and_sexual_crime.parquet")
    rape = raw[(raw["Iso3_code"] == "AUT") & (raw["Category"] == "Sexual violence: Rape")
               & (raw["Unit of measurement"] == "Counts") & (raw["Sex"] == "Total")]  # fmt: skip
    row = next(r for r in austria["table"] if r["unit"] == "Counts" and r["iccs_code"] == "03011")
    assert {int(k): v for k, v in row["values"].items() if v is not None} == dict(
        zip(rape["Year"].astype(int), rape["VALUE"].astype(float), strict=True)
    )
    finding = next(f for f in austria["findings"] if f["year"] == 2010 and f["unit"] == "Counts")
    assert finding["parent_code"] == "0301" and finding["excess"] == 1.0
    # A category first published after the series starts is a coverage break.
    first_years = raw[(raw["Iso3_code"] == "AUT") & (raw["Unit of measurement"] == "Counts")]
    first_years = first_years.groupby("Category")["Year"].min()
    start = int(raw.loc[raw["Iso3_code"] == "AUT", "Year"].min())
    economic = pd.read_parquet(CTS / "data_cts_corruption_and_economic_crime.parquet")
    start = min(start, int(economic.loc[economic["Iso3_code"] == "AUT", "Year"].min()))
    late = {c: int(y) for c, y in first_years.items() if y > start}
    flagged = {
        b["detail"].split("'")[1]: int(b["period"])
        for b in austria["breaks"]
        if "first recorded" in b["detail"]
    }
    assert len(late) >= 5
    assert all(flagged.get(category) == year for category, year in late.items())
    page = stats_client.get("/stats/unodc_cts/areas/AUT")
    assert page.status_code == 200 and "Austria" in page.text and "exceed 0301 = 3,300" in page.text
    listing = stats_client.get("/stats/unodc_cts")
    assert (
        '/stats/unodc_cts/areas/AUT"' in listing.text
        and "Children exceeding their parent" in listing.text
    )
    quality = stats_client.get("/api/stats/unodc_cts/quality").json()
    assert quality["kind"] == "aggregate" and quality["hierarchy_findings"] == len(
        quality["findings"]
    )
    wdi = stats_client.get("/api/stats/wdi_homicide/areas/MEX").json()
    assert wdi["units"] == ["Rate per 100,000 population"] and wdi["findings"] == []
    missing = stats_client.get("/api/stats/unodc_cts/areas/XXX")
    assert missing.status_code == 404
    monkeypatch.setenv("CRIMEPREV_DATA_DIR", str(stats_settings.data_dir))
    runner = CliRunner()
    result = runner.invoke(cli, ["stats", "area", "unodc_cts", "AUT"])
    assert result.exit_code == 0 and "Austria" in result.output
    assert "hierarchy: Austria 2010" in " ".join(result.output.split())
    result = runner.invoke(cli, ["stats", "quality", "unodc_cts"])
    assert result.exit_code == 0 and "children exceed their parent" in result.output


def test_un_cts_exported_as_sdmx_ml_round_trips(stats_client):
    response = stats_client.get("/api/stats/unodc_cts/export", params={"format": "sdmx-ml"})
    assert response.status_code == 200
    back = read_sdmx(response.content)
    raw = pd.read_parquet(CTS / "data_cts_corruption_and_economic_crime.parquet")
    burglary = raw[(raw["Iso3_code"] == "GBR_E_W") & (raw["Category"] == "Burglary")
                   & (raw["Year"] == 2019)]  # fmt: skip
    cell = (back["REF_AREA"] == "GBR_E_W") & (back["ICCS"] == "0501")
    got = back[cell & (back["TIME_PERIOD"] == "2019")].set_index("UNIT_MEASURE")["OBS_VALUE"]
    counts = burglary.loc[burglary["Unit of measurement"] == "Counts", "VALUE"].item()
    assert got["NUMBER"] == counts == 383_912  # England and Wales, as in the PROVENANCE note
    assert_allclose(got["PER_100000"], 645.88, atol=0.005)
    assert set(back["SEX"]) <= {"_T", "M", "F"} and set(back["OBS_STATUS"]) == {"A"}
