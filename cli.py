"""The ``priemnaya`` command line: parse, call one service, render (a table, or JSON)."""

from __future__ import annotations

import getpass
import json
import os
import signal
import socket
import sys
import uuid
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime, timedelta
from functools import wraps
from pathlib import Path
from typing import TYPE_CHECKING, Any, ParamSpec, TypeVar

import click
from pydantic import ValidationError

from tenancy import migrate
from tenancy.errors import Conflict, Forbidden, InvalidInput, NotFound

# Everything heavier (SQLAlchemy, the settings model, the web app, the policy) is imported by the
# commands that use it, so that `--help` and the quick commands answer at once.
if TYPE_CHECKING:
    from tenancy.database import Database, DatabaseUrls
    from tenancy.embedded import EmbeddedPostgres
    from tenancy.settings import Settings

P = ParamSpec("P")
T = TypeVar("T")

EXIT_FAILED = 1
EXIT_BAD_INPUT = 2


class CommandError(click.ClickException):
    """A failure the user can act on (exit 1)."""

    exit_code = EXIT_FAILED


class BadInput(CommandError):
    """The input names something wrong or unknown (exit 2); nothing was changed."""

    exit_code = EXIT_BAD_INPUT


def actor() -> str:
    """Who runs this command, for the audit log."""
    return f"cli:{os.environ.get('PRIEMNAYA_ACTOR') or getpass.getuser()}"


def reports_errors(command: Callable[P, T]) -> Callable[P, T]:
    """Turn domain errors into messages and exit codes: 2 for bad input, 1 for failures."""

    @wraps(command)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> T:
        try:
            return command(*args, **kwargs)
        except InvalidInput as exc:
            raise BadInput("\n".join(str(e) for e in exc.errors)) from None
        except ValidationError as exc:
            errors = InvalidInput.from_validation(exc).errors
            raise BadInput("\n".join(str(e) for e in errors)) from None
        except NotFound as exc:
            raise BadInput(str(exc)) from None
        except (Conflict, Forbidden, migrate.MigrationError) as exc:
            raise CommandError(str(exc)) from None
        except Exception as exc:
            failure = _setup_failure(exc)
            if failure is None:
                raise
            raise failure from None

    return wrapper


def _setup_failure(exc: Exception) -> CommandError | None:
    """Bad settings (exit 2) or a database that is not there (exit 1). Both can only come
    from modules already loaded when they are raised, so importing them here costs nothing."""
    from tenancy.database import DatabaseUnavailable
    from tenancy.settings import SettingsError

    if isinstance(exc, SettingsError):
        return BadInput(str(exc))
    if isinstance(exc, DatabaseUnavailable):
        return CommandError(str(exc))
    return None


def settings() -> Settings:
    from tenancy.settings import load_settings

    context = click.get_current_context()
    found = context.find_object(dict)
    if found is None:
        found = context.ensure_object(dict)
    if "settings" not in found:
        found["settings"] = load_settings()
    value: Settings = found["settings"]
    return value


def ready_database_urls() -> DatabaseUrls:
    """Start the embedded database when needed and make sure the schema is current.

    On the embedded default the schema is migrated on the spot; against an external database
    the operator migrates explicitly (``priemnaya db upgrade``) and we say so.
    """
    from tenancy.database import resolve_database_urls

    current = settings()
    urls = resolve_database_urls(current)
    revision = migrate.current_revision(urls.privileged)
    if revision != migrate.head_revision():
        if not current.embedded:
            raise CommandError(
                f"the database schema is at {revision or 'nothing'}, this release needs "
                f"{migrate.head_revision()}: run `priemnaya db upgrade`"
            )
        migrate.upgrade(urls)
    return urls


def run_with_database(work: Callable[[Database], Awaitable[T]]) -> T:
    import asyncio

    from tenancy.database import Database

    urls = ready_database_urls()
    # The result leaves through this list rather than as the coroutine's return value: on
    # Python 3.11 asyncio.run formats its main task, result included, while restoring the
    # SIGINT handler, and a plan of a million grants takes seconds to format.
    result: list[T] = []

    async def go() -> None:
        db = Database(urls, pool_size=2)
        try:
            result.append(await work(db))
        finally:
            await db.dispose()

    asyncio.run(go())
    return result[0]


def emit_json(payload: Any) -> None:
    from pydantic import BaseModel

    if isinstance(payload, BaseModel):
        payload = payload.model_dump(mode="json")
    elif isinstance(payload, list):
        payload = [p.model_dump(mode="json") if isinstance(p, BaseModel) else p for p in payload]
    click.echo(json.dumps(payload, ensure_ascii=False, indent=2))


def render_table(rows: Sequence[Sequence[Any]], headers: Sequence[str]) -> None:
    cells = [[("" if v is None else str(v)) for v in row] for row in rows]
    widths = [max([len(h)] + [len(r[i]) for r in cells]) for i, h in enumerate(headers)]
    click.echo("  ".join(h.upper().ljust(w) for h, w in zip(headers, widths, strict=True)).rstrip())
    for row in cells:
        click.echo("  ".join(v.ljust(w) for v, w in zip(row, widths, strict=True)).rstrip())


