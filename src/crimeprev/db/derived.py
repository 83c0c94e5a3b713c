"""Derived tables: data a domain rebuilds from other tables, which backups leave out.

A domain registers its derived tables when its module is imported (the CLI and
the web app import every domain), with a *reset* that makes the derived data
count as missing, so that it is rebuilt from the restored rows. The registry
lives here, below every domain, so :mod:`crimeprev.assets.backup` can consult
it without importing the domains that register.

Examples
--------
>>> register_derived_tables(("example_cache",), reset=lambda connection: None)
>>> "example_cache" in derived_table_names()
True
>>> _REGISTERED.pop("example_cache") is not None
True
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from sqlalchemy import Connection

__all__ = ["derived_table_names", "register_derived_tables", "reset_derived"]

Reset = Callable[[Connection], None]

_REGISTERED: dict[str, Reset] = {}


def register_derived_tables(names: Iterable[str], *, reset: Reset) -> None:
    """Declare tables as derived; `reset` marks their data stale (it must not fail if absent)."""
    for name in names:
        _REGISTERED[name] = reset


def derived_table_names() -> frozenset[str]:
    """The names of every registered derived table."""
    return frozenset(_REGISTERED)


def reset_derived(connection: Connection) -> None:
    """Run each registered reset once (after a restore wrote the source tables)."""
    seen: list[Reset] = []
    for reset in _REGISTERED.values():
        if not any(reset is done for done in seen):
            seen.append(reset)
            reset(connection)
