"""Benchmark: routing at national scale.

1,000 topics in 40 categories, about 25,000 territories (85 regions × ~300), 60,000 rules.
Measures in-process resolution (the index the app keeps), a cold resolution in one SQL query
(a baseline kept here, not in the app), the full gap report, and importing the 60,000 rules
from CSV through ``route import``'s service. The baseline, in the same run, resolves naively
with one query per ancestor level.

Run: ``python -m tests.bench.routing`` (PRIEMNAYA_TEST_DATABASE_URL, else an embedded server).
Prints ``METRIC <name> <value> <unit>`` lines.
"""

from __future__ import annotations

import asyncio
import csv
import random
import statistics
import tempfile
import time
import uuid
from datetime import date
from pathlib import Path

import psycopg
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from tenancy.catalog import service as catalog
from tenancy.database import Database, DatabaseUrls
from tenancy.routing import service
from tests.databases import fresh_database, libpq_url, postgres_server

REGIONS, DISTRICTS, SETTLEMENTS = 85, 15, 19
CATEGORIES, TOPICS, RULES = 40, 1_000, 60_000
SAMPLES = 2_000
TODAY = date(2026, 11, 23)


def territories() -> list[tuple[str, str, str | None]]:
    rows: list[tuple[str, str, str | None]] = []
    for r in range(1, REGIONS + 1):
        region = f"{r:02d}000000"
        rows.append((region, f"Регион {r}", None))
        for d in range(1, DISTRICTS + 1):
            district = f"{r:02d}{d:03d}000"
            rows.append((district, f"Район {r}-{d}", region))
            for s in range(1, SETTLEMENTS + 1):
                rows.append((f"{r:02d}{d:03d}{s:03d}", f"Поселение {r}-{d}-{s}", district))
    return rows


