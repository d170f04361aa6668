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
from sqlalchemy import text

from cabinets.messages.actors import Staff
from cabinets.messages.oversight import readable_subtree
from cabinets.messages.workflow import Status
from tenancy.database import Database
from tenancy.errors import Forbidden, InvalidInput

# The running deadline and the statuses it runs in (as the inbox counts "overdue").
_DEADLINE = "CASE WHEN m.due_at IS NULL THEN m.stage_due_at ELSE m.due_at END"
_ON_CLOCK = "m.status IN ('new', 'registered', 'assigned', 'on_approval')"


class Grouping(StrEnum):
    TOPIC = "topic"
    TERRITORY = "territory"
    TENANT = "tenant"


_GROUP_COLUMN = {
    Grouping.TOPIC: "m.topic_code",
    Grouping.TERRITORY: "m.territory_code",
    Grouping.TENANT: "t.slug",
}


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
    statuses = ", ".join(
        f"count(*) FILTER (WHERE m.status = '{s.value}') AS \"{s.value}\"" for s in Status
    )
    group = _GROUP_COLUMN[by]
    async with db.read_session(allowed) as session:
        rows = await session.execute(
            text(
                f"""
                SELECT {group} AS grp, count(*) AS total, {statuses},
                    count(m.answered_at) AS answered,
                    count(*) FILTER (WHERE m.answered_at <= m.due_at) AS on_time,
                    avg(extract(epoch FROM m.answered_at - m.registered_at) / 86400.0)
                        AS days_to_answer,
                    avg(m.rating) AS rating, count(m.rating) AS rated,
                    count(*) FILTER (WHERE m.reopened_count > 0) AS reopened,
                    count(*) FILTER (WHERE {_ON_CLOCK} AND {_DEADLINE} < now()) AS overdue
                FROM messages m JOIN tenants t ON t.id = m.tenant_id
                WHERE m.tenant_id = ANY(:tenants)
                  AND (CAST(:from AS date) IS NULL OR m.received_at >= CAST(:from AS date))
                  AND (CAST(:to AS date) IS NULL OR m.received_at < CAST(:to AS date) + 1)
                GROUP BY grp ORDER BY grp
                """
            ),
            {"tenants": allowed, "from": period.received_from, "to": period.received_to},
        )
        return [
            ReportRow(
                group=r.grp,
                total=r.total,
                by_status={s.value: getattr(r, s.value) for s in Status},
                answered=r.answered,
                answered_on_time_share=round(r.on_time / r.answered, 4) if r.answered else None,
                average_days_to_answer=round(float(r.days_to_answer), 2)
                if r.days_to_answer is not None
                else None,
                average_rating=round(float(r.rating), 2) if r.rating is not None else None,
                rated=r.rated,
                reopened_share=round(r.reopened / r.total, 4) if r.total else None,
                overdue_now=r.overdue,
            )
            for r in rows
        ]


async def weekly_trend(
    db: Database,
    staff: Staff,
    tenant_id: uuid.UUID,
    *,
    subtree: bool,
    period: Period,
) -> list[WeekRow]:
    """Messages received, and of them answered and answered on time, week by week."""
    allowed = await readable_tenants(db, staff, tenant_id, subtree=subtree)
    async with db.read_session(allowed) as session:
        rows = await session.execute(
            text(
                """
                SELECT date_trunc('week', m.received_at)::date AS week, count(*) AS received,
                    count(m.answered_at) AS answered,
                    count(*) FILTER (WHERE m.answered_at <= m.due_at) AS on_time
                FROM messages m
                WHERE m.tenant_id = ANY(:tenants)
                  AND (CAST(:from AS date) IS NULL OR m.received_at >= CAST(:from AS date))
                  AND (CAST(:to AS date) IS NULL OR m.received_at < CAST(:to AS date) + 1)
                GROUP BY week ORDER BY week
                """
            ),
            {"tenants": allowed, "from": period.received_from, "to": period.received_to},
        )
        return [
            WeekRow(
                week=r.week, received=r.received, answered=r.answered, answered_on_time=r.on_time
            )
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
