"""Every exception crimeprev raises.

Each class inherits from :class:`CrimeprevError` and from the built-in that
matches it, so callers may catch either. Messages state what was received,
what was expected and how to fix it. ``status`` is the HTTP status the web
layer's single exception handler answers with, and ``code`` the stable,
machine-readable name in the JSON error shape.
"""

from __future__ import annotations

from typing import Any


class CrimeprevError(Exception):
    """Base for every crimeprev error."""

    status: int = 500
    code: str = "internal_error"

    def __init__(self, message: str, **details: Any) -> None:
        super().__init__(message)
        self.message = message
        self.details: dict[str, Any] = details


class InvalidInputError(CrimeprevError, ValueError):
    """Input data or an argument failed validation."""

    status = 422
    code = "invalid_input"


class NotFoundError(CrimeprevError, LookupError):
    """A code, record or resource does not exist."""

    status = 404
    code = "not_found"


class UnknownCodeError(NotFoundError, KeyError):
    """A classification code (ICCS, SDG, ...) is not in the standard."""

    code = "unknown_code"

    def __str__(self) -> str:  # KeyError would otherwise quote the message
        return self.message


class ConflictError(CrimeprevError):
    """The request conflicts with the current state (e.g. a lifecycle step)."""

    status = 409
    code = "conflict"


class PermissionDeniedError(CrimeprevError, PermissionError):
    """The user may not do this."""

    status = 403
    code = "permission_denied"


class AuthenticationError(CrimeprevError):
    """No valid credentials were given."""

    status = 401
    code = "not_authenticated"


class ConfigurationError(CrimeprevError):
    """A setting is missing or invalid."""

    status = 500
    code = "configuration_error"


class DataFileError(InvalidInputError):
    """A file could not be read: names the file, the row and the field."""

    code = "data_file_error"

    def __init__(
        self,
        message: str,
        *,
        file: str | None = None,
        row: int | None = None,
        field: str | None = None,
        value: Any = None,
        expected: str | None = None,
    ) -> None:
        where = ", ".join(
            part
            for part in (
                f"file {file}" if file else "",
                f"row {row}" if row is not None else "",
                f"field {field!r}" if field else "",
            )
            if part
        )
        full = message
        if where:
            full = f"{where}: {message}"
        if value is not None:
            full += f" (got {value!r}"
            full += f"; expected {expected})" if expected else ")"
        elif expected:
            full += f" (expected {expected})"
        super().__init__(full, file=file, row=row, field=field, value=value, expected=expected)
