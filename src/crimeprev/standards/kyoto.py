"""The structure of the Kyoto Declaration and its pillar I thematic sessions.

The Kyoto Declaration (Fourteenth United Nations Congress on Crime Prevention
and Criminal Justice, 7 March 2021) groups its commitments into four pillars:
paragraphs 21-30 advance crime prevention, 31-47 the criminal justice system,
48-59 the rule of law and 60-95 international cooperation and technical
assistance; paragraph 96 asks the Commission on Crime Prevention and Criminal
Justice to follow the Declaration up. The Commission's first thematic
discussions (10-12 November 2021) covered pillar I in three sessions.

The data ship as ``standards/data/kyoto.json``, taken from the Commission's
background paper for those discussions. Numbers, dates, pillar titles and topic
headings are kept as published. Paragraph titles and summaries (pillar I and
the follow-up paragraph) and the summaries of the discussion questions are
written in our own words, never quoted.

Examples
--------
>>> pillar("I").title
'Advancing crime prevention'
>>> found = paragraph(24)
>>> found.pillar.roman, found.title, found.session_numbers
('I', 'Taking the profit out of crime', (2,))
>>> paragraph(40).pillar.title
'Advancing the criminal justice system'
>>> [(item.number, item.date.isoformat(), len(item.questions)) for item in sessions()]
[(1, '2021-11-10', 9), (2, '2021-11-11', 8), (3, '2021-11-12', 13)]
"""

from __future__ import annotations

import datetime
import json
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

from crimeprev.errors import DataFileError, InvalidInputError, NotFoundError

__all__ = [
    "Declaration",
    "DiscussionQuestion",
    "Paragraph",
    "Pillar",
    "SessionTopic",
    "ThematicSession",
    "declaration",
    "paragraph",
    "paragraphs",
    "pillar",
    "pillars",
    "session",
    "sessions",
]

_DATA_FILE = "kyoto.json"


@dataclass(frozen=True)
class Declaration:
    """The Declaration itself and the document the structure is taken from.

    Attributes
    ----------
    name : str
        Full title of the Declaration.
    short_name : str
        The name used in running text ("Kyoto Declaration").
    adopted_on : datetime.date
        Date of adoption by the Congress.
    adopted_by : str
        The body that adopted it.
    first_paragraph : int
        The first paragraph of pillar I (21); earlier paragraphs are not covered.
    follow_up_paragraph : int
        The paragraph on follow-up by the Commission (96).
    source : str
        The document the paragraph ranges, sessions and questions come from.
    """

    name: str
    short_name: str
    adopted_on: datetime.date
    adopted_by: str
    first_paragraph: int
    follow_up_paragraph: int
    source: str

    @property
    def paragraph_numbers(self) -> range:
        """The paragraphs this module covers: the four pillars and the follow-up."""
        return range(self.first_paragraph, self.follow_up_paragraph + 1)


@dataclass(frozen=True)
class Pillar:
    """One of the four pillars of commitments.

    Attributes
    ----------
    number : int
        1 to 4.
    roman : str
        The numeral the Declaration uses ("I" to "IV").
    title : str
        The pillar's title.
    first_paragraph, last_paragraph : int
        The inclusive range of the pillar's paragraphs.
    """

    number: int
    roman: str
    title: str
    first_paragraph: int
    last_paragraph: int

    @property
    def paragraph_numbers(self) -> range:
        """The numbers of the pillar's paragraphs.

        Examples
        --------
        >>> 25 in pillar(1).paragraph_numbers, len(pillar(4).paragraph_numbers)
        (True, 36)
        """
        return range(self.first_paragraph, self.last_paragraph + 1)


@dataclass(frozen=True)
class Paragraph:
    """One operative paragraph of the Declaration.

    Attributes
    ----------
    number : int
        The paragraph number, 21 to 96.
    pillar : Pillar or None
        The pillar it belongs to; ``None`` for the follow-up paragraph 96.
    title : str or None
        Our short title; given for pillar I (21-30) and paragraph 96.
    summary : str or None
        Our one- to three-sentence summary, for the same paragraphs.
    topic : str or None
        The heading under which the thematic sessions grouped the paragraph.
    session_numbers : tuple of int
        The thematic sessions that discussed it (empty outside pillar I).
    """

    number: int
    pillar: Pillar | None
    title: str | None
    summary: str | None
    topic: str | None
    session_numbers: tuple[int, ...]

    @property
    def is_follow_up(self) -> bool:
        """Whether this is the follow-up paragraph rather than a pillar commitment.

        Examples
        --------
        >>> paragraph(96).is_follow_up, paragraph(95).is_follow_up
        (True, False)
        """
        return self.pillar is None


