"""Versions read back, the review worklist, the tracker's audit log, the Member State list
and the paragraph/compare commands: library (both databases), API, pages and CLI."""

from __future__ import annotations

import json
import re

import pytest
from typer.testing import CliRunner

from crimeprev.cli.main import app as cli
from crimeprev.errors import InvalidInputError, NotFoundError, PermissionDeniedError
from crimeprev.tracker import review, service
from crimeprev.tracker.member_states import member_states
from crimeprev.tracker.service import AnswerInput, PracticeInput

SQLITE_ONLY = pytest.mark.parametrize("tracker_db", ["sqlite"], indirect=True)

FIRST = [
    AnswerInput(1, "A national strategy maps risk factors.", paragraphs=(21,)),
    AnswerInput(3, "Offences are coded to ICCS.", paragraphs=(22,)),
]
# Version 2 changes question 3's paragraphs, drops question 1 and adds question 2.
SECOND = [
    AnswerInput(2, "Counties run safety audits.", paragraphs=(26,), population_groups=("youth",)),
    AnswerInput(3, "Offences are coded to ICCS.", paragraphs=(22, 23)),
]


def _three_versions(session, people) -> int:
    """Kenya: version 1 published, version 2 returned, version 3 under review."""
    kenya, secretary = people["kenya"], people["secretary"]
    number = service.save_submission(
        session, kenya, discussion=1, state="KEN", answers=FIRST, note="first"
    ).id
    service.submit_submission(session, kenya, number)
    service.publish_submission(session, secretary, number)
    service.save_submission(session, kenya, discussion=1, state="KEN", answers=SECOND)
    service.submit_submission(session, kenya, number)
    service.return_submission(session, secretary, number, "add figures")
    service.save_submission(session, kenya, discussion=1, state="KEN", answers=SECOND)
    service.submit_submission(session, kenya, number)
    return number


def test_every_version_is_read_back_with_what_changed(tracker_db, people):
    with tracker_db.transaction() as session:
        number = _three_versions(session, people)
    with tracker_db.transaction() as session:
        rows = review.submission_versions(session, people["secretary"], number)
        assert [(r.version, r.answers, r.public, r.current) for r in rows] == [
            (1, 2, True, False),
            (2, 2, False, False),
            (3, 2, False, True),
        ]
        assert [r.changed_questions for r in rows] == [(1, 3), (1, 2, 3), ()]
        assert rows[0].note == "first" and rows[0].saved_by == "kenya"
        first = review.version_answers(session, people["kenya"], number, 1)
        assert [(a.question, a.text, a.paragraphs) for a in first] == [
            (1, "A national strategy maps risk factors.", (21,)),
            (3, "Offences are coded to ICCS.", (22,)),
        ]
        second = review.version_answers(session, people["secretary"], number, 2)
        assert [(a.question, a.population_groups) for a in second] == [(2, ("youth",)), (3, ())]
        # The public and other States read the published version only, without who saved it.
        for outsider in ("public", "ghana"):
            public = review.submission_versions(session, people[outsider], number)
            assert [(r.version, r.saved_by, r.changed_questions) for r in public] == [(1, "", ())]
            with pytest.raises(NotFoundError, match="versions you may read: 1"):
                review.version_answers(session, people[outsider], number, 2)
        with pytest.raises(NotFoundError, match="no version 9"):
            review.version_answers(session, people["secretary"], number, 9)


def test_worklist_for_each_role(tracker_db, people):
    with tracker_db.transaction() as session:
        reviewed = _three_versions(session, people)
        ghana = service.save_submission(
            session, people["ghana"], discussion=2, state="GHA", answers=FIRST[:1]
        ).id
        practice = service.create_practice(
            session,
            people["ghana"],
            PracticeInput(title="Safe markets", summary="Market wardens.", state="GHA"),
        ).id
        service.submit_practice(session, people["ghana"], practice)
    with tracker_db.transaction() as session:
        everything = review.worklist(session, people["secretary"])
        kenya = review.worklist(session, people["kenya"])
        with pytest.raises(PermissionDeniedError, match="sign in"):
            review.worklist(session, people["public"])
        with pytest.raises(PermissionDeniedError, match="viewer holds no tracker role"):
            review.worklist(session, people["viewer"])
    # Under review first (oldest first), then drafts.
    assert [(i.kind, i.record_id, i.waiting_for) for i in everything] == [
        ("submission", reviewed, "secretariat"),
        ("practice", practice, "secretariat"),
        ("submission", ghana, "focal point"),
    ]
    assert [(i.kind, i.record_id) for i in kenya] == [("submission", reviewed)]
    assert everything[0].title.startswith("Session 1: ") and everything[0].url.endswith(
        f"/submissions/{reviewed}"
    )