json_option = click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")


@click.group()
@click.version_option(package_name="priemnaya")
def main() -> None:
    """Priemnaya: organization cabinets for citizens' messages and appeals."""


# --- db ---------------------------------------------------------------------------------------


@main.group()
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


# --- tenants ----------------------------------------------------------------------------------


@main.group()
def tenant() -> None:
    """Tenants: the organizations and their hierarchy."""


@tenant.command("add")
@click.argument("slug")
@click.option("--name", required=True, help="Full official name.")
@click.option(
    "--kind",
    required=True,
    help="federal, region, ministry, municipality, school, clinic, social, culture or other.",
)
@click.option("--parent", help="Slug of the parent tenant.")
@click.option("--territory", help="OKTMO-style territory code.")
@click.option("--inn", required=True, help="Taxpayer number (checked).")
@click.option("--ogrn", help="State registration number (checked).")
@click.option("--short-name")
@click.option("--timezone", default="Europe/Moscow", show_default=True)
@json_option
@reports_errors
def tenant_add(slug: str, as_json: bool, **fields: Any) -> None:
    """Add one tenant."""
    from tenancy.tenants import service
    from tenancy.tenants.schemas import TenantCreate

    data = TenantCreate.model_validate({"slug": slug, **fields})
    created = run_with_database(lambda db: service.create_tenant(db, data, actor=actor()))
    if as_json:
        emit_json(created)
    else:
        click.echo(f"created tenant {created.slug} ({created.id})")


@tenant.command("move")
@click.argument("slug")
@click.option("--parent", help="Slug of the new parent; omit to make it a top-level tenant.")
@json_option
@reports_errors
def tenant_move(slug: str, parent: str | None, as_json: bool) -> None:
    """Put a tenant under another parent."""
    from tenancy.tenants import service

    moved = run_with_database(lambda db: service.move_tenant(db, slug, parent, actor=actor()))
    if as_json:
        emit_json(moved)
    else:
        click.echo(f"{moved.slug} now stands under {moved.parent or 'nothing (top level)'}")


@tenant.command("list")
@click.option("--kind")
@click.option("--status")
@click.option("--parent", help="Only the direct children of this tenant.")
@json_option
@reports_errors
def tenant_list(kind: str | None, status: str | None, parent: str | None, as_json: bool) -> None:
    """List tenants."""
    from tenancy.tenants import service
    from tenancy.tenants.schemas import TenantFilter

    filters = TenantFilter.model_validate({"kind": kind, "status": status, "parent": parent})
    tenants = run_with_database(
        lambda db: service.list_tenants(
            db, kind=filters.kind, status=filters.status, parent=filters.parent
        )
    )
    if as_json:
        emit_json(tenants)
        return
    render_table(
        [(t.slug, t.kind, t.status, t.parent, t.territory, t.name) for t in tenants],
        ["slug", "kind", "status", "parent", "territory", "name"],
    )


@tenant.command("show")
@click.argument("slug")
@json_option
@reports_errors
def tenant_show(slug: str, as_json: bool) -> None:
    """Show one tenant."""
    from tenancy.tenants import service

    found = run_with_database(lambda db: service.get_tenant(db, slug))
    if as_json:
        emit_json(found)
        return
    for key, value in found.model_dump(mode="json").items():
        click.echo(f"{key:>11}: {'' if value is None else value}")


@tenant.command("widget")
@click.argument("slug")
@reports_errors
def tenant_widget(slug: str) -> None:
    """Print the HTML a tenant puts on its own site: a «Сообщить о проблеме» button opening
    its own form, which offers only where it answers and what it answers there."""
    from urllib.parse import quote

    from tenancy.routing.service import load_index
    from tenancy.tenants import service
    from tenancy.tenants.schemas import TenantRead

    async def look(db: Database) -> tuple[TenantRead, list[str]]:
        found = await service.get_tenant(db, slug)
        return found, (await load_index(db)).places_of(slug, datetime.now(UTC).date())

    found, places = run_with_database(look)
    base, to = settings().base_url, quote(slug)
    click.echo(f'<script src="{base}/widget/{to}.js" async></script>')
    click.echo(f'<noscript><a href="{base}/write?to={to}">Сообщить о проблеме</a></noscript>')
    if found.status != "active":
        click.echo(f"{slug} is {found.status}: the button shows only while it is active", err=True)
    if not places:
        click.echo(
            f"{slug} answers nowhere yet: its form offers a place once a routing rule names it "
            "(priemnaya route set)",
            err=True,
        )


