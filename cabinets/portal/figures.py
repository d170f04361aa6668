"""The platform's public figures for the front page: messages received and answered this year
and the share answered on time. Counts only, nothing about anyone; recounted at most once a
minute per process, since every visit to the front page shows them."""

from __future__ import annotations

import time
import weakref
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import text

from tenancy.database import Database

FRESH_SECONDS = 60.0


@dataclass(frozen=True)
class PublicFigures:
    year: int
    received: int
    answered: int
    on_time: int

    @property
    def on_time_percent(self) -> int | None:
        return round(100 * self.on_time / self.answered) if self.answered else None


# Per database (an app has one; tests make many), forgotten with it.
_counted: weakref.WeakKeyDictionary[Database, tuple[float, PublicFigures]] = (
    weakref.WeakKeyDictionary()
)


async def public_figures(db: Database) -> PublicFigures:
    kept = _counted.get(db)
    if kept is not None and time.monotonic() - kept[0] < FRESH_SECONDS:
        return kept[1]
    figures = await _count(db, datetime.now(UTC).year)
    _counted[db] = (time.monotonic(), figures)
    return figures


async def _count(db: Database, year: int) -> PublicFigures:
    start = datetime(year, 1, 1, tzinfo=UTC)
    async with db.public_session() as session:
        received = (
            await session.execute(
                text("SELECT count(*) FROM message_tracking WHERE created_at >= :start"),
                {"start": start},
            )
        ).scalar_one()
        tenants = list((await session.execute(text("SELECT id FROM tenants"))).scalars())
    if not tenants:
        return PublicFigures(year, int(received), 0, 0)
    async with db.tenant_session(tenants) as session:
        answered = (
            await session.execute(
                text(
                    "SELECT count(*) AS answered, "
                    "count(*) FILTER (WHERE answered_at <= due_at) AS on_time "
                    "FROM messages WHERE answered_at >= :start AND status IN ('answered', 'closed')"
                ),
                {"start": start},
            )
        ).one()
    return PublicFigures(year, int(received), int(answered.answered), int(answered.on_time))
