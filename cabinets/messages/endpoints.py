"""HTTP endpoints of messages: public intake and tracking, and the staff actions, one route
per action of the workflow table (each guarded by that action's permission)."""

from __future__ import annotations

import re
import uuid
from collections.abc import Awaitable, Callable
from datetime import date
from typing import Any

from pydantic import BaseModel, ValidationError
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from cabinets.messages import (
    actors,
    answer_templates,
    citizen,
    history,
    intake,
    reading,
    reports,
    tracking,
)
from cabinets.messages.actions.perform import perform
from cabinets.messages.actions.table import ACTIONS, Action
from cabinets.messages.schemas import (
    ClarifyInput,
    MessageSubmission,
    RatingInput,
)
from rbac.access import Principal, public, requires, signed_in
from tenancy.database import Database
from tenancy.errors import InvalidInput, NotFound
from tenancy.settings import Settings

_IDEMPOTENCY_KEY = re.compile(r"^[\x21-\x7e]{8,200}$")


async def _body(request: Request, model: type[BaseModel]) -> Any:
    try:
        payload = await request.json()
    except ValueError:
        raise InvalidInput.one("body", "send a JSON object") from None
    try:
        return model.model_validate(payload)
    except ValidationError as exc:
        raise InvalidInput.from_validation(exc) from None


def _db(request: Request) -> Database:
    db: Database = request.app.state.database
    return db


def _staff(request: Request) -> actors.Staff:
    return actors.Staff.of(request.user, request.app.state.policy.enforcer)


def _message_id(request: Request) -> uuid.UUID:
    try:
        return uuid.UUID(request.path_params["message_id"])
    except ValueError:
        raise NotFound("message", request.path_params["message_id"]) from None


@public
async def submit(request: Request) -> Response:
    """
    summary: Submit a message (one message, one problem).
    tags: [messages]
    parameters:
      - {name: Idempotency-Key, in: header, required: false, schema: {type: string},
         description: A retried submission with the same key returns the first receipt.}
    requestBody:
      content:
        application/json:
          schema: {$ref: '#/components/schemas/MessageSubmission'}
    responses:
      201:
        description: Received; the number and the secret token follow it.
        content:
          application/json:
            schema: {$ref: '#/components/schemas/Receipt'}
      422:
        description: Every problem, each naming its field.
      429:
        description: Too many messages from this address or applicant (Retry-After).
    """
    submission = await _body(request, MessageSubmission)
    key = request.headers.get("idempotency-key")
    if key is not None and not _IDEMPOTENCY_KEY.fullmatch(key):
        raise InvalidInput.one("Idempotency-Key", "8 to 200 visible ASCII characters")
    principal = request.scope.get("user")
    citizen_id = principal.user_id if isinstance(principal, Principal) else None
    settings: Settings = request.app.state.settings
    receipt = await intake.submit_message(
        _db(request),
        await request.app.state.routing.index(),
        submission,
        citizen_id=citizen_id,
        idempotency_key=key,
        base_url=settings.base_url,
        ip=request.client.host if request.client else None,
        limits=intake.IntakeLimits.configured(settings),
    )
    return JSONResponse(receipt.model_dump(mode="json"), status_code=201)


def _token(request: Request) -> str:
    token = request.headers.get("x-tracking-token") or request.query_params.get("token")
    if not token:
        raise InvalidInput.one("token", "the secret token from the receipt is required")
    return token


@public
async def track(request: Request) -> Response:
    """
    summary: The citizen's status page data - every stage, who was in charge, the answer.
    tags: [messages]
    parameters:
      - {name: number, in: path, required: true, schema: {type: string}}
      - {name: token, in: query, required: false, schema: {type: string},
         description: The secret token (or the X-Tracking-Token header).}
    responses:
      200:
        description: The timeline.
        content:
          application/json:
            schema: {$ref: '#/components/schemas/Timeline'}
      404:
        description: A wrong number or token (the same answer for both).
      410:
        description: The message was destroyed at the end of its retention period
          (`destroyed_on` says when).
    """
    found = await tracking.timeline(_db(request), request.path_params["number"], _token(request))
    return JSONResponse(found.model_dump(mode="json"))


@public
async def clarify(request: Request) -> Response:
    """
    summary: The citizen answers the moderator's question.
    tags: [messages]
    responses:
      204: {description: Received; the message is back in moderation.}
    """
    body: ClarifyInput = await _body(request, ClarifyInput)
    await citizen.clarify_message(
        _db(request), request.path_params["number"], body.token, body.text
    )
    return Response(status_code=204)


@public
async def rate(request: Request) -> Response:
    """
    summary: The citizen rates the answer (1 or 2 reopens the message).
    tags: [messages]
    responses:
      200: {description: The new status.}
    """
    body: RatingInput = await _body(request, RatingInput)
    status = await citizen.rate_answer(
        _db(request), request.path_params["number"], body.token, body.rating, body.comment
    )
    return JSONResponse({"status": status.value})