@tenant.command("tree")
@click.argument("slug", required=False)
@json_option
@reports_errors
def tenant_tree(slug: str | None, as_json: bool) -> None:
    """Show the hierarchy (under SLUG, or all of it)."""
    from tenancy.tenants import service
    from tenancy.tenants.schemas import TenantNode

    roots = run_with_database(lambda db: service.tenant_tree(db, slug))
    if as_json:
        emit_json(roots)
        return

    def show(node: TenantNode, prefix: str, last: bool, top: bool) -> None:
        branch = "" if top else ("└── " if last else "├── ")
        marker = "" if node.status == "active" else f" [{node.status}]"
        click.echo(f"{prefix}{branch}{node.name} ({node.slug}, {node.kind}){marker}")
        inner = prefix if top else prefix + ("    " if last else "│   ")
        for i, child in enumerate(node.children):
            show(child, inner, i == len(node.children) - 1, False)

    for root in roots:
        show(root, "", True, True)


_SHOWN_PER_KIND = 50


def _print_plan(plan: Any) -> None:
    click.echo(
        f"tenants: {len(plan.created)} to create, {len(plan.updated)} to update, "
        f"{len(plan.moved)} to move, {len(plan.status_changed)} status changes, "
        f"{plan.unchanged_tenants} unchanged"
    )
    click.echo(
        f"staff: {len(plan.staff_added)} new, {len(plan.staff_renamed)} renamed; grants: "
        f"{len(plan.grants_added)} to add, {len(plan.grants_removed)} to remove, "
        f"{plan.unchanged_grants} unchanged"
    )
    kinds: list[tuple[list[Any], Callable[[Any], str]]] = [
        (plan.created, lambda s: f"+ tenant {s}"),
        (
            plan.updated,
            lambda u: (
                f"~ tenant {u.slug}: "
                + "; ".join(f"{k} {v[0]!r} → {v[1]!r}" for k, v in u.changes.items())
            ),
        ),
        (plan.moved, lambda m: f"> tenant {m.slug}: {m.old_parent} → {m.new_parent}"),
        (plan.status_changed, lambda c: f"! tenant {c.slug}: {c.old} → {c.new} ({c.reason})"),
        (plan.staff_added, lambda e: f"+ person {e}"),
        (plan.staff_renamed, lambda r: f"~ person {r.email}: {r.old!r} → {r.new!r}"),
        (plan.grants_added, lambda g: f"+ grant {g.email} {g.role} in {g.tenant}"),
        (plan.grants_removed, lambda g: f"- grant {g.email} {g.role} in {g.tenant}"),
    ]
    for items, line in kinds:
        for item in items[:_SHOWN_PER_KIND]:
            click.echo(line(item))
        if len(items) > _SHOWN_PER_KIND:
            click.echo(f"  … and {len(items) - _SHOWN_PER_KIND} more (--json lists all)")


def _compared(plan: Any) -> int:
    """Tenants and grants a plan looked at, changed or not."""
    return int(
        plan.unchanged_tenants
        + len(plan.created)
        + len({c.slug for c in plan.updated + plan.moved + plan.status_changed})
        + plan.unchanged_grants
        + len(plan.grants_added)
        + len(plan.grants_removed)
    )


def _read_manifests(files: tuple[str, ...]) -> Any:
    from pathlib import Path

    from tenancy.provisioning.manifest import parse_manifests

    return parse_manifests([Path(f) for f in files])


def _step(
    shown: bool, label: str, work: Callable[[], T], count: Callable[[T], int], what: str
) -> T:
    """Run one step of a bulk command; at a terminal, say what it did and how fast."""
    import time

    started = time.perf_counter()
    if shown:
        click.echo(f"{label}…", err=True)
    result = work()
    if shown:
        seconds = time.perf_counter() - started
        done = count(result)
        rate = done / max(seconds, 1e-3)
        click.echo(f"  {done:,} {what} in {seconds:.1f} s ({rate:,.0f} a second)", err=True)
    return result


