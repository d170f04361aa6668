"""Switching a person of one organization off and on, as its cabinet administrator does. A
deactivated person cannot sign in, holds no permission and is offered for no assignment; their
roles and everything they did stay on record, so reactivating gives them back as they were.

An organization's administrator may switch off only someone who works for it alone (a person
who also serves another organization, or the platform, is that organization's business too:
here one takes their roles away instead), and never themself."""

from __future__ import annotations

import uuid

from sqlalchemy import text

from rbac import store
from rbac.models import UserStatus
from tenancy.audit import record_audit
from tenancy.database import Database
from tenancy.errors import InvalidInput
from tenancy.staff.organization import staff_member
from tenancy.staff.schemas import StaffRead


async def set_member_status(
    db: Database, tenant: str, email: str, status: UserStatus, *, actor: str
) -> StaffRead:
    """Deactivate or reactivate a person who holds a role in ``tenant``; recorded in the
    organization's audit log and in the platform's."""
    member = await staff_member(db, tenant, email)
    async with db.privileged_session(actor=actor) as session:
        found = (await store.users_by_email(session, [member.email]))[member.email]
        if status is UserStatus.DEACTIVATED:
            if str(found.id) == actor:
                raise InvalidInput.one("status", "you cannot deactivate yourself", code="self")
            grants = await store.grants_of(session, user_ids=[found.id])
            tenant_ids = {g.tenant_id for g in grants}
            if len(tenant_ids) > 1 or None in tenant_ids:
                raise InvalidInput.one(
                    "status", "works for another organization too", code="elsewhere"
                )
        if await store.set_user_status(session, found.id, status):
            here: uuid.UUID = (
                await session.execute(text("SELECT id FROM tenants WHERE slug = :s"), {"s": tenant})
            ).scalar_one()
            action = "user.deactivated" if status is UserStatus.DEACTIVATED else "user.activated"
            for tenant_id in (here, None):
                record_audit(
                    session,
                    tenant_id=tenant_id,
                    actor=actor,
                    action=action,
                    object_type="user",
                    object_id=member.email,
                    changes={"status": {"before": found.status, "after": status.value}},
                )
    return await staff_member(db, tenant, email)
