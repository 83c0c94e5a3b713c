"""The tracker's search index: postings in the database, a snapshot of document data in memory.

:mod:`crimeprev.tracker.search` ranks every match exactly; this module holds
what makes that fast at 100,000 documents on SQLite and PostgreSQL alike.

Why this design (measured at 100,000 documents, bench/bench_tracker_search.py):
FTS5 counts a word's matches in 3-15 ms, but ``ORDER BY rank`` computes BM25
for every match (330 ms for a word in every document), and counting facets
over 100,000 matches in SQL costs more again. Here the database keeps, per
term, one row per document holding it (``tracker_search_posting``: term,
document, the term's count in the title and in the body); the terms come from
each database's own full-text tokenizer (FTS5 ``porter unicode61`` via a
one-row scratch table and ``fts5vocab``; PostgreSQL ``to_tsvector('english')``),
so the words a query matches are the words the engine would match. A search
reads one packed value per query term (SQLite ``group_concat`` of integers,
PostgreSQL a ``bytea`` built with ``int8send``): one row, however many
documents hold the term, because turning 100,000 rows into Python tuples costs
220-300 ms against 35-90 ms for the packed value (measured on a loaded
machine). It then scores, filters, counts and ranks in NumPy over an in-memory
snapshot of every document's visibility, lengths and facet values. Set aside
without building them: BM25 as a SQL aggregate (the facet counts would still
need every match's id in Python, the 220-300 ms above); a threshold
(WAND-style) top-k over impact-ordered postings (the facet counts need every
match anyway, and the scores depend on which documents the searcher may see,
so no stored order fits every searcher).

The snapshot and the terms' postings are cached per process
(:mod:`crimeprev.tracker._search_snapshot`) under the index's *nonce*, a
random number that every change to the index replaces in the same transaction
(:func:`mark_changed`), which also logs the changed document in
``tracker_search_change``. A search reads the nonce in the same statement as
the data it caches, so a cache entry never mixes two states of the index, and
several web workers each notice any change at their next search: they re-read
only the documents changed since their snapshot (a full read of 100,000
documents takes 0.4-0.7 s on a loaded machine; it happens once per process, and
after more than 2,000 changes or a rebuild).

The index is derived data, outside the Alembic schema: :func:`build_index`
creates and fills it when ``tracker_search_state`` has no row (a new database,
or one whose documents were loaded in bulk), and PostgreSQL's ``TRUNCATE`` of
the documents clears it by a trigger. :func:`rebuild_index` (``crimeprev
tracker reindex``) builds it outside a request. It is registered in
:mod:`crimeprev.db.derived`, so backups leave it out and a restore marks it
missing (:func:`invalidate_index`).
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import Connection, text

from crimeprev.db.derived import register_derived_tables
from crimeprev.errors import CrimeprevError

__all__ = [
    "DERIVED_TABLES",
    "STATE_FACET",
    "IndexChanged",
    "IndexCounts",
    "build_index",
    "index_counts",
    "index_ready",
    "invalidate_index",
    "mark_changed",
    "query_terms",
    "rebuild_index",
    "remove_postings",
    "update_postings",
]

#: The index's tables (FTS5 adds shadow tables named after its own, plus a suffix).
DERIVED_TABLES: tuple[str, ...] = (
    "tracker_search_posting",
    "tracker_search_docinfo",
    "tracker_search_value",
    "tracker_search_state",
    "tracker_search_change",
    "tracker_search_fts",
    "tracker_search_fts_instance",
    "tracker_search_scratch",
    "tracker_search_scratch_vocab",
)

#: The reserved facet name under which a document's Member State is coded.
STATE_FACET = "@state"

_TOKENIZER = "porter unicode61 remove_diacritics 2"
_TITLE_BITS, _BODY_BITS = 8, 17  # packed posting: document << 25 | title_tf << 17 | body_tf
_KEEP_CHANGES = 10_000  # change-log rows kept; a process further behind reads everything

_COMMON_DDL = (
    "create table if not exists tracker_search_state (id integer primary key, "
    "nonce bigint not null, generation bigint not null)",
    "create table if not exists tracker_search_change (generation bigint primary key, "
    "document_id integer not null, nonce bigint not null)",
    "create table if not exists tracker_search_docinfo (document_id integer primary key, "
    "published integer not null, state_code integer not null, title_length integer not null, "
    "body_length integer not null, facet_codes text not null)",
)

_SQLITE_DDL = (
    *_COMMON_DDL,
    "create table if not exists tracker_search_posting (term text not null, "
    "document_id integer not null, title_tf integer not null, body_tf integer not null, "
    "primary key (term, document_id)) without rowid",
    "create index if not exists ix_tracker_search_posting_document on "
    "tracker_search_posting (document_id)",
    "create table if not exists tracker_search_value (code integer primary key, "
    "facet text not null, value text not null, unique (facet, value))",
    "create virtual table if not exists tracker_search_fts using fts5(title, body, "
    f"content='tracker_search_document', content_rowid='id', tokenize='{_TOKENIZER}')",
    "create trigger if not exists tracker_search_fts_insert after insert on "
    "tracker_search_document begin insert into tracker_search_fts(rowid, title, body) "
    "values (new.id, new.title, new.body); end",
    "create trigger if not exists tracker_search_fts_delete after delete on "
    "tracker_search_document begin insert into tracker_search_fts(tracker_search_fts, rowid, "
    "title, body) values ('delete', old.id, old.title, old.body); end",
    "create trigger if not exists tracker_search_fts_update after update on "
    "tracker_search_document begin insert into tracker_search_fts(tracker_search_fts, rowid, "
    "title, body) values ('delete', old.id, old.title, old.body); "
    "insert into tracker_search_fts(rowid, title, body) values (new.id, new.title, new.body); end",
    "create virtual table if not exists tracker_search_fts_instance using "
    "fts5vocab(tracker_search_fts, instance)",
    # One document at a time is tokenized here, with the same tokenizer, to count its terms.
    "create virtual table if not exists tracker_search_scratch using fts5(title, body, "
    f"content='', tokenize='{_TOKENIZER}')",
    "create virtual table if not exists tracker_search_scratch_vocab using "
    "fts5vocab(tracker_search_scratch, col)",
)

_POSTGRES_DDL = (
    *_COMMON_DDL,
    "create table if not exists tracker_search_posting (term text not null, "
    "document_id integer not null, title_tf integer not null, body_tf integer not null, "
    "primary key (term, document_id) include (title_tf, body_tf))",
    "create index if not exists ix_tracker_search_posting_document on "
    "tracker_search_posting (document_id)",
    "create table if not exists tracker_search_value (code integer generated by default as "
    "identity primary key, facet text not null, value text not null, unique (facet, value))",
    # Ranking moved to the postings: the tsvector column of earlier versions is not needed.
    "drop index if exists ix_tracker_search_document_search_vector",
    "alter table tracker_search_document drop column if exists search_vector",
    # Without its state row the index counts as missing and the next search rebuilds it.
    # (Deleting, not truncating: the same TRUNCATE statement may list the index's tables.)
    "create or replace function tracker_search_clear() returns trigger language plpgsql as $$ "
    "begin delete from tracker_search_state; return null; end $$",
    "drop trigger if exists tracker_search_truncate on tracker_search_document",
    "create trigger tracker_search_truncate after truncate on tracker_search_document "
    "for each statement execute function tracker_search_clear()",
)

_DERIVED = (
    "tracker_search_posting",
    "tracker_search_docinfo",
    "tracker_search_value",
    "tracker_search_state",
    "tracker_search_change",
)

# The postings of one document (:document, or every document when it is null),
# counted by the database's own tokenizer.
_SQLITE_POSTINGS = (
    "insert into tracker_search_posting (term, document_id, title_tf, body_tf) "
    "select term, :document, sum(case when col = 'title' then cnt else 0 end), "
    "sum(case when col = 'body' then cnt else 0 end) from tracker_search_scratch_vocab "
    "group by term"
)
_SQLITE_ALL_POSTINGS = (
    "insert into tracker_search_posting (term, document_id, title_tf, body_tf) "
    "select term, doc, sum(col = 'title'), sum(col = 'body') from tracker_search_fts_instance "
    "group by term, doc"
)
_POSTGRES_POSTINGS = (
    "insert into tracker_search_posting (term, document_id, title_tf, body_tf) "
    "select lexeme, id, sum(title_tf), sum(body_tf) from ("
    "select d.id, t.lexeme, cardinality(t.positions) as title_tf, 0 as body_tf "
    "from tracker_search_document d, unnest(to_tsvector('english', d.title)) t {where} "
    "union all select d.id, b.lexeme, 0, cardinality(b.positions) "
    "from tracker_search_document d, unnest(to_tsvector('english', d.body)) b {where}"
    ") counted group by lexeme, id"
)
_VALUES = (
    "insert into tracker_search_value (facet, value) "
    "select facet, value from tracker_search_facet f where true {where} "
    f"union select '{STATE_FACET}', state_iso3 from tracker_search_document d "
    "where true {where_document} "
    "on conflict (facet, value) do nothing"
)
_DOCINFO = (
    "insert into tracker_search_docinfo (document_id, published, state_code, title_length, "
    "body_length, facet_codes) select d.id, case when d.published then 1 else 0 end, "
    f"(select code from tracker_search_value where facet = '{STATE_FACET}' "
    "and value = d.state_iso3), "
    "coalesce((select sum(title_tf) from tracker_search_posting p where p.document_id = d.id), 0), "
    "coalesce((select sum(body_tf) from tracker_search_posting p where p.document_id = d.id), 0), "
    "coalesce((select {aggregate} from tracker_search_facet f join tracker_search_value v "
    "on v.facet = f.facet and v.value = f.value where f.document_id = d.id), '') "
    "from tracker_search_document d {where}"
)


class IndexChanged(CrimeprevError, RuntimeError):  # noqa: N818  (a condition, not a fault)
    """The index changed between two reads of one search; the search reads again.

    Only escapes :func:`crimeprev.tracker.search.search` if the index changed
    under three attempts in a row.
    """

    status = 503
    code = "search_index_changing"


def _sqlite(connection: Connection) -> bool:
    return connection.dialect.name == "sqlite"


def index_ready(connection: Connection) -> bool:
    """Whether the index exists and is filled (its state row is there)."""
    if _sqlite(connection):
        exists = connection.exec_driver_sql(
            "select count(*) = 2 from sqlite_master "
            "where name in ('tracker_search_state', 'tracker_search_change')"
        ).scalar_one()
    else:
        exists = connection.exec_driver_sql(
            "select to_regclass('tracker_search_state') is not null "
            "and to_regclass('tracker_search_change') is not null"
        ).scalar_one()
    if not exists:
        return False
    return connection.exec_driver_sql("select count(*) from tracker_search_state").scalar_one() == 1


def build_index(connection: Connection, progress: Callable[[str], None] | None = None) -> None:
    """Create the index's tables and fill them from ``tracker_search_document`` (in bulk).

    `progress`, if given, is told each step's name before the step runs.
    """
    step = progress or (lambda _: None)
    sqlite = _sqlite(connection)
    if not sqlite:
        # Two workers finding the index missing at once must not both fill it; the
        # lock is per schema, so indexes in other schemas build at the same time.
        connection.exec_driver_sql(
            "select pg_advisory_xact_lock(7002001, hashtext(current_schema()))"
        )
        if index_ready(connection):
            return
    step("creating the index tables")
    for statement in _SQLITE_DDL if sqlite else _POSTGRES_DDL:
        connection.exec_driver_sql(statement)
    if sqlite:
        for table in _DERIVED:
            connection.exec_driver_sql(f"delete from {table}")
    else:
        connection.exec_driver_sql(f"truncate {', '.join(_DERIVED)}")
    step("tokenizing the documents and writing the postings")
    if sqlite:
        connection.exec_driver_sql(
            "insert into tracker_search_fts(tracker_search_fts) values ('rebuild')"
        )
        connection.exec_driver_sql(_SQLITE_ALL_POSTINGS)
    else:
        # In term order, so that the rows of one term sit together on disk.
        connection.exec_driver_sql(_POSTGRES_POSTINGS.format(where="") + " order by lexeme, id")
    step("coding the facet values")
    connection.exec_driver_sql(_VALUES.format(where="", where_document=""))
    step("writing each document's lengths and facets")
    connection.exec_driver_sql(_DOCINFO.format(aggregate=_codes(connection), where=""))
    nonce = secrets.randbits(62)
    connection.execute(
        text("insert into tracker_search_state (id, nonce, generation) values (1, :nonce, 1)"),
        {"nonce": nonce},
    )
    connection.execute(
        text(
            "insert into tracker_search_change (generation, document_id, nonce) "
            "values (1, 0, :nonce)"
        ),
        {"nonce": nonce},
    )


@dataclass(frozen=True)
class IndexCounts:
    """What the index holds: documents, postings (term-document rows) and the build's seconds."""

    documents: int
    postings: int
    seconds: float


