"""Search is exact: totals, facet counts and the ranking equal a brute force computed here.

A few thousand synthetic documents are indexed on each database, most in bulk
(``ensure_search_index`` builds the index from the table) and the rest through
``index_document`` / ``remove_document`` (re-indexed and removed documents
included), so both ways of filling the index are checked. The words are ones
that both engines' tokenizers keep as they are (checked first), so the test can
tokenise by splitting. BM25 is computed from its formula in plain Python.
"""

from __future__ import annotations

import math
from collections import Counter

import numpy as np
import pytest
from sqlalchemy import insert, text

from crimeprev.tracker import _search_snapshot
from crimeprev.tracker._search_snapshot import _load
from crimeprev.tracker.models import SearchDocument, SearchFacet
from crimeprev.tracker.search import ensure_search_index, index_document, remove_document, search
from crimeprev.tracker.search_index import query_terms

WORDS = [
    "crimson",
    "kestrel",
    "walnut",
    "harbor",
    "falcon",
    "copper",
    "lantern",
    "garden",
    "silver",
    "mirror",
    "tunnel",
    "magnet",
    "orbit",
    "pencil",
    "basket",
    "cotton",
    "ribbon",
    "anchor",
    "beacon",
    "dragon",
    "meadow",
    "parrot",
    "rocket",
    "summit",
    "timber",
    "velvet",
    "wagon",
    "zircon",
    "helmet",
    "jacket",
    "kitten",
    "lemon",
    "marker",
    "napkin",
    "oyster",
    "pepper",
    "quartz",
]
STATES = ("KEN", "GHA", "FRA", "BRA", "JPN")
BULK, LATER = 1800, 200
OLD_BEST = 5  # an early document that must rank first for "kestrel", a word in most documents

K1, B, TITLE = 1.2, 0.75, 5.0  # the documented formula's constants


def _documents() -> dict[int, dict]:
    """Synthetic documents by id: Zipf-weighted words, facets, some unpublished."""
    rng = np.random.default_rng(7)
    weights = 1.0 / np.arange(1, len(WORDS) + 1) ** 1.1
    weights /= weights.sum()
    documents = {}
    for number in range(1, BULK + LATER + 1):
        title = list(rng.choice(WORDS, size=int(rng.integers(1, 5)), p=weights))
        body = list(rng.choice(WORDS, size=int(rng.integers(3, 60)), p=weights))
        if number == OLD_BEST:
            title, body = ["kestrel", "kestrel"], ["kestrel", "orbit"]
        state = STATES[int(rng.integers(len(STATES)))]
        paragraphs = {str(p) for p in rng.choice([21, 22, 23, 24], size=int(rng.integers(1, 3)))}
        facets = {
            "country": [state],
            "year": [str(int(rng.integers(2019, 2022)))],
            "paragraph": sorted(paragraphs),
            "group": sorted({str(g) for g in rng.choice(["youth", "women"], int(rng.integers(3)))}),
        }
        documents[number] = {
            "state": state,
            "published": bool(rng.random() < 0.8) or number == OLD_BEST,
            "title": " ".join(title),
            "body": " ".join(body),
            "facets": facets,
        }
    return documents


def _bulk_load(session, documents: dict[int, dict]) -> None:
    rows, facets = [], []
    for number in range(1, BULK + 1):
        item = documents[number]
        pairs = {("kind", "practice")} | {
            (name, value) for name, values in item["facets"].items() for value in values
        }
        rows.append(
            {
                "id": number,
                "kind": "practice",
                "ref_id": number,
                "state_iso3": item["state"],
                "published": item["published"],
                "title": item["title"],
                "body": item["body"],
                "link": f"/p/{number}",
                "facet_key": "\n".join(f"{n}\t{v}" for n, v in sorted(pairs)),
            }
        )
        facets += [{"document_id": number, "facet": n, "value": v} for n, v in sorted(pairs)]
    session.execute(insert(SearchDocument), rows)
    session.execute(insert(SearchFacet), facets)
    if session.get_bind().dialect.name == "postgresql":  # explicit ids leave the sequence behind
        session.execute(
            text(
                "select setval(pg_get_serial_sequence('tracker_search_document', 'id'), "
                "(select max(id) from tracker_search_document))"
            )
        )


def _index(session, number: int, item: dict) -> None:
    index_document(
        session,
        kind="practice",
        ref_id=number,
        state_iso3=item["state"],
        published=item["published"],
        title=item["title"],
        body=item["body"],
        link=f"/p/{number}",
        facets=item["facets"],
    )


@pytest.fixture
def corpus(tracker_db):
    """The database and the documents as they stand after bulk load and later changes."""
    documents = _documents()
    with tracker_db.transaction() as session:
        vocabulary = query_terms(session.connection(), " ".join(WORDS))
    assert vocabulary == sorted(WORDS), "the test's words must be kept as they are"
    with tracker_db.transaction() as session:
        _bulk_load(session, documents)
        assert ensure_search_index(session)
    with tracker_db.transaction() as session:
        search(session, "kestrel")  # a cached snapshot, which the changes must replace
        for number in range(BULK + 1, BULK + LATER + 1):
            _index(session, number, documents[number])
        # Old documents rewritten (text, visibility, facets) and removed.
        for number in range(20, 400, 37):
            changed = dict(documents[number - 1], facets={"country": ["GHA"], "year": ["2030"]})
            documents[number] = dict(changed, state="GHA")
            _index(session, number, documents[number])
        for number in range(30, 300, 41):
            remove_document(session, "practice", number)
            del documents[number]
    return tracker_db, documents


