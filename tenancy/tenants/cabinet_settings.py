"""The settings an organization's administrator changes in its cabinet: the time zone and the
working calendar its deadlines count in, the limits on citizens' files, and the contact
details citizens are shown. Each change is checked whole first (every problem named, nothing
written), then written with one audit entry holding each changed value before and after."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields, replace
from datetime import UTC, datetime
from functools import cache
from typing import Any
from zoneinfo import available_timezones

import holidays
from sqlmodel import select

from tenancy.audit import record_audit
from tenancy.database import Database
from tenancy.errors import FieldError, InvalidInput, NotFound
from tenancy.tenants.models import Tenant

CALENDAR = re.compile(r"^[a-z]{2}(-[a-z0-9]+)*$")
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
PHONE_DIGITS = 5
LONGEST = {"contact_address": 300, "contact_phone": 60, "contact_email": 254, "contact_hours": 300}
LIMITS = {"attachment_max_mb": (1, 100), "attachment_max_files": (0, 20)}  # as the table checks


@cache
def _timezones() -> frozenset[str]:
    return frozenset(available_timezones())


@dataclass(frozen=True)
class CabinetSettings:
    timezone: str
    calendar: str
    attachment_max_mb: int
    attachment_max_files: int
    contact_address: str | None
    contact_phone: str | None
    contact_email: str | None
    contact_hours: str | None


NAMES = tuple(f.name for f in fields(CabinetSettings))


def _read(tenant: Tenant) -> CabinetSettings:
    return CabinetSettings(**{name: getattr(tenant, name) for name in NAMES})


async def cabinet_settings(db: Database, tenant: str) -> CabinetSettings:
    async with db.privileged_session() as session:
        return _read(await _tenant(session, tenant))


async def _tenant(session: Any, slug: str) -> Tenant:
    found = (await session.scalars(select(Tenant).where(Tenant.slug == slug))).first()
    if found is None:
        raise NotFound("tenant", slug)
    result: Tenant = found
    return result


def _calendar_problem(code: str) -> str | None:
    if not CALENDAR.fullmatch(code):
        return "a calendar code such as ru or ru-tatarstan"
    if code.split("-", 1)[0].upper() not in holidays.list_supported_countries():
        return f"no production calendar for {code!r}"
    return None


def _checked(current: CabinetSettings, given: Mapping[str, str]) -> CabinetSettings:
    """The settings as ``given`` changes them (fields left out stay as they are)."""
    problems: list[FieldError] = []
    values: dict[str, Any] = {}
    for name in NAMES:
        if name not in given:
            continue
        raw = " ".join(given[name].split())
        if name == "timezone":
            if raw not in _timezones():
                problems.append(FieldError(name, "unknown IANA time zone", code="timezone"))
            values[name] = raw
        elif name == "calendar":
            if problem := _calendar_problem(raw):
                problems.append(FieldError(name, problem, code="calendar"))
            values[name] = raw
        elif name in LIMITS:
            low, high = LIMITS[name]
            if not raw.isdigit() or not low <= int(raw) <= high:
                problems.append(
                    FieldError(name, f"a whole number from {low} to {high}", code="range")
                )
                continue
            values[name] = int(raw)
        else:
            values[name] = raw or None
            if raw and len(raw) > LONGEST[name]:
                problems.append(
                    FieldError(name, "too long", code="string_too_long", limit=LONGEST[name])
                )
            elif name == "contact_email" and raw and not EMAIL.fullmatch(raw):
                problems.append(FieldError(name, "an e-mail address", code="email"))
            elif (
                name == "contact_phone"
                and raw
                and (
                    sum(c.isdigit() for c in raw) < PHONE_DIGITS
                    or re.search(r"[^\d\s()+\-.,доб]", raw)
                )
            ):
                problems.append(FieldError(name, "a telephone number", code="phone"))
    if problems:
        raise InvalidInput(problems)
    return replace(current, **values)


async def change_cabinet_settings(
    db: Database, tenant: str, given: Mapping[str, str], *, actor: str
) -> dict[str, dict[str, Any]]:
    """Apply ``given`` (field: the text typed); returns what changed, ``{field: {"before",
    "after"}}`` (empty: nothing did, and nothing is recorded)."""
    async with db.privileged_session(actor=actor) as session:
        row = await _tenant(session, tenant)
        before = _read(row)
        after = _checked(before, given)
        old, new = asdict(before), asdict(after)
        changed = {
            name: {"before": old[name], "after": new[name]}
            for name in NAMES
            if old[name] != new[name]
        }
        if not changed:
            return {}
        for name in changed:
            setattr(row, name, new[name])
        row.updated_at = datetime.now(UTC)
        session.add(row)
        await session.flush()
        record_audit(
            session,
            tenant_id=row.id,
            actor=actor,
            action="tenant.settings_changed",
            object_type="tenant",
            object_id=row.slug,
            changes=changed,
        )
        return changed
