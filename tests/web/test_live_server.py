"""The real server, started as a user would, and a browser driving it."""

from __future__ import annotations

import httpx
import pytest


def test_real_server_serves_home_and_iccs_json(live_server):
    home = httpx.get(live_server + "/", timeout=10)
    assert home.status_code == 200 and "crimeprev" in home.text
    code = httpx.get(live_server + "/api/iccs/0501", timeout=10).json()
    assert code["label"] == "Burglary"


@pytest.mark.browser
def test_browser_search_burglary_and_open_the_result(live_server, browser, tmp_path):
    page = browser.new_page()
    try:
        page.goto(live_server + "/")
        page.get_by_role("link", name="ICCS").first.click()
        page.fill("#iccs-q", "burglary")
        first = page.locator("#iccs-results table.results tbody tr").first
        first.wait_for(timeout=10_000)
        assert first.locator("a.code").inner_text() == "0501"
        first.locator("a.code").click()
        page.wait_for_url("**/iccs/0501")
        assert page.locator("#code").inner_text() == "0501"
        children = page.locator("#children").inner_text()
        for child in ("05011", "05012", "05013", "05019"):
            assert child in children
        page.screenshot(path=str(tmp_path / "iccs-0501.png"), full_page=True)
        assert (tmp_path / "iccs-0501.png").stat().st_size > 1000
    finally:
        page.close()
