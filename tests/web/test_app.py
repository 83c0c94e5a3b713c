"""The web app: pages, JSON twins, the one error shape, offline docs."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

import crimeprev
from crimeprev.web import app as app_module


def test_home_page_says_what_and_for_whom(client):
    response = client.get("/")
    assert response.status_code == 200
    assert "evidence for crime prevention" in response.text
    assert "statistics offices" in response.text
    assert 'href="/iccs"' in response.text


def test_health(client):
    body = client.get("/api/health").json()
    assert body["status"] == "ok"
    assert body["version"] == crimeprev.__version__


def test_iccs_code_json(client):
    body = client.get("/api/iccs/0501").json()
    assert body["code"] == "0501"
    assert body["label"] == "Burglary"
    assert body["parent"]["code"] == "05"
    assert [c["code"] for c in body["children"]] == ["05011", "05012", "05013", "05019"]
    assert any(t["term"] == "Burglary" for t in body["index_terms"])


def test_iccs_search_json_ranks_burglary_first(client):
    body = client.get("/api/iccs/search", params={"q": "burglary"}).json()
    assert body["results"][0]["code"] == "0501"


def test_iccs_sections_and_tags_json(client):
    sections = client.get("/api/iccs").json()["sections"]
    assert len(sections) == 11
    assert sum(len(s["children"]) for s in sections) == 63
    tags = client.get("/api/iccs/tags").json()["tags"]
    assert any(t["tag"] == "At" for t in tags)


def test_iccs_pages(client):
    tree = client.get("/iccs")
    assert tree.status_code == 200 and "Burglary" in tree.text
    page = client.get("/iccs/0501")
    assert page.status_code == 200
    for child in ("05011", "05012", "05013", "05019"):
        assert child in page.text
    partial = client.get("/iccs/search", params={"q": "burglary"}, headers={"HX-Request": "true"})
    assert partial.status_code == 200
    assert "<html" not in partial.text and "/iccs/0501" in partial.text
    full = client.get("/iccs/search", params={"q": "burglary"})
    assert "<html" in full.text
    assert "Sex of victim" in client.get("/iccs/tags").text


def test_unknown_code_gets_the_one_json_error_shape(client):
    response = client.get("/api/iccs/0599")
    assert response.status_code == 404
    assert response.json() == {
        "error": {
            "status": 404,
            "code": "unknown_code",
            "message": response.json()["error"]["message"],
            "details": {
                "received": "0599",
                "nearest": response.json()["error"]["details"]["nearest"],
            },
        }
    }
    assert "not an ICCS 1.0 code" in response.json()["error"]["message"]


def test_unknown_route_json_and_html_404(client):
    api = client.get("/api/nothing-here")
    assert api.status_code == 404
    assert set(api.json()["error"]) == {"status", "code", "message", "details"}
    page = client.get("/nothing-here")
    assert page.status_code == 404
    assert "<h1>Not found</h1>" in page.text
    assert "ICCS 1.0 code" in client.get("/iccs/0599").text


def test_validation_error_shape(client):
    response = client.get("/api/iccs/search", params={"q": "x", "limit": 0})
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "invalid_input"
    assert error["details"]["problems"][0]["location"] == ["query", "limit"]


def test_unexpected_error_gives_500_page_and_json(app, client):
    @app.get("/api/boom")
    def boom() -> None:
        raise RuntimeError("boom")

    @app.get("/boom")
    def boom_page() -> None:
        raise RuntimeError("boom")

    assert client.get("/api/boom").json()["error"]["code"] == "internal_error"
    page = client.get("/boom")
    assert page.status_code == 500 and "Something went wrong" in page.text


def test_openapi_docs_are_served_without_a_cdn(client):
    docs = client.get("/api/docs")
    assert docs.status_code == 200
    assert "/static/vendor/swagger-ui/swagger-ui-bundle.js" in docs.text
    assert "cdn" not in docs.text.lower()
    assert client.get("/static/vendor/swagger-ui/swagger-ui-bundle.js").status_code == 200
    assert client.get("/api/openapi.json").json()["info"]["title"] == "crimeprev"


def test_no_template_or_page_loads_from_the_network():
    web = Path(app_module.__file__).parent
    pattern = re.compile(r"""(?:src|href)=["']https?://""")
    offenders = [
        p.name for p in (web / "templates").rglob("*.html") if pattern.search(p.read_text())
    ]
    assert offenders == []


@pytest.mark.parametrize("folder", ["htmx", "swagger-ui", "leaflet", "vega"])
def test_vendored_assets_have_a_licence(folder):
    vendor = Path(app_module.__file__).parent / "static" / "vendor" / folder
    assert any(p.name.startswith("LICENSE") for p in vendor.iterdir())
