"""Input and output shapes of tenants; input validation lives here, once for every edge."""

from __future__ import annotations

import re
import uuid
from datetime import datetime
from functools import cache
from typing import Any
from zoneinfo import available_timezones

from pydantic import BaseModel, ConfigDict, Field, field_validator

from tenancy.tenants.identifiers import inn_problem, ogrn_problem
from tenancy.tenants.models import Tenant, TenantKind, TenantStatus

SLUG_PATTERN = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$")
TERRITORY_PATTERN = re.compile(r"^[0-9]{2,11}$")


@cache
def known_timezones() -> frozenset[str]:
    return frozenset(available_timezones())


def slug_problem(slug: str) -> str | None:
    if SLUG_PATTERN.fullmatch(slug):
        return None
    return (
        "must be 1-63 characters of lowercase latin letters, digits and hyphens, "
        "starting and ending with a letter or digit"
    )


class TenantCreate(BaseModel):
    model_config = ConfigDict(str_strip_whitespace=True, extra="forbid")

    slug: str
    name: str = Field(min_length=1, max_length=500)
    kind: TenantKind
    parent: str | None = Field(default=None, description="Slug of the parent tenant.")
    territory: str | None = Field(default=None, description="OKTMO-style territory code.")
    inn: str
    ogrn: str | None = None
    short_name: str | None = Field(default=None, max_length=200)
    timezone: str = "Europe/Moscow"
    calendar: str = Field(
        default="ru",
        pattern=r"^[a-z]{2}(-[a-z0-9]+)*$",
        description="Working calendar: 'ru' (federal), or a regional one such as 'ru-tatarstan'.",
    )

    @field_validator("slug", "parent")
    @classmethod
    def _slug(cls, value: str | None) -> str | None:
        if value is not None and (problem := slug_problem(value)):
            raise ValueError(problem)
        return value

    @field_validator("territory")
    @classmethod
    def _territory(cls, value: str | None) -> str | None:
        if value is not None and not TERRITORY_PATTERN.fullmatch(value):
            raise ValueError("must be an OKTMO-style code of 2 to 11 digits")
        return value

    @field_validator("inn")
    @classmethod
    def _inn(cls, value: str) -> str:
        if problem := inn_problem(value):
            raise ValueError(problem)
        return value

    @field_validator("ogrn")
    @classmethod
    def _ogrn(cls, value: str | None) -> str | None:
        if value is not None and (problem := ogrn_problem(value)):
            raise ValueError(problem)
        return value

    @field_validator("timezone")
    @classmethod
    def _timezone(cls, value: str) -> str:
        if value not in known_timezones():
            raise ValueError("unknown IANA time zone (for example Europe/Moscow)")
        return value


class TenantRead(BaseModel):
    id: uuid.UUID
    slug: str
    name: str
    short_name: str | None
    kind: TenantKind
    parent: str | None
    territory: str | None
    inn: str
    ogrn: str | None
    timezone: str
    calendar: str
    status: TenantStatus
    created_at: datetime | None
    updated_at: datetime | None

    @classmethod
    def of(cls, tenant: Tenant, parent_slug: str | None) -> TenantRead:
        return cls(
            id=tenant.id,
            slug=tenant.slug,
            name=tenant.name,
            short_name=tenant.short_name,
            kind=TenantKind(tenant.kind),
            parent=parent_slug,
            territory=tenant.territory_code,
            inn=tenant.inn,
            ogrn=tenant.ogrn,
            timezone=tenant.timezone,
            calendar=tenant.calendar,
            status=TenantStatus(tenant.status),
            created_at=tenant.created_at,
            updated_at=tenant.updated_at,
        )


class TenantNode(BaseModel):
    """One tenant in a hierarchy, with its children."""

    slug: str
    name: str
    kind: TenantKind
    status: TenantStatus
    children: list[TenantNode] = Field(default_factory=list)


class TenantFilter(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: TenantKind | None = None
    status: TenantStatus | None = None
    parent: str | None = None


class AuditRead(BaseModel):
    """One entry of a tenant's history."""

    occurred_at: datetime | None
    actor: str
    action: str
    object_type: str
    object_id: str
    changes: dict[str, Any]
    source: str | None
