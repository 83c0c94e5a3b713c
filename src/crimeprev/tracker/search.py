"""Full-text search over submissions, practices and documents, on SQLite or PostgreSQL.

One API, two engines, each tokenizing with its own full-text machinery
(SQLite FTS5 ``porter unicode61``; PostgreSQL ``to_tsvector('english')``),
and one relevance score on both, computed over *every* match: the total, each
facet count and the ranked hits are always exact (``exact`` is always True).

Relevance is BM25 with the title weighted over the body (BM25F with one
weighted field), over the documents the searcher may see::

    score(d) = sum over the query's distinct terms t of
               idf(t) * tf(t, d) * (k1 + 1) / (tf(t, d) + k1 * (1 - b + b * len(d) / avglen))
    tf(t, d) = 5 * (count of t in d's title) + (count of t in d's body)
    len(d)   = 5 * (terms in d's title) + (terms in d's body)
    idf(t)   = ln(1 + (N - n(t) + 0.5) / (n(t) + 0.5))

with k1 = 1.2 and b = 0.75; N, n(t) (the documents holding t) and avglen are
taken over the documents the searcher may see (the public: published ones), so
unpublished drafts never shift a public score. Ties rank the newest first. The
counts are the database tokenizer's (on PostgreSQL, stop words are not terms,
and a term's count stops at 256, ``tsvector``'s limit).

How it is fast at 100,000 documents, and why so (measured alternatives), is in
:mod:`crimeprev.tracker.search_index`: per term, the database returns one row
packing every posting; the scoring, filtering, facet counting and ranking run
in NumPy over a per-process snapshot of the documents, cached under a nonce
that every index change replaces.

Facets (country, region, paragraph, topic, group, year, kind) are counted
over all matches; filters keep documents having any of the chosen values of
each facet. Snippets are made for the shown page only (FTS5 ``snippet()``,
PostgreSQL ``ts_headline``) and come back as HTML: the text is escaped and
the matched words are wrapped in ``<mark>``.

Examples
--------
>>> from crimeprev.db import Database
>>> from crimeprev.db.base import Base
>>> import crimeprev.tracker.models
>>> database = Database("sqlite://")
>>> Base.metadata.create_all(database.engine)
>>> with database.transaction() as session:
...     _ = index_document(
...         session, kind="practice", ref_id=1, state_iso3="KEN", published=True,
...         title="Street lighting", body="Better lighting cut burglary in Ward 4.",
...         link="/tracker/practices/1", facets={"country": ["KEN"], "year": ["2020"]},
...     )
>>> with database.transaction() as session:
...     found = search(session, "burglaries")
>>> found.total, found.exact, found.hits[0].snippet
(1, True, 'Better lighting cut <mark>burglary</mark> in Ward 4.')
>>> [(item.value, item.count) for item in found.facets["country"]]
[('KEN', 1)]
"""

from __future__ import annotations

import math
import re
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
from markupsafe import escape
from sqlalchemy import Connection, delete, select, text
from sqlalchemy.orm import Session

from crimeprev.errors import InvalidInputError
from crimeprev.tracker import _search_snapshot, search_index
from crimeprev.tracker._search_snapshot import Postings, Snapshot
from crimeprev.tracker.models import SearchDocument, SearchFacet
from crimeprev.tracker.search_index import STATE_FACET, IndexChanged

__all__ = [
    "B",
    "FACETS",
    "K1",
    "TITLE_WEIGHT",
    "FacetCount",
    "SearchHit",
    "SearchResult",
    "clear_search_cache",
    "ensure_search_index",
    "index_document",
    "remove_document",
    "search",
]

#: The facets every search reports, in display order.
FACETS: tuple[str, ...] = ("country", "region", "paragraph", "topic", "group", "year", "kind")

#: BM25's term-frequency saturation and length normalisation (the usual values).
K1 = 1.2
B = 0.75
#: How much more a word in the title counts than one in the body.
TITLE_WEIGHT = 5.0