@dataclass(frozen=True)
class SessionTopic:
    """A topic of a thematic session and the paragraphs it covers.

    Attributes
    ----------
    title : str
        The topic heading as published.
    paragraph_numbers : tuple of int
        The Declaration paragraphs discussed under the topic.
    """

    title: str
    paragraph_numbers: tuple[int, ...]


@dataclass(frozen=True)
class DiscussionQuestion:
    """A discussion question of a thematic session, summarised in our words.

    Attributes
    ----------
    session_number : int
        The session that asked it.
    number : int
        Its position in the session's list, from 1.
    summary : str
        What the question asks.
    """

    session_number: int
    number: int
    summary: str


@dataclass(frozen=True)
class ThematicSession:
    """One day of the Commission's thematic discussions on pillar I (November 2021).

    Attributes
    ----------
    number : int
        1 to 3.
    date : datetime.date
        The day it was held.
    title : str
        Our short title for the session.
    topics : tuple of SessionTopic
        The topics in the published order.
    questions : tuple of DiscussionQuestion
        The discussion questions in the published order.
    """

    number: int
    date: datetime.date
    title: str
    topics: tuple[SessionTopic, ...]
    questions: tuple[DiscussionQuestion, ...]

    @property
    def paragraph_numbers(self) -> tuple[int, ...]:
        """The paragraphs the session covered, in ascending order.

        Examples
        --------
        >>> session(1).paragraph_numbers
        (21, 22, 23, 26)
        """
        return tuple(sorted({n for topic in self.topics for n in topic.paragraph_numbers}))


@dataclass(frozen=True)
class _Structure:
    declaration: Declaration
    pillars: tuple[Pillar, ...]
    paragraphs: dict[int, Paragraph]
    sessions: dict[int, ThematicSession]


def _invalid(message: str) -> DataFileError:
    return DataFileError(
        f"{message}; the packaged Kyoto data are inconsistent, reinstall crimeprev",
        file=_DATA_FILE,
    )


def _build(raw: dict[str, Any]) -> _Structure:
    follow_up = int(raw["follow_up_paragraph"])
    pillars_ = tuple(
        Pillar(
            number=int(item["number"]),
            roman=item["roman"],
            title=item["title"],
            first_paragraph=int(item["first_paragraph"]),
            last_paragraph=int(item["last_paragraph"]),
        )
        for item in raw["pillars"]
    )
    # The pillars must tile 21..95 without gaps so that every number has one pillar.
    for before, after in zip(pillars_, pillars_[1:], strict=False):
        if after.first_paragraph != before.last_paragraph + 1:
            raise _invalid(f"pillar {after.roman} does not follow pillar {before.roman}")
    if pillars_[-1].last_paragraph + 1 != follow_up:
        raise _invalid("the follow-up paragraph does not follow the last pillar")
    source = raw["source"]
    declaration_ = Declaration(
        name=source["declaration"],
        short_name=source["short_name"],
        adopted_on=datetime.date.fromisoformat(source["adopted_on"]),
        adopted_by=source["adopted_by"],
        first_paragraph=pillars_[0].first_paragraph,
        follow_up_paragraph=follow_up,
        source=source["document"],
    )

    topics_of: dict[int, str] = {}
    sessions_of: dict[int, list[int]] = {}
    sessions_: dict[int, ThematicSession] = {}
    for item in raw["sessions"]:
        number = int(item["number"])
        topics = tuple(
            SessionTopic(title=topic["title"], paragraph_numbers=tuple(topic["paragraphs"]))
            for topic in item["topics"]
        )
        for topic in topics:
            for paragraph_number in topic.paragraph_numbers:
                topics_of[paragraph_number] = topic.title
                sessions_of.setdefault(paragraph_number, []).append(number)
        sessions_[number] = ThematicSession(
            number=number,
            date=datetime.date.fromisoformat(item["date"]),
            title=item["title"],
            topics=topics,
            questions=tuple(
                DiscussionQuestion(session_number=number, number=position, summary=text)
                for position, text in enumerate(item["questions"], start=1)
            ),
        )

    described = {int(item["number"]): item for item in raw["paragraphs"]}
    expected = set(pillars_[0].paragraph_numbers) | {follow_up}
    if set(described) != expected:
        raise _invalid(
            f"titles and summaries cover paragraphs {sorted(described)}, "
            f"expected {sorted(expected)}"
        )
    paragraphs_: dict[int, Paragraph] = {}
    for owner in pillars_:
        for number in owner.paragraph_numbers:
            text = described.get(number)
            paragraphs_[number] = Paragraph(
                number=number,
                pillar=owner,
                title=text["title"] if text else None,
                summary=text["summary"] if text else None,
                topic=topics_of.get(number),
                session_numbers=tuple(sessions_of.get(number, ())),
            )
    paragraphs_[follow_up] = Paragraph(
        number=follow_up,
        pillar=None,
        title=described[follow_up]["title"],
        summary=described[follow_up]["summary"],
        topic=None,
        session_numbers=(),
    )
    stray = set(topics_of) - set(pillars_[0].paragraph_numbers)
    if stray:
        raise _invalid(f"sessions cite paragraphs {sorted(stray)} outside pillar I")
    return _Structure(declaration_, pillars_, paragraphs_, sessions_)


