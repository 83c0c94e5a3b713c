"""The per-process cache behind tracker search: every document's data, and terms' postings.

:mod:`crimeprev.tracker.search_index` explains the design. A :class:`Snapshot`
holds, as NumPy arrays in search-document id order, each document's
visibility, Member State, title and body lengths and facet value codes, plus
the postings of the terms searched lately. Snapshots are cached under the
index's nonce. When the nonce has moved on, the newest cached snapshot is
brought up to date from the change log (only the changed documents are read)
if its own state is still in the log; otherwise everything is read again.
Every statement reads the nonce along with its data, and a search that sees
the nonce move between two of its statements starts again
(:class:`~crimeprev.tracker.search_index.IndexChanged`).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt
from sqlalchemy import Connection, text

from crimeprev.tracker.search_index import _BODY_BITS, _TITLE_BITS, IndexChanged, _sqlite

__all__ = ["Postings", "Snapshot", "clear_cache", "postings", "snapshot"]

Ints = npt.NDArray[np.int64]

_MAX_CACHED_POSTINGS = 3_000_000  # per snapshot, about 36 MB
_MAX_SNAPSHOTS = 2
_MAX_PATCHED = 2_000  # changed documents read one by one; beyond, everything is read again
_CHUNK = 500
_LOCK = threading.Lock()
_NONCE = "(select nonce from tracker_search_state where id = 1)"
_RECORD = (
    "'-1 ' || document_id || ' ' || published || ' ' || state_code || ' ' || title_length "
    "|| ' ' || body_length || ' ' || facet_codes"
)


@dataclass(frozen=True)
class Postings:
    """The documents holding one term: positions in the snapshot, and the term's counts."""

    positions: Ints
    title_tf: Ints
    body_tf: Ints


@dataclass
class Snapshot:
    """Every indexed document's visibility, lengths and facet values, as arrays by position.

    Documents are in id order: ``ids[i]`` is the search-document id at position
    i. ``pair_documents`` and ``pair_codes`` list each (document position,
    facet value code) pair; ``code_starts`` indexes ``code_documents`` (the
    pairs' positions grouped by code), so the documents carrying a value are a
    slice. `terms` caches postings, least recently used first.
    """

    nonce: int
    generation: int
    ids: Ints
    published: npt.NDArray[np.bool_]
    state_codes: Ints
    title_lengths: npt.NDArray[np.float64]
    body_lengths: npt.NDArray[np.float64]
    pair_documents: Ints
    pair_codes: Ints
    code_documents: Ints
    code_starts: Ints
    values: dict[tuple[str, str], int]
    names: list[tuple[str, str]]
    terms: OrderedDict[str, Postings] = field(default_factory=OrderedDict)
    cached: int = 0

    def documents_with(self, code: int) -> Ints:
        """Positions of the documents carrying the facet value `code`."""
        if code + 1 >= len(self.code_starts):
            return np.zeros(0, dtype=np.int64)
        return self.code_documents[self.code_starts[code] : self.code_starts[code + 1]]


_SNAPSHOTS: OrderedDict[int, Snapshot] = OrderedDict()


@dataclass(frozen=True)
class _Documents:
    """Documents' rows as parsed, in any order; pairs name documents by id."""

    ids: Ints
    published: Ints
    state_codes: Ints
    title_lengths: Ints
    body_lengths: Ints
    pair_ids: Ints
    pair_codes: Ints


def _numbers(packed: str | None) -> Ints:
    if not packed:
        return np.zeros(0, dtype=np.int64)
    return np.fromstring(packed, dtype=np.int64, sep=" ")


def _parse(packed: str | None) -> _Documents:
    """Read "-1 id published state title_length body_length code code ..." records."""
    numbers = _numbers(packed)
    starts = np.flatnonzero(numbers == -1)
    fixed = np.zeros(len(numbers), dtype=bool)
    for offset in range(6):
        fixed[starts + offset] = True
    code_at = np.flatnonzero(~fixed)
    owner = np.searchsorted(starts, code_at, side="right") - 1
    ids = numbers[starts + 1]
    return _Documents(
        ids=ids,
        published=numbers[starts + 2],
        state_codes=numbers[starts + 3],
        title_lengths=numbers[starts + 4],
        body_lengths=numbers[starts + 5],
        pair_ids=ids[owner],
        pair_codes=numbers[code_at],
    )


