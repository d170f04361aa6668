"""The card's forms: one route per staff action of the workflow table,
``/cabinet/{slug}/messages/{id}/{action}`` with the API's action names, each guarded by that
action's permission, each one call of ``perform`` and then back to the card
(POST-redirect-GET), or on to the next message of the inbox view the card was opened from.

A form that comes back is the card again, filled in as it was sent: with each problem at its
field, or, when someone acted first, with who changed the message and when. Answer files are
uploaded from the answer's form (multipart)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any
from urllib.parse import parse_qsl

from pydantic import BaseModel, ValidationError
from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from cabinets.attachments.uploads import FORM_CHUNK
from cabinets.cabinet.card import (
    JOINED,
    Sent,
    card_response,
    card_url,
    form_errors,
    form_values,
    uuid_param,
)
from cabinets.cabinet.staff import database, staff_of
from cabinets.messages.actions.perform import perform
from cabinets.messages.actions.table import ACTIONS, Action
from cabinets.messages.files import add_answer_file
from cabinets.messages.inbox.queries import list_messages
from cabinets.messages.inbox.schemas import InboxQuery, read_query
from cabinets.messages.returns import return_comment
from cabinets.messages.views import VIEWS
from cabinets.messages.wording import rejection_text
from cabinets.web.forms import FormErrors
from cabinets.web.guards import page_requires
from storage.errors import AttachmentRejected
from tenancy.errors import Conflict, FieldError, InvalidInput

# Answer texts go as typed, even empty: an empty one is named at its field ("write it").
_KEEP_EMPTY = {("save_answer", "text"), ("submit_answer", "text")}
ANSWER_FILE_FIELD = "answer_files.file"


def _body(
    action: str, model: type[BaseModel], values: dict[str, str], lists: dict[str, list[str]]
) -> dict[str, Any]:
    """The action's input as its JSON body would carry it, from the card's form fields."""
    body: dict[str, Any] = {}
    prefix = JOINED.get(action, action)  # the form the action is sent from
    for name in model.model_fields:
        if name == "version":
            continue
        value = values.get(f"{prefix}.{name}", "").strip()
        if value or (action, name) in _KEEP_EMPTY:
            body[name] = value
    if action == "return_answer":
        body["comment"] = return_comment(
            lists.get("return_answer.reasons", []), values.get("return_answer.comment", "")
        )
    if action != "comment":
        # A comment changes no state, so a card open for a while may still add one.
        body["version"] = values.get("version", "")
    return body


async def _next_in_view(request: Request, view: str, current: uuid.UUID) -> uuid.UUID | None:
    """The message after ``current`` in the inbox view (its query string), or the view's
    first one when ``current`` has left it (an accepted message leaves "new")."""
    known = set(InboxQuery.model_fields) - {"cursor", "limit"}
    params: dict[str, Any] = {}
    named = None
    for name, value in parse_qsl(view):
        if name == "view":
            named = VIEWS.get(value)
        elif name in known and value:
            params.setdefault(name, []).append(value)
    query_params = {k: v if k == "status" else v[0] for k, v in params.items()}
    defaults = named.defaults if named is not None else {}
    try:
        query = read_query(defaults | query_params | {"limit": 100})
        page = await list_messages(
            database(request), staff_of(request), request.state.tenant_id, query
        )
    except (ValidationError, InvalidInput):
        return None
    ids = [item.id for item in page.items]
    if current in ids:
        after = ids[ids.index(current) + 1 :]
        return after[0] if after else None
    return ids[0] if ids else None


async def _onwards(request: Request, action: str, values: dict[str, str]) -> Response:
    slug = request.path_params["slug"]
    message_id = uuid_param(request, "message_id")
    view = values.get("view", "")
    if values.get("then") == "next" and view:
        following = await _next_in_view(request, view, message_id)
        if following is not None:
            return RedirectResponse(card_url(slug, following, view=view, done=action), 303)
    return RedirectResponse(card_url(slug, message_id, view=view, done=action), 303)


def _action_page(step: Action[Any]) -> Callable[[Request], Awaitable[Response]]:
    action, model = step.name, step.input

    async def act(request: Request) -> Response:
        async with request.form() as form:
            values, lists = form_values(form.multi_items())
        sent = Sent(JOINED.get(action, action), values, lists)
        try:
            body = model.model_validate(_body(action, model, values, lists))
        except ValidationError as exc:
            sent.errors = form_errors(
                JOINED.get(action, action), InvalidInput.from_validation(exc).errors
            )
            return await card_response(request, 422, sent)
        try:
            await perform(
                database(request),
                staff_of(request),
                request.state.tenant_id,
                uuid_param(request, "message_id"),
                action,
                body,
                store=request.app.state.store,
                routing=request.app.state.routing,
            )
        except InvalidInput as exc:
            sent.errors = form_errors(JOINED.get(action, action), exc.errors)
            return await card_response(request, 422, sent)
        except Conflict:
            # Someone acted first (or the step is no longer possible): the card as it is now.
            sent.stale = True
            return await card_response(request, 409, sent)
        return await _onwards(request, action, values)

    act.__name__ = f"card_{action}"
    return page_requires(step.permission, own=step.transition.own)(act)


@page_requires("answer:draft", own=True)
async def answer_file(request: Request) -> Response:
    """A document for the answer, one per form (multipart, the CSRF token in the query
    string): it is kept whole or not at all."""
    async with request.form(max_files=1) as form:
        values, lists = form_values(form.multi_items())
        sent = Sent("answer_files", values, lists)
        upload = form.get(ANSWER_FILE_FIELD)
        if not isinstance(upload, UploadFile) or not upload.filename:
            sent.errors = form_errors("answer_files", [FieldError("file", "", code="missing")])
            return await card_response(request, 422, sent)
        try:
            await add_answer_file(
                database(request),
                request.app.state.store,
                staff_of(request),
                request.state.tenant_id,
                uuid_param(request, "message_id"),
                _chunks(upload),
                filename=upload.filename,
                scanner=request.app.state.scanner,
            )
        except AttachmentRejected as exc:
            sent.errors = FormErrors.one(ANSWER_FILE_FIELD, "Файл к ответу", rejection_text(exc))
            return await card_response(request, 422, sent)
        except Conflict:
            sent.stale = True
            return await card_response(request, 409, sent)
    slug = request.path_params["slug"]
    message_id = uuid_param(request, "message_id")
    back = card_url(slug, message_id, view=values.get("view", ""), uploaded=upload.filename)
    return RedirectResponse(back, 303)


async def _chunks(upload: UploadFile) -> AsyncIterator[bytes]:
    while chunk := await upload.read(FORM_CHUNK):
        yield chunk


routes = [
    Route(
        "/cabinet/{slug}/messages/{message_id}/answer-files",
        answer_file,
        methods=["POST"],
        include_in_schema=False,
    ),
    *(
        Route(
            f"/cabinet/{{slug}}/messages/{{message_id}}/{step.path}",
            _action_page(step),
            methods=["POST"],
            include_in_schema=False,
        )
        for step in ACTIONS.values()
    ),
]
