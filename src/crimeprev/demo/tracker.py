"""Demo step for the Kyoto tracker: FICTIONAL submissions and good practices, clearly labelled.

Every record made here is marked ``is_fictional``; pages, exports and the
session report label it as fictional demo content. The texts were invented
for the demo: they are not statements of the States they are filed under.

Two demo users are created on the first run, a secretariat member and a focal
point for Kenya, with random passwords printed once in the step's summary.
"""

from __future__ import annotations

import secrets

from sqlalchemy import func, select

from crimeprev.config import Settings
from crimeprev.db import SYSTEM, Database, Role
from crimeprev.db.accounts import create_user
from crimeprev.db.models import User
from crimeprev.tracker import service
from crimeprev.tracker.access import TrackerActor, grant_membership
from crimeprev.tracker.models import Practice, Submission
from crimeprev.tracker.search import ensure_search_index
from crimeprev.tracker.service import AnswerInput, PracticeInput

OPERATOR = TrackerActor(principal=SYSTEM, secretariat=True, states=frozenset())

#: (discussion, State, [(question, answer, paragraphs, groups)]) - all fictional.
SUBMISSIONS: tuple[
    tuple[int, str, tuple[tuple[int, str, tuple[int, ...], tuple[str, ...]], ...]], ...
] = (
    (
        1,
        "KEN",
        (
            (
                1,
                "FICTIONAL DEMO. A national strategy maps risk factors such as school dropout and "
                "unemployment in informal settlements and funds county prevention plans.",
                (21,),
                ("youth",),
            ),
            (
                3,
                "FICTIONAL DEMO. Police and the statistics office started coding recorded offences "
                "to the ICCS and publish quarterly crime trends.",
                (22, 23),
                (),
            ),
            (
                5,
                "FICTIONAL DEMO. County safety audits combine police data with a victimization "
                "survey before choosing local measures.",
                (26,),
                ("communities",),
            ),
        ),
    ),
    (
        1,
        "CHL",
        (
            (
                1,
                "FICTIONAL DEMO. A neighbourhood programme pairs social services with situational "
                "prevention in municipalities with the highest homicide rates.",
                (21, 26),
                ("communities",),
            ),
            (
                2,
                "FICTIONAL DEMO. Lockdowns reduced street robbery and raised reports of domestic "
                "violence, shown by comparing 2019 and 2020 records.",
                (22,),
                ("women_and_girls",),
            ),
        ),
    ),
    (
        1,
        "FIN",
        (
            (
                3,
                "FICTIONAL DEMO. An annual victimization survey and police statistics feed a "
                "public "
                "dashboard used to evaluate prevention strategies.",
                (22, 23),
                ("victims",),
            ),
        ),
    ),
    (
        2,
        "ITA",
        (
            (
                1,
                "FICTIONAL DEMO. Financial investigators trace proceeds of crime with bank and "
                "land "
                "registry data; confiscation follows conviction or preventive orders.",
                (24,),
                (),
            ),
            (
                4,
                "FICTIONAL DEMO. A national agency manages seized and confiscated assets and gives "
                "confiscated real estate to municipalities for social use.",
                (25,),
                ("communities",),
            ),
        ),
    ),
    (
        2,
        "NGA",
        (
            (
                2,
                "FICTIONAL DEMO. A financial intelligence unit shares money laundering alerts with "
                "prosecutors through a secure case platform.",
                (24,),
                (),
            ),
        ),
    ),
    (
        3,
        "PHL",
        (
            (
                1,
                "FICTIONAL DEMO. Gender-responsive budgeting funds prevention of gender-related "
                "violence; local women's desks receive reports.",
                (27, 28),
                ("women_and_girls",),
            ),
            (
                6,
                "FICTIONAL DEMO. School programmes teach children about online grooming and how "
                "to report it.",
                (29,),
                ("children",),
            ),
        ),
    ),
    (
        3,
        "BRA",
        (
            (
                2,
                "FICTIONAL DEMO. Consultations with survivors shaped protocols for protection "
                "orders in domestic violence cases.",
                (28,),
                ("women_and_girls", "victims"),
            ),
            (
                10,
                "FICTIONAL DEMO. Youth councils co-design municipal prevention plans and run "
                "sports and culture projects at night.",
                (30,),
                ("youth",),
            ),
        ),
    ),
)

