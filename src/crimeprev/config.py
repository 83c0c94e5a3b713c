"""Settings for the CLI and the web app, declared once.

The library never reads the environment: only the faces call
:func:`get_settings`, and they pass the result on explicitly. Each setting is
declared once below with its default and help text; ``crimeprev settings``, the
docs and a test read the same table (:func:`describe_settings`).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

ENV_PREFIX = "CRIMEPREV_"
SECRET_FILE = "secret_key"


class Settings(BaseSettings):
    """Settings of a crimeprev installation (environment prefix ``CRIMEPREV_``)."""

    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, extra="ignore")

    data_dir: Path = Field(
        default=Path(".crimeprev"),
        description="Folder for the warehouse, the database, uploads and the secret key.",
    )
    warehouse_url: str = Field(
        default="",
        description=(
            "Analytical warehouse (Ibis connection URL). Empty: a DuckDB file "
            "warehouse.duckdb in the data directory. DuckDB engine options go in the "
            "query string, e.g. duckdb://w.duckdb?memory_limit=2GB&threads=4 (memory_limit, "
            "threads, temp_directory, max_temp_directory_size; a file warehouse is capped "
            "at memory_limit=512MB unless set, and spills to disk beyond it)."
        ),
    )
    database_url: str = Field(
        default="",
        description=(
            "Operational database (SQLAlchemy URL): sqlite:///... or "
            "postgresql+psycopg://... Empty: a SQLite file crimeprev.sqlite in the data directory."
        ),
    )
    secret_key: str = Field(
        default="",
        description=(
            "Key that signs sessions and CSRF tokens. Empty: generated on first run and "
            "kept in <data_dir>/secret_key."
        ),
    )
    host: str = Field(default="127.0.0.1", description="Address the web server listens on.")
    port: int = Field(default=8000, ge=1, le=65535, description="Port of the web server.")
    rate_per: int = Field(default=100_000, gt=0, description="Population base of published rates.")
    small_count_threshold: int = Field(
        default=5,
        ge=0,
        description="Published tables suppress counts below this (0 turns suppression off).",
    )
    session_lifetime_hours: float = Field(
        default=8.0,
        gt=0,
        description="Hours a sign-in session lasts before the user signs in again.",
    )
    login_max_failures: int = Field(
        default=5,
        ge=0,
        description="Failed sign-ins allowed per username within the window (0: no throttling).",
    )
    login_window_minutes: float = Field(
        default=15.0, gt=0, description="Window (minutes) over which failed sign-ins are counted."
    )
    tracker_upload_max_bytes: int = Field(
        default=10 * 1024 * 1024,
        gt=0,
        description="Largest document or questionnaire the Kyoto tracker accepts (bytes).",
    )

    @model_validator(mode="after")
    def _fill_defaults(self) -> Settings:
        data_dir = self.data_dir.expanduser()
        self.data_dir = data_dir
        if not self.warehouse_url:
            self.warehouse_url = f"duckdb://{(data_dir / 'warehouse.duckdb').as_posix()}"
        if not self.database_url:
            self.database_url = f"sqlite:///{(data_dir / 'crimeprev.sqlite').as_posix()}"
        return self

    def ensure_data_dir(self) -> Path:
        """Create the data directory if needed and return it."""
        self.data_dir.mkdir(parents=True, exist_ok=True)
        return self.data_dir

    def resolved_secret_key(self) -> str:
        """Return the secret key, generating and storing one on first use."""
        if self.secret_key:
            return self.secret_key
        path = self.ensure_data_dir() / SECRET_FILE
        if path.exists():
            key = path.read_text(encoding="utf-8").strip()
            if key:
                return key
        key = secrets.token_urlsafe(48)
        path.write_text(key + "\n", encoding="utf-8")
        path.chmod(0o600)
        return key


def get_settings(**overrides: Any) -> Settings:
    """Build settings from the environment, with explicit overrides on top."""
    return Settings(**overrides)


@dataclass(frozen=True)
class SettingInfo:
    """One declared setting: its name, environment variable, default and help."""

    name: str
    env: str
    default: str
    help: str


def describe_settings() -> list[SettingInfo]:
    """List every setting with its environment variable, default and help."""
    rows = []
    for name, field in Settings.model_fields.items():
        default = field.default
        rows.append(
            SettingInfo(
                name=name,
                env=f"{ENV_PREFIX}{name.upper()}",
                default="" if default is None else str(default),
                help=field.description or "",
            )
        )
    return rows
