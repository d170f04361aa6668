"""Benchmark: the operator's pages on the routing benchmark's national data (1,000 topics,
~25,000 territories, 60,000 rules; see tests/bench/routing.py).

* coverage: the matrix of categories × regions, and of one region's topics × its districts,
  as a page computes it (with the titles and names it shows); p95 while the process's routing
  index is current (its coverage masks, titles and names kept with it), and the worst cold
  run (the first page after any change, which rebuilds everything). Baselines, same run: the full
  gap report (``route gaps``, what an operator had before), and the region's matrix resolved
  pair by pair (``RoutingIndex.resolve`` for every topic on every settlement);
* the route tester: ``RoutingIndex.explain`` (what the page shows) p95; baseline, the cold
  one-query resolution (``resolve_in_sql``);
* re-routing: 10,000 messages waiting in the operator's queue, a rule added that covers them
  all, then ``queue.requeue``; baseline, the same filing one message at a time
  (``queue.dispatch``) on a sample, scaled to 10,000.

Run: ``python -m tests.bench.operator`` (PRIEMNAYA_TEST_DATABASE_URL, else an embedded
server). ``PRIEMNAYA_BENCH_SCALE=0.1`` shrinks territories, rules and the queue while
developing. Prints ``METRIC <name> <value> <unit>`` lines.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import random
import statistics
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path

import psycopg
from sqlalchemy import text

from cabinets.messages import queue
from tenancy.catalog import service as catalog
from tenancy.database import Database, DatabaseUrls
from tenancy.routing import coverage, service
from tenancy.routing.coverage import RowKind
from tenancy.routing.resolver import RoutingIndex
from tests.bench import routing
from tests.databases import fresh_database, libpq_url, postgres_server

SCALE = float(os.environ.get("PRIEMNAYA_BENCH_SCALE", "1"))
QUEUED = max(100, int(10_000 * SCALE))
ONE_BY_ONE = max(20, int(200 * SCALE))
RUNS = 20
TODAY = routing.TODAY
REGION = "02000000"  # an even region: no `*` rule, so its gaps are many


def _scaled() -> None:
    """Shrink the routing benchmark's world for development runs."""
    if SCALE < 1:
        routing.REGIONS = max(4, int(routing.REGIONS * SCALE))
        routing.RULES = int(routing.RULES * SCALE)


def _p95(samples: list[float]) -> float:
    return statistics.quantiles(samples, n=20)[-1]


async def _timed(work: Callable[[], Awaitable[object]], runs: int = RUNS) -> list[float]:
    found = []
    for _ in range(runs):
        started = time.perf_counter()
        await work()
        found.append((time.perf_counter() - started) * 1000)
    return found


def _queue_up(urls: DatabaseUrls, pairs: list[tuple[str, str]]) -> None:
    """``pairs`` waiting in the operator's queue, as intake leaves them."""
    with psycopg.connect(libpq_url(urls.privileged)) as conn, conn.cursor() as cur:
        with cur.copy("COPY message_tracking (number, secret_hash) FROM STDIN") as copy:
            for i in range(len(pairs)):
                copy.write_row((f"26-B{i:07d}", hashlib.sha256(str(i).encode()).digest()))
        with cur.copy(
            "COPY operator_queue (id, tracking_number, topic_code, territory_code, submission, "
            "reason) FROM STDIN"
        ) as copy:
            for i, (topic, place) in enumerate(pairs):
                submission = {
                    "topic": topic, "territory": place, "summary": f"Сообщение {i}",
                    "text": "Текст сообщения.", "consent": True, "fields": {},
                    "attachments": [], "address": None, "latitude": None, "longitude": None,
                    "applicant": {"kind": "individual", "name": "Житель",
                                  "email": f"citizen{i}@mail.example.ru"},
                    "citizen_id": None, "received_at": "2026-11-20T10:00:00+00:00",
                }  # fmt: skip
                copy.write_row(
                    (uuid.uuid4(), f"26-B{i:07d}", topic, place, json.dumps(submission), "bench")
                )


def _uncovered(index: RoutingIndex, rng: random.Random, count: int) -> list[tuple[str, str]]:
    leaves = [c for c in index.parents if c.startswith(REGION[:2]) and not c.endswith("000")]
    topics = sorted(index.topic_category)
    pairs: set[tuple[str, str]] = set()
    while len(pairs) < count:
        pair = (rng.choice(topics), rng.choice(leaves))
        if index.resolve(*pair, TODAY) is None:
            pairs.add(pair)
    return sorted(pairs)


