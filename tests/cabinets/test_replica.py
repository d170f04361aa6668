"""The read replica: the inbox, its counts, the reports and the rating are read on a streaming
replica under the same row-level security; a person's own writes are read back from the
primary until the replica has them; a replica too far behind, or stopped, leaves the reads to
the primary and the app answers as before.

The replica here is this module's own (made of the test server by ``pg_basebackup``), so the
tests may pause its replay and stop it."""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator
from dataclasses import replace
from typing import Any

import anyio
import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url
from starlette.testclient import TestClient

from cabinets.app import create_app
from tenancy import replica as replica_routing
from tenancy.database import Database, DatabaseUrls
from tenancy.settings import Settings, SettingsError
from tests.cabinets.message_world import Desk, World, ok, open_world, seed_message_world
from tests.replica import RunningReplica, running_replica


@pytest.fixture(scope="module")
def replica(server_url: str) -> Iterator[RunningReplica]:
    with running_replica(server_url) as running:
        yield running


@pytest.fixture(autouse=True)
def replica_in_step(replica: RunningReplica) -> Iterator[None]:
    """Here the tests decide when the replica catches up (this replaces the run's own
    fixture); each starts with a replica that runs, replays and has caught up."""
    if not (replica.data / "postmaster.pid").exists():
        replica.start()
    replica.resume()
    replica.catch_up()
    yield
    if (replica.data / "postmaster.pid").exists():
        replica.resume()


def on_replica(urls: DatabaseUrls, replica: RunningReplica) -> DatabaseUrls:
    return replace(urls, replica=replica.url(make_url(urls.privileged).database or ""))


@pytest.fixture
def open_replica_world(
    settings: Settings,
    clean_database: DatabaseUrls,
    tenant_data: Callable[..., Any],
    replica: RunningReplica,
) -> Iterator[Callable[..., World]]:
    """The message world on an app that reads on the replica, with the lag bound asked for."""
    seed_message_world(clean_database, tenant_data)
    worlds: list[Iterator[World]] = []

    def open_one(max_lag_seconds: float = 60.0) -> World:
        configured = settings.model_copy(
            update={
                "replica_database_url": on_replica(clean_database, replica).replica,
                "replica_max_lag_seconds": max_lag_seconds,
            }
        )
        opened = open_world(create_app(configured))
        worlds.append(opened)
        return next(opened)

    yield open_one
    for opened in worlds:
        next(opened, None)  # the world's clients close


def numbers(desk: Desk, tenant: str = "north-roads", **params: Any) -> list[str]:
    listing = ok(desk.client.get(f"/api/v1/tenants/{tenant}/messages", params=params))
    return [m["number"] for m in listing["items"]]


def statuses(desk: Desk) -> dict[str, str]:
    listing = ok(desk.client.get("/api/v1/tenants/north-roads/messages"))
    return {m["number"]: m["status"] for m in listing["items"]}


def reads_on(desk: Desk, target: str) -> float:
    """Read transactions the app sent to ``target`` (``replica`` or ``primary``), per /metrics."""
    body = desk.client.get("/metrics").text
    found = re.search(rf'^priemnaya_replica_reads{{target="{target}"}} (\S+)$', body, re.M)
    return float(found.group(1)) if found else 0.0


def replica_lag(desk: Desk) -> float:
    body = desk.client.get("/metrics").text
    found = re.search(r"^priemnaya_replica_lag_seconds (\S+)$", body, re.M)
    assert found, body
    return float(found.group(1))


def back_on_replica(desk: Desk, read: Callable[[], bool], within: float = 15.0) -> None:
    """Within a few checks, ``read`` answers right and is served by the replica."""
    deadline = time.monotonic() + within
    while True:
        before = reads_on(desk, "replica")
        assert read()
        if reads_on(desk, "replica") > before:
            return
        assert time.monotonic() < deadline, "the reads did not go back to the replica"
        time.sleep(replica_routing.CHECK_SECONDS / 4)


def test_reads_run_on_the_replica_and_row_level_security_holds_there(
    open_replica_world: Callable[..., World], clean_database: DatabaseUrls, replica: RunningReplica
) -> None:
    world = open_replica_world()
    world.submit()  # filed with north-roads
    replica.catch_up()

    async def read(db: Database) -> dict[str, Any]:
        async with db.read_session(()) as session:
            tenants = {
                row.slug: row.id
                for row in await session.execute(text("SELECT slug, id FROM tenants"))
            }
        seen = {}
        for slug in ("north-roads", "river"):
            async with db.read_session([tenants[slug]]) as session:
                row = (
                    await session.execute(
                        text(
                            "SELECT pg_is_in_recovery() AS standby, current_user AS role, "
                            "(SELECT count(*) FROM messages) AS messages, "
                            "(SELECT count(*) FROM messages WHERE tenant_id = :north) AS north"
                        ),
                        {"north": tenants["north-roads"]},
                    )
                ).one()
                seen[slug] = row._asdict()
        async with db.read_session(()) as session:
            seen["none"] = (
                (await session.execute(text("SELECT count(*) AS messages FROM messages")))
                .one()
                ._asdict()
            )
        return seen

    async def run() -> dict[str, Any]:
        db = Database(on_replica(clean_database, replica), pool_size=1)
        try:
            return await read(db)
        finally:
            await db.dispose()

    seen = anyio.run(run)
    assert seen["north-roads"] == {
        "standby": True, "role": "priemnaya_app", "messages": 1, "north": 1
    }  # fmt: skip
    # Another tenant's staff, on the same replica, cannot see the message, even by its tenant.
    assert seen["river"] == {"standby": True, "role": "priemnaya_app", "messages": 0, "north": 0}
    assert seen["none"] == {"messages": 0}