@cache
def _structure() -> _Structure:
    text = resources.files("crimeprev.standards").joinpath("data", _DATA_FILE).read_text("utf-8")
    return _build(json.loads(text))


def _check_integer(value: object, what: str) -> int:
    # bool is an int subclass; True would otherwise silently mean 1.
    if not isinstance(value, int) or isinstance(value, bool):
        raise InvalidInputError(
            f"{what} must be an integer, got {value!r} ({type(value).__name__}); "
            "convert text with int() first"
        )
    return value


def declaration() -> Declaration:
    """Return the Declaration's title, adoption and the source of this structure.

    Returns
    -------
    Declaration
        Name, adoption date and body, follow-up paragraph and source document.

    Examples
    --------
    >>> found = declaration()
    >>> found.short_name, found.adopted_on.isoformat()
    ('Kyoto Declaration', '2021-03-07')
    >>> found.paragraph_numbers
    range(21, 97)
    """
    return _structure().declaration


def pillars() -> list[Pillar]:
    """Return the four pillars in order.

    Returns
    -------
    list of Pillar
        Pillars I to IV with their paragraph ranges.

    Examples
    --------
    >>> [(item.roman, item.first_paragraph, item.last_paragraph) for item in pillars()]
    [('I', 21, 30), ('II', 31, 47), ('III', 48, 59), ('IV', 60, 95)]
    """
    return list(_structure().pillars)


def _resolve_pillar(number_or_roman: int | str | Pillar) -> Pillar:
    found = _structure().pillars
    if isinstance(number_or_roman, Pillar):
        key: int | str = number_or_roman.number
    elif isinstance(number_or_roman, str):
        key = number_or_roman.strip().upper()
        if key.isdigit():
            key = int(key)
    else:
        key = _check_integer(number_or_roman, "a pillar")
    for item in found:
        if key in (item.number, item.roman):
            return item
    raise NotFoundError(
        f"no pillar {number_or_roman!r}; the Kyoto Declaration has pillars "
        f"1-{len(found)} (roman {', '.join(item.roman for item in found)})",
        received=number_or_roman,
        valid=[item.roman for item in found],
    )


def pillar(number_or_roman: int | str) -> Pillar:
    """Return one pillar by its number or roman numeral.

    Parameters
    ----------
    number_or_roman : int or str
        ``1`` to ``4``, or ``"I"`` to ``"IV"`` (any case; a digit string works too).

    Returns
    -------
    Pillar
        The pillar with its title and paragraph range.

    Raises
    ------
    NotFoundError
        If there is no such pillar.
    InvalidInputError
        If `number_or_roman` is neither an integer nor text.

    Examples
    --------
    >>> pillar("iii").title
    'Promoting the rule of law'
    >>> pillar(4).paragraph_numbers
    range(60, 96)
    """
    return _resolve_pillar(number_or_roman)


