"""The organization's reports (``report:read``): for a period, by topic, territory or
organization, over the subtree for supervisors — received, answered, on time, days to answer,
rating, reopened, overdue now — and a weekly trend; charts drawn here as SVG, each beside its
table; the same report as CSV and XLSX."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from cabinets.messages import reports
from cabinets.messages.actors import Staff
from cabinets.web.forms import FormErrors
from cabinets.web.guards import page_requires, person
from cabinets.web.rendering import PRIVATE, private_page
from cabinets.web.workplace import workplace
from tenancy.catalog import service as catalog
from tenancy.database import Database
from tenancy.errors import FieldError, InvalidInput
from tenancy.territories import service as territories

LABELS = {"from": "С", "to": "По", "by": "Группировать"}
GROUPINGS = {
    reports.Grouping.TOPIC: "по темам",
    reports.Grouping.TERRITORY: "по территориям",
    reports.Grouping.TENANT: "по организациям",
}
GROUP_HEADINGS = {
    reports.Grouping.TOPIC: "Тема",
    reports.Grouping.TERRITORY: "Территория",
    reports.Grouping.TENANT: "Организация",
}
_XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@dataclass(frozen=True)
class ReportAsked:
    """The report form as read: what to count, over which days and tenants."""

    by: reports.Grouping
    subtree: bool
    period: reports.Period
    form: dict[str, str]


def _db(request: Request) -> Database:
    db: Database = request.app.state.database
    return db


def _staff(request: Request) -> Staff:
    principal = person(request)
    assert principal is not None
    return Staff.of(principal, request.app.state.policy.enforcer)


def report_asked(request: Request) -> ReportAsked:
    """The query string as a report; every problem named at its field, in Russian."""
    params = request.query_params
    form = {name: params.get(name, "") for name in ("from", "to", "by", "subtree")}
    problems: list[FieldError] = []
    days: dict[str, date | None] = {}
    for name in ("from", "to"):
        try:
            days[name] = date.fromisoformat(form[name]) if form[name] else None
        except ValueError:
            problems.append(FieldError(name, "нужна дата, например 2026-03-01"))
    try:
        by = reports.Grouping(form["by"] or "topic")
    except ValueError:
        problems.append(FieldError("by", "выберите из предложенного"))
    if problems:
        raise InvalidInput(problems)
    try:
        period = reports.Period(days.get("from"), days.get("to"))
    except InvalidInput:
        raise InvalidInput.one("to", "период кончается раньше, чем начинается") from None
    return ReportAsked(by, form["subtree"] == "yes", period, form)


async def _labels(
    db: Database, by: reports.Grouping, rows: list[reports.ReportRow]
) -> dict[str, str]:
    """What a person reads for each group: a topic's title, a territory's name."""
    if by is reports.Grouping.TOPIC:
        return {t["code"]: t["title"] for t in await catalog.list_topics(db)}
    if by is reports.Grouping.TERRITORY:
        found = await territories.named_territories(db, [r.group for r in rows])
        return {t["code"]: t["name"] for t in found}
    return {}


@page_requires("report:read")
async def reports_page(request: Request) -> Response:
    slug = request.path_params["slug"]
    db = _db(request)
    context: dict[str, Any] = {"groupings": list(GROUPINGS.items()), "slug": slug}
    try:
        asked = report_asked(request)
    except InvalidInput as exc:
        return private_page(
            request,
            "administration/reports.html",
            422,
            workplace=await workplace(request, slug),
            errors=FormErrors.of(exc.errors, LABELS),
            form=dict(request.query_params),
            rows=None,
            **context,
        )
    staff, tenant_id = _staff(request), request.state.tenant_id
    rows = await reports.message_report(
        db,
        staff,
        tenant_id,
        by=asked.by,
        subtree=asked.subtree,
        received_from=asked.period.received_from,
        received_to=asked.period.received_to,
    )
    trend = await reports.weekly_trend(
        db, staff, tenant_id, subtree=asked.subtree, period=asked.period
    )
    query = urlencode({k: v for k, v in asked.form.items() if v})
    return private_page(
        request,
        "administration/reports.html",
        workplace=await workplace(request, slug),
        form=asked.form,
        errors=None,
        rows=rows,
        trend=trend,
        by=asked.by,
        heading=GROUP_HEADINGS[asked.by],
        labels=await _labels(db, asked.by, rows),
        query=query,
        peak=max((w.received for w in trend), default=0),
        **context,
    )


async def _export(request: Request) -> tuple[ReportAsked, list[reports.ReportRow]]:
    asked = report_asked(request)
    rows = await reports.message_report(
        _db(request),
        _staff(request),
        request.state.tenant_id,
        by=asked.by,
        subtree=asked.subtree,
        received_from=asked.period.received_from,
        received_to=asked.period.received_to,
    )
    return asked, rows


def _download(request: Request, body: str | bytes, media_type: str, extension: str) -> Response:
    slug = request.path_params["slug"]
    name = f"{slug}-report.{extension}"
    headers = {"Content-Disposition": f'attachment; filename="{name}"', **PRIVATE}
    return Response(body, media_type=media_type, headers=headers)


@page_requires("report:read")
async def report_csv(request: Request) -> Response:
    asked, rows = await _export(request)
    return _download(request, reports.report_csv(rows, asked.by), "text/csv; charset=utf-8", "csv")


@page_requires("report:read")
async def report_xlsx(request: Request) -> Response:
    asked, rows = await _export(request)
    labels = await _labels(_db(request), asked.by, rows)
    return _download(
        request, reports.report_xlsx(rows, GROUP_HEADINGS[asked.by], labels), _XLSX, "xlsx"
    )


routes: list[BaseRoute] = [
    Route("/cabinet/{slug}/reports", reports_page, methods=["GET"]),
    Route("/cabinet/{slug}/reports.csv", report_csv, methods=["GET"]),
    Route("/cabinet/{slug}/reports.xlsx", report_xlsx, methods=["GET"]),
]
