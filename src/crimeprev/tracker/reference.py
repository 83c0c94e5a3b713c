"""Reference data of the tracker: Member States, paragraphs, discussions, indicators.

:func:`sync_reference` loads them from :mod:`crimeprev.standards` into the
operational database (idempotently); the other functions look them up.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session

from crimeprev.errors import InvalidInputError, NotFoundError
from crimeprev.standards import kyoto
from crimeprev.tracker.member_states import member_states
from crimeprev.tracker.models import (
    Commitment,
    Discussion,
    DiscussionParagraph,
    Indicator,
    MemberStateRow,
    Question,
)

__all__ = ["DEFAULT_INDICATORS", "get_discussion", "sync_reference", "validate_paragraphs"]

#: Progress indicators linked to paragraphs when the reference data are loaded:
#: (paragraph, series, label, unit). A series is an SDG indicator id, or ``ICCS <code>``
#: for the offences a warehouse source publishes by ICCS code (UN-CTS: money laundering
#: for the proceeds of crime, paragraph 24; sexual violence for the gender perspective,
#: paragraph 27), read from the warehouse when it holds them.
DEFAULT_INDICATORS: tuple[tuple[int, str, str, str], ...] = (
    (21, "16.1.1", "Victims of intentional homicide", "per 100,000 population"),
    (23, "16.1.1", "Victims of intentional homicide", "per 100,000 population"),
    (24, "ICCS 07041", "Money laundering", "per 100,000 population"),
    (27, "ICCS 0301", "Sexual violence", "per 100,000 population"),
)


def sync_reference(session: Session) -> dict[str, int]:
    """Load Member States, paragraphs, discussions, questions and indicators (idempotent).

    Returns
    -------
    dict
        How many rows of each kind are now present.
    """
    known_states = set(session.execute(select(MemberStateRow.iso3)).scalars())
    for state in member_states():
        if state.iso3 not in known_states:
            session.add(
                MemberStateRow(
                    iso3=state.iso3,
                    iso2=state.iso2,
                    m49=state.m49,
                    name=state.name,
                    region=state.region,
                    subregion=state.subregion,
                    intermediate_region=state.intermediate_region,
                )
            )
    known_paragraphs = set(session.execute(select(Commitment.number)).scalars())
    for item in kyoto.paragraphs():
        if item.number not in known_paragraphs:
            session.add(
                Commitment(
                    number=item.number,
                    pillar=item.pillar.number if item.pillar else None,
                    title=item.title,
                    summary=item.summary,
                )
            )
    session.flush()
    for held in kyoto.sessions():
        discussion = session.execute(
            select(Discussion).where(Discussion.number == held.number)
        ).scalar_one_or_none()
        if discussion is None:
            discussion = Discussion(number=held.number, title=held.title, held_on=held.date)
            session.add(discussion)
            session.flush()
            for question in held.questions:
                session.add(
                    Question(
                        discussion_id=discussion.id, number=question.number, text=question.summary
                    )
                )
            for topic in held.topics:
                for number in topic.paragraph_numbers:
                    session.add(
                        DiscussionParagraph(
                            discussion_id=discussion.id, commitment_number=number, topic=topic.title
                        )
                    )
    session.flush()
    existing = {
        (number, series)
        for number, series in session.execute(select(Indicator.commitment_number, Indicator.series))
    }
    for number, series, label, unit in DEFAULT_INDICATORS:
        if (number, series) not in existing:
            session.add(Indicator(commitment_number=number, series=series, label=label, unit=unit))
    session.flush()
    counts = {}
    for name, model in (
        ("member_states", MemberStateRow),
        ("paragraphs", Commitment),
        ("discussions", Discussion),
        ("questions", Question),
        ("indicators", Indicator),
    ):
        counts[name] = len(session.execute(select(model)).scalars().all())
    return counts


def get_discussion(session: Session, number: int) -> Discussion:
    """Return a thematic discussion by its number.

    Raises
    ------
    NotFoundError
        If there is none (load the reference data with :func:`sync_reference`).
    """
    found = session.execute(
        select(Discussion).where(Discussion.number == number)
    ).scalar_one_or_none()
    if found is None:
        numbers = sorted(session.execute(select(Discussion.number)).scalars())
        raise NotFoundError(
            f"no thematic discussion {number}; known: {numbers or 'none (run sync first)'}",
            received=number,
        )
    return found


def validate_paragraphs(
    values: Iterable[int | str], *, where: str = "paragraphs"
) -> tuple[int, ...]:
    """Return paragraph numbers as sorted unique integers, each checked against 21-96.

    Examples
    --------
    >>> validate_paragraphs(["26", 21, 21])
    (21, 26)
    """
    declaration = kyoto.declaration()
    found: set[int] = set()
    for value in values:
        try:
            number = int(str(value).strip())
        except ValueError:
            number = -1
        if number not in declaration.paragraph_numbers:
            raise InvalidInputError(
                f"{where}: {value!r} is not a Kyoto Declaration paragraph; expected a number "
                f"from {declaration.first_paragraph} to {declaration.follow_up_paragraph}",
                field=where,
                value=value,
            )
        found.add(number)
    return tuple(sorted(found))
