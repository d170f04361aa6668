"""Open311 GeoReport v2: the edge parses the parameters, calls one service, and answers in the
specification's shapes, in XML or JSON as the path's extension asks (``services.xml``,
``services.json``), errors included (``[{"code": 400, "description": ...}]``)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from xml.etree import ElementTree

from pydantic import ValidationError
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from cabinets.attachments.uploads import largest_form_allowance, receive_form_files
from cabinets.messages.intake import IntakeLimits, submit_message
from cabinets.messages.schemas import MessageSubmission
from cabinets.open311 import service
from rbac.access import public
from storage.errors import AttachmentRejected, StorageUnavailable
from tenancy.database import Database
from tenancy.errors import InvalidInput, NotFound, TooManyRequests
from tenancy.routing.resolver import RoutingIndex
from tenancy.settings import Settings

MEDIA = "media"
MAX_FORM_FILES = 20
FORMATS = ("xml", "json")
# The element of each item in a list, by the list's own element.
_XML_ITEMS = {
    "services": "service",
    "service_requests": "request",
    "errors": "error",
    "attributes": "attribute",
    "values": "value",
}

Payload = list[dict[str, Any]] | dict[str, Any]


def _db(request: Request) -> Database:
    db: Database = request.app.state.database
    return db


def _format(request: Request) -> str:
    """``xml`` or ``json``: the routes exist for these extensions only."""
    return request.url.path.rpartition(".")[2]


def _answer(
    request: Request,
    root: str,
    payload: Payload,
    status: int = 200,
    headers: Mapping[str, str] | None = None,
) -> Response:
    if _format(request) == "json":
        return JSONResponse(payload, status, headers=headers)
    return Response(_xml(root, payload), status, headers=headers, media_type="text/xml")


def _xml(root: str, payload: Payload) -> bytes:
    top = ElementTree.Element(root)
    _fill(top, root, payload)
    document: bytes = ElementTree.tostring(top, encoding="utf-8", xml_declaration=True)
    return document


def _fill(element: ElementTree.Element, name: str, value: Any) -> None:
    if isinstance(value, list):
        for item in value:
            _fill(ElementTree.SubElement(element, _XML_ITEMS[name]), _XML_ITEMS[name], item)
    elif isinstance(value, dict):
        for key, inner in value.items():
            _fill(ElementTree.SubElement(element, key), key, inner)
    elif isinstance(value, bool):
        element.text = "true" if value else "false"
    elif value is not None:
        element.text = str(value)


def _refused(request: Request, exc: Exception) -> Response:
    """A domain error in the specification's error shape."""
    headers: dict[str, str] = {}
    if isinstance(exc, InvalidInput):
        status, descriptions = 400, service.open311_errors(exc.errors)
    elif isinstance(exc, AttachmentRejected):
        status, descriptions = 400, [f"{MEDIA}: {exc}"]
    elif isinstance(exc, NotFound):
        status, descriptions = 404, [str(exc)]
    elif isinstance(exc, TooManyRequests):
        status, descriptions = 429, [str(exc)]
        headers["Retry-After"] = str(exc.retry_after)
    elif isinstance(exc, StorageUnavailable):
        status, descriptions = 503, ["file storage cannot be reached right now: nothing was kept"]
    else:
        raise exc
    errors = [{"code": status, "description": d} for d in descriptions]
    return _answer(request, "errors", errors, status, headers)


_REFUSED = (InvalidInput, AttachmentRejected, NotFound, TooManyRequests, StorageUnavailable)


@public
async def services(request: Request) -> Response:
    """
    summary: Open311 - the topics valid on a territory (jurisdiction_id is its OKTMO code).
    tags: [open311]
    parameters:
      - {name: jurisdiction_id, in: query, required: true, schema: {type: string}}
    responses:
      200:
        description: The answer, in the format the path's extension names.
        content: &open311
          application/json: {schema: {}}
          text/xml: {schema: {}}
      400: {description: "Invalid input: each error names its field.", content: *open311}
      404: {description: "No such territory, topic or request here.", content: *open311}
    """
    try:
        jurisdiction = request.query_params.get("jurisdiction_id")
        found = await service.list_services(_db(request), jurisdiction)
    except _REFUSED as exc:
        return _refused(request, exc)
    return _answer(request, "services", found)


