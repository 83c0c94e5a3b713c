"""The tracker's JSON API and pages: every page answers, permissions hold, errors are clear."""

from __future__ import annotations

import io
import re

import pytest
from fpdf import FPDF
from openpyxl import load_workbook

# The faces are thin: the library tests run every rule on both databases, and the API
# workflow tests below do too; the remaining page and upload tests use SQLite only.
SQLITE_ONLY = pytest.mark.parametrize("tracker_db", ["sqlite"], indirect=True)
PASSWORD = "correct horse battery staple"

ANSWER = {
    "discussion": 2,
    "state": "KEN",
    "answers": [
        {
            "question": 1,
            "text": "An asset recovery office traces illicit gains.",
            "paragraphs": [24],
        },
        {
            "question": 3,
            "text": "Anti-money-laundering strategy adopted in 2021.",
            "paragraphs": [24],
        },
    ],
    "focal_point": "Focal (fictional)",
}


def _publish(client, tokens, body=ANSWER):
    created = client.post("/api/tracker/submissions", json=body, headers=tokens["kenya"])
    assert created.status_code == 201, created.text
    number = created.json()["id"]
    assert (
        client.post(
            f"/api/tracker/submissions/{number}/submit", headers=tokens["kenya"]
        ).status_code
        == 200
    )
    published = client.post(
        f"/api/tracker/submissions/{number}/publish", headers=tokens["secretary"]
    )
    assert published.status_code == 200, published.text
    return number


def test_submission_workflow_through_the_api(tracker_client, tokens):
    number = _publish(tracker_client, tokens)
    public = tracker_client.get(f"/api/tracker/submissions/{number}").json()
    assert public["status"] == "published" and public["focal_point"] is None
    assert [row["question"] for row in public["answers"]] == [1, 3]
    found = tracker_client.get("/api/tracker/search", params={"q": "laundering"}).json()
    assert found["total"] == 1 and "<mark>" in found["hits"][0]["snippet"]
    assert found["exact"] and found["counted"] == 1
    assert found["facets"]["country"] == [{"value": "KEN", "count": 1, "exact": True}]
    page = tracker_client.get(f"/tracker/submissions/{number}")
    assert page.status_code == 200 and "Anti-money-laundering strategy" in page.text


def test_permissions_through_the_api(tracker_client, tokens):
    anonymous = tracker_client.post("/api/tracker/submissions", json=ANSWER)
    assert anonymous.status_code == 403
    assert anonymous.json()["error"]["code"] == "permission_denied"
    other = tracker_client.post("/api/tracker/submissions", json=ANSWER, headers=tokens["ghana"])
    assert other.status_code == 403 and "KEN" in other.json()["error"]["message"]
    number = tracker_client.post(
        "/api/tracker/submissions", json=ANSWER, headers=tokens["kenya"]
    ).json()["id"]
    assert tracker_client.get(f"/api/tracker/submissions/{number}").status_code == 404
    assert (
        tracker_client.get(
            f"/api/tracker/submissions/{number}", headers=tokens["ghana"]
        ).status_code
        == 404
    )
    assert (
        tracker_client.get(
            f"/api/tracker/submissions/{number}", headers=tokens["kenya"]
        ).status_code
        == 200
    )
    tracker_client.post(f"/api/tracker/submissions/{number}/submit", headers=tokens["kenya"])
    refused = tracker_client.post(
        f"/api/tracker/submissions/{number}/publish", headers=tokens["kenya"]
    )
    assert refused.status_code == 403
    conflict = tracker_client.post(
        f"/api/tracker/submissions/{number}/submit", headers=tokens["kenya"]
    )
    assert conflict.status_code == 409
    assert (
        tracker_client.get("/api/tracker/memberships", headers=tokens["kenya"]).status_code == 403
    )
    roles = tracker_client.get("/api/tracker/memberships", headers=tokens["secretary"]).json()
    assert {"username": "kenya", "role": "focal_point", "state": "KEN"} in roles["memberships"]


def test_bad_token_is_refused(tracker_client):
    response = tracker_client.get("/api/tracker", headers={"Authorization": "Bearer cpv_nope"})
    assert response.status_code == 401


