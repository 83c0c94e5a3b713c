"""The PostgreSQL that later registry tests use is reachable."""

from __future__ import annotations

import pytest
from sqlalchemy import text


@pytest.mark.postgres
def test_postgres_answers(postgres_engine):
    with postgres_engine.connect() as connection:
        version = connection.execute(text("select version()")).scalar_one()
    assert version.startswith("PostgreSQL")