def _join(parts: Sequence[_Documents]) -> _Documents:
    return _Documents(
        *(
            np.concatenate([getattr(part, name) for part in parts]).astype(np.int64)
            for name in _Documents.__dataclass_fields__
        )
    )


def _positions(ids: Ints, wanted: Ints) -> Ints:
    """Positions of `wanted` ids in the sorted `ids` (-1 for ids not there).

    A lookup table when the ids are dense enough (a gather, about ten times
    faster than a binary search per id), else a binary search.
    """
    if not len(ids) or not len(wanted):
        return np.full(len(wanted), -1, dtype=np.int64)
    highest = int(max(ids[-1], wanted.max()))
    if int(wanted.min()) >= 0 and highest < 4 * len(ids) + 100_000:
        table = np.full(highest + 1, -1, dtype=np.int64)
        table[ids] = np.arange(len(ids))
        return table[wanted]
    positions = np.searchsorted(ids, wanted)
    inside = positions < len(ids)
    inside[inside] = ids[positions[inside]] == wanted[inside]
    return np.where(inside, positions, -1).astype(np.int64)


def _assemble(
    nonce: int,
    generation: int,
    documents: _Documents,
    names: list[tuple[str, str]],
    terms: OrderedDict[str, Postings] | None = None,
) -> Snapshot:
    order = np.argsort(documents.ids, kind="stable")
    ids = documents.ids[order]
    pair_documents = _positions(ids, documents.pair_ids)
    pair_codes = documents.pair_codes
    # Small integer codes sort by radix (linear time) when they fit 16 bits.
    narrow = pair_codes.astype(np.uint16) if len(names) < 2**16 else pair_codes
    by_code = np.argsort(narrow, kind="stable")
    counts = np.bincount(pair_codes, minlength=len(names))
    snapshot_ = Snapshot(
        nonce=nonce,
        generation=generation,
        ids=ids,
        published=documents.published[order] == 1,
        state_codes=documents.state_codes[order],
        title_lengths=documents.title_lengths[order].astype(np.float64),
        body_lengths=documents.body_lengths[order].astype(np.float64),
        pair_documents=pair_documents,
        pair_codes=pair_codes,
        code_documents=pair_documents[by_code],
        code_starts=np.concatenate([[0], np.cumsum(counts)]).astype(np.int64),
        values={pair: code for code, pair in enumerate(names) if pair[0]},
        names=names,
    )
    for term, found in (terms or {}).items():
        snapshot_.terms[term] = found
        snapshot_.cached += len(found.positions)
    return snapshot_


def _aggregate(connection: Connection, expression: str) -> str:
    if _sqlite(connection):
        return f"group_concat({expression}, ' ')"
    return f"string_agg({expression}, ' ')"


def _names(
    connection: Connection, nonce: int, known: list[tuple[str, str]]
) -> list[tuple[str, str]]:
    """The facet value dictionary, extended with the codes added since `known` was read."""
    rows = connection.execute(
        text(
            f"select {_NONCE}, code, facet, value from tracker_search_value "
            "where code >= :first order by code"
        ),
        {"first": len(known)},
    ).all()
    if any(int(row[0]) != nonce for row in rows):
        raise IndexChanged("the search index changed while it was read")
    names = list(known)
    for row in rows:
        names.extend([("", "")] * (int(row[1]) + 1 - len(names)))
        names[int(row[1])] = (str(row[2]), str(row[3]))
    return names


def _load(connection: Connection) -> Snapshot:
    """Read every document (one statement for the documents, one for the facet values)."""
    nonce, generation, packed = connection.exec_driver_sql(
        f"select {_NONCE}, (select generation from tracker_search_state where id = 1), "
        f"(select {_aggregate(connection, _RECORD)} from tracker_search_docinfo)"
    ).one()
    return _assemble(
        int(nonce), int(generation), _parse(packed), _names(connection, int(nonce), [])
    )


