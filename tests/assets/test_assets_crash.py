"""Killing a process in the middle of a transaction leaves nothing half-written (both DBs).

A real child process opens a transaction, takes a lifecycle step that also
books a fund receipt (asset row, event, audit record, ledger entry), signals
that it is mid-transaction and waits; the parent kills it with SIGKILL. The
database must show none of it, and the audit chain must still verify.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from datetime import date

from sqlalchemy import func, select

from crimeprev.assets import cases, registry
from crimeprev.assets.lifecycle import State
from crimeprev.assets.models import Asset, AssetEvent, LedgerEntry
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
