"""Schema migrations (Alembic), run by ``priemnaya db upgrade`` and ``priemnaya up``.

Every command that touches the database first asks whether its schema is current; that check
reads the scripts and the ``alembic_version`` row directly, because importing Alembic alone
costs a person at the terminal more than the command's own work. Alembic runs the upgrade.
"""

from __future__ import annotations

import ast
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from alembic.config import Config
    from sqlalchemy import Connection

    from tenancy.database import DatabaseUrls

MIGRATIONS = Path(__file__).parent / "migrations"


class MigrationError(Exception):
    pass


def alembic_config(url: str) -> Config:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def _revision_of(script: Path) -> tuple[str, str | None]:
    """A script's ``revision`` and ``down_revision``, read from its module-level assignments."""
    found: dict[str, Any] = {}
    for node in ast.parse(script.read_text(encoding="utf-8")).body:
        if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name) and node.value:
            found[node.target.id] = ast.literal_eval(node.value)
        elif isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name):
            found[node.targets[0].id] = ast.literal_eval(node.value)
    return found["revision"], found.get("down_revision")


def head_revision() -> str:
    """The one revision no script revises (what Alembic calls the head)."""
    revisions = dict(_revision_of(s) for s in sorted((MIGRATIONS / "versions").glob("*.py")))
    heads = set(revisions) - set(revisions.values())
    if len(heads) != 1:
        raise MigrationError(f"the migration scripts have {len(heads)} heads: {sorted(heads)}")
    return heads.pop()


def current_revision(url: str) -> str | None:
    """The revision the database's schema is at; None for a database never migrated."""
    import psycopg

    from tenancy.database import libpq_url

    with psycopg.connect(libpq_url(url), autocommit=True) as connection:
        table = connection.execute("SELECT to_regclass('alembic_version')").fetchone()
        if table is None or table[0] is None:
            return None
        rows = connection.execute("SELECT version_num FROM alembic_version").fetchall()
    if len(rows) > 1:
        raise MigrationError(f"the database has {len(rows)} schema heads: {[r[0] for r in rows]}")
    return rows[0][0] if rows else None


def upgrade(urls: DatabaseUrls, revision: str = "head") -> tuple[str | None, str]:
    """Migrate to ``revision``; return the revisions before and after."""
    from alembic import command
    from alembic.runtime.migration import MigrationContext
    from sqlalchemy import create_engine, pool

    engine = create_engine(urls.privileged, poolclass=pool.NullPool)
    try:
        with engine.connect() as connection:
            _check_privileged(connection)
            before = MigrationContext.configure(connection).get_current_revision()
            config = alembic_config(urls.privileged)
            config.attributes["connection"] = connection
            command.upgrade(config, revision)
            _admit_app_login(connection, urls.app)
            connection.commit()
            after = MigrationContext.configure(connection).get_current_revision()
    finally:
        engine.dispose()
    return before, after or ""


def _check_privileged(connection: Connection) -> None:
    from sqlalchemy import text

    row = connection.execute(
        text("SELECT rolsuper OR rolbypassrls FROM pg_roles WHERE rolname = current_user")
    ).scalar()
    if not row:
        raise MigrationError(
            "PRIEMNAYA_DATABASE_URL: the owner connection must be a superuser or have "
            "BYPASSRLS (it provisions tenants across row-level security)"
        )
    connection.commit()


def _admit_app_login(connection: Connection, app_url: str) -> None:
    """When the app logs in as its own role, make it a member of ``priemnaya_app``, which holds
    the grants."""
    from psycopg import sql
    from sqlalchemy.engine import make_url

    from tenancy.database import APP_ROLE

    user = make_url(app_url).username
    if not user or user == APP_ROLE:
        return
    statement = sql.SQL("GRANT {} TO {}").format(sql.Identifier(APP_ROLE), sql.Identifier(user))
    raw = connection.connection.driver_connection
    assert raw is not None
    raw.execute(statement)
