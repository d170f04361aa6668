"""The organization's own roles (``staff:manage``): each made of permissions from the registry,
described in plain words; a platform-only permission is refused at its field."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from cabinets.administration.acting import actor, database, first, form_fields
from cabinets.administration.wording import PERMISSION_WORDS
from cabinets.web.forms import FormErrors
from cabinets.web.guards import page_requires
from cabinets.web.rendering import private_page
from cabinets.web.workplace import workplace
from rbac.permissions import PERMISSIONS
from tenancy.errors import FieldError, InvalidInput
from tenancy.staff.organization_roles import MAX_DESCRIPTION, define, organization_roles

LABELS = {"name": "Код роли", "description": "Название для людей", "permissions": "Права"}
_RUSSIAN = {
    "shared": "так называется общая роль: выберите другой код",
    "role_name": "от 2 до 40 строчных латинских букв, цифр, «-» и «_», начиная с буквы",
    "required": "отметьте хотя бы одно право",
    "unknown": "такого права нет: выберите из списка",
    "platform_only": "права «{names}» есть только у оператора платформы: снимите отметку",
}


def _errors(exc: InvalidInput) -> FormErrors:
    worded = []
    for e in exc.errors:
        words = _RUSSIAN.get(e.code or "")
        if words and e.code == "platform_only":
            names = e.message.split(": ", 1)[1].split(", ")
            words = words.format(names="», «".join(PERMISSION_WORDS[n] for n in names))
        worded.append(FieldError(e.field, words) if words else e)
    return FormErrors.of(worded, LABELS)


async def _page(
    request: Request,
    status: int = 200,
    errors: FormErrors | None = None,
    form: dict[str, Any] | None = None,
) -> Response:
    slug = request.path_params["slug"]
    roles = await organization_roles(database(request), slug)
    editing = next((r for r in roles if r.name == request.query_params.get("edit")), None)
    if form is None:
        form = (
            {
                "name": editing.name,
                "description": editing.description,
                "permissions": editing.permissions,
            }
            if editing
            else {}
        )
    return private_page(
        request,
        "administration/roles.html",
        status,
        workplace=await workplace(request, slug),
        slug=slug,
        roles=roles,
        form=form,
        errors=errors,
        words=PERMISSION_WORDS,
        permissions=[(p, PERMISSION_WORDS[p]) for p in PERMISSIONS],
        max_description=MAX_DESCRIPTION,
    )


@page_requires("staff:manage")
async def roles_page(request: Request) -> Response:
    return await _page(request)


@page_requires("staff:manage")
async def save_role(request: Request) -> Response:
    slug = request.path_params["slug"]
    fields = await form_fields(request)
    name, description = first(fields, "name"), first(fields, "description")
    permissions = fields.get("permissions", [])
    form = {"name": name, "description": description, "permissions": permissions}
    try:
        await define(database(request), slug, name, description, permissions, actor=actor(request))
    except InvalidInput as exc:
        return await _page(request, 422, _errors(exc), form)
    return RedirectResponse(f"/cabinet/{slug}/staff?notice=role_saved", status_code=303)


routes: list[BaseRoute] = [
    Route("/cabinet/{slug}/staff/roles", roles_page, methods=["GET"]),
    Route("/cabinet/{slug}/staff/roles", save_role, methods=["POST"]),
]
