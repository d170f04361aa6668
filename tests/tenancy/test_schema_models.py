"""The models say what the migrated database is.

Every table the migrations create has a SQLModel model, in a ``models.py`` of the package that
owns it, and the models match a freshly migrated database: tables, columns, types,
nullability, server defaults, primary keys, unique constraints, indexes and foreign keys, as
Alembic's ``compare_metadata`` sees them. Alembic compares an index's columns and expressions
but not its method, INCLUDE columns or predicate; those are compared here by asking
PostgreSQL to write both definitions out.

Left to the migrations alone, and so outside the comparison: row-level security policies,
triggers, functions, grants, extensions and the standalone ``tracking_numbers`` sequence (Alembic
reflects none of them), and CHECK constraints (Alembic compares those only through an opt-in
plugin, by name, which this comparison leaves off).
"""

from __future__ import annotations

import importlib
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import (
    Column,
    Connection,
    DefaultClause,
    Index,
    Table,
    create_engine,
    pool,
    text,
)
from sqlalchemy.schema import ColumnCollectionConstraint, CreateIndex
from sqlmodel import SQLModel
from sqlmodel.main import default_registry

from tests.databases import fresh_database

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("rbac", "storage", "tenancy", "cabinets")


def import_every_models_module() -> list[str]:
    """Import each package's ``models.py``: together they fill ``SQLModel.metadata`` with the
    whole schema (no one package may import them all; see ``tenancy/migrations/env.py``)."""
    names = sorted(
        ".".join(path.relative_to(ROOT).with_suffix("").parts)
        for package in PACKAGES
        for path in (ROOT / package).rglob("models.py")
    )
    for name in names:
        importlib.import_module(name)
    return names


@pytest.fixture(scope="module")
def migrated(server_url: str) -> Iterator[Connection]:
    """A connection to a database just migrated to head, and every model imported."""
    import_every_models_module()
    with fresh_database(server_url, prefix="priemnaya_schema") as urls:
        engine = create_engine(urls.privileged, poolclass=pool.NullPool)
        try:
            with engine.connect() as connection:
                yield connection
        finally:
            engine.dispose()


def _differences(connection: Connection) -> list[str]:
    """Everything Alembic would change to make the database match the models, and everything
    it says it cannot compare."""
    context = MigrationContext.configure(
        connection, opts={"compare_type": True, "compare_server_default": True}
    )
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        changes = compare_metadata(context, SQLModel.metadata)
    return [_describe(change) for change in changes] + [str(w.message) for w in caught]


def _describe(change: Any) -> str:
    # A list is one column's alterations; a tuple is one change: its kind, then what it names.
    if isinstance(change, list):
        return "; ".join(_describe(part) for part in change)
    kind, *details = change
    if kind.startswith("modify_"):
        _schema, table, column, _existing, database, models = details
        return f"{kind} {table}.{column}: database {_value(database)}, models {_value(models)}"
    return f"{kind} " + " ".join(_name(detail) for detail in details if detail is not None)


def _value(value: Any) -> str:
    if isinstance(value, DefaultClause):
        return f"DEFAULT {getattr(value.arg, 'text', value.arg)}"
    return str(value)


def _name(detail: Any) -> str:
    if isinstance(detail, Table):
        return f"table {detail.name}"
    if isinstance(detail, Column):
        return f"column {detail.table.name}.{detail.name} {detail.type}"
    if isinstance(detail, Index) and detail.table is not None:
        expressions = ", ".join(str(e) for e in detail.expressions)
        return f"index {detail.name} on {detail.table.name} ({expressions})"
    if isinstance(detail, ColumnCollectionConstraint) and detail.table is not None:
        columns = ", ".join(c.name for c in detail.columns)
        return f"{type(detail).__name__} {detail.name} on {detail.table.name} ({columns})"
    return repr(detail)


def _index_definition(connection: Connection, name: str) -> str:
    definition = connection.execute(
        text("SELECT pg_get_indexdef(to_regclass(:name))"), {"name": name}
    ).scalar_one()
    return str(definition or "").replace(f" {name} ON ", " <index> ON ", 1)


def _index_differences(connection: Connection) -> list[str]:
    """Each modelled index as PostgreSQL builds it, against the one the migrations built: the
    whole definition, method, INCLUDE and WHERE included."""
    found: list[str] = []
    connection.rollback()  # the scratch indexes are built in a transaction of their own
    try:
        for table in SQLModel.metadata.sorted_tables:
            for number, index in enumerate(table.indexes):
                name = str(index.name)
                built = _index_definition(connection, name)
                if not built:
                    continue  # a missing index is Alembic's difference
                scratch = f"schema_check_{table.name}_{number}"
                create = str(CreateIndex(index).compile(dialect=connection.dialect))
                connection.execute(text(create.replace(f" {name} ON ", f" {scratch} ON ", 1)))
                modelled = _index_definition(connection, scratch)
                if modelled != built:
                    found.append(f"index {name}: migrated {built!r}, modelled {modelled!r}")
    finally:
        connection.rollback()
    return found


def test_every_table_model_lives_in_its_packages_models_module() -> None:
    modules = import_every_models_module()
    assert modules, "no models.py found"
    misplaced = sorted(
        f"{mapper.class_.__module__}.{mapper.class_.__name__}"
        for mapper in default_registry.mappers
        if mapper.class_.__module__.rpartition(".")[2] != "models"
    )
    assert misplaced == [], f"table models outside a models.py: {misplaced}"


def test_the_models_match_the_migrated_schema(migrated: Connection) -> None:
    differences = _differences(migrated)
    assert differences == [], "models and migrations differ:\n" + "\n".join(differences)


def test_the_modelled_indexes_are_the_migrated_ones_to_the_letter(migrated: Connection) -> None:
    differences = _index_differences(migrated)
    assert differences == [], "indexes differ:\n" + "\n".join(differences)


def test_the_comparison_sees_a_model_that_departs_from_the_schema(
    migrated: Connection,
) -> None:
    """A guard on the guard: change one column's nullability in the models and the comparison
    must name it."""
    column = SQLModel.metadata.tables["users"].c.password_hash
    column.nullable = False
    try:
        differences = _differences(migrated)
    finally:
        column.nullable = True
    assert any("users" in d and "password_hash" in d for d in differences), differences
