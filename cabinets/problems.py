"""Every error leaves the app as RFC 9457 ``application/problem+json``, with the request id.

A fault outside the request's control (a database or file storage that cannot be reached) is
a 503 with ``Retry-After`` and one log line, the request's own (see ``cabinets.middleware``);
only a bug is a 500, logged once with its traceback."""

from __future__ import annotations

import json
from http import HTTPStatus
from typing import Any

import psycopg
import structlog
from pydantic import ValidationError
from sqlalchemy import exc as sa_errors
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Match

from cabinets.web.rendering import refusal_page, wants_page
from storage.errors import (
    AttachmentRejected,
    InvalidToken,
    ObjectMissing,
    StorageUnavailable,
    TokenExpired,
)
from tenancy.database import DatabaseUnavailable
from tenancy.errors import (
    Conflict,
    Forbidden,
    Gone,
    InvalidInput,
    NotFound,
    TooManyRequests,
    field_errors,
)

PROBLEM_MEDIA_TYPE = "application/problem+json"
DATABASE_RETRY_AFTER_SECONDS = 5  # a restart or a fail-over takes seconds
STORAGE_RETRY_AFTER_SECONDS = 60
# What a database that cannot be reached (down, restarting, or out of connections) raises.
DATABASE_FAULTS: tuple[type[BaseException], ...] = (
    sa_errors.OperationalError,
    sa_errors.InterfaceError,
    sa_errors.TimeoutError,
    psycopg.OperationalError,
    DatabaseUnavailable,
)
log = structlog.get_logger(__name__)


class ProblemResponse(Response):
    media_type = PROBLEM_MEDIA_TYPE

    def __init__(
        self,
        status: int,
        title: str,
        detail: str | None = None,
        *,
        type_: str = "about:blank",
        headers: dict[str, str] | None = None,
        **extensions: Any,
    ) -> None:
        body: dict[str, Any] = {"type": type_, "title": title, "status": status}
        if detail:
            body["detail"] = detail
        body.update(extensions)
        super().__init__(json.dumps(body, ensure_ascii=False), status, headers)


def instance_of(scope: Any) -> dict[str, Any]:
    """The ``instance`` and ``request_id`` members of a problem about this request."""
    request_id = scope.get("state", {}).get("request_id")
    return {"instance": scope["path"], **({"request_id": request_id} if request_id else {})}


def _instance(request: Request) -> dict[str, Any]:
    return instance_of(request.scope)


def allowed_methods(request: Request) -> list[str]:
    """Every method some route answers on this path, for ``Allow`` (Starlette names only the
    first route's, and each of ours takes one method)."""
    methods: set[str] = set()
    for route in request.app.router.routes:
        match, _ = route.matches(request.scope)  # PARTIAL: the path fits, the method does not
        if match != Match.NONE and getattr(route, "methods", None):
            methods |= set(route.methods)
    return sorted(methods)


