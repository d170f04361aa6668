"""`priemnaya catalog`: edit the draft, compare, publish, list, export."""

from __future__ import annotations

from pathlib import Path

import click

from tenancy.console import (
    actor,
    emit_json,
    json_option,
    operator_option,
    render_table,
    reports_errors,
    run_with_database,
)


@click.group("catalog")
def catalog() -> None:
    """The topic catalog: edit a draft, compare, publish."""


@catalog.command("import")
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False))
@operator_option
@json_option
@reports_errors
def catalog_import(files: tuple[str, ...], operator: str | None, as_json: bool) -> None:
    """Load categories.csv and topics.csv into the draft (created from the published one)."""

    from tenancy.catalog import service

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
    from tenancy.catalog import service

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
    from tenancy.catalog import service

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
    from tenancy.catalog import service

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

    from tenancy.catalog import service

    categories, topics = run_with_database(service.export_catalog)
    directory = Path(output)
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "categories.csv").write_text(categories, encoding="utf-8")
    (directory / "topics.csv").write_text(topics, encoding="utf-8")
    click.echo(f"wrote {directory / 'categories.csv'} and {directory / 'topics.csv'}")
