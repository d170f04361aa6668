"""/operator: the operator's sections, each shown to those who may use it."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from cabinets.messages import queue
from cabinets.operator.desk import database, operator_id, operator_page, routing_index
from cabinets.web.guards import page_requires


@page_requires("catalog:edit", tenant_param=None)
async def home(request: Request) -> Response:
    _, waiting = await queue.waiting(
        database(request), await routing_index(request), operator=operator_id(request), limit=0
    )
    return await operator_page(request, "home.html", waiting=waiting)


routes = [Route("/operator", home, methods=["GET"])]