def _apply_files(
    files: tuple[str, ...], plan_only: bool, prune: bool, yes: bool, as_json: bool
) -> None:
    import gc

    from tenancy.provisioning import service

    # Counts and rates for people at a terminal; scripts and pipes get none.
    shown = sys.stderr.isatty() and not as_json
    state: dict[str, Any] = {}
    # A national manifest makes millions of objects, none in a cycle; the cycle collector
    # would walk them all again at every pass, which is half the CPU of such an apply. The
    # command ends right after, so nothing is left to collect for long.
    gc.disable()
    try:
        state["manifest"] = _step(
            shown,
            "reading the manifest",
            lambda: _read_manifests(files),
            lambda m: len(m.tenants) + len(m.staff),
            "tenant and staff rows read",
        )
        if plan_only or prune:
            state["plan"] = _step(
                shown,
                "comparing with the database",
                lambda: run_with_database(
                    lambda db: service.plan_manifest(db, state["manifest"], prune=prune)
                ),
                _compared,
                "tenants and grants compared",
            )
        if not plan_only and prune:
            removals = state["plan"].grants_removed or any(
                c.reason == "pruned" for c in state["plan"].status_changed
            )
            if removals and not yes:
                if not sys.stdin.isatty():
                    raise CommandError(
                        "--prune would suspend tenants or revoke grants: "
                        "review with --plan, then pass --yes"
                    )
                _print_plan(state["plan"])
                click.confirm("apply these changes?", abort=True)
        if not plan_only:
            state["plan"] = _step(
                shown,
                "applying in one transaction",
                lambda: run_with_database(
                    lambda db: service.apply_manifest(
                        db, state["manifest"], prune=prune, actor=actor(), source=",".join(files)
                    )
                ),
                _compared,
                "tenants and grants compared and written",
            )
    finally:
        gc.enable()
    plan = state["plan"]
    if as_json:
        emit_json({**plan.model_dump(mode="json"), "changes": plan.changes})
        return
    _print_plan(plan)
    if not plan.changes:
        click.echo("no changes: the database already matches the manifest")
    elif plan.applied:
        click.echo(f"applied {plan.changes} changes")
        if plan.staff_added:
            click.echo(
                f"{len(plan.staff_added)} new people cannot sign in yet: send their invitation "
                "links with `priemnaya staff invite --pending`"
            )
    else:
        click.echo(f"{plan.changes} changes planned; nothing applied")


@tenant.command("apply")
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False))
@click.option("--plan", "plan_only", is_flag=True, help="Only print what would change.")
@click.option(
    "--prune",
    is_flag=True,
    help="Suspend tenants under the manifest's roots that it no longer lists, and revoke "
    "grants in its tenants that it no longer lists.",
)
@click.option("--yes", is_flag=True, help="Do not ask before pruning.")
@json_option
@reports_errors
def tenant_apply(
    files: tuple[str, ...], plan_only: bool, prune: bool, yes: bool, as_json: bool
) -> None:
    """Make the database match manifests (YAML, tenants.csv, staff.csv): all or nothing."""
    _apply_files(files, plan_only, prune, yes, as_json)


@tenant.command("export")
@click.option("--subtree", help="Only this tenant and everything under it.")
@click.option(
    "--format", "fmt", type=click.Choice(["yaml", "csv"]), default="yaml", show_default=True
)
@click.option(
    "--output",
    type=click.Path(file_okay=False),
    help="For csv: the directory to write tenants.csv and staff.csv into.",
)
@reports_errors
def tenant_export(subtree: str | None, fmt: str, output: str | None) -> None:
    """Write tenants and their staff as a manifest that `tenant apply` finds current."""
    from pathlib import Path

    from tenancy.provisioning import service
    from tenancy.provisioning.manifest import render_csv, render_yaml

    manifest = run_with_database(lambda db: service.export_manifest(db, subtree))
    if fmt == "yaml":
        click.echo(render_yaml(manifest), nl=False)
        return
    if output is None:
        raise BadInput("--output: csv export writes two files; name the directory")
    tenants_csv, staff_csv = render_csv(manifest)
    directory = Path(output)
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "tenants.csv").write_text(tenants_csv, encoding="utf-8")
    (directory / "staff.csv").write_text(staff_csv, encoding="utf-8")
    click.echo(
        f"wrote {len(manifest.tenants)} tenants to {directory / 'tenants.csv'} and "
        f"{len(manifest.staff)} staff rows to {directory / 'staff.csv'}"
    )


def _lifecycle_command(action: str, summary: str) -> None:
    @tenant.command(action, help=summary)
    @click.argument("slug")
    @click.option("--reason", required=True, help="Why; kept in the tenant's history.")
    @json_option
    @reports_errors
    def command(slug: str, reason: str, as_json: bool) -> None:
        from tenancy.tenants import service

        changed_tenant, changed = run_with_database(
            lambda db: service.change_status(
                db, slug, service.Lifecycle(action), reason=reason, actor=actor()
            )
        )
        if as_json:
            emit_json({"tenant": changed_tenant.model_dump(mode="json"), "changed": changed})
        elif changed:
            click.echo(f"{slug} is now {changed_tenant.status}")
        else:
            click.echo(f"{slug} was already {changed_tenant.status}; nothing changed")


_lifecycle_command("suspend", "Suspend a tenant: read-only for its staff, no new messages.")
_lifecycle_command("resume", "Resume a suspended tenant.")
_lifecycle_command("archive", "Archive a tenant: read-only and out of routing.")
_lifecycle_command("restore", "Restore an archived tenant to active.")


@tenant.command("history")
@click.argument("slug")
@json_option
@reports_errors
def tenant_history(slug: str, as_json: bool) -> None:
    """Every recorded change of a tenant and within it, oldest first."""
    from tenancy.tenants import service

    entries = run_with_database(lambda db: service.tenant_history(db, slug))
    if as_json:
        emit_json(entries)
        return
    render_table(
        [
            (
                f"{e.occurred_at:%Y-%m-%d %H:%M:%S}" if e.occurred_at else "",
                e.actor,
                e.action,
                e.object_id,
                json.dumps(e.changes, ensure_ascii=False),
                e.source or "",
            )
            for e in entries
        ],
        ["when", "who", "what", "object", "changes", "source"],
    )


