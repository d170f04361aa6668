"""Benchmark: the inbox's first page read on a streaming replica, against the same page read on
the primary, in the same run.

The inbox benchmark's platform (``tests.bench.inbox``: 1,000,000 messages over 10,000
tenants by default) is written to a server of its own (an embedded one in a temporary
directory, or ``PRIEMNAYA_BENCH_DATABASE_URL``: the replica copies the whole server), a hot
standby is made of it by ``pg_basebackup`` and started on this machine, and the first page of
tenants drawn by volume is read through ``Database.read_session`` on the replica and through
the primary, alternately, under the same row-level security.

Run: ``python -m tests.bench.replica [--messages N]``. Prints ``METRIC <name> <value> <unit>``.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path

import psycopg
from psycopg import sql
from sqlalchemy.engine import make_url

from cabinets.messages.inbox.queries import list_messages
from cabinets.messages.inbox.schemas import InboxQuery
from tenancy import migrate
from tenancy.database import Database, DatabaseUrls, driver_url
from tenancy.embedded import EmbeddedPostgres
from tests.bench.inbox import MESSAGES, PAGE_SAMPLES, generate, percentile, platform, staff_of
from tests.bench.inbox import timed as timed_ms
from tests.databases import libpq_url
from tests.replica import running_replica

BOUND = 1.10  # the replica's p95 within 10% of the primary's


@contextmanager
def own_server() -> Iterator[str]:
    """A server for this run only (its replica copies all of it)."""
    given = os.environ.get("PRIEMNAYA_BENCH_DATABASE_URL")
    if given:
        yield driver_url(given)
        return
    with tempfile.TemporaryDirectory(prefix="priemnaya-bench-replica-") as where:
        server = EmbeddedPostgres(Path(where) / "pgdata")
        url = server.start()
        try:
            yield url
        finally:
            server.stop()


@contextmanager
def bench_database(server_url: str) -> Iterator[DatabaseUrls]:
    name = "priemnaya_bench_replica"
    admin = libpq_url(server_url)
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    privileged = make_url(server_url).set(database=name)
    urls = DatabaseUrls(
        privileged=privileged.render_as_string(hide_password=False),
        app=privileged.set(username="priemnaya_app", password=None).render_as_string(
            hide_password=False
        ),
    )
    try:
        migrate.upgrade(urls)
        yield urls
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )


async def measure(urls: DatabaseUrls, replica_url: str, rng: random.Random) -> None:
    primary = Database(urls, pool_size=2)
    on_replica = Database(replace(urls, replica=replica_url), pool_size=2)
    assert on_replica.replica is not None
    try:
        world = await platform(primary)
        coordinator, _ = staff_of(world)
        first = InboxQuery()
        for db in (primary, on_replica):  # warm each server's caches alike
            for tenant in world.largest(30):
                await list_messages(db, coordinator, tenant, first)
        served_before = on_replica.replica.reads["replica"]
        on_primary_ms: list[float] = []
        on_replica_ms: list[float] = []
        for n, tenant in enumerate(world.by_volume(rng, PAGE_SAMPLES)):
            # The same tenant's page on both, each first in turn: the shared machine's moments
            # of load fall on both alike.
            pair = [(primary, on_primary_ms), (on_replica, on_replica_ms)]
            for db, samples in pair if n % 2 else pair[::-1]:
                samples.append(await timed_ms(list_messages(db, coordinator, tenant, first)))
        served = on_replica.replica.reads["replica"] - served_before
    finally:
        await primary.dispose()
        await on_replica.dispose()

    print(f"# {sum(world.volume.values()):,} messages over {len(world.volume):,} tenants")
    print(f"# {served} of {len(on_replica_ms)} replica-side pages were served by the replica")
    replica_p95 = percentile(on_replica_ms, 0.95)
    primary_p95 = percentile(on_primary_ms, 0.95)
    print(f"METRIC replica_inbox_p95_ms {replica_p95:.2f} ms")
    print(f"METRIC primary_inbox_p95_ms {primary_p95:.2f} ms")
    ratio = replica_p95 / primary_p95
    verdict = "within" if ratio <= BOUND else "over"
    print(f"# replica / primary, first page at p95: {ratio:.2f}x ({verdict} the 1.10x bound)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--messages", type=int, default=MESSAGES, help="fewer, for a quick try")
    options = parser.parse_args()
    rng = random.Random(20261123)
    with own_server() as server_url, bench_database(server_url) as urls:
        seconds = generate(urls, rng, options.messages)
        print(f"# generated in {seconds:.0f} s")
        with running_replica(server_url) as replica:
            replica.catch_up(timeout=600)
            database = make_url(urls.privileged).database or ""
            asyncio.run(measure(urls, replica.url(database), rng))


if __name__ == "__main__":
    main()
