"""Kyoto Declaration pages and their JSON twins."""

from __future__ import annotations

from markupsafe import escape


def test_overview_page_and_json(client):
    page = client.get("/kyoto")
    assert page.status_code == 200
    for roman in ("I", "II", "III", "IV"):
        assert f'id="pillar-{roman}"' in page.text
    assert "/kyoto/paragraphs/96" in page.text
    body = client.get("/api/kyoto").json()
    ranges = [(p["first_paragraph"], p["last_paragraph"]) for p in body["pillars"]]
    assert ranges == [(21, 30), (31, 47), (48, 59), (60, 95)]
    assert body["declaration"]["adopted_on"] == "2021-03-07"


def test_paragraph_page_and_json(client):
    body = client.get("/api/kyoto/paragraphs/22").json()
    assert body["pillar"] == 1 and body["title"] and body["summary"]
    assert body["session_numbers"] == [1]
    page = client.get("/kyoto/paragraphs/22")
    assert page.status_code == 200 and body["title"] in page.text
    assert client.get("/api/kyoto/paragraphs/40").json()["pillar"] == 2
    follow_up = client.get("/api/kyoto/paragraphs/96").json()
    assert follow_up["pillar"] is None


def test_paragraph_out_of_range_is_404_in_both_faces(client):
    api = client.get("/api/kyoto/paragraphs/12")
    assert api.status_code == 404 and "21 to 96" in api.json()["error"]["message"]
    assert client.get("/kyoto/paragraphs/12").status_code == 404


def test_sessions_page_and_json(client):
    sessions = client.get("/api/kyoto/sessions").json()["sessions"]
    assert [s["date"] for s in sessions] == ["2021-11-10", "2021-11-11", "2021-11-12"]
    page = client.get("/kyoto/sessions")
    assert page.status_code == 200
    for item in sessions:
        assert escape(item["questions"][0]["summary"]) in page.text
    assert client.get("/api/kyoto/sessions/2").json()["number"] == 2
    pillar = client.get("/api/kyoto/paragraphs", params={"pillar": "I"}).json()["paragraphs"]
    assert [p["number"] for p in pillar] == list(range(21, 31))
