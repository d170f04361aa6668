"""``/cabinet/{slug}``: the inbox of one organization — its views with their counts, the
filters beside the list (all in the URL, so a view can be bookmarked), search, sorting, keyset
pages, and the bulk actions' form around the rows."""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from cabinets.cabinet.staff import database, staff_of
from cabinets.messages import desk
from cabinets.messages.bulk import BULK_ACTIONS, STAFF_STATUS, reason_words
from cabinets.messages.inbox.schemas import query_values
from cabinets.messages.views import DEFAULT_VIEW, VIEWS
from cabinets.messages.wording import problem_wording
from cabinets.messages.workflow import Status
from cabinets.web.forms import FormErrors, FormProblem
from cabinets.web.guards import page_requires
from cabinets.web.rendering import private_page
from cabinets.web.workplace import workplace
from tenancy.errors import FieldError, InvalidInput

# The filter panel's labels, for the error summary and the fields.
FILTER_LABELS = {
    "view": "Представление",
    "status": "Статус",
    "topic": "Тема",
    "territory": "Код территории",
    "assignee": "Исполнитель",
    "received_from": "Поступило с",
    "received_to": "Поступило по",
    "registered_from": "Зарегистрировано с",
    "registered_to": "Зарегистрировано по",
    "reopened": "Повторные",
    "q": "Поиск",
    "sort": "Порядок",
    "cursor": "Страница",
    "limit": "Строк на странице",
    "number": "Номер",
    "due_within": "Срок в рабочих днях",
    "due_soon": "Срок скоро",
    "overdue": "Просрочены",
    "returned": "Возвращены мне",
}
# What is wrong with a filter, in Russian, where the service's own words are not.
FILTER_PROBLEMS = {
    "view": "такого представления нет",
    "status": "такого статуса нет",
    "topic": "такой темы нет",
    "territory": "такой территории нет: нужен код ОКТМО",
    "assignee": "выберите исполнителя из списка",
    "received_from": "нужна дата в виде ГГГГ-ММ-ДД",
    "received_to": "нужна дата в виде ГГГГ-ММ-ДД, не раньше начальной",
    "registered_from": "нужна дата в виде ГГГГ-ММ-ДД",
    "registered_to": "нужна дата в виде ГГГГ-ММ-ДД, не раньше начальной",
    "sort": "такого порядка нет («по совпадению» — только с поиском)",
    "cursor": "ссылка на страницу устарела: начните с первой",
    "q": "напишите слова для поиска (не больше 200 знаков)",
}
UNKNOWN_PARAMETER = "в адресе лишний параметр: уберите его"
SORTS = [("received", "Сначала новые"), ("due", "Сначала срочные"), ("relevance", "По совпадению")]
PAGE_PARAMS = frozenset({"view"})
BULK_LABELS = {
    "action": "Что сделать",
    "executor": "Исполнитель",
    "comment": "Комментарий",
    "messages": "Отмеченные обращения",
}


def _link(slug: str, params: dict[str, Any]) -> str:
    pairs = [
        (name, item)
        for name, value in params.items()
        for item in (value if isinstance(value, list) else [value])
        if item not in (None, "")
    ]
    return f"/cabinet/{slug}" + (f"?{urlencode(pairs)}" if pairs else "")


@page_requires("message:read", own=True)
async def inbox_page(request: Request) -> Response:
    slug = request.path_params["slug"]
    # The header's people and organizations are read meanwhile, on a connection of their own.
    header = asyncio.create_task(workplace(request, slug))
    raw = request.query_params
    view = raw.get("view") or None
    errors = FormErrors()
    screen = None
    given: dict[str, Any] = {}
    try:
        given = query_values(raw.multi_items(), also=PAGE_PARAMS)
        given.pop("view", None)
        routes = await request.app.state.routing.index()
        screen = await desk.inbox_screen(
            database(request),
            staff_of(request),
            request.state.tenant_id,
            view,
            given,
            topics=desk.answered_topics(routes, slug),
        )
    except InvalidInput as exc:
        errors = _filter_errors(exc)
    finally:
        place = await header
    filters = {k: v for k, v in given.items() if k != "cursor"}
    current = screen.view.name if screen else (view if view in VIEWS else DEFAULT_VIEW)
    view_links = {name: _link(slug, {"view": name} | filters) for name in VIEWS}
    next_link = (
        _link(slug, {"view": current} | filters | {"cursor": screen.next_cursor})
        if screen and screen.next_cursor
        else None
    )
    here = _link(slug, {"view": current} | given)
    executors = screen.executors if screen else []
    may = screen.may if screen else {}
    return private_page(
        request,
        "cabinet/inbox.html",
        200 if not errors else 422,
        workplace=place,
        slug=slug,
        screen=screen,
        errors=errors,
        views=VIEWS,
        current=current,
        view_links=view_links,
        next_link=next_link,
        here=here,
        here_query=here.partition("?")[2],
        first_link=_link(slug, {"view": current} | filters) if given.get("cursor") else None,
        values=raw,
        statuses=[(s.value, STAFF_STATUS[s]) for s in Status],
        sorts=SORTS,
        statuses_by=STAFF_STATUS,
        assignee_choices=[("none", "Не назначен"), ("me", "Я")]
        + [(str(p.id), p.name) for p in executors],
        executor_choices=[(p.email, p.name) for p in executors],
        bulk_choices=[(a, label) for a, label in BULK_ACTIONS.items() if may.get(a)],
        **_bulk_report(request),
    )


def _filter_errors(exc: InvalidInput) -> FormErrors:
    problems = []
    for error in exc.errors:
        name = error.field.split("[", 1)[0]
        words = problem_wording(error)
        if not _CYRILLIC.search(words):
            words = FILTER_PROBLEMS.get(name, UNKNOWN_PARAMETER)
        problems.append(FormProblem(name, FILTER_LABELS.get(name, name), words))
    return FormErrors(tuple(problems))


_CYRILLIC = re.compile("[а-яё]", re.IGNORECASE)


def _bulk_report(request: Request) -> dict[str, Any]:
    """What the bulk form's last post came to (kept in the session for this one view)."""
    found = request.session.pop("bulk", None)
    if not isinstance(found, dict):
        return {"bulk_outcomes": [], "bulk_errors": None}
    if "errors" in found:
        problems = [FieldError(field, message) for field, message in found["errors"]]
        return {"bulk_outcomes": [], "bulk_errors": FormErrors.of(problems, BULK_LABELS)}
    outcomes = [
        BulkLine(number, code == "done", reason_words(code, status, detail))
        for number, code, status, detail in found.get("outcomes", [])
    ]
    return {
        "bulk_outcomes": outcomes,
        "bulk_errors": None,
        "bulk_title": BULK_ACTIONS.get(found.get("action", ""), "Действие"),
        "bulk_done": sum(1 for o in outcomes if o.done),
    }


@dataclass(frozen=True)
class BulkLine:
    number: str | None
    done: bool
    words: str


routes = [Route("/cabinet/{slug}", inbox_page, methods=["GET"])]