# --- staff, roles and permissions -------------------------------------------------------------


@main.group()
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

    until = _expiry(expires)
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
    _apply_files(files, plan_only, prune=False, yes=False, as_json=as_json)


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


@main.group()
def role() -> None:
    """Roles: the shared templates and tenants' custom roles."""


@role.command("list")
@click.option("--tenant", help="Also list this tenant's custom roles.")
@json_option
@reports_errors
def role_list(tenant: str | None, as_json: bool) -> None:
    """List roles with what they allow."""
    from tenancy.staff import service

    roles = run_with_database(lambda db: service.list_roles(db, tenant))
    if as_json:
        emit_json(roles)
        return
    render_table(
        [(r.name, r.scope, ", ".join(r.permissions)) for r in roles],
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
    from tenancy.staff import service

    found = run_with_database(lambda db: service.show_role(db, name, tenant))
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
    from tenancy.staff import service

    defined = run_with_database(
        lambda db: service.define_role(
            db, tenant, name, list(permissions), description=description, actor=actor()
        )
    )
    if as_json:
        emit_json(defined)
    else:
        click.echo(f"role {defined.name} in {tenant}: {', '.join(defined.permissions)}")


@main.group()
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
    from tenancy.staff import service

    answer = run_with_database(
        lambda db: service.check_permission(db, email, tenant, permission, assigned=assigned)
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


@main.group()
def token() -> None:
    """API tokens for integrations: one tenant, one role, shown once, stored hashed."""


def _period(value: str, option: str) -> timedelta:
    """``5y``, ``90d``, ``12h`` or ``30m`` (a year counts 365 days)."""
    units = {"y": 365 * 24 * 60, "d": 24 * 60, "h": 60, "m": 1}
    number, unit = value[:-1], value[-1:]
    if unit not in units or not number.isdigit() or int(number) == 0:
        raise BadInput(f"{option}: {value!r} is not like 5y, 90d, 12h or 30m")
    return timedelta(minutes=int(number) * units[unit])


def _expiry(value: str) -> datetime | None:
    """``90d``, ``12h``, ``30m`` from now, or ``never``."""
    if value == "never":
        return None
    return datetime.now(UTC) + _period(value, "--expires")


@token.command("create")
@click.option("--tenant", required=True, help="The tenant the token acts in (slug).")
@click.option("--role", required=True, help="The one role it acts with.")
@click.option("--name", required=True, help="What uses it, e.g. 'document management'.")
@click.option("--expires", default="90d", show_default=True, help="90d, 12h, 30m or never.")
@json_option
@reports_errors
def token_create(tenant: str, role: str, name: str, expires: str, as_json: bool) -> None:
    """Issue a token; its secret is printed once and never again."""
    from tenancy.staff import service

    expires_at = _expiry(expires)
    created = run_with_database(
        lambda db: service.create_token(
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
    from tenancy.staff import service

    found = run_with_database(lambda db: service.list_tokens(db, tenant))
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
    from tenancy.staff import service

    revoked = run_with_database(lambda db: service.revoke_token(db, token_id, actor=actor()))
    if as_json:
        emit_json(revoked)
    else:
        click.echo(f"token {revoked.id} revoked")


# --- territories, catalog, routing --------------------------------------------------------


@main.group("storage")
def storage_group() -> None:
    """Attachments in the object store: the sweeper and retention."""


def _store() -> Any:
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

    age = _period(older_than, "--older-than")
    report = run_with_database(
        lambda db: retention.sweep(db, _store(), older_than=age, dry_run=dry_run, actor=actor())
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

    age = _period(older_than, "--older-than")
    report = run_with_database(
        lambda db: retention.purge(db, _store(), older_than=age, dry_run=dry_run, actor=actor())
    )
    if as_json:
        emit_json(report)
        return
    verb = "would remove" if dry_run else "removed"
    click.echo(f"{verb} {report.files} files ({report.bytes} bytes) of {report.messages} messages")


@main.group()
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
            (e.id, e.tenant, e.kind, e.recipient, e.attempts, _when(e.next_attempt_at),
             _when(e.delivered_at or e.dead_at), e.last_error or "")
            for e in entries
        ],
        ["id", "tenant", "kind", "to", "attempts", "next", "done", "last error"],
    )  # fmt: skip


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
            (m.id, m.kind, m.recipient, m.attempts, _when(m.next_attempt_at),
             _when(m.delivered_at or m.dead_at), m.last_error or "")
            for m in letters
        ],
        ["id", "kind", "to", "attempts", "next", "done", "last error"],
    )  # fmt: skip


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


@main.group()
def webhook() -> None:
    """Tenants' webhook subscriptions (signed with HMAC-SHA256)."""


@webhook.command("add")
@click.argument("tenant")
@click.argument("url")
@click.option("--event", "events", multiple=True, required=True,
              help="An event kind (message.accept, ...) or * (repeatable).")  # fmt: skip
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


@main.group()
def territory() -> None:
    """Territories: country → region → district or city → settlement (OKTMO-style codes)."""


@territory.command("import")
@click.argument("file", type=click.Path(dir_okay=False))
@json_option
@reports_errors
def territory_import(file: str, as_json: bool) -> None:
    """Add or update territories from a CSV of code,name,parent; all or nothing."""
    from pathlib import Path

    from tenancy.routing import service

    counts = run_with_database(lambda db: service.import_territories(db, Path(file), actor=actor()))
    if as_json:
        emit_json(counts)
    else:
        click.echo(", ".join(f"{v} {k}" for k, v in counts.items()))


@territory.command("tree")
@json_option
@reports_errors
def territory_tree(as_json: bool) -> None:
    """Show the territories as a tree."""
    from tenancy.routing import service

    rows = run_with_database(service.territory_tree)
    if as_json:
        emit_json([{"depth": d, "code": c, "name": n} for d, c, n in rows])
        return
    for depth, code, name in rows:
        click.echo(f"{'  ' * depth}{code}  {name}")


operator_option = click.option(
    "--as",
    "operator",
    metavar="EMAIL",
    help="Act for this operator: a regional operator's regions limit what may change.",
)


@main.group()
def catalog() -> None:
    """The topic catalog: edit a draft, compare, publish."""


@catalog.command("import")
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False))
@operator_option
@json_option
@reports_errors
def catalog_import(files: tuple[str, ...], operator: str | None, as_json: bool) -> None:
    """Load categories.csv and topics.csv into the draft (created from the published one)."""
    from pathlib import Path

    from tenancy.routing import service

    counts = run_with_database(
        lambda db: service.import_catalog(
            db, [Path(f) for f in files], actor=actor(), operator=operator
        )
    )
    if as_json:
        emit_json(counts)
    else:
        click.echo(
            f"draft {counts['draft']}: {counts['categories']} categories, "
            f"{counts['topics']} topics; see `catalog diff`, then `catalog publish`"
        )


