"""Search on both databases: known documents rank first, facets count all matches, safe snippets."""

from __future__ import annotations

import pytest

from crimeprev.errors import InvalidInputError
from crimeprev.tracker.search import index_document, remove_document, search

CORPUS = [
    # (ref_id, state, title, body, facets)
    (
        1,
        "KEN",
        "Asset management office",
        "A national office manages seized and confiscated "
        "assets, sells perishable goods and returns proceeds to victims.",
        {"paragraph": ["25"]},
    ),
    (
        2,
        "GHA",
        "School mentoring",
        "Mentors meet pupils weekly; truancy and school dropout fell in the pilot districts.",
        {"paragraph": ["29"], "group": ["children", "youth"]},
    ),
    (
        3,
        "FRA",
        "Domestic violence shelters",
        "Shelters and emergency protection orders for "
        "women leaving violent partners; a hotline answers day and night.",
        {"paragraph": ["28"], "group": ["women_and_girls"]},
    ),
    (
        4,
        "BRA",
        "Street lighting and burglary",
        "New street lighting in three neighbourhoods; "
        "recorded burglaries fell by a fifth against comparison areas.",
        {"paragraph": ["26"]},
    ),
    (
        5,
        "JPN",
        "Crime statistics unit",
        "The statistics office adopted the ICCS for recorded "
        "crime and publishes victimization survey results every year.",
        {"paragraph": ["22", "23"]},
    ),
    (
        6,
        "KEN",
        "Youth councils",
        "Youth councils design local prevention projects; young people "
        "lead campaigns against gang recruitment.",
        {"paragraph": ["30"], "group": ["youth"]},
    ),
    (
        7,
        "GHA",
        "Financial investigations",
        "Financial investigators trace proceeds of crime and "
        "money laundering through bank records.",
        {"paragraph": ["24"]},
    ),
    (
        8,
        "FRA",
        "Prison reintegration",
        "Former prisoners get housing and job coaching; reoffending within two years dropped.",
        {"paragraph": ["21"], "group": ["offenders_and_prisoners"]},
    ),
]

QUERIES = [
    ("confiscated assets", 1),
    ("burglary lighting", 4),
    ("domestic violence shelter", 3),
    ("money laundering", 7),
    ("victimization survey", 5),
    ("gang recruitment", 6),
    ("reoffending", 8),
    ("truancy", 2),
]


@pytest.fixture
def corpus(tracker_db):
    with tracker_db.transaction() as session:
        for ref_id, state, title, body, facets in CORPUS:
            index_document(
                session,
                kind="practice",
                ref_id=ref_id,
                state_iso3=state,
                published=ref_id != 6,  # the youth councils are still a draft
                title=title,
                body=body,
                link=f"/tracker/practices/{ref_id}",
                facets={"country": [state], "year": ["2021" if ref_id % 2 else "2022"], **facets},
            )
    return tracker_db


def test_known_document_ranks_first(corpus):
    with corpus.transaction() as session:
        first = {
            query: search(session, query, unpublished="all").hits[0].ref_id for query, _ in QUERIES
        }
    assert first == dict(QUERIES)


def test_title_outranks_body(corpus):
    with corpus.transaction() as session:
        index_document(
            session,
            kind="practice",
            ref_id=20,
            state_iso3="KEN",
            published=True,
            title="Notes",
            body="Mentoring is mentioned once here among other words.",
            link="/x",
            facets={},
        )
        index_document(
            session,
            kind="practice",
            ref_id=21,
            state_iso3="KEN",
            published=True,
            title="Mentoring",
            body="A programme described at length with other words.",
            link="/y",
            facets={},
        )
        found = search(session, "mentoring")
    order = [hit.ref_id for hit in found.hits]
    assert order.index(21) < order.index(20)


def test_stemming_matches_word_forms(corpus):
    with corpus.transaction() as session:
        assert search(session, "investigating").hits[0].ref_id == 7
        assert {hit.ref_id for hit in search(session, "shelter").hits} == {3}


def test_all_words_must_match(corpus):
    with corpus.transaction() as session:
        assert search(session, "burglary hotline").total == 0


def test_drafts_are_hidden_from_the_public(corpus):
    with corpus.transaction() as session:
        assert search(session, "gang recruitment").total == 0
        assert search(session, "gang recruitment", unpublished=["KEN"]).total == 1
        assert search(session, "gang recruitment", unpublished=["GHA"]).total == 0


def test_facets_count_every_match_and_filter(corpus):
    with corpus.transaction() as session:
        everything = search(session, "", per_page=2)
        assert everything.total == 7 and len(everything.hits) == 2 and everything.pages == 4
        countries = {item.value: item.count for item in everything.facets["country"]}
        assert countries == {"KEN": 1, "GHA": 2, "FRA": 2, "BRA": 1, "JPN": 1}
        groups = {item.value: item.count for item in everything.facets["group"]}
        assert groups == {
            "children": 1,
            "youth": 1,
            "women_and_girls": 1,
            "offenders_and_prisoners": 1,
        }
        filtered = search(session, "", filters={"country": ["GHA", "FRA"], "year": ["2022"]})
        assert {hit.ref_id for hit in filtered.hits} == {2, 8}
        assert search(session, "", filters={"group": ["youth"]}).total == 1


