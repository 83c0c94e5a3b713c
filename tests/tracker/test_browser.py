"""The coverage map in a real browser, on a server whose database holds published reports."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from crimeprev.db import SYSTEM, Database
from crimeprev.tracker import service
from crimeprev.tracker.access import TrackerActor
from crimeprev.tracker.service import AnswerInput


@pytest.fixture(scope="module")
def reporting_server(
    tmp_path_factory: pytest.TempPathFactory, run_server, warehouse_url
) -> Iterator[str]:
    """`crimeprev serve` on a SQLite database where Kenya and Brazil published answers, and
    on the warehouse of WDI homicide rates and UN-CTS offences: one server for the module's
    tests (each server start imports the whole app)."""
    tmp_path = tmp_path_factory.mktemp("tracker-browser")
    url = f"sqlite:///{(tmp_path / 'tracker.sqlite').as_posix()}"
    database = Database(url)
    database.upgrade()
    secretariat = TrackerActor(principal=SYSTEM, secretariat=True, states=frozenset())
    with database.transaction() as session:
        service.sync_reference(session)
        for state, paragraphs in (("KEN", (21, 22, 26)), ("BRA", (21,))):
            submission = service.save_submission(
                session,
                secretariat,
                discussion=1,
                state=state,
                answers=[AnswerInput(1, f"{state} answer.", paragraphs=paragraphs)],
            )
            service.submit_submission(session, secretariat, submission.id)
            service.publish_submission(session, secretariat, submission.id)
    database.dispose()
    environment = {"CRIMEPREV_DATABASE_URL": url, "CRIMEPREV_WAREHOUSE_URL": warehouse_url}
    with run_server(tmp_path / "data", environment) as address:
        yield address


@pytest.mark.browser
@pytest.mark.slow
def test_coverage_map_draws_and_shades_reporting_states(reporting_server, browser):
    page = browser.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    try:
        page.goto(reporting_server + "/tracker/coverage", timeout=180_000)
        page.locator("#tracker-coverage-map[data-rendered=true] svg").wait_for(timeout=60_000)
        # Every outline of the 1:110m atlas is drawn (177 shapes) in the base layer;
        # the second layer shades exactly the reporting States, found by ISO numeric code.
        layers = page.locator("#tracker-coverage-map svg g.mark-shape")
        assert layers.count() == 2
        assert layers.nth(0).locator("path").count() == 177
        shaded = layers.nth(1).locator("path").evaluate_all("ps => ps.map(p => p.ariaLabel)")
        assert sorted(shaded) == [
            "Paragraphs reported on: 1; State: Brazil; Paragraphs: 1; "
            "Answers and practices: 1; link: /tracker/states/BRA",
            "Paragraphs reported on: 3; State: Kenya; Paragraphs: 3; "
            "Answers and practices: 3; link: /tracker/states/KEN",
        ]
        assert errors == []
    finally:
        page.close()


@pytest.fixture
def warehouse_server(reporting_server: str) -> str:
    """The module's server: its warehouse holds WDI homicide rates and UN-CTS offences."""
    return reporting_server


@pytest.mark.browser
@pytest.mark.slow
def test_state_trends_draw_interval_bands_and_break_rules(warehouse_server, browser):
    page = browser.new_page()
    problems: list[str] = []
    page.on("pageerror", lambda error: problems.append(str(error)))
    page.on(
        "console", lambda m: problems.append(m.text) if m.type in ("error", "warning") else None
    )
    try:
        page.goto(warehouse_server + "/tracker/states/KEN", timeout=180_000)
        charts = page.locator(".tracker-chart")
        count = charts.count()
        assert count >= 10
        for index in range(count):
            charts.nth(index).locator("svg").wait_for(timeout=60_000)
        # 16.1.1 (WDI rates, no counts): a line and the rule of the 2013 gap, no band.
        homicide = charts.nth(0)
        assert homicide.locator("g.mark-area").count() == 0
        assert homicide.locator("g.mark-rule.breaks_marks line").count() == 1
        # Kidnapping (third chart): the band of the Garwood intervals and the 2016 gap.
        kidnapping = charts.nth(2)
        assert kidnapping.locator("g.mark-area.band_layer_0_marks path").count() == 1
        assert kidnapping.locator("g.mark-rule.breaks_marks line").count() == 1
        assert kidnapping.locator("g.mark-symbol path").count() == 18  # one point a year
        assert problems == []
    finally:
        page.close()
