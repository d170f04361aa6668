"""`priemnaya records`: records retention and destroying what is due."""

from __future__ import annotations

from datetime import datetime

import click

from cabinets.attachments.commands import attachment_store
from tenancy.console import (
    actor,
    emit_json,
    json_option,
    render_table,
    reports_errors,
    run_with_database,
)


@click.group("records")
def records() -> None:
    """Records retention: what is kept how long, and destroying what is due."""


def _day(value: datetime) -> str:
    return value.date().isoformat()


@records.command("purge")
@click.option(
    "--closed-before",
    required=True,
    type=click.DateTime(formats=["%Y-%m-%d"]),
    help="Destroy messages finished before this date (YYYY-MM-DD) whose retention ended.",
)
@click.option("--tenant", "slug", default=None, help="Only this tenant.")
@click.option("--dry-run", is_flag=True, help="Only report what would be destroyed.")
@json_option
@reports_errors
def records_purge(closed_before: datetime, slug: str | None, dry_run: bool, as_json: bool) -> None:
    """Destroy finished messages past their retention, leaving a destruction record per tenant."""
    from cabinets.records import retention

    purged = run_with_database(
        lambda db: retention.purge(
            db,
            attachment_store(),
            closed_before.date(),
            actor=actor(),
            tenant=slug,
            dry_run=dry_run,
        )
    )
    if as_json:
        emit_json([p.model_dump(mode="json") | {"dry_run": dry_run} for p in purged])
        return
    if not purged:
        click.echo("nothing is due for destruction")
        return
    render_table(
        [
            (
                p.tenant,
                p.count,
                _day(p.first_closed_at),
                _day(p.last_closed_at),
                "(dry run)" if dry_run else f"№ {p.record_number}",
            )
            for p in purged
        ],
        ["tenant", "messages", "first closed", "last closed", "destruction record"],
    )


@records.command("retention")
@click.argument("slug")
@click.option("--years", type=int, default=None, help="Set the period (5-75 years).")
@json_option
@reports_errors
def records_retention(slug: str, years: int | None, as_json: bool) -> None:
    """Show or set how long a tenant keeps its finished messages."""
    from cabinets.records import retention

    found = run_with_database(
        lambda db: (
            retention.get_retention(db, slug)
            if years is None
            else retention.set_retention(db, slug, years, actor=actor())
        )
    )
    if as_json:
        emit_json(found)
    else:
        click.echo(f"{found.tenant} keeps finished messages {found.years} years")


@records.command("list")
@click.argument("slug")
@json_option
@reports_errors
def records_list(slug: str, as_json: bool) -> None:
    """A tenant's destruction records, the latest first."""
    from cabinets.records import retention

    found = run_with_database(lambda db: retention.destruction_records(db, slug))
    if as_json:
        emit_json([r.model_dump(mode="json") for r in found])
        return
    render_table(
        [
            (
                r.number,
                _day(r.executed_at),
                r.executed_by,
                r.message_count,
                r.closed_before.isoformat(),
                ", ".join(r.tracking_numbers),
            )
            for r in found
        ],
        ["number", "executed", "by", "messages", "closed before", "tracking numbers"],
    )
