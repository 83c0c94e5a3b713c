"""Killing a process in the middle of a transaction leaves nothing half-written.

First test (both databases): a real child process opens a transaction, takes a
lifecycle step that also books a fund receipt (asset row, event, audit record,
ledger entry), signals that it is mid-transaction and waits; the parent kills
it with SIGKILL. The database must show none of it, and the audit chain must
still verify.

Second test (PostgreSQL): the real server (``crimeprev serve``) is killed with
SIGKILL while it serves that step over HTTP. The test holds the audit chain's
lock, so the server's transaction stops after it has updated the asset row
and inserted the event; PostgreSQL's lock table shows that before the kill.
After the kill nothing of it may be visible. SQLite lets one writer in at a
time, so there the server cannot be caught between two of its writes.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import textwrap
import threading
import time
from datetime import date
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select, text

from crimeprev.assets import cases, registry
from crimeprev.assets.lifecycle import State
from crimeprev.assets.models import Asset, AssetEvent, LedgerEntry
from crimeprev.db import accounts as acc
from crimeprev.db import verify_audit_chain

CHILD = textwrap.dedent(
    """
    import sys, time
    from datetime import date
    from crimeprev.assets import registry
    from crimeprev.assets.lifecycle import State
    from crimeprev.assets.money import Money
    from crimeprev.db import Database, SYSTEM

    database = Database(sys.argv[1])
    with database.transaction() as session:
        registry.transition_asset(session, SYSTEM, int(sys.argv[2]), registry.TransitionRequest(
            State.INTERIM_SOLD, date(2025, 3, 1), court_order="o2", owner_consent=True,
            realised=Money.of("5000", "EUR")))
        session.flush()
        print("mid-transaction", flush=True)
        time.sleep(120)
    """
)


def test_killed_process_leaves_nothing_half_written(database, people, tmp_path):
    admin = people["admin"]
    with database.transaction() as session:
        case = cases.create_case(
            session,
            admin,
            reference="AR-K",
            title="Fictional",
            jurisdiction="ITA",
            opened_on=date(2025, 1, 1),
            agency_code="AMO",
        )
        asset = registry.create_asset(
            session,
            admin,
            case.id,
            reference="A-K",
            category="vehicle",
            description="Fictional",
            country="ITA",
            identified_on=date(2025, 1, 1),
        )
        registry.transition_asset(
            session,
            admin,
            asset.id,
            registry.TransitionRequest(State.SEIZED, date(2025, 2, 1), court_order="o1"),
        )
        asset_id = asset.id
    with database.transaction() as session:
        records_before = verify_audit_chain(session).records
    script = tmp_path / "child.py"
    script.write_text(CHILD)
    child = subprocess.Popen(
        [sys.executable, str(script), database.url, str(asset_id)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert child.stdout is not None
        line = child.stdout.readline()  # blocks until the child is mid-transaction
        assert line.strip() == "mid-transaction", child.stderr.read() if child.stderr else ""
        os.kill(child.pid, signal.SIGKILL)
        child.wait(timeout=30)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait(timeout=30)
        for stream in (child.stdout, child.stderr):
            if stream is not None:
                stream.close()
    assert child.returncode == -signal.SIGKILL
    deadline = time.monotonic() + 30  # PostgreSQL notices the dead connection and rolls back
    while True:
        try:
            with database.transaction() as session:
                asset = session.get(Asset, asset_id)
                state, realised = asset.state, asset.realised_minor
                events = session.execute(
                    select(func.count(AssetEvent.id)).where(AssetEvent.asset_id == asset_id)
                ).scalar_one()
                entries = session.execute(select(func.count(LedgerEntry.id))).scalar_one()
                chain = verify_audit_chain(session)
            break
        except Exception:  # the killed writer's lock may linger for a moment
            if time.monotonic() > deadline:
                raise
            time.sleep(0.5)
    assert (state, realised, events, entries) == ("seized", None, 2, 0)
    assert chain.valid and chain.records == records_before


def _seized_asset(database, admin, reference: str) -> int:
    with database.transaction() as session:
        case = cases.create_case(
            session,
            admin,
            reference=f"AR-{reference}",
            title="Fictional",
            jurisdiction="ITA",
            opened_on=date(2025, 1, 1),
            agency_code="AMO",
        )
        asset = registry.create_asset(
            session,
            admin,
            case.id,
            reference=reference,
            category="vehicle",
            description="Fictional",
            country="ITA",
            identified_on=date(2025, 1, 1),
        )
        registry.transition_asset(
            session,
            admin,
            asset.id,
            registry.TransitionRequest(State.SEIZED, date(2025, 2, 1), court_order="o1"),
        )
        return int(asset.id)


def _start_server(database_url: str, folder: Path) -> tuple[subprocess.Popen[bytes], str]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = int(sock.getsockname()[1])
    env = {
        **os.environ,
        "CRIMEPREV_DATA_DIR": str(folder),
        "CRIMEPREV_DATABASE_URL": database_url,
        "CRIMEPREV_SECRET_KEY": "crash-test-secret",
    }
    log = (folder / "server.log").open("wb")
    command = [sys.executable, "-m", "crimeprev", "serve", "--host", "127.0.0.1"]
    server = subprocess.Popen([*command, "--port", str(port)], env=env, stdout=log, stderr=log)
    log.close()
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 180
    while True:
        assert server.poll() is None, (folder / "server.log").read_text()
        try:
            if httpx.get(url + "/api/health", timeout=1).status_code == 200:
                return server, url
        except httpx.HTTPError:
            pass
        assert time.monotonic() < deadline, "server did not answer /api/health within 180 s"
        time.sleep(0.2)


#: Backends of the server (not the client) holding row locks on both tables and waiting
#: for another lock: a transaction caught between its writes.
CAUGHT = """
select waiting.pid from pg_stat_activity waiting
where waiting.wait_event_type = 'Lock' and waiting.pid <> pg_backend_pid()
  and exists (select 1 from pg_locks l where l.pid = waiting.pid and l.granted
              and l.mode = 'RowExclusiveLock' and l.relation = 'asset'::regclass)
  and exists (select 1 from pg_locks l where l.pid = waiting.pid and l.granted
              and l.mode = 'RowExclusiveLock' and l.relation = 'asset_event'::regclass)
