"""The citizen's pages, plain forms that need no script.

* ``/write``: where (a territory found by name), what (a topic valid there), then the message
  with its extra questions, files and consent; it lands on the status page.
* ``/track/{number}?token=``, the link in every receipt and notice: each stage with the
  official in charge, the answer and its files; it takes the clarification the moderator asked
  for and the rating of the answer."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from typing import Any
from urllib.parse import urlencode

from pydantic import ValidationError
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from cabinets.attachments.uploads import form_allowance, receive_form_files
from cabinets.messages import tracking
from cabinets.messages.citizen import clarify_message, rate_answer
from cabinets.messages.intake import IntakeLimits, submit_message
from cabinets.messages.schemas import (
    ClarifyInput,
    MessageSubmission,
    RatingInput,
    typed_answers,
)
from cabinets.messages.wording import FIELD_LABELS, flood_text, problem_text, rejection_text
from cabinets.portal import personal_data
from cabinets.portal.header import citizen_header
from cabinets.responsible import ResponsibleTenant, responsible_tenant
from cabinets.web.rendering import PRIVATE, render_page, templates
from rbac.access import Principal, public
from storage.errors import AttachmentRejected
from storage.validation import MiB
from tenancy.catalog import service as catalog
from tenancy.database import Database
from tenancy.errors import Conflict, Gone, InvalidInput, NotFound, TooManyRequests
from tenancy.routing.resolver import RoutingIndex
from tenancy.settings import Settings
from tenancy.territories import service as territories

MAX_FORM_FILES = 20
WIDGET_LABEL = "Сообщить о проблеме"
# An organization's form searches among everything and keeps what lies where it answers.
SEARCH_WIDELY, SEARCH_SHOWN = 200, 20
_JAVASCRIPT = "text/javascript; charset=utf-8"


def _db(request: Request) -> Database:
    db: Database = request.app.state.database
    return db


async def status_response(
    request: Request,
    token: str,
    status: int = 200,
    *,
    owner: uuid.UUID | None = None,
    **context: Any,
) -> Response:
    """The status page of the message the path names, for the holder of its token or for the
    signed-in citizen whose message it is (``owner``: the page of their cabinet)."""
    number = request.path_params["number"]
    try:
        found = await tracking.timeline(_db(request), number, token, citizen_id=owner)
    except Gone as destroyed:
        response = render_page(
            request,
            "notice.html",
            410,
            title="Обращение уничтожено",
            text=f"Обращение № {number} уничтожено {destroyed.on:%d.%m.%Y} по истечении срока "
            "хранения, по акту об уничтожении.",
            link="/",
            link_text="На главную",
        )
        response.headers.update(PRIVATE)
        return response
    except NotFound:
        response = render_page(
            request,
            "notice.html",
            404,
            title="Обращение не найдено",
            text="Проверьте номер и ссылку из уведомления: они должны совпадать.",
            link="/",
            link_text="На главную",
            view_back="/",
        )
        response.headers.update(PRIVATE)
        return response
    if owner is not None:
        context["workplace"] = citizen_header(request)
    response = render_page(
        request,
        "track.html",
        status,
        timeline=found,
        token=token,
        own=owner is not None,
        notice=request.query_params.get("notice"),
        **context,
    )
    response.headers.update(PRIVATE)
    return response


def _back(number: str, token: str, notice: str, owner: uuid.UUID | None) -> Response:
    if owner is not None:
        return RedirectResponse(
            f"/my/messages/{number}?{urlencode({'notice': notice})}", status_code=303
        )
    query = urlencode({"token": token, "notice": notice})
    return RedirectResponse(f"/track/{number}?{query}", status_code=303)


@public
async def status_page(request: Request) -> Response:
    return await status_response(request, request.query_params.get("token", ""))


async def clarification(request: Request, owner: uuid.UUID | None = None) -> Response:
    """Take the clarification asked for (by the token, or from the owner's cabinet)."""
    async with request.form() as form:
        token, text = str(form.get("token") or ""), str(form.get("text") or "").strip()
    number = request.path_params["number"]
    if not text:
        return await status_response(request, token, 422, owner=owner, error="Напишите уточнение")
    try:
        answer = ClarifyInput.model_validate({"token": token, "text": text})
        await clarify_message(_db(request), number, answer.token, answer.text, citizen_id=owner)
    except ValidationError:
        return await status_response(
            request, token, 422, owner=owner, error="Уточнение слишком длинное", text=text
        )
    except (InvalidInput, Conflict) as exc:
        return await status_response(
            request, token, 409, owner=owner, error=_reason(exc), text=text
        )
    return _back(number, token, "Уточнение отправлено: обращение снова на рассмотрении", owner)


async def rating(request: Request, owner: uuid.UUID | None = None) -> Response:
    """Take the rating of the answer (by the token, or from the owner's cabinet)."""
    async with request.form() as form:
        token, given_rating = str(form.get("token") or ""), str(form.get("rating") or "")
        comment = str(form.get("comment") or "").strip() or None
    number = request.path_params["number"]
    try:
        given = RatingInput.model_validate(
            {"token": token, "rating": given_rating, "comment": comment}
        )
    except ValidationError:
        return await status_response(
            request,
            token,
            422,
            owner=owner,
            error="Выберите оценку от 1 до 5 (комментарий до 2000 знаков)",
        )
    try:
        await rate_answer(
            _db(request), number, given.token, given.rating, given.comment, citizen_id=owner
        )
    except (InvalidInput, Conflict) as exc:
        return await status_response(request, token, 409, owner=owner, error=_reason(exc))
    return _back(number, token, "Спасибо: оценка сохранена", owner)


@public
async def clarify_form(request: Request) -> Response:
    return await clarification(request)


@public
async def rate_form(request: Request) -> Response:
    return await rating(request)


def _reason(exc: InvalidInput | Conflict) -> str:
    if isinstance(exc, InvalidInput):
        return "; ".join(problem_text(e) for e in exc.errors)
    # The form was offered for a state the message has since left.
    return "Обращение уже в другом состоянии: обновите страницу"


# --- writing a message ---------------------------------------------------------------------

FILE_FIELD = "files"


def _place(request: Request) -> tuple[str, str]:
    return request.query_params.get("territory", ""), request.query_params.get("topic", "")


def _today() -> date:
    return datetime.now(UTC).date()


async def _addressee(request: Request, routes: RoutingIndex, slug: str) -> ResponsibleTenant | None:
    """The organization a form or widget is for, when it exists and takes messages."""
    if routes.tenant_status.get(slug) != "active":
        return None
    return await responsible_tenant(_db(request), routes, slug)


async def _write_page(request: Request, status: int = 200, **context: Any) -> Response:
    """The step the query is at: find the territory, choose the topic, or fill in the form.
    With ``to`` (an organization's own form, as its widget opens it) the places are where it
    answers and the topics those it answers there."""
    db = _db(request)
    territory, topic_code = _place(request)
    query = request.query_params.get("q", "")
    to = request.query_params.get("to", "")
    routes = await request.app.state.routing.index()
    addressee = await _addressee(request, routes, to) if to else None
    if to and addressee is None:
        return render_page(
            request,
            "notice.html",
            404,
            title="Организация не найдена",
            text="Эта организация не принимает обращения здесь: найдите место проблемы сами.",
            link="/write",
            link_text="Написать обращение",
        )
    if addressee is not None:
        answered = routes.places_of(addressee.slug, _today())
        # A place with villages inside is searched in, so the message names its village.
        searchable = any(routes.has_children(place) for place in answered)
        context["several_places"] = len(answered) > 1 or searchable
        if not territory and not query and len(answered) == 1 and not searchable:
            territory = answered[0]
        if not territory:
            found = (
                [
                    t
                    for t in await territories.find_territories(db, query, limit=SEARCH_WIDELY)
                    if routes.within(t["code"], answered)
                ][:SEARCH_SHOWN]
                if query
                else await territories.named_territories(db, answered)
            )
            return render_page(
                request,
                "write.html",
                status,
                step="where",
                q=query,
                found=found,
                addressee=addressee,
                searchable=searchable,
                **context,
            )
    if not territory:
        found = await territories.find_territories(db, query) if query else []
        return render_page(
            request, "write.html", status, step="where", q=query, found=found, **context
        )
    places = await territories.find_territories(db, territory, limit=1)
    if not places or places[0]["code"] != territory:
        return render_page(
            request,
            "write.html",
            404,
            step="where",
            q=query,
            found=[],
            error="Такой территории нет: найдите её по названию",
        )
    topics = await catalog.list_topics(db, territory=territory)
    if addressee is not None:
        today = _today()
        topics = [t for t in topics if routes.resolve(t["code"], territory, today) == to]
    chosen = next((t for t in topics if t["code"] == topic_code), None)
    if chosen is None:
        return render_page(
            request,
            "write.html",
            status,
            step="what",
            place=places[0],
            topics=topics,
            addressee=addressee,
            **context,
        )
    values = context.pop("values", None)
    if values is None:
        values = await _prefilled(request)
    return render_page(
        request,
        "write.html",
        status,
        step="message",
        place=places[0],
        topic=chosen,
        addressee=addressee,
        values=values,
        **context,
    )


async def _prefilled(request: Request) -> dict[str, str]:
    """A signed-in citizen's name and contacts, as their profile keeps them."""
    principal = request.scope.get("user")
    if not isinstance(principal, Principal) or principal.user_id is None:
        return {}
    try:
        return (await personal_data.profile_of(_db(request), principal.user_id)).form_values()
    except NotFound:
        return {}


@public
async def write_page(request: Request) -> Response:
    return await _write_page(request)


def _fields(form: FormData, topic: dict[str, Any]) -> dict[str, Any]:
    questions = topic["fields"]
    given = {q["code"]: [str(v) for v in form.getlist(f"field.{q['code']}")] for q in questions}
    return typed_answers(questions, given)


def _coordinate(form: FormData, name: str) -> str | None:
    """The phone's position the form's script put in (when the person allowed it)."""
    return str(form.get(name) or "").strip() or None


def _submission(form: FormData, territory: str, topic: dict[str, Any]) -> dict[str, Any]:
    def given(name: str) -> str | None:
        return str(form.get(name) or "").strip() or None

    organization = given("organization")
    applicant = {
        "kind": "legal" if organization else "individual",
        "name": given("name"),
        "email": given("email"),
        "phone": given("phone"),
        "organization": organization,
        "inn": given("inn"),
    }
    latitude, longitude = _coordinate(form, "latitude"), _coordinate(form, "longitude")
    return {
        "topic": topic["code"],
        "territory": territory,
        "address": given("address"),
        **({"latitude": latitude, "longitude": longitude} if latitude or longitude else {}),
        "summary": given("summary") or "",
        "text": given("text") or "",
        "consent": form.get("consent") == "yes",
        "applicant": {k: v for k, v in applicant.items() if v is not None}
        if applicant["name"] or applicant["email"] or applicant["phone"]
        else None,
        "fields": _fields(form, topic),
    }


@public
async def write_message(request: Request) -> Response:
    db = _db(request)
    settings: Settings = request.app.state.settings
    routes = await request.app.state.routing.index()
    territory, topic_code = _place(request)
    topics = await catalog.list_topics(db, territory=territory) if territory else []
    topic = next((t for t in topics if t["code"] == topic_code), None)
    if topic is None:
        return await _write_page(request, 422, error="Выберите территорию и тему заново")
    allowance = await form_allowance(db, routes, topic_code, territory)
    declared = request.headers.get("content-length")
    if declared is None or not declared.isdigit() or int(declared) > allowance:
        return await _write_page(
            request, 413, error=f"Файлы слишком велики: вместе не больше {allowance // MiB} МБ"
        )
    principal = request.scope.get("user")
    citizen_id = principal.user_id if isinstance(principal, Principal) else None
    async with request.form(max_files=MAX_FORM_FILES, max_fields=200) as form:
        values = {k: v for k, v in form.multi_items() if isinstance(v, str)}
        try:
            attachments = await receive_form_files(
                db,
                request.app.state.store,
                routes,
                form.getlist(FILE_FIELD),
                topic=topic_code,
                territory=territory,
                scanner=request.app.state.scanner,
            )
            try:
                submission = MessageSubmission.model_validate(
                    _submission(form, territory, topic) | {"attachments": attachments}
                )
            except ValidationError as exc:
                raise InvalidInput.from_validation(exc) from None
            receipt = await submit_message(
                db,
                routes,
                submission,
                citizen_id=citizen_id,
                idempotency_key=None,
                base_url=settings.base_url,
                ip=request.client.host if request.client else None,
                limits=IntakeLimits.configured(settings),
            )
        except InvalidInput as exc:
            labels = FIELD_LABELS | {f"fields.{q['code']}": q["title"] for q in topic["fields"]}
            problems = [problem_text(e, labels) for e in exc.errors]
            return await _write_page(request, 422, problems=problems, values=values)
        except AttachmentRejected as exc:
            return await _write_page(request, 422, problems=[rejection_text(exc)], values=values)
        except TooManyRequests as exc:
            return await _write_page(request, 429, error=flood_text(exc), values=values)
    return _back(
        receipt.number, receipt.token, "Обращение отправлено: сохраните эту страницу", None
    )


@public
async def widget_script(request: Request) -> Response:
    """An organization's «Сообщить о проблеме» button for its own site: this script puts a
    link to the organization's form where its tag stands. The form opens in a tab of its own,
    first-party, so its cookies and CSRF token work as on our site, with no frame to allow."""
    slug = request.path_params["slug"]
    addressee = await _addressee(request, await request.app.state.routing.index(), slug)
    if addressee is None:
        return Response(
            "/* no such organization takes messages here */", 404, media_type=_JAVASCRIPT
        )
    settings: Settings = request.app.state.settings
    script = templates.get_template("widget.js").render(
        form_url=f"{settings.base_url}/write?{urlencode({'to': addressee.slug})}",
        label=WIDGET_LABEL,
    )
    return Response(script, media_type=_JAVASCRIPT, headers={"Cache-Control": "max-age=3600"})


routes = [
    Route("/widget/{slug}.js", widget_script, methods=["GET"]),
    Route("/write", write_page, methods=["GET"]),
    Route("/write", write_message, methods=["POST"]),
    Route("/track/{number}", status_page, methods=["GET"]),
    Route("/track/{number}/clarification", clarify_form, methods=["POST"]),
    Route("/track/{number}/rating", rate_form, methods=["POST"]),
]