async def run() -> None:
    _scaled()
    rng = random.Random(20261201)
    places = routing.territories()
    with (
        tempfile.TemporaryDirectory() as where,
        postgres_server() as server,
        fresh_database(server, "priemnaya_bench_operator") as urls,
    ):
        routing.seed(urls, places)
        db = Database(urls, pool_size=2)
        try:
            await catalog.import_catalog(db, routing.write_catalog(Path(where)), actor="bench")
            version = await catalog.publish_catalog(db, actor="bench")
            await service.import_rules(db, routing.write_rules(Path(where), rng), actor="bench")
            index = await service.load_index(db)

            async def matrix(kind: RowKind, within: str | None, *, cold: bool) -> None:
                if cold:  # the first page after a change: masks, titles and names read again
                    index.memo.clear()
                await coverage.matrix(db, index, kind=kind, within=within, day=TODAY)

            cold_regions = await _timed(lambda: matrix(RowKind.CATEGORIES, None, cold=True), 5)
            cold_districts = await _timed(lambda: matrix(RowKind.TOPICS, REGION, cold=True), 5)
            by_regions = await _timed(lambda: matrix(RowKind.CATEGORIES, None, cold=False))
            by_districts = await _timed(lambda: matrix(RowKind.TOPICS, REGION, cold=False))
            gaps_ms = await _timed(lambda: service.gaps(db, TODAY), runs=3)
            naive_started = time.perf_counter()
            settlements = [c for c in index.parents if c.startswith(REGION[:2])]
            for topic in index.topic_category:
                for place in settlements:
                    index.resolve(topic, place, TODAY)
            naive_ms = (time.perf_counter() - naive_started) * 1000

            leaves = [c for c in index.parents if not c.endswith("000")]
            asked = [(f"t{rng.randrange(routing.TOPICS)}", rng.choice(leaves)) for _ in range(500)]
            tester, cold = [], []
            async with db.public_session() as session:
                for topic, place in asked:
                    started = time.perf_counter()
                    index.explain(topic, place, TODAY)
                    tester.append((time.perf_counter() - started) * 1000)
                for topic, place in asked[:200]:
                    started = time.perf_counter()
                    await routing.resolve_in_one_query(session, version, topic, place, TODAY)
                    cold.append((time.perf_counter() - started) * 1000)

            pairs = _uncovered(index, rng, QUEUED + ONE_BY_ONE)
            _queue_up(urls, pairs)
            await service.import_rules(db, _rule_file(Path(where)), actor="bench")
            index = await service.load_index(db)
            async with db.public_session() as session:
                sample = list(
                    (
                        await session.execute(
                            text(
                                "SELECT id FROM operator_queue WHERE dispatched_at IS NULL "
                                "ORDER BY random() LIMIT :n"
                            ),
                            {"n": ONE_BY_ONE},
                        )
                    ).scalars()
                )
            started = time.perf_counter()
            for queue_id in sample:
                await queue.dispatch(db, index, queue_id, f"r-{int(REGION[:2])}")
            one_by_one_s = (time.perf_counter() - started) * QUEUED / ONE_BY_ONE
            started = time.perf_counter()
            done = await queue.requeue(db, index, day=TODAY)
            requeue_s = time.perf_counter() - started
            assert (done.dispatched, done.waiting) == (QUEUED, 0), done
        finally:
            await db.dispose()
    print(
        f"# {routing.TOPICS} topics, {len(places)} territories, {routing.RULES} rules; "
        f"{QUEUED} queued messages re-routed"
    )
    p95_regions, p95_districts = _p95(by_regions), _p95(by_districts)
    print(f"# categories × regions p95 {p95_regions:.1f} ms; "
          f"{REGION}'s topics × districts p95 {p95_districts:.1f} ms")  # fmt: skip
    worst = max(p95_regions, p95_districts)
    print(f"METRIC coverage_p95_ms {worst:.1f} ms")
    worst_cold = max(max(cold_regions), max(cold_districts))
    print(f"METRIC coverage_cold_max_ms {worst_cold:.0f} ms")
    print(
        f"# cold (first page after a change): categories × regions max "
        f"{max(cold_regions):.0f} ms, topics × districts max {max(cold_districts):.0f} ms"
    )
    print(f"METRIC coverage_baseline_gaps_ms {statistics.median(gaps_ms):.0f} ms")
    print(f"METRIC coverage_baseline_pairwise_region_ms {naive_ms:.0f} ms")
    print(f"# pairwise / matrix, one region: {naive_ms / p95_districts:.1f}x")
    print(f"METRIC route_test_ms {_p95(tester):.3f} ms")
    print(f"METRIC route_test_baseline_sql_ms {_p95(cold):.3f} ms")
    print(f"METRIC requeue_10k_s {requeue_s * 10_000 / QUEUED:.2f} s")
    print(f"METRIC requeue_baseline_one_by_one_10k_s {one_by_one_s * 10_000 / QUEUED:.2f} s")
    print(f"# one by one / re-route: {one_by_one_s / requeue_s:.1f}x")


def _rule_file(where: Path) -> Path:
    """The missing rule: the region answers everything on its territory."""
    path = where / "missing.csv"
    path.write_text(f"topic,territory,tenant\n*,{REGION},r-{int(REGION[:2])}\n")
    return path


if __name__ == "__main__":
    asyncio.run(run())
