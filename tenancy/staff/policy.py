"""The policy as the permission engine reads it (every grant, custom role and tenant state),
and the question "may this person do that here?" answered with the chain that decided."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from rbac import store, tokens
from rbac.enforcer import PolicyEnforcer, PolicySnapshot, TenantState
from rbac.permissions import UnknownPermission, get_permission
from tenancy.database import Database
from tenancy.errors import InvalidInput
from tenancy.staff.lookups import staff_member, tenant_or_platform
from tenancy.staff.schemas import (
    PermissionCheck,
)


async def load_policy(db: Database) -> PolicySnapshot:
    """The whole policy, read through the app role (the policy tables are readable to it)."""
    async with db.public_session() as session:
        return await _snapshot(session)


async def _tenant_states(session: AsyncSession) -> tuple[dict[str, TenantState], dict[str, str]]:
    rows = await session.execute(
        text("SELECT id::text, parent_id::text, status, slug FROM tenants")
    )
    states, slugs = {}, {}
    for tenant, parent, status, slug in rows:
        states[tenant] = TenantState(parent, status)
        slugs[slug] = tenant
    return states, slugs


async def _snapshot(
    session: AsyncSession, user_ids: Sequence[uuid.UUID] | None = None
) -> PolicySnapshot:
    states, slugs = await _tenant_states(session)
    if user_ids is None:
        grants = await store.all_grants(session)
        grants += await tokens.active_token_grants(session)
    else:
        grants = [g.as_grant() for g in await store.grants_of(session, user_ids=user_ids)]
    roles = await store.custom_roles(session)
    return PolicySnapshot(
        tenants=states,
        slugs=slugs,
        custom_roles=[store.custom_role_rules(r) for r in roles],
        grants=grants,
        inactive_users=await store.inactive_users(session),
    )


async def check_permission(
    db: Database, email: str, tenant: str, permission: str, *, assigned: bool = False
) -> PermissionCheck:
    """May this person do this in this tenant, and why: the same engine the app uses, loaded
    with this person's grants only."""
    try:
        get_permission(permission)
    except UnknownPermission as exc:
        raise InvalidInput.one("permission", str(exc)) from None
    async with db.privileged_session() as session:
        user = await staff_member(session, email)
        where = await tenant_or_platform(session, tenant)
        snapshot = await _snapshot(session, user_ids=[user.id])
    enforcer = PolicyEnforcer.from_snapshot(snapshot)
    labels = {tenant_id: slug for slug, tenant_id in snapshot.slugs.items()}
    labels[str(user.id)] = user.email
    domain = str(where.id) if where is not None else "platform"
    decision = enforcer.explain(str(user.id), domain, permission, assigned=assigned, labels=labels)
    return PermissionCheck(
        email=user.email,
        tenant=tenant,
        permission=permission,
        allowed=decision.allowed,
        chain=decision.chain,
    )
