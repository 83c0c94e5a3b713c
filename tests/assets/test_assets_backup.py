"""Backup and restore of the whole database: round trip on SQLite and PostgreSQL, refusal of a
non-empty target, damaged files, and the CLI commands."""

from __future__ import annotations

import gzip
import json
from datetime import date

import pytest
from typer.testing import CliRunner

from crimeprev.assets import backup, cooperation, ledger, registry
from crimeprev.assets import cases as case_service
from crimeprev.assets.lifecycle import State
from crimeprev.assets.money import Money
from crimeprev.cli.main import app
from crimeprev.db import accounts as acc
from crimeprev.db.audit import verify_audit_chain
from crimeprev.db.testing import reset_database
from crimeprev.errors import ConflictError, DataFileError
from crimeprev.web.api.assets import export_json

PASSWORD = "correct horse battery"  # as in conftest.py


@pytest.fixture
def filled(database, people):
    """A small registry: a case with an order, a request, an asset sold at interim, a fund entry."""
    manager, admin = people["manager"], people["admin"]
    with database.transaction() as session:
        case = case_service.create_case(
            session,
            manager,
            reference="AR-B",
            title="Fictional backup case",
            jurisdiction="ITA",
            opened_on=date(2025, 1, 1),
            offences=["07041"],
        )
        case_service.add_court_order(
            session,
            manager,
            case.id,
            reference="ORD-1",
            kind="seizure",
            authority="Fictional court",
            issued_on=date(2025, 1, 5),
        )
        cooperation.add_request(
            session,
            manager,
            case.id,
            direction="outgoing",
            kind="seizure",
            counterpart_state="FRA",
            reference="MLA-1",
            sent_on=date(2025, 1, 6),
        )
        asset = registry.create_asset(
            session,
            manager,
            case.id,
            reference="AS-B",
            category="vehicle",
            description="Fictional car",
            country="ITA",
            identified_on=date(2025, 1, 2),
        )
        registry.add_valuation(
            session,
            manager,
            asset.id,
            valued_on=date(2025, 1, 3),
            amount=Money.of("12000.50", "EUR"),
            method="market",
        )
        for state in (State.SEIZED, State.UNDER_MANAGEMENT):
            registry.transition_asset(
                session,
                admin,
                asset.id,
                registry.TransitionRequest(state, date(2025, 1, 7), court_order="ORD-1"),
            )
        registry.transition_asset(
            session,
            admin,
            asset.id,
            registry.TransitionRequest(
                State.INTERIM_SOLD,
                date(2025, 2, 1),
                court_order="ORD-1",
                owner_consent=True,
                realised=Money.of("11000", "EUR"),
            ),
        )
        ledger.allocate(
            session,
            manager,
            amount=Money.of("1000", "EUR"),
            purpose="victims",
            posted_on=date(2025, 2, 2),
            description="Fictional compensation",
        )
    return database


def _snapshot(database, people):
    with database.transaction() as session:
        return export_json(session, people["admin"])


def test_round_trip_restores_everything_and_the_audit_chain(filled, people):
    database = filled
    before = _snapshot(database, people)
    with database.transaction() as session:
        document = backup.create_backup(session)
    assert document["audit"]["valid"] and document["audit"]["records"] > 10
    assert document["counts"]["asset"] == 1 and document["counts"]["fund_posting"] == 4
    text = json.dumps(document)  # the document is plain JSON
    reset_database(database.engine)
    with database.transaction() as session:
        assert export_json(session, people["admin"])["cases"] == []
        result = backup.restore_backup(session, "operator", json.loads(text), source="b.json")
    assert result.counts == document["counts"] and not result.replaced
    assert _snapshot(database, people) == before
    with database.transaction() as session:
        check = verify_audit_chain(session)
        assert check.valid and check.records == document["audit"]["records"] + 1  # + the restore
        again = backup.create_backup(session)
    for name, body in document["tables"].items():
        if name not in {"audit_log", "audit_head"}:
            assert again["tables"][name] == body, name
    # the restored registry keeps working: new ids do not collide, passwords still sign in
    with database.transaction() as session:
        asset = registry.create_asset(
            session,
            people["manager"],
            before["cases"][0]["id"],
            reference="AS-B2",
            category="cash",
            description="Fictional cash",
            country="ITA",
            identified_on=date(2025, 3, 1),
        )
        assert asset.id > before["cases"][0]["assets"][0]["id"]
        assert acc.authenticate(session, "manager", PASSWORD).username == "manager"