def test_the_inbox_counts_reports_and_rating_are_read_on_the_replica(
    open_replica_world: Callable[..., World], replica: RunningReplica
) -> None:
    world = open_replica_world()
    first = world.submit()
    replica.catch_up()
    replica.pause()
    second = world.submit()  # the citizen's write: the staff's reads are not held back by it
    moderator, supervisor = world.desks["moderator"], world.desks["supervisor"]
    before = reads_on(moderator, "replica")

    # The replica answers as of the pause: the second message is not there yet.
    assert numbers(moderator) == [first["number"]]
    counts = ok(moderator.client.get("/api/v1/tenants/north-roads/messages/counts"))
    assert counts["total"] == 1
    report = supervisor.client.get(
        "/api/v1/tenants/region/reports/messages", params={"subtree": True}
    )
    assert report.status_code == 200, report.text
    assert sum(row["total"] for row in report.json()) == 1
    assert supervisor.client.get("/cabinet/region/rating").status_code == 200
    assert moderator.client.get("/cabinet/north-roads").status_code == 200
    assert reads_on(moderator, "replica") >= before + 4

    replica.resume()
    replica.catch_up()
    assert numbers(moderator) == [second["number"], first["number"]]


def test_a_person_reads_their_own_writes_while_the_replica_lags(
    open_replica_world: Callable[..., World], replica: RunningReplica
) -> None:
    world = open_replica_world()
    receipt = world.submit()
    message = world.message_of(receipt)
    replica.catch_up()
    replica.pause()

    moderator, coordinator = world.desks["moderator"], world.desks["coordinator"]
    ok(moderator.act(message, "accept"))
    # The moderator's next request sees the acceptance: it is read on the primary ...
    assert statuses(moderator) == {receipt["number"]: "registered"}
    # ... while a colleague who wrote nothing still reads the replica, as of the pause.
    assert statuses(coordinator) == {receipt["number"]: "new"}

    replica.resume()
    replica.catch_up()
    # Once the app notices the replay (at a later check), the moderator is back on the replica.
    back_on_replica(moderator, lambda: statuses(moderator) == {receipt["number"]: "registered"})
    assert statuses(coordinator) == {receipt["number"]: "registered"}


def test_a_replica_further_behind_than_the_bound_leaves_the_reads_to_the_primary(
    open_replica_world: Callable[..., World], replica: RunningReplica
) -> None:
    world = open_replica_world(max_lag_seconds=1.0)
    first = world.submit()
    replica.catch_up()
    moderator = world.desks["moderator"]
    assert replica_lag(moderator) < 1.0
    replica.pause()
    second = world.submit()  # the primary moves on; the replica does not follow
    time.sleep(1.0 + 2 * replica_routing.CHECK_SECONDS)

    assert numbers(moderator) == [second["number"], first["number"]]  # from the primary
    assert replica_lag(moderator) > 1.0

    replica.resume()
    replica.catch_up()
    back_on_replica(moderator, lambda: numbers(moderator) == [second["number"], first["number"]])


def test_with_the_replica_stopped_the_app_answers_from_the_primary(
    open_replica_world: Callable[..., World],
    replica: RunningReplica,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(replica_routing, "RETRY_SECONDS", 0.5)
    world = open_replica_world()
    first = world.submit()
    moderator, supervisor = world.desks["moderator"], world.desks["supervisor"]
    assert numbers(moderator) == [first["number"]]  # warms the pool's connections to the replica

    replica.stop()
    second = world.submit()
    assert numbers(moderator) == [second["number"], first["number"]]
    assert numbers(moderator, q="яма") == [second["number"], first["number"]]
    counts = ok(moderator.client.get("/api/v1/tenants/north-roads/messages/counts"))
    assert counts["total"] == 2
    report = world.desks["coordinator"].client.get("/api/v1/tenants/north-roads/reports/messages")
    assert report.status_code == 200, report.text
    assert supervisor.client.get("/cabinet/region/rating").status_code == 200
    assert replica_lag(moderator) == -1.0

    # Started again, it is taken back at a later check.
    replica.start()
    replica.catch_up()
    back_on_replica(moderator, lambda: numbers(moderator) == [second["number"], first["number"]])


def test_the_app_refuses_a_replica_connection_that_bypasses_row_level_security(
    settings: Settings, clean_database: DatabaseUrls, replica: RunningReplica
) -> None:
    database = make_url(clean_database.privileged).database or ""
    unsafe = settings.model_copy(
        update={"replica_database_url": replica.url(database, user="postgres")}
    )
    with (
        pytest.raises(SettingsError, match="PRIEMNAYA_REPLICA_DATABASE_URL"),
        TestClient(create_app(unsafe)),
    ):
        pass
