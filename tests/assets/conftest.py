"""Asset registry fixtures; `database` and the other registry fixtures come from
tests/registry_fixtures.py, so every test that takes them runs on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest

PASSWORD = "correct horse battery"


@pytest.fixture
def people(database):
    """Two agencies and one user per role (administrator without agency), as principals."""
    from crimeprev.db import accounts as acc

    roles = {
        "viewer": ["viewer"],
        "investigator": ["investigator"],
        "manager": ["asset_manager"],
        "prosecutor": ["prosecutor"],
        "auditor": ["auditor"],
        "admin": ["administrator"],
        "other": ["investigator", "prosecutor", "asset_manager"],
    }
    with database.transaction() as session:
        acc.create_agency(session, acc.SYSTEM, code="AMO", name="Asset office", country="ITA")
        acc.create_agency(session, acc.SYSTEM, code="POL", name="Police unit", country="ITA")
        principals = {}
        for name, role_names in roles.items():
            agency = None if name in {"admin", "auditor"} else "POL" if name == "other" else "AMO"
            user = acc.create_user(
                session,
                acc.SYSTEM,
                username=name,
                password=PASSWORD,
                roles=role_names,
                agency_code=agency,
            )
            principals[name] = acc.principal_for(user, via="test")
    return principals
