"""The coverage map in a real browser, on a server whose database holds published reports."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from crimeprev.db import SYSTEM, Database
from crimeprev.tracker import service
from crimeprev.tracker.access import TrackerActor
from crimeprev.tracker.service import AnswerInput


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def reporting_server(tmp_path: Path) -> Iterator[str]:
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
    port = _free_port()
    environment = {
        **os.environ,
        "CRIMEPREV_DATA_DIR": str(tmp_path / "data"),
        "CRIMEPREV_DATABASE_URL": url,
        "CRIMEPREV_PORT": str(port),
    }
    log = (tmp_path / "server.log").open("w")
    process = subprocess.Popen(
        [sys.executable, "-m", "crimeprev", "serve", "--port", str(port)],
        env=environment,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    address = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 180
        while True:
            if process.poll() is not None:
                pytest.fail(f"server exited: {(tmp_path / 'server.log').read_text()}")
            try:
                if httpx.get(address + "/api/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                pytest.fail("server did not answer /api/health within 180 s")
            time.sleep(0.2)
        yield address
    finally:
        process.terminate()
        process.wait(timeout=30)
        log.close()


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
