"""Schemathesis against the asset registry's OpenAPI schema: no input makes the server fail.

The app runs in-process on a fresh registry (a SQLite file, and a PostgreSQL
schema of its own) seeded with a case, an asset with a valuation, a
cooperation request, a sharing agreement and a fund receipt (ids 1, so
generated small ids often reach real records), and API tokens that the
generated requests carry in turn: an administrator's, an investigator's of
the case's agency, a viewer's of another agency and an auditor's. For every
operation under ``/api/assets`` schemathesis sends schema-valid and
schema-violating requests; each must be answered without a 5xx, every
schema-violating one with a 4xx, and every error in the project's one JSON
error shape with a message a person can act on.

Examples per operation are kept small (see ``MAX_EXAMPLES``) so that the whole
file runs in well under a minute; the Hypothesis seed is fixed so a failure
reproduces.
"""

from __future__ import annotations

import itertools
import os
import shutil
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import negative_data_rejection

from crimeprev.assets import cases, cooperation, ledger, registry
from crimeprev.assets.lifecycle import State
from crimeprev.assets.money import Money
from crimeprev.config import Settings
from crimeprev.db import Database
from crimeprev.db import accounts as acc
from crimeprev.db.testing import fast_password_hashing, temporary_schema, url_with_schema
from crimeprev.web.app import create_app

#: Generated requests per operation and generation mode; small enough for a < 60 s file.
#: CRIMEPREV_SCHEMATHESIS_EXAMPLES=200 makes a deeper (minutes-long) search.
MAX_EXAMPLES = int(os.environ.get("CRIMEPREV_SCHEMATHESIS_EXAMPLES", "5"))


def seed_registry(database: Database) -> str:
    """Fill `database` with one record of each kind and return an administrator's token."""
    with fast_password_hashing(), database.transaction() as session:
        acc.create_agency(session, acc.SYSTEM, code="AMO", name="Asset office", country="ITA")
        acc.create_user(
            session,
            acc.SYSTEM,
            username="admin",
            password="correct horse battery",
            roles=["administrator"],
        )
        admin = acc.principal_for(acc.get_user(session, "admin"), via="test")
        case = cases.create_case(
            session,
            admin,
            reference="AR-1",
            title="Fictional case",
            jurisdiction="ITA",
            opened_on=date(2024, 1, 10),
            offences=["0701"],
            agency_code="AMO",
        )
        asset = registry.create_asset(
            session,
            admin,
            case.id,
            reference="A-1",
            category="vehicle",
            description="Fictional car",
            country="ITA",
            identified_on=date(2024, 1, 12),
        )
        registry.add_valuation(
            session,
            admin,
            asset.id,
            valued_on=date(2024, 1, 15),
            method="market",
            amount=Money.of("12000", "EUR"),
        )
        registry.transition_asset(
            session,
            admin,
            asset.id,
            registry.TransitionRequest(State.SEIZED, date(2024, 2, 1), court_order="ORD-1"),
        )
        cooperation.add_request(
            session,
            admin,
            case.id,
            direction="outgoing",
            kind="tracing",
            counterpart_state="FRA",
            reference="MLA-1",
            sent_on=date(2024, 2, 2),
        )
        cooperation.add_agreement(
            session,
            admin,
            case.id,
            counterpart_state="FRA",
            reference="SH-1",
            share_percent="50",
            signed_on=date(2024, 3, 1),
        )
        ledger.record_receipt(
            session,
            admin,
            amount=Money.of("1000", "EUR"),
            source="confiscated_cash",
            posted_on=date(2024, 3, 2),
            description="Fictional cash",
        )
        token = acc.create_api_token(session, acc.SYSTEM, "admin", name="schemathesis")
    return token.secret


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def seeded(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Settings, Iterator[str], Any]]:
    """A fresh migrated registry (SQLite file, or a PostgreSQL schema of its own), seeded,
    the users' tokens in turn (administrator first) and the app on it."""
    folder = tmp_path_factory.mktemp("schemathesis")
    if request.param == "sqlite":
        path = folder / "registry.sqlite"
        shutil.copy(request.getfixturevalue("sqlite_template"), path)
        yield from _seeded_app(f"sqlite:///{path.as_posix()}", folder)
        return
    engine = request.getfixturevalue("postgres_engine")
    with temporary_schema(engine, prefix="crimeprev_schemathesis") as name:
        url = url_with_schema(engine.url.render_as_string(hide_password=False), name)
        yield from _seeded_app(url, folder)


def role_tokens(database: Database) -> list[str]:
    """Tokens of users who may do less: an investigator of the case's agency, a viewer of
    another agency (who sees none of it) and an auditor without agency."""
    users = (("investigator", "AMO"), ("viewer", "POL"), ("auditor", None))
    with fast_password_hashing(), database.transaction() as session:
        acc.create_agency(session, acc.SYSTEM, code="POL", name="Police unit", country="ITA")
        for role, agency in users:
            acc.create_user(
                session,
                acc.SYSTEM,
                username=role,
                password="correct horse battery",
                roles=[role],
                agency_code=agency,
            )
        return [
            acc.create_api_token(session, acc.SYSTEM, role, name="schemathesis").secret
            for role, _ in users
        ]


