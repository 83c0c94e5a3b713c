"""``crimeprev tracker reindex``, the index built by ``db upgrade`` and the demo, and a restored
backup searching exactly (SQLite and PostgreSQL).

Results are checked against the brute-force BM25, totals and facet counts of
test_search_exact.py, and the index's counts against the documents' words
counted here in plain Python.
"""

from __future__ import annotations

import threading

import pytest
from typer.testing import CliRunner

from crimeprev.assets import backup
from crimeprev.cli.main import app
from crimeprev.config import Settings
from crimeprev.demo import tracker as tracker_demo
from crimeprev.tracker.search import search
from crimeprev.tracker.search_index import (
    DERIVED_TABLES,
    index_counts,
    index_ready,
    invalidate_index,
    rebuild_index,
)

from .test_search_exact import BULK, QUERIES, _brute_force, _bulk_load, _documents, _index

runner = CliRunner()


def _bulk(documents: dict[int, dict]) -> dict[int, dict]:
    return {number: item for number, item in documents.items() if number <= BULK}


def _pairs(documents: dict[int, dict]) -> int:
    """Postings expected: distinct (word, document) pairs (the words are kept as they are)."""
    return sum(
        len(set((item["title"] + " " + item["body"]).split())) for item in documents.values()
    )


def _assert_exact(database, documents: dict[int, dict]) -> None:
    for query, filters, scope in QUERIES:
        ranking, scores, facets = _brute_force(documents, set(query.split()), filters, scope)
        with database.transaction() as session:
            found = search(session, query, filters=filters, unpublished=scope)
        case = f"{query!r} {filters} {scope}"
        assert found.total == len(ranking), case
        assert [hit.ref_id for hit in found.hits] == ranking[:20], case
        for hit in found.hits:
            assert hit.score == pytest.approx(scores[hit.ref_id], abs=2e-6), case
        counted = {
            (n, item.value): item.count for n, items in found.facets.items() for item in items
        }
        assert counted == dict(facets), case


def _nonce(database) -> int:
    with database.transaction() as session:
        return int(
            session.connection()
            .exec_driver_sql("select nonce from tracker_search_state")
            .scalar_one()
        )


@pytest.fixture
def loaded(tracker_db):
    """Documents loaded in bulk, without an index (as after an upgrade or a bulk import)."""
    documents = _bulk(_documents())
    with tracker_db.transaction() as session:
        _bulk_load(session, documents)
    return tracker_db, documents


def _environment(database, tmp_path) -> dict[str, str]:
    return {"CRIMEPREV_DATA_DIR": str(tmp_path / "data"), "CRIMEPREV_DATABASE_URL": database.url}


def test_reindex_command_builds_reports_and_is_idempotent(loaded, tmp_path):
    database, documents = loaded
    with database.transaction() as session:
        assert not index_ready(session.connection())
    environment = _environment(database, tmp_path)
    first = runner.invoke(app, ["tracker", "reindex"], env=environment)
    assert first.exit_code == 0, first.output
    assert "tokenizing the documents" in first.output
    postings = _pairs(documents)
    assert f"{len(documents):,} documents, {postings:,} postings in " in first.output
    with database.transaction() as session:
        assert index_ready(session.connection())
    nonce = _nonce(database)
    _assert_exact(database, documents)
    again = runner.invoke(app, ["tracker", "reindex"], env=environment)
    assert again.exit_code == 0, again.output
    assert f"{len(documents):,} documents, {postings:,} postings in " in again.output
    assert _nonce(database) != nonce  # rebuilt, so every process's cache is dropped
    _assert_exact(database, documents)


def test_reindex_after_changes_keeps_searches_exact(loaded):
    """A search's cached snapshot, then changes, a rebuild and more changes: still exact."""
    database, documents = loaded
    everything = _documents()
    with database.transaction() as session:
        rebuild_index(session.connection())
    _assert_exact(database, documents)
    with database.transaction() as session:
        for number in range(BULK + 1, BULK + 50):
            _index(session, number, everything[number])
            documents[number] = everything[number]
    with database.transaction() as session:
        counts = rebuild_index(session.connection())
    assert (counts.documents, counts.postings) == (len(documents), _pairs(documents))
    with database.transaction() as session:
        for number in range(BULK + 50, BULK + 80):
            _index(session, number, everything[number])
            documents[number] = everything[number]
    _assert_exact(database, documents)


@pytest.mark.postgres
def test_reindex_beside_a_writer_on_postgres(loaded, tracker_db):
    """A document indexed while the rebuild runs is in the index afterwards (neither fails)."""
    database, documents = loaded
    if database.engine.dialect.name != "postgresql":
        pytest.skip("concurrent writers are a PostgreSQL case (SQLite queues them)")
    with database.transaction() as session:
        rebuild_index(session.connection())
    extra = _documents()[BULK + 1]
    errors: list[BaseException] = []

    def write() -> None:
        try:
            with database.transaction() as session:
                _index(session, BULK + 1, extra)
        except BaseException as error:  # noqa: BLE001 - reported by the assertion below
            errors.append(error)

    with database.transaction() as session:
        rebuild_index(session.connection())
        writer = threading.Thread(target=write)
        writer.start()
        writer.join(0.5)
        assert writer.is_alive()  # it waits for the rebuild's lock
    writer.join(60)
    assert not errors
    documents[BULK + 1] = extra
    _assert_exact(database, documents)


def test_db_upgrade_builds_a_missing_index(loaded, tmp_path):
    database, documents = loaded
    environment = _environment(database, tmp_path)
    built = runner.invoke(app, ["db", "upgrade"], env=environment)
    assert built.exit_code == 0, built.output
    assert f"search index built: {len(documents):,} documents" in built.output
    nonce = _nonce(database)
    kept = runner.invoke(app, ["db", "upgrade"], env=environment)
    assert kept.exit_code == 0, kept.output
    assert "tracker search index already built" in kept.output
    assert _nonce(database) == nonce
    _assert_exact(database, documents)


def test_demo_leaves_the_index_built(tmp_path):
    settings = Settings(data_dir=tmp_path / "demo", secret_key="k")
    tracker_demo.build(settings)
    from crimeprev.db import Database

    database = Database(settings.database_url)
    try:
        with database.transaction() as session:
            assert index_ready(session.connection())
            invalidate_index(session.connection())  # e.g. a restore
        assert tracker_demo.build(settings).startswith("tracker demo already loaded")
        with database.transaction() as session:
            assert index_ready(session.connection())
            assert index_counts(session.connection()).documents > 0
    finally:
        database.dispose()


def test_a_restored_backup_searches_exactly(loaded):
    database, documents = loaded
    with database.transaction() as session:
        rebuild_index(session.connection())
    _assert_exact(database, documents)  # a cached snapshot in this process
    with database.transaction() as session:
        document = backup.create_backup(session)
    assert not set(DERIVED_TABLES) & set(document["tables"])
    everything = _documents()
    with database.transaction() as session:  # changes after the backup, which the restore undoes
        _index(session, BULK + 1, everything[BULK + 1])
        _index(session, 7, everything[BULK + 2])
    with database.transaction() as session:
        backup.restore_backup(session, "operator", document, replace=True)
    with database.transaction() as session:
        assert not index_ready(session.connection())  # rebuilt by the next search
    _assert_exact(database, documents)
