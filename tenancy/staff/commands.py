"""`priemnaya staff`, `role` and `policy`: staff members, their roles where, and asking the
permission engine."""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import click

from tenancy.console import (
    EXIT_FAILED,
    BadInput,
    actor,
    emit_json,
    json_option,
    parse_expiry,
    render_table,
    reports_errors,
    run_with_database,
    settings,
)
from tenancy.tenants.commands import apply_files

if TYPE_CHECKING:
    from tenancy.database import Database


@click.group("staff")
def staff() -> None:
    """Staff: people (global identities) and the roles they hold in tenants."""


@staff.command("add")
@click.argument("email")
@click.option("--name", required=True, help="Full name.")
@click.option("--tenant", help="Grant roles in this tenant right away (slug, or 'platform').")
@click.option("--role", "roles", multiple=True, help="A role to grant in --tenant (repeatable).")
@json_option
@reports_errors
def staff_add(
    email: str, name: str, tenant: str | None, roles: tuple[str, ...], as_json: bool
) -> None:
    """Add a person (nothing changes if the e-mail is known), optionally with roles."""
    from tenancy.staff import service
    from tenancy.staff.schemas import StaffInput

    if roles and tenant is None:
        raise BadInput("--role needs --tenant")
    person = StaffInput.model_validate({"email": email, "name": name})

    async def work(db: Database) -> list[Any]:
        result: list[Any] = await service.add_staff(db, [person], actor=actor())
        for role in roles:
            assert tenant is not None
            result.append(await service.grant_role(db, person.email, tenant, role, actor=actor()))
        if not await accounts.people_without_password(db, None, emails=[person.email]):
            return result
        # Someone who cannot sign in yet gets a link to set their password.
        invitations = await accounts.invite_staff(
            db, [person.email], base_url=settings().base_url, actor=actor()
        )
        return [*result, *invitations]

    from tenancy.accounts import service as accounts

    done = run_with_database(work)
    if as_json:
        emit_json(done)
        return
    click.echo(f"{person.email}: {done[0].status}")
    for item in done[1:]:
        if hasattr(item, "link"):
            click.echo(f"invitation (until {item.expires_at:%Y-%m-%d %H:%M} UTC): {item.link}")
        else:
            click.echo(_grant_line(item, "granted"))


@staff.command("invite")
@click.argument("emails", nargs=-1)
@click.option("--pending", is_flag=True, help="Everyone (of --tenant) who has no password yet.")
@click.option("--tenant", help="With --pending: only the staff of this tenant.")
@click.option("--expires", default="7d", show_default=True, help="7d, 48h or 30m.")
@json_option
@reports_errors
def staff_invite(
    emails: tuple[str, ...], pending: bool, tenant: str | None, expires: str, as_json: bool
) -> None:
    """Issue invitation links to set a password (older unused links stop working)."""
    from tenancy.accounts import service as accounts

    until = parse_expiry(expires)
    if until is None:
        raise BadInput("--expires: an invitation always expires")
    if not emails and not pending:
        raise BadInput("name the people (EMAIL...) or use --pending")
    lifetime = until - datetime.now(UTC)

    async def work(db: Database) -> list[Any]:
        wanted = list(emails)
        if pending:
            wanted += await accounts.people_without_password(db, tenant)
        if not wanted:
            return []
        return await accounts.invite_staff(
            db, wanted, base_url=settings().base_url, lifetime=lifetime, actor=actor()
        )

    invitations = run_with_database(work)
    if as_json:
        emit_json(invitations)
        return
    for invitation in invitations:
        click.echo(f"{invitation.email}\t{invitation.link}")
    if not invitations:
        click.echo("nobody is waiting for an invitation")


def _grant_line(change: Any, verb: str) -> str:
    state = verb if change.changed else "unchanged"
    regions = f" (regions: {', '.join(change.regions)})" if change.regions else ""
    return f"{state}: {change.email} {change.role} in {change.tenant}{regions}"


region_option = click.option(
    "--region",
    "regions",
    multiple=True,
    help="For regional_operator: a territory code whose topics and routes the person keeps "
    "(repeatable).",
)


@staff.command("import")
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False))
@click.option("--plan", "plan_only", is_flag=True, help="Only print what would change.")
@json_option
@reports_errors
def staff_import(files: tuple[str, ...], plan_only: bool, as_json: bool) -> None:
    """Add people and grant roles from staff.csv (email,name,tenant,roles) or YAML."""
    apply_files(files, plan_only, prune=False, yes=False, as_json=as_json)


@staff.command("list")
@click.option("--tenant", help="Only the staff of this tenant (slug, or 'platform').")
@json_option
@reports_errors
def staff_list(tenant: str | None, as_json: bool) -> None:
    """List people and the roles they hold."""
    from tenancy.staff import service

    people = run_with_database(lambda db: service.list_staff(db, tenant))
    if as_json:
        emit_json(people)
        return
    render_table(
        [
            (
                p.email,
                p.name,
                p.status,
                ", ".join(
                    f"{g.role}@{g.tenant}" + (f"[{' '.join(g.regions)}]" if g.regions else "")
                    for g in p.grants
                ),
            )
            for p in people
        ],
        ["email", "name", "status", "roles"],
    )


