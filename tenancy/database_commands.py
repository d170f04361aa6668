"""`priemnaya db`: the embedded server, schema migrations, backup and restore."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from tenancy import migrate
from tenancy.console import (
    BadInput,
    CommandError,
    emit_json,
    json_option,
    reports_errors,
    settings,
)

if TYPE_CHECKING:
    from tenancy.embedded import EmbeddedPostgres


@click.group("db")
def db() -> None:
    """The database: the embedded server and schema migrations."""


@db.command("start")
@reports_errors
def db_start() -> None:
    """Start the embedded PostgreSQL (kept in PRIEMNAYA_HOME)."""
    from tenancy.embedded import EmbeddedPostgres

    current = settings()
    if not current.embedded:
        raise CommandError("PRIEMNAYA_DATABASE_URL is set: there is no embedded database to start")
    EmbeddedPostgres(current.pgdata).start()
    click.echo(f"embedded database running in {current.pgdata}")


@db.command("stop")
@reports_errors
def db_stop() -> None:
    """Stop the embedded PostgreSQL."""
    from tenancy.embedded import EmbeddedPostgres

    current = settings()
    if not current.embedded:
        raise CommandError("PRIEMNAYA_DATABASE_URL is set: there is no embedded database to stop")
    stopped = EmbeddedPostgres(current.pgdata).stop()
    click.echo("embedded database stopped" if stopped else "embedded database was not running")


@db.command("status")
@json_option
@reports_errors
def db_status(as_json: bool) -> None:
    """Where the database is, whether it runs, and whether its schema is current."""
    from tenancy.database import resolve_database_urls
    from tenancy.embedded import EmbeddedPostgres

    current = settings()
    report: dict[str, Any] = {
        "embedded": current.embedded,
        "head_revision": migrate.head_revision(),
    }
    if current.embedded:
        status = EmbeddedPostgres(current.pgdata).status()
        report.update(running=status.running, pgdata=str(status.pgdata), pid=status.pid)
    else:
        from sqlalchemy.engine import make_url

        assert current.database_url is not None
        report["url"] = make_url(current.database_url).render_as_string(hide_password=True)
        report["running"] = True
    if report["running"]:
        try:
            urls = resolve_database_urls(current, start_embedded=False)
            report["schema_revision"] = migrate.current_revision(urls.privileged)
        except Exception as exc:
            report.update(running=False, error=str(exc))
    if as_json:
        emit_json(report)
        return
    for key, value in report.items():
        click.echo(f"{key}: {value}")


@db.command("upgrade")
@click.option("--revision", default="head", show_default=True)
@reports_errors
def db_upgrade(revision: str) -> None:
    """Apply schema migrations (starting the embedded database if needed)."""
    from tenancy.database import resolve_database_urls

    urls = resolve_database_urls(settings())
    before, after = migrate.upgrade(urls, revision)
    if before == after:
        click.echo(f"schema already at {after}")
    else:
        click.echo(f"schema migrated from {before or 'nothing'} to {after}")


def embedded_server(action: str) -> EmbeddedPostgres:
    from tenancy.embedded import EmbeddedPostgres

    current = settings()
    if not current.embedded:
        raise CommandError(
            f"PRIEMNAYA_DATABASE_URL is set: {action} your PostgreSQL with pg_basebackup and "
            "WAL archiving (deploy/RUNBOOK.md, Backups)"
        )
    return EmbeddedPostgres(current.pgdata)


@db.command("backup")
@click.argument("target", type=click.Path(dir_okay=False, path_type=Path))
@reports_errors
def db_backup(target: Path) -> None:
    """Write a backup of the embedded database to TARGET (while it runs)."""
    from tenancy.backup import BackupFailed, backup

    try:
        made = backup(embedded_server("back up"), target)
    except BackupFailed as exc:
        raise CommandError(str(exc)) from None
    click.echo(f"backup written to {made.path} ({made.size} bytes)")


@db.command("restore")
@click.argument("source", type=click.Path(dir_okay=False, path_type=Path))
@reports_errors
def db_restore(source: Path) -> None:
    """Replace the embedded database with the backup SOURCE (stop the app and worker first)."""
    from tenancy.backup import BackupFailed, restore

    try:
        restore(embedded_server("restore"), source)
    except BackupFailed as exc:
        raise BadInput(str(exc)) from None
    click.echo(f"database restored from {source}")
