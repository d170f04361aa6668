"""Alembic environment: one transaction for the whole upgrade, so it applies fully or not at all.

``target_metadata`` is ``SQLModel.metadata``: the one registry every table model joins when
its module is imported. Each package declares its own tables in its own ``models.py``
(``rbac/models.py``, ``tenancy/tenants/models.py``, ``cabinets/messages/models.py``...), and
this file imports none of them. It cannot import them all without tenancy knowing cabinets,
and a registry filled with only some tables would tell autogenerate to drop the rest. So
whatever compares models with the database first imports every package's models; the one
comparison we run, ``tests/tenancy/test_schema_models.py``, finds and imports each
``models.py`` itself, and fails on any difference. The migrations are written by hand.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection, create_engine, pool
from sqlmodel import SQLModel

config = context.config
target_metadata = SQLModel.metadata


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    engine = create_engine(config.get_main_option("sqlalchemy.url") or "", poolclass=pool.NullPool)
    with engine.connect() as connection:
        _run(connection)


if context.is_offline_mode():
    context.configure(
        url=config.get_main_option("sqlalchemy.url"),
        target_metadata=target_metadata,
        literal_binds=True,
    )
    with context.begin_transaction():
        context.run_migrations()
else:
    run_migrations_online()
