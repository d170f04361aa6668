"""The organization's answer templates (``template:edit``): the list, writing a new one and
editing or deleting one, for one topic or for all, with a preview of the placeholders filled
from the organization's most recent message. An unknown placeholder is named at the text."""

from __future__ import annotations

import uuid
from typing import Any

from pydantic import ValidationError
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from cabinets.messages import answer_templates
from cabinets.web.forms import FormErrors
from cabinets.web.guards import page_requires, person
from cabinets.web.rendering import private_page
from cabinets.web.workplace import workplace
from tenancy.catalog import service as catalog
from tenancy.database import Database
from tenancy.errors import Conflict, FieldError, InvalidInput, NotFound

LABELS = {"title": "Название", "topic": "Тема", "body": "Текст ответа"}
# What each placeholder puts in, as the person writing a template reads it.
PLACEHOLDER_WORDS = {
    "number": "номер обращения для заявителя (26-0000123)",
    "registration_number": "регистрационный номер (15/2026)",
    "registered_on": "дата регистрации (ДД.ММ.ГГГГ)",
    "received_on": "дата поступления (ДД.ММ.ГГГГ)",
    "applicant": "имя заявителя",
    "organization": "название организации",
    "address": "адрес проблемы",
    "summary": "кратко, в чём проблема",
}
assert set(PLACEHOLDER_WORDS) == set(answer_templates.PLACEHOLDERS), "every placeholder is worded"
NOTICES = {"saved": "Шаблон сохранён.", "deleted": "Шаблон удалён."}


def _db(request: Request) -> Database:
    db: Database = request.app.state.database
    return db


def _body_problem(body: str) -> str:
    """The text's problem in Russian, naming the placeholders a message cannot fill."""
    try:
        unknown = answer_templates.unknown_placeholders(body)
    except ValueError:
        return "фигурная скобка не закрыта: подстановка пишется так — {number}"
    if unknown:
        named = ", ".join("{" + name + "}" for name in unknown)
        return f"неизвестная подстановка {named}: можно только перечисленные ниже"
    return "напишите текст ответа (не длиннее 10 000 знаков)"


def _problems(exc: ValidationError, form: dict[str, str]) -> FormErrors:
    found: list[FieldError] = []
    for error in InvalidInput.from_validation(exc).errors:
        if error.field == "body":
            found.append(FieldError("body", _body_problem(form.get("body", ""))))
        elif error.field == "title":
            found.append(FieldError("title", "назовите шаблон (не длиннее 200 знаков)"))
        else:
            found.append(FieldError(error.field, "выберите тему из списка"))
    return FormErrors.of(found, LABELS)


async def _page(
    request: Request,
    name: str,
    status: int = 200,
    *,
    form: dict[str, str],
    errors: FormErrors | None = None,
    preview: str | None = None,
    **context: Any,
) -> Response:
    slug = request.path_params["slug"]
    topics = await catalog.list_topics(_db(request))
    return private_page(
        request,
        name,
        status,
        workplace=await workplace(request, slug),
        slug=slug,
        topics=[(t["code"], t["title"]) for t in topics if t["active"]],
        topic_titles={t["code"]: t["title"] for t in topics},
        placeholders=PLACEHOLDER_WORDS,
        form=form,
        errors=errors,
        preview=preview,
        notice=NOTICES.get(request.query_params.get("notice", "")),
        **context,
    )


async def _list(request: Request, status: int = 200, **kwargs: Any) -> Response:
    found = await answer_templates.list_templates(_db(request), request.state.tenant_id)
    kwargs.setdefault("form", {})
    return await _page(request, "administration/templates.html", status, items=found, **kwargs)


def _form(raw: Any) -> dict[str, str]:
    return {k: str(v) for k, v in raw.items() if k != "csrf_token"}


async def _save(request: Request, template_id: uuid.UUID | None) -> Response:
    """Save the form, or show its preview; a problem is shown at its field, nothing saved."""
    slug = request.path_params["slug"]
    form = _form(await request.form())
    try:
        given = answer_templates.TemplateInput.model_validate(
            {
                "title": form.get("title", ""),
                "body": form.get("body", ""),
                "topic": form.get("topic") or None,
            }
        )
    except ValidationError as exc:
        return await _show(request, template_id, 422, form=form, errors=_problems(exc, form))
    if "preview" in form:
        shown = await answer_templates.preview_template(
            _db(request), request.state.tenant_id, given.body
        )
        return await _show(request, template_id, form=form, preview=shown or "")
    principal = person(request)
    assert principal is not None
    try:
        await answer_templates.save_template(
            _db(request),
            request.state.tenant_id,
            given,
            template_id=template_id,
            actor=principal.subject,
        )
    except Conflict:
        errors = FormErrors.one("title", LABELS["title"], "шаблон с таким названием уже есть")
        return await _show(request, template_id, 422, form=form, errors=errors)
    return RedirectResponse(f"/cabinet/{slug}/templates?notice=saved", status_code=303)


def _template_id(request: Request) -> uuid.UUID:
    try:
        return uuid.UUID(request.path_params["template_id"])
    except ValueError:
        raise NotFound("template", request.path_params["template_id"]) from None


async def _one(
    request: Request, template_id: uuid.UUID, status: int = 200, **kwargs: Any
) -> Response:
    found = await answer_templates.get_template(_db(request), request.state.tenant_id, template_id)
    if "form" not in kwargs:
        kwargs["form"] = {"title": found.title, "body": found.body, "topic": found.topic or ""}
    return await _page(request, "administration/template.html", status, template=found, **kwargs)


async def _show(
    request: Request, template_id: uuid.UUID | None, status: int = 200, **kwargs: Any
) -> Response:
    """The page the form came from: the list's new template, or the one edited."""
    if template_id is None:
        return await _list(request, status, **kwargs)
    return await _one(request, template_id, status, **kwargs)


@page_requires("template:edit")
async def templates_page(request: Request) -> Response:
    return await _list(request)


@page_requires("template:edit")
async def create(request: Request) -> Response:
    return await _save(request, None)


@page_requires("template:edit")
async def template_page(request: Request) -> Response:
    return await _one(request, _template_id(request))


@page_requires("template:edit")
async def update(request: Request) -> Response:
    template_id = _template_id(request)
    await answer_templates.get_template(_db(request), request.state.tenant_id, template_id)
    return await _save(request, template_id)


@page_requires("template:edit")
async def delete(request: Request) -> Response:
    await answer_templates.delete_template(
        _db(request), request.state.tenant_id, _template_id(request)
    )
    slug = request.path_params["slug"]
    return RedirectResponse(f"/cabinet/{slug}/templates?notice=deleted", status_code=303)


routes: list[BaseRoute] = [
    Route("/cabinet/{slug}/templates", templates_page, methods=["GET"]),
    Route("/cabinet/{slug}/templates", create, methods=["POST"]),
    Route("/cabinet/{slug}/templates/{template_id}", template_page, methods=["GET"]),
    Route("/cabinet/{slug}/templates/{template_id}", update, methods=["POST"]),
    Route("/cabinet/{slug}/templates/{template_id}/delete", delete, methods=["POST"]),
]