def test_snippets_mark_matches_and_escape_html(tracker_db):
    with tracker_db.transaction() as session:
        index_document(
            session,
            kind="document",
            ref_id=1,
            state_iso3="KEN",
            published=True,
            title="t",
            body="<script>alert(1)</script> community policing works: Smith & Jones",
            link="/z",
            facets={},
        )
        hit = search(session, "policing").hits[0]
    # SQLite escapes the tag; PostgreSQL's headline drops tags: never raw HTML.
    assert "<script>" not in hit.snippet
    assert "Smith &amp; Jones" in hit.snippet
    assert "<mark>policing</mark>" in hit.snippet


def test_query_syntax_is_never_interpreted(corpus):
    with corpus.transaction() as session:
        for query in ['"unbalanced', "NEAR(a b)", "title:burglary OR", "a AND NOT", "*", "--"]:
            search(session, query)  # no syntax error on either database


def test_reindex_replaces_and_remove_deletes(corpus):
    with corpus.transaction() as session:
        index_document(
            session,
            kind="practice",
            ref_id=4,
            state_iso3="BRA",
            published=True,
            title="CCTV",
            body="Cameras in parking lots.",
            link="/p/4",
            facets={},
        )
        assert search(session, "burglary").total == 0
        assert search(session, "cameras").hits[0].ref_id == 4
        remove_document(session, "practice", 4)
        assert search(session, "cameras").total == 0


@pytest.mark.parametrize(
    "arguments",
    [{"filters": {"colour": ["red"]}}, {"page": 0}, {"per_page": 500}],
    ids=["unknown-facet", "page-zero", "page-too-big"],
)
def test_bad_search_arguments(tracker_db, arguments):
    with tracker_db.transaction() as session, pytest.raises(InvalidInputError):
        search(session, "x", **arguments)


def _many(session, count: int, title_hit: int) -> None:
    """`count` documents with the word "common"; every third also "uncommon"; one title hit."""
    for ref_id in range(1, count + 1):
        index_document(
            session,
            kind="practice",
            ref_id=ref_id,
            state_iso3="KEN" if ref_id % 2 else "GHA",
            published=True,
            title="Common ground" if ref_id == title_hit else f"Practice {ref_id}",
            body="A common approach." + (" An uncommon twist." if ref_id % 3 == 0 else ""),
            link=f"/tracker/practices/{ref_id}",
            facets={"country": ["KEN" if ref_id % 2 else "GHA"]},
        )


def test_every_match_is_counted_and_the_oldest_best_match_ranks_first(tracker_db):
    with tracker_db.transaction() as session:
        _many(session, 1500, title_hit=3)
        few = search(session, "uncommon")
        many = search(session, "common", per_page=7, page=3)
        first = search(session, "common")
    # Exact figures however many match (the search once stopped at the newest 1,000).
    assert (few.exact, few.total, few.counted) == (True, 500, 500)
    assert {item.value: (item.count, item.exact) for item in few.facets["country"]} == {
        "KEN": (250, True),
        "GHA": (250, True),
    }
    assert (many.exact, many.total, many.pages) == (True, 1500, 215)
    assert {item.value: item.count for item in many.facets["country"]} == {"KEN": 750, "GHA": 750}
    # The one title match is the third document indexed, older than 1,000 others.
    assert first.hits[0].ref_id == 3
    # Then the shorter texts (without "An uncommon twist."), and equal scores newest first;
    # page 3 of 7 holds ranks 15-21.
    shorter = [ref_id for ref_id in range(1500, 0, -1) if ref_id % 3]
    assert [hit.ref_id for hit in many.hits] == ([3, *shorter])[14:21]


def test_filters_restrict_matches_but_not_the_statistics(tracker_db):
    with tracker_db.transaction() as session:
        _many(session, 150, title_hit=140)
        kenya = search(session, "common", filters={"country": ["KEN"]})
        everyone = search(session, "common")
    assert (kenya.exact, kenya.total) == (True, 75)
    assert {hit.state_iso3 for hit in kenya.hits} == {"KEN"}
    scores = {hit.ref_id: hit.score for hit in everyone.hits}
    assert all(scores.get(hit.ref_id, hit.score) == hit.score for hit in kenya.hits)


def test_text_in_other_scripts_is_found(tracker_db):
    from pathlib import Path

    from crimeprev.tracker.documents import extract_text

    pdf = Path(__file__).with_name("data") / "unicode_scripts.pdf"
    text = extract_text(pdf.read_bytes(), "scripts.pdf").text
    with tracker_db.transaction() as session:
        index_document(
            session,
            kind="document",
            ref_id=1,
            state_iso3="EGY",
            published=True,
            title="scripts.pdf",
            body=text,
            link="/d/1",
            facets={},
        )
        for query in ("полиция", "Полиция", "الجريمة", "financial", "预防犯罪与刑事司法"):
            assert search(session, query).total == 1, query
        assert search(session, "полиции").total == 0  # no Russian stemming: exact word forms