def paragraph(number: int) -> Paragraph:
    """Return one paragraph of the Declaration, 21 to 96.

    Every paragraph knows its pillar; those of pillar I (21-30) and the
    follow-up paragraph 96 also carry a title and a summary, and those of
    pillar I name the thematic session(s) that discussed them.

    Parameters
    ----------
    number : int
        The paragraph number.

    Returns
    -------
    Paragraph
        The paragraph.

    Raises
    ------
    NotFoundError
        If `number` is outside 21-96.
    InvalidInputError
        If `number` is not an integer.

    Examples
    --------
    >>> paragraph(22).topic
    'Evidence-based crime prevention'
    >>> paragraph(60).pillar.roman, paragraph(60).summary
    ('IV', None)
    >>> paragraph(20)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
        ...
    crimeprev.errors.NotFoundError: no paragraph 20 ...; expected a number from 21 to 96 ...
    """
    structure = _structure()
    number = _check_integer(number, "a paragraph number")
    found = structure.paragraphs.get(number)
    if found is None:
        first, last = structure.pillars[0], structure.pillars[-1]
        follow_up = structure.declaration.follow_up_paragraph
        raise NotFoundError(
            f"no paragraph {number} in the Kyoto structure; expected a number from "
            f"{first.first_paragraph} to {follow_up} (pillars {first.roman}-{last.roman}: "
            f"{first.first_paragraph}-{last.last_paragraph}, follow-up: {follow_up})",
            received=number,
            valid_range=[first.first_paragraph, follow_up],
        )
    return found


def paragraphs(pillar: int | str | Pillar | None = None) -> list[Paragraph]:
    """Return the paragraphs in order, all of them or those of one pillar.

    Parameters
    ----------
    pillar : int, str, Pillar or None, default=None
        A pillar number, roman numeral or :class:`Pillar`; ``None`` returns
        paragraphs 21 to 96, the follow-up paragraph included.

    Returns
    -------
    list of Paragraph
        The paragraphs by ascending number.

    Raises
    ------
    NotFoundError
        If there is no such pillar.

    Examples
    --------
    >>> [item.title for item in paragraphs("I")][:3]
    ['Root causes and risk factors', 'Evidence-based prevention', 'Better data on crime trends']
    >>> len(paragraphs()), len(paragraphs(2))
    (76, 17)
    """
    every = sorted(_structure().paragraphs.values(), key=lambda item: item.number)
    if pillar is None:
        return every
    wanted = _resolve_pillar(pillar)
    return [item for item in every if item.pillar == wanted]


def sessions() -> list[ThematicSession]:
    """Return the three thematic sessions of 10-12 November 2021 in order.

    Returns
    -------
    list of ThematicSession
        Sessions with their dates, topics and discussion questions.

    Examples
    --------
    >>> for item in sessions():
    ...     print(item.number, item.date, item.title)
    1 2021-11-10 Root causes, evidence and tailor-made strategies
    2 2021-11-11 The economic dimension of crime
    3 2021-11-12 Gender, children and youth in crime prevention
    """
    return [item for _, item in sorted(_structure().sessions.items())]


def session(number: int) -> ThematicSession:
    """Return one thematic session by its number.

    Parameters
    ----------
    number : int
        1, 2 or 3.

    Returns
    -------
    ThematicSession
        The session.

    Raises
    ------
    NotFoundError
        If there is no such session.
    InvalidInputError
        If `number` is not an integer.

    Examples
    --------
    >>> found = session(2)
    >>> found.date.isoformat(), [topic.paragraph_numbers for topic in found.topics]
    ('2021-11-11', [(24, 25)])
    >>> found.questions[1].summary
    'Has your country strengthened its national framework for financial investigations?'
    """
    found = _structure().sessions
    number = _check_integer(number, "a session number")
    if number not in found:
        raise NotFoundError(
            f"no thematic session {number}; the pillar I discussions had sessions "
            f"{', '.join(str(key) for key in sorted(found))}",
            received=number,
            valid=sorted(found),
        )
    return found[number]