@signed_in
async def my_messages(request: Request) -> Response:
    """
    summary: A signed-in citizen's own messages, newest first.
    tags: [messages]
    security: [{cookie: []}]
    responses:
      200: {description: The messages with their current status.}
      422: {description: "An API token asked: this is for a person signed in."}
    """
    principal: Principal = request.user
    if principal.user_id is None:
        raise InvalidInput.one("authorization", "sign in as a person")
    found = await tracking.citizen_messages(_db(request), principal.user_id)
    return JSONResponse([{**m, "due_at": m["due_at"] and m["due_at"].isoformat()} for m in found])


@requires("message:read", own=True)
async def get_message(request: Request) -> Response:
    """
    summary: One message as staff see it.
    tags: [messages]
    security: [{bearer: []}, {cookie: []}]
    parameters:
      - {name: slug, in: path, required: true, schema: {type: string}}
      - {name: message_id, in: path, required: true, schema: {type: string, format: uuid}}
    responses:
      200:
        description: The message.
        content:
          application/json:
            schema: {$ref: '#/components/schemas/MessageRead'}
      404:
        description: No such message here (or not yours to see).
    """
    message = await reading.get_message(
        _db(request), _staff(request), request.state.tenant_id, _message_id(request)
    )
    return JSONResponse(message.model_dump(mode="json"))


@requires("message:read", own=True)
async def get_history(request: Request) -> Response:
    """
    summary: "A message's internal history: every event with who and when, comments, drafts,
      returned answers with the approver's comment; and its files."
    tags: [messages]
    security: [{bearer: []}, {cookie: []}]
    parameters:
      - {name: slug, in: path, required: true, schema: {type: string}}
      - {name: message_id, in: path, required: true, schema: {type: string, format: uuid}}
    responses:
      200:
        description: The message, its events oldest first, its files.
        content:
          application/json:
            schema: {$ref: '#/components/schemas/MessageHistory'}
      404:
        description: No such message here (or not yours to see).
    """
    found = await history.message_history(
        _db(request), _staff(request), request.state.tenant_id, _message_id(request)
    )
    return JSONResponse(found.model_dump(mode="json"))


@requires("report:read")
async def message_report(request: Request) -> Response:
    """
    summary: "Report: counts by status, answered on time, time to answer, rating, reopened."
    tags: [reports]
    security: [{bearer: []}, {cookie: []}]
    parameters:
      - {name: slug, in: path, required: true, schema: {type: string}}
      - {name: by, in: query, schema: {type: string, enum: [topic, territory, tenant]}}
      - {name: subtree, in: query, schema: {type: boolean},
         description: The tenant and every tenant below it (a supervisor's view).}
      - {name: from, in: query, schema: {type: string, format: date}}
      - {name: to, in: query, schema: {type: string, format: date}}
      - {name: format, in: query, schema: {type: string, enum: [json, csv]}}
    responses:
      200: {description: One row per group; text/csv with format=csv.}
    """
    params = request.query_params
    try:
        by = reports.Grouping(params.get("by", "topic"))
    except ValueError:
        raise InvalidInput.one("by", "one of topic, territory, tenant") from None
    dates: dict[str, date | None] = {}
    for name in ("from", "to"):
        try:
            dates[name] = date.fromisoformat(params[name]) if params.get(name) else None
        except ValueError:
            raise InvalidInput.one(name, "a date, YYYY-MM-DD") from None
    rows = await reports.message_report(
        _db(request),
        _staff(request),
        request.state.tenant_id,
        by=by,
        subtree=params.get("subtree") in ("true", "1", "yes"),
        received_from=dates["from"],
        received_to=dates["to"],
    )
    if params.get("format") == "csv":
        slug = request.path_params["slug"]
        return Response(
            reports.report_csv(rows, by),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="{slug}-messages-by-{by}.csv"'},
        )
    return JSONResponse([r.model_dump(mode="json") for r in rows])


@requires("message:read", own=True)
async def list_answer_templates(request: Request) -> Response:
    """
    summary: The organization's answer templates (with topic, those for it and for any).
    tags: [templates]
    security: [{bearer: []}, {cookie: []}]
    parameters:
      - {name: slug, in: path, required: true, schema: {type: string}}
      - {name: topic, in: query, schema: {type: string}}
    responses:
      200: {description: The templates.}
    """
    found = await answer_templates.list_templates(
        _db(request), request.state.tenant_id, topic=request.query_params.get("topic")
    )
    return JSONResponse([t.model_dump(mode="json") for t in found])


