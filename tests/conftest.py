"""Fixtures shared by the whole suite: settings in a temporary folder, the app,
PostgreSQL, and a real server for browser tests."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
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


@contextmanager
def running_server(
    data_dir: Path, env: Mapping[str, str] | None = None, *, timeout: float = 180.0
) -> Iterator[str]:
    """Run ``crimeprev serve`` on ``data_dir`` and a free port until the block ends.

    Browser tests need the real server process (not the in-process TestClient), so
    this starts it with ``env`` added to the environment, waits for ``/api/health``,
    yields the base URL and always stops the process. The server's output goes to
    ``data_dir / "server.log"`` and is shown when it dies before answering.
    """
    data_dir.mkdir(parents=True, exist_ok=True)
    port = _free_port()
    environment = {
        **os.environ,
        **(env or {}),
        "CRIMEPREV_DATA_DIR": str(data_dir),
        "CRIMEPREV_PORT": str(port),
    }
    command = [sys.executable, "-m", "crimeprev", "serve", "--port", str(port)]
    log_path = data_dir / "server.log"
    with log_path.open("w") as log:
        process = subprocess.Popen(command, env=environment, stdout=log, stderr=subprocess.STDOUT)
        url = f"http://127.0.0.1:{port}"
        try:
            _wait_for_health(process, url, log_path, timeout)
            yield url
        finally:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def _wait_for_health(
    process: subprocess.Popen[bytes], url: str, log_path: Path, timeout: float
) -> None:
    """Poll ``/api/health`` until it answers 200; fail if the server exits or is too slow."""
    deadline = time.monotonic() + timeout
    while True:
        if process.poll() is not None:
            pytest.fail(f"server exited: {log_path.read_text()}")
        try:
            if httpx.get(url + "/api/health", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline:
            pytest.fail(f"server did not answer /api/health within {timeout:g} s")
        time.sleep(0.2)


@pytest.fixture(scope="session")
def run_server():
    """The :func:`running_server` context manager, for fixtures that prepare their own data."""
    return running_server


@pytest.fixture(scope="session")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Start the real server (``crimeprev serve``) on a free port and yield its URL."""
    with running_server(tmp_path_factory.mktemp("live-data")) as url:
        yield url


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