def _pdf(text: str) -> bytes:
    document = FPDF()
    document.add_page()
    document.set_font("helvetica", size=12)
    if text:
        document.multi_cell(0, 10, text)
    else:
        document.rect(10, 10, 40, 40)
    return bytes(document.output())


PRACTICE = {
    "title": "Community violence interrupters (fictional)",
    "summary": "Trained outreach workers mediate disputes before they turn violent.",
    "state": "KEN",
    "level": "local",
    "locality": "Mombasa",
    "paragraphs": [21],
    "iccs_codes": ["0201"],
    "population_groups": ["youth"],
}


@SQLITE_ONLY
def test_practice_and_uploads_through_the_api(tracker_client, tokens):
    created = tracker_client.post("/api/tracker/practices", json=PRACTICE, headers=tokens["kenya"])
    assert created.status_code == 201, created.text
    number = created.json()["id"]
    upload = tracker_client.post(
        f"/api/tracker/practices/{number}/documents",
        files={
            "file": (
                "evaluation.pdf",
                _pdf("Shootings fell in the pilot wards."),
                "application/pdf",
            )
        },
        headers=tokens["kenya"],
    )
    assert upload.status_code == 201, upload.text
    assert upload.json()["pages"] == 1
    for filename, content, message in [
        ("scan.pdf", _pdf(""), "no text"),
        ("photo.png", b"\x89PNG\r\n\x1a\n", "unsupported file type"),
        ("notes.docx", b"just text", "content is a text file"),
    ]:
        refused = tracker_client.post(
            f"/api/tracker/practices/{number}/documents",
            files={"file": (filename, content, "application/octet-stream")},
            headers=tokens["kenya"],
        )
        assert refused.status_code == 422, filename
        error = refused.json()["error"]
        assert error["code"] == "data_file_error" and message in error["message"]
        assert error["details"]["file"] == filename
    detail = tracker_client.get(f"/api/tracker/practices/{number}", headers=tokens["kenya"]).json()
    assert [item["filename"] for item in detail["documents"]] == ["evaluation.pdf"]
    # The accepted upload is in the practice's history; the refused ones left no trace.
    assert [row["action"] for row in detail["history"]] == ["create", "upload document"]
    other = tracker_client.get(f"/api/tracker/practices/{number}", headers=tokens["secretary"])
    assert [row["actor"] for row in other.json()["history"]] == ["kenya", "kenya"]
    hidden = tracker_client.get(f"/api/tracker/practices/{number}", headers=tokens["ghana"])
    assert hidden.status_code == 404  # a draft of another State
    content = tracker_client.get(detail["documents"][0]["url"], headers=tokens["kenya"])
    assert content.status_code == 200 and content.content.startswith(b"%PDF")
    assert tracker_client.get(detail["documents"][0]["url"]).status_code == 404  # still a draft


@SQLITE_ONLY
def test_questionnaire_round_trip_and_bad_workbook(tracker_client, tokens):
    template = tracker_client.get("/api/tracker/discussions/3/questionnaire.xlsx")
    assert template.status_code == 200
    book = load_workbook(io.BytesIO(template.content))
    book["Submission"]["B3"] = "KEN"
    book["Submission"]["B4"] = "Focal (fictional)"
    book["Answers"]["C2"] = "Gender-responsive budgeting for prevention."
    book["Answers"]["D2"] = "27"
    book["Answers"]["E5"] = "martians"
    buffer = io.BytesIO()
    book.save(buffer)
    bad = tracker_client.post(
        "/api/tracker/submissions/import",
        files={"file": ("ken.xlsx", buffer.getvalue(), "application/octet-stream")},
        headers=tokens["kenya"],
    )
    assert bad.status_code == 422
    assert bad.json()["error"]["details"]["issues"] == [
        {
            "sheet": "Answers",
            "row": 5,
            "column": "Population groups",
            "value": "martians",
            "expected": bad.json()["error"]["details"]["issues"][0]["expected"],
        }
    ]
    assert (
        tracker_client.get("/api/tracker/states/KEN", headers=tokens["kenya"]).json()["submissions"]
        == []
    )
    book["Answers"]["E5"] = None
    buffer = io.BytesIO()
    book.save(buffer)
    good = tracker_client.post(
        "/api/tracker/submissions/import",
        files={"file": ("ken.xlsx", buffer.getvalue(), "application/octet-stream")},
        headers=tokens["kenya"],
    )
    assert good.status_code == 201, good.text
    assert good.json()["answers"][0]["paragraphs"] == [27]
    malformed = tracker_client.post(
        "/api/tracker/submissions/import",
        files={"file": ("broken.xlsx", b"PK\x03\x04junk", "application/octet-stream")},
        headers=tokens["kenya"],
    )
    assert (
        malformed.status_code == 422
        and "could not be opened" in malformed.json()["error"]["message"]
    )


