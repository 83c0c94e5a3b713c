"""The ``crimeprev tracker`` commands and the fictional demo step (SQLite; library on both)."""

from __future__ import annotations

import io
import json

import pytest
from openpyxl import load_workbook
from typer.testing import CliRunner

from crimeprev.cli.main import app
from crimeprev.config import Settings
from crimeprev.demo import tracker as tracker_demo
from crimeprev.tracker import exports
from crimeprev.tracker.access import TrackerActor

runner = CliRunner()


@pytest.fixture
def environment(tmp_path):
    return {
        "CRIMEPREV_DATA_DIR": str(tmp_path / "data"),
        "CRIMEPREV_DATABASE_URL": f"sqlite:///{(tmp_path / 'cli.sqlite').as_posix()}",
    }


def test_states_and_suggest():
    listed = runner.invoke(app, ["tracker", "states", "--region", "Oceania"])
    assert listed.exit_code == 0 and "14 Member States" in listed.output and "FJI" in listed.output
    found = runner.invoke(app, ["tracker", "suggest", "seized and confiscated assets", "--json"])
    assert found.exit_code == 0
    assert json.loads(found.output)["paragraphs"][0]["key"] == "25"
    bad = runner.invoke(app, ["tracker", "states", "--region", "Atlantis"])
    assert bad.exit_code == 2 and "error:" in bad.output


def test_extract_refuses_bad_files(tmp_path):
    good = tmp_path / "note.txt"
    good.write_text("Community policing notes.", encoding="utf-8")
    assert (
        "Community policing notes." in runner.invoke(app, ["tracker", "extract", str(good)]).output
    )
    bad = tmp_path / "photo.jpg"
    bad.write_bytes(b"\xff\xd8\xff")
    result = runner.invoke(app, ["tracker", "extract", str(bad)])
    assert result.exit_code == 2 and "unsupported file type" in result.output


def test_template_import_search_report_export(tmp_path, environment):
    template = tmp_path / "t.xlsx"
    assert runner.invoke(app, ["tracker", "template", "1", "-o", str(template)]).exit_code == 0
    book = load_workbook(template)
    book["Submission"]["B3"] = "FJI"
    book["Submission"]["B4"] = "Focal (fictional)"
    book["Answers"]["C2"] = "Village safety committees address root causes."
    book["Answers"]["D2"] = "21, 99"
    book.save(template)
    refused = runner.invoke(app, ["tracker", "import", str(template)], env=environment)
    assert refused.exit_code == 2 and "nothing was imported" in refused.output
    assert "Paragraphs" in refused.output
    book["Answers"]["D2"] = "21"
    book.save(template)
    imported = runner.invoke(
        app, ["tracker", "import", str(template), "--publish"], env=environment
    )
    assert imported.exit_code == 0, imported.output
    assert "FJI, session 1, version 1, published" in imported.output
    found = runner.invoke(
        app, ["tracker", "search", "village committees", "--json"], env=environment
    )
    assert json.loads(found.output)["total"] == 1
    report = tmp_path / "r.pdf"
    made = runner.invoke(app, ["tracker", "report", "1", "-o", str(report)], env=environment)
    assert made.exit_code == 0 and report.read_bytes().startswith(b"%PDF")
    out = tmp_path / "a.xlsx"
    assert (
        runner.invoke(
            app, ["tracker", "export", "--format", "xlsx", "-o", str(out)], env=environment
        ).exit_code
        == 0
    )
    rows = list(load_workbook(io.BytesIO(out.read_bytes()))["answers"].iter_rows(values_only=True))
    assert len(rows) == 2
    coverage = runner.invoke(app, ["tracker", "coverage"], env=environment)
    assert "Fiji" in coverage.output and "Oceania: 1 of 14" in coverage.output
    number = json.loads(found.output)["hits"][0]["link"].split("/")[3].split("#")[0]
    no_reason = runner.invoke(app, ["tracker", "unpublish", "submission", number], env=environment)
    assert no_reason.exit_code == 2 and "--reason" in no_reason.output
    withdrawn = runner.invoke(
        app,
        ["tracker", "unpublish", "submission", number, "--reason", "Sent by mistake"],
        env=environment,
    )
    assert withdrawn.exit_code == 0 and "unpublished, now draft" in withdrawn.output
    after = runner.invoke(
        app, ["tracker", "search", "village committees", "--json"], env=environment
    )
    assert json.loads(after.output)["total"] == 0


def test_roles_commands(environment):
    from crimeprev.db import SYSTEM, Database, Role
    from crimeprev.db.accounts import create_user

    database = Database(environment["CRIMEPREV_DATABASE_URL"])
    database.upgrade()
    with database.transaction() as session:
        create_user(session, SYSTEM, username="amina", password="x" * 12, roles=[Role.VIEWER])
    database.dispose()
    granted = runner.invoke(
        app, ["tracker", "grant", "amina", "focal_point", "--state", "KEN"], env=environment
    )
    assert granted.exit_code == 0, granted.output
    listed = runner.invoke(app, ["tracker", "roles"], env=environment)
    assert "amina" in listed.output and "KEN" in listed.output
    revoked = runner.invoke(
        app, ["tracker", "revoke", "amina", "focal_point", "--state", "KEN"], env=environment
    )
    assert revoked.exit_code == 0 and "no longer focal_point" in revoked.output
    again = runner.invoke(
        app, ["tracker", "revoke", "amina", "focal_point", "--state", "KEN"], env=environment
    )
    assert again.exit_code == 2 and "does not hold" in again.output


def test_demo_is_fictional_labelled_and_idempotent(tmp_path):
    settings = Settings(data_dir=tmp_path / "demo", secret_key="k")
    first = tracker_demo.build(settings)
    assert "7 fictional submissions and 6 fictional good practices" in first
    assert tracker_demo.build(settings).startswith("tracker demo already loaded")
    from crimeprev.db import Database

    database = Database(settings.database_url)
    with database.transaction() as session:
        public = TrackerActor(principal=None, secretariat=False, states=frozenset())
        answers = exports.answer_records(session, public)
        practices = exports.practice_records(session, public)
        report = exports.session_report(session, 2)
    database.dispose()
    assert answers and all(row["fictional"] for row in answers)
    assert all(row["answer"].startswith("FICTIONAL DEMO.") for row in answers)
    assert practices and all(row["fictional"] and "fictional" in row["title"] for row in practices)
    assert report.has_fictional and "Fictional demo content" in exports.report_html(report)
