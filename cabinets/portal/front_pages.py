"""The public pages: the front page (write, follow a message by its number and code, find an
organization, sign in, the platform's figures), the organization directory and an
organization's page, the accessibility statement and the switch to the accessible version."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from cabinets.messages import tracking
from cabinets.portal import directory
from cabinets.portal.accessible import VIEW_COOKIE, VIEW_YEAR, View
from cabinets.portal.figures import public_figures
from cabinets.portal.wording import LABELS, form_errors
from cabinets.web.forms import FormErrors, FormProblem
from cabinets.web.guards import person
from cabinets.web.rendering import render_page
from rbac.access import public
from tenancy.database import Database
from tenancy.errors import InvalidInput, NotFound
from tenancy.settings import Settings

NUMBER_LENGTH = 40
CODE_LENGTH = 200
NOT_FOLLOWED = "Обращение с таким номером и кодом не найдено: проверьте оба по уведомлению"


def _db(request: Request) -> Database:
    db: Database = request.app.state.database
    return db


async def _front(request: Request, status: int = 200, **context: Any) -> Response:
    return render_page(
        request,
        "portal/front.html",
        status,
        figures=await public_figures(_db(request)),
        signed_in=person(request) is not None,
        view_back="/",
        **context,
    )


@public
async def front_page(request: Request) -> Response:
    return await _front(request)


@public
async def follow(request: Request) -> Response:
    """Follow a message by its number and the code from the receipt. A wrong number and a
    wrong code get the same answer, so that numbers cannot be probed."""
    number = request.query_params.get("number", "").strip()
    code = request.query_params.get("code", "").strip()
    missing = tuple(
        FormProblem(field, LABELS[field], "заполните")
        for field, value in (("number", number), ("code", code))
        if not value
    )
    if missing:
        return await _front(
            request, 422, follow_errors=FormErrors(missing), number=number[:NUMBER_LENGTH]
        )
    found = len(number) <= NUMBER_LENGTH and len(code) <= CODE_LENGTH
    if found:
        try:
            await tracking.timeline(_db(request), number, code)
        except NotFound:
            found = False
    if not found:
        errors = FormErrors.one("number", "Номер обращения", NOT_FOLLOWED)
        response = await _front(request, 404, follow_errors=errors)
        response.headers["Cache-Control"] = "no-store"
        return response
    return RedirectResponse(f"/track/{number}?{urlencode({'token': code})}", status_code=303)


@public
async def organizations(request: Request) -> Response:
    query = request.query_params.get("q", "")
    try:
        found = await directory.find_organizations(_db(request), query)
    except InvalidInput as exc:
        return render_page(
            request,
            "portal/organizations.html",
            422,
            q=query[: directory.QUERY_LENGTH],
            found=[],
            errors=form_errors(exc),
        )
    return render_page(request, "portal/organizations.html", q=query.strip(), found=found)


@public
async def organization(request: Request) -> Response:
    routes = await request.app.state.routing.index()
    try:
        found = await directory.organization_page(_db(request), routes, request.path_params["slug"])
    except NotFound:
        return render_page(
            request,
            "notice.html",
            404,
            title="Организация не найдена",
            text="Такой организации здесь нет: найдите её по названию, городу или ИНН.",
            link="/organizations",
            link_text="Найти организацию",
        )
    return render_page(request, "portal/organization.html", organization=found)


@public
async def accessibility_statement(request: Request) -> Response:
    return render_page(request, "portal/accessibility.html")


@public
async def switch_view(request: Request) -> Response:
    """Turn the accessible version on, off or change it, and go back where the person was."""
    view = View.chosen(dict(request.query_params))
    back = request.query_params.get("back", "/")
    if not back.startswith("/") or back.startswith("//") or "\\" in back:
        back = "/"
    response = RedirectResponse(back, status_code=303)
    settings: Settings = request.app.state.settings
    response.set_cookie(
        VIEW_COOKIE,
        view.cookie(),
        max_age=VIEW_YEAR,
        httponly=True,
        samesite="lax",
        secure=settings.https,
    )
    return response


routes = [
    Route("/", front_page, methods=["GET"]),
    Route("/follow", follow, methods=["GET"]),
    Route("/organizations", organizations, methods=["GET"]),
    Route("/organizations/{slug}", organization, methods=["GET"]),
    Route("/accessibility", accessibility_statement, methods=["GET"]),
    Route("/view", switch_view, methods=["GET"]),
]
