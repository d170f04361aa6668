"""What a manifest's staff would change, compared in PostgreSQL.

A national manifest lists 500,000 people holding 700,000 grants, nearly all of them already
stored. Fetching every stored user and grant to compare them in Python costs a Python object
per row (and uuid objects hash in Python); instead the manifest's people and grants are copied
into temporary tables of the plan's transaction and joined with the stored ones, so only the
differences come back. The rows are still checked one by one in Python first, since every
problem must name its ``file:line``. The apply that follows writes the new grants from the
same table, in the same transaction.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Protocol

from sqlalchemy.ext.asyncio import AsyncSession

from rbac import store
from rbac.roles import ROLE_TEMPLATES, RoleScope
from rbac.store import StoredGrant
from tenancy.errors import FieldError
from tenancy.provisioning.bulk import execute, fetch, temporary_table
from tenancy.provisioning.manifest import Manifest
from tenancy.provisioning.schemas import GrantLine, StaffRename
from tenancy.tenants.models import TenantStatus

_TENANT_ROLES = frozenset(r.name for r in ROLE_TEMPLATES.values() if r.scope is RoleScope.TENANT)


class Placed(Protocol):
    """A tenant as it will be: its id and status."""

    @property
    def id(self) -> uuid.UUID: ...

    @property
    def status(self) -> str: ...


@dataclass
class StaffPlan:
    staff_added: list[str] = field(default_factory=list)
    people: dict[str, str] = field(default_factory=dict)  # email → name, for new people
    staff_renamed: list[StaffRename] = field(default_factory=list)
    renames: dict[uuid.UUID, str] = field(default_factory=dict)
    grants_added: list[GrantLine] = field(default_factory=list)
    unchanged_grants: int = 0
    grants_removed: list[GrantLine] = field(default_factory=list)
    removed: list[StoredGrant] = field(default_factory=list)


# Byte order, as Python sorts strings, whatever the database's collation.
_PEOPLE_CHANGED = """
    SELECT p.email, p.name, u.id, u.name, u.status
    FROM manifest_people p LEFT JOIN users u ON u.email = p.email
    WHERE u.id IS NULL OR u.name <> p.name OR u.status <> 'active'
    ORDER BY p.n
"""
_GRANTS_ADDED = """
    SELECT d.slug, d.email, d.role
    FROM manifest_grants d
    LEFT JOIN tenants t ON t.slug = d.slug
    LEFT JOIN users u ON u.email = d.email
    WHERE NOT EXISTS (
        SELECT 1 FROM staff_grants g
        WHERE g.tenant_id = t.id AND g.user_id = u.id AND g.role = d.role
    )
    ORDER BY d.slug COLLATE "C", d.email COLLATE "C", d.role COLLATE "C"
"""
_GRANTS_GONE = """
    SELECT t.slug, u.email, g.role, g.tenant_id, g.user_id
    FROM staff_grants g
    JOIN tenants t ON t.id = g.tenant_id
    JOIN users u ON u.id = g.user_id
    WHERE t.slug IN (SELECT slug FROM manifest_tenants)
    AND NOT EXISTS (
        SELECT 1 FROM manifest_grants d
        WHERE d.slug = t.slug AND d.email = u.email AND d.role = g.role
    )
    ORDER BY t.slug COLLATE "C", u.email COLLATE "C", g.role COLLATE "C"
"""
# The manifest's new people, stored (their e-mails come back, for the audit).
ADD_PEOPLE = """
    INSERT INTO users (id, email, name)
    SELECT gen_random_uuid(), p.email, p.name
    FROM manifest_people p
    WHERE NOT EXISTS (SELECT 1 FROM users u WHERE u.email = p.email)
    ORDER BY p.n
    ON CONFLICT (email) DO NOTHING
    RETURNING email
