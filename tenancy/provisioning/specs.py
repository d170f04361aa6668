"""What a manifest declares about a tenant or a person, checked.

A national manifest holds a million rows. The pydantic models of the edges (``TenantCreate``,
``StaffInput``) check a row in microseconds but build several objects for it, which at that
size costs more than everything else an apply does and holds gigabytes. So a row is checked
here by plain functions applying the same rules, and kept as a slotted dataclass (not a frozen
one: its constructor costs three times as much, and nothing changes a spec once read); a row they
do not pass goes through the pydantic model, which names every problem in its own words (and
whatever the model accepts is accepted). The plain checks may be stricter than the model,
never looser.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from pydantic import Field, field_validator

from tenancy.staff.schemas import EMAIL_PATTERN, StaffInput
from tenancy.tenants.identifiers import inn_problem, ogrn_problem
from tenancy.tenants.models import TenantKind, TenantStatus
from tenancy.tenants.schemas import SLUG_PATTERN, TERRITORY_PATTERN, TenantCreate, known_timezones

DEFAULT_TIMEZONE, DEFAULT_CALENDAR = "Europe/Moscow", "ru"


@dataclass(slots=True)
class TenantSpec:
    """A tenant as a manifest declares it; ``status`` None leaves the current one alone."""

    slug: str
    name: str
    kind: TenantKind
    inn: str
    parent: str | None = None
    territory: str | None = None
    ogrn: str | None = None
    short_name: str | None = None
    timezone: str = DEFAULT_TIMEZONE
    calendar: str = DEFAULT_CALENDAR
    status: TenantStatus | None = None

    def as_json(self) -> dict[str, Any]:
        """The stated fields as JSON values (what the audit of a new tenant records)."""
        fields = {
            "slug": self.slug,
            "name": self.name,
            "kind": self.kind.value,
            "parent": self.parent,
            "territory": self.territory,
            "inn": self.inn,
            "ogrn": self.ogrn,
            "short_name": self.short_name,
            "timezone": self.timezone,
            "calendar": self.calendar,
            "status": self.status.value if self.status else None,
        }
        return {k: v for k, v in fields.items() if v is not None}


@dataclass(slots=True)
class StaffSpec:
    """A person as a manifest declares them: e-mail (lower-case), name, roles in one tenant."""

    email: str
    name: str
    roles: list[str]


class TenantFields(TenantCreate):
    """The pydantic check of a tenant: the one that names what is wrong."""

    status: TenantStatus | None = None

    def spec(self) -> TenantSpec:
        return TenantSpec(
            slug=self.slug,
            name=self.name,
            kind=self.kind,
            inn=self.inn,
            parent=self.parent,
            territory=self.territory,
            ogrn=self.ogrn,
            short_name=self.short_name,
            timezone=self.timezone,
            calendar=self.calendar,
            status=self.status,
        )


class StaffFields(StaffInput):
    """The pydantic check of a person: the one that names what is wrong."""

    roles: list[str] = Field(default_factory=list)

    @field_validator("roles")
    @classmethod
    def _roles(cls, value: list[str]) -> list[str]:
        return [r.strip() for r in value if r.strip()]

    def spec(self) -> StaffSpec:
        return StaffSpec(self.email, self.name, self.roles)


_KINDS = {kind.value: kind for kind in TenantKind}
_STATUSES = {status.value: status for status in TenantStatus}
_CALENDAR = re.compile(r"[a-z]{2}(?:-[a-z0-9]+)*")
_TENANT_KEYS = frozenset(TenantFields.model_fields)


def tenant_spec(fields: dict[str, str | None]) -> TenantSpec | None:
    """The tenant these stripped values declare, or None when a rule may be broken."""
    get = fields.get
    slug, name, kind, inn = get("slug"), get("name"), get("kind"), get("inn")
    parent, territory, ogrn = get("parent"), get("territory"), get("ogrn")
    short_name, status = get("short_name"), get("status")
    timezone = get("timezone") or DEFAULT_TIMEZONE
    calendar = get("calendar") or DEFAULT_CALENDAR
    if (
        slug is None
        or not SLUG_PATTERN.fullmatch(slug)
        or name is None
        or len(name) > 500
        or kind not in _KINDS
        or inn is None
        or inn_problem(inn) is not None
        or (parent is not None and not SLUG_PATTERN.fullmatch(parent))
        or (territory is not None and not TERRITORY_PATTERN.fullmatch(territory))
        or (ogrn is not None and ogrn_problem(ogrn) is not None)
        or (short_name is not None and len(short_name) > 200)
        or timezone not in known_timezones()
        or not _CALENDAR.fullmatch(calendar)
        or (status is not None and status not in _STATUSES)
        or not _TENANT_KEYS.issuperset(fields)
    ):
        return None
    return TenantSpec(
        slug,
        name,
        _KINDS[kind],
        inn,
        parent,
        territory,
        ogrn,
        short_name,
        timezone,
        calendar,
        None if status is None else _STATUSES[status],
    )


def staff_spec(email: str | None, name: str | None, roles: list[str]) -> StaffSpec | None:
    """The person these stripped values declare, or None when a rule may be broken."""
    if (
        email is None
        or len(email) > 254
        or not EMAIL_PATTERN.fullmatch(email)
        or name is None
        or len(name) > 300
    ):
        return None
    return StaffSpec(email.lower(), name, roles)
