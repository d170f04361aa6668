"""Lookups that name the bad field: a staff member by e-mail, a tenant (or the platform) by
slug, a role that can be granted there."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import select

from rbac import store
from rbac.roles import ROLE_TEMPLATES, RoleScope, UnknownRole
from rbac.store import Identity
from tenancy.errors import InvalidInput
from tenancy.staff.schemas import (
    PLATFORM,
)
from tenancy.tenants.models import Tenant


async def staff_member(session: AsyncSession, email: str) -> Identity:
    found = await store.users_by_email(session, [email])
    user = found.get(store.normalise_email(email))
    if user is None:
        raise InvalidInput.one("email", f"no staff member with e-mail {email!r}")
    return user


async def tenant_or_platform(session: AsyncSession, slug: str) -> Tenant | None:
    """The tenant named by ``slug``; None for the platform."""
    if slug == PLATFORM:
        return None
    tenant = (await session.scalars(select(Tenant).where(Tenant.slug == slug))).first()
    if tenant is None:
        raise InvalidInput.one("tenant", f"unknown tenant {slug!r}")
    return tenant


async def check_role(session: AsyncSession, role: str, tenant: Tenant | None) -> None:
    template = ROLE_TEMPLATES.get(role)
    if template is not None:
        if template.scope is RoleScope.PLATFORM and tenant is not None:
            raise InvalidInput.one(
                "role", f"{role!r} is a platform role: grant it on {PLATFORM!r}, not in a tenant"
            )
        if template.scope is RoleScope.TENANT and tenant is None:
            raise InvalidInput.one("role", f"{role!r} is a tenant role: name the tenant")
        return
    if tenant is not None and role in {
        r.name for r in await store.custom_roles(session, [tenant.id])
    }:
        return
    raise InvalidInput.one("role", str(UnknownRole(role)))
