"""The organization's cabinet settings (``tenant:settings``): the time zone and working
calendar its deadlines count in (with the days ahead that calendar makes unusual), the limits
on citizens' files, and the contact details citizens see on the status page. Each change goes
to the audit log with its value before and after."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from cabinets.administration.acting import actor, database, first, form_fields
from cabinets.web.forms import FormErrors
from cabinets.web.guards import page_requires
from cabinets.web.rendering import private_page
from cabinets.web.workplace import workplace
from cabinets.working_calendar import special_days
from tenancy.errors import FieldError, InvalidInput
from tenancy.tenants.cabinet_settings import NAMES, cabinet_settings, change_cabinet_settings

# Russia's time zones, west to east (another IANA zone an organization already has is kept).
TIMEZONES = {
    "Europe/Kaliningrad": "Калининград (МСК−1)",
    "Europe/Moscow": "Москва (МСК)",
    "Europe/Samara": "Самара (МСК+1)",
    "Asia/Yekaterinburg": "Екатеринбург (МСК+2)",
    "Asia/Omsk": "Омск (МСК+3)",
    "Asia/Krasnoyarsk": "Красноярск (МСК+4)",
    "Asia/Irkutsk": "Иркутск (МСК+5)",
    "Asia/Yakutsk": "Якутск (МСК+6)",
    "Asia/Vladivostok": "Владивосток (МСК+7)",
    "Asia/Magadan": "Магадан (МСК+8)",
    "Asia/Kamchatka": "Петропавловск-Камчатский (МСК+9)",
}
CALENDARS = {"ru": "Федеральный производственный календарь"}
LABELS = {
    "timezone": "Часовой пояс",
    "calendar": "Производственный календарь",
    "attachment_max_mb": "Наибольший размер файла, МБ",
    "attachment_max_files": "Файлов к одному обращению",
    "contact_address": "Адрес приёмной",
    "contact_phone": "Телефон",
    "contact_email": "Эл. почта",
    "contact_hours": "Часы приёма",
}
_RUSSIAN = {
    "timezone": "выберите часовой пояс из списка",
    "calendar": "выберите календарь из списка",
    "range": "целое число от {low} до {high}",
    "email": "адрес эл. почты вида priemnaya@example.ru",
    "phone": "номер телефона: цифры, пробелы, скобки, «+» и «-»",
}
RANGES = {"attachment_max_mb": (1, 100), "attachment_max_files": (0, 20)}
NOTICES = {"saved": "Настройки сохранены.", "unchanged": "Ничего не изменилось."}


def _errors(exc: InvalidInput) -> FormErrors:
    worded = []
    for e in exc.errors:
        low, high = RANGES.get(e.field, (0, 0))
        words = _RUSSIAN.get(e.code or "")
        worded.append(FieldError(e.field, words.format(low=low, high=high)) if words else e)
    return FormErrors.of(worded, LABELS)


async def _page(
    request: Request,
    status: int = 200,
    errors: FormErrors | None = None,
    form: dict[str, Any] | None = None,
) -> Response:
    slug = request.path_params["slug"]
    current = await cabinet_settings(database(request), slug)
    shown = {name: getattr(current, name) for name in NAMES} | (form or {})
    timezones = dict(TIMEZONES)
    timezones.setdefault(current.timezone, current.timezone)
    calendars = dict(CALENDARS)
    calendars.setdefault(current.calendar, f"{current.calendar} (региональный)")
    today = datetime.now(UTC).date()
    return private_page(
        request,
        "administration/settings.html",
        status,
        workplace=await workplace(request, slug),
        slug=slug,
        form=shown,
        errors=errors,
        timezones=list(timezones.items()),
        calendars=list(calendars.items()),
        days=special_days(current.calendar, today),
        current=current,
        notice=NOTICES.get(request.query_params.get("notice", "")),
    )


@page_requires("tenant:settings")
async def settings_page(request: Request) -> Response:
    return await _page(request)


@page_requires("tenant:settings")
async def save_settings(request: Request) -> Response:
    fields = await form_fields(request)
    given = {name: first(fields, name) for name in NAMES if name in fields}
    slug = request.path_params["slug"]
    try:
        changed = await change_cabinet_settings(
            database(request), slug, given, actor=actor(request)
        )
    except InvalidInput as exc:
        return await _page(request, 422, _errors(exc), given)
    notice = "saved" if changed else "unchanged"
    return RedirectResponse(f"/cabinet/{slug}/settings?notice={notice}", status_code=303)


routes: list[BaseRoute] = [
    Route("/cabinet/{slug}/settings", settings_page, methods=["GET"]),
    Route("/cabinet/{slug}/settings", save_settings, methods=["POST"]),
]
