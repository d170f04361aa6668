"""The organization's audit log (``tenant:settings``): who changed what and when, filtered by
person, kind of change and period (held in the URL, so a filter can be bookmarked), a page at
a time, and the same selection as CSV."""

from __future__ import annotations

import csv
import io
import json
from typing import Any
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from cabinets.administration.acting import database
from cabinets.administration.settings import LABELS as SETTING_LABELS
from cabinets.web.forms import FormErrors
from cabinets.web.guards import page_requires
from cabinets.web.rendering import PRIVATE, private_page
from cabinets.web.russian import ru_datetime
from cabinets.web.workplace import workplace
from tenancy.audit_trail import (
    KINDS,
    AuditFilter,
    AuditLine,
    audit_export,
    audit_page,
    parse_filter,
)
from tenancy.errors import FieldError, InvalidInput

KIND_WORDS = {
    "staff": "Сотрудники и роли",
    "integrations": "Интеграции",
    "settings": "Организация и настройки",
    "records": "Хранение и уничтожение",
    "routing": "Справочники и маршрутизация",
}
assert set(KIND_WORDS) == set(KINDS)
ACTION_WORDS = {
    "tenant.created": "Организация создана",
    "tenant.moved": "Организация перемещена",
    "tenant.suspended": "Работа приостановлена",
    "tenant.active": "Работа возобновлена",
    "tenant.archived": "Отправлена в архив",
    "tenant.retention_set": "Изменён срок хранения",
    "tenant.settings_changed": "Изменены настройки",
    "grant.added": "Выдана роль",
    "grant.removed": "Отозвана роль",
    "role.created": "Создана роль",
    "role.changed": "Изменена роль",
    "user.deactivated": "Сотрудник отключён",
    "user.activated": "Сотрудник снова работает",
    "token.created": "Выпущен токен API",
    "token.revoked": "Отозван токен API",
    "webhook.subscribed": "Подключён вебхук",
    "webhook.removed": "Отключён вебхук",
    "webhook.tested": "Отправлена проверка вебхука",
    "outbox.retried": "Повторена доставка",
    "records.destroyed": "Обращения уничтожены",
    "attachments.purged": "Удалены файлы",
}
FIELD_WORDS = SETTING_LABELS | {
    "email": "сотрудник",
    "role": "роль",
    "url": "адрес",
    "events": "события",
    "name": "название",
    "expires_at": "действует до",
    "status": "состояние",
    "reason": "причина",
    "permissions": "права",
    "description": "описание",
    "tenant": "организация",
}
LABELS = {"actor": "Кто", "kind": "Что", "since": "С", "until": "По", "after": "Страница"}
_RUSSIAN = {
    "date": "укажите дату",
    "order": "конец периода раньше начала",
    "kind": "выберите из списка",
    "cursor": "начните с первой страницы",
}


def _value(value: Any) -> str:
    if value is None or value == "":
        return "—"
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    if isinstance(value, dict):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


def change_lines(changes: dict[str, Any]) -> list[str]:
    """Each recorded change in words: «поле: было → стало», or «поле: значение»."""
    lines = []
    for name, value in changes.items():
        words = FIELD_WORDS.get(name, name)
        if isinstance(value, dict) and set(value) == {"before", "after"}:
            lines.append(f"{words}: {_value(value['before'])} → {_value(value['after'])}")
        else:
            lines.append(f"{words}: {_value(value)}")
    return lines


def _filter(request: Request) -> tuple[AuditFilter, FormErrors | None]:
    asked = request.query_params
    try:
        chosen = parse_filter(
            asked.get("actor", ""),
            asked.get("kind", ""),
            asked.get("since", ""),
            asked.get("until", ""),
        )
    except InvalidInput as exc:
        return AuditFilter(), _errors(exc)
    return chosen, None


def _errors(exc: InvalidInput) -> FormErrors:
    worded = [FieldError(e.field, _RUSSIAN.get(e.code or "", e.message)) for e in exc.errors]
    return FormErrors.of(worded, LABELS)


def _query(chosen: AuditFilter, **more: str) -> str:
    pairs = {
        "actor": chosen.actor or "",
        "kind": chosen.kind or "",
        "since": chosen.since.isoformat() if chosen.since else "",
        "until": chosen.until.isoformat() if chosen.until else "",
    } | more
    return urlencode({k: v for k, v in pairs.items() if v})


@page_requires("tenant:settings")
async def audit_log_page(request: Request) -> Response:
    slug = request.path_params["slug"]
    chosen, errors = _filter(request)
    after = request.query_params.get("after") if errors is None else None
    try:
        found = await audit_page(database(request), slug, chosen, after=after)
    except InvalidInput as exc:
        errors = _errors(exc)
        found = await audit_page(database(request), slug, chosen)
    return private_page(
        request,
        "administration/audit.html",
        422 if errors else 200,
        workplace=await workplace(request, slug),
        slug=slug,
        page=found,
        chosen=chosen,
        errors=errors,
        kinds=list(KIND_WORDS.items()),
        action_words=ACTION_WORDS,
        change_lines=change_lines,
        first_page=bool(after) and errors is None,
        next_query=_query(chosen, after=found.next_cursor) if found.next_cursor else None,
        csv_query=_query(chosen),
        asked=request.query_params,
    )


def _csv(lines: list[AuditLine], timezone: str) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["Когда", "Кто", "Действие", "Объект", "Изменения", "Код действия"])
    for line in lines:
        writer.writerow(
            [
                ru_datetime(line.occurred_at, timezone),
                line.actor_name,
                ACTION_WORDS.get(line.action, line.action),
                f"{line.object_type} {line.object_id}",
                "; ".join(change_lines(line.changes)),
                line.action,
            ]
        )
    return out.getvalue()


@page_requires("tenant:settings")
async def audit_log_csv(request: Request) -> Response:
    slug = request.path_params["slug"]
    chosen, errors = _filter(request)
    if errors:
        return Response("; ".join(p.text for p in errors.problems), 422, media_type="text/plain")
    found = await audit_export(database(request), slug, chosen)
    # With a byte-order mark, so that a spreadsheet opened by a double click reads Cyrillic.
    return Response(
        "\ufeff" + _csv(found.lines, found.timezone),
        media_type="text/csv; charset=utf-8",
        headers=PRIVATE | {"Content-Disposition": f'attachment; filename="audit-{slug}.csv"'},
    )


routes: list[BaseRoute] = [
    Route("/cabinet/{slug}/audit", audit_log_page, methods=["GET"]),
    Route("/cabinet/{slug}/audit.csv", audit_log_csv, methods=["GET"]),
]