def _chunks(items: Sequence[int]) -> Iterator[tuple[str, dict[str, int]]]:
    """`items` as ``in (...)`` lists of bound parameters, a few hundred at a time."""
    for start in range(0, len(items), _CHUNK):
        part = items[start : start + _CHUNK]
        yield (
            ", ".join(f":item_{i}" for i in range(len(part))),
            {f"item_{i}": value for i, value in enumerate(part)},
        )


def _patch(connection: Connection, old: Snapshot, nonce: int) -> Snapshot | None:
    """`old` brought to the state `nonce`, reading only changed documents; None if it cannot be."""
    log = connection.execute(
        text(
            f"select {_NONCE}, generation, document_id, nonce from tracker_search_change "
            "where generation >= :generation order by generation"
        ),
        {"generation": old.generation},
    ).all()
    if not log:
        return None  # `old` is newer than this state (another transaction's changes)
    if int(log[0][0]) != nonce:
        raise IndexChanged("the search index changed while it was read")
    if (int(log[0][1]), int(log[0][3])) != (old.generation, old.nonce) or int(log[-1][3]) != nonce:
        return None  # `old` is not an ancestor of this state (a rollback, a rebuild) or too old
    changed = sorted({int(row[2]) for row in log[1:]} - {0})
    if len(changed) > _MAX_PATCHED:
        return None
    parts = []
    for listed, parameters in _chunks(changed):
        found_nonce, packed = connection.execute(
            text(
                f"select {_NONCE}, (select {_aggregate(connection, _RECORD)} "
                f"from tracker_search_docinfo where document_id in ({listed}))"
            ),
            parameters,
        ).one()
        if int(found_nonce) != nonce:
            raise IndexChanged("the search index changed while it was read")
        parts.append(_parse(packed))
    kept = ~np.isin(old.ids, changed)
    kept_pairs = kept[old.pair_documents]
    unchanged = _Documents(
        ids=old.ids[kept],
        published=old.published[kept].astype(np.int64),
        state_codes=old.state_codes[kept],
        title_lengths=old.title_lengths[kept].astype(np.int64),
        body_lengths=old.body_lengths[kept].astype(np.int64),
        pair_ids=old.ids[old.pair_documents[kept_pairs]],
        pair_codes=old.pair_codes[kept_pairs],
    )
    names = _names(connection, nonce, old.names)
    with _LOCK:
        terms = OrderedDict(old.terms)
    fresh = _assemble(nonce, int(log[-1][1]), _join([unchanged, *parts]), names)
    additions = _changed_postings(connection, nonce, list(terms), changed)
    for term, found in terms.items():
        ids = old.ids[found.positions]
        keep = ~np.isin(ids, changed)
        packed = additions.get(term, np.zeros(0, dtype=np.int64))
        fresh.terms[term] = _postings(
            fresh,
            np.concatenate([ids[keep], packed >> (_TITLE_BITS + _BODY_BITS)]),
            np.concatenate([found.title_tf[keep], (packed >> _BODY_BITS) & (2**_TITLE_BITS - 1)]),
            np.concatenate([found.body_tf[keep], packed & (2**_BODY_BITS - 1)]),
        )
        fresh.cached += len(fresh.terms[term].positions)
    return fresh


def _packed(connection: Connection) -> str:
    """SQL for one posting as one integer: document << 25 | title_tf << 17 | body_tf."""
    if _sqlite(connection):
        return (
            f"(document_id << {_TITLE_BITS + _BODY_BITS}) | "
            f"(min(title_tf, {2**_TITLE_BITS - 1}) << {_BODY_BITS}) | "
            f"min(body_tf, {2**_BODY_BITS - 1})"
        )
    return (
        f"(document_id::bigint << {_TITLE_BITS + _BODY_BITS}) | "
        f"(least(title_tf, {2**_TITLE_BITS - 1})::bigint << {_BODY_BITS}) | "
        f"least(body_tf, {2**_BODY_BITS - 1})"
    )


def _packed_list(connection: Connection) -> str:
    """SQL aggregating packed postings into one value: text on SQLite, big-endian bytes else."""
    if _sqlite(connection):
        return f"group_concat({_packed(connection)}, ' ')"
    return f"string_agg(int8send({_packed(connection)}), ''::bytea)"


