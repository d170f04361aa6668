"""The organization's integrations (``tenant:settings``): webhook subscriptions (the signing
secret shown once, a test event sent through the outbox, the delivery log with retry of dead
deliveries) and API tokens (issued with a role until a day, the token shown once, revoked).

A page that shows a secret answers the POST itself (never kept: ``no-store``) instead of
redirecting, so the secret is in no URL, session or log."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from cabinets.administration.acting import actor, database, first, form_fields
from cabinets.administration.wording import role_words
from cabinets.notifications import integrations
from cabinets.notifications.outbox import ANY_EVENT, EVENT_KINDS
from cabinets.web.forms import FormErrors
from cabinets.web.guards import page_requires
from cabinets.web.rendering import private_page
from cabinets.web.workplace import workplace
from tenancy.errors import FieldError, InvalidInput
from tenancy.settings import Settings
from tenancy.staff import organization, organization_tokens
from tenancy.tenants import service as tenants

EVENT_WORDS = {
    ANY_EVENT: "Все события",
    "message.submit": "Поступило обращение",
    "message.accept": "Обращение принято",
    "message.reject": "Обращение отклонено",
    "message.request_clarification": "Запрошено уточнение",
    "message.clarify": "Заявитель уточнил",
    "message.expire_clarification": "Уточнение не получено в срок",
    "message.assign": "Назначен исполнитель",
    "message.forward": "Направлено по компетенции",
    "message.extend": "Срок продлён",
    "message.change_topic": "Изменена тема",
    "message.merge": "Объединено с другим",
    "message.answer_with_primary": "Отвечено вместе с основным",
    "message.approve_answer": "Ответ утверждён и опубликован",
    "message.rate": "Заявитель оценил ответ",
    "message.close_unrated": "Закрыто без оценки",
    "message.reopen": "Возобновлено",
    "message.overdue": "Срок рассмотрения истёк",
    integrations.TEST_EVENT: "Проверка доставки",
}
assert set(EVENT_KINDS) <= set(EVENT_WORDS), "every event kind is worded"
# Offered in the order a message lives through them (the words above follow it).
EVENT_ORDER = [k for k in EVENT_WORDS if k in EVENT_KINDS]
STATE_WORDS = {"delivered": "доставлено", "pending": "ждёт отправки", "dead": "не доставлено"}
LABELS = {
    "url": "Адрес получателя",
    "events": "События",
    "name": "Название",
    "role": "Роль",
    "until": "Действует до",
}
_RUSSIAN_BY_CODE = {
    "private_address": "это локальный или внутренний адрес: укажите адрес сервера в интернете",
    "required": "укажите, что будет пользоваться токеном",
    "role": "такой роли в организации нет: выберите из списка",
    "date": "укажите день, до которого токен действует",
    "past": "этот день уже прошёл: выберите сегодняшний или более поздний",
    "too_far": "не дальше чем на пять лет вперёд",
}
_RUSSIAN_BY_FIELD = {
    "url": "укажите адрес, начинающийся с http:// или https://, без логина и пароля",
    "events": "отметьте хотя бы одно событие",
    "tenant": "организация приостановлена: новые подписки и токены не создаются",
}
NOTICES = {
    "tested": "Проверочное событие поставлено в очередь: доставка появится в журнале ниже.",
    "removed": "Подписка удалена.",
    "retried": "Доставка будет повторена в ближайшую минуту.",
    "revoked": "Токен отозван: он больше не действует.",
}
DEFAULT_TOKEN_DAYS = 90


def _errors(exc: InvalidInput) -> FormErrors:
    worded = [
        FieldError(
            e.field, _RUSSIAN_BY_CODE.get(e.code or "") or _RUSSIAN_BY_FIELD.get(e.field, e.message)
        )
        for e in exc.errors
    ]
    return FormErrors.of(worded, LABELS)


def _path(request: Request) -> str:
    return f"/cabinet/{request.path_params['slug']}/integrations"


async def _page(
    request: Request,
    status: int = 200,
    *,
    webhook_errors: FormErrors | None = None,
    token_errors: FormErrors | None = None,
    **shown: Any,
) -> Response:
    slug = request.path_params["slug"]
    db = database(request)
    roles = await organization.grantable_roles(db, slug)
    timezone = (await tenants.get_tenant(db, slug)).timezone
    default_until = (datetime.now(UTC) + timedelta(days=DEFAULT_TOKEN_DAYS)).date().isoformat()
    return private_page(
        request,
        "administration/integrations.html",
        status,
        workplace=await workplace(request, slug),
        slug=slug,
        subscriptions=await integrations.subscriptions(db, slug),
        deliveries=await integrations.delivery_log(db, slug),
        tokens=await organization_tokens.tokens(db, slug),
        roles=[(r.name, role_words(r.name)) for r in roles],
        role_words=role_words,
        events=[(k, EVENT_WORDS[k]) for k in (ANY_EVENT, *EVENT_ORDER)],
        event_words=EVENT_WORDS,
        state_of=integrations.state_of,
        state_words=STATE_WORDS,
        webhook_errors=webhook_errors,
        token_errors=token_errors,
        webhook_form=shown.pop("webhook_form", {}),
        token_form=shown.pop("token_form", {}),
        default_until=default_until,
        now=datetime.now(UTC),
        last_day=lambda moment: organization_tokens.last_day(moment, timezone),
        timezone=timezone,
        notice=NOTICES.get(request.query_params.get("notice", "")),
        **shown,
    )


@page_requires("tenant:settings")
async def integrations_page(request: Request) -> Response:
    return await _page(request)


@page_requires("tenant:settings")
async def subscribe(request: Request) -> Response:
    fields = await form_fields(request)
    settings: Settings = request.app.state.settings
    url, events = first(fields, "url"), fields.get("events", [])
    try:
        created = await integrations.subscribe(
            database(request),
            request.path_params["slug"],
            url,
            events,
            allow_private=settings.webhook_private_addresses,
            actor=actor(request),
        )
    except InvalidInput as exc:
        form = {"url": url, "events": events}
        return await _page(request, 422, webhook_errors=_errors(exc), webhook_form=form)
    return await _page(request, 201, created_subscription=created, created_url=url.strip())


@page_requires("tenant:settings")
async def send_test(request: Request) -> Response:
    await integrations.send_test(
        database(request),
        request.path_params["slug"],
        request.path_params["id"],
        actor=actor(request),
    )
    return RedirectResponse(f"{_path(request)}?notice=tested#deliveries", status_code=303)


@page_requires("tenant:settings")
async def remove(request: Request) -> Response:
    await integrations.remove(
        database(request),
        request.path_params["slug"],
        request.path_params["id"],
        actor=actor(request),
    )
    return RedirectResponse(f"{_path(request)}?notice=removed", status_code=303)


@page_requires("tenant:settings")
async def retry(request: Request) -> Response:
    try:
        await integrations.retry(
            database(request),
            request.path_params["slug"],
            request.path_params["id"],
            actor=actor(request),
        )
    except InvalidInput:
        # Already pending again or delivered meanwhile (another tab, the worker): the log says.
        return RedirectResponse(f"{_path(request)}#deliveries", status_code=303)
    return RedirectResponse(f"{_path(request)}?notice=retried#deliveries", status_code=303)


@page_requires("tenant:settings")
async def issue_token(request: Request) -> Response:
    fields = await form_fields(request)
    form = {k: first(fields, k) for k in ("name", "role", "until")}
    try:
        created = await organization_tokens.issue(
            database(request),
            request.path_params["slug"],
            form["name"],
            form["role"],
            form["until"],
            actor=actor(request),
        )
    except InvalidInput as exc:
        return await _page(request, 422, token_errors=_errors(exc), token_form=form)
    return await _page(request, 201, created_token=created)


@page_requires("tenant:settings")
async def revoke_token(request: Request) -> Response:
    await organization_tokens.revoke(
        database(request),
        request.path_params["slug"],
        request.path_params["id"],
        actor=actor(request),
    )
    return RedirectResponse(f"{_path(request)}?notice=revoked#tokens", status_code=303)


_BASE = "/cabinet/{slug}/integrations"
routes: list[BaseRoute] = [
    Route(_BASE, integrations_page, methods=["GET"]),
    Route(_BASE + "/webhooks", subscribe, methods=["POST"]),
    Route(_BASE + "/webhooks/{id}/test", send_test, methods=["POST"]),
    Route(_BASE + "/webhooks/{id}/remove", remove, methods=["POST"]),
    Route(_BASE + "/deliveries/{id}/retry", retry, methods=["POST"]),
    Route(_BASE + "/tokens", issue_token, methods=["POST"]),
    Route(_BASE + "/tokens/{id}/revoke", revoke_token, methods=["POST"]),
]