"""


@pytest.mark.parametrize(
    "database", [pytest.param("postgres", marks=pytest.mark.postgres)], indirect=True
)
def test_killed_server_mid_request_leaves_nothing_half_written(database, people, tmp_path):
    admin = people["admin"]
    asset_id = _seized_asset(database, admin, "A-S")
    with database.transaction() as session:
        token = acc.create_api_token(session, acc.SYSTEM, "admin", name="crash test").secret
        version = session.get(Asset, asset_id).version
        records_before = verify_audit_chain(session).records
    server, url = _start_server(database.url, tmp_path)
    outcome: list[object] = []
    step = {
        "to_state": "interim_sold",
        "occurred_on": "2025-03-01",
        "court_order": "o2",
        "owner_consent": True,
        "realised": {"amount": "5000.00", "currency": "EUR"},
        "expected_version": version,
    }

    def send() -> None:
        try:
            outcome.append(
                httpx.post(
                    f"{url}/api/assets/items/{asset_id}/transitions",
                    json=step,
                    headers={"Authorization": f"Bearer {token}"},
                    timeout=120,
                )
            )
        except httpx.HTTPError as error:
            outcome.append(error)

    request = threading.Thread(target=send)
    try:
        with database.engine.connect() as holder:
            holder.execute(text("select 1 from audit_head where id = 1 for update"))
            request.start()
            deadline = time.monotonic() + 60
            with database.engine.connect() as watcher:
                while (caught := watcher.execute(text(CAUGHT)).first()) is None:
                    assert time.monotonic() < deadline, "the server never got mid-transaction"
                    assert not outcome, outcome
                    time.sleep(0.1)
            server.send_signal(signal.SIGKILL)
            server.wait(timeout=30)
            holder.rollback()
        request.join(timeout=60)
    finally:
        if server.poll() is None:
            server.kill()
            server.wait(timeout=30)
    assert server.returncode == -signal.SIGKILL
    assert len(outcome) == 1 and isinstance(outcome[0], httpx.HTTPError), outcome
    deadline = time.monotonic() + 60  # the orphaned backend rolls back when it sees EOF
    gone = text("select count(*) from pg_stat_activity where pid = :pid")
    with database.engine.connect() as watcher:
        while watcher.execute(gone, {"pid": caught.pid}).scalar_one():
            assert time.monotonic() < deadline, "the killed server's transaction lingers"
            time.sleep(0.2)
    with database.transaction() as session:
        asset = session.get(Asset, asset_id)
        seen = (asset.state, asset.realised_minor, asset.version)
        events = session.execute(
            select(func.count(AssetEvent.id)).where(AssetEvent.asset_id == asset_id)
        ).scalar_one()
        entries = session.execute(select(func.count(LedgerEntry.id))).scalar_one()
        chain = verify_audit_chain(session)
    assert (seen, events, entries) == (("seized", None, version), 2, 0)
    assert chain.valid and chain.records == records_before