def index_counts(connection: Connection) -> IndexCounts:
    """Count the built index's documents and postings (``seconds`` is 0)."""
    documents = connection.exec_driver_sql("select count(*) from tracker_search_docinfo")
    postings = connection.exec_driver_sql("select count(*) from tracker_search_posting")
    return IndexCounts(int(documents.scalar_one()), int(postings.scalar_one()), 0.0)


def invalidate_index(connection: Connection) -> None:
    """Mark the index missing (its state row goes), so the next search or reindex rebuilds it.

    Every process's cached snapshot is keyed by the state row's nonce, so none is
    used again. Nothing happens if the index was never built.
    """
    if _sqlite(connection):
        exists = connection.exec_driver_sql(
            "select count(*) from sqlite_master where name = 'tracker_search_state'"
        ).scalar_one()
    else:
        exists = connection.exec_driver_sql(
            "select to_regclass('tracker_search_state') is not null"
        ).scalar_one()
    if exists:
        connection.exec_driver_sql("delete from tracker_search_state")


def rebuild_index(
    connection: Connection, progress: Callable[[str], None] | None = None
) -> IndexCounts:
    """Build the index afresh from ``tracker_search_document``, in the caller's transaction.

    Safe beside a running server: on PostgreSQL it takes the per-schema build
    lock that searches take before building, then the index's state table in
    ``ACCESS EXCLUSIVE`` mode, so it waits for searches and writes under way and
    they wait for it (searches resume on the new index when it commits); on
    SQLite the transaction is ``BEGIN IMMEDIATE``, so writers queue (readers go
    on reading the old index). Running it twice gives the same index.
    """
    started = time.perf_counter()
    if not _sqlite(connection):
        connection.exec_driver_sql(
            "select pg_advisory_xact_lock(7002001, hashtext(current_schema()))"
        )
        if connection.exec_driver_sql(
            "select to_regclass('tracker_search_state') is not null"
        ).scalar_one():
            connection.exec_driver_sql("lock table tracker_search_state in access exclusive mode")
    invalidate_index(connection)
    build_index(connection, progress)
    counts = index_counts(connection)
    return IndexCounts(counts.documents, counts.postings, time.perf_counter() - started)


