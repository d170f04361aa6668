"""The operator's queue: every message nobody was responsible for, why no rule took it, and
the two ways out — dispatch it to an organization, or (after adding the missing rule) re-route
every waiting message the routing table now covers."""

from __future__ import annotations

import uuid

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from cabinets.messages import queue
from cabinets.operator.desk import back, database, operator_id, operator_page, routing_index
from cabinets.operator.wording import LABELS, russian, verdict
from cabinets.web.forms import FormErrors
from cabinets.web.guards import page_requires
from tenancy.errors import Conflict, InvalidInput


@page_requires("routing:edit", tenant_param=None)
async def queue_page(request: Request) -> Response:
    found, total = await queue.waiting(
        database(request), await routing_index(request), operator=operator_id(request)
    )
    return await operator_page(request, "queue.html", messages=found, total=total)


async def _message_page(
    request: Request, queue_id: uuid.UUID, status: int = 200, **context: object
) -> Response:
    found = await queue.queued_message(database(request), await routing_index(request), queue_id)
    return await operator_page(
        request,
        "queued.html",
        status,
        message=found,
        verdict=verdict,
        errors=context.pop("errors", FormErrors()),
        **context,
    )


@page_requires("routing:edit", tenant_param=None)
async def message_page(request: Request) -> Response:
    return await _message_page(request, request.path_params["id"])


@page_requires("routing:edit", tenant_param=None)
async def dispatch(request: Request) -> Response:
    queue_id: uuid.UUID = request.path_params["id"]
    async with request.form() as form:
        tenant = str(form.get("tenant") or "").strip()
    if not tenant:
        errors = FormErrors.one("tenant", LABELS["tenant"], "укажите организацию (код)")
        return await _message_page(request, queue_id, 422, errors=errors, tenant=tenant)
    try:
        number = await queue.dispatch(
            database(request),
            await routing_index(request),
            queue_id,
            tenant,
            operator=operator_id(request),
        )
    except InvalidInput as exc:
        errors = FormErrors.of(russian(exc.errors), LABELS)
        return await _message_page(request, queue_id, 422, errors=errors, tenant=tenant)
    except Conflict:
        return back("/operator/queue", "Это обращение уже направлено другим оператором")
    return back("/operator/queue", f"Обращение № {number} направлено: {tenant}")


@page_requires("routing:edit", tenant_param=None)
async def requeue(request: Request) -> Response:
    done = await queue.requeue(
        database(request), await routing_index(request), operator=operator_id(request)
    )
    return back(
        "/operator/queue",
        f"Направлено по новым правилам: {done.dispatched}; ждут по-прежнему: {done.waiting}",
    )


routes = [
    Route("/operator/queue", queue_page, methods=["GET"]),
    Route("/operator/queue/reroute", requeue, methods=["POST"]),
    Route("/operator/queue/{id:uuid}", message_page, methods=["GET"]),
    Route("/operator/queue/{id:uuid}/dispatch", dispatch, methods=["POST"]),
]
