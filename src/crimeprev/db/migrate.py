"""Schema migrations with Alembic, shipped inside the package.

The migration scripts live in ``crimeprev/db/migrations/versions`` so they
install with the wheel. The web app calls :func:`upgrade` when it starts and
``crimeprev db upgrade`` does it explicitly.

How a domain adds tables (see ``migrations/README.md``): its first migration
branches from the core revision ``0001_core`` with its own ``branch_labels``
(e.g. ``("assets",)``), and later ones chain within the domain. :func:`upgrade`
goes to *every* head, so domains written in parallel never conflict.

Examples
--------
>>> from crimeprev.db import make_engine
>>> engine = make_engine("sqlite://")
>>> upgrade(engine) == ", ".join(head_revisions())
True
>>> current_revisions(engine) == head_revisions()
True
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, text

#: Folder of the Alembic environment and its versions.
MIGRATIONS_DIR = Path(__file__).parent / "migrations"

#: PostgreSQL advisory-lock key that serialises concurrent upgrades (several workers starting).
_UPGRADE_LOCK_KEY = 7_420_061


def alembic_config() -> Config:
    """Return an Alembic configuration pointing at the packaged migrations."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    return config


@cache
def head_revisions() -> tuple[str, ...]:
    """Return the newest revision of every branch, sorted.

    Cached: the scripts ship with the package and do not change while it runs.
    """
    return tuple(sorted(ScriptDirectory.from_config(alembic_config()).get_heads()))


def current_revisions(engine: Engine) -> tuple[str, ...]:
    """Return the revisions the database is at, sorted (empty for a new database)."""
    with engine.connect() as connection:
        return tuple(sorted(MigrationContext.configure(connection).get_current_heads()))


def upgrade(engine: Engine, revision: str = "heads") -> str:
    """Apply every pending migration in one transaction; return the revisions reached.

    On PostgreSQL the whole upgrade is one transaction holding an advisory
    lock, so two processes starting together upgrade once; SQLite writers are
    serialised by ``BEGIN IMMEDIATE`` (see :mod:`crimeprev.db.engine`).
    """
    if current_revisions(engine) == head_revisions() and revision == "heads":
        return ", ".join(head_revisions())
    config = alembic_config()
    with engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            connection.execute(
                text("select pg_advisory_xact_lock(:key)"), {"key": _UPGRADE_LOCK_KEY}
            )
        config.attributes["connection"] = connection
        command.upgrade(config, revision)
    return ", ".join(current_revisions(engine))


def downgrade(engine: Engine, revision: str) -> str:
    """Revert to `revision` (``base`` removes every table); return the revisions reached."""
    config = alembic_config()
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, revision)
    return ", ".join(current_revisions(engine))
