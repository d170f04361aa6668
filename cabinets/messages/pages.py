"""The citizen's status page: the link in every receipt and notice (``/track/{number}?token=``)
shows each stage with the official in charge, the answer and its files, and takes the
clarification the moderator asked for and the rating of the answer. Plain forms, no script."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from pydantic import ValidationError
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from cabinets.messages import service, tracking
from cabinets.messages.schemas import ClarifyInput, RatingInput
from cabinets.pages import render_page
from rbac.access import public
from tenancy.database import Database
from tenancy.errors import Conflict, InvalidInput, NotFound

# The page carries the token in its address: never cached, never sent on as a referrer.
PRIVATE = {"Cache-Control": "no-store"}


def _db(request: Request) -> Database:
    db: Database = request.app.state.database
    return db


async def _status_page(request: Request, token: str, status: int = 200, **context: Any) -> Response:
    number = request.path_params["number"]
    try:
        found = await tracking.timeline(_db(request), number, token)
    except NotFound:
        response = render_page(
            request, "notice.html", 404, title="Обращение не найдено",
            text="Проверьте номер и ссылку из уведомления: они должны совпадать.",
            link="/", link_text="На главную",
        )  # fmt: skip
        response.headers.update(PRIVATE)
        return response
    response = render_page(
        request, "track.html", status, timeline=found, token=token,
        notice=request.query_params.get("notice"), **context,
    )  # fmt: skip
    response.headers.update(PRIVATE)
    return response


def _back(number: str, token: str, notice: str) -> Response:
    query = urlencode({"token": token, "notice": notice})
    return RedirectResponse(f"/track/{number}?{query}", status_code=303)


@public
async def status_page(request: Request) -> Response:
    return await _status_page(request, request.query_params.get("token", ""))


@public
async def clarify_form(request: Request) -> Response:
    async with request.form() as form:
        token, text = str(form.get("token") or ""), str(form.get("text") or "").strip()
    number = request.path_params["number"]
    if not text:
        return await _status_page(request, token, 422, error="Напишите уточнение")
    try:
        answer = ClarifyInput.model_validate({"token": token, "text": text})
        await service.clarify_message(_db(request), number, answer.token, answer.text)
    except ValidationError:
        return await _status_page(request, token, 422, error="Уточнение слишком длинное", text=text)
    except (InvalidInput, Conflict) as exc:
        return await _status_page(request, token, 409, error=_reason(exc), text=text)
    return _back(number, token, "Уточнение отправлено: обращение снова на рассмотрении")


@public
async def rate_form(request: Request) -> Response:
    async with request.form() as form:
        token, rating = str(form.get("token") or ""), str(form.get("rating") or "")
        comment = str(form.get("comment") or "").strip() or None
    number = request.path_params["number"]
    try:
        given = RatingInput.model_validate({"token": token, "rating": rating, "comment": comment})
    except ValidationError:
        return await _status_page(
            request, token, 422, error="Выберите оценку от 1 до 5 (комментарий до 2000 знаков)"
        )
    try:
        await service.rate_answer(_db(request), number, given.token, given.rating, given.comment)
    except (InvalidInput, Conflict) as exc:
        return await _status_page(request, token, 409, error=_reason(exc))
    return _back(number, token, "Спасибо: оценка сохранена")


def _reason(exc: InvalidInput | Conflict) -> str:
    return exc.errors[0].message if isinstance(exc, InvalidInput) else str(exc)


routes = [
    Route("/track/{number}", status_page, methods=["GET"]),
    Route("/track/{number}/clarification", clarify_form, methods=["POST"]),
    Route("/track/{number}/rating", rate_form, methods=["POST"]),
]
