"""The crime profile in a real browser: the trend chart and the choropleth draw from the
JSON twin (Vega-Lite vendored, no tile server)."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import httpx
import pytest

from crimeprev.store import open_warehouse
from crimeprev.store.bundled import load_bundled_areas
from crimeprev.store.ingest import import_file
from crimeprev.store.profiles import load_profile


@pytest.fixture(scope="module")
def stats_server(tmp_path_factory):
    """``crimeprev serve`` over a data directory holding the Vancouver 2020 source."""
    import socket

    data_dir = tmp_path_factory.mktemp("stats-live")
    warehouse = open_warehouse(f"duckdb://{data_dir / 'warehouse.duckdb'}")
    list(load_bundled_areas(warehouse))
    profile = load_profile("vancouver_2020")
    import_file(warehouse, profile, profile.bundled_paths()[0])
    warehouse.close()
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = int(sock.getsockname()[1])
    env = {**os.environ, "CRIMEPREV_DATA_DIR": str(data_dir), "CRIMEPREV_PORT": str(port)}
    log = (data_dir / "server.log").open("w")
    process = subprocess.Popen(
        [sys.executable, "-m", "crimeprev", "serve", "--port", str(port)],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 180
        while True:
            if process.poll() is not None:
                pytest.fail(f"server exited: {(data_dir / 'server.log').read_text()}")
            try:
                if httpx.get(url + "/api/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                pytest.fail("server did not answer /api/health within 180 s")
            time.sleep(0.2)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()


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