def _seeded_app(url: str, folder: Path) -> Iterator[tuple[Settings, Iterator[str], Any]]:
    database = Database(url)
    database.upgrade()
    tokens = [seed_registry(database), *role_tokens(database)]
    database.dispose()
    settings = Settings(data_dir=folder / "data", secret_key="test-secret-key", database_url=url)
    app = create_app(settings)
    yield settings, itertools.cycle(tokens), app
    opened = getattr(app.state, "database", None)
    if opened is not None:  # release the connections before the schema is dropped
        opened.dispose()


#: The schema comes from an app that is never called (its OpenAPI document needs no database);
#: requests go in-process to the app of the `seeded` fixture.
_SCHEMA_APP = create_app(Settings(data_dir=Path("unused"), secret_key="schema-only"))
schema = schemathesis.openapi.from_dict(_SCHEMA_APP.openapi())
schema.app = _SCHEMA_APP
schema.config.generation.update(
    modes=[GenerationMode.POSITIVE, GenerationMode.NEGATIVE],
    max_examples=MAX_EXAMPLES,
    deterministic=True,
)
assets_schema = schema.include(path_regex=r"^/api/assets")


def error_shape(ctx: Any, response: Any, case: Any) -> bool | None:
    """Every 4xx under /api/ is the one JSON error shape with a message to act on."""
    if not 400 <= response.status_code < 500:
        return None
    body = response.json()
    error = body["error"]
    assert error["status"] == response.status_code, body
    assert isinstance(error["code"], str) and error["code"], body
    assert isinstance(error["message"], str) and len(error["message"]) >= 10, body
    assert isinstance(error["details"], dict), body
    return None


@assets_schema.parametrize()
def test_assets_api_never_fails_and_refuses_bad_input_clearly(
    case: Any, seeded: tuple[Settings, Iterator[str], Any]
) -> None:
    _settings, tokens, app = seeded
    case.call_and_validate(
        app=app,
        headers={"Authorization": f"Bearer {next(tokens)}"},
        checks=[not_a_server_error, negative_data_rejection],
        additional_checks=[error_shape],
    )


def assert_refused(response: Any, status: int | tuple[int, ...], words: str) -> None:
    """`response` is a 4xx in the one error shape whose message contains `words`."""
    statuses = (status,) if isinstance(status, int) else status
    assert response.status_code in statuses, response.text
    error = response.json()["error"]
    assert error["status"] == response.status_code and words in error["message"], error


def test_findings_stay_fixed_on_both_databases(registry_client, registry_settings) -> None:
    """What schemathesis found, replayed on SQLite and PostgreSQL: clear 4xx, nothing stored."""
    from crimeprev.db import Database

    database = Database(registry_settings.database_url)
    token = seed_registry(database)
    database.dispose()
    auth = {"Authorization": f"Bearer {token}"}
    huge = 2**63
    # Ids beyond the integer column: SQLite raised OverflowError, PostgreSQL a DataError (500s).
    found = registry_client.get(f"/api/assets/cases/{huge}", headers=auth)
    assert_refused(found, 422, "outside what the registry can store")
    asset = {
        "case_id": huge,
        "reference": "A-9",
        "category": "vehicle",
        "description": "Fictional",
        "country": "ITA",
        "identified_on": "2024-01-01",
    }
    created = registry_client.post("/api/assets/items", json=asset, headers=auth)
    assert_refused(created, 422, "outside what the registry can store")
    # PostgreSQL refuses NUL characters in text (a DataError, 500); SQLite stores them.
    nul_case = {
        "reference": "AR-NUL",
        "title": "bad\x00title",
        "jurisdiction": "ITA",
        "opened_on": "2024-01-01",
        "agency": "AMO",
    }
    answer = registry_client.post("/api/assets/cases", json=nul_case, headers=auth)
    if registry_settings.database_url.startswith("postgresql"):
        assert_refused(answer, 422, "NUL character")
    else:
        assert answer.status_code == 201, answer.text
    # Numbers were read as Unix timestamps: posted_on 0 booked a receipt on 1970-01-01.
    for posted_on in (0, "0", 86400, "20240101"):
        receipt = {
            "amount": {"amount": "10.00", "currency": "EUR"},
            "source": "sale",
            "posted_on": posted_on,
            "description": "Fictional",
        }
        answer = registry_client.post("/api/assets/fund/receipts", json=receipt, headers=auth)
        assert_refused(answer, 422, "YYYY-MM-DD")
    converted = registry_client.get(
        "/api/assets/convert",
        params={"amount": "1", "currency": "EUR", "base": "EUR", "on_date": "0"},
        headers=auth,
    )
    assert_refused(converted, 422, "YYYY-MM-DD")
    fund = registry_client.get("/api/assets/fund", headers=auth).json()
    assert "1970-01-01" not in str(fund)
