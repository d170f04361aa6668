"""The public directory of tenants (organizations are public bodies; their names are not secret)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from rbac.access import public
from tenancy.database import Database
from tenancy.tenants import service
from tenancy.tenants.schemas import TenantFilter


def _json(payload: object) -> Response:
    return JSONResponse(payload)


@public
async def list_tenants(request: Request) -> Response:
    """
    summary: List tenants.
    tags: [tenants]
    parameters:
      - {name: kind, in: query, schema: {$ref: '#/components/schemas/TenantKind'}}
      - {name: status, in: query, schema: {$ref: '#/components/schemas/TenantStatus'}}
      - {name: parent, in: query, description: Slug of the parent tenant, schema: {type: string}}
    responses:
      200:
        description: Tenants ordered by slug.
        content:
          application/json:
            schema: {type: array, items: {$ref: '#/components/schemas/TenantRead'}}
      422:
        description: A bad filter; the problem names the parameter.
    """
    filters = TenantFilter.model_validate(dict(request.query_params))
    db: Database = request.app.state.database
    tenants = await service.list_tenants(
        db, kind=filters.kind, status=filters.status, parent=filters.parent
    )
    return _json([t.model_dump(mode="json") for t in tenants])


@public
async def show_tenant(request: Request) -> Response:
    """
    summary: One tenant by slug.
    tags: [tenants]
    parameters:
      - {name: slug, in: path, required: true, schema: {type: string}}
    responses:
      200:
        description: The tenant.
        content:
          application/json:
            schema: {$ref: '#/components/schemas/TenantRead'}
      404:
        description: No such tenant.
    """
    db: Database = request.app.state.database
    tenant = await service.get_tenant(db, request.path_params["slug"])
    return _json(tenant.model_dump(mode="json"))


@public
async def tenant_tree(request: Request) -> Response:
    """
    summary: The hierarchy under a tenant, nested.
    tags: [tenants]
    parameters:
      - {name: slug, in: path, required: true, schema: {type: string}}
    responses:
      200:
        description: The subtree.
        content:
          application/json:
            schema: {$ref: '#/components/schemas/TenantNode'}
      404:
        description: No such tenant.
    """
    db: Database = request.app.state.database
    (root,) = await service.tenant_tree(db, request.path_params["slug"])
    return _json(root.model_dump(mode="json"))


routes = [
    Route("/api/v1/tenants", list_tenants, methods=["GET"]),
    Route("/api/v1/tenants/{slug}", show_tenant, methods=["GET"]),
    Route("/api/v1/tenants/{slug}/tree", tenant_tree, methods=["GET"]),
]
