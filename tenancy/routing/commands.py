"""`priemnaya route`: the routing table, resolution and its gaps."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from tenancy.console import (
    EXIT_FAILED,
    BadInput,
    actor,
    emit_json,
    json_option,
    operator_option,
    reports_errors,
    run_with_database,
)


@click.group("route")
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
    topic: str,
    territory: str,
    tenant: str,
    priority: int,
    valid_from: str | None,
    valid_to: str | None,
    operator: str | None,
    as_json: bool,
) -> None:
    """Add one rule: TOPIC (a topic, a category or *) on TERRITORY goes to TENANT."""
    from tenancy.routing import service
    from tenancy.routing.schemas import RuleRow

    row = RuleRow.model_validate(
        {
            "topic": topic,
            "territory": territory,
            "tenant": tenant,
            "priority": priority,
            "valid_from": valid_from,
            "valid_to": valid_to,
        }
    )
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
