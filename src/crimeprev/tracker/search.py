"""Full-text search over submissions, practices and documents, on SQLite or PostgreSQL.

One API, two engines, each using its own full-text machinery:

* SQLite: an FTS5 table (``tracker_search_fts``, Porter stemming) that
  indexes ``tracker_search_document`` as external content, kept in step by
  triggers; ranked by BM25 with the title weighted 5:1 over the body;
  snippets by FTS5's ``snippet()``.
* PostgreSQL: a stored, generated ``tsvector`` column (English configuration,
  title weight A, body weight B) with a GIN index; ranked by ``ts_rank_cd``;
  snippets by ``ts_headline``.

The index is derived data, so it is not part of the Alembic schema:
:func:`ensure_search_index` builds it when missing (and fills it from the
table), and every function here calls it first.

Facets (country, region, paragraph, topic, group, year) live in
``tracker_search_facet`` (for filtering) and in each document's ``facet_key``
(for counting). A search walks the matches newest first and stops after
:data:`CANDIDATES` of them: those are ranked, and their facets counted. When
fewer match, every figure is exact; when more match, the result is flagged
(``exact`` False), the total is estimated and facet counts are lower bounds,
so a query for a common word costs no more than one for a rare word.
Snippets come back as HTML: the text is escaped and the matched words are
wrapped in ``<mark>``.

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
>>> found.total, found.hits[0].snippet
(1, 'Better lighting cut <mark>burglary</mark> in Ward 4.')
>>> [(item.value, item.count) for item in found.facets["country"]]
[('KEN', 1)]
"""

from __future__ import annotations

import heapq
import math
import re
from collections import Counter
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from markupsafe import escape
from sqlalchemy import Connection, Row, delete, select, text
from sqlalchemy.orm import Session

from crimeprev.errors import InvalidInputError
from crimeprev.tracker.models import SearchDocument, SearchFacet

__all__ = [
    "CANDIDATES",
    "FACETS",
    "FacetCount",
    "SearchHit",
    "SearchResult",
    "ensure_search_index",
    "index_document",
    "remove_document",
    "search",
]

#: The facets every search reports, in display order.
FACETS: tuple[str, ...] = ("country", "region", "paragraph", "topic", "group", "year", "kind")

#: How many matches a search counts and ranks at most, by default: enough for
#: exact figures on most queries, few enough to answer within 100 ms at
#: 100,000 documents on either database (bench/bench_tracker_search.py).
CANDIDATES = 1000

_KINDS = ("answer", "practice", "document")
_OPEN, _CLOSE = "\u27e6", "\u27e7"  # marks matched words inside snippets before escaping
_PAIR, _PAIRS = "\t", "\n"  # facet_key: "facet<TAB>value" pairs, one per line
_MAX_BODY = 200_000
_MAX_TERMS = 16
_TERM = re.compile(r"\w+", re.UNICODE)

_SQLITE_DDL = (
    "create virtual table if not exists tracker_search_fts using fts5("
    "title, body, content='tracker_search_document', content_rowid='id', "
    "tokenize='porter unicode61 remove_diacritics 2')",
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
    "insert into tracker_search_fts(tracker_search_fts, rank) values ('rank', 'bm25(5.0, 1.0)')",
    "insert into tracker_search_fts(tracker_search_fts) values ('rebuild')",
)

_POSTGRES_DDL = (
    "alter table tracker_search_document add column if not exists search_vector tsvector "
    "generated always as (setweight(to_tsvector('english', coalesce(title, '')), 'A') || "
    "setweight(to_tsvector('english', coalesce(body, '')), 'B')) stored",
    "create index if not exists ix_tracker_search_document_search_vector on "
    "tracker_search_document using gin (search_vector)",
)


