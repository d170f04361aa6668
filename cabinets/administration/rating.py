"""The regional rating (``report:read``): a supervisor sees the organizations below them
ranked by the share answered on time, the average rating and the share reopened, and each
one's worst overdue messages one click away."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from cabinets.administration.reports import LABELS, ReportAsked, report_asked
from cabinets.messages import rating
from cabinets.messages.actors import Staff
from cabinets.web.forms import FormErrors
from cabinets.web.guards import page_requires, person
from cabinets.web.rendering import private_page, refusal_page
from cabinets.web.workplace import workplace
from tenancy.database import Database
from tenancy.errors import InvalidInput


def _db(request: Request) -> Database:
    db: Database = request.app.state.database
    return db


def _staff(request: Request) -> Staff:
    principal = person(request)
    assert principal is not None
    return Staff.of(principal, request.app.state.policy.enforcer)


@page_requires("report:read")
async def rating_page(request: Request) -> Response:
    slug = request.path_params["slug"]
    errors, ranked = None, None
    asked: ReportAsked | None = None
    try:
        asked = report_asked(request)
    except InvalidInput as exc:
        errors = FormErrors.of(exc.errors, LABELS)
    if asked is not None:
        ranked = await rating.regional_rating(
            _db(request), _staff(request), request.state.tenant_id, period=asked.period
        )
    return private_page(
        request,
        "administration/rating.html",
        422 if errors else 200,
        workplace=await workplace(request, slug),
        slug=slug,
        ranked=ranked,
        errors=errors,
        form=asked.form if asked else dict(request.query_params),
    )


@page_requires("report:read")
async def overdue_page(request: Request) -> Response:
    slug, organization = request.path_params["slug"], request.path_params["organization"]
    policy = request.app.state.policy
    tenant_id = policy.slugs.get(organization)
    ranked = await rating.regional_rating(
        _db(request), _staff(request), request.state.tenant_id, period=report_asked(request).period
    )
    if tenant_id is None or organization not in {r.tenant for r in ranked}:
        return refusal_page(request, 404)  # not below this supervisor: not confirmed to exist
    worst = await rating.worst_overdue(_db(request), _staff(request), tenant_id)
    return private_page(
        request,
        "administration/overdue.html",
        workplace=await workplace(request, slug),
        slug=slug,
        organization=organization,
        worst=worst,
    )


routes: list[BaseRoute] = [
    Route("/cabinet/{slug}/rating", rating_page, methods=["GET"]),
    Route("/cabinet/{slug}/rating/{organization}", overdue_page, methods=["GET"]),
]
