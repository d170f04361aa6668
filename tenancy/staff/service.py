"""Staff and their grants: people are global identities; grants tie them to tenants.

Each function owns its transaction on the privileged connection (platform admins work from the
CLI), checks everything first, writes the policy store, and records the change in the audit
log. The policy tables announce each change to every running process themselves (triggers).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from rbac import store
from rbac.models import User, UserStatus
from rbac.store import Identity, Person, StoredGrant
from tenancy.audit import record_audit
from tenancy.database import Database
from tenancy.errors import FieldError, InvalidInput, NotFound
from tenancy.staff.lookups import check_role, staff_member, tenant_or_platform
from tenancy.staff.schemas import (
    PLATFORM,
    GrantChange,
    GrantRead,
    OrganizationRef,
    StaffInput,
    StaffRead,
    Workplaces,
)
from tenancy.tenants.models import TenantStatus


async def add_staff(
    db: Database, people: Sequence[StaffInput], *, actor: str, source: str | None = None
) -> list[StaffRead]:
    """Create people who do not exist yet, by e-mail; return everyone named."""
    async with db.privileged_session(actor=actor) as session:
        created = await store.add_users(session, [Person(p.email, p.name) for p in people])
        for user in created:
            record_audit(
                session,
                tenant_id=None,
                actor=actor,
                action="user.created",
                object_type="user",
                object_id=user.email,
                changes={"name": user.name},
                source=source,
            )
        users = await store.users_by_email(session, [p.email for p in people])
        return [StaffRead(email=u.email, name=u.name, status=u.status) for u in users.values()]


async def set_staff_status(
    db: Database, email: str, status: UserStatus, *, actor: str, reason: str | None = None
) -> bool:
    """Deactivate (or reactivate) a person everywhere; their grants stay for history but give
    nothing while deactivated."""
    async with db.privileged_session(actor=actor) as session:
        user = await staff_member(session, email)
        changed = await store.set_user_status(session, user.id, status)
        if changed:
            record_audit(
                session,
                tenant_id=None,
                actor=actor,
                action=f"user.{'deactivated' if status is UserStatus.DEACTIVATED else 'activated'}",
                object_type="user",
                object_id=user.email,
                changes={"status": status.value, "reason": reason},
            )
        return changed


async def _slugs(session: AsyncSession, tenant_ids: set[uuid.UUID]) -> dict[uuid.UUID, str]:
    """The slugs of just these tenants (not the whole directory)."""
    if not tenant_ids:
        return {}
    rows = await session.execute(
        text("SELECT id, slug FROM tenants WHERE id = ANY(:ids)"), {"ids": list(tenant_ids)}
    )
    return {r.id: r.slug for r in rows}


async def me(db: Database, user_id: uuid.UUID) -> StaffRead:
    """A person as they see themselves: who they are and the roles they hold where."""
    async with db.public_session() as session:
        user = await session.get(User, user_id)
        if user is None:
            raise NotFound("user", str(user_id))
        grants = await store.grants_of(session, user_ids=[user_id])
        slugs = await _slugs(session, {g.tenant_id for g in grants if g.tenant_id})
        regions = await _regions_of(session, user_id)
    return StaffRead(
        email=user.email,
        name=user.name,
        status=user.status,
        grants=[
            GrantRead(
                tenant=PLATFORM if g.tenant_id is None else slugs[g.tenant_id],
                role=g.role,
                regions=regions if g.role == REGIONAL_OPERATOR else [],
            )
            for g in sorted(grants, key=lambda g: (str(g.tenant_id), g.role))
        ],
    )


async def workplaces(db: Database, user_id: uuid.UUID) -> Workplaces:
    """The organizations a person serves (by name) and their platform roles: what their header
    offers to switch between."""
    async with db.public_session() as session:
        user = await session.get(User, user_id)
        if user is None:
            raise NotFound("user", str(user_id))
        rows = await session.execute(
            text(
                "SELECT DISTINCT t.slug, t.name FROM staff_grants g "
                "JOIN tenants t ON t.id = g.tenant_id WHERE g.user_id = :u ORDER BY t.name"
            ),
            {"u": user_id},
        )
        organizations = [OrganizationRef(slug=r.slug, name=r.name) for r in rows]
        platform = await session.execute(
            text("SELECT role FROM platform_grants WHERE user_id = :u ORDER BY role"),
            {"u": user_id},
        )
        return Workplaces(
            name=user.name, organizations=organizations, platform_roles=list(platform.scalars())
        )


async def list_staff(db: Database, tenant: str | None = None) -> list[StaffRead]:
    """Everyone (or the staff of one tenant) with the roles they hold, by e-mail."""
    async with db.public_session() as session:
        scope = await tenant_or_platform(session, tenant) if tenant is not None else None
        if tenant is not None and tenant != PLATFORM:
            assert scope is not None
            grants = await store.grants_of(session, tenant_ids=[scope.id])
        else:
            grants = await store.grants_of(session)
            if tenant == PLATFORM:
                grants = [g for g in grants if g.tenant_id is None]
        slugs = await _slugs(session, {g.tenant_id for g in grants if g.tenant_id})
        regions = await _all_regions(
            session, [g.user_id for g in grants if g.role == REGIONAL_OPERATOR]
        )
        by_user: dict[uuid.UUID, list[GrantRead]] = {}

        def order(g: StoredGrant) -> tuple[str, str]:
            return (slugs[g.tenant_id] if g.tenant_id else "", g.role)

        for grant in sorted(grants, key=order):
            where = PLATFORM if grant.tenant_id is None else slugs[grant.tenant_id]
            by_user.setdefault(grant.user_id, []).append(
                GrantRead(
                    tenant=where,
                    role=grant.role,
                    regions=regions.get(grant.user_id, [])
                    if grant.role == REGIONAL_OPERATOR
                    else [],
                )
            )
        statement = select(User).order_by(col(User.email))
        if tenant is not None:
            statement = statement.where(col(User.id).in_(list(by_user)))
        users = await session.scalars(statement)
        return [
            StaffRead(email=u.email, name=u.name, status=u.status, grants=by_user.get(u.id, []))
            for u in users
        ]


REGIONAL_OPERATOR = "regional_operator"


async def grant_role(
    db: Database,
    email: str,
    tenant: str,
    role: str,
    *,
    regions: Sequence[str] = (),
    actor: str,
    source: str | None = None,
) -> GrantChange:
    """Grant ``role`` to a person in a tenant (or on the platform); a no-op if they hold it.
    A regional operator is granted per region (a territory and everything under it)."""
    async with db.privileged_session(actor=actor) as session:
        user = await staff_member(session, email)
        where = await tenant_or_platform(session, tenant)
        await check_role(session, role, where)
        problems = await _region_problems(session, role, regions)
        if where is not None and where.status != TenantStatus.ACTIVE:
            problems.append(
                FieldError("tenant", f"{tenant!r} is {where.status}: resume it before granting")
            )
        if user.status != UserStatus.ACTIVE:
            problems.append(FieldError("email", f"{email!r} is deactivated"))
        if problems:
            raise InvalidInput(problems)
        grant = StoredGrant(where.id if where else None, user.id, role)
        added = await store.add_grants(session, [grant], granted_by=actor)
        new_regions = await _add_regions(session, user.id, regions, actor) if regions else []
        if added or new_regions:
            _audit_grant(session, "grant.added", grant, user, tenant, actor, source, new_regions)
        return GrantChange(
            email=user.email,
            tenant=tenant,
            role=role,
            changed=bool(added or new_regions),
            regions=await _regions_of(session, user.id) if role == REGIONAL_OPERATOR else [],
        )


async def revoke_role(
    db: Database,
    email: str,
    tenant: str,
    role: str,
    *,
    regions: Sequence[str] = (),
    actor: str,
    source: str | None = None,
) -> GrantChange:
    """Take exactly one role from a person in one tenant; every other grant stays. With
    ``regions``, a regional operator loses only those; losing the last one ends the role (it
    never widens into a federal one)."""
    async with db.privileged_session(actor=actor) as session:
        user = await staff_member(session, email)
        where = await tenant_or_platform(session, tenant)
        await check_role(session, role, where)
        problems = await _region_problems(session, role, regions, required=False)
        if problems:
            raise InvalidInput(problems)
        grant = StoredGrant(where.id if where else None, user.id, role)
        gone_regions: list[str] = []
        if regions:
            gone_regions = list(
                (
                    await session.execute(
                        text(
                            "DELETE FROM operator_regions WHERE user_id = :u "
                            "AND region_code = ANY(:r) RETURNING region_code"
                        ),
                        {"u": user.id, "r": list(regions)},
                    )
                ).scalars()
            )
        left = await _regions_of(session, user.id) if role == REGIONAL_OPERATOR else []
        removed = await store.remove_grants(session, [grant]) if not left else []
        if removed or gone_regions:
            _audit_grant(
                session, "grant.removed", grant, user, tenant, actor, source, sorted(gone_regions)
            )
        return GrantChange(
            email=user.email,
            tenant=tenant,
            role=role,
            changed=bool(removed or gone_regions),
            regions=left,
        )


async def _region_problems(
    session: AsyncSession, role: str, regions: Sequence[str], *, required: bool = True
) -> list[FieldError]:
    if role != REGIONAL_OPERATOR:
        if regions:
            return [FieldError("region", f"only {REGIONAL_OPERATOR} is granted per region")]
        return []
    if not regions:
        if required:
            return [FieldError("region", "name at least one region (a territory code)")]
        return []
    known = set(
        (
            await session.execute(
                text("SELECT code FROM territories WHERE code = ANY(:c)"), {"c": list(regions)}
            )
        ).scalars()
    )
    return [
        FieldError("region", f"unknown territory {code}") for code in regions if code not in known
    ]


async def _add_regions(
    session: AsyncSession, user_id: uuid.UUID, regions: Sequence[str], actor: str
) -> list[str]:
    added = await session.execute(
        text(
            """
            INSERT INTO operator_regions (user_id, region_code, granted_by)
            SELECT :u, r, :a FROM unnest(CAST(:r AS text[])) AS r
            ON CONFLICT DO NOTHING RETURNING region_code
            """
        ),
        {"u": user_id, "r": list(dict.fromkeys(regions)), "a": actor},
    )
    return sorted(added.scalars())


async def _regions_of(session: AsyncSession, user_id: uuid.UUID) -> list[str]:
    found = await session.execute(
        text("SELECT region_code FROM operator_regions WHERE user_id = :u ORDER BY 1"),
        {"u": user_id},
    )
    return list(found.scalars())


async def _all_regions(
    session: AsyncSession, user_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, list[str]]:
    found = await session.execute(
        text(
            "SELECT user_id, region_code FROM operator_regions WHERE user_id = ANY(:u) "
            "ORDER BY region_code"
        ),
        {"u": list(user_ids)},
    )
    regions: dict[uuid.UUID, list[str]] = {}
    for user_id, code in found:
        regions.setdefault(user_id, []).append(code)
    return regions


def _audit_grant(
    session: AsyncSession,
    action: str,
    grant: StoredGrant,
    user: Identity,
    tenant: str,
    actor: str,
    source: str | None,
    regions: list[str] | None = None,
) -> None:
    record_audit(
        session,
        tenant_id=grant.tenant_id,
        actor=actor,
        action=action,
        object_type="grant",
        object_id=f"{user.email}/{tenant}/{grant.role}",
        changes={"email": user.email, "tenant": tenant, "role": grant.role}
        | ({"regions": regions} if regions else {}),
        source=source,
    )