#: Good practices - all fictional.
PRACTICES: tuple[PracticeInput, ...] = (
    PracticeInput(
        title="Ward safety walks (fictional demo)",
        summary="Residents, police and the municipality walk each ward twice a year to find "
        "unlit streets, abandoned buildings and other places where robbery and assault occur.",
        state="KEN",
        level="local",
        locality="Kisumu",
        year=2019,
        evaluation="Fictional: recorded street robbery fell in audited wards compared with others.",
        paragraphs=(26, 21),
        iccs_codes=("0401",),
        sdg=("16.1", "11.7.2"),
        population_groups=("communities",),
    ),
    PracticeInput(
        title="Confiscated villas as youth centres (fictional demo)",
        summary="Real estate confiscated from criminal organizations is handed to municipalities "
        "and run by associations as youth and community centres.",
        state="ITA",
        level="national",
        year=2012,
        evaluation="Fictional: a review of 40 centres counts users and jobs created.",
        paragraphs=(25, 24),
        iccs_codes=("0704",),
        sdg=("16.4",),
        population_groups=("youth", "communities"),
    ),
    PracticeInput(
        title="Mentoring against school dropout (fictional demo)",
        summary="Trained volunteers mentor pupils at risk of dropping out and of joining gangs, "
        "with weekly meetings and family visits.",
        state="CHL",
        level="local",
        locality="Valparaíso",
        year=2018,
        evaluation="Fictional: randomised pilot, dropout 18% in the mentored group vs 26%.",
        paragraphs=(29, 21),
        population_groups=("children", "youth"),
    ),
    PracticeInput(
        title="One-stop centres for survivors of violence (fictional demo)",
        summary="Hospital-based centres give survivors of domestic and sexual violence medical "
        "care, counselling, police reporting and legal aid in one place.",
        state="PHL",
        level="national",
        year=2016,
        evaluation="Fictional: case files show more cases reaching prosecution.",
        paragraphs=(27, 28),
        iccs_codes=("0301", "0201"),
        sdg=("5.2", "16.1.3"),
        population_groups=("women_and_girls", "victims"),
    ),
    PracticeInput(
        title="Crime statistics with the ICCS (fictional demo)",
        summary="The statistics office and police adopted the ICCS, built a concordance of "
        "national offences and publish indicators every quarter.",
        state="FIN",
        level="national",
        year=2020,
        paragraphs=(22, 23),
        sdg=("16.1.1", "16.3"),
        population_groups=(),
    ),
    PracticeInput(
        title="Night buses home from nightlife areas (fictional demo)",
        summary="Free night buses and trained stewards reduce assaults and sexual harassment "
        "of young people leaving nightlife districts.",
        state="BRA",
        level="local",
        locality="Recife",
        year=2021,
        paragraphs=(26, 27),
        iccs_codes=("0201", "030122"),
        population_groups=("youth", "women_and_girls"),
    ),
)


def _users(session) -> str:  # noqa: ANN001 - a SQLAlchemy session
    existing = (
        session.execute(
            select(User.username).where(User.username.in_(["demo-secretariat", "demo-focal-ken"]))
        )
        .scalars()
        .all()
    )
    if existing:
        return "demo users kept"
    passwords = {name: secrets.token_urlsafe(12) for name in ("demo-secretariat", "demo-focal-ken")}
    for name, password in passwords.items():
        create_user(
            session,
            SYSTEM,
            username=name,
            password=password,
            roles=[Role.VIEWER],
            full_name=f"{name} (fictional demo user)",
        )
    grant_membership(session, OPERATOR, username="demo-secretariat", role="secretariat")
    grant_membership(session, OPERATOR, username="demo-focal-ken", role="focal_point", state="KEN")
    return "demo users: " + ", ".join(
        f"{name} / {password}" for name, password in passwords.items()
    )


def build(settings: Settings) -> str:
    """Load the fictional tracker demo (idempotent) and return a one-line summary."""
    if settings.database_url.startswith("sqlite"):
        settings.ensure_data_dir()
    database = Database(settings.database_url)
    try:
        database.upgrade()
        with database.transaction() as session:
            service.sync_reference(session)
            # The search index is built here, not by the demo's first search.
            ensure_search_index(session)
            already = session.execute(
                select(func.count()).select_from(Submission).where(Submission.is_fictional)
            ).scalar_one()
            if already:
                return f"tracker demo already loaded ({already} fictional submissions)"
            users = _users(session)
            for discussion, state, answers in SUBMISSIONS:
                found = service.save_submission(
                    session,
                    OPERATOR,
                    discussion=discussion,
                    state=state,
                    answers=[
                        AnswerInput(q, text, paragraphs, groups)
                        for q, text, paragraphs, groups in answers
                    ],
                    focal_point="Demo focal point (fictional)",
                    is_fictional=True,
                    note="fictional demo data",
                )
                service.submit_submission(session, OPERATOR, found.id)
                service.publish_submission(session, OPERATOR, found.id)
            for data in PRACTICES:
                practice = service.create_practice(session, OPERATOR, data, is_fictional=True)
                service.add_document(
                    session,
                    OPERATOR,
                    practice.id,
                    (
                        f"FICTIONAL DEMO DOCUMENT\n\n{data.title}\n\n{data.summary}\n\n"
                        f"{data.evaluation}"
                    ).encode(),
                    "fictional-demo-note.txt",
                )
                service.submit_practice(session, OPERATOR, practice.id)
                service.publish_practice(session, OPERATOR, practice.id)
            practices = session.execute(select(func.count()).select_from(Practice)).scalar_one()
        return (
            f"tracker demo: {len(SUBMISSIONS)} fictional submissions and {practices} fictional "
            f"good practices published; {users}"
        )
    finally:
        database.dispose()