@public
async def service_definition(request: Request) -> Response:
    """
    summary: Open311 - a topic's extra questions, as attributes.
    tags: [open311]
    parameters:
      - {name: jurisdiction_id, in: query, required: true, schema: {type: string}}
    responses:
      200:
        description: The answer, in the format the path's extension names.
        content: &open311
          application/json: {schema: {}}
          text/xml: {schema: {}}
      400: {description: "Invalid input: each error names its field.", content: *open311}
      404: {description: "No such territory or topic here.", content: *open311}
    """
    try:
        found = await service.describe_service(
            _db(request), request.query_params.get("jurisdiction_id"), request.path_params["code"]
        )
    except _REFUSED as exc:
        return _refused(request, exc)
    return _answer(request, "service_definition", found)


@public
async def file_request(request: Request) -> Response:
    """
    summary: Open311 - file a message (form-encoded, or multipart with media files).
    tags: [open311]
    requestBody:
      content:
        application/x-www-form-urlencoded:
          schema:
            type: object
            required: [service_code, jurisdiction_id, description]
            properties:
              service_code: {type: string}
              jurisdiction_id: {type: string}
              description: {type: string}
              email: {type: string}
              phone: {type: string}
              first_name: {type: string}
              last_name: {type: string}
              address_string: {type: string}
    responses:
      201:
        description: Filed; the request's number and its secret token.
        content: &open311
          application/json: {schema: {}}
          text/xml: {schema: {}}
      400: {description: "Invalid input: each error names its field.", content: *open311}
      404: {description: "No such territory or topic here.", content: *open311}
      413: {description: "The form is larger than the organization takes.", content: *open311}
      429: {description: "Too many messages from this address (Retry-After).", content: *open311}
      503: {description: "File storage cannot be reached; nothing was kept.", content: *open311}
    """
    db = _db(request)
    settings: Settings = request.app.state.settings
    routes = await request.app.state.routing.index()
    # Which organization takes the files is in the body: until it is read, the most any
    # organization takes is the bound.
    declared = request.headers.get("content-length")
    allowance = await largest_form_allowance(db, routes)
    if declared is None or not declared.isdigit() or int(declared) > allowance:
        too_large = [{"code": 413, "description": f"send at most {allowance} bytes"}]
        return _answer(request, "errors", too_large, 413)
    try:
        async with request.form(max_files=MAX_FORM_FILES, max_fields=200) as form:
            params = [(k, v) for k, v in form.multi_items() if isinstance(v, str)]
            one = dict(reversed(params))
            received = await receive_form_files(
                db,
                request.app.state.store,
                routes,
                form.getlist(MEDIA),
                topic=one.get("service_code", ""),
                territory=one.get("jurisdiction_id", ""),
                scanner=request.app.state.scanner,
            )
            submission = await _submission(db, routes, params, received)
            receipt = await submit_message(
                db,
                routes,
                submission,
                citizen_id=None,
                idempotency_key=None,
                base_url=settings.base_url,
                ip=request.client.host if request.client else None,
                limits=IntakeLimits.configured(settings),
            )
    except _REFUSED as exc:
        return _refused(request, exc)
    notice = (
        "nobody answers this here yet: the operator will route it"
        if receipt.queued
        else f"received by {receipt.organization}"
    )
    filed = {"service_request_id": receipt.number, "token": receipt.token, "service_notice": notice}
    return _answer(request, "service_requests", [filed], 201)


async def _submission(
    db: Database,
    routes: RoutingIndex,
    params: list[tuple[str, str]],
    received: list[dict[str, str]],
) -> MessageSubmission:
    try:
        filed = await service.submission_of(db, routes, params, received)
        return MessageSubmission.model_validate(filed)
    except ValidationError as exc:
        raise InvalidInput.from_validation(exc) from None


@public
async def request_status(request: Request) -> Response:
    """
    summary: Open311 - a filed request, with the token returned when it was filed.
    tags: [open311]
    parameters:
      - {name: token, in: query, required: true, schema: {type: string}}
    responses:
      200:
        description: The answer, in the format the path's extension names.
        content: &open311
          application/json: {schema: {}}
          text/xml: {schema: {}}
      404: {description: "No such request, or the token does not fit.", content: *open311}
    """
    token = request.query_params.get("token", "")
    try:
        found = await service.request_status(_db(request), request.path_params["number"], token)
    except _REFUSED as exc:
        return _refused(request, exc)
    return _answer(request, "service_requests", [found])


routes = [
    route
    for extension in FORMATS
    for route in (
        Route(f"/open311/v2/services.{extension}", services, methods=["GET"]),
        Route(f"/open311/v2/services/{{code}}.{extension}", service_definition, methods=["GET"]),
        Route(f"/open311/v2/requests.{extension}", file_request, methods=["POST"]),
        Route(f"/open311/v2/requests/{{number}}.{extension}", request_status, methods=["GET"]),
    )
]
