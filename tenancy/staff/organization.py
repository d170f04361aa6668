"""One organization's staff as its cabinet administrator runs them: the people who hold a role
there, the roles it may give, inviting a new person, and why someone may or may not do
something here. Everything stays within the organization: a person who holds no role in it is
"not found" to its administrator, whatever they hold elsewhere."""

from __future__ import annotations

from dataclasses import dataclass

from tenancy.accounts import service as accounts
from tenancy.database import Database
from tenancy.errors import FieldError, InvalidInput, NotFound
from tenancy.staff import policy, roles, service
from tenancy.staff.schemas import PermissionCheck, RoleRead, StaffInput, StaffRead


@dataclass(frozen=True)
class OrganizationStaff:
    people: list[StaffRead]  # each with the grants they hold in this organization only
    roles: list[RoleRead]  # the tenant roles and the organization's custom roles


async def organization_staff(db: Database, tenant: str) -> OrganizationStaff:
    people = await service.list_staff(db, tenant)
    return OrganizationStaff(people, await grantable_roles(db, tenant))


async def grantable_roles(db: Database, tenant: str) -> list[RoleRead]:
    return [r for r in await roles.list_roles(db, tenant) if r.scope != "platform"]


async def staff_member(db: Database, tenant: str, email: str) -> StaffRead:
    """A person holding a role here; anyone else is not found."""
    wanted = email.strip().lower()
    for person in await service.list_staff(db, tenant):
        if person.email == wanted:
            return person
    raise NotFound("staff member", email)


async def invite(
    db: Database, tenant: str, email: str, name: str, role: str, *, base_url: str, actor: str
) -> StaffRead:
    """Add the person (if new), give them ``role`` here and mail them an invitation to set
    their password (the worker sends it). Everything is checked before anything is written."""
    problems = []
    if not name.strip():
        problems.append(FieldError("name", "give the person's name"))
    if "@" not in email.strip():
        problems.append(FieldError("email", "an e-mail address"))
    if role not in {r.name for r in await grantable_roles(db, tenant)}:
        problems.append(FieldError("role", f"no role {role!r} in this organization"))
    if problems:
        raise InvalidInput(problems)
    [person] = await service.add_staff(
        db, [StaffInput(email=email.strip(), name=name.strip())], actor=actor
    )
    await service.grant_role(db, person.email, tenant, role, actor=actor)
    if person.status == "active":
        await accounts.invite_staff(db, [person.email], base_url=base_url, actor=actor)
    return await staff_member(db, tenant, person.email)


async def explain(db: Database, tenant: str, email: str, permission: str) -> PermissionCheck:
    """Why a person of this organization may or may not use ``permission`` here."""
    person = await staff_member(db, tenant, email)
    return await policy.check_permission(db, person.email, tenant, permission)


async def grant(db: Database, tenant: str, email: str, role: str, *, actor: str) -> None:
    person = await staff_member(db, tenant, email)
    await service.grant_role(db, person.email, tenant, role, actor=actor)


async def revoke(db: Database, tenant: str, email: str, role: str, *, actor: str) -> None:
    person = await staff_member(db, tenant, email)
    await service.revoke_role(db, person.email, tenant, role, actor=actor)
