"""One exception handler and one JSON error shape for the whole web app.

Every error answers ``{"error": {"status", "code", "message", "details"}}``
under ``/api/`` and an HTML error page elsewhere. :data:`IsoDate` is the
request field type for dates: it refuses what the schema does not promise
(numbers read as Unix timestamps), so a typo cannot become 1970-01-01.
"""

from __future__ import annotations

import logging
from datetime import date
from typing import Annotated, Any

from fastapi import FastAPI, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, Response
from pydantic import BeforeValidator
from sqlalchemy.exc import DataError
from starlette.exceptions import HTTPException as StarletteHTTPException

from crimeprev.errors import CrimeprevError
from crimeprev.web.templating import render

logger = logging.getLogger(__name__)


def _date_not_number(value: Any) -> Any:
    """Refuse numbers (and digit-only text) that pydantic would read as Unix timestamps.

    >>> _date_not_number("2024-05-01")
    '2024-05-01'
    >>> _date_not_number(0)
    Traceback (most recent call last):
    ...
    ValueError: expected a date written YYYY-MM-DD, got the number 0
    """
    if isinstance(value, bool):
        return value
    text = value.strip() if isinstance(value, str) else None
    if isinstance(value, int | float) or (text is not None and text.lstrip("+-").isdigit()):
        raise ValueError(f"expected a date written YYYY-MM-DD, got the number {value}")
    return value


#: A date in a request body or query: ``YYYY-MM-DD`` only (pydantic alone also takes
#: ``0`` or ``"86400"`` as days since 1970).
IsoDate = Annotated[date, BeforeValidator(_date_not_number)]
#: The same for a required query parameter. FastAPI drops the validator of a parameter
#: declared ``IsoDate = Query(...)``, so such a parameter is ``on: IsoDateQuery`` (keyword-only).
IsoDateQuery = Annotated[date, BeforeValidator(_date_not_number), Query(description="YYYY-MM-DD")]


def error_body(status: int, code: str, message: str, details: Any = None) -> dict[str, Any]:
    """Return the one JSON error shape."""
    return {"error": {"status": status, "code": code, "message": message, "details": details or {}}}


def _wants_json(request: Request) -> bool:
    return (
        request.url.path.startswith("/api/")
        or "application/json" in request.headers.get("accept", "").split(",")[0]
    )


def _respond(
    request: Request, status: int, code: str, message: str, details: Any = None
) -> Response:
    if _wants_json(request):
        return JSONResponse(error_body(status, code, message, details), status_code=status)
    template = "errors/404.html" if status == 404 else "errors/error.html"
    response: HTMLResponse = render(
        request,
        template,
        {"status": status, "code": code, "message": message},
        status_code=status,
    )
    return response


def _jsonable(details: dict[str, Any]) -> dict[str, Any]:
    return {
        key: value if isinstance(value, str | int | float | bool | list | None) else str(value)
        for key, value in details.items()
    }


def _unstorable_hint(reason: str) -> str:
    """What to change when the database refused a value, from its reason.

    >>> _unstorable_hint("integer out of range")
    'ids and whole numbers must lie between 1 and 2147483647'
    """
    text = reason.lower()
    if "nul" in text or "0x00" in text:
        return "texts must not contain the NUL character (code 0)"
    if "int" in text or "range" in text or "numeric" in text:
        return "ids and whole numbers must lie between 1 and 2147483647"
    return "check the lengths and formats of the values sent"


def install_error_handlers(app: FastAPI) -> None:
    """Register the handlers that turn every exception into the one error shape."""

    @app.exception_handler(CrimeprevError)
    async def _crimeprev(request: Request, exc: CrimeprevError) -> Response:
        return _respond(request, exc.status, exc.code, exc.message, _jsonable(exc.details))

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> Response:
        code = {
            404: "not_found",
            405: "method_not_allowed",
            401: "not_authenticated",
            403: "permission_denied",
            409: "conflict",
        }.get(exc.status_code, "http_error")
        message = str(exc.detail)
        if exc.status_code == 404 and message == "Not Found":
            message = (
                f"nothing at {request.url.path}; check the address or start from the home page"
            )
        response = _respond(request, exc.status_code, code, message)
        if exc.headers:
            response.headers.update(exc.headers)
        return response

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> Response:
        problems = [
            {
                "location": list(map(str, item["loc"])),
                "message": item["msg"],
                "received": repr(item.get("input"))[:200],
            }
            for item in exc.errors()
        ]
        summary = "; ".join(f"{'.'.join(p['location'])}: {p['message']}" for p in problems)
        return _respond(
            request,
            422,
            "invalid_input",
            f"the request is not valid: {summary}",
            {"problems": problems},
        )

    @app.exception_handler(OverflowError)
    @app.exception_handler(DataError)
    async def _unstorable(request: Request, exc: Exception) -> Response:
        # A value passed validation but the database cannot hold it (an id beyond a 64-bit
        # integer on SQLite or the column on PostgreSQL, a NUL character in a text on
        # PostgreSQL): the request is at fault, so 422 naming the reason.
        logger.warning("unstorable value on %s: %s", request.url.path, exc)
        reason = str(getattr(exc, "orig", None) or exc).splitlines()[0][:200]
        return _respond(
            request,
            422,
            "invalid_input",
            f"a value in the request is outside what the registry can store ({reason}); "
            f"{_unstorable_hint(reason)}",
            {"reason": reason},
        )

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> Response:
        logger.exception("unhandled error on %s", request.url.path, exc_info=exc)
        return _respond(
            request,
            500,
            "internal_error",
            "the server failed on this request; the error was logged. "
            "Try again, and report it if it persists",
        )
