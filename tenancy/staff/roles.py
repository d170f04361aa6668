"""Roles: the templates every tenant has, and the custom roles a tenant defines from
permissions (never the platform-only ones)."""

from __future__ import annotations

import re
from collections.abc import Sequence

from rbac import store
from rbac.models import CustomRole
from rbac.permissions import UnknownPermission, get_permission
from rbac.roles import ROLE_TEMPLATES, Reach
from tenancy.audit import record_audit
from tenancy.database import Database
from tenancy.errors import FieldError, InvalidInput, NotFound
from tenancy.staff.lookups import tenant_or_platform
from tenancy.staff.schemas import (
    RoleRead,
)

CUSTOM_ROLE_NAME = re.compile(r"^[a-z][a-z0-9_-]{1,39}$")
# Permissions that only make sense platform-wide; a tenant's custom role cannot carry them.
PLATFORM_ONLY = frozenset({"catalog:edit", "routing:edit", "tenant:provision"})


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
            where = await tenant_or_platform(session, tenant)
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
        where = await tenant_or_platform(session, tenant)
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
