"""The reports' figures read from the counters of migration 0017: a report over a region's
subtree sums its counter rows — per day for a period, per topic and territory (and per week
for the trend) over all time — far fewer and narrower than messages, instead of reading every
message. Only "overdue now", which depends on the clock, is counted
from the messages themselves, through the index of open messages by deadline.

Each query counts what its transaction's tenants hold: the report opens it scoped to exactly
the tenants the reader may read, and row-level security, as the index condition, is the only
filter by tenant. (A second list of the same tenants on the same column would double the
index scan's work in PostgreSQL 15; spelling out the policy's own expression would be a
filter evaluated row by row.)

The sums are what the report counted from messages before the counters: the same counts, the
same numeric averages (``sum / count`` is how PostgreSQL's avg() ends), the same days."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import Row, RowMapping, text
from sqlalchemy.ext.asyncio import AsyncSession

from cabinets.messages.workflow import Status

# The running deadline and the statuses it runs in (as the inbox counts "overdue"), written
# as the index ``messages_deadline`` has them.
_DEADLINE = "CASE WHEN m.due_at IS NULL THEN m.stage_due_at ELSE m.due_at END"
_ON_CLOCK = "m.status IN ('new', 'registered', 'assigned', 'on_approval')"

GROUP_COLUMNS = {"topic": "topic_code", "territory": "territory_code"}  # and by tenant

_PERIOD_RECEIVED = """
    (CAST(:from AS date) IS NULL OR m.received_at >= CAST(:from AS date))
    AND (CAST(:to AS date) IS NULL OR m.received_at < CAST(:to AS date) + 1)
"""


def _grouped(alias: str, by: str, query: str) -> str:
    """``query`` (selecting ``{grp} AS grp``) grouped by ``by``. Grouped by tenant, it counts
    per tenant id first and names the few hundred results by slug after: joining every
    counted row to its tenant first costs more than the sums."""
    if by != "tenant":
        return query.replace("{grp}", f"{alias}.{GROUP_COLUMNS[by]}")
    counted = query.replace("{grp} AS grp", f"{alias}.tenant_id AS tenant_id")
    return f"""
        SELECT t.slug AS grp, counted.* FROM ({counted}) counted
        JOIN tenants t ON t.id = counted.tenant_id ORDER BY t.slug
    """


Days = tuple[date | None, date | None]  # the period's first and last day, either open


def _all_time(period: Days) -> bool:
    return period == (None, None)


def _counters(period: Days) -> str:
    """Over all time, the totals per tenant, topic and territory; over a period, its days'."""
    return "report_totals" if _all_time(period) else "report_counters"


def _days(period: Days) -> str:
    """The condition on the counters' days (none over all time, when they have none)."""
    if _all_time(period):
        return ""
    return """
        AND (CAST(:from AS date) IS NULL OR c.day >= CAST(:from AS date))
        AND (CAST(:to AS date) IS NULL OR c.day <= CAST(:to AS date))
    """


async def _by_tenant_key(session: AsyncSession) -> None:
    """Read by tenant key, never by a scan of the table: under row-level security a scan that
    filters parses the transaction's tenant list for every row it reads (seconds over a
    region), which the planner does not count, and it may choose one for a small table whose
    visibility map a vacuum has not caught up with."""
    await session.execute(text("SET LOCAL enable_seqscan = off"))


def _params(period: Days) -> dict[str, Any]:
    return {"from": period[0], "to": period[1]}


async def summed_groups(
    session: AsyncSession,
    by: str,
    period: Days,
) -> list[RowMapping]:
    """Per group: total, one count per status, answered, on_time, days_to_answer, rating,
    rated, reopened; ordered by group. A group whose messages all left it is not a group."""
    await _by_tenant_key(session)
    statuses = ", ".join(f'sum(c.status_{s.value}) AS "{s.value}"' for s in Status)
    sums = f"""
        SELECT {{grp}} AS grp, sum(c.received) AS total, {statuses},
            sum(c.answers) AS answered, sum(c.answers_on_time) AS on_time,
            sum(c.answer_days) / nullif(sum(c.answers_timed), 0) AS days_to_answer,
            sum(c.rating_sum)::numeric / nullif(sum(c.ratings), 0) AS rating,
            sum(c.ratings) AS rated, sum(c.reopened) AS reopened
        FROM {_counters(period)} c
        WHERE true{_days(period)}
        GROUP BY 1 HAVING sum(c.received) > 0 ORDER BY 1
    """
    found = await session.execute(text(_grouped("c", by, sums)), _params(period))
    return list(found.mappings())


async def overdue_now(
    session: AsyncSession,
    by: str,
    period: Days,
) -> dict[str, int]:
    """Per group, the messages whose running deadline has passed."""
    late = f"""
        SELECT {{grp}} AS grp, count(*) AS overdue
        FROM messages m
        WHERE {_ON_CLOCK} AND {_DEADLINE} < now()
          AND {_PERIOD_RECEIVED}
        GROUP BY 1
    """
    found = await session.execute(text(_grouped("m", by, late)), _params(period))
    return {row.grp: row.overdue for row in found}


async def summed_weeks(
    session: AsyncSession,
    period: Days,
) -> list[Row[Any]]:
    """Per week (its Monday: 2000-01-03 was one): received, answered, on_time; oldest first."""
    await _by_tenant_key(session)
    week = "c.week" if _all_time(period) else "c.day - ((c.day - DATE '2000-01-03') % 7 + 7) % 7"
    found = await session.execute(
        text(
            f"""
            SELECT {week} AS week,
                sum(c.received) AS received, sum(c.answers) AS answered,
                sum(c.answers_on_time) AS on_time
            FROM {"report_weeks" if _all_time(period) else "report_counters"} c
            WHERE true{_days(period)}
            GROUP BY 1 HAVING sum(c.received) > 0 ORDER BY 1
            """
        ),
        _params(period),
    )
    return list(found)
