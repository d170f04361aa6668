"""Schema migrations (Alembic), run by ``priemnaya db upgrade`` and ``priemnaya up``."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from psycopg import sql
from sqlalchemy import Connection, create_engine, pool, text
from sqlalchemy.engine import make_url

from tenancy.database import APP_ROLE, DatabaseUrls

MIGRATIONS = Path(__file__).parent / "migrations"


class MigrationError(Exception):
    pass


def alembic_config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def head_revision() -> str:
    head = ScriptDirectory.from_config(alembic_config("")).get_current_head()
    assert head is not None
    return head


def current_revision(url: str) -> str | None:
    engine = create_engine(url, poolclass=pool.NullPool)
    try:
        with engine.connect() as connection:
            return MigrationContext.configure(connection).get_current_revision()
    finally:
        engine.dispose()


def upgrade(urls: DatabaseUrls, revision: str = "head") -> tuple[str | None, str]:
    """Migrate to ``revision``; return the revisions before and after."""
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
    user = make_url(app_url).username
    if not user or user == APP_ROLE:
        return
    statement = sql.SQL("GRANT {} TO {}").format(sql.Identifier(APP_ROLE), sql.Identifier(user))
    raw = connection.connection.driver_connection
    assert raw is not None
    raw.execute(statement)
