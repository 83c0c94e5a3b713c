"""Fixtures for the warehouse tests: a DuckDB warehouse loaded with bundled data once."""

from __future__ import annotations

import pytest

from crimeprev.store import open_warehouse
from crimeprev.store.bundled import load_bundled_areas
from crimeprev.store.ingest import import_file
from crimeprev.store.profiles import load_profile


@pytest.fixture(scope="session")
def loaded_warehouse(tmp_path_factory):
    """Areas, populations, Chicago, Vancouver and SF imported into one DuckDB file."""
    path = tmp_path_factory.mktemp("warehouse") / "warehouse.duckdb"
    warehouse = open_warehouse(f"duckdb://{path}")
    list(load_bundled_areas(warehouse))
    results = {}
    for name in ("chicago_assaults", "vancouver_2020", "sf_2012", "lancashire_asb_2022"):
        profile = load_profile(name)
        results[name] = import_file(warehouse, profile, profile.bundled_paths()[0])
    warehouse.results = results  # type: ignore[attr-defined]
    yield warehouse
    warehouse.close()
