"""An organization's own roles, as its cabinet administrator defines them from the permission
registry: every problem named at its field with a kind a page can word (a platform-only
permission is refused: an organization's role acts within the organization)."""

from __future__ import annotations

from collections.abc import Sequence

from rbac.permissions import PERMISSIONS
from rbac.roles import ROLE_TEMPLATES
from tenancy.database import Database
from tenancy.errors import FieldError, InvalidInput
from tenancy.staff import roles
from tenancy.staff.organization import grantable_roles
from tenancy.staff.schemas import RoleRead

MAX_DESCRIPTION = 200


async def organization_roles(db: Database, tenant: str) -> list[RoleRead]:
    """The organization's own roles (the shared ones are described elsewhere)."""
    return [r for r in await grantable_roles(db, tenant) if r.scope.startswith("custom:")]


async def define(
    db: Database,
    tenant: str,
    name: str,
    description: str,
    permissions: Sequence[str],
    *,
    actor: str,
) -> RoleRead:
    """Create the role, or replace it when the organization has one by that name."""
    name, description = name.strip(), " ".join(description.split())
    problems: list[FieldError] = []
    if name in ROLE_TEMPLATES:
        problems.append(FieldError("name", f"{name!r} is a shared role", code="shared"))
    elif not roles.CUSTOM_ROLE_NAME.fullmatch(name):
        problems.append(
            FieldError("name", "2-40 lowercase latin letters, digits, - or _", code="role_name")
        )
    if len(description) > MAX_DESCRIPTION:
        problems.append(
            FieldError("description", "too long", code="string_too_long", limit=MAX_DESCRIPTION)
        )
    chosen = sorted(set(permissions))
    unknown = [p for p in chosen if p not in PERMISSIONS]
    platform = [p for p in chosen if p in roles.PLATFORM_ONLY]
    if not chosen:
        problems.append(FieldError("permissions", "choose at least one", code="required"))
    elif unknown:
        problems.append(FieldError("permissions", f"unknown: {', '.join(unknown)}", code="unknown"))
    elif platform:
        problems.append(
            FieldError("permissions", f"platform only: {', '.join(platform)}", code="platform_only")
        )
    if problems:
        raise InvalidInput(problems)
    return await roles.define_role(db, tenant, name, chosen, description=description, actor=actor)
