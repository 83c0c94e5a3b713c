"""Schemathesis against the OpenAPI schema of every API outside the asset registry.

The asset registry has its own, seeded run (tests/assets/test_assets_schemathesis.py).
Here the app runs in-process on a fresh data folder (bundled reference data,
no imported statistics) with a SQLite registry holding an administrator and
a viewer, whose API tokens the generated requests carry in turn, so the
signed-in endpoints (tracker, tokens) and their refusals are reached too.
Each operation gets schema-valid and schema-violating requests: no 5xx, a
4xx for every schema violation, and every error in the one JSON error shape.
Few examples per operation keep the file well under a minute.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import negative_data_rejection

from crimeprev.config import Settings
from crimeprev.db import Database
from crimeprev.db import accounts as acc
from crimeprev.db.testing import fast_password_hashing
from crimeprev.web.app import create_app

#: Generated requests per operation and generation mode (CRIMEPREV_SCHEMATHESIS_EXAMPLES
#: raises it for a deeper search).
MAX_EXAMPLES = int(os.environ.get("CRIMEPREV_SCHEMATHESIS_EXAMPLES", "4"))

#: Only its OpenAPI document is used; requests go to the app of the `api_app` fixture.
_SCHEMA_APP = create_app(Settings(data_dir=Path("unused"), secret_key="schema-only"))
schema = schemathesis.openapi.from_dict(_SCHEMA_APP.openapi())
schema.app = _SCHEMA_APP
schema.config.update(request_timeout=120)  # first calls load bundled data; the machine may be busy
schema.config.generation.update(
    modes=[GenerationMode.POSITIVE, GenerationMode.NEGATIVE],
    max_examples=MAX_EXAMPLES,
    deterministic=True,
)
other_apis = schema.exclude(path_regex=r"^/api/assets")


@pytest.fixture(scope="module")
def api_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Any, Iterator[str]]]:
    """The app on a fresh data folder and registry, and an administrator's and a viewer's API
    tokens in turn."""
    folder = tmp_path_factory.mktemp("schemathesis-api")
    settings = Settings(data_dir=folder / "data", secret_key="test-secret-key")
    settings.ensure_data_dir()
    database = Database(settings.database_url)
    database.upgrade()
    with fast_password_hashing(), database.transaction() as session:
        acc.create_user(
            session,
            acc.SYSTEM,
            username="admin",
            password="correct horse battery",
            roles=["administrator"],
        )
        # Decoys first, so generated small token ids revoke these rather than the one in use.
        for number in range(5):
            acc.create_api_token(session, acc.SYSTEM, "admin", name=f"decoy {number}")
        acc.create_user(
            session,
            acc.SYSTEM,
            username="viewer",
            password="correct horse battery",
            roles=["viewer"],
        )
        tokens = [
            acc.create_api_token(session, acc.SYSTEM, user, name="schemathesis").secret
            for user in ("admin", "viewer")
        ]
    database.dispose()
    yield create_app(settings), itertools.cycle(tokens)


def error_shape(ctx: Any, response: Any, case: Any) -> bool | None:
    """Every 4xx under /api/ is the one JSON error shape with a message to act on."""
    if not 400 <= response.status_code < 500:
        return None
    error = response.json()["error"]
    assert error["status"] == response.status_code, error
    assert isinstance(error["code"], str) and error["code"], error
    assert isinstance(error["message"], str) and len(error["message"]) >= 10, error
    assert isinstance(error["details"], dict), error
    return None


@other_apis.parametrize()
def test_api_never_fails_and_refuses_bad_input_clearly(case: Any, api_app: tuple[Any, str]) -> None:
    app, token = api_app
    case.call_and_validate(
        app=app,
        headers={"Authorization": f"Bearer {token}"},
        checks=[not_a_server_error, negative_data_rejection],
        additional_checks=[error_shape],
    )