register_derived_tables(DERIVED_TABLES, reset=invalidate_index)


def _codes(connection: Connection) -> str:
    if _sqlite(connection):
        return "group_concat(v.code, ' ')"
    return "string_agg(v.code::text, ' ')"


def mark_changed(connection: Connection, document_id: int) -> None:
    """Record that one document changed: a new nonce and generation, and a change-log row.

    The state row's update also queues concurrent writers on PostgreSQL, so the
    generations are logged in the order their transactions commit.
    """
    nonce = secrets.randbits(62)
    generation = connection.execute(
        text(
            "update tracker_search_state set nonce = :nonce, generation = generation + 1 "
            "where id = 1 returning generation"
        ),
        {"nonce": nonce},
    ).scalar_one()
    connection.execute(
        text(
            "insert into tracker_search_change (generation, document_id, nonce) "
            "values (:generation, :document, :nonce)"
        ),
        {"generation": generation, "document": document_id, "nonce": nonce},
    )
    connection.execute(
        text("delete from tracker_search_change where generation <= :oldest"),
        {"oldest": int(generation) - _KEEP_CHANGES},
    )


def remove_postings(connection: Connection, document_id: int) -> None:
    """Delete one document's postings and statistics (the caller marks the change)."""
    for table in ("tracker_search_posting", "tracker_search_docinfo"):
        connection.execute(
            text(f"delete from {table} where document_id = :document"), {"document": document_id}
        )