def test_non_empty_target_is_refused_unless_replaced(filled, people):
    database = filled
    with database.transaction() as session:
        document = backup.create_backup(session)
    with pytest.raises(ConflictError, match="not empty"), database.transaction() as session:
        backup.restore_backup(session, "operator", document)
    asset_id = document["tables"]["asset"]["rows"][0][0]
    with database.transaction() as session:  # a change after the backup, to be replaced
        registry.add_party(
            session, people["manager"], asset_id, name="Fictional owner", role="owner"
        )
    with database.transaction() as session:
        result = backup.restore_backup(session, "operator", document, replace=True)
    assert result.replaced
    with database.transaction() as session:
        assert export_json(session, people["admin"])["cases"][0]["assets"][0].get("parties") == []
        assert verify_audit_chain(session).valid


def test_damaged_or_foreign_files_are_refused_and_nothing_written(filled, people):
    database = filled
    with database.transaction() as session:
        document = backup.create_backup(session)
    reset_database(database.engine)
    edited = json.loads(json.dumps(document))
    edited["tables"]["asset"]["rows"][0][1] += 1  # move the asset to another case
    with pytest.raises(DataFileError, match="do not match its digest"), database.transaction() as s:
        backup.restore_backup(s, "operator", edited)
    with pytest.raises(DataFileError, match="not a crimeprev backup"), database.transaction() as s:
        backup.restore_backup(s, "operator", {"format": "something else"})
    old = json.loads(json.dumps(document))
    old["schema_revisions"] = ["0001_core"]
    with pytest.raises(DataFileError, match="other schema revisions"), database.transaction() as s:
        backup.restore_backup(s, "operator", old)
    forged = json.loads(json.dumps(document))
    audit = forged["tables"]["audit_log"]
    action = audit["columns"].index("action")
    audit["rows"][0][action] = "forged"  # rewrite history, then fix the file's digest
    forged["tables_sha256"] = backup._digest(forged["tables"])
    with pytest.raises(ConflictError, match="audit chain"), database.transaction() as s:
        backup.restore_backup(s, "operator", forged)
    with database.transaction() as session:
        assert backup._is_empty(session, backup._data_tables(session.connection())) == []


def test_backup_and_restore_commands(filled, people, monkeypatch, tmp_path):
    database = filled
    monkeypatch.setenv("CRIMEPREV_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("CRIMEPREV_DATABASE_URL", database.url)
    runner = CliRunner()
    before = _snapshot(database, people)
    path = tmp_path / "registry.json.gz"
    made = runner.invoke(app, ["assets", "backup", str(path)])
    assert made.exit_code == 0, made.output
    assert "audit chain valid" in made.output
    assert json.loads(gzip.decompress(path.read_bytes()))["format"] == backup.FORMAT
    refused = runner.invoke(app, ["assets", "restore", str(path)])
    assert refused.exit_code == 2 and "not empty" in " ".join(refused.output.split())
    reset_database(database.engine)
    restored = runner.invoke(app, ["assets", "restore", str(path)])
    assert restored.exit_code == 0, restored.output
    assert "audit chain verifies" in " ".join(restored.output.split())
    assert _snapshot(database, people) == before
    verified = runner.invoke(app, ["assets", "audit-verify"])
    assert verified.exit_code == 0 and "audit chain valid" in verified.output
    junk = tmp_path / "junk.json"
    junk.write_text("{not json", encoding="utf-8")
    assert runner.invoke(app, ["assets", "restore", str(junk)]).exit_code == 2


def test_full_text_index_is_rebuilt_not_copied(database):
    """The tracker's search index (SQLite FTS5 tables, PostgreSQL generated tsvector) is
    derived data: the backup leaves it out and the restored rows are searchable again."""
    from crimeprev.tracker.search import index_document, search

    def add(session, ref_id: int, title: str) -> None:
        index_document(
            session,
            kind="practice",
            ref_id=ref_id,
            state_iso3="KEN",
            published=True,
            title=title,
            body=f"{title} in a fictional ward.",
            link=f"/tracker/practices/{ref_id}",
            facets={"country": ["KEN"]},
        )

    try:
        with database.transaction() as session:
            add(session, 1, "Street lighting")
        with database.transaction() as session:
            document = backup.create_backup(session)
        assert not any(name.startswith("tracker_search_fts") for name in document["tables"])
        assert "search_vector" not in document["tables"]["tracker_search_document"]["columns"]
        with database.transaction() as session:
            add(session, 2, "Burglary prevention")
        with database.transaction() as session:
            backup.restore_backup(session, "operator", document, replace=True)
        with database.transaction() as session:
            assert search(session, "lighting").total == 1
            assert search(session, "burglary").total == 0
    finally:
        # The PostgreSQL schema is shared by the session's registry tests, and the migration
        # test compares it with the models: drop the derived column (and its index) again.
        if database.engine.dialect.name == "postgresql":
            with database.engine.begin() as connection:
                connection.exec_driver_sql(
                    "alter table tracker_search_document drop column if exists search_vector"
                )
