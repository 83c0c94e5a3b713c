"""Benchmark: tracker full-text search at 100,000 documents, SQLite FTS5 and PostgreSQL.

Documents are synthetic but shaped like the tracker's: a title of 4-9 words and
a body of 40-250 words drawn from the vocabulary of the Kyoto paragraph
summaries, the ICCS labels and index terms and the population-group words
(Zipf-weighted, so some words are common and most are rare), with facets
(country, region, 1-3 paragraphs, 0-2 population groups, year). Documents are
bulk-loaded, then the full-text index is built by ``ensure_search_index``.

Each query runs ``crimeprev.tracker.search.search`` (ranked page of 20 hits
with snippets, the exact total, and exact facet counts over every match) as
the public sees it (published only). Two times per query: the first search
of its words (the process has the document snapshot but not these words'
postings: they are read from the database) and a repeated search (median of
`--repeats` runs after a warm-up). The time to read the snapshot, paid by each
process once after every index change, is printed once per backend.
Query sets: one rare word, one medium word, one word in (nearly) every
document, two words, three words, and two words with a country filter.
Peers, side by side: the naive way without a full-text index,
``lower(body) like '%word%'`` for each word, counting and fetching 20 rows (no
ranking, stemming or facets); and on SQLite, FTS5's own exact ranking
(``count(*)`` of the MATCH and ``ORDER BY bm25(...) LIMIT 20``, no facets).

Usage::

    python bench/bench_tracker_search.py --documents 100000 --repeats 5 \\
        --backends sqlite postgres

Loading takes minutes; ``--keep-sqlite FILE`` and ``--keep-postgres SCHEMA``
keep the loaded databases, and a later run with the same names reuses them
(drop the schema with ``drop schema SCHEMA cascade`` when done).

PostgreSQL: ``CRIMEPREV_TEST_POSTGRES_URL`` (default
``postgresql+psycopg://postgres@127.0.0.1:5432/test``); a temporary schema is
made and dropped.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import partial
from pathlib import Path

import numpy as np
from sqlalchemy import insert, text

from crimeprev.db import Database
from crimeprev.db.testing import temporary_schema, url_with_schema
from crimeprev.standards import iccs, kyoto
from crimeprev.tracker.member_states import member_states
from crimeprev.tracker.models import SearchDocument, SearchFacet
from crimeprev.tracker.search import (
    clear_search_cache,
    ensure_search_index,
    index_document,
    search,
)
from crimeprev.tracker.tagging import POPULATION_GROUPS

DEFAULT_POSTGRES = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


def vocabulary() -> list[str]:
    """Distinct lower-case words of the reference texts, in a fixed order."""
    texts = [p.summary or "" for p in kyoto.paragraphs()]
    texts += [c.label for c in iccs.codes()] + [t.term for t in iccs.index_terms()]
    texts += [g.words for g in POPULATION_GROUPS]
    words = re.findall(r"[a-z]{3,}", " ".join(texts).lower())
    return sorted(set(words))


def ranked_vocabulary(seed: int) -> tuple[np.ndarray, np.ndarray]:
    """The vocabulary in a shuffled order and Zipf weights by rank (a few common words)."""
    words = np.array(vocabulary())
    ranked = words[np.random.default_rng(seed).permutation(len(words))]
    weights = 1.0 / np.arange(1, len(words) + 1) ** 1.05
    return ranked, weights / weights.sum()


def make_documents(
    count: int, rng: np.random.Generator, seed: int
) -> Iterator[tuple[dict, list[dict]]]:
    """Yield (document row, facet rows) for `count` synthetic documents."""
    ranked, weights = ranked_vocabulary(seed)
    states = member_states()
    groups = [g.key for g in POPULATION_GROUPS]
    for number in range(1, count + 1):
        title = " ".join(rng.choice(ranked, size=int(rng.integers(4, 10)), p=weights))
        body = " ".join(rng.choice(ranked, size=int(rng.integers(40, 251)), p=weights))
        state = states[int(rng.integers(len(states)))]
        paragraphs = rng.choice(np.arange(21, 31), size=int(rng.integers(1, 4)), replace=False)
        chosen = rng.choice(groups, size=int(rng.integers(0, 3)), replace=False)
        facets = {("country", state.iso3), ("region", state.region), ("kind", "practice")}
        facets |= {("paragraph", str(p)) for p in paragraphs}
        facets |= {("group", str(g)) for g in chosen}
        facets.add(("year", str(int(rng.integers(2019, 2025)))))
        yield (
            {
                "id": number,
                "kind": "practice",
                "ref_id": number,
                "state_iso3": state.iso3,
                "published": True,
                "title": title.capitalize(),
                "body": body,
                "link": f"/tracker/practices/{number}",
                "facet_key": "\n".join(f"{f}\t{v}" for f, v in sorted(facets)),
            },
            [{"document_id": number, "facet": f, "value": v} for f, v in sorted(facets)],
        )


def load(database: Database, count: int, seed: int) -> float:
    """Bulk-load the documents and build the index; return the seconds taken."""
    rng = np.random.default_rng(seed)
    started = time.perf_counter()
    batch_documents: list[dict] = []
    batch_facets: list[dict] = []
    with database.transaction() as session:
        for document, facets in make_documents(count, rng, seed):
            batch_documents.append(document)
            batch_facets.extend(facets)
            if len(batch_documents) == 5000:
                session.execute(insert(SearchDocument), batch_documents)
                session.execute(insert(SearchFacet), batch_facets)
                batch_documents, batch_facets = [], []
        if batch_documents:
            session.execute(insert(SearchDocument), batch_documents)
            session.execute(insert(SearchFacet), batch_facets)
        ensure_search_index(session)
    analyze(database)
    return time.perf_counter() - started


def analyze(database: Database) -> None:
    """Refresh the planner's statistics; on PostgreSQL also the visibility map (vacuum).

    Without a vacuum after a bulk load PostgreSQL cannot answer from the postings
    index alone and visits the table's pages (measured: 430 ms instead of 70 ms
    for a term in every document); autovacuum does the same in a deployment.
    """
    with database.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.exec_driver_sql(
            "analyze" if database.engine.dialect.name == "sqlite" else "vacuum analyze"
        )


def query_sets(seed: int) -> dict[str, list[tuple[str, dict]]]:
    """Queries by kind, with words picked by their rank in the document vocabulary."""
    ranked, _ = ranked_vocabulary(seed)
    common = [str(w) for w in ranked[:5]]  # each in most documents
    medium = [str(w) for w in ranked[40:45]]
    rare = [str(w) for w in ranked[len(ranked) // 2 : len(ranked) // 2 + 5]]
    pairs = [f"{a} {b}" for a, b in zip(medium, common, strict=True)]
    triples = [f"{a} {b} {c}" for a, b, c in zip(medium, ranked[45:50], common, strict=True)]
    return {
        "1 rare word": [(w, {}) for w in rare],
        "1 medium word": [(w, {}) for w in medium],
        "1 very common word": [(w, {}) for w in common],
        "2 words": [(q, {}) for q in pairs],
        "3 words": [(q, {}) for q in triples],
        "2 words + country": [(q, {"country": ["KEN", "FRA", "BRA"]}) for q in pairs],
    }


def timed(function: Callable[[], object], repeats: int) -> float:
    """Median wall time in milliseconds over `repeats` runs (after one warm-up)."""
    function()
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        function()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def naive(database: Database, query: str) -> int:
    """The peer: substring scan of every body, no index, 20 rows and a count."""
    words = re.findall(r"\w+", query.lower())
    where = " and ".join(f"lower(body) like :w{i}" for i in range(len(words)))
    values = {f"w{i}": f"%{w}%" for i, w in enumerate(words)}
    with database.engine.connect() as connection:
        total = connection.execute(
            text(f"select count(*) from tracker_search_document where published and {where}"),
            values,
        ).scalar_one()
        connection.execute(
            text(
                f"select id, title from tracker_search_document where published and {where} "
                "limit 20"
            ),
            values,
        ).all()
    return int(total)


def loaded(database: Database, count: int, seed: int) -> float | None:
    """Load `count` documents unless the database already holds exactly them; seconds or None."""
    with database.engine.connect() as connection:
        held = connection.execute(text("select count(*) from tracker_search_document")).scalar_one()
    if held == count:
        with database.transaction() as session:
            built = ensure_search_index(session)
        if built:
            analyze(database)
        return None
    if held:
        raise SystemExit(f"the kept database holds {held:,} documents, not {count:,}; drop it")
    return load(database, count, seed)


@contextmanager
def backend(name: str, keep: str | None = None) -> Iterator[Database]:
    """A migrated database of the named backend: new and empty, or kept between runs.

    `keep` names a SQLite file or a PostgreSQL schema that is not deleted at the
    end, so a second run with the same name and size skips the minutes of loading.
    """
    if name == "sqlite":
        with tempfile.TemporaryDirectory() as folder:
            path = Path(keep) if keep else Path(folder) / "bench.sqlite"
            database = Database(f"sqlite:///{path.as_posix()}")
            database.upgrade()
            try:
                yield database
            finally:
                database.dispose()
        return
    url = os.environ.get("CRIMEPREV_TEST_POSTGRES_URL", DEFAULT_POSTGRES)
    admin = Database(url)
    try:
        if keep:
            with admin.engine.begin() as connection:
                connection.execute(text(f'create schema if not exists "{keep}"'))
            database = Database(url_with_schema(url, keep))
            database.upgrade()
            try:
                yield database
            finally:
                database.dispose()
            return
        with temporary_schema(admin.engine, prefix="crimeprev_bench") as schema:
            database = Database(url_with_schema(url, schema))
            database.upgrade()
            try:
                yield database
            finally:
                database.dispose()
    finally:
        admin.dispose()


def after_a_change(database: Database, word: str) -> float:
    """Milliseconds of a search (its word cached) right after one document is re-indexed.

    The process brings its snapshot and cached postings up to date from the
    change log instead of reading everything again.
    """
    with database.transaction() as session:
        search(session, word)
        document = session.get(SearchDocument, 1)
        assert document is not None
        facets: dict[str, list[str]] = {}
        for pair in document.facet_key.split("\n"):
            facet, _, value = pair.partition("\t")
            if facet != "kind":
                facets.setdefault(facet, []).append(value)
        kind, ref_id, state = document.kind, document.ref_id, document.state_iso3
        published, title, body, link = (
            document.published,
            document.title,
            document.body,
            document.link,
        )
    with database.transaction() as session:
        index_document(
            session,
            kind=kind,
            ref_id=ref_id,
            state_iso3=state,
            published=published,
            title=title,
            body=body,
            link=link,
            facets=facets,
        )
    with database.transaction() as session:
        started = time.perf_counter()
        search(session, word)
        return (time.perf_counter() - started) * 1000


def fts5_ranked(database: Database, query: str) -> int:
    """The SQLite peer: FTS5's exact count and top 20 by its bm25 (title 5:1), no facets."""
    words = re.findall(r"\w+", query.lower())
    match = " ".join(f'"{word}"' for word in words)
    with database.engine.connect() as connection:
        total = connection.execute(
            text("select count(*) from tracker_search_fts where tracker_search_fts match :m"),
            {"m": match},
        ).scalar_one()
        connection.execute(
            text(
                "select rowid from tracker_search_fts where tracker_search_fts match :m "
                "order by bm25(tracker_search_fts, 5.0, 1.0) limit 20"
            ),
            {"m": match},
        ).all()
    return int(total)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--documents", type=int, nargs="+", default=[100_000])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--backends", nargs="+", default=["sqlite", "postgres"])
    parser.add_argument("--seed", type=int, default=20211110)
    parser.add_argument(
        "--keep-sqlite", metavar="FILE", help="keep (or reuse) the loaded SQLite database here"
    )
    parser.add_argument(
        "--keep-postgres", metavar="SCHEMA", help="keep (or reuse) the loaded PostgreSQL schema"
    )
    arguments = parser.parse_args()
    queries = query_sets(arguments.seed)
    for count in arguments.documents:
        for name in arguments.backends:
            keep = arguments.keep_sqlite if name == "sqlite" else arguments.keep_postgres
            with backend(name, keep) as database:
                seconds = loaded(database, count, arguments.seed)
                how = "reused" if seconds is None else f"loaded and indexed in {seconds:.1f} s"
                clear_search_cache()
                with database.transaction() as session:
                    started = time.perf_counter()
                    search(session, "")
                    snapshot_ms = (time.perf_counter() - started) * 1000
                word = queries["1 very common word"][0][0]
                # The first change in a process also pays one-off costs (statements
                # compiled, pages read); the second shows the usual cost.
                changed = [after_a_change(database, word) for _ in range(2)]
                print(
                    f"\n## {name}, {count:,} documents ({how}; reading the snapshot: "
                    f"{snapshot_ms:.0f} ms; a search of a very common word after one document "
                    f"changed: {changed[0]:.0f} ms the first time, {changed[1]:.0f} ms the second; "
                    f"load average {Path('/proc/loadavg').read_text()[:14]})"
                )
                print(
                    "| queries | matches (median) | first search of its words ms (median, max) "
                    "| repeated ms (median, max) | FTS5 count + bm25 top 20 ms (median) "
                    "| naive LIKE ms (median) | naive / crimeprev repeated |"
                )
                print("|---|---:|---:|---:|---:|---:|---:|")
                for label, items in queries.items():
                    first, ours, engine, theirs, matches = [], [], [], [], []
                    for query, filters in items:
                        clear_search_cache(terms_only=True)
                        with database.transaction() as session:
                            started = time.perf_counter()
                            found = search(session, query, filters=filters)
                            first.append((time.perf_counter() - started) * 1000)
                            matches.append(found.total)

                            def run(q: str = query, f: dict = filters, s=session) -> object:
                                return search(s, q, filters=f)

                            ours.append(timed(run, arguments.repeats))
                        if not filters:
                            theirs.append(timed(partial(naive, database, query), 1))
                            if name == "sqlite":
                                engine.append(timed(partial(fts5_ranked, database, query), 1))
                    ours_median = statistics.median(ours)
                    theirs_text, ratio = "-", "-"
                    if theirs:
                        theirs_median = statistics.median(theirs)
                        theirs_text = f"{theirs_median:.0f}"
                        ratio = f"{theirs_median / ours_median:.1f}x"
                    engine_text = f"{statistics.median(engine):.0f}" if engine else "-"
                    print(
                        f"| {label} | {statistics.median(matches):,.0f} "
                        f"| {statistics.median(first):.1f} ({max(first):.1f}) "
                        f"| {ours_median:.1f} ({max(ours):.1f}) | {engine_text} "
                        f"| {theirs_text} | {ratio} |"
                    )


if __name__ == "__main__":
    main()
