"""Reports on messages, for a tenant or its whole subtree: counts by status, the share answered
on time, the average time to answer, the average rating, the share reopened and how many are
overdue now, grouped by topic, territory or tenant, and a weekly trend; as JSON, CSV or XLSX."""

from __future__ import annotations

import csv
import io
import uuid
from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from openpyxl import Workbook
from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncSession

from cabinets.messages import report_figures
from cabinets.messages.actors import Staff
from cabinets.messages.oversight import readable_subtree
from cabinets.messages.workflow import Status
from tenancy.database import Database
from tenancy.errors import Forbidden, InvalidInput

_STATUSES = [status.value for status in Status]


class Grouping(StrEnum):
    TOPIC = "topic"
    TERRITORY = "territory"
    TENANT = "tenant"


class ReportRow(BaseModel):
    group: str
    total: int
    by_status: dict[str, int]
    answered: int
    answered_on_time_share: float | None
    average_days_to_answer: float | None
    average_rating: float | None
    rated: int
    reopened_share: float | None
    overdue_now: int = 0


class WeekRow(BaseModel):
    """One week of the trend, Monday first."""

    week: date
    received: int
    answered: int
    answered_on_time: int


@dataclass(frozen=True)
class Period:
    """The days a report covers (the tenant's days; either end may be open)."""

    received_from: date | None = None
    received_to: date | None = None

    def __post_init__(self) -> None:
        if self.received_from and self.received_to and self.received_to < self.received_from:
            raise InvalidInput.one("to", "the period ends before it starts")


async def readable_tenants(
    db: Database, staff: Staff, tenant_id: uuid.UUID, *, subtree: bool
) -> list[uuid.UUID]:
    """The tenant (and, with ``subtree``, every tenant below it) whose reports ``staff`` may
    read; Forbidden when none."""
    if subtree:
        allowed = [t.id for t in await readable_subtree(db, staff, tenant_id)]
    else:
        allowed = [tenant_id] if staff.may(tenant_id, "report:read", assigned=False) else []
    if not allowed:
        raise Forbidden("reports need the permission report:read")
    return allowed


async def message_report(
    db: Database,
    staff: Staff,
    tenant_id: uuid.UUID,
    *,
    by: Grouping,
    subtree: bool,
    received_from: date | None = None,
    received_to: date | None = None,
) -> list[ReportRow]:
    """One row per group, over the tenant (and, with ``subtree``, every tenant below it that
    the caller may read reports in)."""
    period = Period(received_from, received_to)
    allowed = await readable_tenants(db, staff, tenant_id, subtree=subtree)
    async with db.read_session(allowed) as session:
        return await _report_rows(session, by, period)


async def report_and_trend(
    db: Database,
    staff: Staff,
    tenant_id: uuid.UUID,
    *,
    by: Grouping,
    subtree: bool,
    period: Period,
) -> tuple[list[ReportRow], list[WeekRow]]:
    """``message_report``, and beside it the messages received, and of them answered and
    answered on time, week by week: as the reports page shows them, in one transaction."""
    allowed = await readable_tenants(db, staff, tenant_id, subtree=subtree)
    async with db.read_session(allowed) as session:
        return await _report_rows(session, by, period), await _weeks(session, period)


async def _report_rows(session: AsyncSession, by: Grouping, period: Period) -> list[ReportRow]:
    days = (period.received_from, period.received_to)
    rows = await report_figures.summed_groups(session, by.value, days)
    overdue = await report_figures.overdue_now(session, by.value, days)
    return [
        ReportRow(
            group=r["grp"],
            total=r["total"],
            by_status={status: r[status] for status in _STATUSES},
            answered=r["answered"],
            answered_on_time_share=round(r["on_time"] / r["answered"], 4)
            if r["answered"]
            else None,
            average_days_to_answer=round(float(r["days_to_answer"]), 2)
            if r["days_to_answer"] is not None
            else None,
            average_rating=round(float(r["rating"]), 2) if r["rating"] is not None else None,
            rated=r["rated"],
            reopened_share=round(r["reopened"] / r["total"], 4) if r["total"] else None,
            overdue_now=overdue.get(r["grp"], 0),
        )
        for r in rows
    ]


async def _weeks(session: AsyncSession, period: Period) -> list[WeekRow]:
    rows = await report_figures.summed_weeks(session, (period.received_from, period.received_to))
    return [
        WeekRow(week=r.week, received=r.received, answered=r.answered, answered_on_time=r.on_time)
        for r in rows
    ]


def report_csv(rows: list[ReportRow], by: Grouping) -> str:
    """The report as CSV (UTF-8 with a BOM, so spreadsheet programs read Cyrillic right)."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(
        [
            by.value,
            "total",
            *(s.value for s in Status),
            "answered",
            "answered_on_time_share",
            "average_days_to_answer",
            "average_rating",
            "rated",
            "reopened_share",
            "overdue_now",
        ]
    )
    for row in rows:
        writer.writerow(
            [
                row.group,
                row.total,
                *(row.by_status[s.value] for s in Status),
                row.answered,
                _cell(row.answered_on_time_share),
                _cell(row.average_days_to_answer),
                _cell(row.average_rating),
                row.rated,
                _cell(row.reopened_share),
                row.overdue_now,
            ]
        )
    return "\ufeff" + out.getvalue()


XLSX_HEADINGS = (
    "Поступило",
    "Рассмотрено",
    "В срок, %",
    "Дней до ответа",
    "Средняя оценка",
    "Повторно, %",
    "Просрочено сейчас",
)


def report_xlsx(rows: list[ReportRow], group_heading: str, labels: dict[str, str]) -> bytes:
    """The report as a spreadsheet: one row per group (named by ``labels``), shares in per
    cent, the figures as numbers a spreadsheet can sum."""
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "Отчёт"
    sheet.append([group_heading, *XLSX_HEADINGS])
    for row in rows:
        sheet.append(
            [
                labels.get(row.group, row.group),
                row.total,
                row.answered,
                _percent(row.answered_on_time_share),
                row.average_days_to_answer,
                row.average_rating,
                _percent(row.reopened_share),
                row.overdue_now,
            ]
        )
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _percent(share: float | None) -> float | None:
    return None if share is None else round(share * 100, 1)


def _cell(value: float | None) -> str:
    return "" if value is None else f"{value}"
