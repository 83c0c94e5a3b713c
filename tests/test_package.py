"""The package's public surface, errors and settings."""

from __future__ import annotations

import pytest

import crimeprev
from crimeprev import errors
from crimeprev.config import Settings, describe_settings, get_settings


def test_public_names():
    assert crimeprev.__all__ == ["CrimeprevError", "__version__"]
    assert crimeprev.__version__ == "0.1.0"


def test_every_error_derives_from_the_base_and_a_builtin():
    assert issubclass(errors.InvalidInputError, errors.CrimeprevError)
    assert issubclass(errors.InvalidInputError, ValueError)
    assert issubclass(errors.UnknownCodeError, LookupError)
    assert errors.ConflictError.status == 409


def test_data_file_error_names_file_row_field_value_and_expectation():
    error = errors.DataFileError(
        "unparseable date",
        file="x.csv",
        row=12,
        field="date",
        value="2021-13-01",
        expected="YYYY-MM-DD",
    )
    assert str(error) == (
        "file x.csv, row 12, field 'date': unparseable date (got '2021-13-01'; expected YYYY-MM-DD)"
    )
    assert error.details["row"] == 12


def test_settings_defaults_derive_from_the_data_dir(tmp_path):
    settings = Settings(data_dir=tmp_path)
    assert settings.warehouse_url == f"duckdb://{tmp_path.as_posix()}/warehouse.duckdb"
    assert settings.database_url == f"sqlite:///{tmp_path.as_posix()}/crimeprev.sqlite"
    assert settings.port == 8000 and settings.host == "127.0.0.1"


def test_settings_read_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("CRIMEPREV_PORT", "8123")
    monkeypatch.setenv("CRIMEPREV_DATA_DIR", str(tmp_path))
    settings = get_settings()
    assert settings.port == 8123 and settings.data_dir == tmp_path


def test_invalid_setting_is_refused(monkeypatch):
    monkeypatch.setenv("CRIMEPREV_PORT", "0")
    with pytest.raises(ValueError, match="port"):
        get_settings()


def test_secret_key_is_generated_once_and_kept(tmp_path):
    settings = Settings(data_dir=tmp_path)
    first = settings.resolved_secret_key()
    assert len(first) >= 32
    assert Settings(data_dir=tmp_path).resolved_secret_key() == first
    assert (tmp_path / "secret_key").stat().st_mode & 0o077 == 0
    assert Settings(data_dir=tmp_path, secret_key="given").resolved_secret_key() == "given"


def test_settings_table_declares_every_field_with_help():
    table = {info.name: info for info in describe_settings()}
    assert set(table) == set(Settings.model_fields)
    assert all(info.help for info in table.values())
    assert table["port"].env == "CRIMEPREV_PORT" and table["port"].default == "8000"
