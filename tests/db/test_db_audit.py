"""The audit log: chained, append-only, atomic with the change, safe under concurrency."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import text

from crimeprev.db import record_audit, verify_audit_chain
from crimeprev.db.accounts import SYSTEM, create_agency
from crimeprev.db.audit import audit_trail
from crimeprev.db.models import Agency


def _write(database, count: int) -> None:
    for number in range(count):
        with database.transaction() as session:
            record_audit(
                session, SYSTEM, "update", "thing", number, {"v": number}, {"v": number + 1}
            )


def _tamper(database, sql: str) -> None:
    """Change the log as someone with direct database access could: disable the guard first."""
    with database.engine.begin() as connection:
        if database.engine.dialect.name == "postgresql":
            connection.execute(text("alter table audit_log disable trigger user"))
            connection.exec_driver_sql(sql)
            connection.execute(text("alter table audit_log enable trigger user"))
        else:
            connection.exec_driver_sql("drop trigger if exists audit_log_no_update")
            connection.exec_driver_sql("drop trigger if exists audit_log_no_delete")
            connection.exec_driver_sql(sql)


def _verify(database):
    with database.transaction() as session:
        return verify_audit_chain(session)


def test_chain_is_valid_and_sequenced(database):
    _write(database, 5)
    result = _verify(database)
    assert result.valid and result.records == 5
    with database.transaction() as session:
        trail = audit_trail(session, "thing", 3)
    assert len(trail) == 1 and trail[0].before_json == '{"v":3}'
    assert trail[0].actor == "system"


@pytest.mark.parametrize(
    ("sql", "sequence", "problem"),
    [
        ("update audit_log set after_json = '{\"v\":99}' where sequence = 3", 3, "changed"),
        ("delete from audit_log where sequence = 2", 3, "deleted or reordered"),
        ("delete from audit_log where sequence = 5", 5, "deleted"),
        ("REORDER 2 3", 3, "deleted or reordered"),
    ],
    ids=["changed", "deleted-middle", "deleted-last", "reordered"],
)
def test_verification_finds_tampering(database, sql, sequence, problem):
    _write(database, 5)
    if sql.startswith("REORDER"):
        # Swap the row ids of two records: their content stays, their order changes.
        with database.engine.connect() as connection:
            ids = dict(connection.execute(text("select sequence, id from audit_log")).all())
        first, second = (ids[int(n)] for n in sql.split()[1:])
        sql = (
            f"update audit_log set id = -id where id in ({first}, {second});"
            f"update audit_log set id = case id when -{first} then {second} else {first} end"
            f" where id in (-{first}, -{second})"
        )
    for statement in sql.split(";"):
        _tamper(database, statement)
    result = _verify(database)
    assert not result.valid
    assert result.first_bad_sequence == sequence
    assert problem in result.problem


def test_audit_log_refuses_update_and_delete(database):
    _write(database, 1)
    for sql in ("update audit_log set actor = 'x'", "delete from audit_log"):
        with pytest.raises(Exception, match="append-only"), database.engine.begin() as connection:
            connection.execute(text(sql))
    assert _verify(database).valid


def test_a_failed_transaction_writes_neither_change_nor_audit(database):
    with pytest.raises(RuntimeError), database.transaction() as session:
        create_agency(session, SYSTEM, code="AMO", name="Asset office", country="ITA")
        raise RuntimeError("fails midway")
    with database.transaction() as session:
        assert session.query(Agency).count() == 0
        assert verify_audit_chain(session).records == 0
    _write(database, 1)
    result = _verify(database)
    assert result.valid and result.records == 1


def test_concurrent_writers_extend_one_chain(database):
    errors: list[BaseException] = []

    def worker() -> None:
        try:
            _write(database, 10)
        except BaseException as error:  # collected and asserted below
            errors.append(error)

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    result = _verify(database)
    assert result.valid and result.records == 40


def test_actor_must_be_named(database):
    with pytest.raises(ValueError, match="username"), database.transaction() as session:
        record_audit(session, object(), "x", "y", 1, None, None)
