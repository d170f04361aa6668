"""Reports on messages, for a tenant or its whole subtree: counts by status, the share answered
on time, the average time to answer, the average rating and the share reopened, grouped by
topic, territory or tenant; as JSON or CSV."""

from __future__ import annotations

import csv
import io
import uuid
from datetime import date
from enum import StrEnum

from pydantic import BaseModel
from sqlalchemy import text

from cabinets.messages.service import Staff
from cabinets.messages.workflow import Status
from tenancy.database import Database
from tenancy.errors import Forbidden


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
    tenants = [tenant_id]
    if subtree:
        async with db.public_session() as session:
            below = await session.execute(
                text(
                    """
                    WITH RECURSIVE tree AS (
                        SELECT id, 0 AS depth FROM tenants WHERE id = :t
                        UNION ALL
                        SELECT c.id, tree.depth + 1 FROM tenants c
                        JOIN tree ON c.parent_id = tree.id WHERE tree.depth < 30
                    )
                    SELECT id FROM tree
                    """
                ),
                {"t": tenant_id},
            )
            tenants = list(below.scalars())
    allowed = [t for t in tenants if staff.may(t, "report:read", assigned=False)]
    if not allowed:
        raise Forbidden("reports need the permission report:read")
    statuses = ", ".join(
        f"count(*) FILTER (WHERE m.status = '{s.value}') AS \"{s.value}\"" for s in Status
    )
    group = _GROUP_COLUMN[by]
    async with db.tenant_session(allowed) as session:
        rows = await session.execute(
            text(
                f"""
                SELECT {group} AS grp, count(*) AS total, {statuses},
                    count(m.answered_at) AS answered,
                    count(*) FILTER (WHERE m.answered_at <= m.due_at) AS on_time,
                    avg(extract(epoch FROM m.answered_at - m.registered_at) / 86400.0)
                        AS days_to_answer,
                    avg(m.rating) AS rating, count(m.rating) AS rated,
                    count(*) FILTER (WHERE m.reopened_count > 0) AS reopened
                FROM messages m JOIN tenants t ON t.id = m.tenant_id
                WHERE m.tenant_id = ANY(:tenants)
                  AND (CAST(:from AS date) IS NULL OR m.received_at >= CAST(:from AS date))
                  AND (CAST(:to AS date) IS NULL OR m.received_at < CAST(:to AS date) + 1)
                GROUP BY grp ORDER BY grp
                """
            ),
            {"tenants": allowed, "from": received_from, "to": received_to},
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
            )
            for r in rows
        ]


def report_csv(rows: list[ReportRow], by: Grouping) -> str:
    """The report as CSV (UTF-8 with a BOM, so spreadsheet programs read Cyrillic right)."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(
        [by.value, "total", *(s.value for s in Status), "answered", "answered_on_time_share",
         "average_days_to_answer", "average_rating", "rated", "reopened_share"]
    )  # fmt: skip
    for row in rows:
        writer.writerow(
            [row.group, row.total, *(row.by_status[s.value] for s in Status), row.answered,
             _cell(row.answered_on_time_share), _cell(row.average_days_to_answer),
             _cell(row.average_rating), row.rated, _cell(row.reopened_share)]
        )  # fmt: skip
    return "\ufeff" + out.getvalue()


def _cell(value: float | None) -> str:
    return "" if value is None else f"{value}"
