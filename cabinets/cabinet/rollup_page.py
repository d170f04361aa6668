"""``/cabinet/{slug}/rollup``: a supervisor's roll-up — the organization and every one below it
whose reports they may read, in tree order, with their counts, each linking to its inbox
(which a supervisor reads without the actions)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from cabinets.cabinet.staff import database, staff_of
from cabinets.messages.inbox.rollup import rollup
from cabinets.web.guards import page_requires
from cabinets.web.rendering import private_page
from cabinets.web.workplace import workplace


@page_requires("report:read")
async def rollup_page(request: Request) -> Response:
    slug = request.path_params["slug"]
    place = await workplace(request, slug)
    found = await rollup(database(request), staff_of(request), request.state.tenant_id)
    return private_page(request, "cabinet/rollup.html", workplace=place, slug=slug, rollup=found)


routes = [Route("/cabinet/{slug}/rollup", rollup_page, methods=["GET"])]
