"""Open311 GeoReport v2 (JSON): the edge parses the parameters, calls one service, and answers
in the specification's shapes, errors included (``[{"code": 400, "description": ...}]``)."""

from __future__ import annotations

from pydantic import ValidationError
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from cabinets.attachments import service as attachments
from cabinets.messages import service as messages
from cabinets.messages.schemas import MessageSubmission
from cabinets.open311 import service
from rbac.access import public
from storage.errors import AttachmentRejected, StorageUnavailable
from tenancy.database import Database
from tenancy.errors import InvalidInput, NotFound, TooManyRequests
from tenancy.settings import Settings

MEDIA = "media"
MAX_FORM_FILES = 20


def _db(request: Request) -> Database:
    db: Database = request.app.state.database
    return db


def _errors(status: int, *descriptions: str, headers: dict[str, str] | None = None) -> Response:
    return JSONResponse(
        [{"code": status, "description": d} for d in descriptions], status, headers=headers
    )


def _refused(exc: Exception) -> Response:
    """A domain error in the specification's error shape."""
    if isinstance(exc, InvalidInput):
        return _errors(400, *service.open311_errors(exc.errors))
    if isinstance(exc, AttachmentRejected):
        return _errors(400, f"{MEDIA}: {exc}")
    if isinstance(exc, NotFound):
        return _errors(404, str(exc))
    if isinstance(exc, TooManyRequests):
        return _errors(429, str(exc), headers={"Retry-After": str(exc.retry_after)})
    if isinstance(exc, StorageUnavailable):
        return _errors(503, "file storage cannot be reached right now: nothing was kept")
    raise exc


_REFUSED = (InvalidInput, AttachmentRejected, NotFound, TooManyRequests, StorageUnavailable)


@public
async def services(request: Request) -> Response:
    """
    summary: Open311 - the topics valid on a territory (jurisdiction_id is its OKTMO code).
    tags: [open311]
    """
    try:
        jurisdiction = request.query_params.get("jurisdiction_id")
        found = await service.list_services(_db(request), jurisdiction)
    except _REFUSED as exc:
        return _refused(exc)
    return JSONResponse(found)


@public
async def service_definition(request: Request) -> Response:
    """
    summary: Open311 - a topic's extra questions, as attributes.
    tags: [open311]
    """
    try:
        found = await service.describe_service(
            _db(request), request.query_params.get("jurisdiction_id"), request.path_params["code"]
        )
    except _REFUSED as exc:
        return _refused(exc)
    return JSONResponse(found)


@public
async def file_request(request: Request) -> Response:
    """
    summary: Open311 - file a message (form-encoded, or multipart with media files).
    tags: [open311]
    """
    db = _db(request)
    settings: Settings = request.app.state.settings
    routes = await request.app.state.routing.index()
    # Which organization takes the files is in the body: until it is read, the most any
    # organization takes is the bound.
    declared = request.headers.get("content-length")
    allowance = await attachments.largest_form_allowance(db, routes)
    if declared is None or not declared.isdigit() or int(declared) > allowance:
        return _errors(413, f"send at most {allowance} bytes, with a Content-Length")
    try:
        async with request.form(max_files=MAX_FORM_FILES, max_fields=200) as form:
            params = [(k, v) for k, v in form.multi_items() if isinstance(v, str)]
            one = dict(reversed(params))
            received = await attachments.receive_form_files(
                db, request.app.state.store, routes, form.getlist(MEDIA),
                topic=one.get("service_code", ""), territory=one.get("jurisdiction_id", ""),
                scanner=request.app.state.scanner,
            )  # fmt: skip
            submission = await _submission(db, params, received)
            receipt = await messages.submit_message(
                db, routes, submission, citizen_id=None, idempotency_key=None,
                base_url=settings.base_url,
                ip=request.client.host if request.client else None,
                limits=messages.IntakeLimits.configured(settings),
            )  # fmt: skip
    except _REFUSED as exc:
        return _refused(exc)
    notice = (
        "nobody answers this here yet: the operator will route it"
        if receipt.queued
        else f"received by {receipt.organization}"
    )
    return JSONResponse(
        [{"service_request_id": receipt.number, "token": receipt.token, "service_notice": notice}],
        201,
    )


async def _submission(
    db: Database, params: list[tuple[str, str]], received: list[dict[str, str]]
) -> MessageSubmission:
    try:
        return MessageSubmission.model_validate(await service.submission_of(db, params, received))
    except ValidationError as exc:
        raise InvalidInput.from_validation(exc) from None


@public
async def request_status(request: Request) -> Response:
    """
    summary: Open311 - a filed request, with the token returned when it was filed.
    tags: [open311]
    """
    token = request.query_params.get("token", "")
    try:
        found = await service.request_status(_db(request), request.path_params["number"], token)
    except _REFUSED as exc:
        return _refused(exc)
    return JSONResponse([found])


routes = [
    Route("/open311/v2/services.json", services, methods=["GET"]),
    Route("/open311/v2/services/{code}.json", service_definition, methods=["GET"]),
    Route("/open311/v2/requests.json", file_request, methods=["POST"]),
    Route("/open311/v2/requests/{number}.json", request_status, methods=["GET"]),
]
