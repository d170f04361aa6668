"""Every error leaves the app as RFC 9457 ``application/problem+json``."""

from __future__ import annotations

import json
from http import HTTPStatus
from typing import Any

import structlog
from pydantic import ValidationError
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from storage.errors import (
    AttachmentRejected,
    InvalidToken,
    ObjectMissing,
    StorageUnavailable,
    TokenExpired,
)
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


def _instance(request: Request) -> dict[str, Any]:
    request_id = getattr(request.state, "request_id", None)
    return {"instance": request.url.path, **({"request_id": request_id} if request_id else {})}


async def http_exception(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    return ProblemResponse(
        exc.status_code,
        _title(exc.status_code),
        exc.detail if exc.detail != _title(exc.status_code) else None,
        headers=dict(exc.headers) if exc.headers else None,
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


async def storage_unavailable(request: Request, exc: Exception) -> Response:
    log.warning("storage unavailable", error=str(exc), path=request.url.path)
    return ProblemResponse(
        503,
        "Service unavailable",
        "file storage cannot be reached right now: nothing was kept; try again in a minute",
        headers={"Retry-After": "60"},
        **_instance(request),
    )


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


async def server_error(request: Request, exc: Exception) -> Response:
    log.error("unhandled error", exc_info=exc, path=request.url.path)
    return ProblemResponse(
        500,
        "Internal server error",
        "The error was logged; quote the request id when reporting it.",
        **_instance(request),
    )


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
    InvalidToken: link_refused,
    ObjectMissing: object_missing,
    Exception: server_error,
}
