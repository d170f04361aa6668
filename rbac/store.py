"""The policy store in PostgreSQL: users, grants and custom roles.

Functions take the caller's session and never commit: the caller's service owns the
transaction, its audit rows and its checks. Writes are set-based (one statement per batch,
whatever its size) and removal matches whole keys, never a column at a time.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from rbac.enforcer import CustomRoleRules, Grant
from rbac.models import CustomRole, UserStatus
from rbac.roles import PLATFORM_DOMAIN


@dataclass(frozen=True, order=True, slots=True)
class StoredGrant:
    """One grant as stored: ``tenant_id`` is None for a platform role."""

    tenant_id: uuid.UUID | None
    user_id: uuid.UUID
    role: str

    def as_grant(self) -> Grant:
        domain = PLATFORM_DOMAIN if self.tenant_id is None else str(self.tenant_id)
        return Grant(str(self.user_id), self.role, domain)


@dataclass(frozen=True)
class Person:
    email: str
    name: str


def normalise_email(email: str) -> str:
    return email.strip().lower()


@dataclass(frozen=True, slots=True)
class Identity:
    """A user as the policy store needs them (lighter than the ORM row, for thousands)."""

    id: uuid.UUID
    email: str
    name: str
    status: str


async def rows_as_tuples(session: AsyncSession, query: str, params: dict[str, Any]) -> list[Any]:
    """Rows as plain tuples from the driver, in the session's transaction: for the lookups
    that return a row per person or grant, where SQLAlchemy's rows cost more than the query."""
    connection = await session.connection()
    raw = (await connection.get_raw_connection()).driver_connection
    assert raw is not None
    return await (await raw.execute(query, params)).fetchall()  # type: ignore[no-any-return]


async def users_by_email(session: AsyncSession, emails: Iterable[str]) -> dict[str, Identity]:
    wanted = sorted({normalise_email(e) for e in emails})
    if not wanted:
        return {}
    rows = await rows_as_tuples(
        session,
        "SELECT id, email, name, status FROM users WHERE email = ANY(%(emails)s)",
        {"emails": wanted},
    )
    return {email: Identity(id, email, name, status) for id, email, name, status in rows}


async def held_grants(
    session: AsyncSession, tenant_ids: Sequence[uuid.UUID]
) -> list[tuple[uuid.UUID, uuid.UUID, str]]:
    """The grants held in these tenants: (tenant, user, role)."""
    if not tenant_ids:
        return []
    return await rows_as_tuples(
        session,
        "SELECT tenant_id, user_id, role FROM staff_grants WHERE tenant_id = ANY(%(tenants)s)",
        {"tenants": list(tenant_ids)},
    )


async def add_users(session: AsyncSession, people: Sequence[Person]) -> list[Identity]:
    """Create the users that do not exist yet (by e-mail); return the ones created."""
    if not people:
        return []
    result = await session.execute(
        text(
            """
            INSERT INTO users (id, email, name)
            SELECT gen_random_uuid(), email, name
            FROM unnest(CAST(:emails AS text[]), CAST(:names AS text[])) AS p(email, name)
            ON CONFLICT (email) DO NOTHING
            RETURNING id, email, name, status
            """
        ),
        {
            "emails": [normalise_email(p.email) for p in people],
            "names": [p.name.strip() for p in people],
        },
    )
    return [Identity(r.id, r.email, r.name, r.status) for r in result]


async def rename_users(session: AsyncSession, names: dict[uuid.UUID, str]) -> None:
    if names:
        await session.execute(
            text(
                """
                UPDATE users SET name = n.name, updated_at = now()
                FROM unnest(CAST(:ids AS uuid[]), CAST(:names AS text[])) AS n(id, name)
                WHERE users.id = n.id AND users.name <> n.name
                """
            ),
            {"ids": list(names), "names": list(names.values())},
        )


async def set_user_status(session: AsyncSession, user_id: uuid.UUID, status: UserStatus) -> bool:
    result = await session.execute(
        text(
            "UPDATE users SET status = :status, updated_at = now() "
            "WHERE id = :id AND status <> :status RETURNING id"
        ),
        {"id": user_id, "status": status.value},
    )
    return result.first() is not None


def _split(grants: Iterable[StoredGrant]) -> tuple[list[StoredGrant], list[StoredGrant]]:
    staff: list[StoredGrant] = []
    platform: list[StoredGrant] = []
    for grant in grants:
        (platform if grant.tenant_id is None else staff).append(grant)
    return staff, platform


async def add_grants(
    session: AsyncSession, grants: Iterable[StoredGrant], *, granted_by: str
) -> list[StoredGrant]:
    """Store many grants in one statement per table; return those that were not there yet."""
    staff, platform = _split(grants)
    added: list[StoredGrant] = []
    if staff:
        result = await session.execute(
            text(
                """
                INSERT INTO staff_grants (tenant_id, user_id, role, granted_by)
                SELECT t, u, r, :by
                FROM unnest(CAST(:tenants AS uuid[]), CAST(:users AS uuid[]),
                            CAST(:roles AS text[])) AS g(t, u, r)
                ON CONFLICT DO NOTHING
                RETURNING tenant_id, user_id, role
                """
            ),
            {
                "tenants": [g.tenant_id for g in staff],
                "users": [g.user_id for g in staff],
                "roles": [g.role for g in staff],
                "by": granted_by,
            },
        )
        added += [StoredGrant(r.tenant_id, r.user_id, r.role) for r in result]
    if platform:
        result = await session.execute(
            text(
                """
                INSERT INTO platform_grants (user_id, role, granted_by)
                SELECT u, r, :by
                FROM unnest(CAST(:users AS uuid[]), CAST(:roles AS text[])) AS g(u, r)
                ON CONFLICT DO NOTHING
                RETURNING user_id, role
                """
            ),
            {
                "users": [g.user_id for g in platform],
                "roles": [g.role for g in platform],
                "by": granted_by,
            },
        )
        added += [StoredGrant(None, r.user_id, r.role) for r in result]
    return added