"""
# The manifest's grants as ids, once its tenants and people are stored.
WRITE_GRANTS = """
    INSERT INTO staff_grants (tenant_id, user_id, role, granted_by)
    SELECT t.id, u.id, d.role, %(by)s
    FROM manifest_grants d
    JOIN tenants t ON t.slug = d.slug
    JOIN users u ON u.email = d.email
    ON CONFLICT DO NOTHING
"""


async def plan_staff(
    session: AsyncSession,
    manifest: Manifest,
    final: Mapping[str, Placed],
    errors: list[FieldError],
    *,
    prune: bool,
) -> StaffPlan:
    plan = StaffPlan()
    # The joins below sort and hash a row per grant: in memory, not in files, at national size
    # (for this transaction only).
    await execute(session, "SET LOCAL work_mem = '128MB'")
    people: dict[str, str] = {}
    for person in manifest.staff:
        people[person.spec.email] = person.spec.name
    await temporary_table(
        session,
        "manifest_people (n int, email text, name text)",
        ((n, email, name) for n, (email, name) in enumerate(people.items())),
    )
    inactive: set[str] = set()
    for email, name, user_id, old_name, status in await fetch(session, _PEOPLE_CHANGED):
        if user_id is None:
            plan.staff_added.append(email)
            plan.people[email] = name
            continue
        if old_name != name:
            plan.staff_renamed.append(StaffRename(email=email, old=old_name, new=name))
            plan.renames[user_id] = name
        if status != "active":
            inactive.add(email)
    del people

    desired = _desired(manifest, final, inactive, await _custom_role_names(session), errors)
    await temporary_table(session, "manifest_grants (slug text, email text, role text)", desired)
    count = len(desired)
    del desired
    await execute(session, "ANALYZE manifest_people, manifest_grants")
    plan.grants_added = [
        GrantLine(tenant=t, email=e, role=r) for t, e, r in await fetch(session, _GRANTS_ADDED)
    ]
    plan.unchanged_grants = count - len(plan.grants_added)
    if prune:
        await temporary_table(
            session, "manifest_tenants (slug text)", ((e.spec.slug,) for e in manifest.tenants)
        )
        for slug, email, role, tenant_id, user_id in await fetch(session, _GRANTS_GONE):
            plan.grants_removed.append(GrantLine(tenant=slug, email=email, role=role))
            plan.removed.append(StoredGrant(tenant_id, user_id, role))
    return plan


def _desired(
    manifest: Manifest,
    final: Mapping[str, Placed],
    inactive: set[str],
    custom: dict[uuid.UUID, set[str]],
    errors: list[FieldError],
) -> set[tuple[str, str, str]]:
    """The grants the manifest states, each row's problems in ``errors``."""
    desired: set[tuple[str, str, str]] = set()
    add = desired.add
    for person in manifest.staff:
        spec = person.spec
        tenant = final.get(person.tenant)
        if tenant is None:
            if person.tenant not in manifest.unreadable:
                errors.append(
                    FieldError("tenant", f"unknown tenant {person.tenant!r}", person.location)
                )
            continue
        if spec.email in inactive and spec.roles:
            errors.append(FieldError("email", f"{spec.email} is deactivated", person.location))
        for role in spec.roles:
            if role not in _TENANT_ROLES and role not in custom.get(tenant.id, ()):
                known = ", ".join(sorted(_TENANT_ROLES | custom.get(tenant.id, set())))
                errors.append(
                    FieldError("roles", f"unknown role {role!r} (known: {known})", person.location)
                )
            elif tenant.status != TenantStatus.ACTIVE:
                errors.append(
                    FieldError(
                        "roles",
                        f"{person.tenant!r} is {tenant.status}: no new grants",
                        person.location,
                    )
                )
            else:
                add((person.tenant, spec.email, role))
    return desired


async def _custom_role_names(session: AsyncSession) -> dict[uuid.UUID, set[str]]:
    names: dict[uuid.UUID, set[str]] = {}
    for role in await store.custom_roles(session):
        names.setdefault(role.tenant_id, set()).add(role.name)
    return names
