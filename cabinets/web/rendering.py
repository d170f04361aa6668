"""Rendering pages: one Jinja environment, the CSRF token every form carries, and the pages
that answer a refusal (not found, no access) in words a person reads."""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.templating import Jinja2Templates

from cabinets.web.russian import deadline_words, plural, ru_date, ru_datetime

templates = Jinja2Templates(directory=Path(__file__).parent.parent / "templates")
templates.env.filters["plural"] = plural
templates.env.filters["ru_date"] = ru_date
templates.env.filters["ru_datetime"] = ru_datetime
templates.env.filters["deadline_words"] = deadline_words

# Pages about one person's work or appeal: never kept by a browser's or a proxy's cache.
PRIVATE = {"Cache-Control": "no-store"}


def csrf_token(request: Request) -> str:
    """The session's CSRF token, created on first use (a form needs one before sign-in)."""
    token = request.session.get("csrf")
    if not isinstance(token, str):
        token = secrets.token_urlsafe(32)
        request.session["csrf"] = token
    return token


def render_page(request: Request, name: str, status: int = 200, **context: Any) -> Response:
    return templates.TemplateResponse(
        request, name, {"csrf_token": csrf_token(request), **context}, status_code=status
    )


def private_page(request: Request, name: str, status: int = 200, **context: Any) -> Response:
    """A page of someone's own work or appeal, never cached."""
    response = render_page(request, name, status, **context)
    response.headers.update(PRIVATE)
    return response


def refusal_page(request: Request, status: int, **context: Any) -> Response:
    """The one page for "not found" (a wrong id and another organization's id alike) and for
    "no access": the same words whatever the reason, so nothing is confirmed by them."""
    if status == 404:
        title = "Страница не найдена"
        text = "Проверьте адрес. Если вы перешли по ссылке, возможно, её уже нет."
    elif status == 403:
        title = "Нет доступа"
        text = "У вас нет прав на это действие здесь. Ничего не изменено."
    else:
        title = "Сервис временно недоступен"
        text = "Попробуйте обновить страницу через минуту."
    # The accessible-version switch leads back home, not to the refused address: the page is
    # then the same whatever was asked for.
    response = private_page(
        request,
        "notice.html",
        status,
        title=title,
        text=text,
        link="/",
        link_text="На главную",
        view_back="/",
        **context,
    )
    if status == 503:
        response.headers["Retry-After"] = "5"
    return response


def wants_page(request: Request) -> bool:
    """A browser navigating asks for HTML; API clients ask for JSON or anything."""
    return "text/html" in request.headers.get("accept", "")


def unstorable_page(request: Request, fields: list[str]) -> Response:
    """What the edge refuses before a page sees it (text that cannot be stored, such as a NUL
    character), told to a person. It is answered before the session is read, so it carries
    no form and no person's header."""
    named = ", ".join(f"«{field}»" for field in fields)
    text = (
        f"В поле {named} есть символы, которые нельзя сохранить (например, нулевой байт). "
        "Уберите их и отправьте снова. Ничего не сохранено."
    )
    response = templates.TemplateResponse(
        request,
        "notice.html",
        {
            "csrf_token": "",
            "title": "Недопустимые символы",
            "text": text,
            "link": "/",
            "link_text": "На главную",
        },
        status_code=422,
    )
    response.headers.update(PRIVATE)
    return response