async def remove_grants(session: AsyncSession, grants: Iterable[StoredGrant]) -> list[StoredGrant]:
    """Remove exactly these grants (whole-key match); return those that existed."""
    staff, platform = _split(grants)
    removed: list[StoredGrant] = []
    if staff:
        result = await session.execute(
            text(
                """
                DELETE FROM staff_grants AS s
                USING unnest(CAST(:tenants AS uuid[]), CAST(:users AS uuid[]),
                             CAST(:roles AS text[])) AS g(t, u, r)
                WHERE (s.tenant_id, s.user_id, s.role) = (g.t, g.u, g.r)
                RETURNING s.tenant_id, s.user_id, s.role
                """
            ),
            {
                "tenants": [g.tenant_id for g in staff],
                "users": [g.user_id for g in staff],
                "roles": [g.role for g in staff],
            },
        )
        removed += [StoredGrant(r.tenant_id, r.user_id, r.role) for r in result]
    if platform:
        result = await session.execute(
            text(
                """
                DELETE FROM platform_grants AS s
                USING unnest(CAST(:users AS uuid[]), CAST(:roles AS text[])) AS g(u, r)
                WHERE (s.user_id, s.role) = (g.u, g.r)
                RETURNING s.user_id, s.role
                """
            ),
            {"users": [g.user_id for g in platform], "roles": [g.role for g in platform]},
        )
        removed += [StoredGrant(None, r.user_id, r.role) for r in result]
    return removed


async def grants_of(
    session: AsyncSession,
    *,
    user_ids: Sequence[uuid.UUID] | None = None,
    tenant_ids: Sequence[uuid.UUID] | None = None,
) -> list[StoredGrant]:
    """Grants of some users, some tenants, or (with neither) all of them."""
    where, params = [], {}
    if user_ids is not None:
        where.append("user_id = ANY(:users)")
        params["users"] = list(user_ids)
    staff_where = list(where)
    if tenant_ids is not None:
        staff_where.append("tenant_id = ANY(:tenants)")
        params["tenants"] = list(tenant_ids)
    staff_sql = "SELECT tenant_id, user_id, role FROM staff_grants"
    if staff_where:
        staff_sql += " WHERE " + " AND ".join(staff_where)
    grants = [
        StoredGrant(r.tenant_id, r.user_id, r.role)
        for r in await session.execute(text(staff_sql), params)
    ]
    if tenant_ids is None:
        platform_sql = "SELECT user_id, role FROM platform_grants"
        if where:
            platform_sql += " WHERE " + " AND ".join(where)
        grants += [
            StoredGrant(None, r.user_id, r.role)
            for r in await session.execute(text(platform_sql), params)
        ]
    return grants


async def all_grants(session: AsyncSession) -> list[Grant]:
    """Every grant, staff and platform, as the enforcer takes them, for loading the whole
    policy: the ids come as text from PostgreSQL and the rows as plain tuples from the driver,
    which at a million grants is most of a process's start."""
    rows = await rows_as_tuples(
        session,
        """
        SELECT user_id::text, role, tenant_id::text FROM staff_grants
        UNION ALL
        SELECT user_id::text, role, %(platform)s FROM platform_grants
        """,
        {"platform": PLATFORM_DOMAIN},
    )
    return list(map(Grant._make, rows))


async def custom_roles(
    session: AsyncSession, tenant_ids: Sequence[uuid.UUID] | None = None
) -> list[CustomRole]:
    statement = select(CustomRole).order_by(col(CustomRole.tenant_id), col(CustomRole.name))
    if tenant_ids is not None:
        statement = statement.where(col(CustomRole.tenant_id).in_(list(tenant_ids)))
    return list(await session.scalars(statement))


def custom_role_rules(role: CustomRole) -> CustomRoleRules:
    return CustomRoleRules(str(role.tenant_id), role.name, tuple(role.permissions))


async def save_custom_role(session: AsyncSession, role: CustomRole) -> bool:
    """Create or replace a custom role; return True when it is new."""
    result = await session.execute(
        text(
            """
            INSERT INTO custom_roles (tenant_id, name, description, permissions)
            VALUES (:tenant_id, :name, :description, :permissions)
            ON CONFLICT (tenant_id, name) DO UPDATE
                SET description = excluded.description, permissions = excluded.permissions,
                    updated_at = now()
            RETURNING (xmax = 0) AS inserted
            """
        ),
        {
            "tenant_id": role.tenant_id,
            "name": role.name,
            "description": role.description,
            "permissions": list(role.permissions),
        },
    )
    return bool(result.scalar_one())


async def delete_custom_role(session: AsyncSession, tenant_id: uuid.UUID, name: str) -> bool:
    result = await session.execute(
        text("DELETE FROM custom_roles WHERE tenant_id = :t AND name = :n RETURNING name"),
        {"t": tenant_id, "n": name},
    )
    return result.first() is not None


async def inactive_users(session: AsyncSession) -> set[str]:
    result = await session.execute(text("SELECT id FROM users WHERE status <> 'active'"))
    return {str(r.id) for r in result}
