"""Switching a person of the organization off and on from their page (``staff:manage``): a
deactivated person cannot sign in or be assigned; their roles and history stay."""

from __future__ import annotations

from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from cabinets.administration import staff
from cabinets.administration.acting import actor, database
from cabinets.web.forms import FormErrors
from cabinets.web.guards import page_requires
from rbac.models import UserStatus
from tenancy.errors import InvalidInput
from tenancy.staff.deactivation import set_member_status

_RUSSIAN = {
    "self": "себя отключить нельзя: попросите другого администратора",
    "elsewhere": "сотрудник работает и в другой организации: отзовите его роли здесь, "
    "а отключить его может оператор платформы",
}


async def _set(request: Request, status: UserStatus, notice: str) -> Response:
    slug, email = request.path_params["slug"], request.path_params["email"]
    try:
        await set_member_status(database(request), slug, email, status, actor=actor(request))
    except InvalidInput as exc:
        problem = exc.errors[0]
        errors = FormErrors.one(
            "status", "Состояние", _RUSSIAN.get(problem.code or "", problem.message)
        )
        return await staff.person_page_with(request, 422, errors)
    return RedirectResponse(
        f"{staff.person_path(slug, email)}?{urlencode({'notice': notice})}", status_code=303
    )


@page_requires("staff:manage")
async def deactivate(request: Request) -> Response:
    return await _set(request, UserStatus.DEACTIVATED, "deactivated")


@page_requires("staff:manage")
async def reactivate(request: Request) -> Response:
    return await _set(request, UserStatus.ACTIVE, "reactivated")


routes: list[BaseRoute] = [
    Route("/cabinet/{slug}/staff/{email}/deactivate", deactivate, methods=["POST"]),
    Route("/cabinet/{slug}/staff/{email}/reactivate", reactivate, methods=["POST"]),
]
