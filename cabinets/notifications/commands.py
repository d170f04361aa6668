"""`priemnaya outbox` and `webhook`: notifications waiting, delivered or dead, and tenants'
webhook subscriptions."""

from __future__ import annotations

import uuid
from datetime import datetime

import click

from tenancy.console import (
    actor,
    emit_json,
    json_option,
    render_table,
    reports_errors,
    run_with_database,
)


@click.group("outbox")
def outbox() -> None:
    """Notifications waiting, delivered or dead (e-mail and webhooks), and letters about
    accounts."""


def _when(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M") if value else ""


_delivery_state = click.option(
    "--state",
    type=click.Choice(["pending", "dead", "delivered"]),
    default="pending",
    show_default=True,
)


@outbox.command("list")
@_delivery_state
@click.option("--tenant", help="Only this tenant's (slug).")
@click.option("--limit", type=int, default=50, show_default=True)
@json_option
@reports_errors
def outbox_list(state: str, tenant: str | None, limit: int, as_json: bool) -> None:
    """List notifications in a state."""
    from cabinets.notifications import service

    entries = run_with_database(
        lambda db: service.list_outbox(db, state=state, tenant=tenant, limit=limit)
    )
    if as_json:
        emit_json(entries)
        return
    render_table(
        [
            (
                e.id,
                e.tenant,
                e.kind,
                e.recipient,
                e.attempts,
                _when(e.next_attempt_at),
                _when(e.delivered_at or e.dead_at),
                e.last_error or "",
            )
            for e in entries
        ],
        ["id", "tenant", "kind", "to", "attempts", "next", "done", "last error"],
    )


@outbox.command("accounts")
@_delivery_state
@click.option("--limit", type=int, default=50, show_default=True)
@json_option
@reports_errors
def outbox_accounts(state: str, limit: int, as_json: bool) -> None:
    """List letters about accounts (password resets, staff invitations) in a state. A dead one
    is not sent again: its link is gone; ask for a new reset, or invite again."""
    from cabinets.notifications import service

    letters = run_with_database(lambda db: service.list_account_mail(db, state=state, limit=limit))
    if as_json:
        emit_json(letters)
        return
    render_table(
        [
            (
                m.id,
                m.kind,
                m.recipient,
                m.attempts,
                _when(m.next_attempt_at),
                _when(m.delivered_at or m.dead_at),
                m.last_error or "",
            )
            for m in letters
        ],
        ["id", "kind", "to", "attempts", "next", "done", "last error"],
    )


@outbox.command("retry")
@click.argument("ids", nargs=-1, type=int)
@click.option("--all-dead", is_flag=True, help="Every dead letter (of --tenant).")
@click.option("--tenant", help="With --all-dead: only this tenant's.")
@json_option
@reports_errors
def outbox_retry(ids: tuple[int, ...], all_dead: bool, tenant: str | None, as_json: bool) -> None:
    """Send dead letters again (attempts start over)."""
    from cabinets.notifications import service

    entries = run_with_database(
        lambda db: service.retry_outbox(db, ids, all_dead=all_dead, tenant=tenant, actor=actor())
    )
    if as_json:
        emit_json(entries)
    else:
        click.echo(f"{len(entries)} notifications will be sent again")


@click.group("webhook")
def webhook() -> None:
    """Tenants' webhook subscriptions (signed with HMAC-SHA256)."""


@webhook.command("add")
@click.argument("tenant")
@click.argument("url")
@click.option(
    "--event",
    "events",
    multiple=True,
    required=True,
    help="An event kind (message.accept, ...) or * (repeatable).",
)
@json_option
@reports_errors
def webhook_add(tenant: str, url: str, events: tuple[str, ...], as_json: bool) -> None:
    """Subscribe URL to TENANT's events; prints the signing secret once."""
    from cabinets.notifications import service

    created = run_with_database(
        lambda db: service.add_subscription(db, tenant, url, list(events), actor=actor())
    )
    if as_json:
        emit_json({"id": str(created.id), "secret": created.secret})
    else:
        click.echo(f"subscription {created.id}")
        click.echo(f"secret (shown once, keep it to verify signatures): {created.secret}")


@webhook.command("list")
@click.option("--tenant", help="Only this tenant's (slug).")
@json_option
@reports_errors
def webhook_list(tenant: str | None, as_json: bool) -> None:
    """List subscriptions (never their secrets)."""
    from cabinets.notifications import service

    found = run_with_database(lambda db: service.list_subscriptions(db, tenant))
    if as_json:
        emit_json(found)
        return
    render_table(
        [(s.id, s.tenant, s.url, " ".join(s.events), "yes" if s.active else "no") for s in found],
        ["id", "tenant", "url", "events", "active"],
    )


@webhook.command("remove")
@click.argument("subscription_id", type=click.UUID)
@json_option
@reports_errors
def webhook_remove(subscription_id: uuid.UUID, as_json: bool) -> None:
    """Remove a subscription; its undelivered events become dead letters."""
    from cabinets.notifications import service

    removed = run_with_database(
        lambda db: service.remove_subscription(db, subscription_id, actor=actor())
    )
    if as_json:
        emit_json(removed)
    else:
        click.echo(f"removed {removed.id} ({removed.url})")
