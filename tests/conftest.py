"""Fixtures shared by the whole suite: settings in a temporary folder, the app,
PostgreSQL, and a real server for browser tests."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

from crimeprev.config import Settings
from crimeprev.web.app import create_app

#: Registry fixtures (`database`, `registry_settings`, `registry_client`) for every domain.
pytest_plugins = ("registry_fixtures",)

IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}
DEFAULT_POSTGRES_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
CHROMIUM = os.environ.get("CRIMEPREV_CHROMIUM", "/usr/bin/chromium")


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """Settings whose data directory is a fresh temporary folder."""
    return Settings(data_dir=tmp_path / "data", secret_key="test-secret-key")


@pytest.fixture
def app(settings: Settings):
    return create_app(settings)


@pytest.fixture
def client(app) -> Iterator[TestClient]:
    with TestClient(app, raise_server_exceptions=False) as test_client:
        yield test_client


def postgres_url() -> str:
    """The PostgreSQL URL for tests (``CRIMEPREV_TEST_POSTGRES_URL``)."""
    return os.environ.get("CRIMEPREV_TEST_POSTGRES_URL", DEFAULT_POSTGRES_URL)


@pytest.fixture(scope="session")
def postgres_engine():
    """A SQLAlchemy engine on the test PostgreSQL; skip when absent (fail under CI)."""
    from sqlalchemy import create_engine, text

    url = postgres_url()
    engine = create_engine(url, pool_pre_ping=True)
    try:
        with engine.connect() as connection:
            connection.execute(text("select 1"))
    except Exception as error:  # any connection failure means the server is unavailable
        engine.dispose()
        message = f"PostgreSQL unreachable at {url}: {error.__class__.__name__}: {error}"
        if IN_CI:
            pytest.fail(message + " (CI requires it)")
        pytest.skip(message)
    yield engine
    engine.dispose()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="session")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Start the real server (``crimeprev serve``) on a free port and yield its URL."""
    data_dir = tmp_path_factory.mktemp("live-data")
    port = _free_port()
    env = {**os.environ, "CRIMEPREV_DATA_DIR": str(data_dir), "CRIMEPREV_PORT": str(port)}
    command = [sys.executable, "-m", "crimeprev", "serve", "--port", str(port)]
    log = (data_dir / "server.log").open("w")
    process = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)
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


@pytest.fixture(scope="session")
def browser():
    """A headless Debian Chromium driven by Playwright; skip when absent (fail under CI)."""
    if not (Path(CHROMIUM).exists() or shutil.which(CHROMIUM)):
        message = (
            f"Chromium not found at {CHROMIUM}: install Debian's package 'chromium' "
            "(apt-get install chromium) to run the browser tests"
        )
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
            ],
        )
        yield instance
        instance.close()
