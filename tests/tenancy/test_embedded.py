"""The embedded PostgreSQL keeps its data across stop and start."""

from pathlib import Path

import psycopg

from tenancy.embedded import EmbeddedPostgres


def test_data_survives_a_restart(tmp_path: Path) -> None:
    server = EmbeddedPostgres(tmp_path / "pgdata")
    assert not server.status().running
    url = server.start()
    try:
        libpq = url.replace("postgresql+psycopg", "postgresql")
        with psycopg.connect(libpq, autocommit=True) as conn:
            conn.execute("CREATE TABLE kept (v int)")
            conn.execute("INSERT INTO kept VALUES (42)")
            version = conn.execute("SHOW server_version_num").fetchone()
        assert version is not None
        assert int(version[0]) >= 150000
        assert server.stop() is True
        assert not server.status().running
        assert server.url() is None
        assert server.stop() is False

        with psycopg.connect(server.start().replace("postgresql+psycopg", "postgresql")) as conn:
            assert conn.execute("SELECT v FROM kept").fetchone() == (42,)
    finally:
        server.stop()
