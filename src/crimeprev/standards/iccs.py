"""The International Classification of Crime for Statistical Purposes (ICCS 1.0).

The 320 codes (11 sections, 63 level-2, 148 level-3 and 98 level-4 codes), the
alphabetical index of 968 terms and the disaggregating variables ("tags") ship
as CSV files in ``standards/data`` (sources in ``data/SOURCES.md``). They are
loaded once, on first use, and exposed through small typed functions.

Codes are strings: a section is two digits ("05"), and each level below adds
one digit ("0501", "05012", "050121"), so a code's level follows from its
length and its ancestors are its prefixes.

Examples
--------
>>> get("0501").label
'Burglary'
>>> [c.code for c in children("0501")]
['05011', '05012', '05013', '05019']
>>> roll_up("050121", level=2)
'0501'
>>> search("burglary")[0].code
'0501'
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from functools import cache
from importlib import resources

from rapidfuzz import fuzz, process

from crimeprev.errors import InvalidInputError, UnknownCodeError

__all__ = [
    "LEVELS",
    "IccsCode",
    "IndexTerm",
    "SearchHit",
    "Tag",
    "TagCategory",
    "ancestors",
    "children",
    "codes",
    "descendants",
    "get",
    "index_terms",
    "is_valid",
    "level_of",
    "normalise",
    "parent",
    "roll_up",
    "search",
    "sections",
    "tag",
    "tags",
    "validate",
]

#: Levels of the hierarchy and the length of their codes.
LEVELS: dict[int, int] = {1: 2, 2: 4, 3: 5, 4: 6}
_LENGTH_TO_LEVEL = {length: level for level, length in LEVELS.items()}


@dataclass(frozen=True)
class IccsCode:
    """One ICCS category."""

    code: str
    level: int
    parent_code: str | None
    label: str

    @property
    def section(self) -> str:
        """The level-1 section the code belongs to, e.g. ``"05"``."""
        return self.code[:2]


@dataclass(frozen=True)
class IndexTerm:
    """A term of the ICCS alphabetical index (Annex 2).

    ``code`` is the corrected code; ``code_as_printed`` keeps what the
    published index prints, which for a few terms is a draft or wrong code.
    """

    term: str
    code: str | None
    code_as_printed: str | None
    note: str


@dataclass(frozen=True)
class TagCategory:
    """One category of a disaggregating variable."""

    code: str
    label: str
    parent_code: str | None
    icd10: str | None
    note: str


@dataclass(frozen=True)
class Tag:
    """A disaggregating variable ("tag") of ICCS Tables II-V."""

    table: str
    group: str
    tag: str
    variable: str
    categories: tuple[TagCategory, ...]


@dataclass(frozen=True)
class SearchHit:
    """A ranked search result: the code, its score (0-100) and why it matched."""

    code: str
    label: str
    level: int
    score: float
    matched: str
    via: str  # "code", "label" or "index"


@dataclass(frozen=True)
class _Tables:
    by_code: dict[str, IccsCode]
    children: dict[str, tuple[str, ...]]
    index: tuple[IndexTerm, ...]
    tags: dict[str, Tag]


def _read_csv(name: str) -> list[dict[str, str]]:
    text = resources.files("crimeprev.standards").joinpath("data", name).read_text("utf-8")
    return list(csv.DictReader(text.splitlines()))


@cache
def _tables() -> _Tables:
    by_code: dict[str, IccsCode] = {}
    kids: dict[str, list[str]] = {}
    for row in _read_csv("iccs.csv"):
        item = IccsCode(
            code=row["code"],
            level=int(row["level"]),
            parent_code=row["parent_code"] or None,
            label=row["label"],
        )
        by_code[item.code] = item
        if item.parent_code:
            kids.setdefault(item.parent_code, []).append(item.code)
    index = tuple(
        IndexTerm(
            term=row["term"],
            code=row["code"] or None,
            code_as_printed=row["code_as_printed"] or None,
            note=row["note"],
        )
        for row in _read_csv("iccs_index.csv")
    )
    grouped: dict[str, list[dict[str, str]]] = {}
    for row in _read_csv("iccs_disaggregations.csv"):
        grouped.setdefault(row["tag"], []).append(row)
    tag_map = {
        name: Tag(
            table=rows[0]["table"],
            group=rows[0]["group"],
            tag=name,
            variable=rows[0]["variable"],
            categories=tuple(
                TagCategory(
                    code=row["category_code"],
                    label=row["category_label"],
                    parent_code=row["parent_category_code"] or None,
                    icd10=row["icd10"] or None,
                    note=row["note"],
                )
                for row in rows
            ),
        )
        for name, rows in grouped.items()
    }
    return _Tables(
        by_code=by_code,
        children={code: tuple(sorted(values)) for code, values in kids.items()},
        index=index,
        tags=tag_map,
    )


_PREFIX = re.compile(r"^\s*(?:ICCS)?\s*", re.IGNORECASE)


def normalise(code: str | int) -> str:
    """Return a code as the canonical digit string.

    Accepts the Eurostat prefix ``ICCS`` and surrounding spaces. Integers are
    refused because they lose leading zeros.

    Examples
    --------
    >>> normalise("ICCS0501")
    '0501'
    """
    if not isinstance(code, str):
        raise InvalidInputError(
            f"an ICCS code must be a string such as '0501', got {code!r} "
            f"({type(code).__name__}); read code columns as text so that leading zeros survive"
        )
    return _PREFIX.sub("", code).strip()


def is_valid(code: str) -> bool:
    """Return whether ``code`` is an ICCS 1.0 code.

    Examples
    --------
    >>> is_valid("0501"), is_valid("0599")
    (True, False)
    """
    try:
        return normalise(code) in _tables().by_code
    except InvalidInputError:
        return False


def _nearest(code: str, limit: int = 5) -> list[str]:
    known = list(_tables().by_code)
    digits = re.sub(r"\D", "", code)
    # Codes sharing the longest prefix first (same branch), then by edit distance.
    candidates = process.extract(digits or code, known, scorer=fuzz.ratio, limit=40)
    ranked = sorted(
        candidates,
        key=lambda hit: (-_common_prefix(digits, hit[0]), -hit[1], hit[0]),
    )
    return [hit[0] for hit in ranked[:limit]]


def _common_prefix(left: str, right: str) -> int:
    size = 0
    for a, b in zip(left, right, strict=False):
        if a != b:
            break
        size += 1
    return size


def validate(code: str) -> str:
    """Return the canonical code, or raise a clear error naming the nearest codes.

    Raises
    ------
    UnknownCodeError
        If the code is not in ICCS 1.0.

    Examples
    --------
    >>> validate(" ICCS0101 ")
    '0101'
    """
    canonical = normalise(code)
    if canonical in _tables().by_code:
        return canonical
    nearest = _nearest(canonical)
    raise UnknownCodeError(
        f"{code!r} is not an ICCS 1.0 code; expected 2 to 6 digits such as '0501' "
        f"(levels 1-4). Nearest valid codes: {', '.join(nearest)}",
        received=code,
        nearest=nearest,
    )


def get(code: str) -> IccsCode:
    """Return the ICCS category for ``code`` (see :func:`validate` for errors)."""
    return _tables().by_code[validate(code)]


def codes(level: int | None = None) -> list[IccsCode]:
    """Return every code in classification order, optionally of one level."""
    if level is not None:
        _check_level(level)
    return [item for item in _tables().by_code.values() if level is None or item.level == level]


def sections() -> list[IccsCode]:
    """Return the 11 level-1 sections."""
    return codes(level=1)


def level_of(code: str) -> int:
    """Return the level (1-4) of a valid code."""
    return get(code).level


def parent(code: str) -> IccsCode | None:
    """Return the parent category, or ``None`` for a section."""
    item = get(code)
    return _tables().by_code[item.parent_code] if item.parent_code else None


def children(code: str) -> list[IccsCode]:
    """Return the direct children of a code (empty for a leaf)."""
    tables = _tables()
    return [tables.by_code[c] for c in tables.children.get(validate(code), ())]


def ancestors(code: str) -> list[IccsCode]:
    """Return the ancestors of a code, from its section down to its parent.

    Examples
    --------
    >>> [a.code for a in ancestors("050121")]
    ['05', '0501', '05012']
    """
    found: list[IccsCode] = []
    current = parent(code)
    while current is not None:
        found.append(current)
        current = parent(current.code)
    return found[::-1]


def descendants(code: str, level: int | None = None) -> list[IccsCode]:
    """Return all codes below ``code``, optionally only those at ``level``."""
    root = validate(code)
    if level is not None:
        _check_level(level)
    return [
        item
        for item in _tables().by_code.values()
        if item.code != root
        and item.code.startswith(root)
        and (level is None or item.level == level)
    ]


def roll_up(code: str, level: int) -> str:
    """Return the ancestor of ``code`` at ``level`` (the code itself at its own level).

    Raises
    ------
    InvalidInputError
        If ``level`` is below the code's level (a code cannot be rolled down).
    """
    _check_level(level)
    item = get(code)
    if level > item.level:
        raise InvalidInputError(
            f"cannot roll {item.code} (level {item.level}) up to level {level}; "
            f"expected a level from 1 to {item.level}"
        )
    return item.code[: LEVELS[level]]


def _check_level(level: int) -> None:
    if level not in LEVELS:
        raise InvalidInputError(f"ICCS level must be 1, 2, 3 or 4, got {level!r}")


def index_terms(code: str | None = None) -> list[IndexTerm]:
    """Return the alphabetical index, or the terms that point to ``code``."""
    terms = _tables().index
    if code is None:
        return list(terms)
    canonical = validate(code)
    return [term for term in terms if term.code == canonical]


def tags() -> list[Tag]:
    """Return every disaggregating variable of ICCS Tables II-V."""
    return list(_tables().tags.values())


def tag(name: str) -> Tag:
    """Return one disaggregating variable by its tag (e.g. ``"At"``, ``"VSex"``)."""
    found = _tables().tags.get(name)
    if found is None:
        raise UnknownCodeError(
            f"{name!r} is not an ICCS tag; expected one of {', '.join(_tables().tags)}",
            received=name,
        )
    return found


_STOP_WORDS = frozenset(
    {"a", "an", "and", "by", "for", "in", "of", "on", "or", "the", "to", "with"}
)


def _words(text: str) -> list[str]:
    return [w for w in re.findall(r"[a-z0-9]+", text.lower()) if w not in _STOP_WORDS]


def search(text: str, *, limit: int = 10, level: int | None = None) -> list[SearchHit]:
    """Search codes, labels and index terms; best matches first.

    A code typed as a query ranks that code first. Otherwise every label and
    index term is scored by how many of the query's words it contains (a typo
    is tolerated through fuzzy word matching), with exact and leading matches
    and higher levels of the hierarchy preferred. Each code appears once, with
    the label or term that matched best.

    Parameters
    ----------
    text : str
        Words, a phrase or a code.
    limit : int, default=10
        Number of hits to return.
    level : int, optional
        Return only codes at this level.

    Examples
    --------
    >>> [h.code for h in search("burglary", limit=2)]
    ['0501', '05011']
    >>> search("burglery")[0].code
    '0501'
    """
    query = text.strip()
    if not query:
        return []
    if level is not None:
        _check_level(level)
    tables = _tables()
    best: dict[str, SearchHit] = {}

    def offer(code: str | None, matched: str, via: str, score: float) -> None:
        if code is None or code not in tables.by_code or score <= 0:
            return
        item = tables.by_code[code]
        if level is not None and item.level != level:
            return
        current = best.get(code)
        if current is None or score > current.score:
            best[code] = SearchHit(code, item.label, item.level, round(score, 2), matched, via)

    digits = normalise(query) if re.fullmatch(r"\s*(ICCS)?\s*\d+\s*", query, re.I) else ""
    if digits:
        for code in tables.by_code:
            if code == digits:
                offer(code, code, "code", 100.0)
            elif code.startswith(digits):
                offer(code, code, "code", 90.0 - len(code))
    query_words = _words(query)
    if query_words:
        for item in tables.by_code.values():
            offer(
                item.code, item.label, "label", _score(query, query_words, item.label, item.level)
            )
        for term in tables.index:
            if term.code:
                level_of_term = (
                    tables.by_code[term.code].level if term.code in tables.by_code else 4
                )
                # Index terms weigh slightly less than the official label.
                offer(
                    term.code,
                    term.term,
                    "index",
                    _score(query, query_words, term.term, level_of_term) - 2.0,
                )
    ranked = sorted(best.values(), key=lambda hit: (-hit.score, hit.level, hit.code))
    return ranked[:limit]


def _score(query: str, query_words: list[str], candidate: str, level: int) -> float:
    words = _words(candidate)
    if not words:
        return 0.0
    matched = 0.0
    for word in query_words:
        if word in words:
            matched += 1.0
            continue
        # Prefix or typo match against the candidate's words.
        best = max(
            (
                100.0 if other.startswith(word) and len(word) >= 3 else fuzz.ratio(word, other)
                for other in words
            ),
            default=0.0,
        )
        if best >= 80:
            matched += best / 100.0 * 0.9
    if matched == 0:
        return 0.0
    coverage = matched / len(query_words)
    # Shorter candidates (fewer extra words) and higher levels rank first.
    precision = min(1.0, len(query_words) / len(words))
    score = 60.0 * coverage + 25.0 * precision + 3.0 * (4 - level)
    lowered = candidate.lower()
    if lowered == query.lower():
        score += 10.0
    elif lowered.startswith(query.lower()):
        score += 4.0
    return min(score, 99.0)
