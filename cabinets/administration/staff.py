"""The organization's staff (``staff:manage``): people with their roles and status, inviting a
new person by e-mail, giving and taking roles, and why a person may or may not do something
here. Another organization's people are "not found" (the one refusal page)."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote, urlencode

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from cabinets.administration.wording import (
    PERMISSION_WORDS,
    STATUS_WORDS,
    role_words,
)
from cabinets.web.forms import FormErrors
from cabinets.web.guards import page_requires, person
from cabinets.web.rendering import private_page
from cabinets.web.workplace import workplace
from rbac.permissions import PERMISSIONS
from tenancy.database import Database
from tenancy.errors import FieldError, InvalidInput
from tenancy.settings import Settings
from tenancy.staff import organization

LABELS = {"email": "Эл. почта", "name": "Имя и фамилия", "role": "Роль", "permission": "Действие"}
# The services explain problems in English for programs; a person reads what to do.
_RUSSIAN = {
    "email": "проверьте адрес эл. почты (или сотрудник отключён)",
    "name": "укажите имя и фамилию",
    "role": "такой роли в организации нет: выберите из списка",
    "permission": "выберите действие из списка",
}
NOTICES = {
    "invited": "Приглашение отправлено: письмо со ссылкой для входа уйдёт в ближайшую минуту.",
    "granted": "Роль выдана.",
    "revoked": "Роль отозвана.",
}


def _db(request: Request) -> Database:
    db: Database = request.app.state.database
    return db


def _actor(request: Request) -> str:
    principal = person(request)
    assert principal is not None
    return principal.subject


def _errors(exc: InvalidInput) -> FormErrors:
    return FormErrors.of(
        [FieldError(e.field, _RUSSIAN.get(e.field, e.message)) for e in exc.errors], LABELS
    )


def _roles(found: list[Any]) -> list[tuple[str, str]]:
    return [(r.name, role_words(r.name)) for r in found]


def _role_facts(roles: list[Any]) -> list[dict[str, Any]]:
    """Each role with its permissions in plain words (and their reach, where it is not all)."""
    facts = []
    for role in roles:
        permissions = []
        for entry in role.permissions:
            name, _, reach = entry.partition(" (")
            words = PERMISSION_WORDS.get(name, name)
            if reach.startswith("own"):
                words += " — только по назначенным ему обращениям"
            elif reach.startswith("subtree"):
                words += " — и в подведомственных организациях"
            permissions.append(words)
        facts.append({"name": role_words(role.name), "permissions": permissions})
    return facts


async def _list_page(
    request: Request, status: int = 200, errors: FormErrors | None = None, **form: str
) -> Response:
    slug = request.path_params["slug"]
    found = await organization.organization_staff(_db(request), slug)
    return private_page(
        request,
        "administration/staff.html",
        status,
        workplace=await workplace(request, slug),
        slug=slug,
        people=found.people,
        roles=_roles(found.roles),
        role_facts=_role_facts(found.roles),
        role_words=role_words,
        status_words=STATUS_WORDS,
        errors=errors,
        form=form,
        notice=NOTICES.get(request.query_params.get("notice", "")),
    )


@page_requires("staff:manage")
async def staff_page(request: Request) -> Response:
    return await _list_page(request)


@page_requires("staff:manage")
async def invite(request: Request) -> Response:
    slug = request.path_params["slug"]
    form = {k: str(v) for k, v in (await request.form()).items() if k != "csrf_token"}
    settings: Settings = request.app.state.settings
    try:
        await organization.invite(
            _db(request),
            slug,
            form.get("email", ""),
            form.get("name", ""),
            form.get("role", ""),
            base_url=settings.base_url,
            actor=_actor(request),
        )
    except InvalidInput as exc:
        return await _list_page(request, 422, _errors(exc), **form)
    return RedirectResponse(f"/cabinet/{slug}/staff?notice=invited", status_code=303)


def _person_path(slug: str, email: str) -> str:
    return f"/cabinet/{slug}/staff/{quote(email)}"


async def _person_page(
    request: Request, status: int = 200, errors: FormErrors | None = None
) -> Response:
    slug, email = request.path_params["slug"], request.path_params["email"]
    db = _db(request)
    member = await organization.staff_member(db, slug, email)
    roles = await organization.grantable_roles(db, slug)
    asked = request.query_params.get("permission")
    check = None
    if asked:
        try:
            check = await organization.explain(db, slug, member.email, asked)
        except InvalidInput as exc:
            errors, status = _errors(exc), 422
    return private_page(
        request,
        "administration/person.html",
        status,
        workplace=await workplace(request, slug),
        slug=slug,
        member=member,
        roles=_roles(roles),
        role_words=role_words,
        status_words=STATUS_WORDS,
        errors=errors,
        check=check,
        asked=asked,
        permissions=[(p, PERMISSION_WORDS[p]) for p in PERMISSIONS],
        permission_words=PERMISSION_WORDS,
        notice=NOTICES.get(request.query_params.get("notice", "")),
    )


@page_requires("staff:manage")
async def person_page(request: Request) -> Response:
    return await _person_page(request)


async def _change(request: Request, change: str) -> Response:
    slug, email = request.path_params["slug"], request.path_params["email"]
    role = str((await request.form()).get("role", ""))
    act = organization.grant if change == "granted" else organization.revoke
    try:
        await act(_db(request), slug, email, role, actor=_actor(request))
    except InvalidInput as exc:
        return await _person_page(request, 422, _errors(exc))
    query = urlencode({"notice": change})
    return RedirectResponse(f"{_person_path(slug, email)}?{query}", status_code=303)


@page_requires("staff:manage")
async def grant(request: Request) -> Response:
    return await _change(request, "granted")


@page_requires("staff:manage")
async def revoke(request: Request) -> Response:
    return await _change(request, "revoked")


routes: list[BaseRoute] = [
    Route("/cabinet/{slug}/staff", staff_page, methods=["GET"]),
    Route("/cabinet/{slug}/staff", invite, methods=["POST"]),
    Route("/cabinet/{slug}/staff/{email}", person_page, methods=["GET"]),
    Route("/cabinet/{slug}/staff/{email}/grant", grant, methods=["POST"]),
    Route("/cabinet/{slug}/staff/{email}/revoke", revoke, methods=["POST"]),
]
