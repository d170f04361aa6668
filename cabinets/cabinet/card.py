"""The message card, ``/cabinet/{slug}/messages/{id}``: everything staff need about one message
and a form for each action the workflow table allows this person on it now (the forms post to
``card_actions``). Downloads of its files go through the same permission check.

A card opened from the inbox carries the inbox's query in ``view``, so that "save and next"
can move on to the next message of that view."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from typing import Any
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from cabinets.cabinet.staff import database, staff_of
from cabinets.messages import card as card_service
from cabinets.messages.actions.table import ACTIONS
from cabinets.messages.actions.upkeep import MAX_EXTENSION_DAYS, MAX_EXTENSIONS
from cabinets.messages.files import staff_file_link
from cabinets.messages.returns import RETURN_REASONS
from cabinets.messages.workflow import CITIZEN_STATUS, REJECTION_GROUNDS, TRANSITIONS, Status
from cabinets.web.forms import FormErrors
from cabinets.web.guards import page_requires
from cabinets.web.rendering import private_page
from cabinets.web.workplace import workplace
from tenancy.errors import FieldError, NotFound

# Where each message stands, as staff say it (the citizen's word is beside it).
STAGES = {
    Status.NEW: "на модерации",
    Status.CLARIFICATION: "ждёт уточнения от заявителя",
    Status.REJECTED: "отклонено",
    Status.REGISTERED: "ждёт исполнителя",
    Status.ASSIGNED: "у исполнителя",
    Status.ON_APPROVAL: "ответ на согласовании",
    Status.ANSWERED: "ответ опубликован",
    Status.CLOSED: "закрыто",
    Status.FORWARDED: "направлено в другую организацию",
    Status.MERGED: "объединено с другим обращением",
}

# Each action's heading on the card and the label of its button.
ACTION_WORDS: dict[str, tuple[str, str]] = {
    "accept": ("Регистрация", "Зарегистрировать"),
    "reject": ("Отклонить обращение", "Отклонить"),
    "request_clarification": ("Запросить уточнение", "Отправить вопрос заявителю"),
    "assign": ("Назначить исполнителя", "Назначить"),
    "save_answer": ("Ответ", "Сохранить черновик"),
    "submit_answer": ("Ответ", "Отправить на согласование"),
    "approve_answer": ("Утвердить ответ", "Утвердить и опубликовать"),
    "return_answer": ("Вернуть ответ на доработку", "Вернуть на доработку"),
    "forward": ("Направить по компетенции", "Направить"),
    "extend": ("Продлить срок ответа", "Продлить срок"),
    "merge": ("Объединить с другим обращением", "Объединить"),
    "comment": ("Внутренний комментарий", "Добавить комментарий"),
    "change_topic": ("Уточнить тему", "Сменить тему"),
}
# Actions whose form is another's (the action table says which).
JOINED = {a.name: a.joins for a in ACTIONS.values() if a.joins is not None}

# The labels of the forms' fields, by the field's input name (``action.field``).
LABELS = {
    "reject.ground": "Основание отказа",
    "reject.text": "Пояснение для заявителя",
    "request_clarification.question": "Вопрос заявителю",
    "request_clarification.days": "Срок для ответа, дней",
    "assign.executor": "Исполнитель",
    "save_answer.text": "Текст ответа",
    "template": "Шаблон ответа",
    "submit_answer.text": "Текст ответа",
    "return_answer.comment": "Замечания исполнителю",
    "forward.tenant": "Организация",
    "forward.reason": "Почему не наша компетенция",
    "extend.days": "На сколько дней продлить",
    "extend.reason": "Основание продления",
    "merge.primary": "Основное обращение",
    "comment.text": "Комментарий",
    "change_topic.topic": "Новая тема",
    "change_topic.reason": "Почему тема другая",
    "answer_files.file": "Файл к ответу",
    "version": "Версия обращения",
}


@dataclass
class Sent:
    """A form that came back: what was sent, what is wrong with it, or that it was stale."""

    action: str
    values: dict[str, str] = field(default_factory=dict)
    lists: dict[str, list[str]] = field(default_factory=dict)
    errors: FormErrors = field(default_factory=FormErrors)
    stale: bool = False


def uuid_param(request: Request, name: str) -> uuid.UUID:
    try:
        return uuid.UUID(request.path_params[name])
    except ValueError:
        raise NotFound(name, request.path_params[name]) from None


def card_url(slug: str, message_id: uuid.UUID | str, **query: str) -> str:
    given = {k: v for k, v in query.items() if v}
    return f"/cabinet/{slug}/messages/{message_id}" + (f"?{urlencode(given)}" if given else "")


def _template_param(request: Request) -> uuid.UUID | None:
    try:
        return uuid.UUID(request.query_params.get("template", ""))
    except ValueError:
        return None


async def card_response(request: Request, status: int = 200, sent: Sent | None = None) -> Response:
    """The card as it is now; ``sent``: a form that came back, shown filled in as it was sent,
    with its problems or the news that someone acted first."""
    slug = request.path_params["slug"]
    message_id = uuid_param(request, "message_id")
    # A form that came back keeps what the card was opened with (the view, the search).
    given = sent.values if sent else request.query_params
    view, forward_q = given.get("view", ""), given.get("forward_q", "").strip()
    # The header and the card are read side by side (each on its own connection).
    found, header = await asyncio.gather(
        card_service.message_card(
            database(request),
            staff_of(request),
            request.state.tenant_id,
            message_id,
            forward_query=forward_q,
            template=_template_param(request),
        ),
        workplace(request, slug),
    )
    errors = sent.errors if sent else FormErrors.of(found.problems, LABELS)
    done = request.query_params.get("done", "")
    me = staff_of(request).user_id
    options = {
        "assign": [
            (a.email, a.name + (f", {a.position}" if a.position else "")) for a in found.assignees
        ],
        "merge": [
            (str(d.id), f"№ {d.number}: {d.summary}" + (f" ({d.address})" if d.address else ""))
            for d in found.duplicates
        ],
        "forward": [(o.slug, o.name) for o in found.organizations],
        "templates": [(str(t.id), t.title) for t in found.templates],
    }
    message = found.message
    return private_page(
        request,
        "cabinet/card.html",
        status,
        workplace=header,
        slug=slug,
        card=found,
        message=message,
        status_label=CITIZEN_STATUS[Status(message.status)],
        stage=STAGES[Status(message.status)],
        action_forms=[a for a in found.actions if JOINED.get(a) not in found.actions],
        words=ACTION_WORDS,
        labels=LABELS,
        grounds=list(REJECTION_GROUNDS.items()),
        return_reasons=list(RETURN_REASONS.items()),
        extension_days=MAX_EXTENSION_DAYS,
        may_extend=message.extensions < MAX_EXTENSIONS,
        sent=sent,
        errors=errors,
        view=view,
        options=options,
        my_email=next((a.email for a in found.assignees if a.id == me), ""),
        forward_q=forward_q,
        done=TRANSITIONS[done].title if done in TRANSITIONS else None,
        uploaded=request.query_params.get("uploaded"),
    )


@page_requires("message:read", own=True)
async def card_page(request: Request) -> Response:
    return await card_response(request)


@page_requires("message:read", own=True)
async def card_file(request: Request) -> Response:
    """One of the message's files (a thumbnail or a download): after the permission check, to
    the short-lived link."""
    link = await staff_file_link(
        database(request),
        request.app.state.store,
        staff_of(request),
        request.state.tenant_id,
        uuid_param(request, "message_id"),
        uuid_param(request, "file_id"),
    )
    return RedirectResponse(link, status_code=303)


def form_errors(action: str, problems: Iterable[FieldError]) -> FormErrors:
    """Problems of one action's form, at its fields (named ``action.field`` on the card)."""
    return FormErrors.of(
        [replace(p, field=f"{action}.{p.field}") if p.field != "version" else p for p in problems],
        LABELS,
    )


def form_values(items: Any) -> tuple[dict[str, str], dict[str, list[str]]]:
    """A form's text fields: the first value of each, and every value of each."""
    values: dict[str, str] = {}
    lists: dict[str, list[str]] = {}
    for name, value in items:
        if isinstance(value, str):
            values.setdefault(name, value)
            lists.setdefault(name, []).append(value)
    return values, lists


routes = [
    Route(
        "/cabinet/{slug}/messages/{message_id}", card_page, methods=["GET"], include_in_schema=False
    ),
    Route(
        "/cabinet/{slug}/messages/{message_id}/files/{file_id}",
        card_file,
        methods=["GET"],
        include_in_schema=False,
    ),
]
