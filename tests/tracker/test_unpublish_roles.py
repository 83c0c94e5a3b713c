"""Unpublishing (secretariat only, audited, versions kept) and role assignment
(administrators only), checked for every role on both databases."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import func, select

from crimeprev.db import SYSTEM
from crimeprev.db.audit import audit_trail, verify_audit_chain
from crimeprev.errors import ConflictError, InvalidInputError, NotFoundError, PermissionDeniedError
from crimeprev.tracker import service, views
from crimeprev.tracker.access import (
    TrackerActor,
    actor_for,
    grant_membership,
    list_memberships,
    revoke_membership,
)
from crimeprev.tracker.models import SubmissionVersion
from crimeprev.tracker.search import search
from crimeprev.tracker.service import AnswerInput, PracticeInput

ANSWERS = [AnswerInput(1, "Kenya trains village elders in mediation.", paragraphs=(21,))]
NOT_SECRETARIAT = ("public", "kenya", "ghana", "viewer")
ADMINISTRATOR = TrackerActor(principal=SYSTEM, secretariat=True, states=frozenset())


def _published_submission(session, people) -> int:
    submission = service.save_submission(
        session, people["kenya"], discussion=1, state="KEN", answers=ANSWERS
    )
    service.submit_submission(session, people["kenya"], submission.id)
    service.publish_submission(session, people["secretary"], submission.id)
    return submission.id


def _versions(session, submission_id: int) -> int:
    return session.execute(
        select(func.count())
        .select_from(SubmissionVersion)
        .where(SubmissionVersion.submission_id == submission_id)
    ).scalar_one()


def test_only_the_secretariat_unpublishes_a_submission(tracker_db, people):
    with tracker_db.transaction() as session:
        submission_id = _published_submission(session, people)
    for role in NOT_SECRETARIAT:
        with tracker_db.transaction() as session, pytest.raises(PermissionDeniedError):
            service.unpublish_submission(session, people[role], submission_id, "wrong figures")
    with tracker_db.transaction() as session, pytest.raises(InvalidInputError, match="reason"):
        service.unpublish_submission(session, people["secretary"], submission_id, "  ")
    with tracker_db.transaction() as session:
        found = service.unpublish_submission(
            session, people["secretary"], submission_id, "The figures were not cleared."
        )
        assert (found.status, found.published_version, found.current_version) == ("draft", None, 1)
    with tracker_db.transaction() as session:
        # Withdrawn from the public, kept for the State and the secretariat.
        with pytest.raises(NotFoundError):
            service.get_submission(session, people["public"], submission_id)
        assert service.get_submission(session, people["kenya"], submission_id).id == submission_id
        assert _versions(session, submission_id) == 1
        assert search(session, "mediation").total == 0
        assert search(session, "mediation", unpublished=["KEN"]).total == 1
        trail = audit_trail(session, "tracker_submission", submission_id)
        assert [record.action for record in trail] == ["save", "submit", "publish", "unpublish"]
        last = json.loads(trail[-1].after_json)
        assert last["note"] == "The figures were not cleared." and last["withdrawn_version"] == 1
        assert trail[-1].actor == "secretary"
        assert verify_audit_chain(session).valid
    with tracker_db.transaction() as session, pytest.raises(ConflictError, match="no public"):
        service.unpublish_submission(session, people["secretary"], submission_id, "again")


def test_unpublishing_keeps_a_revision_in_progress(tracker_db, people):
    with tracker_db.transaction() as session:
        submission_id = _published_submission(session, people)
        revised = [AnswerInput(1, "Revised: elders and youth leaders mediate.", paragraphs=(21,))]
        service.save_submission(
            session, people["kenya"], discussion=1, state="KEN", answers=revised
        )
    with tracker_db.transaction() as session:
        found = service.unpublish_submission(session, people["secretary"], submission_id, "retract")
        assert (found.status, found.published_version, found.current_version) == ("draft", None, 2)
        assert _versions(session, submission_id) == 2
        # Version 1's answers leave the index; the draft of version 2 stays findable by its State.
        assert search(session, "village elders", unpublished="all").total == 0
        assert search(session, "youth leaders", unpublished=["KEN"]).total == 1
        assert search(session, "youth leaders").total == 0


PRACTICE = PracticeInput(
    title="Safe corridors to school",
    summary="Volunteers escort children past places with frequent street robbery.",
    state="KEN",
    level="local",
    paragraphs=(29,),
)


def test_only_the_secretariat_unpublishes_a_practice(tracker_db, people):
    with tracker_db.transaction() as session:
        practice_id = service.create_practice(session, people["kenya"], PRACTICE).id
        with pytest.raises(ConflictError, match="expected published"):
            service.unpublish_practice(session, people["secretary"], practice_id, "not yet")
        service.submit_practice(session, people["kenya"], practice_id)
        service.publish_practice(session, people["secretary"], practice_id)
    for role in NOT_SECRETARIAT:
        with tracker_db.transaction() as session, pytest.raises(PermissionDeniedError):
            service.unpublish_practice(session, people[role], practice_id, "duplicate")
    with tracker_db.transaction() as session:
        found = service.unpublish_practice(
            session, people["secretary"], practice_id, "Duplicate of another entry."
        )
        assert (found.status, found.published_at, found.title) == (
            "draft",
            None,
            "Safe corridors to school",
        )
    with tracker_db.transaction() as session:
        with pytest.raises(NotFoundError):
            service.get_practice(session, people["public"], practice_id)
        assert search(session, "corridors").total == 0
        assert search(session, "corridors", unpublished=["KEN"]).total == 1
        trail = audit_trail(session, "tracker_practice", practice_id)
        assert trail[-1].action == "unpublish"
        assert json.loads(trail[-1].after_json)["note"] == "Duplicate of another entry."
        # The State's focal point reads the reason; the public and other States do not.
        history = views.review_history(
            session, people["kenya"], "tracker_practice", practice_id, "KEN"
        )
        assert [(row.action, row.note) for row in history][-1] == (
            "unpublish",
            "Duplicate of another entry.",
        )
        for role in ("public", "ghana", "viewer"):
            assert (
                views.review_history(session, people[role], "tracker_practice", practice_id, "KEN")
                == ()
            )


def test_only_administrators_assign_tracker_roles(tracker_db, people):
    for role in (*NOT_SECRETARIAT, "secretary"):
        with tracker_db.transaction() as session, pytest.raises(PermissionDeniedError):
            grant_membership(session, people[role], username="viewer", role="secretariat")
        with tracker_db.transaction() as session, pytest.raises(PermissionDeniedError):
            revoke_membership(
                session, people[role], username="kenya", role="focal_point", state="KEN"
            )
    with tracker_db.transaction() as session:
        membership_id = grant_membership(
            session, ADMINISTRATOR, username="viewer", role="focal_point", state="Ghana"
        ).id
        with pytest.raises(ConflictError):
            grant_membership(
                session, ADMINISTRATOR, username="viewer", role="focal_point", state="GHA"
            )
        assert ("viewer", "focal_point", "GHA") in list_memberships(session)
    with tracker_db.transaction() as session:
        viewer = actor_for(session, people["viewer"].principal)
        assert viewer.may_edit("GHA") and not viewer.secretariat
        assert (
            revoke_membership(
                session, ADMINISTRATOR, username="viewer", role="focal_point", state="GHA"
            )
            == 1
        )
        assert not actor_for(session, people["viewer"].principal).may_edit("GHA")
        trail = audit_trail(session, "tracker_membership", membership_id)
        assert [record.action for record in trail] == ["grant", "revoke"]
        assert all(record.actor == "system" for record in trail)
