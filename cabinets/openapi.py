"""The OpenAPI document: paths from each endpoint's docstring, shapes from its pydantic models."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import models_json_schema
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute
from starlette.schemas import SchemaGenerator

from cabinets.messages.endpoints import ACTION_INPUTS
from cabinets.messages.history import MessageHistory
from cabinets.messages.inbox import InboxCounts, InboxPage, Rollup
from cabinets.messages.schemas import MessageRead, MessageSubmission, Receipt, Timeline
from cabinets.messages.templates import TemplateInput
from rbac.access import public
from tenancy.staff.schemas import Caller, StaffRead
from tenancy.tenants.schemas import TenantNode, TenantRead

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
    "required": ["type", "title", "status"],
}

MODELS: list[type[BaseModel]] = [
    TenantRead, TenantNode, Caller, StaffRead, MessageSubmission, Receipt, Timeline, MessageRead,
    TemplateInput, InboxPage, InboxCounts, Rollup, MessageHistory, *ACTION_INPUTS.values(),
]  # fmt: skip


def build_openapi(routes: list[BaseRoute], version: str) -> dict[str, Any]:
    _, definitions = models_json_schema(
        [(model, "serialization") for model in MODELS],
        ref_template="#/components/schemas/{model}",
    )
    schemas = dict(definitions.get("$defs", {}))
    schemas["Problem"] = PROBLEM_SCHEMA
    generator = SchemaGenerator(
        {
            "openapi": "3.1.0",
            "info": {"title": "Priemnaya API", "version": version},
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
    )
    return generator.get_schema(routes)


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
