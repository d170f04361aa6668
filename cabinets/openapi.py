"""The OpenAPI document: paths from each endpoint's docstring, shapes from its pydantic models.

What every operation may answer besides its own outcomes is derived here, from the route's
declared access (``rbac.access``), its inputs and the edge's guard, rather than repeated in each
docstring: a docstring names only the answers particular to it, and every error answer gets the
problem schema unless the docstring gives another."""

from __future__ import annotations

import re
from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import models_json_schema
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute
from starlette.schemas import SchemaGenerator

from cabinets.attachments.endpoints import ConfirmUpload, DirectUploadRequest
from cabinets.messages.actions.table import ACTIONS
from cabinets.messages.answer_templates import TemplateInput
from cabinets.messages.history import MessageHistory
from cabinets.messages.inbox.schemas import InboxCounts, InboxPage, Rollup
from cabinets.messages.schemas import MessageRead, MessageSubmission, Receipt, Timeline
from cabinets.security import CSRF_EXEMPT
from rbac.access import Access, public, route_access
from tenancy.staff.schemas import Caller, StaffRead
from tenancy.tenants.schemas import TenantNode, TenantRead

PROBLEM_REF = {"$ref": "#/components/schemas/Problem"}
PROBLEM_CONTENT = {"application/problem+json": {"schema": PROBLEM_REF}}
PROBLEM_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": "RFC 9457 problem details.",
    "properties": {
        "type": {"type": "string"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "instance": {"type": "string"},
        "request_id": {"type": "string"},
        "errors": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {"field": {"type": "string"}, "message": {"type": "string"}},
            },
        },
    },
    # Every problem names the request it answers, to quote when reporting it.
    "required": ["type", "title", "status", "instance", "request_id"],
}

MODELS: list[type[BaseModel]] = [
    TenantRead,
    TenantNode,
    Caller,
    StaffRead,
    MessageSubmission,
    Receipt,
    Timeline,
    MessageRead,
    TemplateInput,
    InboxPage,
    InboxCounts,
    Rollup,
    DirectUploadRequest,
    ConfirmUpload,
    MessageHistory,
    *(a.input for a in ACTIONS.values()),
]

METHODS = ("get", "put", "post", "delete", "patch")
UNSAFE = frozenset({"post", "put", "delete", "patch"})
_PATH_PARAMETER = re.compile(r"{([^}:]+)(?::[^}]+)?}")

# What any operation may answer, by the reason it applies.
REFUSED_CREDENTIALS = "A bearer token was sent and is not valid (or has expired)."
NOT_SIGNED_IN = "Not signed in, and no valid API token."
NOT_PERMITTED = "The caller may not do this here."
CSRF = "A write on the session cookie without its CSRF token."
NOT_FOUND = "Nothing is found for this path (an unknown tenant, number or id)."
INVALID = "Invalid input: each problem names its field (text with NUL characters included)."
TOO_LARGE = "The body is larger than this kind of request takes."
UNAVAILABLE = (
    "The database or the file storage cannot be reached right now, or permissions are still "
    "loading: nothing was changed; try again after Retry-After seconds."
)


def derived_responses(
    access: Access | None, method: str, path: str, operation: dict[str, Any]
) -> dict[str, str]:
    """The error answers an operation can give whatever its own logic: from who may call it,
    what it takes, and the faults any request can meet."""
    answers = {"401": REFUSED_CREDENTIALS}
    if access is not None and access.kind != "public":
        answers["401"] = NOT_SIGNED_IN
    if access is not None and access.kind == "permission":
        answers["403"] = NOT_PERMITTED
    if method in UNSAFE and not path.startswith(CSRF_EXEMPT):
        answers.setdefault("403", CSRF)
    takes_path = bool(_PATH_PARAMETER.search(path))
    if takes_path:
        answers["404"] = NOT_FOUND
    if takes_path or operation.get("parameters") or "requestBody" in operation:
        answers["422"] = INVALID
    if "requestBody" in operation:
        answers["413"] = TOO_LARGE
    answers["503"] = UNAVAILABLE
    return answers


def _operation(
    spec: dict[str, Any], access: Access | None, method: str, path: str
) -> dict[str, Any]:
    operation = dict(spec)
    declared = {(p.get("in"), p.get("name")) for p in operation.get("parameters", [])}
    missing = [
        {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}
        for name in _PATH_PARAMETER.findall(path)
        if ("path", name) not in declared
    ]
    if missing:
        operation["parameters"] = missing + list(operation.get("parameters", []))
    if access is not None and access.kind != "public":
        operation.setdefault("security", [{"bearer": []}, {"cookie": []}])
    responses: dict[str, Any] = {}
    for status, answer in (operation.get("responses") or {}).items():
        entry: dict[str, Any] = {"description": answer} if isinstance(answer, str) else dict(answer)
        if int(status) >= 400:
            # Whatever else an error may be, the guard and the faults answer it as a problem.
            entry["content"] = {**PROBLEM_CONTENT, **entry.get("content", {})}
        responses[str(status)] = entry
    for status, description in derived_responses(access, method, path, operation).items():
        responses.setdefault(status, {"description": description, "content": PROBLEM_CONTENT})
    operation["responses"] = dict(sorted(responses.items()))
    return operation


def build_openapi(routes: list[BaseRoute], version: str) -> dict[str, Any]:
    _, definitions = models_json_schema(
        [(model, "serialization") for model in MODELS],
        ref_template="#/components/schemas/{model}",
    )
    schemas = dict(definitions.get("$defs", {}))
    schemas["Problem"] = PROBLEM_SCHEMA
    # Starlette's walk over the routes and its docstring parsing; the document is built here.
    walker = SchemaGenerator({})
    paths: dict[str, dict[str, Any]] = {}
    for endpoint in walker.get_endpoints(routes):
        spec = walker.parse_docstring(endpoint.func)
        if "summary" not in spec:
            continue  # a page or a signed link, not part of the API
        access = route_access(endpoint.func)
        paths.setdefault(endpoint.path, {})[endpoint.http_method] = _operation(
            spec, access, endpoint.http_method, endpoint.path
        )
    return {
        "openapi": "3.1.0",
        "info": {"title": "Priemnaya API", "version": version},
        "paths": paths,
        "components": {
            "schemas": schemas,
            "securitySchemes": {
                "bearer": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "An API token (`priemnaya token create`).",
                },
                "cookie": {
                    "type": "apiKey",
                    "in": "cookie",
                    "name": "priemnaya_session",
                    "description": "A signed-in person's session; writes also need the "
                    "X-CSRF-Token header.",
                },
            },
        },
    }


@public
async def openapi_document(request: Request) -> Response:
    """
    summary: This document.
    tags: [operations]
    responses:
      200:
        description: OpenAPI 3.1.
    """
    return JSONResponse(request.app.state.openapi)
