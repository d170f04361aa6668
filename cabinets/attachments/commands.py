"""`priemnaya storage`: attachments in the object store, the sweeper and retention."""

from __future__ import annotations

from typing import Any

import click

from tenancy.console import (
    actor,
    emit_json,
    json_option,
    parse_period,
    reports_errors,
    run_with_database,
    settings,
)


@click.group("storage")
def storage_group() -> None:
    """Attachments in the object store: the sweeper and retention."""


def attachment_store() -> Any:
    from cabinets.attachments.store import storage_config
    from storage.backends import open_store

    return open_store(storage_config(settings()))


@storage_group.command("sweep")
@click.option("--older-than", default="24h", show_default=True, help="Age of unsent uploads.")
@click.option("--dry-run", is_flag=True, help="Only report.")
@json_option
@reports_errors
def storage_sweep(older_than: str, dry_run: bool, as_json: bool) -> None:
    """Remove uploads no message took, objects without rows; report rows without objects."""
    from cabinets.attachments import retention

    age = parse_period(older_than, "--older-than")
    report = run_with_database(
        lambda db: retention.sweep(
            db, attachment_store(), older_than=age, dry_run=dry_run, actor=actor()
        )
    )
    if as_json:
        emit_json(report)
        return
    verb = "would remove" if dry_run else "removed"
    click.echo(f"{verb} {report.abandoned_removed} uploads no message took")
    click.echo(f"{verb} {len(report.orphaned_objects)} objects without a row")
    for key in report.orphaned_objects:
        click.echo(f"  {key}")
    if report.missing_objects:
        click.echo(f"{len(report.missing_objects)} rows whose object is missing:")
        for key in report.missing_objects:
            click.echo(f"  {key}")


@storage_group.command("purge")
@click.option("--older-than", required=True, help="Retention, e.g. 5y.")
@click.option("--dry-run", is_flag=True, help="Only report.")
@json_option
@reports_errors
def storage_purge(older_than: str, dry_run: bool, as_json: bool) -> None:
    """Remove the files of messages finished longer ago than the retention period; each
    tenant's audit log records what went."""
    from cabinets.attachments import retention

    age = parse_period(older_than, "--older-than")
    report = run_with_database(
        lambda db: retention.purge(
            db, attachment_store(), older_than=age, dry_run=dry_run, actor=actor()
        )
    )
    if as_json:
        emit_json(report)
        return
    verb = "would remove" if dry_run else "removed"
    click.echo(f"{verb} {report.files} files ({report.bytes} bytes) of {report.messages} messages")
