"""Staff and their roles: people are global identities; grants tie them to tenants.

Each function owns its transaction on the privileged connection (platform admins work from the
CLI), checks everything first, writes the policy store, and records the change in the audit
log. The policy tables announce each change to every running process themselves (triggers).
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from rbac import store, tokens
from rbac.enforcer import PolicyEnforcer, PolicySnapshot, TenantState
from rbac.models import ApiToken, CustomRole, User, UserStatus
from rbac.permissions import UnknownPermission, get_permission
from rbac.roles import ROLE_TEMPLATES, Reach, RoleScope, UnknownRole
from rbac.store import Identity, Person, StoredGrant
from tenancy.audit import record_audit
from tenancy.database import Database
from tenancy.errors import FieldError, InvalidInput, NotFound
from tenancy.staff.schemas import (
    PLATFORM,
    GrantChange,
    GrantRead,
    OrganizationRef,
    PermissionCheck,
    RoleRead,
    StaffInput,
    StaffRead,
    TokenCreated,
    TokenRead,
    Workplaces,
)
from tenancy.tenants.models import Tenant, TenantStatus

CUSTOM_ROLE_NAME = re.compile(r"^[a-z][a-z0-9_-]{1,39}$")
# Permissions that only make sense platform-wide; a tenant's custom role cannot carry them.
PLATFORM_ONLY = frozenset({"catalog:edit", "routing:edit", "tenant:provision"})


async def load_policy(db: Database) -> PolicySnapshot:
    """The whole policy, read through the app role (the policy tables are readable to it)."""
    async with db.public_session() as session:
        return await _snapshot(session)


async def _tenant_states(session: AsyncSession) -> tuple[dict[str, TenantState], dict[str, str]]:
    # Plain tuples from the driver: a country's 200,000 tenants as SQLAlchemy rows would
    # cost a web process a second at start.
    rows = await store.rows_as_tuples(
        session, "SELECT id::text, parent_id::text, status, slug FROM tenants", {}
    )
    states, slugs = {}, {}
    active: dict[str | None, TenantState] = {}  # the parent's state, shared by its children
    for tenant, parent, status, slug in rows:
        if status == "active":
            state = active.get(parent)
            if state is None:
                state = active[parent] = TenantState(parent, status)
        else:
            state = TenantState(parent, status)
        states[tenant] = state
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


# --- lookups that name the bad field -----------------------------------------------------


async def _user(session: AsyncSession, email: str) -> Identity:
    found = await store.users_by_email(session, [email])
    user = found.get(store.normalise_email(email))
    if user is None:
        raise InvalidInput.one("email", f"no staff member with e-mail {email!r}")
    return user


async def _tenant(session: AsyncSession, slug: str) -> Tenant | None:
    """The tenant named by ``slug``; None for the platform."""
    if slug == PLATFORM:
        return None
    tenant = (await session.scalars(select(Tenant).where(Tenant.slug == slug))).first()
    if tenant is None:
        raise InvalidInput.one("tenant", f"unknown tenant {slug!r}")
    return tenant


async def _check_role(session: AsyncSession, role: str, tenant: Tenant | None) -> None:
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


# --- staff -------------------------------------------------------------------------------


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
        user = await _user(session, email)
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
        scope = await _tenant(session, tenant) if tenant is not None else None
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


# --- grants ------------------------------------------------------------------------------


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
        user = await _user(session, email)
        where = await _tenant(session, tenant)
        await _check_role(session, role, where)
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
        user = await _user(session, email)
        where = await _tenant(session, tenant)
        await _check_role(session, role, where)
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


# --- roles -------------------------------------------------------------------------------


def _template_read(name: str) -> RoleRead:
    template = ROLE_TEMPLATES[name]
    return RoleRead(
        name=template.name,
        description=template.description,
        scope=template.scope.value,
        permissions=[
            p if reach is Reach.TENANT else f"{p} ({reach.value})" for p, reach in template.grants
        ],
    )


def _custom_read(role: CustomRole, slug: str) -> RoleRead:
    return RoleRead(
        name=role.name,
        description=role.description,
        scope=f"custom:{slug}",
        permissions=list(role.permissions),
    )


async def list_roles(db: Database, tenant: str | None = None) -> list[RoleRead]:
    """The shared templates, plus the custom roles of one tenant when it is named."""
    roles = [_template_read(name) for name in ROLE_TEMPLATES]
    if tenant is not None:
        async with db.privileged_session() as session:
            where = await _tenant(session, tenant)
            if where is not None:
                roles += [
                    _custom_read(r, where.slug)
                    for r in await store.custom_roles(session, [where.id])
                ]
    return roles


async def show_role(db: Database, name: str, tenant: str | None = None) -> RoleRead:
    for role in await list_roles(db, tenant):
        if role.name == name:
            return role
    raise NotFound("role", name)


async def define_role(
    db: Database,
    tenant: str,
    name: str,
    permissions: Sequence[str],
    *,
    description: str = "",
    actor: str,
) -> RoleRead:
    """Create or replace a tenant's custom role from registry permissions."""
    errors: list[FieldError] = []
    if name in ROLE_TEMPLATES:
        errors.append(FieldError("name", f"{name!r} is a shared role template; choose another"))
    elif not CUSTOM_ROLE_NAME.fullmatch(name):
        errors.append(FieldError("name", "must be 2-40 lowercase letters, digits, '-' or '_'"))
    if not permissions:
        errors.append(FieldError("permissions", "name at least one permission"))
    for permission in permissions:
        try:
            found = get_permission(permission)
        except UnknownPermission as exc:
            errors.append(FieldError("permissions", str(exc)))
            continue
        if found.name in PLATFORM_ONLY:
            errors.append(FieldError("permissions", f"{permission!r} is for platform roles only"))
    async with db.privileged_session(actor=actor) as session:
        where = await _tenant(session, tenant)
        if where is None:
            errors.append(FieldError("tenant", "custom roles belong to a tenant"))
        if errors:
            raise InvalidInput(errors)
        assert where is not None
        role = CustomRole(
            tenant_id=where.id,
            name=name,
            description=description,
            permissions=sorted(set(permissions)),
        )
        created = await store.save_custom_role(session, role)
        record_audit(
            session,
            tenant_id=where.id,
            actor=actor,
            action="role.created" if created else "role.changed",
            object_type="role",
            object_id=name,
            changes={"permissions": role.permissions, "description": description},
        )
        return _custom_read(role, where.slug)