def test_audit_log_for_the_secretariat(tracker_db, people):
    with tracker_db.transaction() as session:
        number = _three_versions(session, people)
    with tracker_db.transaction() as session:
        found = review.tracker_audit(session, people["secretary"], entity="submission",
                                     entity_id=str(number))  # fmt: skip
        assert found.chain_valid and found.chain_records >= 8
        # Newest first: every save and step of the submission, with who did it.
        assert [(row.action, row.actor) for row in found.rows] == [
            ("submit", "kenya"),
            ("save", "kenya"),
            ("return", "secretary"),
            ("submit", "kenya"),
            ("save", "kenya"),
            ("publish", "secretary"),
            ("submit", "kenya"),
            ("save", "kenya"),
        ]
        assert found.rows[2].after["note"] == "add figures"
        everything = review.tracker_audit(session, people["secretary"], limit=3)
        assert [row.sequence for row in everything.rows] == sorted(
            (row.sequence for row in everything.rows), reverse=True
        )
        assert len(everything.rows) == 3
        with pytest.raises(PermissionDeniedError, match="only the secretariat"):
            review.tracker_audit(session, people["kenya"])
        with pytest.raises(InvalidInputError, match="unknown entity 'assets'"):
            review.tracker_audit(session, people["secretary"], entity="assets")
        with pytest.raises(InvalidInputError, match="with a record id"):
            review.tracker_audit(session, people["secretary"], entity_id="1")


@SQLITE_ONLY
def test_api_and_pages(tracker_client, tokens, tracker_db, people):
    with tracker_db.transaction() as session:
        number = _three_versions(session, people)
    client = tracker_client
    listed = client.get(f"/api/tracker/submissions/{number}/versions", headers=tokens["kenya"])
    assert [v["version"] for v in listed.json()["versions"]] == [1, 2, 3]
    public = client.get(f"/api/tracker/submissions/{number}/versions").json()["versions"]
    assert [v["version"] for v in public] == [1]
    old = client.get(f"/api/tracker/submissions/{number}/versions/1", headers=tokens["secretary"])
    assert [a["question"] for a in old.json()["answers"]] == [1, 3]
    hidden = client.get(f"/api/tracker/submissions/{number}/versions/2")
    assert hidden.status_code == 404 and hidden.json()["error"]["code"] == "not_found"
    page = client.get(f"/tracker/submissions/{number}?version=1", headers=tokens["kenya"]).text
    assert "showing version 1" in page and "A national strategy maps risk factors." in page
    assert "Counties run safety audits." not in page
    assert re.search(r"<td>1, 2, 3</td>", page)  # version 2's changed questions
    worklist = client.get("/api/tracker/review", headers=tokens["secretary"]).json()["items"]
    assert [(i["kind"], i["record_id"]) for i in worklist] == [("submission", number)]
    assert client.get("/api/tracker/review").status_code == 403
    review_page = client.get("/tracker/review", headers=tokens["secretary"]).text
    assert f'href="/tracker/submissions/{number}"' in review_page
    audit = client.get("/api/tracker/audit?entity=submission", headers=tokens["secretary"]).json()
    assert audit["chain"]["valid"] and audit["records"][0]["action"] == "submit"
    assert client.get("/api/tracker/audit", headers=tokens["kenya"]).status_code == 403
    audit_page = client.get("/tracker/audit", headers=tokens["secretary"]).text
    assert "hash chain of all" in audit_page and f">submission {number}</a>" in audit_page
    states = client.get("/api/tracker/states").json()
    assert states["count"] == 193 == len(states["states"])
    kenya = next(item for item in states["states"] if item["iso3"] == "KEN")
    assert (kenya["iso2"], kenya["m49"], kenya["region"]) == ("KE", "404", "Africa")
    africa = client.get("/api/tracker/states?region=Africa").json()
    assert africa["count"] == len(member_states("Africa")) == 54
    assert client.get("/api/tracker/states?region=Atlantis").status_code == 404
    overview = client.get("/api/tracker").json()["discussions"][0]
    assert overview["topics"][0]["paragraphs"] == [21]


