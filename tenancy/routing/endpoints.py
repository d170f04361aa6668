"""The catalog for forms (public), resolution (public: citizens may see where a message goes),
and the operator's routing endpoints (``routing:edit`` on the platform)."""

from __future__ import annotations

from datetime import date
from typing import Any

from pydantic import BaseModel, Field, ValidationError
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from rbac.access import Principal, public, requires
from tenancy.catalog import service as catalog
from tenancy.database import Database
from tenancy.errors import InvalidInput, field_errors
from tenancy.routing import service
from tenancy.routing.cache import RoutingCache
from tenancy.routing.place_check import check_place
from tenancy.routing.schemas import RuleRow


class ResolveQuery(BaseModel):
    topic: str = Field(min_length=1)
    territory: str = Field(pattern=r"^[0-9]{2,11}$")
    on: date | None = None


@public
async def catalog_for_territory(request: Request) -> Response:
    """
    summary: The published topics a citizen may choose on a territory.
    description: Federal topics and the territory's region's own, active only; each with its
      deadline, required photo or address, and extra fields (typed questions).
    tags: [catalog]
    parameters:
      - {name: territory, in: query, required: true, schema: {type: string}}
    responses:
      200: {description: Topics ordered by code.}
      422:
        description: A missing or unknown territory.
    """
    territory = request.query_params.get("territory")
    if not territory:
        raise InvalidInput.one("territory", "name the territory (an OKTMO-style code)")
    db: Database = request.app.state.database
    topics = await catalog.list_topics(db, territory=territory)
    keep = (
        "code",
        "category_code",
        "title",
        "description",
        "keywords",
        "deadline_days",
        "calendar",
        "photo_required",
        "address_required",
        "fields",
        "region_code",
    )
    return JSONResponse([{k: t[k] for k in keep} for t in topics])


@public
async def resolve(request: Request) -> Response:
    """
    summary: Which organization answers a topic on a territory, and why.
    tags: [routing]
    parameters:
      - {name: topic, in: query, required: true, schema: {type: string}}
      - {name: territory, in: query, required: true, schema: {type: string}}
      - {name: 'on', in: query, schema: {type: string, format: date}}
    responses:
      200: {description: 'The tenant (null when nobody is responsible), every candidate rule.'}
      422:
        description: Unknown topic or territory.
    """
    query = ResolveQuery.model_validate(dict(request.query_params))
    cache: RoutingCache = request.app.state.routing
    index = await cache.index()
    check_place(index, query.topic, query.territory, offered=False)
    result = index.explain(query.topic, query.territory, query.on or date.today())
    return JSONResponse(
        {
            "tenant": result.tenant,
            "rule": result.rule.id if result.rule else None,
            "reason": result.reason,
            "candidates": [
                {
                    "rule": c.rule.id,
                    "topic": c.rule.topic,
                    "territory": c.rule.territory,
                    "tenant": c.rule.tenant,
                    "priority": c.rule.priority,
                    "verdict": c.verdict,
                }
                for c in result.candidates
            ],
        }
    )


@requires("routing:edit", tenant_param=None)
async def add_rules(request: Request) -> Response:
    """
    summary: Add routing rules (all or nothing).
    tags: [routing]
    security: [{bearer: []}]
    requestBody:
      content:
        application/json:
          schema: {type: array, items: {type: object}}
    responses:
      201: {description: Added.}
      403:
        description: The caller lacks routing:edit on the platform.
      422:
        description: Every problem, each naming the rule (rules[i]) and its field; a regional
          operator's rule for a territory outside their regions is one of them.
    """
    body: Any = await request.json()
    if not isinstance(body, list):
        raise InvalidInput.one("body", "send a JSON list of rules")
    rows, errors = [], []
    for i, item in enumerate(body):
        try:
            rows.append((f"rules[{i}]", RuleRow.model_validate(item)))
        except ValidationError as exc:
            errors += field_errors(exc, location=f"rules[{i}]")
    if errors:
        raise InvalidInput(errors)
    db: Database = request.app.state.database
    principal: Principal = request.user
    counts = await service.add_rules(
        db,
        rows,
        actor=f"api:{principal.display_name}",
        source="api",
        operator=principal.user_id,
    )
    return JSONResponse(counts, status_code=201)


@requires("routing:edit", tenant_param=None)
async def gaps(request: Request) -> Response:
    """
    summary: Topics nobody answers, grouped by territory, and rules pointing at inactive tenants.
    tags: [routing]
    security: [{bearer: []}]
    responses:
      200: {description: The gap report.}
      403:
        description: The caller lacks routing:edit on the platform.
    """
    db: Database = request.app.state.database
    report = await service.gaps(db)
    return JSONResponse(report.model_dump(mode="json"))


@requires("catalog:edit", tenant_param=None)
async def catalog_diff(request: Request) -> Response:
    """
    summary: What publishing the catalog draft would change.
    tags: [catalog]
    security: [{bearer: []}]
    responses:
      200: {description: 'Added, removed and changed categories and topics.'}
      403:
        description: The caller lacks catalog:edit on the platform.
    """
    db: Database = request.app.state.database
    return JSONResponse((await catalog.diff_catalog(db)).model_dump(mode="json"))


@requires("catalog:edit", tenant_param=None)
async def catalog_publish(request: Request) -> Response:
    """
    summary: Publish the catalog draft in one step.
    tags: [catalog]
    security: [{bearer: []}]
    responses:
      200: {description: The published version.}
      403:
        description: The caller lacks catalog:edit on the platform, or is a regional operator.
      422:
        description: There is no draft.
    """
    db: Database = request.app.state.database
    principal: Principal = request.user
    version = await catalog.publish_catalog(
        db, actor=f"api:{principal.display_name}", operator=principal.user_id
    )
    return JSONResponse({"published": version})


routes = [
    Route("/api/v1/catalog/diff", catalog_diff, methods=["GET"]),
    Route("/api/v1/catalog/publish", catalog_publish, methods=["POST"]),
    Route("/api/v1/catalog/topics", catalog_for_territory, methods=["GET"]),
    Route("/api/v1/routing/resolve", resolve, methods=["GET"]),
    Route("/api/v1/routing/rules", add_rules, methods=["POST"]),
    Route("/api/v1/routing/gaps", gaps, methods=["GET"]),
]