# --- questions ---------------------------------------------------------------------------


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
        user = await _user(session, email)
        where = await _tenant(session, tenant)
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


# --- API tokens --------------------------------------------------------------------------


async def create_token(
    db: Database,
    tenant: str,
    role: str,
    *,
    name: str,
    expires_at: datetime | None,
    actor: str,
) -> TokenCreated:
    """Issue a token acting with ``role`` in ``tenant``; its secret is returned only here."""
    if not name.strip():
        raise InvalidInput.one("name", "give the token a name that says what uses it")
    async with db.privileged_session(actor=actor) as session:
        where = await _tenant(session, tenant)
        if where is None:
            raise InvalidInput.one("tenant", "a token acts in one tenant, not on the platform")
        await _check_role(session, role, where)
        if where.status != TenantStatus.ACTIVE:
            raise InvalidInput.one("tenant", f"{tenant!r} is {where.status}: no new tokens")
        issued = tokens.issue(where.id, role, name.strip(), created_by=actor, expires_at=expires_at)
        session.add(issued.token)
        await session.flush()
        record_audit(
            session,
            tenant_id=where.id,
            actor=actor,
            action="token.created",
            object_type="token",
            object_id=str(issued.token.id),
            changes={"name": issued.token.name, "role": role, "expires_at": _iso(expires_at)},
        )
        return TokenCreated(
            **_token_read(issued.token, tenant).model_dump(), token=issued.plaintext
        )


async def list_tokens(db: Database, tenant: str) -> list[TokenRead]:
    async with db.privileged_session() as session:
        where = await _tenant(session, tenant)
        if where is None:
            raise InvalidInput.one("tenant", "tokens belong to a tenant")
        rows = await session.scalars(
            select(ApiToken)
            .where(col(ApiToken.tenant_id) == where.id)
            .order_by(col(ApiToken.created_at))
        )
        return [_token_read(row, tenant) for row in rows]


async def revoke_token(db: Database, token_id: str, *, actor: str) -> TokenRead:
    """Revoke a token at once, everywhere; revoking it again changes nothing."""
    try:
        key = uuid.UUID(token_id)
    except ValueError:
        raise InvalidInput.one("token", f"{token_id!r} is not a token id") from None
    async with db.privileged_session(actor=actor) as session:
        row = (await session.scalars(select(ApiToken).where(col(ApiToken.id) == key))).first()
        if row is None:
            raise NotFound("token", token_id)
        slug = (
            await session.execute(
                text("SELECT slug FROM tenants WHERE id = :id"), {"id": row.tenant_id}
            )
        ).scalar_one()
        if row.revoked_at is None:
            row.revoked_at = datetime.now(UTC)
            session.add(row)
            await session.flush()
            record_audit(
                session,
                tenant_id=row.tenant_id,
                actor=actor,
                action="token.revoked",
                object_type="token",
                object_id=str(row.id),
                changes={"name": row.name},
            )
        return _token_read(row, slug)


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None


def _token_read(row: ApiToken, tenant: str) -> TokenRead:
    return TokenRead(
        id=str(row.id),
        name=row.name,
        tenant=tenant,
        role=row.role,
        created_by=row.created_by,
        created_at=row.created_at,
        expires_at=row.expires_at,
        revoked_at=row.revoked_at,
        last_used_at=row.last_used_at,
    )
