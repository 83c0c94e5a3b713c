"""``crimeprev db``: upgrade, agencies, users, tokens and audit verification."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from crimeprev.cli.main import app
from crimeprev.db import Database, record_audit
from crimeprev.db.migrate import current_revisions, head_revisions

runner = CliRunner()


@pytest.fixture
def env(monkeypatch, tmp_path, database):
    monkeypatch.setenv("CRIMEPREV_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("CRIMEPREV_DATABASE_URL", database.url)
    return database


def invoke(*args: str, **kwargs):
    return runner.invoke(app, list(args), **kwargs)


def test_upgrade_on_an_empty_data_dir(monkeypatch, tmp_path):
    monkeypatch.setenv("CRIMEPREV_DATA_DIR", str(tmp_path / "empty"))
    first = invoke("db", "upgrade")
    assert first.exit_code == 0, first.output
    assert "upgraded from empty to" in first.output
    second = invoke("db", "upgrade")
    assert "already at the newest schema" in second.output
    database = Database(f"sqlite:///{tmp_path / 'empty' / 'crimeprev.sqlite'}")
    assert current_revisions(database.engine) == head_revisions()
    database.dispose()


def test_agencies_users_tokens_and_audit(env):
    made = invoke("db", "create-agency", "AMO", "--name", "Asset office", "--country", "ITA")
    assert made.exit_code == 0, made.output
    user = invoke(
        "db",
        "create-user",
        "ana",
        "--role",
        "asset_manager",
        "--role",
        "viewer",
        "--agency",
        "AMO",
        "--password",
        "correct horse battery",
    )
    assert user.exit_code == 0, user.output
    assert "asset_manager, viewer" in user.output
    listed = invoke("db", "users")
    assert "ana" in listed.output and "AMO" in listed.output
    token = invoke("db", "create-token", "ana", "--name", "export")
    assert token.exit_code == 0 and "cpv_" in token.output
    roles = invoke("db", "set-roles", "ana", "--role", "auditor")
    assert "ana: auditor" in roles.output
    assert "AMO" in invoke("db", "agencies").output
    verified = invoke("db", "audit-verify")
    assert verified.exit_code == 0 and "audit chain valid: 4 records" in verified.output


def test_password_is_prompted_twice_and_hidden(env):
    result = invoke(
        "db", "create-user", "bo", input="correct horse battery\ncorrect horse battery\n"
    )
    assert result.exit_code == 0, result.output
    assert "correct horse battery" not in result.output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("db", "create-user", "bo", "--password", "short"), "at least 10 characters"),
        (("db", "create-user", "bo", "--role", "boss", "--password", "x" * 12), "unknown role"),
        (("db", "create-token", "nobody", "--name", "x"), "no user named 'nobody'"),
        (("db", "create-agency", "A", "--name", "x", "--country", "Italy"), "alpha-3"),
    ],
    ids=["weak-password", "unknown-role", "unknown-user", "bad-country"],
)
def test_errors_print_and_exit_2(env, args, message):
    result = invoke(*args)
    assert result.exit_code == 2
    assert "error:" in result.output and message in result.output


def test_audit_verify_exits_1_on_a_broken_chain(env):
    with env.transaction() as session:
        record_audit(session, "system", "x", "y", 1, None, {"a": 1})
    with env.engine.begin() as connection:
        if env.engine.dialect.name == "postgresql":
            connection.exec_driver_sql("alter table audit_log disable trigger user")
            connection.exec_driver_sql("update audit_log set actor = 'mallory'")
            connection.exec_driver_sql("alter table audit_log enable trigger user")
        else:
            connection.exec_driver_sql("drop trigger audit_log_no_update")
            connection.exec_driver_sql("update audit_log set actor = 'mallory'")
    result = invoke("db", "audit-verify")
    assert result.exit_code == 1 and "BROKEN at sequence 1" in result.output


def test_users_group_disables_enables_and_revokes(env):
    invoke("users", "create-agency", "AMO", "--name", "Asset office", "--country", "ITA")
    made = invoke(
        "users",
        "create",
        "cy",
        "--role",
        "viewer",
        "--agency",
        "AMO",
        "--password",
        "pw-long-enough-1",
    )
    assert made.exit_code == 0, made.output
    token = invoke("users", "create-token", "cy", "--name", "script")
    assert token.exit_code == 0, token.output
    token_id = token.output.split()[1]
    assert invoke("users", "disable", "cy").exit_code == 0
    assert "cy" in invoke("users", "list").output and " no " in invoke("users", "list").output
    assert invoke("users", "enable", "cy").exit_code == 0
    revoked = invoke("users", "revoke-token", token_id)
    assert revoked.exit_code == 0 and f"token {token_id} revoked" in revoked.output
    missing = invoke("users", "revoke-token", "999999")
    assert missing.exit_code != 0 and "no API token with id 999999" in missing.output
    with env.session() as session:
        from crimeprev.db.models import ApiToken, User

        user = session.query(User).filter_by(username="cy").one()
        assert user.is_active
        assert session.get(ApiToken, int(token_id)).revoked_at is not None