def _brute_force(documents, words, filters, scope):
    """Matches, BM25 scores by the formula, and facet counts, computed directly."""
    visible = {
        number: item
        for number, item in documents.items()
        if item["published"] or scope == "all" or item["state"] in scope
    }
    size = {n: TITLE * len(d["title"].split()) + len(d["body"].split()) for n, d in visible.items()}
    average = sum(size.values()) / len(size)
    holding = {
        word: sum(word in d["title"].split() + d["body"].split() for d in visible.values())
        for word in words
    }
    scores, facets = {}, Counter()
    for number, item in visible.items():
        title, body = Counter(item["title"].split()), Counter(item["body"].split())
        if not all(title[word] + body[word] for word in words):
            continue
        if any(
            not set(values) & set(item["facets"].get(name, ())) for name, values in filters.items()
        ):
            continue
        score = 0.0
        for word in sorted(words):
            idf = math.log(1 + (len(visible) - holding[word] + 0.5) / (holding[word] + 0.5))
            frequency = TITLE * title[word] + body[word]
            norm = K1 * (1 - B + B * size[number] / average)
            score += idf * frequency * (K1 + 1) / (frequency + norm)
        scores[number] = score
        facets.update((name, value) for name, values in item["facets"].items() for value in values)
        facets[("kind", "practice")] += 1
    ranking = sorted(scores, key=lambda n: (-round(scores[n], 9), -n))
    return ranking, scores, facets


QUERIES = [
    ("kestrel", {}, ()),
    ("crimson", {}, ()),
    ("walnut", {}, "all"),
    ("quartz", {}, ()),
    ("kestrel crimson", {}, ()),
    ("harbor walnut kestrel", {}, ["KEN"]),
    ("crimson", {"country": ["KEN", "FRA"]}, ()),
    ("kestrel falcon", {"paragraph": ["22"], "year": ["2020", "2030"]}, "all"),
    ("lantern", {"group": ["youth"]}, ["GHA", "BRA"]),
]


def test_totals_facets_and_ranking_equal_brute_force(corpus):
    database, documents = corpus
    for query, filters, scope in QUERIES:
        ranking, scores, facets = _brute_force(documents, set(query.split()), filters, scope)
        with database.transaction() as session:
            first = search(session, query, filters=filters, unpublished=scope)
            second = search(session, query, filters=filters, unpublished=scope, page=2)
        case = f"{query!r} {filters} {scope}"
        assert first.exact and first.total == second.total == len(ranking), case
        shown = [hit.ref_id for hit in first.hits + second.hits]
        assert shown == ranking[:40], case
        for hit in first.hits + second.hits:
            assert hit.score == pytest.approx(scores[hit.ref_id], abs=2e-6), case
        counted = {
            (name, item.value): item.count for name, items in first.facets.items() for item in items
        }
        assert counted == dict(facets), case


def test_an_old_best_match_ranks_first(corpus):
    database, documents = corpus
    holding = sum("kestrel" in item["body"] + " " + item["title"] for item in documents.values())
    assert holding > len(documents) / 2  # a common word: the best match is not among the newest
    with database.transaction() as session:
        found = search(session, "kestrel")
    assert found.hits[0].ref_id == OLD_BEST


def test_a_rolled_back_change_leaves_no_trace_in_the_cache(corpus):
    database, _ = corpus

    class UndoError(Exception):
        pass

    with database.transaction() as session:
        before = search(session, "kestrel").total
    with pytest.raises(UndoError), database.transaction() as session:
        _index(
            session,
            9999,
            {"state": "KEN", "published": True, "title": "kestrel", "body": "zircon", "facets": {}},
        )
        assert search(session, "kestrel").total == before + 1
        raise UndoError
    with database.transaction() as session:
        assert search(session, "kestrel").total == before
    # A change another connection commits is seen at the next search.
    with database.transaction() as session:
        _index(
            session,
            9999,
            {"state": "KEN", "published": True, "title": "kestrel", "body": "zircon", "facets": {}},
        )
    with database.transaction() as session:
        assert search(session, "kestrel").total == before + 1


def test_a_snapshot_brought_up_to_date_equals_a_fresh_read(corpus, monkeypatch):
    database, documents = corpus
    with database.transaction() as session:
        search(session, "kestrel walnut")
    with database.transaction() as session:
        changed = dict(documents[2], title="quartz zircon kestrel", published=False)
        _index(session, 2, dict(changed, facets={"year": ["2031"], "topic": ["new topic"]}))
        remove_document(session, "practice", 3)
        _index(session, 4000, dict(documents[4], body="kestrel walnut walnut"))
    reads = []
    monkeypatch.setattr(_search_snapshot, "_load", lambda c: reads.append(c) or _load(c))
    with database.transaction() as session:
        connection = session.connection()
        patched = _search_snapshot.snapshot(connection)
        assert reads == []  # brought up to date from the change log, not read again
        fresh = _load(connection)
        for term in ("kestrel", "walnut"):
            assert term in patched.terms
            _search_snapshot.postings(connection, fresh, term)
    assert (patched.nonce, patched.generation) == (fresh.nonce, fresh.generation)
    for name in ("ids", "published", "state_codes", "title_lengths", "body_lengths"):
        np.testing.assert_array_equal(getattr(patched, name), getattr(fresh, name), err_msg=name)
    assert patched.values == fresh.values

    def pairs(index):
        documents = index.ids[index.pair_documents].tolist()
        return sorted(zip(documents, index.pair_codes.tolist(), strict=True))

    def holding(index, term):
        found = index.terms[term]
        counts = (found.title_tf.tolist(), found.body_tf.tolist())
        return sorted(zip(index.ids[found.positions].tolist(), *counts, strict=True))

    assert pairs(patched) == pairs(fresh)
    assert ("topic", "new topic") in patched.values
    for term in ("kestrel", "walnut"):
        assert holding(patched, term) == holding(fresh, term), term
