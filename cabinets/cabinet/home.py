"""``/cabinet``: the organizations a person serves, each with its new, mine and overdue
counts, linking to its inbox (and, for a supervisor, to the roll-up below it)."""

from __future__ import annotations

import uuid

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from cabinets.cabinet.staff import database, staff_of
from cabinets.messages import desk
from cabinets.web.guards import page_signed_in
from cabinets.web.rendering import private_page
from cabinets.web.workplace import workplace
from rbac.sync import LivePolicy


@page_signed_in
async def home_page(request: Request) -> Response:
    place = await workplace(request)
    policy: LivePolicy = request.app.state.policy
    staff = staff_of(request)
    served = [
        (uuid.UUID(policy.slugs[o.slug]), o.slug, o.name)
        for o in place.organizations
        if o.slug in policy.slugs
    ]
    found = await desk.organizations(database(request), staff, served)
    rollups = {
        slug for tenant_id, slug, _ in served if staff.may(tenant_id, "report:read", assigned=False)
    }
    return private_page(
        request, "cabinet/home.html", workplace=place, organizations=found, rollups=rollups
    )


routes = [Route("/cabinet", home_page, methods=["GET"])]
