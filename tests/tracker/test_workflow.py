"""Workflow and permissions for every role, versions kept, audit trail written; both databases."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from crimeprev.db.audit import audit_trail, verify_audit_chain
from crimeprev.errors import ConflictError, InvalidInputError, NotFoundError, PermissionDeniedError
from crimeprev.tracker import service
from crimeprev.tracker.models import Practice, Submission, SubmissionVersion
from crimeprev.tracker.search import search
from crimeprev.tracker.service import AnswerInput, PracticeInput

ANSWERS = [
    AnswerInput(
        1,
        "Kenya's crime prevention strategy targets risk factors in informal settlements.",
        paragraphs=(21,),
        population_groups=("youth",),
    ),
    AnswerInput(3, "A police data unit now codes offences to ICCS.", paragraphs=(22, 23)),
]


def _save(session, actor, state="KEN", answers=ANSWERS, discussion=1):
    return service.save_submission(
        session, actor, discussion=discussion, state=state, answers=answers, focal_point="F. P."
    )


def test_focal_point_drafts_secretariat_publishes(tracker_db, people):
    with tracker_db.transaction() as session:
        submission_id = _save(session, people["kenya"]).id
    with tracker_db.transaction() as session:
        found = session.get(Submission, submission_id)
        assert (found.status, found.current_version, found.published_version) == ("draft", 1, None)
        service.submit_submission(session, people["kenya"], submission_id)
    with tracker_db.transaction() as session:
        service.publish_submission(session, people["secretary"], submission_id)
    with tracker_db.transaction() as session:
        found = session.get(Submission, submission_id)
        assert (found.status, found.published_version) == ("published", 1)
        trail = [
            record.action for record in audit_trail(session, "tracker_submission", submission_id)
        ]
        assert trail == ["save", "submit", "publish"]
        assert verify_audit_chain(session).valid


def test_public_sees_published_only(tracker_db, people):
    with tracker_db.transaction() as session:
        submission_id = _save(session, people["kenya"]).id
    with tracker_db.transaction() as session:
        with pytest.raises(NotFoundError):
            service.get_submission(session, people["public"], submission_id)
        with pytest.raises(NotFoundError):
            service.get_submission(session, people["ghana"], submission_id)
        assert service.get_submission(session, people["kenya"], submission_id).id == submission_id
        assert (
            service.get_submission(session, people["secretary"], submission_id).id == submission_id
        )
        assert search(session, "informal settlements").total == 0
        assert (
            search(
                session, "informal settlements", unpublished=people["kenya"].unpublished_scope
            ).total
            == 1
        )
        assert (
            search(
                session, "informal settlements", unpublished=people["ghana"].unpublished_scope
            ).total
            == 0
        )


def test_revision_keeps_the_published_version_public(tracker_db, people):
    with tracker_db.transaction() as session:
        submission_id = _save(session, people["kenya"]).id
        service.submit_submission(session, people["kenya"], submission_id)
        service.publish_submission(session, people["secretary"], submission_id)
    revised = [AnswerInput(1, "Revised: a municipal safety audit in Kisumu.", paragraphs=(26,))]
    with tracker_db.transaction() as session:
        _save(session, people["kenya"], answers=revised)
    with tracker_db.transaction() as session:
        found = session.get(Submission, submission_id)
        assert (found.status, found.current_version, found.published_version) == ("draft", 2, 1)
        versions = session.execute(
            select(func.count())
            .select_from(SubmissionVersion)
            .where(SubmissionVersion.submission_id == submission_id)
        ).scalar_one()
        assert versions == 2
        public = service.visible_version(session, people["public"], found)
        assert public.version == 1
        assert service.visible_version(session, people["kenya"], found).version == 2
        assert search(session, "informal settlements").total == 1
        assert search(session, "Kisumu").total == 0
        service.submit_submission(session, people["kenya"], submission_id)
        service.publish_submission(session, people["secretary"], submission_id)
    with tracker_db.transaction() as session:
        assert search(session, "informal settlements").total == 0
        assert search(session, "Kisumu").total == 1


def test_others_may_not_edit_a_states_submission(tracker_db, people):
    # One database per test, several cases per test: the set-up is the slow part.
    for who in ("public", "ghana", "viewer"):
        with tracker_db.transaction() as session, pytest.raises(PermissionDeniedError):
            _save(session, people[who])
    with tracker_db.transaction() as session:
        assert session.execute(select(func.count()).select_from(Submission)).scalar_one() == 0


def test_only_the_secretariat_publishes_or_returns(tracker_db, people):
    with tracker_db.transaction() as session:
        submission_id = _save(session, people["kenya"]).id
        service.submit_submission(session, people["kenya"], submission_id)
    for who in ("kenya", "ghana", "viewer", "public"):
        with tracker_db.transaction() as session:
            with pytest.raises(PermissionDeniedError):
                service.publish_submission(session, people[who], submission_id)
            with pytest.raises(PermissionDeniedError):
                service.return_submission(session, people[who], submission_id)
    with tracker_db.transaction() as session:
        assert session.get(Submission, submission_id).status == "submitted"


def test_secretariat_may_save_for_any_state(tracker_db, people):
    with tracker_db.transaction() as session:
        assert _save(session, people["secretary"], state="Ghana").state_iso3 == "GHA"


def test_under_review_cannot_change_until_returned(tracker_db, people):
    with tracker_db.transaction() as session:
        submission_id = _save(session, people["kenya"]).id
        service.submit_submission(session, people["kenya"], submission_id)
    with tracker_db.transaction() as session, pytest.raises(ConflictError, match="under review"):
        _save(session, people["kenya"])
    with tracker_db.transaction() as session:
        service.return_submission(session, people["secretary"], submission_id, note="add sources")
    with tracker_db.transaction() as session:
        assert _save(session, people["kenya"]).current_version == 2
        record = audit_trail(session, "tracker_submission", submission_id)[-2]
        assert record.action == "return" and "add sources" in record.after_json


@pytest.mark.parametrize(
    ("transition", "status_needed"),
    [("publish", "submitted"), ("return", "submitted")],
)
def test_transitions_from_the_wrong_state(tracker_db, people, transition, status_needed):
    with tracker_db.transaction() as session:
        submission_id = _save(session, people["kenya"]).id
    action = getattr(service, f"{transition}_submission")
    with tracker_db.transaction() as session, pytest.raises(ConflictError, match=status_needed):
        action(session, people["secretary"], submission_id)


BAD_ANSWERS = [
    ([], "at least one answer"),
    ([AnswerInput(99, "x")], "questions 1-9"),
    ([AnswerInput(1, "x", paragraphs=(12,))], "not a Kyoto Declaration paragraph"),
    ([AnswerInput(1, "x", population_groups=("aliens",))], "unknown population group"),
    ([AnswerInput(1, "x"), AnswerInput(1, "y")], "answered twice"),
]


def test_bad_answers_store_nothing(tracker_db, people):
    for answers, message in BAD_ANSWERS:
        with tracker_db.transaction() as session, pytest.raises(InvalidInputError, match=message):
            _save(session, people["kenya"], answers=answers)
    with tracker_db.transaction() as session:
        assert session.execute(select(func.count()).select_from(Submission)).scalar_one() == 0


PRACTICE = PracticeInput(
    title="Safe routes to school (fictional)",
    summary="Volunteers escort children through areas with frequent street robbery.",
    state="KEN",
    level="local",
    locality="Nairobi",
    evaluation="Before-after comparison of recorded robberies, 2019-2021.",
    year=2019,
    paragraphs=(29, 26),
    iccs_codes=("0401",),
    sdg=("16.1", "16.2.1"),
    population_groups=("children",),
)


def test_practice_workflow_and_tags(tracker_db, people):
    with tracker_db.transaction() as session:
        practice = service.create_practice(session, people["kenya"], PRACTICE)
        practice_id = practice.id
        assert practice.paragraphs == (26, 29)
        assert practice.tag_values("sdg") == ("16.1", "16.2.1")
        service.submit_practice(session, people["kenya"], practice_id)
        with pytest.raises(PermissionDeniedError):
            service.publish_practice(session, people["kenya"], practice_id)
        service.publish_practice(session, people["secretary"], practice_id)
    with tracker_db.transaction() as session:
        assert service.get_practice(session, people["public"], practice_id).status == "published"
        assert search(session, "robbery", filters={"paragraph": ["29"]}).total == 1
    changed = PracticeInput(**{**PRACTICE.__dict__, "summary": "Now also in Mombasa."})
    with tracker_db.transaction() as session:
        assert (
            service.update_practice(session, people["kenya"], practice_id, changed).status
            == "draft"
        )
    with tracker_db.transaction() as session:
        with pytest.raises(NotFoundError):
            service.get_practice(session, people["public"], practice_id)
        actions = [r.action for r in audit_trail(session, "tracker_practice", practice_id)]
        assert actions == ["create", "submit", "publish", "update"]


BAD_PRACTICES = [
    ({"title": " "}, "title"),
    ({"level": "regional"}, "national or local"),
    ({"iccs_codes": ("9999",)}, "iccs_codes"),
    ({"sdg": ("99.9",)}, "SDG target"),
    ({"year": 1800}, "year"),
    ({"state": "Atlantis"}, "not a UN Member State"),
]


def test_bad_practices_are_refused(tracker_db, people):
    for change, message in BAD_PRACTICES:
        data = PracticeInput(**{**PRACTICE.__dict__, **change})
        with tracker_db.transaction() as session, pytest.raises(Exception, match=message):
            service.create_practice(session, people["kenya"], data)
    with tracker_db.transaction() as session:
        assert session.execute(select(func.count()).select_from(Practice)).scalar_one() == 0


def test_focal_point_cannot_record_for_another_state(tracker_db, people):
    data = PracticeInput(**{**PRACTICE.__dict__, "state": "GHA"})
    with tracker_db.transaction() as session, pytest.raises(PermissionDeniedError, match="KEN"):
        service.create_practice(session, people["kenya"], data)