@SQLITE_ONLY
def test_views_exports_and_report(tracker_client, tokens):
    _publish(tracker_client, tokens)
    assert (
        tracker_client.get("/api/tracker/paragraphs/24").json()["answers"][0]["state_iso3"] == "KEN"
    )
    assert tracker_client.get("/api/tracker/coverage").json()["paragraphs"] == [24]
    compared = tracker_client.get(
        "/api/tracker/compare", params={"first": "KEN", "second": "GHA"}
    ).json()
    assert compared["paragraphs"][0]["second"] == []
    csv_text = tracker_client.get(
        "/api/tracker/export", params={"what": "answers", "format": "csv"}
    ).text
    assert csv_text.splitlines()[0].startswith("submission_id,state_iso3")
    assert len(csv_text.splitlines()) == 3
    report = tracker_client.get("/api/tracker/discussions/2/report").json()
    assert report["answer_count"] == 2 and report["states"] == ["KEN"]
    pdf = tracker_client.get("/api/tracker/discussions/2/report", params={"format": "pdf"})
    assert pdf.headers["content-type"] == "application/pdf" and pdf.content.startswith(b"%PDF")
    html = tracker_client.get("/tracker/discussions/2/report")
    assert "An asset recovery office traces illicit gains." in html.text


PAGES = [
    "/tracker",
    "/tracker?q=assets&country=KEN",
    "/tracker/paragraphs/24",
    "/tracker/states/KEN",
    "/tracker/states",
    "/tracker/coverage",
    "/tracker/compare?first=KEN&second=GHA",
    "/tracker/import",
    "/tracker/practices/new",
    "/tracker/submissions/new?discussion=2&state=KEN",
]


@SQLITE_ONLY
def test_pages_answer(tracker_client, tokens):
    number = _publish(tracker_client, tokens)
    for path in [*PAGES, f"/tracker/submissions/{number}"]:
        response = tracker_client.get(path)
        assert response.status_code == 200, (path, response.text[:500])
        assert "Kyoto follow-up" in response.text, path
    partial = tracker_client.get(
        "/tracker", params={"q": "laundering"}, headers={"HX-Request": "true"}
    )
    assert "<html" not in partial.text and "<mark>laundering</mark>" in partial.text.lower()


def test_suggestions_fragment(tracker_client):
    response = tracker_client.post(
        "/tracker/suggest",
        data={"title": "Asset management", "summary": "seized and confiscated assets"},
    )
    assert response.status_code == 200
    assert re.search(r'name="paragraphs" value="25"', response.text)


