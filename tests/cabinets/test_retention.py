"""Records retention: a purge destroys finished messages past their tenant's retention period
with everything of them, leaves one destruction record per tenant, and the public number then
says the message was destroyed and when."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime

import psycopg
from click.testing import CliRunner

from cli import main
from tenancy.database import DatabaseUrls
from tenancy.settings import Settings
from tests.cabinets.message_world import World
from tests.databases import libpq_url

TODAY = datetime.now(UTC).date().isoformat()


def finish(urls: DatabaseUrls, number: str, years_ago: int) -> None:
    """The message was closed ``years_ago`` years ago (its history as it is)."""
    with psycopg.connect(libpq_url(urls.privileged), autocommit=True) as conn:
        conn.execute(
            "UPDATE messages SET status = 'closed', "
            "closed_at = now() - make_interval(years => %s) WHERE tracking_number = %s",
            (years_ago, number),
        )


def records(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, ["records", *args])
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.stdout + result.stderr


def traces(urls: DatabaseUrls, needles: list[str]) -> dict[str, int]:
    """Rows of any table but the kept ones whose text mentions one of ``needles``."""
    found = {}
    with psycopg.connect(libpq_url(urls.privileged), autocommit=True) as conn:
        tables = [
            t
            for (t,) in conn.execute(
                "SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND tablename "
                "NOT IN ('destruction_records', 'message_tracking')"
            )
        ]
        for table in tables:
            row = conn.execute(
                f'SELECT count(*) FROM "{table}" t WHERE t::text LIKE ANY (%s)',
                ([f"%{n}%" for n in needles],),
            ).fetchone()
            if row and row[0]:
                found[table] = row[0]
    return found


def stored_files(settings: Settings) -> set[str]:
    root = settings.attachments_dir
    return (
        {str(p.relative_to(root)) for p in root.rglob("*") if p.is_file()}
        if root.exists()
        else set()
    )


def test_a_five_year_purge_leaves_exactly_the_destruction_record(
    world: World, cli_env: Settings, clean_database: DatabaseUrls
) -> None:
    old = [world.submit(), world.submit()]
    recent = world.submit()
    ids = [world.message_of(r)["id"] for r in old]
    files_before = stored_files(cli_env)
    for receipt in old:
        finish(clean_database, receipt["number"], years_ago=6)
    finish(clean_database, recent["number"], years_ago=2)

    code, out = records("purge", "--closed-before", TODAY, "--dry-run", "--json")
    assert code == 0, out
    (planned,) = json.loads(out)
    assert (planned["tenant"], planned["count"], planned["record_number"]) == (
        "north-roads",
        2,
        None,
    )
    assert traces(clean_database, ids)  # a dry run destroys nothing

    code, out = records("purge", "--closed-before", TODAY, "--json")
    assert code == 0, out
    (done,) = json.loads(out)
    assert done["record_number"] == 1
    assert sorted(done["tracking_numbers"]) == sorted(r["number"] for r in old)

    assert traces(clean_database, ids + [r["number"] for r in old]) == {}
    assert len(stored_files(cli_env)) < len(files_before)  # the purged photos are gone
    with psycopg.connect(libpq_url(clean_database.privileged)) as conn:
        kept = conn.execute(
            "SELECT holder_tenant_id, citizen_id, destroyed_at::date FROM message_tracking "
            "WHERE number = %s",
            (old[0]["number"],),
        ).fetchone()
    assert kept == (None, None, date.today())

    code, out = records("list", "north-roads", "--json")
    assert code == 0, out
    (record,) = json.loads(out)
    assert record["message_count"] == 2
    assert record["executed_by"] == "cli:test-admin"
    assert record["closed_before"] == TODAY
    assert sorted(record["tracking_numbers"]) == sorted(r["number"] for r in old)

    # A second purge finds nothing more; the recent message is kept.
    assert records("purge", "--closed-before", TODAY)[1].strip() == "nothing is due for destruction"
    assert world.timeline(recent)["number"] == recent["number"]


def test_the_number_of_a_destroyed_message_says_when(
    world: World, cli_env: Settings, clean_database: DatabaseUrls
) -> None:
    receipt = world.submit()
    finish(clean_database, receipt["number"], years_ago=6)
    assert records("purge", "--closed-before", TODAY)[0] == 0
    answer = world.citizen.get(
        f"/api/v1/tracking/{receipt['number']}", params={"token": receipt["token"]}
    )
    assert answer.status_code == 410
    assert answer.json()["destroyed_on"] == TODAY
    page = world.citizen.get(f"/track/{receipt['number']}", params={"token": receipt["token"]})
    assert page.status_code == 410
    assert f"уничтожено {date.today():%d.%m.%Y}" in page.text
    # A wrong token still learns nothing.
    wrong = world.citizen.get(f"/api/v1/tracking/{receipt['number']}", params={"token": "x"})
    assert wrong.status_code == 404


def test_the_retention_period_is_a_tenant_setting_within_legal_bounds(
    world: World, cli_env: Settings, clean_database: DatabaseUrls
) -> None:
    code, out = records("retention", "north-roads", "--years", "3")
    assert code == 2
    assert "years: must be between 5 and 75" in out
    code, out = records("retention", "north-roads", "--years", "10", "--json")
    assert code == 0, out
    assert json.loads(out) == {"tenant": "north-roads", "years": 10}
    receipt = world.submit()
    finish(clean_database, receipt["number"], years_ago=6)
    assert records("purge", "--closed-before", TODAY)[1].strip() == "nothing is due for destruction"
    assert world.timeline(receipt)["number"] == receipt["number"]


def test_a_purge_date_in_the_future_is_refused(cli_env: Settings) -> None:
    code, out = records("purge", "--closed-before", "2999-01-01")
    assert code == 2
    assert "closed-before: 2999-01-01 is in the future" in out