@SQLITE_ONLY
def test_documents_show_in_a_practices_history(tracker_client, tokens):
    created = tracker_client.post(
        "/api/tracker/practices",
        json={"title": "Lights", "summary": "Street lights.", "state": "KEN"},
        headers=tokens["kenya"],
    ).json()
    uploaded = tracker_client.post(
        f"/api/tracker/practices/{created['id']}/documents",
        files={"file": ("evaluation.txt", b"Burglary fell after the lights.", "text/plain")},
        headers=tokens["kenya"],
    )
    assert uploaded.status_code == 201
    page = tracker_client.get(f"/tracker/practices/{created['id']}", headers=tokens["kenya"]).text
    assert re.search(r"<td>upload document</td><td>evaluation.txt</td>", page)


@SQLITE_ONLY
def test_oversized_uploads_say_the_limit_and_store_nothing(tracker_db, tokens, tmp_path):
    from fastapi.testclient import TestClient

    from crimeprev.config import Settings
    from crimeprev.web.app import create_app

    settings = Settings(data_dir=tmp_path / "d", secret_key="k", database_url=tracker_db.url,
                        tracker_upload_max_bytes=2 * 2**20)  # fmt: skip
    big = b"PK\x03\x04" + b"x" * (3 * 2**20)
    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        refused = client.post(
            "/api/tracker/submissions/import",
            files={"file": ("answers.xlsx", big, "application/octet-stream")},
            headers=tokens["kenya"],
        )
        error = refused.json()["error"]
        assert refused.status_code == 422 and error["code"] == "data_file_error"
        assert error["message"] == (
            "file answers.xlsx: the file is over the limit of 2097152 bytes (2.0 MiB); "
            "split it or upload a smaller version"
        )
        page = client.post("/tracker/import", files={"file": ("answers.xlsx", big)})
        assert page.status_code == 422
        assert "over the limit of 2097152 bytes (2.0 MiB); split it" in page.text
        assert "nothing was imported" in page.text
        assert client.get("/api/tracker/review", headers=tokens["kenya"]).json()["items"] == []