def update_postings(connection: Connection, document_id: int) -> None:
    """(Re)compute one document's postings, facet codes and lengths, and mark the change."""
    remove_postings(connection, document_id)
    parameters = {"document": document_id}
    if _sqlite(connection):
        title, body = connection.execute(
            text("select title, body from tracker_search_document where id = :document"),
            parameters,
        ).one()
        connection.execute(
            text(
                "insert into tracker_search_scratch (rowid, title, body) "
                "values (:document, :title, :body)"
            ),
            {**parameters, "title": title, "body": body},
        )
        connection.execute(text(_SQLITE_POSTINGS), parameters)
        connection.exec_driver_sql(
            "insert into tracker_search_scratch(tracker_search_scratch) values ('delete-all')"
        )
    else:
        connection.execute(
            text(_POSTGRES_POSTINGS.format(where="where d.id = :document")), parameters
        )
    connection.execute(
        text(
            _VALUES.format(
                where="and f.document_id = :document", where_document="and d.id = :document"
            )
        ),
        parameters,
    )
    connection.execute(
        text(_DOCINFO.format(aggregate=_codes(connection), where="where d.id = :document")),
        parameters,
    )
    mark_changed(connection, document_id)


def query_terms(connection: Connection, words: str) -> list[str]:
    """The index terms of a query's words, by the database's own tokenizer (distinct, sorted)."""
    if not words.strip():
        return []
    if not _sqlite(connection):
        found = connection.execute(
            text("select lexeme from unnest(to_tsvector('english', :words)) order by lexeme"),
            {"words": words},
        ).scalars()
        return [str(term) for term in found]
    # A per-connection temporary table: tokenizing a query writes nothing to the database.
    connection.exec_driver_sql(
        "create virtual table if not exists temp.tracker_search_query using fts5(words, "
        f"content='', tokenize='{_TOKENIZER}')"
    )
    connection.exec_driver_sql(
        "create virtual table if not exists temp.tracker_search_query_vocab using "
        "fts5vocab(temp, tracker_search_query, 'row')"
    )
    connection.execute(
        text("insert into temp.tracker_search_query (rowid, words) values (1, :words)"),
        {"words": words},
    )
    found = connection.exec_driver_sql(
        "select term from temp.tracker_search_query_vocab order by term"
    ).scalars()
    terms = [str(term) for term in found]
    connection.exec_driver_sql(
        "insert into temp.tracker_search_query(tracker_search_query) values ('delete-all')"
    )
    return terms