@catalog.command("diff")
@json_option
@reports_errors
def catalog_diff(as_json: bool) -> None:
    """What publishing the draft would change."""
    from tenancy.routing import service

    diff = run_with_database(service.diff_catalog)
    if as_json:
        emit_json(diff)
        return
    if diff.draft is None:
        click.echo("no draft")
        return
    for kind, changes in (("category", diff.categories), ("topic", diff.topics)):
        for change in changes:
            mark = {"added": "+", "removed": "-", "changed": "~"}[change.change]
            detail = "; ".join(f"{k} {v[0]!r} → {v[1]!r}" for k, v in change.fields.items())
            click.echo(f"{mark} {kind} {change.code}{': ' + detail if detail else ''}")
    if not diff.categories and not diff.topics:
        click.echo("the draft equals the published catalog")


@catalog.command("publish")
@json_option
@reports_errors
def catalog_publish(as_json: bool) -> None:
    """Publish the draft in one step; the previous version is kept for old messages."""
    from tenancy.routing import service

    version = run_with_database(lambda db: service.publish_catalog(db, actor=actor()))
    if as_json:
        emit_json({"published": version})
    else:
        click.echo(f"catalog version {version} published")


@catalog.command("list")
@click.option("--draft", is_flag=True, help="List the draft instead of the published catalog.")
@click.option("--territory", help="Only the active topics valid on this territory.")
@json_option
@reports_errors
def catalog_list(draft: bool, territory: str | None, as_json: bool) -> None:
    """List topics."""
    from tenancy.routing import service

    topics = run_with_database(lambda db: service.list_topics(db, draft=draft, territory=territory))
    if as_json:
        emit_json(topics)
        return
    render_table(
        [
            (
                t["code"],
                t["category_code"],
                f"{t['deadline_days']} {t['calendar']}",
                t["region_code"] or "",
                t["title"],
            )
            for t in topics
        ],
        ["code", "category", "deadline", "region", "title"],
    )


@catalog.command("export")
@click.option("--output", required=True, type=click.Path(file_okay=False))
@reports_errors
def catalog_export(output: str) -> None:
    """Write the published catalog as categories.csv and topics.csv."""
    from pathlib import Path

    from tenancy.routing import service

    categories, topics = run_with_database(service.export_catalog)
    directory = Path(output)
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "categories.csv").write_text(categories, encoding="utf-8")
    (directory / "topics.csv").write_text(topics, encoding="utf-8")
    click.echo(f"wrote {directory / 'categories.csv'} and {directory / 'topics.csv'}")


@main.group()
def route() -> None:
    """The routing table: which tenant answers a topic on a territory."""


