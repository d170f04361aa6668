"""An organization's API tokens as its cabinet administrator runs them: issued with one of the
organization's roles until a day not yet past (the secret is returned only then), listed, and
revoked. Another organization's token is "not found"."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from tenancy.database import Database
from tenancy.errors import FieldError, InvalidInput, NotFound
from tenancy.staff import organization
from tenancy.staff import tokens as token_service
from tenancy.staff.schemas import TokenCreated, TokenRead
from tenancy.tenants import service as tenants

LONGEST = timedelta(days=5 * 366)


def _last_moment(day: date, timezone: str) -> datetime:
    """The end of ``day`` in the organization's time zone: a token "until 31 March" works all
    that day."""
    return datetime.combine(day + timedelta(days=1), time(), ZoneInfo(timezone)).astimezone(UTC)


def last_day(expires_at: datetime, timezone: str) -> date:
    """The last day a token works, as it was chosen (it expires as the next day begins)."""
    return (expires_at - timedelta(microseconds=1)).astimezone(ZoneInfo(timezone)).date()


async def issue(
    db: Database, tenant: str, name: str, role: str, until: str, *, actor: str
) -> TokenCreated:
    """``until``: the last day the token works (``YYYY-MM-DD``), today at the earliest."""
    problems: list[FieldError] = []
    if not name.strip():
        problems.append(FieldError("name", "say what uses the token", code="required"))
    if role not in {r.name for r in await organization.grantable_roles(db, tenant)}:
        problems.append(FieldError("role", f"no role {role!r} in this organization", code="role"))
    timezone = (await tenants.get_tenant(db, tenant)).timezone
    expires_at: datetime | None = None
    try:
        day = date.fromisoformat(until.strip())
    except ValueError:
        problems.append(FieldError("until", "a date, YYYY-MM-DD", code="date"))
    else:
        expires_at = _last_moment(day, timezone)
        now = datetime.now(UTC)
        if expires_at <= now:
            problems.append(FieldError("until", "the day is past", code="past"))
        elif expires_at - now > LONGEST:
            problems.append(FieldError("until", "at most five years ahead", code="too_far"))
    if problems:
        raise InvalidInput(problems)
    return await token_service.create_token(
        db, tenant, role, name=name.strip(), expires_at=expires_at, actor=actor
    )


async def tokens(db: Database, tenant: str) -> list[TokenRead]:
    return await token_service.list_tokens(db, tenant)


async def revoke(db: Database, tenant: str, token_id: str, *, actor: str) -> TokenRead:
    if token_id not in {t.id for t in await tokens(db, tenant)}:
        raise NotFound("token", token_id)
    return await token_service.revoke_token(db, token_id, actor=actor)
