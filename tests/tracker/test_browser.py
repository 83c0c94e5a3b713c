"""The coverage map in a real browser, on a server whose database holds published reports."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from crimeprev.db import SYSTEM, Database
from crimeprev.tracker import service
from crimeprev.tracker.access import TrackerActor
from crimeprev.tracker.service import AnswerInput


@pytest.fixture
def reporting_server(tmp_path: Path, run_server) -> Iterator[str]:
    """`crimeprev serve` on a SQLite database where Kenya and Brazil published answers."""
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
    with run_server(tmp_path / "data", {"CRIMEPREV_DATABASE_URL": url}) as address:
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