def write_catalog(where: Path) -> list[Path]:
    categories, topics = where / "categories.csv", where / "topics.csv"
    with categories.open("w", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(["code", "parent", "title"])
        for c in range(CATEGORIES):
            writer.writerow([f"c{c}", "", f"Категория {c}"])
    with topics.open("w", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(["code", "category", "title", "deadline_days", "calendar"])
        for t in range(TOPICS):
            writer.writerow([f"t{t}", f"c{t % CATEGORIES}", f"Тема {t}", 30, "calendar"])
    return [categories, topics]


def write_rules(where: Path, rng: random.Random) -> Path:
    """* per region → the region; categories per district → the district; the rest are
    topic rules on random settlements (so that some pairs stay uncovered)."""
    rules: set[tuple[str, str, str]] = set()
    for r in range(1, REGIONS + 1):
        for d in range(1, DISTRICTS + 1):
            for c in rng.sample(range(CATEGORIES), 30):
                rules.add((f"c{c}", f"{r:02d}{d:03d}000", f"d-{r}-{d}"))
    for r in range(1, REGIONS + 1, 2):  # half the regions answer everything else themselves
        rules.add(("*", f"{r:02d}000000", f"r-{r}"))
    while len(rules) < RULES:
        r, d, s = rng.randint(1, REGIONS), rng.randint(1, DISTRICTS), rng.randint(1, SETTLEMENTS)
        rules.add((f"t{rng.randrange(TOPICS)}", f"{r:02d}{d:03d}{s:03d}", f"d-{r}-{d}"))
    path = where / "routes.csv"
    with path.open("w", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(["topic", "territory", "tenant"])
        writer.writerows(sorted(rules))
    return path


def seed(urls: DatabaseUrls, places: list[tuple[str, str, str | None]]) -> None:
    with psycopg.connect(libpq_url(urls.privileged)) as conn, conn.cursor() as cur:
        with cur.copy("COPY territories (code, name, parent_code) FROM STDIN") as copy:
            for row in places:
                copy.write_row(row)
        with cur.copy("COPY tenants (id, slug, name, kind, inn) FROM STDIN") as copy:
            for r in range(1, REGIONS + 1):
                copy.write_row((uuid.uuid4(), f"r-{r}", f"Регион {r}", "region", "7707083893"))
                for d in range(1, DISTRICTS + 1):
                    copy.write_row(
                        (uuid.uuid4(), f"d-{r}-{d}", f"Район {r}-{d}", "municipality", "7707083893")
                    )


NAIVE_LEVEL = text(
    """
    SELECT t.slug FROM routing_rules r JOIN tenants t ON t.id = r.responsible_tenant_id
    WHERE r.territory_code = :territory AND r.topic = ANY(:keys) AND t.status = 'active'
      AND (r.valid_from IS NULL OR r.valid_from <= :day)
      AND (r.valid_to IS NULL OR r.valid_to >= :day)
    ORDER BY array_position(:keys, r.topic), r.priority DESC, r.id LIMIT 1
    """
)


# The baseline for a cold process: the whole resolution in one recursive query, no index.
ONE_QUERY_BASELINE = text(
    """
    WITH RECURSIVE place AS (
        SELECT code, parent_code, 0 AS depth FROM territories WHERE code = :territory
        UNION ALL
        SELECT t.code, t.parent_code, place.depth + 1
        FROM territories t JOIN place ON t.code = place.parent_code WHERE place.depth < 20
    ),
    subject AS (
        SELECT code, category_code AS up, 0 AS rank FROM catalog_topics
        WHERE version_id = :version AND code = :topic
        UNION ALL
        SELECT c.code, c.parent_code, subject.rank + 1
        FROM catalog_categories c JOIN subject ON c.code = subject.up
        WHERE c.version_id = :version AND subject.rank < 20
    ),
    chain AS (SELECT array_agg(code ORDER BY depth) AS codes FROM place),
    keys AS (SELECT array_agg(code ORDER BY rank) || '{*}'::text[] AS codes FROM subject)
    SELECT t.slug
    FROM chain, keys, LATERAL (
        SELECT r.* FROM routing_rules r
        WHERE r.territory_code = ANY (chain.codes) AND r.topic = ANY (keys.codes)
    ) r
    JOIN tenants t ON t.id = r.responsible_tenant_id
    WHERE t.status = 'active'
      AND (r.valid_from IS NULL OR r.valid_from <= :day)
      AND (r.valid_to IS NULL OR r.valid_to >= :day)
    ORDER BY array_position(chain.codes, r.territory_code), array_position(keys.codes, r.topic),
             r.priority DESC, r.id
    LIMIT 1
    """
)


async def resolve_in_one_query(
    session: AsyncSession, version: int, topic: str, territory: str, day: date
) -> str | None:
    """The answer ``RoutingIndex.resolve`` gives, computed by :data:`ONE_QUERY_BASELINE`."""
    found = await session.execute(
        ONE_QUERY_BASELINE,
        {"territory": territory, "topic": topic, "version": version, "day": day},
    )
    return found.scalar()


async def run() -> None:
    rng = random.Random(20261123)
    places = territories()
    with (
        tempfile.TemporaryDirectory() as where,
        postgres_server() as server,
        fresh_database(server, "priemnaya_bench") as urls,
    ):
        seed(urls, places)
        db = Database(urls, pool_size=2)
        try:
            await catalog.import_catalog(db, write_catalog(Path(where)), actor="cli:bench")
            version = await catalog.publish_catalog(db, actor="cli:bench")
            rules_csv = write_rules(Path(where), rng)
            started = time.perf_counter()
            await service.import_rules(db, rules_csv, actor="cli:bench")
            import_s = time.perf_counter() - started

            index = await service.load_index(db)
            leaves = [
                code for code, _, parent in places if len(code) == 8 and not code.endswith("000")
            ]
            requests = [(f"t{rng.randrange(TOPICS)}", rng.choice(leaves)) for _ in range(SAMPLES)]
            timer = time.perf_counter_ns
            memory = []
            for topic, place in requests:
                t0 = timer()
                index.resolve(topic, place, TODAY)
                memory.append((timer() - t0) / 1000)

            sql, naive = [], []
            async with db.public_session() as session:
                for topic, place in requests[:300]:
                    t0 = timer()
                    answer = await resolve_in_one_query(session, version, topic, place, TODAY)
                    sql.append((timer() - t0) / 1e6)
                    assert answer == index.resolve(topic, place, TODAY)
                    t0 = timer()
                    keys = list(index.topic_keys(topic))
                    found = None
                    for level in index.territory_chain(place):
                        result = await session.execute(
                            NAIVE_LEVEL, {"territory": level, "keys": keys, "day": TODAY}
                        )
                        found = result.scalar()
                        if found is not None:
                            break
                    naive.append((timer() - t0) / 1000)
                    assert found == answer

            started = time.perf_counter()
            report = await service.gaps(db, TODAY)
            gaps_s = time.perf_counter() - started
        finally:
            await db.dispose()
    print(
        f"# {TOPICS} topics, {len(places)} territories, {RULES} rules; "
        f"{report.pairs} uncovered (topic, settlement) pairs in {len(report.groups)} groups"
    )
    print(f"METRIC resolve_p50_us {statistics.median(memory):.2f} us")
    print(f"METRIC resolve_sql_p50_ms {statistics.median(sql):.3f} ms")
    print(f"METRIC gaps_s {gaps_s:.2f} s")
    print(f"METRIC import_rules_s {import_s:.2f} s")
    print(f"METRIC naive_resolve_p50_us {statistics.median(naive):.0f} us")
    print(
        "# naive / in-process at the median: "
        f"{statistics.median(naive) / statistics.median(memory):,.0f}x"
    )


if __name__ == "__main__":
    asyncio.run(run())
