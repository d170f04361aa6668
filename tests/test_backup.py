"""`priemnaya db backup|restore` on the embedded default: a restore brings back exactly what the
backup held, and a bad archive changes nothing."""

from __future__ import annotations

import json
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from tests.test_cli import invoke


@pytest.fixture
def embedded(monkeypatch: pytest.MonkeyPatch) -> Iterator[CliRunner]:
    """The embedded default in a home of its own (outside pytest's temporary tree, whose
    permissions the server's own system user may not pass when we are root)."""
    for variable in ("PRIEMNAYA_DATABASE_URL", "PRIEMNAYA_APP_DATABASE_URL"):
        monkeypatch.delenv(variable, raising=False)
    with tempfile.TemporaryDirectory(prefix="priemnaya-backup-") as home:
        monkeypatch.setenv("PRIEMNAYA_HOME", home)
        monkeypatch.setenv("PRIEMNAYA_ACTOR", "test-admin")
        runner = CliRunner()
        code, _, err = invoke(runner, "db", "upgrade")
        assert code == 0, err
        try:
            yield runner
        finally:
            invoke(runner, "db", "stop")


def slugs(runner: CliRunner) -> list[str]:
    code, out, err = invoke(runner, "tenant", "list", "--json")
    assert code == 0, err
    return [t["slug"] for t in json.loads(out)]


def add_region(runner: CliRunner, slug: str, inn: str) -> None:
    code, _, err = invoke(
        runner, "tenant", "add", slug, "--name", "Область", "--kind", "region", "--inn", inn
    )
    assert code == 0, err


def test_a_restore_brings_back_what_the_backup_held(embedded: CliRunner, tmp_path: Path) -> None:
    add_region(embedded, "kept", "7707083893")
    archive = tmp_path / "priemnaya.dump"
    code, out, err = invoke(embedded, "db", "backup", str(archive))
    assert code == 0, err
    assert "backup written" in out
    assert archive.stat().st_size > 0
    add_region(embedded, "after-backup", "500100732259")
    assert slugs(embedded) == ["after-backup", "kept"]

    code, out, err = invoke(embedded, "db", "restore", str(archive))
    assert code == 0, err
    assert slugs(embedded) == ["kept"]
    add_region(embedded, "after-restore", "500100732259")  # the app role works as before
    assert slugs(embedded) == ["after-restore", "kept"]


def test_a_bad_archive_is_refused_naming_it_and_changes_nothing(
    embedded: CliRunner, tmp_path: Path
) -> None:
    add_region(embedded, "kept", "7707083893")
    garbage = tmp_path / "not-a-backup.dump"
    garbage.write_bytes(b"PGDMP but not really")
    code, _, err = invoke(embedded, "db", "restore", str(garbage))
    assert code == 2
    assert str(garbage) in err
    code, _, err = invoke(embedded, "db", "restore", str(tmp_path / "missing.dump"))
    assert code == 2
    assert "no such file" in err
    assert slugs(embedded) == ["kept"]


def test_an_external_database_is_backed_up_the_postgresql_way(
    cli_env: object, tmp_path: Path
) -> None:
    code, _, err = invoke(CliRunner(), "db", "backup", str(tmp_path / "x.dump"))
    assert code == 1
    assert "pg_basebackup" in err
