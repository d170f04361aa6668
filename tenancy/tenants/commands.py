"""`priemnaya tenant`: tenants and their hierarchy, one at a time or from manifests."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from tenancy.console import (
    BadInput,
    CommandError,
    actor,
    emit_json,
    json_option,
    render_table,
    reports_errors,
    run_with_database,
    settings,
)

if TYPE_CHECKING:
    from tenancy.database import Database

T = TypeVar("T")


@click.group("tenant")
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


def apply_files(
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
    apply_files(files, plan_only, prune, yes, as_json)


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