@requires("template:edit")
async def create_answer_template(request: Request) -> Response:
    """
    summary: Add an answer template; placeholders such as {registration_number} are filled in.
    tags: [templates]
    security: [{bearer: []}, {cookie: []}]
    requestBody:
      content:
        application/json:
          schema: {$ref: '#/components/schemas/TemplateInput'}
    responses:
      201: {description: The template.}
      409: {description: A template with this title exists.}
      422: {description: 'A bad placeholder, named.'}
    """
    body = await _body(request, answer_templates.TemplateInput)
    principal: Principal = request.user
    saved = await answer_templates.save_template(
        _db(request), request.state.tenant_id, body, actor=principal.display_name
    )
    return JSONResponse(saved.model_dump(mode="json"), status_code=201)


def _template_id(request: Request) -> uuid.UUID:
    try:
        return uuid.UUID(request.path_params["template_id"])
    except ValueError:
        raise NotFound("template", request.path_params["template_id"]) from None


@requires("template:edit")
async def replace_answer_template(request: Request) -> Response:
    """
    summary: Replace an answer template.
    tags: [templates]
    security: [{bearer: []}, {cookie: []}]
    requestBody:
      content:
        application/json:
          schema: {$ref: '#/components/schemas/TemplateInput'}
    responses:
      200: {description: The template.}
    """
    body = await _body(request, answer_templates.TemplateInput)
    principal: Principal = request.user
    saved = await answer_templates.save_template(
        _db(request),
        request.state.tenant_id,
        body,
        template_id=_template_id(request),
        actor=principal.display_name,
    )
    return JSONResponse(saved.model_dump(mode="json"))


@requires("template:edit")
async def delete_answer_template(request: Request) -> Response:
    """
    summary: Delete an answer template.
    tags: [templates]
    security: [{bearer: []}, {cookie: []}]
    responses:
      204: {description: Deleted.}
    """
    await answer_templates.delete_template(
        _db(request), request.state.tenant_id, _template_id(request)
    )
    return Response(status_code=204)


def _action_endpoint(step: Action[Any]) -> Callable[[Request], Awaitable[Response]]:
    action, transition, model = step.name, step.transition, step.input

    async def act(request: Request) -> Response:
        message = await perform(
            _db(request),
            _staff(request),
            request.state.tenant_id,
            _message_id(request),
            action,
            await _body(request, model),
            store=request.app.state.store,
            routing=request.app.state.routing,
        )
        return JSONResponse(message.model_dump(mode="json"))

    act.__name__ = f"message_{action}"
    act.__doc__ = f"""
    summary: "{transition.title} ({action.replace("_", " ")})"
    tags: [workflow]
    security: [{{bearer: []}}, {{cookie: []}}]
    parameters:
      - {{name: slug, in: path, required: true, schema: {{type: string}}}}
      - {{name: message_id, in: path, required: true, schema: {{type: string, format: uuid}}}}
    requestBody:
      content:
        application/json:
          schema: {{$ref: '#/components/schemas/{model.__name__}'}}
    responses:
      200:
        description: The message after the step.
        content:
          application/json:
            schema: {{$ref: '#/components/schemas/MessageRead'}}
      403: {{description: The caller lacks {step.permission}.}}
      404:
        description: No such message here.
      409:
        description: The step is not possible now, or the version is stale; `current` holds
          the message as it is.
    """
    return requires(step.permission, own=transition.own)(act)


routes = [
    Route("/api/v1/messages", submit, methods=["POST"]),
    Route("/api/v1/tracking/{number}", track, methods=["GET"]),
    Route("/api/v1/tracking/{number}/clarification", clarify, methods=["POST"]),
    Route("/api/v1/tracking/{number}/rating", rate, methods=["POST"]),
    Route("/api/v1/my/messages", my_messages, methods=["GET"]),
    Route("/api/v1/tenants/{slug}/messages/{message_id}", get_message, methods=["GET"]),
    Route("/api/v1/tenants/{slug}/messages/{message_id}/history", get_history, methods=["GET"]),
    Route("/api/v1/tenants/{slug}/reports/messages", message_report, methods=["GET"]),
    Route("/api/v1/tenants/{slug}/answer-templates", list_answer_templates, methods=["GET"]),
    Route("/api/v1/tenants/{slug}/answer-templates", create_answer_template, methods=["POST"]),
    Route(
        "/api/v1/tenants/{slug}/answer-templates/{template_id}",
        replace_answer_template,
        methods=["PUT"],
    ),
    Route(
        "/api/v1/tenants/{slug}/answer-templates/{template_id}",
        delete_answer_template,
        methods=["DELETE"],
    ),
    *(
        Route(
            f"/api/v1/tenants/{{slug}}/messages/{{message_id}}/{step.path}",
            _action_endpoint(step),
            methods=["POST"],
        )
        for step in ACTIONS.values()
    ),
]
