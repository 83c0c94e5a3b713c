"""Fixtures for the indicator tests: a data directory with bundled sources imported once."""

from __future__ import annotations

import pytest

from crimeprev.store import open_warehouse
from crimeprev.store.bundled import load_bundled_areas
from crimeprev.store.ingest import import_file
from crimeprev.store.profiles import load_profile


@pytest.fixture(scope="session")
def stats_settings(tmp_path_factory):
    from crimeprev.config import Settings

    settings = Settings(data_dir=tmp_path_factory.mktemp("stats") / "data", secret_key="k")
    settings.ensure_data_dir()
    warehouse = open_warehouse(settings.warehouse_url)
    list(load_bundled_areas(warehouse))
    for name in ("vancouver_2020", "sf_2012", "lancashire_asb_2022", "wdi_homicide", "unodc_cts"):
        profile = load_profile(name)
        for path in profile.bundled_paths():
            import_file(warehouse, profile, path)
    warehouse.close()
    return settings


@pytest.fixture
def stats_client(stats_settings):
    from fastapi.testclient import TestClient

    from crimeprev.web.app import create_app

    with TestClient(create_app(stats_settings), raise_server_exceptions=False) as client:
        yield client