@staff.command("grant")
@click.argument("email")
@click.argument("tenant")
@click.argument("role")
@region_option
@json_option
@reports_errors
def staff_grant(
    email: str, tenant: str, role: str, regions: tuple[str, ...], as_json: bool
) -> None:
    """Grant ROLE to EMAIL in TENANT (a slug, or 'platform' for platform roles)."""
    from tenancy.staff import service

    change = run_with_database(
        lambda db: service.grant_role(db, email, tenant, role, regions=regions, actor=actor())
    )
    if as_json:
        emit_json(change)
    else:
        click.echo(_grant_line(change, "granted"))


@staff.command("revoke")
@click.argument("email")
@click.argument("tenant")
@click.argument("role")
@region_option
@json_option
@reports_errors
def staff_revoke(
    email: str, tenant: str, role: str, regions: tuple[str, ...], as_json: bool
) -> None:
    """Take ROLE from EMAIL in TENANT; every other grant stays. With --region, a regional
    operator loses only those regions (the last one ends the role)."""
    from tenancy.staff import service

    change = run_with_database(
        lambda db: service.revoke_role(db, email, tenant, role, regions=regions, actor=actor())
    )
    if as_json:
        emit_json(change)
    else:
        click.echo(_grant_line(change, "revoked"))


def _staff_status_command(name: str, status: str, summary: str) -> None:
    @staff.command(name, help=summary)
    @click.argument("email")
    @click.option("--reason", help="Why, for the audit log.")
    @json_option
    @reports_errors
    def command(email: str, reason: str | None, as_json: bool) -> None:
        from rbac.models import UserStatus
        from tenancy.staff import service

        changed = run_with_database(
            lambda db: service.set_staff_status(
                db, email, UserStatus(status), actor=actor(), reason=reason
            )
        )
        if as_json:
            emit_json({"email": email, "status": status, "changed": changed})
        else:
            click.echo(f"{email}: {status if changed else f'already {status}'}")


_staff_status_command(
    "deactivate",
    "deactivated",
    "Stop a person everywhere at once; their grants stay on record but give nothing.",
)
_staff_status_command(
    "activate", "active", "Let a deactivated person work again with the grants they hold."
)


@click.group("role")
def role() -> None:
    """Roles: the shared templates and tenants' custom roles."""


@role.command("list")
@click.option("--tenant", help="Also list this tenant's custom roles.")
@json_option
@reports_errors
def role_list(tenant: str | None, as_json: bool) -> None:
    """List roles with what they allow."""
    from tenancy.staff import roles

    found = run_with_database(lambda db: roles.list_roles(db, tenant))
    if as_json:
        emit_json(found)
        return
    render_table(
        [(r.name, r.scope, ", ".join(r.permissions)) for r in found],
        ["role", "scope", "permissions"],
    )


@role.command("show")
@click.argument("name")
@click.option("--tenant", help="The tenant whose custom role this is.")
@json_option
@reports_errors
def role_show(name: str, tenant: str | None, as_json: bool) -> None:
    """Show one role: what it is for and each permission it gives."""
    from rbac.permissions import PERMISSIONS
    from tenancy.staff import roles

    found = run_with_database(lambda db: roles.show_role(db, name, tenant))
    if as_json:
        emit_json(found)
        return
    click.echo(f"{found.name} ({found.scope}): {found.description}")
    for entry in found.permissions:
        permission = entry.split(" ", 1)[0]
        click.echo(f"  {entry:<32} {PERMISSIONS[permission].description}")


@role.command("define")
@click.argument("tenant")
@click.argument("name")
@click.option("--permission", "permissions", multiple=True, required=True, help="Repeat for each.")
@click.option("--description", default="")
@json_option
@reports_errors
def role_define(
    tenant: str, name: str, permissions: tuple[str, ...], description: str, as_json: bool
) -> None:
    """Create or replace TENANT's custom role NAME from registry permissions."""
    from tenancy.staff import roles

    defined = run_with_database(
        lambda db: roles.define_role(
            db, tenant, name, list(permissions), description=description, actor=actor()
        )
    )
    if as_json:
        emit_json(defined)
    else:
        click.echo(f"role {defined.name} in {tenant}: {', '.join(defined.permissions)}")


@click.group("policy")
def policy() -> None:
    """Ask the permission engine questions."""


@policy.command("check")
@click.argument("email")
@click.argument("tenant")
@click.argument("permission")
@click.option("--assigned", is_flag=True, help="The resource is assigned to the person.")
@click.option("--explain", is_flag=True, help="Show the chain that decided.")
@json_option
@reports_errors
def policy_check(
    email: str, tenant: str, permission: str, assigned: bool, explain: bool, as_json: bool
) -> None:
    """May EMAIL do PERMISSION in TENANT? Prints yes (exit 0) or no (exit 1)."""
    from tenancy.staff import policy

    answer = run_with_database(
        lambda db: policy.check_permission(db, email, tenant, permission, assigned=assigned)
    )
    if as_json:
        emit_json(answer)
    else:
        click.echo("yes" if answer.allowed else "no")
        if explain:
            for step in answer.chain:
                click.echo(f"  {step}")
    if not answer.allowed:
        sys.exit(EXIT_FAILED)