async def http_exception(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    headers = dict(exc.headers) if exc.headers else {}
    if exc.status_code == 405:
        headers["Allow"] = ", ".join(allowed_methods(request))
    if exc.status_code == 503:  # permissions still loading: a moment
        headers.setdefault("Retry-After", str(DATABASE_RETRY_AFTER_SECONDS))
    if exc.status_code == 404 and request.method == "GET" and wants_page(request):
        return refusal_page(request, 404)  # a mistyped address in a browser
    return ProblemResponse(
        exc.status_code,
        _title(exc.status_code),
        exc.detail if exc.detail != _title(exc.status_code) else None,
        headers=headers or None,
        **_instance(request),
    )


async def invalid_input(request: Request, exc: Exception) -> Response:
    errors = (
        exc.errors
        if isinstance(exc, InvalidInput)
        else field_errors(exc)
        if isinstance(exc, ValidationError)
        else []
    )
    return ProblemResponse(
        422,
        "Invalid input",
        "; ".join(str(e) for e in errors),
        errors=[
            {"field": e.field, "message": e.message}
            | ({"code": e.code} if e.code else {})
            | ({"location": e.location} if e.location else {})
            for e in errors
        ],
        **_instance(request),
    )


async def not_found(request: Request, exc: Exception) -> Response:
    return ProblemResponse(404, "Not found", str(exc), **_instance(request))


async def conflict(request: Request, exc: Exception) -> Response:
    current = exc.current if isinstance(exc, Conflict) else None
    extra: dict[str, Any] = {"current": current} if current is not None else {}
    return ProblemResponse(409, "Conflict", str(exc), **extra, **_instance(request))


async def gone(request: Request, exc: Exception) -> Response:
    on: dict[str, Any] = {"destroyed_on": exc.on.isoformat()} if isinstance(exc, Gone) else {}
    return ProblemResponse(410, "Gone", str(exc), **on, **_instance(request))


async def too_many_requests(request: Request, exc: Exception) -> Response:
    retry_after = exc.retry_after if isinstance(exc, TooManyRequests) else 60
    return ProblemResponse(
        429,
        "Too many requests",
        str(exc),
        headers={"Retry-After": str(retry_after)},
        **_instance(request),
    )


async def forbidden(request: Request, exc: Exception) -> Response:
    return ProblemResponse(403, "Forbidden", str(exc), **_instance(request))


async def attachment_rejected(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, AttachmentRejected)
    return ProblemResponse(
        422,
        "Invalid input",
        str(exc),
        errors=[{"field": exc.field or "file", "message": str(exc), "code": exc.reason.value}],
        **_instance(request),
    )


def note_fault(scope: Any, fault: str) -> None:
    """Name the fault on the request's own log line (``cabinets.middleware``)."""
    scope.setdefault("state", {})["fault"] = fault


async def storage_unavailable(request: Request, exc: Exception) -> Response:
    note_fault(request.scope, f"storage unavailable: {exc}")
    return ProblemResponse(
        503,
        "Service unavailable",
        "file storage cannot be reached right now: nothing was kept; try again in a minute",
        headers={"Retry-After": str(STORAGE_RETRY_AFTER_SECONDS)},
        **_instance(request),
    )


def database_unavailable_response(scope: Any, exc: BaseException) -> Response:
    note_fault(scope, f"database unavailable: {type(exc).__name__}: {_first_line(exc)}")
    return ProblemResponse(
        503,
        "Service unavailable",
        "the database cannot be reached right now: nothing was changed; try again in a few "
        "seconds (a retry with the same Idempotency-Key is safe)",
        headers={"Retry-After": str(DATABASE_RETRY_AFTER_SECONDS)},
        **instance_of(scope),
    )


async def database_unavailable(request: Request, exc: Exception) -> Response:
    return database_unavailable_response(request.scope, exc)


def _first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [""])[0][:300]


async def link_refused(request: Request, exc: Exception) -> Response:
    detail = (
        "this link has expired: ask for a new one"
        if isinstance(exc, TokenExpired)
        else "this link is not valid"
    )
    return ProblemResponse(403, "Forbidden", detail, **_instance(request))


async def object_missing(request: Request, exc: Exception) -> Response:
    return ProblemResponse(
        422,
        "Invalid input",
        "file: nothing was uploaded for this upload yet",
        errors=[{"field": "file", "message": "nothing was uploaded for this upload yet"}],
        **_instance(request),
    )


def fault_response(scope: Any, exc: BaseException) -> Response:
    """The answer to an exception nothing else handled: 503 for a database that cannot be
    reached, else a 500 whose traceback is logged (once: nothing re-raises it)."""
    if isinstance(exc, DATABASE_FAULTS):
        return database_unavailable_response(scope, exc)
    log.error("unhandled error", exc_info=exc, path=scope["path"])
    return ProblemResponse(
        500,
        "Internal server error",
        "The error was logged; quote the request id when reporting it.",
        **instance_of(scope),
    )


async def server_error(request: Request, exc: Exception) -> Response:
    return fault_response(request.scope, exc)


def _title(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


EXCEPTION_HANDLERS = {
    HTTPException: http_exception,
    InvalidInput: invalid_input,
    ValidationError: invalid_input,
    NotFound: not_found,
    Gone: gone,
    Conflict: conflict,
    Forbidden: forbidden,
    TooManyRequests: too_many_requests,
    AttachmentRejected: attachment_rejected,
    StorageUnavailable: storage_unavailable,
    **dict.fromkeys(DATABASE_FAULTS, database_unavailable),
    InvalidToken: link_refused,
    ObjectMissing: object_missing,
    Exception: server_error,
}