@route.command("set")
@click.argument("topic")
@click.argument("territory")
@click.argument("tenant")
@click.option("--priority", type=int, default=0, show_default=True)
@click.option("--from", "valid_from", help="First day the rule holds (YYYY-MM-DD).")
@click.option("--to", "valid_to", help="Last day the rule holds (YYYY-MM-DD).")
@operator_option
@json_option
@reports_errors
def route_set(
    topic: str, territory: str, tenant: str, priority: int, valid_from: str | None,
    valid_to: str | None, operator: str | None, as_json: bool,
) -> None:  # fmt: skip
    """Add one rule: TOPIC (a topic, a category or *) on TERRITORY goes to TENANT."""
    from tenancy.routing import service
    from tenancy.routing.schemas import RuleRow

    row = RuleRow.model_validate(
        {"topic": topic, "territory": territory, "tenant": tenant, "priority": priority,
         "valid_from": valid_from, "valid_to": valid_to}
    )  # fmt: skip
    run_with_database(
        lambda db: service.add_rules(
            db, [("rule", row)], actor=actor(), source="route set", operator=operator
        )
    )
    if as_json:
        emit_json(row)
    else:
        click.echo(f"{topic} on {territory} → {tenant} (priority {priority})")


@route.command("import")
@click.argument("file", type=click.Path(dir_okay=False))
@click.option(
    "--replace",
    is_flag=True,
    help="Make the table exactly this file (for --as a regional operator: on their regions).",
)
@operator_option
@json_option
@reports_errors
def route_import(file: str, replace: bool, operator: str | None, as_json: bool) -> None:
    """Add rules from topic,territory,tenant[,priority,valid_from,valid_to]; all or nothing."""
    from pathlib import Path

    from tenancy.routing import service

    counts = run_with_database(
        lambda db: service.import_rules(
            db, Path(file), replace=replace, actor=actor(), operator=operator
        )
    )
    if as_json:
        emit_json(counts)
    else:
        click.echo(f"{counts['added']} rules added, {counts['removed']} removed")


@route.command("export")
@reports_errors
def route_export() -> None:
    """Print the routing table as CSV."""
    from tenancy.routing import service

    click.echo(run_with_database(service.export_rules), nl=False)


@route.command("resolve")
@click.argument("topic")
@click.argument("territory")
@click.option("--on", "day", help="The day to resolve for (YYYY-MM-DD); today by default.")
@click.option("--explain", is_flag=True, help="List every candidate rule and its verdict.")
@json_option
@reports_errors
def route_resolve(
    topic: str, territory: str, day: str | None, explain: bool, as_json: bool
) -> None:
    """Which tenant must answer TOPIC on TERRITORY (exit 1 when nobody is responsible)."""
    from datetime import date

    from tenancy.routing import service

    try:
        when = date.fromisoformat(day) if day else None
    except ValueError:
        raise BadInput(f"--on: {day!r} is not a date like 2026-11-23") from None
    result = run_with_database(lambda db: service.resolve(db, topic, territory, when))
    if as_json:
        emit_json(result)
    else:
        click.echo(result.tenant or "nobody")
        if explain:
            click.echo(f"  {result.reason}")
            for c in result.candidates:
                click.echo(
                    f"  rule {c.rule}: {c.topic} on {c.territory} → {c.tenant} "
                    f"(priority {c.priority}): {c.verdict}"
                )
    if result.tenant is None:
        sys.exit(EXIT_FAILED)


@route.command("gaps")
@json_option
@reports_errors
def route_gaps(as_json: bool) -> None:
    """Topics nobody answers, by territory, and rules that point at inactive tenants."""
    from tenancy.routing import service

    report = run_with_database(service.gaps)
    if as_json:
        emit_json(report)
        return
    click.echo(f"{report.pairs} (topic, settlement) pairs without a responsible tenant")
    for group in report.groups:
        click.echo(
            f"- {group.territory} {group.name} ({group.leaves} settlements): "
            f"{', '.join(group.topics)}"
        )
    for rule in report.rules_with_inactive_tenants:
        click.echo(
            f"! rule {rule['rule']} ({rule['topic']} on {rule['territory']}) points at "
            f"{rule['tenant']}, which is {rule['status']}"
        )


# --- running ----------------------------------------------------------------------------------