@dataclass(frozen=True)
class FacetCount:
    """How many matches carry one facet value.

    When `exact` is False, more documents matched than the search counted, and
    `count` is a lower bound: the number among the counted matches.
    """

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
        Relevance, higher is better (BM25 on SQLite, ``ts_rank_cd`` on PostgreSQL;
        the scales differ between the two).
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
        How many documents match: exact when `exact`, else an estimate (rounded
        up to two significant digits).
    exact : bool
        True when every match was counted and ranked. False when more matched
        than the candidate limit: then the facet counts are lower bounds and the
        hits are the best of the `counted` newest matches.
    counted : int
        How many matches were counted and ranked.
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
        """Number of pages one can turn through (only the counted matches are ranked)."""
        return max(1, -(-min(self.total, self.counted) // self.per_page))


def _connection_ready(connection: Connection) -> bool:
    dialect = connection.dialect.name
    if dialect == "sqlite":
        found = connection.exec_driver_sql(
            "select count(*) from sqlite_master where name in ('tracker_search_fts', "
            "'tracker_search_fts_insert', 'tracker_search_fts_delete', "
            "'tracker_search_fts_update')"
        ).scalar_one()
        return bool(found == 4)
    found = connection.execute(
        text(
            "select count(*) from pg_indexes where tablename = 'tracker_search_document' "
            "and indexname = 'ix_tracker_search_document_search_vector' "
            "and schemaname = current_schema()"
        )
    ).scalar_one()
    return bool(found == 1)


def ensure_search_index(connection: Connection | Session) -> bool:
    """Build the full-text index if it is missing; return whether it was built.

    Parameters
    ----------
    connection : Connection or Session
        Runs in the caller's transaction.

    Returns
    -------
    bool
        True if the index was created (and filled from ``tracker_search_document``).
    """
    if isinstance(connection, Session):
        connection = connection.connection()
    if _connection_ready(connection):
        return False
    statements = _SQLITE_DDL if connection.dialect.name == "sqlite" else _POSTGRES_DDL
    for statement in statements:
        connection.exec_driver_sql(statement)
    return True


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
        Searchable text (the body is cut at 200,000 characters).
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


def _terms(query: str) -> list[str]:
    return _TERM.findall(query.lower())[:_MAX_TERMS]


def _html(snippet: str) -> str:
    return str(escape(snippet)).replace(_OPEN, "<mark>").replace(_CLOSE, "</mark>")


def _plain_snippet(body: str, length: int = 240) -> str:
    text_ = " ".join(body.split())
    return text_ if len(text_) <= length else text_[:length].rsplit(" ", 1)[0] + " …"


def _round_up(value: float) -> int:
    """Round up to two significant digits: an estimate should not look exact."""
    if value < 100:
        return int(math.ceil(value))
    step = 10 ** (int(math.log10(value)) - 1)
    return int(math.ceil(value / step) * step)


@dataclass(frozen=True)
class _Plan:
    """The SQL pieces of one search: what to scan, which rows qualify, how to score them."""

    dialect: str
    terms: list[str]
    source: str
    where: str
    order_key: str
    score: str
    parameters: dict[str, Any]


def _conditions(
    filters: Mapping[str, Collection[str]],
    unpublished: Collection[str] | Literal["all"],
    row_id: str,
    parameters: dict[str, Any],
) -> list[str]:
    """Visibility and facet-filter conditions (parameters are added to `parameters`)."""
    conditions: list[str] = []
    if unpublished != "all":
        states = sorted(set(unpublished))
        if states:
            names = []
            for position, state in enumerate(states):
                parameters[f"own_{position}"] = state
                names.append(f":own_{position}")
            conditions.append(f"(d.published or d.state_iso3 in ({', '.join(names)}))")
        else:
            conditions.append("d.published")
    for number, (name, values) in enumerate(sorted(filters.items())):
        chosen = sorted({str(value) for value in values if str(value)})
        if not chosen:
            continue
        parameters[f"facet_{number}"] = name
        names = []
        for position, value in enumerate(chosen):
            parameters[f"value_{number}_{position}"] = value
            names.append(f":value_{number}_{position}")
        conditions.append(
            f"{row_id} in (select document_id from tracker_search_facet where "
            f"facet = :facet_{number} and value in ({', '.join(names)}))"
        )
    return conditions


def _plan(
    dialect: str,
    query: str,
    filters: Mapping[str, Collection[str]],
    unpublished: Collection[str] | Literal["all"],
) -> _Plan:
    terms = _terms(query)
    parameters: dict[str, Any] = {}
    if dialect == "sqlite" and terms:
        # Each term quoted: the user's words are never read as FTS5 syntax. The
        # facet filters test the FTS rowid with a unary plus, so that SQLite checks
        # them while it walks the match list instead of handing FTS5 one lookup per
        # filtered document (measured: 8 s instead of 60 ms at 100,000 documents).
        parameters["match"] = " ".join('"' + term.replace('"', "") + '"' for term in terms)
        conditions = _conditions(filters, unpublished, "+tracker_search_fts.rowid", parameters)
        return _Plan(
            dialect=dialect,
            terms=terms,
            source="tracker_search_fts join tracker_search_document d "
            "on d.id = tracker_search_fts.rowid",
            where=" and ".join(["tracker_search_fts match :match", *conditions]),
            order_key="tracker_search_fts.rowid",
            score="-tracker_search_fts.rank",
            parameters=parameters,
        )
    conditions = _conditions(filters, unpublished, "d.id", parameters)
    score = "0.0"
    if terms:
        parameters["query"] = " ".join(terms)
        conditions.insert(0, "d.search_vector @@ plainto_tsquery('english', :query)")
        score = "ts_rank_cd(d.search_vector, plainto_tsquery('english', :query))"
    return _Plan(
        dialect=dialect,
        terms=terms,
        source="tracker_search_document d",
        where=" and ".join(conditions) or "1 = 1",
        order_key="d.id",
        score=score,
        parameters=parameters,
    )


def _candidates(session: Session, plan: _Plan, limit: int) -> list[Row[Any]]:
    """The newest `limit` + 1 matches with their facets and scores (id, score, facet_key).

    Walking the matches newest first and stopping at the limit is what keeps a
    query for a common word fast: neither the full-text engine nor Python touches
    the other matches. The score is computed for the rows kept only (on
    PostgreSQL in an outer query, since the inner one must finish first).
    """
    parameters = {**plan.parameters, "candidate_limit": limit + 1}
    if plan.dialect == "sqlite":
        sql = (
            f"select d.id, {plan.score} as score, d.facet_key from {plan.source} "
            f"where {plan.where} order by {plan.order_key} desc limit :candidate_limit"
        )
    else:
        # The driver prepares a statement run five times, and PostgreSQL then may
        # switch to a generic plan that cannot see how common the words are and
        # sorts every match (measured: 10 ms became 200 ms); plan each search anew.
        session.execute(text("set local plan_cache_mode = force_custom_plan"))
        inner = (
            f"select d.id, d.facet_key, d.search_vector from {plan.source} where {plan.where} "
            f"order by {plan.order_key} desc limit :candidate_limit"
        )
        sql = f"select d.id, {plan.score} as score, d.facet_key from ({inner}) d"
    return list(session.execute(text(sql), parameters).all())


def _estimate_total(session: Session, counted: int, oldest_counted: int) -> int:
    """Estimate how many documents match, from how far back `counted` matches reached.

    Assumes the matches are spread evenly over the documents' ids (the order in
    which they were indexed): if the newest `counted` matches span a tenth of
    the id range, about ten times as many match in all.
    """
    lowest, highest = session.execute(
        text("select min(id), max(id) from tracker_search_document")
    ).one()
    spanned = max(1, int(highest) - oldest_counted + 1)
    return max(counted + 1, _round_up(counted * (int(highest) - int(lowest) + 1) / spanned))


def _facet_counts(rows: Iterable[Row[Any]], exact: bool) -> dict[str, tuple[FacetCount, ...]]:
    counts: Counter[str] = Counter()
    for row in rows:
        if row.facet_key:
            counts.update(row.facet_key.split(_PAIRS))
    facets: dict[str, list[FacetCount]] = {name: [] for name in FACETS}
    for pair, count in counts.items():
        name, _, value = pair.partition(_PAIR)
        facets.setdefault(name, []).append(FacetCount(value=value, count=count, exact=exact))
    return {
        name: tuple(sorted(items, key=lambda item: (-item.count, item.value)))
        for name, items in facets.items()
    }


def _page_hits(session: Session, plan: _Plan, page_rows: list[Row[Any]]) -> tuple[SearchHit, ...]:
    """Read the page's rows in full, with their snippets, in ranked order."""
    if not page_rows:
        return ()
    scores = {int(row.id): float(row.score) for row in page_rows}
    wanted: dict[str, Any] = {f"id_{i}": identifier for i, identifier in enumerate(scores)}
    listed = ", ".join(f":{name}" for name in wanted)
    columns = "d.id, d.kind, d.ref_id, d.title, d.state_iso3, d.link, d.published"
    if plan.terms and plan.dialect == "sqlite":
        snippet = f"snippet(tracker_search_fts, 1, '{_OPEN}', '{_CLOSE}', ' … ', 24)"
        page_sql = (
            f"select {columns}, {snippet} as snippet from {plan.source} "
            f"where tracker_search_fts match :match and tracker_search_fts.rowid in ({listed})"
        )
    elif plan.terms:
        page_sql = (
            f"select {columns}, ts_headline('english', d.body, "
            f"plainto_tsquery('english', :query), 'StartSel={_OPEN}, StopSel={_CLOSE}, "
            'MaxWords=35, MinWords=15, MaxFragments=2, FragmentDelimiter=" … "\') as snippet '
            f"from tracker_search_document d where d.id in ({listed})"
        )
    else:
        page_sql = (
            f"select {columns}, substr(d.body, 1, 400) as snippet "
            f"from tracker_search_document d where d.id in ({listed})"
        )
    rows = {
        int(row.id): row
        for row in session.execute(text(page_sql), {**plan.parameters, **wanted}).all()
    }
    return tuple(
        SearchHit(
            kind=rows[identifier].kind,
            ref_id=int(rows[identifier].ref_id),
            title=rows[identifier].title,
            snippet=_html(
                rows[identifier].snippet if plan.terms else _plain_snippet(rows[identifier].snippet)
            ),
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
    candidates: int = CANDIDATES,
) -> SearchResult:
    """Search the tracker's texts; best matches first, with facet counts.

    Up to `candidates` matches (the newest) are counted and ranked exactly;
    when more match, the result says so (``exact`` is False): the total is an
    estimate, each facet count is a lower bound (the count among the
    candidates), and the hits are the best of the newest `candidates` matches.
    This bound keeps every query fast however common its words (see
    bench/RESULTS.md, "tracker search"); add words or filters to get exact
    figures.

    Parameters
    ----------
    session : Session
    query : str, default=""
        Words to find (all must occur; word forms are stemmed). Empty lists
        everything, newest first, so facets can be browsed.
    filters : mapping of facet to values, optional
        Keep matches having any of the values of each facet, e.g.
        ``{"country": ["KEN"], "paragraph": ["21", "26"]}``.
    unpublished : collection of ISO3 codes, or "all", default=()
        Unpublished texts are found only for these States (a focal point sees
        their own drafts) or for all of them (the secretariat).
    page, per_page : int
        Which page of hits (from 1), and its size (1 to 100).
    candidates : int, default=CANDIDATES
        How many matches are counted and ranked at most (100 to 100,000).

    Returns
    -------
    SearchResult

    Raises
    ------
    InvalidInputError
        For an unknown facet, a page below 1, a page size outside 1-100 or a
        candidate limit outside 100-100,000.
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
    _check_int("candidates", candidates, 100, 100_000)
    ensure_search_index(session)
    plan = _plan(session.get_bind().dialect.name, query, filters, unpublished)
    rows = _candidates(session, plan, candidates)
    exact = len(rows) <= candidates
    rows = rows[:candidates]
    total = len(rows) if exact else _estimate_total(session, len(rows), int(rows[-1].id))
    end = page * per_page
    if plan.terms:
        ranked = heapq.nsmallest(end, rows, key=lambda row: (-float(row.score), int(row.id)))
    else:
        ranked = rows[:end]  # already newest first
    return SearchResult(
        query=query,
        total=int(total),
        page=page,
        per_page=per_page,
        hits=_page_hits(session, plan, ranked[end - per_page :]),
        facets=_facet_counts(rows, exact),
        backend=plan.dialect,
        exact=exact,
        counted=len(rows),
    )
