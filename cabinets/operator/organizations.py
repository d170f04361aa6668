"""Organizations, for platform admins: the tenant tree with each one's status and counts, a
tenant's page with its history (and the manifest each change came from), and suspend,
resume, archive or restore with a reason. Provisioning itself stays declarative in the
command line."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from cabinets.operator.desk import actor, back, database, operator_page, routing_changed
from cabinets.operator.wording import STATUS_WORDS
from cabinets.web.forms import FormErrors
from cabinets.web.guards import page_requires
from tenancy.errors import Conflict, InvalidInput
from tenancy.tenants import service as tenants
from tenancy.tenants.counts import tenant_counts
from tenancy.tenants.service import Lifecycle

ACTIONS = {
    Lifecycle.SUSPEND: "Приостановить",
    Lifecycle.RESUME: "Возобновить",
    Lifecycle.ARCHIVE: "Отправить в архив",
    Lifecycle.RESTORE: "Вернуть из архива",
}
# What each status allows (the service refuses the rest with a reason).
AVAILABLE = {
    "active": [Lifecycle.SUSPEND, Lifecycle.ARCHIVE],
    "suspended": [Lifecycle.RESUME, Lifecycle.ARCHIVE],
    "archived": [Lifecycle.RESTORE],
}
DONE = {
    Lifecycle.SUSPEND: "приостановлена",
    Lifecycle.RESUME: "снова работает",
    Lifecycle.ARCHIVE: "в архиве",
    Lifecycle.RESTORE: "возвращена из архива",
}
LABELS = {"reason": "Причина", "action": "Действие"}
# A tenant's history in words; an action not listed here shows as recorded.
HISTORY_WORDS = {
    "tenant.created": "создана",
    "tenant.updated": "изменена",
    "tenant.moved": "перемещена",
    "tenant.suspended": "приостановлена",
    "tenant.active": "снова работает",
    "tenant.archived": "отправлена в архив",
    "grant.added": "выдана роль",
    "grant.removed": "снята роль",
    "token.created": "выпущен токен API",
    "token.revoked": "отозван токен API",
    "role.created": "создана роль",
    "webhook.subscribed": "подключён вебхук",
    "webhook.removed": "отключён вебхук",
}


@page_requires("tenant:provision", tenant_param=None)
async def organizations_page(request: Request) -> Response:
    db = database(request)
    return await operator_page(
        request,
        "organizations.html",
        tree=await tenants.tenant_tree(db),
        counts=await tenant_counts(db),
        status_words=STATUS_WORDS,
    )


async def _tenant_page(
    request: Request, status: int = 200, errors: FormErrors | None = None, **context: object
) -> Response:
    db, slug = database(request), request.path_params["slug"]
    tenant = await tenants.get_tenant(db, slug)
    return await operator_page(
        request,
        "organization.html",
        status,
        tenant=tenant,
        tree=await tenants.tenant_tree(db, slug),
        history=await tenants.tenant_history(db, slug),
        counts=(await tenant_counts(db)).get(slug),
        status_words=STATUS_WORDS,
        words=HISTORY_WORDS,
        actions=[(a.value, ACTIONS[a]) for a in AVAILABLE[tenant.status.value]],
        errors=errors or FormErrors(),
        **context,
    )


@page_requires("tenant:provision", tenant_param=None)
async def organization_page(request: Request) -> Response:
    return await _tenant_page(request)


@page_requires("tenant:provision", tenant_param=None)
async def change_status(request: Request) -> Response:
    slug = request.path_params["slug"]
    async with request.form() as form:
        given, reason = str(form.get("action") or ""), str(form.get("reason") or "").strip()
    if given not in Lifecycle.__members__.values():
        errors = FormErrors.one("action", LABELS["action"], "выберите действие")
        return await _tenant_page(request, 422, errors, reason=reason)
    action = Lifecycle(given)
    if not reason:
        errors = FormErrors.one(
            "reason", LABELS["reason"], "напишите, почему: причина останется в истории"
        )
        return await _tenant_page(request, 422, errors, reason=reason, chosen=given)
    try:
        _, changed = await tenants.change_status(
            database(request), slug, action, reason=reason, actor=actor(request), source="web"
        )
    except InvalidInput as exc:
        return await _tenant_page(request, 422, FormErrors.of(exc.errors, LABELS), reason=reason)
    except Conflict as exc:
        return await _tenant_page(
            request, 409, reason=reason, chosen=given, error=_conflict_words(str(exc))
        )
    routing_changed(request)  # a suspended or archived organization drops out of routing
    notice = f"Организация {DONE[action]}" if changed else "Ничего не изменилось: уже так"
    return back(f"/operator/organizations/{slug}", notice)


def _conflict_words(message: str) -> str:
    if "children" in message:
        return f"Сначала отправьте в архив подчинённые организации ({message.rsplit(': ', 1)[-1]})"
    if "parent" in message:
        return "Сначала верните из архива вышестоящую организацию"
    return "Это действие сейчас не применяется к организации в её состоянии"


routes = [
    Route("/operator/organizations", organizations_page, methods=["GET"]),
    Route("/operator/organizations/{slug}", organization_page, methods=["GET"]),
    Route("/operator/organizations/{slug}/status", change_status, methods=["POST"]),
]
