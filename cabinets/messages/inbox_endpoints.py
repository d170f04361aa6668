"""HTTP endpoints of the staff inbox: the list, its counts, and a supervisor's roll-up.

``routes`` go before the message routes: ``/messages/counts`` would otherwise match
``/messages/{message_id}``.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from cabinets.messages.actors import Staff
from cabinets.messages.inbox import counts, queries, schemas
from cabinets.messages.inbox.rollup import rollup as read_rollup
from rbac.access import requires
from tenancy.database import Database
from tenancy.errors import InvalidInput


def _db(request: Request) -> Database:
    db: Database = request.app.state.database
    return db


def _staff(request: Request) -> Staff:
    return Staff.of(request.user, request.app.state.policy.enforcer)


def _inbox_query(request: Request) -> schemas.InboxQuery:
    return schemas.read_query(schemas.query_values(request.query_params.multi_items()))


@requires("message:read", own=True)
async def list_messages(request: Request) -> Response:
    """
    summary: The inbox - a tenant's messages, filtered, searched and paged by cursor.
    description: An executor sees only the messages assigned to them; an API token, all of its
      organization's if its role reads them all. Pages are cut by keyset, so messages that
      arrive while paging are neither repeated nor skipped.
    tags: [inbox]
    security: [{bearer: []}, {cookie: []}]
    parameters:
      - {name: slug, in: path, required: true, schema: {type: string}}
      - {name: status, in: query, required: false, style: form, explode: true,
         schema: {type: array, items: {type: string, enum: [new, clarification, rejected,
         registered, assigned, on_approval, answered, closed, forwarded, merged]}},
         description: Repeat (or separate by commas) for several.}
      - {name: topic, in: query, required: false, schema: {type: string},
         description: A topic code.}
      - {name: territory, in: query, required: false, schema: {type: string},
         description: A territory code; messages on it or on any territory under it.}
      - {name: assignee, in: query, required: false, schema: {type: string},
         description: "An executor's user id, `me`, or `none` (not assigned to anyone)."}
      - {name: returned, in: query, required: false, schema: {type: boolean},
         description: "Only the caller's assignments whose answer the approver returned."}
      - {name: due_within, in: query, required: false,
         schema: {type: integer, minimum: 0, maximum: 20},
         description: "Only messages due within this many working days (the tenant's
           calendar), not yet overdue."}
      - {name: overdue, in: query, required: false, schema: {type: boolean},
         description: Only messages whose running deadline has passed.}
      - {name: due_soon, in: query, required: false, schema: {type: boolean},
         description: Only messages due within 3 days and not yet overdue.}
      - {name: reopened, in: query, required: false, schema: {type: boolean},
         description: "Only messages a low rating sent back, while reviewed again."}
      - {name: received_from, in: query, required: false, schema: {type: string, format: date},
         description: Received on or after this day (the tenant's local day).}
      - {name: received_to, in: query, required: false, schema: {type: string, format: date},
         description: Received on or before this day (the tenant's local day).}
      - {name: registered_from, in: query, required: false,
         schema: {type: string, format: date},
         description: Registered on or after this day (the tenant's local day).}
      - {name: registered_to, in: query, required: false, schema: {type: string, format: date},
         description: Registered on or before this day (the tenant's local day).}
      - {name: updated_since, in: query, required: false,
         schema: {type: string, format: date-time},
         description: "Changed after this moment (with its offset): what an integration has
           not pulled yet. Use with sort=updated."}
      - {name: number, in: query, required: false, schema: {type: string},
         description: The tracking number or the registration number.}
      - {name: q, in: query, required: false, schema: {type: string, maxLength: 200},
         description: "Full-text search in the summary and text, with Russian stemming
           (web search syntax: \\"quoted phrases\\", or, -excluded)."}
      - {name: sort, in: query, required: false,
         schema: {type: string, enum: [received, due, relevance, updated]},
         description: "received: newest first (the default); due: soonest deadline first,
           messages without a running deadline after; relevance: best match first (the
           default with q); updated: least recently changed first (for pulling changes)."}
      - {name: cursor, in: query, required: false, schema: {type: string},
         description: The `next_cursor` of the previous page.}
      - {name: limit, in: query, required: false,
         schema: {type: integer, minimum: 1, maximum: 100, default: 25}}
    responses:
      200:
        description: One page.
        content:
          application/json:
            schema: {$ref: '#/components/schemas/InboxPage'}
      403:
        description: The caller lacks message:read here.
      404:
        description: No such tenant.
      422:
        description: A parameter is wrong (or unknown); each problem names it.
    """
    page = await queries.list_messages(
        _db(request), _staff(request), request.state.tenant_id, _inbox_query(request)
    )
    return JSONResponse(page.model_dump(mode="json"))


def _no_parameters(request: Request) -> None:
    for name in request.query_params:
        raise InvalidInput.one(name, "unknown parameter: this takes none")


@requires("message:read", own=True)
async def count_messages(request: Request) -> Response:
    """
    summary: The inbox's counts - per status, overdue, due soon, reopened.
    description: Over what the caller sees (an executor - their own assignments).
    tags: [inbox]
    security: [{bearer: []}, {cookie: []}]
    parameters:
      - {name: slug, in: path, required: true, schema: {type: string}}
    responses:
      200:
        description: The counts.
        content:
          application/json:
            schema: {$ref: '#/components/schemas/InboxCounts'}
      403:
        description: The caller lacks message:read here.
      404:
        description: No such tenant.
    """
    _no_parameters(request)
    found = await counts.count_messages(_db(request), _staff(request), request.state.tenant_id)
    return JSONResponse(found.model_dump(mode="json"))


@requires("report:read")
async def rollup(request: Request) -> Response:
    """
    summary: A supervisor's roll-up - the counts of every tenant in the subtree.
    description: The tenant and all its descendants whose reports the caller may read, in
      tree order, each with its counts per status, overdue, due soon and reopened, and the
      totals over them.
    tags: [inbox]
    security: [{bearer: []}, {cookie: []}]
    parameters:
      - {name: slug, in: path, required: true, schema: {type: string}}
    responses:
      200:
        description: The roll-up.
        content:
          application/json:
            schema: {$ref: '#/components/schemas/Rollup'}
      403:
        description: The caller lacks report:read here.
      404:
        description: No such tenant.
    """
    _no_parameters(request)
    found = await read_rollup(_db(request), _staff(request), request.state.tenant_id)
    return JSONResponse(found.model_dump(mode="json"))


routes: list[BaseRoute] = [
    Route("/api/v1/tenants/{slug}/messages/counts", count_messages, methods=["GET"]),
    Route("/api/v1/tenants/{slug}/messages/rollup", rollup, methods=["GET"]),
    Route("/api/v1/tenants/{slug}/messages", list_messages, methods=["GET"]),
]