def _token(html: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match
    return match.group(1)


@SQLITE_ONLY
def test_signed_in_focal_point_uses_the_forms(tracker_client):
    page = tracker_client.get("/login")
    signed = tracker_client.post(
        "/login",
        data={
            "username": "kenya",
            "password": "correct horse battery staple",
            "csrf_token": _token(page.text),
            "next": "/tracker",
        },
        follow_redirects=False,
    )
    assert signed.status_code == 303
    form = tracker_client.get("/tracker/practices/new")
    token = _token(form.text)
    without = tracker_client.post(
        "/tracker/practices/new", data={"title": "x", "summary": "y", "state": "KEN"}
    )
    assert without.status_code == 403
    created = tracker_client.post(
        "/tracker/practices/new",
        data={
            "csrf_token": token,
            "title": "Night buses (fictional)",
            "summary": "Safer travel home.",
            "state": "KEN",
            "level": "national",
            "paragraphs": ["26"],
            "groups": ["youth"],
            "sdg": "11.7.2",
        },
        follow_redirects=False,
    )
    assert created.status_code == 303, created.text[:400]
    practice = tracker_client.get(created.headers["location"])
    assert "Night buses (fictional)" in practice.text and "Submit for review" in practice.text
    submitted = tracker_client.post(
        created.headers["location"] + "/submit", data={"csrf_token": token}, follow_redirects=False
    )
    assert submitted.status_code == 303
    assert (
        "status <strong>submitted</strong>" in tracker_client.get(created.headers["location"]).text
    )
    edit = tracker_client.get(created.headers["location"] + "/edit")
    assert edit.status_code == 200 and 'value="Night buses (fictional)"' in edit.text
    refused = tracker_client.post(
        created.headers["location"] + "/edit",
        data={"csrf_token": token, "title": "Night buses", "summary": "x", "state": "KEN"},
        follow_redirects=False,
    )
    assert refused.status_code == 409  # under review: the secretariat must return it first


@SQLITE_ONLY
def test_upload_limit_comes_from_the_settings(tracker_db, tokens, tmp_path):
    from fastapi.testclient import TestClient

    from crimeprev.config import Settings
    from crimeprev.web.app import create_app

    settings = Settings(
        data_dir=tmp_path / "small",
        secret_key="k",
        database_url=tracker_db.url,
        tracker_upload_max_bytes=200,
    )
    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        number = client.post(
            "/api/tracker/practices", json=PRACTICE, headers=tokens["kenya"]
        ).json()["id"]
        refused = client.post(
            f"/api/tracker/practices/{number}/documents",
            files={"file": ("long.txt", b"word " * 100, "text/plain")},
            headers=tokens["kenya"],
        )
        assert refused.status_code == 422
        assert "over the limit of 200 bytes" in refused.json()["error"]["message"]
        accepted = client.post(
            f"/api/tracker/practices/{number}/documents",
            files={"file": ("short.txt", b"word " * 10, "text/plain")},
            headers=tokens["kenya"],
        )
        assert accepted.status_code == 201


@SQLITE_ONLY
def test_search_counts_every_match_on_the_api_and_the_page(tracker_db, tmp_path):
    from fastapi.testclient import TestClient

    from crimeprev.config import Settings
    from crimeprev.tracker.search import index_document
    from crimeprev.web.app import create_app

    with tracker_db.transaction() as session:
        for ref_id in range(1, 131):
            index_document(
                session,
                kind="practice",
                ref_id=ref_id,
                state_iso3="KEN",
                published=True,
                title=f"Practice {ref_id}",
                body="Neighbourhood watch" + (" patrols" if ref_id <= 20 else ""),
                link=f"/tracker/practices/{ref_id}",
                facets={"country": ["KEN"]},
            )
    settings = Settings(data_dir=tmp_path / "counts", secret_key="k", database_url=tracker_db.url)
    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        broad = client.get("/api/tracker/search", params={"q": "neighbourhood"}).json()
        narrow = client.get("/api/tracker/search", params={"q": "patrols"}).json()
        page = client.get("/tracker", params={"q": "neighbourhood"})
        exact_page = client.get("/tracker", params={"q": "patrols"})
    assert (broad["exact"], broad["counted"], broad["total"]) == (True, 130, 130)
    assert broad["facets"]["country"] == [{"value": "KEN", "count": 130, "exact": True}]
    assert (narrow["exact"], narrow["total"]) == (True, 20)
    assert page.status_code == 200
    assert "130 results" in page.text and ">130<" in page.text and "About" not in page.text
    assert "20 results" in exact_page.text


def _admin_token(tracker_db) -> dict[str, str]:
    from crimeprev.db import SYSTEM, Role
    from crimeprev.db.accounts import create_api_token, create_user

    with tracker_db.transaction() as session:
        create_user(
            session, SYSTEM, username="admin", password=PASSWORD, roles=[Role.ADMINISTRATOR]
        )
        issued = create_api_token(session, SYSTEM, "admin", name="tests")
    return {"Authorization": f"Bearer {issued.secret}"}


def test_unpublish_through_the_api_for_every_role(tracker_client, tokens):
    number = _publish(tracker_client, tokens)
    path = f"/api/tracker/submissions/{number}/unpublish"
    reason = {"note": "Published by mistake."}
    assert "Review history" not in tracker_client.get(f"/tracker/submissions/{number}").text
    assert tracker_client.get(f"/api/tracker/submissions/{number}").json()["history"] == []
    assert tracker_client.post(path, json=reason).status_code == 403
    for user in ("kenya", "ghana", "viewer"):
        assert tracker_client.post(path, json=reason, headers=tokens[user]).status_code == 403
    missing = tracker_client.post(path, json={"note": ""}, headers=tokens["secretary"])
    assert missing.status_code == 422 and "reason" in missing.json()["error"]["message"]
    done = tracker_client.post(path, json=reason, headers=tokens["secretary"])
    assert done.status_code == 200, done.text
    assert done.json()["status"] == "draft" and done.json()["published_version"] is None
    assert tracker_client.get(f"/api/tracker/submissions/{number}").status_code == 404
    kept = tracker_client.get(f"/api/tracker/submissions/{number}", headers=tokens["kenya"])
    assert kept.status_code == 200
    # The State's focal point reads why, on the API and the page.
    last = kept.json()["history"][-1]
    assert (last["action"], last["actor"], last["note"]) == (
        "unpublish",
        "secretary",
        "Published by mistake.",
    )
    page = tracker_client.get(f"/tracker/submissions/{number}", headers=tokens["kenya"])
    assert "Review history" in page.text and "Published by mistake." in page.text
    again = tracker_client.post(path, json=reason, headers=tokens["secretary"])
    assert again.status_code == 409


@SQLITE_ONLY
def test_roles_page_and_api_for_every_role(tracker_db, tracker_client, tokens):
    admin = _admin_token(tracker_db)
    assert tracker_client.get("/tracker/roles").status_code == 403
    for user in ("kenya", "viewer"):
        assert tracker_client.get("/tracker/roles", headers=tokens[user]).status_code == 403
    listed = tracker_client.get("/tracker/roles", headers=tokens["secretary"])
    assert listed.status_code == 200 and "kenya" in listed.text
    assert "Assign a role" not in listed.text and "Only an administrator" in listed.text
    page = tracker_client.get("/tracker/roles", headers=admin)
    assert page.status_code == 200 and "Assign a role" in page.text
    body = {"username": "viewer", "role": "focal_point", "state": "UGA"}
    for user in ("kenya", "ghana", "viewer", "secretary"):
        refused = tracker_client.post("/api/tracker/memberships", json=body, headers=tokens[user])
        assert refused.status_code == 403, user
        assert "administrator" in refused.json()["error"]["message"]
    granted = tracker_client.post("/api/tracker/memberships", json=body, headers=admin)
    assert granted.status_code == 201 and granted.json()["state"] == "UGA"
    roles = tracker_client.get("/api/tracker/memberships", headers=admin).json()["memberships"]
    assert {"username": "viewer", "role": "focal_point", "state": "UGA"} in roles
    assert tracker_client.get("/tracker/roles", headers=admin).text.count("Uganda") >= 2
    revoked = tracker_client.post("/api/tracker/memberships/revoke", json=body, headers=admin)
    assert revoked.status_code == 200 and revoked.json()["removed"] == 1
    gone = tracker_client.post("/api/tracker/memberships/revoke", json=body, headers=admin)
    assert gone.status_code == 404


@SQLITE_ONLY
def test_administrator_assigns_a_role_with_the_form(tracker_db, tracker_client):
    _admin_token(tracker_db)
    login = tracker_client.get("/login")
    tracker_client.post(
        "/login",
        data={
            "username": "admin",
            "password": PASSWORD,
            "csrf_token": _token(login.text),
            "next": "/tracker/roles",
        },
        follow_redirects=False,
    )
    page = tracker_client.get("/tracker/roles")
    token = _token(page.text)
    form = {"username": "viewer", "role": "secretariat", "state": ""}
    assert tracker_client.post("/tracker/roles", data=form).status_code == 403  # no CSRF token
    done = tracker_client.post(
        "/tracker/roles", data={**form, "csrf_token": token}, follow_redirects=False
    )
    assert done.status_code == 303
    assert re.search(
        r"<td>viewer</td><td>secretariat</td>", tracker_client.get("/tracker/roles").text
    )
    removed = tracker_client.post(
        "/tracker/roles/revoke", data={**form, "csrf_token": token}, follow_redirects=False
    )
    assert removed.status_code == 303
    assert "<td>viewer</td><td>secretariat</td>" not in tracker_client.get("/tracker/roles").text
