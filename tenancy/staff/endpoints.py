"""Staff over HTTP: who the caller is, and a cabinet's staff for its administrators."""

from __future__ import annotations

import uuid

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from rbac.access import Principal, requires, signed_in
from tenancy.database import Database
from tenancy.staff import service
from tenancy.staff.schemas import Caller, GrantRead


@signed_in
async def who_am_i(request: Request) -> Response:
    """
    summary: Who the caller is, and what they hold.
    description: For a person, their roles in every tenant; for an API token, its one tenant
      and role.
    tags: [staff]
    security: [{bearer: []}]
    responses:
      200:
        description: The caller.
        content:
          application/json:
            schema: {$ref: '#/components/schemas/Caller'}
      401:
        description: Not signed in, or the token is expired, revoked or unknown.
    """
    principal: Principal = request.user
    db: Database = request.app.state.database
    if principal.kind == "token":
        assert principal.tenant_id is not None
        assert principal.role is not None
        slug = request.app.state.policy.slug_of(str(principal.tenant_id))
        caller = Caller(
            kind="token", name=principal.name, grants=[GrantRead(tenant=slug, role=principal.role)]
        )
    else:
        person = await service.me(db, uuid.UUID(principal.subject))
        caller = Caller(kind="user", **person.model_dump())
    return JSONResponse(caller.model_dump(mode="json"))


@requires("staff:manage")
async def tenant_staff(request: Request) -> Response:
    """
    summary: The staff of a tenant and the roles they hold there.
    tags: [staff]
    security: [{bearer: []}]
    parameters:
      - {name: slug, in: path, required: true, schema: {type: string}}
    responses:
      200:
        description: Staff ordered by e-mail.
        content:
          application/json:
            schema: {type: array, items: {$ref: '#/components/schemas/StaffRead'}}
      401:
        description: Not signed in.
      403:
        description: The caller lacks staff:manage in this tenant.
    """
    db: Database = request.app.state.database
    people = await service.list_staff(db, request.path_params["slug"])
    return JSONResponse([p.model_dump(mode="json") for p in people])


routes = [
    Route("/api/v1/me", who_am_i, methods=["GET"]),
    Route("/api/v1/tenants/{slug}/staff", tenant_staff, methods=["GET"]),
]
