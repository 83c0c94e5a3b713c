"""Backups leave the tracker's derived search index out, and a restore leaves it to be rebuilt.

The index (about 80 posting rows per document in real texts) is rebuilt from
the documents, so copying it only makes backups larger. A backup taken before
it was left out still restores. Totals are checked against the documents'
words counted here (the words are ones both databases' tokenizers keep as they
are).
"""

from __future__ import annotations

import json
import shutil

from sqlalchemy import text

from crimeprev.assets import backup
from crimeprev.db import Database
from crimeprev.tracker.search import index_document, search
from crimeprev.tracker.search_index import DERIVED_TABLES, index_ready

WORDS = ["crimson", "kestrel", "walnut", "harbor", "falcon", "copper", "lantern", "garden"]
#: The index's real tables (the others are SQLite FTS5 tables, never copied).
STORED = (
    "tracker_search_posting",
    "tracker_search_docinfo",
    "tracker_search_value",
    "tracker_search_state",
    "tracker_search_change",
)


def _texts() -> dict[int, str]:
    """60 documents: document n holds word i when (n * (i + 3)) % 7 < 3, so counts differ."""
    return {
        number: " ".join(word for i, word in enumerate(WORDS) if (number * (i + 3)) % 7 < 3)
        or "garden"
        for number in range(1, 61)
    }


def _add(session, number: int, body: str) -> None:
    index_document(
        session,
        kind="practice",
        ref_id=number,
        state_iso3="KEN",
        published=True,
        title=f"practice {number}",
        body=body,
        link=f"/tracker/practices/{number}",
        facets={"country": ["KEN"]},
    )


def _fill(database: Database) -> dict[int, str]:
    texts = _texts()
    with database.transaction() as session:
        for number, body in texts.items():
            _add(session, number, body)
    return texts


def _assert_totals(database: Database, texts: dict[int, str]) -> None:
    for word in WORDS:
        expected = sum(word in body.split() for body in texts.values())
        with database.transaction() as session:
            assert search(session, word).total == expected, word


def _with_index(database: Database, document: dict) -> dict:
    """`document` as a backup made before the index was left out (it carried the index)."""
    old = json.loads(json.dumps(document))
    with database.engine.connect() as connection:
        for name in STORED:
            result = connection.execute(text(f"select * from {name}"))
            old["tables"][name] = {
                "columns": list(result.keys()),
                "rows": [[backup.encode_value(v) for v in row] for row in result],
            }
            old["counts"][name] = len(old["tables"][name]["rows"])
    old["tables_sha256"] = backup._digest(old["tables"])
    return old


def test_backup_leaves_the_index_out(database):
    texts = _fill(database)
    with database.transaction() as session:
        search(session, "kestrel")
        document = backup.create_backup(session)
        postings = session.execute(text("select count(*) from tracker_search_posting")).scalar()
    assert postings > len(texts) * 3  # the index is there, and larger than the documents
    assert not set(DERIVED_TABLES) & set(document["tables"])
    assert not set(DERIVED_TABLES) & set(document["counts"])
    assert document["counts"]["tracker_search_document"] == len(texts)
    assert sum(document["counts"].values()) < postings
    old = _with_index(database, document)
    assert len(json.dumps(document)) < len(json.dumps(old))


def test_a_restore_leaves_the_index_to_rebuild_and_searches_exactly(database):
    texts = _fill(database)
    with database.transaction() as session:
        document = backup.create_backup(session)
    with database.transaction() as session:  # undone by the restore
        _add(session, 61, "kestrel walnut")
        _add(session, 5, "copper")
    _assert_totals(database, {**texts, 61: "kestrel walnut", 5: "copper"})
    with database.transaction() as session:
        restored = backup.restore_backup(session, "operator", document, replace=True)
        assert not index_ready(session.connection())
    assert not set(DERIVED_TABLES) & set(restored.counts)
    _assert_totals(database, texts)


def test_an_old_backup_holding_the_index_still_restores(database):
    texts = _fill(database)
    with database.transaction() as session:
        search(session, "kestrel")
        document = backup.create_backup(session)
    old = _with_index(database, document)
    with database.transaction() as session:
        _add(session, 61, "kestrel walnut")
    with database.transaction() as session:
        backup.restore_backup(session, "operator", old, replace=True)
    _assert_totals(database, texts)
    with database.transaction() as session:  # the index keeps working after changes
        _add(session, 61, "kestrel walnut")
    _assert_totals(database, {**texts, 61: "kestrel walnut"})


def test_an_old_backup_restores_where_the_index_was_never_built(database, request, tmp_path):
    texts = _fill(database)
    with database.transaction() as session:
        search(session, "kestrel")
        document = backup.create_backup(session)
    old = _with_index(database, document)
    path = tmp_path / "fresh.sqlite"
    shutil.copy(request.getfixturevalue("sqlite_template"), path)
    fresh = Database(f"sqlite:///{path.as_posix()}")
    try:
        with fresh.transaction() as session:
            assert not index_ready(session.connection())
            backup.restore_backup(session, "operator", old)
        _assert_totals(fresh, texts)
    finally:
        fresh.dispose()
