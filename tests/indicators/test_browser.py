"""The crime profile in a real browser: the trend chart and the choropleth draw from the
JSON twin (Vega-Lite vendored, no tile server)."""

from __future__ import annotations

import pytest

from crimeprev.store import open_warehouse
from crimeprev.store.bundled import load_bundled_areas
from crimeprev.store.ingest import import_file
from crimeprev.store.profiles import load_profile


@pytest.fixture(scope="module")
def stats_server(tmp_path_factory, run_server):
    """``crimeprev serve`` over a data directory holding the Vancouver 2020 source."""
    data_dir = tmp_path_factory.mktemp("stats-live")
    warehouse = open_warehouse(f"duckdb://{data_dir / 'warehouse.duckdb'}")
    list(load_bundled_areas(warehouse))
    profile = load_profile("vancouver_2020")
    import_file(warehouse, profile, profile.bundled_paths()[0])
    warehouse.close()
    with run_server(data_dir) as url:
        yield url


@pytest.mark.browser
def test_choropleth_and_trend_are_drawn(stats_server, browser):
    page = browser.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    try:
        page.goto(stats_server + "/stats/vancouver_2020", timeout=120_000)
        page.wait_for_selector("#stats-map[data-ready='true']", timeout=120_000)
        # One shape per local area: the 22 areas of the boundary file.
        assert page.locator("#stats-map").get_attribute("data-shapes") == "22"
        page.wait_for_selector("#stats-trend[data-ready='true']", timeout=60_000)
        assert page.locator("#heat-weekday-hour td").count() == 7 * 24
        assert errors == []
    finally:
        page.close()


@pytest.mark.browser
def test_area_profile_chart_is_drawn(stats_server, browser):
    """The crime profile of one area (issue #3, QA): its trend chart draws without errors."""
    page = browser.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    try:
        page.goto(stats_server + "/stats/vancouver_2020/areas/FAIR?level=1", timeout=120_000)
        page.wait_for_selector("#area-trend canvas, #area-trend svg", timeout=60_000)
        assert page.locator("#area-trend").get_attribute("data-error") is None
        assert page.locator("#area-categories tbody tr").count() >= 3
        assert errors == []
    finally:
        page.close()