@SQLITE_ONLY
def test_cli_versions_review_audit_paragraph_compare(tracker_db, people, tmp_path, monkeypatch):
    with tracker_db.transaction() as session:
        number = _three_versions(session, people)
        ghana = service.save_submission(
            session, people["ghana"], discussion=1, state="GHA",
            answers=[AnswerInput(1, "Ghana maps hot spots.", paragraphs=(21,))],
        ).id  # fmt: skip
        service.submit_submission(session, people["ghana"], ghana)
        service.publish_submission(session, people["secretary"], ghana)
    monkeypatch.setenv("CRIMEPREV_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("CRIMEPREV_DATABASE_URL", tracker_db.url)
    runner = CliRunner()

    def run(*args: str) -> str:
        result = runner.invoke(cli, ["tracker", *args], terminal_width=200)
        assert result.exit_code == 0, result.output
        return result.output

    versions = json.loads(run("versions", str(number), "--json"))
    assert [(v["version"], v["public"]) for v in versions] == [(1, True), (2, False), (3, False)]
    assert "Offences are coded to ICCS." in run("versions", str(number), "--version", "1")
    waiting = json.loads(run("review", "--json"))
    assert [(i["kind"], i["record_id"], i["waiting_for"]) for i in waiting] == [
        ("submission", number, "secretariat")
    ]
    assert "returned, now draft" in run("return", "submission", str(number), "--note", "Add 2023")
    waiting = json.loads(run("review", "--json"))
    assert [(i["record_id"], i["waiting_for"]) for i in waiting] == [(number, "focal point")]
    bad = runner.invoke(cli, ["tracker", "return", "submission", str(number), "--note", "x"])
    assert bad.exit_code == 2 and "it is draft, expected submitted" in bad.output
    audit = json.loads(run("audit", "--entity", "submission", "--id", str(number), "--json"))
    assert audit["records"][0]["action"] == "return"
    assert audit["records"][0]["after"]["note"] == "Add 2023"
    audit = json.loads(run("audit", "--entity", "submission", "--id", str(ghana), "--json"))
    assert [r["action"] for r in audit["records"]] == ["publish", "submit", "save"]
    assert "audit chain verifies" in run("audit", "--limit", "2")
    # Paragraph 21: the published answers (Kenya's version 1, Ghana's), not Kenya's draft.
    paragraph = json.loads(run("paragraph", "21", "--json"))
    assert sorted(a["state_iso3"] for a in paragraph["answers"]) == ["GHA", "KEN"]
    assert paragraph["pillar"] == "I"
    assert [v["iso3"] for v in paragraph["indicator_values"]] == ["GHA", "KEN"]
    table = run("paragraph", "21")
    assert "Latest values for the States" in table and "not computable" in table
    side = json.loads(run("compare", "KEN", "GHA", "--json"))
    row = next(r for r in side["rows"] if r["paragraph"] == 21)
    assert row["first"] == ["A national strategy maps risk factors."]
    assert row["second"] == ["Ghana maps hot spots."]
    # --all also shows Kenya's working copy (version 3), which dropped question 1.
    drafts = json.loads(run("compare", "KEN", "GHA", "--all", "--json"))
    assert not any(r["first"] for r in drafts["rows"] if r["paragraph"] == 21)
    same = runner.invoke(cli, ["tracker", "compare", "KEN", "Kenya"])
    assert same.exit_code == 2 and "compare two different States, got KEN twice" in same.output
    missing = runner.invoke(cli, ["tracker", "versions", "999"])
    assert missing.exit_code == 2 and "no submission 999" in missing.output


@SQLITE_ONLY
def test_forms_ask_the_public_to_sign_in(tracker_client, tokens):
    for path, doing in (("/tracker/practices/new", "share a practice"),
                        ("/tracker/submissions/new", "answer a discussion")):  # fmt: skip
        public = tracker_client.get(path).text
        assert '<form method="post"' not in public
        assert f'<a href="/login?next={path}">Sign in</a>' in public and doing in public
        viewer = tracker_client.get(path, headers=tokens["viewer"]).text
        assert "viewer holds no tracker role" in viewer and '<form method="post"' not in viewer
        focal = tracker_client.get(path, headers=tokens["kenya"]).text
        assert f'<form method="post" action="{path}"' in focal


@SQLITE_ONLY
def test_cli_attaches_documents_all_or_nothing(tracker_db, people, tmp_path, monkeypatch):
    with tracker_db.transaction() as session:
        number = service.create_practice(
            session, people["kenya"],
            PracticeInput(title="Wardens", summary="Market wardens.", state="KEN"),
        ).id  # fmt: skip
    monkeypatch.setenv("CRIMEPREV_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("CRIMEPREV_DATABASE_URL", tracker_db.url)
    good = tmp_path / "evaluation.txt"
    good.write_text("Thefts fell by a fifth in the market.", encoding="utf-8")
    bad = tmp_path / "photo.png"
    bad.write_bytes(b"\x89PNG\r\n\x1a\n")
    runner = CliRunner()
    refused = runner.invoke(cli, ["tracker", "attach", str(number), str(good), str(bad)])
    assert refused.exit_code == 2 and "file photo.png: unsupported file type" in refused.output
    with tracker_db.transaction() as session:
        assert review.tracker_audit(session, people["secretary"], entity="document").rows == ()
    done = runner.invoke(cli, ["tracker", "attach", str(number), str(good)])
    assert done.exit_code == 0, done.output
    assert "attached evaluation.txt (text, 37 bytes, 37 characters)" in done.output
    with tracker_db.transaction() as session:
        rows = review.tracker_audit(session, people["secretary"], entity="document").rows
        assert [(row.action, row.after["filename"]) for row in rows] == [
            ("upload", "evaluation.txt")
        ]
