"""The survey page in a real browser: charts draw, the dark-figure form works."""

from __future__ import annotations

import pytest


@pytest.mark.browser
@pytest.mark.slow
def test_survey_page_draws_charts_and_the_dark_figure(live_server, browser):
    page = browser.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    try:
        page.goto(live_server + "/survey", timeout=180_000)
        page.locator(
            "#survey-victimisations-chart svg, #survey-victimisations-chart canvas"
        ).first.wait_for(timeout=60_000)
        page.fill("textarea[name=police]", "0501, 1000000, 2021\n0401, 200000, 2021")
        page.click("form[hx-post] button")
        page.locator(
            "#survey-dark-figure-chart svg, #survey-dark-figure-chart canvas"
        ).first.wait_for(timeout=60_000)
        table = page.locator("#survey-dark-figure table").inner_text()
        assert "Burglary and trespass" in table and "1,000,000" in table
        assert errors == []
    finally:
        page.close()
