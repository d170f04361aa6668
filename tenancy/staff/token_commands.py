"""`priemnaya token`: API tokens for integrations."""

from __future__ import annotations

from datetime import datetime

import click

from tenancy.console import (
    actor,
    emit_json,
    json_option,
    parse_expiry,
    render_table,
    reports_errors,
    run_with_database,
)


@click.group("token")
def token() -> None:
    """API tokens for integrations: one tenant, one role, shown once, stored hashed."""


@token.command("create")
@click.option("--tenant", required=True, help="The tenant the token acts in (slug).")
@click.option("--role", required=True, help="The one role it acts with.")
@click.option("--name", required=True, help="What uses it, e.g. 'document management'.")
@click.option("--expires", default="90d", show_default=True, help="90d, 12h, 30m or never.")
@json_option
@reports_errors
def token_create(tenant: str, role: str, name: str, expires: str, as_json: bool) -> None:
    """Issue a token; its secret is printed once and never again."""
    from tenancy.staff import tokens

    expires_at = parse_expiry(expires)
    created = run_with_database(
        lambda db: tokens.create_token(
            db, tenant, role, name=name, expires_at=expires_at, actor=actor()
        )
    )
    if as_json:
        emit_json(created)
        return
    until = created.expires_at.isoformat() if created.expires_at else "never expires"
    click.echo(f"token {created.id} ({created.role} in {created.tenant}, {until})")
    click.echo(created.token)
    click.echo("Keep it now: it is not stored and cannot be shown again.", err=True)


@token.command("list")
@click.option("--tenant", required=True)
@json_option
@reports_errors
def token_list(tenant: str, as_json: bool) -> None:
    """List a tenant's tokens (never their secrets)."""
    from tenancy.staff import tokens

    found = run_with_database(lambda db: tokens.list_tokens(db, tenant))
    if as_json:
        emit_json(found)
        return

    def when(moment: datetime | None) -> str:
        return f"{moment:%Y-%m-%d %H:%M}" if moment else ""

    render_table(
        [
            (t.id, t.name, t.role, when(t.expires_at), when(t.revoked_at), when(t.last_used_at))
            for t in found
        ],
        ["id", "name", "role", "expires", "revoked", "last used"],
    )


@token.command("revoke")
@click.argument("token_id")
@json_option
@reports_errors
def token_revoke(token_id: str, as_json: bool) -> None:
    """Revoke a token at once, in every running process."""
    from tenancy.staff import tokens

    revoked = run_with_database(lambda db: tokens.revoke_token(db, token_id, actor=actor()))
    if as_json:
        emit_json(revoked)
    else:
        click.echo(f"token {revoked.id} revoked")
