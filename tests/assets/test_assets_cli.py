"""``crimeprev assets``: open a case, register, move, value, fund, plan, audit (both databases)."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from crimeprev.cli.main import app

runner = CliRunner()


@pytest.fixture
def env(monkeypatch, tmp_path, database, people):
    monkeypatch.setenv("CRIMEPREV_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("CRIMEPREV_DATABASE_URL", database.url)
    return database


def run(*args: str):
    result = runner.invoke(app, ["assets", *args])
    result.text = " ".join(result.output.split())  # rich wraps long lines
    return result


def test_case_to_sale_from_the_command_line(env, tmp_path):
    made = run(
        "open-case",
        "AR-3",
        "--title",
        "Fictional",
        "--jurisdiction",
        "ITA",
        "--opened-on",
        "2025-01-01",
        "--offence",
        "07041",
        "--as",
        "investigator",
    )
    assert made.exit_code == 0, made.output
    case_id = made.output.split("(id ")[1].split(")")[0]
    asset = run(
        "register",
        case_id,
        "--reference",
        "A-3",
        "--category",
        "vessel_or_aircraft",
        "--description",
        "Fictional yacht",
        "--country",
        "ITA",
        "--identified-on",
        "2025-01-02",
        "--as",
        "investigator",
    )
    assert asset.exit_code == 0, asset.output
    asset_id = asset.output.split("(id ")[1].split(")")[0]
    refused = run("move", asset_id, "disposed", "--on", "2025-01-03", "--as", "manager")
    assert refused.exit_code == 2
    assert "allowed next states: traced, frozen, seized, released" in refused.text
    steps = [
        ("seized", "prosecutor", ["--court-order", "GIP 2/2025"]),
        ("under_management", "manager", []),
        (
            "interim_sold",
            "manager",
            ["--court-order", "GIP 3/2025", "--no-owner-consent", "--realised", "250000.00"],
        ),
        (
            "confiscated",
            "prosecutor",
            ["--court-order", "Trib 1/2026", "--confiscation-type", "object_based"],
        ),
        ("disposed", "manager", ["--disposal", "transferred_to_fund"]),
    ]
    for day, (state, who, extra) in enumerate(steps, start=4):
        moved = run("move", asset_id, state, "--on", f"2025-01-{day:02d}", "--as", who, *extra)
        assert moved.exit_code == 0, moved.output
        assert f"is now {state}" in moved.output
    fund = run("fund", "--as", "manager")
    assert fund.exit_code == 0 and "reconciles" in fund.text and "250000.00 EUR" in fund.text
    assert "A-3" in run("list", "--state", "disposed", "--as", "auditor").output
    target = tmp_path / "export.json"
    exported = run("export", str(target), "--as", "auditor")
    assert exported.exit_code == 0 and "1 cases exported" in exported.text
    body = json.loads(target.read_text(encoding="utf-8"))
    timeline = body["cases"][0]["assets"][0]["timeline"]
    assert [e["to_state"] for e in timeline][-1] == "disposed"
    assert body["fund_entries"][0]["postings"][0]["amount"] == "250000.00"
    verified = run("audit-verify")
    assert verified.exit_code == 0 and "audit chain valid" in verified.output


def test_plan_prints_the_recommendation(env):
    result = run(
        "plan",
        "--value",
        "10000",
        "--depreciation",
        "0.2",
        "--monthly-cost",
        "100",
        "--months",
        "24",
        "--sale-cost-rate",
        "0.1",
        "--dissipation-risk",
        "0.3",
    )
    assert result.exit_code == 0, result.output
    assert "recommendation: sell early" in result.text and "3360.00 EUR" in result.text


def test_errors_exit_2(env):
    result = run(
        "open-case",
        "AR-4",
        "--title",
        "x",
        "--jurisdiction",
        "ITA",
        "--opened-on",
        "2025-01-01",
        "--offence",
        "0599",
        "--as",
        "investigator",
    )
    assert result.exit_code == 2 and "error:" in result.output
    viewer = run(
        "open-case",
        "AR-5",
        "--title",
        "x",
        "--jurisdiction",
        "ITA",
        "--opened-on",
        "2025-01-01",
        "--as",
        "viewer",
    )
    assert viewer.exit_code == 2 and "needs one of the roles" in viewer.text