def port_problem(host: str, port: int) -> str | None:
    """Why the web app cannot listen on host:port, or None."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        return f"cannot resolve host {host!r}: {exc.strerror}"
    family, kind, proto, _, address = infos[0]
    with socket.socket(family, kind, proto) as probe:
        # As uvicorn binds: connections of a server just stopped (TIME_WAIT) do not count.
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(address)
        except OSError as exc:
            return f"cannot listen on {host}:{port}: {exc.strerror} (is another server running?)"
    return None


def _url_host(host: str) -> str:
    """The host as a URL names it: a wildcard address is reached on this machine, IPv6 in []."""
    if host in {"0.0.0.0", "::", ""}:  # noqa: S104 (naming it, not binding it)
        return "127.0.0.1"
    return f"[{host}]" if ":" in host else host


@main.command("up")
@click.option("--demo", is_flag=True, help="Seed the demo region (once).")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=click.IntRange(1, 65535))
@reports_errors
def up(demo: bool, host: str, port: int) -> None:
    """Start everything: database, migrations, web app and worker; Ctrl-C stops it all."""
    import asyncio

    import uvicorn

    from cabinets.app import create_app
    from cabinets.supervisor import Supervised
    from tenancy.database import Database, resolve_database_urls
    from tenancy.demo import DEMO_PASSWORD, seed_demo
    from tenancy.embedded import EmbeddedPostgres
    from tenancy.logs import configure_logging

    # Links handed to citizens (receipts, status pages) point where this server listens, unless
    # the operator said where it is reached from outside. The worker inherits the same.
    if not os.environ.get("PRIEMNAYA_BASE_URL"):
        os.environ["PRIEMNAYA_BASE_URL"] = f"http://{_url_host(host)}:{port}"
    current = settings()
    configure_logging(current)
    if problem := port_problem(host, port):
        raise CommandError(problem)

    embedded = EmbeddedPostgres(current.pgdata) if current.embedded else None
    started_here = embedded is not None and not embedded.status().running
    worker: Supervised | None = None
    try:
        urls = resolve_database_urls(current)
        before, after = migrate.upgrade(urls)
        if before != after:
            click.echo(f"schema migrated to {after}", err=True)
        if demo:

            async def seed() -> int:
                from cabinets.demo import seed_demo_messages

                database = Database(urls, pool_size=1)
                try:
                    created = await seed_demo(database, actor=actor())
                    if created:
                        await seed_demo_messages(database, base_url=current.base_url)
                    return created
                finally:
                    await database.dispose()

            created = asyncio.run(seed())
            click.echo(
                f"demo region seeded: {created} tenants" if created else "demo region present",
                err=True,
            )
        worker = Supervised([sys.executable, "-m", "cli", "worker"], name="worker")
        worker.start()
        url = f"http://{_url_host(host)}:{port}"
        click.echo(
            f"Priemnaya is up at {url}  (readiness: {url}/readyz, API: {url}/api/openapi.json)"
        )
        click.echo(f"Citizens write at {url}/write and follow their message by its link")
        if demo:
            click.echo(f"Demo region: {url}/api/v1/tenants/demo-oblast/tree")
            click.echo(
                f"Sign in at {url}/auth/sign-in as any demo staff member, e.g. "
                f"coordinator@demo.example.ru, with the password {DEMO_PASSWORD!r}"
            )
            click.echo(
                "Demo staff: `priemnaya staff list`; ask why with "
                "`priemnaya policy check coordinator@demo.example.ru demo-minobr message:assign "
                "--explain`; an API token: `priemnaya token create --tenant demo-minobr "
                "--role coordinator --name try` then GET /api/v1/me with it"
            )
        config = uvicorn.Config(
            create_app(current), host=host, port=port, log_config=None, access_log=False
        )
        # uvicorn handles SIGINT/SIGTERM while it runs and re-raises them on the handlers it
        # found on exit; no-op handlers there let the clean-up below run instead of dying.
        for signum in (signal.SIGINT, signal.SIGTERM):
            signal.signal(signum, lambda *_: None)
        uvicorn.Server(config).run()
    finally:
        if worker is not None:
            worker.stop()
        if started_here and embedded is not None:
            embedded.stop()
            click.echo("embedded database stopped", err=True)


@main.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=click.IntRange(1, 65535))
@click.option("--workers", default=1, show_default=True, type=click.IntRange(1, 64))
@reports_errors
def serve(host: str, port: int, workers: int) -> None:
    """Run only the web app (production: one per container, behind a load balancer)."""
    import uvicorn

    from tenancy.logs import configure_logging

    current = settings()
    configure_logging(current)
    if problem := port_problem(host, port):
        raise CommandError(problem)
    if workers > 1:
        from cabinets.metrics import share_between_processes

        share_between_processes(current.home / "metrics")
    uvicorn.run(
        "cabinets.app:create_served_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_config=None,
        access_log=False,
    )


@main.command("worker")
@click.option(
    "--alive-file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Touch this file after every round (a liveness probe checks its age).",
)
@reports_errors
def worker_command(alive_file: Path | None) -> None:
    """Run only the background worker."""
    import asyncio

    from cabinets.worker import run_worker
    from tenancy.database import Database, resolve_database_urls
    from tenancy.logs import configure_logging

    current = settings()
    configure_logging(current)
    urls = resolve_database_urls(current, start_embedded=False)

    async def go() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, stop.set)
        database = Database(urls, pool_size=1)
        try:
            await run_worker(database, stop, current, alive_file=alive_file)
        finally:
            await database.dispose()

    asyncio.run(go())


# --- records retention ---------------------------------------------------------------------


@main.group()
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
            db, _store(), closed_before.date(), actor=actor(), tenant=slug, dry_run=dry_run
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


if __name__ == "__main__":
    main()
