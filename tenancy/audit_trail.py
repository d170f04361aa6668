"""Reading one organization's audit log: who changed what and when, filtered by who acted, by
the kind of change and by period, newest first, a page at a time (keyset: each page starts
after the last entry of the one before, so pages hold still while new entries arrive)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import text

from tenancy.database import Database
from tenancy.errors import FieldError, InvalidInput, NotFound

PAGE_SIZE = 50
EXPORT_LIMIT = 100_000
# A kind of change is the actions whose names start with these words.
KINDS: dict[str, tuple[str, ...]] = {
    "staff": ("grant.", "role.", "user."),
    "integrations": ("webhook.", "outbox.", "token."),
    "settings": ("tenant.",),
    "records": ("records.", "attachments."),
    "routing": ("catalog.", "route.", "routes.", "territories."),
}


@dataclass(frozen=True)
class AuditFilter:
    actor: str | None = None
    kind: str | None = None
    since: date | None = None  # days, inclusive, in the organization's time zone
    until: date | None = None


@dataclass(frozen=True)
class AuditLine:
    id: int
    occurred_at: datetime
    actor: str
    actor_name: str
    action: str
    object_type: str
    object_id: str
    changes: dict[str, Any]


@dataclass(frozen=True)
class AuditPage:
    lines: list[AuditLine]
    next_cursor: str | None  # where the next page starts, if there is one
    actors: list[tuple[str, str]]  # everyone who acted here: (actor, their name)
    timezone: str  # the organization's, in which its days begin and end


def parse_filter(actor: str, kind: str, since: str, until: str) -> AuditFilter:
    """A filter from what a form sent (blank: no limit); every problem named at its field."""
    problems: list[FieldError] = []
    days: dict[str, date | None] = {}
    for name, value in (("since", since), ("until", until)):
        days[name] = None
        if value.strip():
            try:
                days[name] = date.fromisoformat(value.strip())
            except ValueError:
                problems.append(FieldError(name, "a date, YYYY-MM-DD", code="date"))
    if kind and kind not in KINDS:
        problems.append(FieldError("kind", f"one of {', '.join(KINDS)}", code="kind"))
    first, last = days["since"], days["until"]
    if first and last and first > last:
        problems.append(FieldError("until", "the period ends before it begins", code="order"))
    if problems:
        raise InvalidInput(problems)
    return AuditFilter(actor or None, kind or None, first, last)


def _cursor(line: AuditLine) -> str:
    return f"{line.occurred_at.isoformat()}_{line.id}"


def _after(cursor: str) -> tuple[datetime, int]:
    moment, _, key = cursor.rpartition("_")
    try:
        return datetime.fromisoformat(moment), int(key)
    except ValueError:
        raise InvalidInput.one("after", "not a page of this log", code="cursor") from None


async def _where(session: Any, slug: str, chosen: AuditFilter) -> tuple[str, dict[str, Any], str]:
    tenant = (
        await session.execute(text("SELECT id, timezone FROM tenants WHERE slug = :s"), {"s": slug})
    ).first()
    if tenant is None:
        raise NotFound("tenant", slug)
    zone = ZoneInfo(tenant.timezone)
    where, params = ["a.tenant_id = :t"], {"t": tenant.id}
    if chosen.actor:
        where.append("a.actor = :actor")
        params["actor"] = chosen.actor
    if chosen.kind:
        prefixes = KINDS[chosen.kind]
        where.append("(" + " OR ".join(f"a.action LIKE :k{n}" for n in range(len(prefixes))) + ")")
        params |= {f"k{n}": p + "%" for n, p in enumerate(prefixes)}
    if chosen.since:
        where.append("a.occurred_at >= :since")
        params["since"] = datetime.combine(chosen.since, time(), zone)
    if chosen.until:
        where.append("a.occurred_at < :until")
        params["until"] = datetime.combine(chosen.until + timedelta(days=1), time(), zone)
    return " AND ".join(where), params, tenant.timezone


# Who acted, in words: a person by name, a token by its name; a program as it signed.
_LINES = """
    SELECT a.id, a.occurred_at, a.actor, a.action, a.object_type, a.object_id, a.changes,
           coalesce(u.name, 'токен «' || k.name || '»', a.actor) AS actor_name
    FROM audit_log a
    LEFT JOIN users u ON u.id::text = a.actor
    LEFT JOIN api_tokens k ON 'token:' || k.id::text = a.actor
"""


def _line(row: Any) -> AuditLine:
    return AuditLine(
        row.id,
        row.occurred_at,
        row.actor,
        row.actor_name,
        row.action,
        row.object_type,
        row.object_id,
        dict(row.changes),
    )


async def audit_page(
    db: Database,
    tenant: str,
    chosen: AuditFilter,
    *,
    after: str | None = None,
    size: int = PAGE_SIZE,
) -> AuditPage:
    async with db.privileged_session() as session:
        where, params, timezone = await _where(session, tenant, chosen)
        if after:
            moment, key = _after(after)
            where += " AND (a.occurred_at, a.id) < (:at, :key)"
            params |= {"at": moment, "key": key}
        rows = await session.execute(
            text(f"{_LINES} WHERE {where} ORDER BY a.occurred_at DESC, a.id DESC LIMIT :n"),
            params | {"n": size + 1},
        )
        lines = [_line(row) for row in rows]
        actors = await session.execute(
            text(
                "SELECT DISTINCT a.actor, coalesce(u.name, 'токен «' || k.name || '»', a.actor) "
                "AS name FROM audit_log a LEFT JOIN users u ON u.id::text = a.actor "
                "LEFT JOIN api_tokens k ON 'token:' || k.id::text = a.actor "
                "WHERE a.tenant_id = :t ORDER BY name"
            ),
            {"t": params["t"]},
        )
        more = len(lines) > size
        lines = lines[:size]
        return AuditPage(
            lines,
            _cursor(lines[-1]) if more else None,
            [(row.actor, row.name) for row in actors],
            timezone,
        )


async def audit_export(db: Database, tenant: str, chosen: AuditFilter) -> AuditPage:
    """Every entry the filter picks, newest first (at most ``EXPORT_LIMIT``), on one page."""
    async with db.privileged_session() as session:
        where, params, timezone = await _where(session, tenant, chosen)
        rows = await session.execute(
            text(f"{_LINES} WHERE {where} ORDER BY a.occurred_at DESC, a.id DESC LIMIT :n"),
            params | {"n": EXPORT_LIMIT},
        )
        return AuditPage([_line(row) for row in rows], None, [], timezone)