_KINDS = ("answer", "practice", "document")
_OPEN, _CLOSE = "\u27e6", "\u27e7"  # marks matched words inside snippets before escaping
_PAIR, _PAIRS = "\t", "\n"  # facet_key: "facet<TAB>value" pairs, one per line
_MAX_BODY = 200_000
_MAX_TERMS = 16
_ATTEMPTS = 3
_TERM = re.compile(r"\w+", re.UNICODE)


@dataclass(frozen=True)
class FacetCount:
    """How many matches carry one facet value (`exact` is always True: every match is counted)."""

    value: str
    count: int
    exact: bool = True


@dataclass(frozen=True)
class SearchHit:
    """One match.

    Attributes
    ----------
    kind : str
        ``answer``, ``practice`` or ``document``.
    ref_id : int
        The answer's, practice's or document's id.
    title : str
    snippet : str
        HTML: escaped text with matched words in ``<mark>``.
    state_iso3 : str
    link : str
        Path of the page that shows the record.
    published : bool
    score : float
        Relevance, higher is better: BM25 as the module defines it (0 for an
        empty query), by one formula on both databases.
    """

    kind: str
    ref_id: int
    title: str
    snippet: str
    state_iso3: str
    link: str
    published: bool
    score: float


@dataclass(frozen=True)
class SearchResult:
    """A page of matches, the total and the facet counts.

    Attributes
    ----------
    total : int
        How many visible documents match (exact).
    exact : bool
        Always True: every match is counted and ranked. Kept so that clients
        of the earlier, bounded search keep working.
    counted : int
        How many matches were counted and ranked: the total.
    """

    query: str
    total: int
    page: int
    per_page: int
    hits: tuple[SearchHit, ...]
    facets: dict[str, tuple[FacetCount, ...]] = field(default_factory=dict)
    backend: str = "sqlite"
    exact: bool = True
    counted: int = 0

    @property
    def pages(self) -> int:
        """Number of pages one can turn through."""
        return max(1, -(-self.total // self.per_page))


def _connection(connection: Connection | Session) -> Connection:
    return connection.connection() if isinstance(connection, Session) else connection


def ensure_search_index(connection: Connection | Session) -> bool:
    """Build the search index if it is missing; return whether it was built.

    Parameters
    ----------
    connection : Connection or Session
        Runs in the caller's transaction.

    Returns
    -------
    bool
        True if the index was created and filled from ``tracker_search_document``
        (see :mod:`crimeprev.tracker.search_index`).
    """
    connection = _connection(connection)
    if search_index.index_ready(connection):
        return False
    search_index.build_index(connection)
    return True


def clear_search_cache(*, terms_only: bool = False) -> None:
    """Forget this process's cached search data, or only the terms' postings.

    Never needed for correct results (every change to the index is noticed);
    benchmarks use it to time first searches.
    """
    _search_snapshot.clear_cache(terms_only=terms_only)


def _facet_value(value: object) -> str:
    # Tabs and line breaks separate facet_key's pairs, so they cannot occur in values.
    return " ".join(str(value).split())[:200]


def _clean(value: str) -> str:
    return value.replace(_OPEN, "").replace(_CLOSE, "").replace("\x00", "")


def index_document(
    session: Session,
    *,
    kind: str,
    ref_id: int,
    state_iso3: str,
    published: bool,
    title: str,
    body: str,
    link: str,
    facets: Mapping[str, Iterable[str]],
) -> int:
    """Add or replace the searchable text of one record; return its search-document id.

    Parameters
    ----------
    session : Session
    kind : {"answer", "practice", "document"}
    ref_id : int
        The record's id; (kind, ref_id) identifies the search document.
    state_iso3 : str
        The Member State the text belongs to.
    published : bool
        Whether the public may find it.
    title, body : str
        Searchable text (the title is cut at 400 characters, the body at 200,000).
    link : str
        Path of the record's page.
    facets : mapping of str to iterable of str
        Facet values, e.g. ``{"paragraph": ["21", "26"], "year": ["2021"]}``;
        keys must be among :data:`FACETS`.

    Raises
    ------
    InvalidInputError
        For an unknown kind or facet.
    """
    if kind not in _KINDS:
        raise InvalidInputError(f"kind must be one of {_KINDS}, got {kind!r}")
    unknown = set(facets) - set(FACETS)
    if unknown:
        raise InvalidInputError(f"unknown facets {sorted(unknown)}; expected among {FACETS}")
    ensure_search_index(session)
    document = session.execute(
        select(SearchDocument).where(SearchDocument.kind == kind, SearchDocument.ref_id == ref_id)
    ).scalar_one_or_none()
    if document is None:
        document = SearchDocument(kind=kind, ref_id=ref_id)
        session.add(document)
    document.state_iso3 = state_iso3
    document.published = published
    document.title = _clean(title)[:400]
    document.body = _clean(body)[:_MAX_BODY]
    document.link = link
    values = {("kind", kind)}
    for name, items in facets.items():
        values.update((name, _facet_value(item)) for item in items if _facet_value(item))
    document.facet_key = _PAIRS.join(f"{name}{_PAIR}{value}" for name, value in sorted(values))
    session.flush()
    session.execute(delete(SearchFacet).where(SearchFacet.document_id == document.id))
    session.add_all(
        SearchFacet(document_id=document.id, facet=name, value=value)
        for name, value in sorted(values)
    )
    session.flush()
    session.expire(document, ["facets"])
    search_index.update_postings(session.connection(), document.id)
    return document.id


def remove_document(session: Session, kind: str, ref_id: int) -> None:
    """Remove one record's searchable text (nothing happens if it is not indexed)."""
    ensure_search_index(session)
    found = session.execute(
        select(SearchDocument.id).where(
            SearchDocument.kind == kind, SearchDocument.ref_id == ref_id
        )
    ).scalar_one_or_none()
    if found is not None:
        session.execute(delete(SearchFacet).where(SearchFacet.document_id == found))
        session.execute(delete(SearchDocument).where(SearchDocument.id == found))
        search_index.remove_postings(session.connection(), found)
        search_index.mark_changed(session.connection(), found)


def _words(query: str) -> list[str]:
    return _TERM.findall(query.lower())[:_MAX_TERMS]


def _html(snippet: str) -> str:
    return str(escape(snippet)).replace(_OPEN, "<mark>").replace(_CLOSE, "</mark>")


def _plain_snippet(body: str, length: int = 240) -> str:
    text_ = " ".join(body.split())
    return text_ if len(text_) <= length else text_[:length].rsplit(" ", 1)[0] + " …"


def _visible(
    index: Snapshot, unpublished: Collection[str] | Literal["all"]
) -> npt.NDArray[np.bool_]:
    """Which documents the searcher may see: published ones, and drafts of their States."""
    if unpublished == "all":
        return np.ones(len(index.ids), dtype=bool)
    codes = [index.values.get((STATE_FACET, state)) for state in set(unpublished)]
    own = np.isin(index.state_codes, [code for code in codes if code is not None])
    return index.published | own


def _filtered(index: Snapshot, filters: Mapping[str, Collection[str]]) -> npt.NDArray[np.bool_]:
    """Documents having, for each filtered facet, at least one of its chosen values."""
    kept = np.ones(len(index.ids), dtype=bool)
    for name, values in filters.items():
        chosen = {str(value) for value in values if str(value)}
        if not chosen:
            continue
        having = np.zeros(len(index.ids), dtype=bool)
        for value in chosen:
            code = index.values.get((name, value))
            if code is not None:
                having[index.documents_with(code)] = True
        kept &= having
    return kept


def _bm25(
    index: Snapshot, lists: Sequence[Postings], visible: npt.NDArray[np.bool_]
) -> npt.NDArray[np.float64]:
    """Every document's BM25 score for the query terms whose postings are `lists`.

    Documents holding only some of the terms get partial scores; the caller
    keeps those holding all of them.
    """
    lengths = TITLE_WEIGHT * index.title_lengths + index.body_lengths
    documents = int(visible.sum())
    average = float(lengths[visible].mean()) if documents else 1.0
    normaliser = K1 * (1.0 - B + B * lengths / (average or 1.0))
    scores = np.zeros(len(index.ids), dtype=np.float64)
    for found in lists:
        holding = int(visible[found.positions].sum())
        idf = math.log(1.0 + (documents - holding + 0.5) / (holding + 0.5))
        frequency = TITLE_WEIGHT * found.title_tf + found.body_tf
        scores[found.positions] += (
            idf * frequency * (K1 + 1.0) / (frequency + normaliser[found.positions])
        )
    return scores


def _ranked(
    matched: npt.NDArray[np.bool_],
    scores: npt.NDArray[np.float64] | None,
    end: int,
) -> npt.NDArray[np.int64]:
    """Positions of the best `end` matches: highest score first, then the newest."""
    candidates = np.flatnonzero(matched)
    if scores is None:
        return candidates[::-1][:end]  # positions follow the ids: newest last
    values = scores[candidates]
    if end < len(candidates):
        # Keep the `end` best and every document tied with the last of them.
        threshold = np.partition(values, len(values) - end)[len(values) - end]
        keep = values >= threshold
        candidates, values = candidates[keep], values[keep]
    order = np.lexsort((-candidates, -values))
    return candidates[order][:end]


def _facet_counts(
    index: Snapshot, matched: npt.NDArray[np.bool_]
) -> dict[str, tuple[FacetCount, ...]]:
    counts = np.bincount(
        index.pair_codes[matched[index.pair_documents]], minlength=len(index.names)
    )
    facets: dict[str, list[FacetCount]] = {name: [] for name in FACETS}
    for code in np.flatnonzero(counts):
        name, value = index.names[int(code)]
        if name in facets:
            facets[name].append(FacetCount(value=value, count=int(counts[code])))
    return {
        name: tuple(sorted(items, key=lambda item: (-item.count, item.value)))
        for name, items in facets.items()
    }


def _page_hits(
    connection: Connection, words: list[str], page: list[tuple[int, float]]
) -> tuple[SearchHit, ...]:
    """Read the page's documents in full, with their snippets, in ranked order."""
    if not page:
        return ()
    scores = dict(page)
    parameters: dict[str, Any] = {f"id_{i}": identifier for i, (identifier, _) in enumerate(page)}
    listed = ", ".join(f":id_{i}" for i in range(len(page)))
    columns = "d.id, d.kind, d.ref_id, d.title, d.state_iso3, d.link, d.published"
    plain = f"select {columns}, substr(d.body, 1, 400) as snippet from tracker_search_document d "
    if words and connection.dialect.name == "sqlite":
        # Any of the words, each quoted so that it is never read as FTS5 syntax.
        parameters["match"] = " OR ".join('"' + word.replace('"', "") + '"' for word in words)
        snippet = f"snippet(tracker_search_fts, 1, '{_OPEN}', '{_CLOSE}', ' … ', 24)"
        page_sql = (
            f"select {columns}, {snippet} as snippet from tracker_search_fts "
            "join tracker_search_document d on d.id = tracker_search_fts.rowid "
            f"where tracker_search_fts match :match and tracker_search_fts.rowid in ({listed})"
        )
    elif words:
        parameters["query"] = " ".join(words)
        page_sql = (
            f"select {columns}, ts_headline('english', d.body, "
            f"plainto_tsquery('english', :query), 'StartSel={_OPEN}, StopSel={_CLOSE}, "
            'MaxWords=35, MinWords=15, MaxFragments=2, FragmentDelimiter=" … "\') as snippet '
            f"from tracker_search_document d where d.id in ({listed})"
        )
    else:
        page_sql = f"{plain}where d.id in ({listed})"
    rows = {int(row.id): row for row in connection.execute(text(page_sql), parameters).all()}
    snippets = {identifier: _html(row.snippet) for identifier, row in rows.items() if words}
    missing = [identifier for identifier in scores if identifier not in rows]
    if missing:  # matched by a title word only: FTS5 gives no body snippet then
        extra = {f"id_{i}": identifier for i, identifier in enumerate(missing)}
        more = ", ".join(f":{name}" for name in extra)
        for row in connection.execute(text(f"{plain}where d.id in ({more})"), extra).all():
            rows[int(row.id)] = row
    return tuple(
        SearchHit(
            kind=rows[identifier].kind,
            ref_id=int(rows[identifier].ref_id),
            title=rows[identifier].title,
            snippet=snippets.get(identifier) or _html(_plain_snippet(rows[identifier].snippet)),
            state_iso3=rows[identifier].state_iso3,
            link=rows[identifier].link,
            published=bool(rows[identifier].published),
            score=round(scores[identifier], 6),
        )
        for identifier in scores
        if identifier in rows
    )


def _check_int(name: str, value: object, lowest: int, highest: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not lowest <= value <= highest:
        raise InvalidInputError(f"{name} must be from {lowest} to {highest:,}, got {value!r}")
    return value


def search(
    session: Session,
    query: str = "",
    *,
    filters: Mapping[str, Collection[str]] | None = None,
    unpublished: Collection[str] | Literal["all"] = (),
    page: int = 1,
    per_page: int = 20,
) -> SearchResult:
    """Search the tracker's texts; best matches first, with facet counts, all exact.

    Parameters
    ----------
    session : Session
    query : str, default=""
        Words to find (all must occur; word forms are stemmed; at most 16
        words are read). Empty lists everything, newest first, so facets can
        be browsed.
    filters : mapping of facet to values, optional
        Keep matches having any of the values of each facet, e.g.
        ``{"country": ["KEN"], "paragraph": ["21", "26"]}``.
    unpublished : collection of ISO3 codes, or "all", default=()
        Unpublished texts are found only for these States (a focal point sees
        their own drafts) or for all of them (the secretariat).
    page, per_page : int
        Which page of hits (from 1), and its size (1 to 100).

    Returns
    -------
    SearchResult
        Every match counted and ranked by the module's BM25 score.

    Raises
    ------
    InvalidInputError
        For an unknown facet, a page below 1 or a page size outside 1-100.
    """
    filters = dict(filters or {})
    unknown = set(filters) - set(FACETS)
    if unknown:
        raise InvalidInputError(
            f"unknown facet {sorted(unknown)[0]!r}; filter on one of {', '.join(FACETS)}"
        )
    if isinstance(page, bool) or not isinstance(page, int) or page < 1:
        raise InvalidInputError(f"page must be 1 or more, got {page!r}")
    _check_int("per_page", per_page, 1, 100)
    connection = session.connection()
    ensure_search_index(connection)
    words = _words(query)
    for attempt in range(_ATTEMPTS):
        try:
            return _search(connection, query, words, filters, unpublished, page, per_page)
        except IndexChanged:
            if attempt == _ATTEMPTS - 1:
                raise
    raise AssertionError("unreachable")  # pragma: no cover


def _search(
    connection: Connection,
    query: str,
    words: list[str],
    filters: Mapping[str, Collection[str]],
    unpublished: Collection[str] | Literal["all"],
    page: int,
    per_page: int,
) -> SearchResult:
    index = _search_snapshot.snapshot(connection)
    visible = _visible(index, unpublished)
    matched = visible & _filtered(index, filters)
    scores: npt.NDArray[np.float64] | None = None
    if words:
        terms = search_index.query_terms(connection, " ".join(words))
        lists = [_search_snapshot.postings(connection, index, term) for term in terms]
        holding = np.zeros(len(index.ids), dtype=np.int32)
        for found in lists:
            holding[found.positions] += 1
        # Words that are no terms (PostgreSQL's stop words only) match nothing.
        if lists:
            matched &= holding == len(lists)
        else:
            matched[:] = False
        scores = _bm25(index, lists, visible)
    end = page * per_page
    shown = _ranked(matched, scores, end)[end - per_page :]
    hits = _page_hits(
        connection,
        words,
        [
            (int(index.ids[position]), float(scores[position]) if scores is not None else 0.0)
            for position in shown
        ],
    )
    total = int(matched.sum())
    return SearchResult(
        query=query,
        total=total,
        page=page,
        per_page=per_page,
        hits=hits,
        facets=_facet_counts(index, matched),
        backend=connection.dialect.name,
        exact=True,
        counted=total,
    )