def _unpack(raw: str | bytes | memoryview | None) -> Ints:
    if raw is None or isinstance(raw, str):
        return _numbers(raw)
    return np.frombuffer(bytes(raw), dtype=">i8").astype(np.int64)


def _changed_postings(
    connection: Connection, nonce: int, terms: list[str], changed: list[int]
) -> dict[str, Ints]:
    """The cached terms' postings in the changed documents, packed, by term."""
    found: dict[str, list[Ints]] = {}
    if not terms or not changed:
        return {}
    term_parameters = {f"term_{i}": term for i, term in enumerate(terms)}
    listed_terms = ", ".join(f":{name}" for name in term_parameters)
    for listed, parameters in _chunks(changed):
        rows = connection.execute(
            text(
                f"select {_NONCE}, term, {_packed_list(connection)} from tracker_search_posting "
                f"where term in ({listed_terms}) and document_id in ({listed}) group by term"
            ),
            {**parameters, **term_parameters},
        ).all()
        if any(int(row[0]) != nonce for row in rows):
            raise IndexChanged("the search index changed while it was read")
        for row in rows:
            found.setdefault(str(row[1]), []).append(_unpack(row[2]))
    return {term: np.concatenate(parts) for term, parts in found.items()}


def _postings(index: Snapshot, documents: Ints, title_tf: Ints, body_tf: Ints) -> Postings:
    """Postings by document id mapped to `index`'s positions (unknown documents dropped)."""
    positions = _positions(index.ids, documents)
    known = positions >= 0
    return Postings(
        positions=positions[known].astype(np.int64),
        title_tf=title_tf[known].astype(np.int64),
        body_tf=body_tf[known].astype(np.int64),
    )


def snapshot(connection: Connection) -> Snapshot:
    """The snapshot of the index this transaction sees: cached, brought up to date, or read."""
    nonce, generation = connection.exec_driver_sql(
        "select nonce, generation from tracker_search_state where id = 1"
    ).one()
    nonce, generation = int(nonce), int(generation)
    with _LOCK:
        found = _SNAPSHOTS.get(nonce)
        if found is not None:
            _SNAPSHOTS.move_to_end(nonce)
            return found
        earlier = [kept for kept in _SNAPSHOTS.values() if kept.generation < generation]
    base = max(earlier, key=lambda kept: kept.generation, default=None)
    fresh = _patch(connection, base, nonce) if base is not None else None
    if fresh is None:
        fresh = _load(connection)
    with _LOCK:
        _SNAPSHOTS[fresh.nonce] = fresh
        while len(_SNAPSHOTS) > _MAX_SNAPSHOTS:
            _SNAPSHOTS.popitem(last=False)
    if fresh.nonce != nonce:
        raise IndexChanged("the search index changed during the search")
    return fresh


def postings(connection: Connection, index: Snapshot, term: str) -> Postings:
    """The documents holding `term` in `index`, from the cache or the database (one row).

    Raises
    ------
    IndexChanged
        If the index changed since `index` was read.
    """
    with _LOCK:
        found = index.terms.get(term)
        if found is not None:
            index.terms.move_to_end(term)
            return found
    nonce, raw = connection.execute(
        text(
            f"select {_NONCE}, (select {_packed_list(connection)} from tracker_search_posting "
            "where term = :term)"
        ),
        {"term": term},
    ).one()
    if int(nonce) != index.nonce:
        raise IndexChanged("the search index changed during the search")
    packed = _unpack(raw)
    found = _postings(
        index,
        packed >> (_TITLE_BITS + _BODY_BITS),
        (packed >> _BODY_BITS) & (2**_TITLE_BITS - 1),
        packed & (2**_BODY_BITS - 1),
    )
    with _LOCK:
        index.terms[term] = found
        index.cached += len(found.positions)
        while index.cached > _MAX_CACHED_POSTINGS and len(index.terms) > 1:
            _, dropped = index.terms.popitem(last=False)
            index.cached -= len(dropped.positions)
    return found


def clear_cache(*, terms_only: bool = False) -> None:
    """Forget the cached snapshots, or only their terms' postings (benchmarks time first runs)."""
    with _LOCK:
        if not terms_only:
            _SNAPSHOTS.clear()
        for kept in _SNAPSHOTS.values():
            kept.terms.clear()
            kept.cached = 0
