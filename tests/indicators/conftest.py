"""Fixtures for the indicator tests: a data directory with bundled sources imported once."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

import pandas as pd
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


@contextmanager
def synthetic_source(
    root: Path, name: str, profile: str, files: Mapping[str, pd.DataFrame], *, threshold: int
) -> Iterator[tuple[object, list]]:
    """A data directory with one synthetic source, its files imported: (settings, results).

    The profile is served as a bundled one (the profile pages read a
    source's kind from its profile) for as long as the block runs.
    """
    from crimeprev.config import Settings
    from crimeprev.store import profiles

    (root / "profiles").mkdir()
    (root / "profiles" / f"{name}.toml").write_text(profile, encoding="utf-8")
    patch = pytest.MonkeyPatch()
    patch.setattr(profiles, "PROFILE_DIR", root / "profiles")
    try:
        settings = Settings(data_dir=root / "data", secret_key="k", small_count_threshold=threshold)
        settings.ensure_data_dir()
        warehouse = open_warehouse(settings.warehouse_url)
        results = []
        for file_name, frame in files.items():
            frame.to_csv(root / file_name, index=False)
            results.append(import_file(warehouse, load_profile(name), root / file_name))
        warehouse.close()
        yield settings, results
    finally:
        patch.undo()


@contextmanager
def web_client(settings: object) -> Iterator[object]:
    """The app of `settings` behind a test client that answers errors instead of raising."""
    from fastapi.testclient import TestClient

    from crimeprev.web.app import create_app

    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        yield client
