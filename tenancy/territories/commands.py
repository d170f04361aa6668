"""`priemnaya territory`: import and show the territory tree."""

from __future__ import annotations

from pathlib import Path

import click

from tenancy.console import (
    actor,
    emit_json,
    json_option,
    reports_errors,
    run_with_database,
)


@click.group("territory")
def territory() -> None:
    """Territories: country → region → district or city → settlement (OKTMO-style codes)."""


@territory.command("import")
@click.argument("file", type=click.Path(dir_okay=False))
@json_option
@reports_errors
def territory_import(file: str, as_json: bool) -> None:
    """Add or update territories from a CSV of code,name,parent; all or nothing."""

    from tenancy.territories import service

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
    from tenancy.territories import tree

    rows = run_with_database(tree.territory_tree)
    if as_json:
        emit_json([{"depth": d, "code": c, "name": n} for d, c, n in rows])
        return
    for depth, code, name in rows:
        click.echo(f"{'  ' * depth}{code}  {name}")
