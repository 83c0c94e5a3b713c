"""Alembic environment: runs the packaged migrations on the connection it is given.

crimeprev never runs Alembic from an ini file: :func:`crimeprev.db.migrate.upgrade`
passes an open connection in ``config.attributes["connection"]``.
"""

from __future__ import annotations

from alembic import context

from crimeprev.db.base import Base
from crimeprev.errors import ConfigurationError


def run() -> None:
    """Run the migrations on the connection crimeprev passed in."""
    connection = context.config.attributes.get("connection")
    if connection is None:
        raise ConfigurationError(
            "run migrations with `crimeprev db upgrade` (or crimeprev.db.migrate.upgrade), "
            "which passes the database connection"
        )
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        # SQLite cannot ALTER most things; batch mode copies the table instead.
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


# Alembic executes this file with its context set up. Anything else that imports
# it (pytest collecting doctests from src/) finds no context and does nothing.
if hasattr(context, "config"):
    run()
