"""Benchmark: the cabinet's reports page for a region's subtree.

Over the inbox benchmark's world (``tests/bench/inbox.py``: 1,000,000 messages over 10,000
tenants, 20 regions of some 500 organizations each), a supervisor of the largest region signs
in and reads the reports page over the whole subtree — grouped by organization and by topic,
with the weekly trend and both charts — through the app as it serves people (sessions, the
live policy, row-level security, the page rendered). Beside it, in the same run and the same
way, the JSON report endpoint the page's figures come from: the page's cost over the query's.

Run: ``python -m tests.bench.reports`` (``PRIEMNAYA_BENCH_DATABASE_URL`` or
``PRIEMNAYA_TEST_DATABASE_URL``, a superuser URL; else an embedded server); ``--messages N``
for a quick try, ``--keep`` / ``--reuse NAME`` as for the inbox benchmark. Prints
``METRIC report_page_p95_ms``, ``METRIC report_json_p95_ms`` and ``METRIC rating_page_p95_ms``
(the regional rating, ranked from the same figures by organization).
"""

from __future__ import annotations

import argparse
import asyncio
import random
import tempfile
import time
import uuid
from pathlib import Path

from sqlalchemy import text
from starlette.testclient import TestClient

from cabinets.app import create_app
from tenancy.accounts import service as accounts
from tenancy.database import Database, DatabaseUrls
from tenancy.settings import Settings
from tenancy.staff import service as staff
from tenancy.staff.schemas import StaffInput
from tests.bench.inbox import MESSAGES, bench_database, generate, percentile

SAMPLES = 60
EMAIL, PASSWORD = "head@region.bench.example.ru", "a long benchmark password"
QUERIES = ({"by": "tenant"}, {"by": "topic"})


async def _supervise_largest_region(urls: DatabaseUrls) -> tuple[str, int]:
    """A supervisor of the region with the most organizations below it; its slug and size."""
    db = Database(urls, pool_size=1)
    try:
        async with db.privileged_session() as session:
            found = (
                await session.execute(
                    text(
                        """
                        WITH RECURSIVE tree AS (
                            SELECT r.id AS region, r.id FROM tenants r
                            WHERE r.parent_id = (SELECT id FROM tenants WHERE parent_id IS NULL)
                            UNION ALL
                            SELECT tree.region, c.id FROM tenants c
                            JOIN tree ON c.parent_id = tree.id
                        )
                        SELECT t.slug, count(*) AS size
                        FROM tree JOIN tenants t ON t.id = tree.region
                        GROUP BY t.slug ORDER BY size DESC, t.slug LIMIT 1
                        """
                    )
                )
            ).one()
        await staff.add_staff(db, [StaffInput(email=EMAIL, name="Куратор")], actor="bench")
        await staff.grant_role(db, EMAIL, found.slug, "supervisor", actor="bench")
        await accounts.set_known_password(db, [EMAIL], PASSWORD, actor="bench")
        return str(found.slug), int(found.size)
    finally:
        await db.dispose()


def _timed(client: TestClient, path: str, params: dict[str, str]) -> float:
    started = time.perf_counter()
    response = client.get(path, params=params)
    elapsed = (time.perf_counter() - started) * 1000
    assert response.status_code == 200, response.text[:500]
    return elapsed


def measure(urls: DatabaseUrls, samples: int = SAMPLES) -> None:
    region, size = asyncio.run(_supervise_largest_region(urls))
    with tempfile.TemporaryDirectory() as home:
        settings = Settings(
            database_url=urls.privileged,
            app_database_url=urls.app,
            home=Path(home),
            secret_key="benchmark-secret-key-long-enough-to-pass-" + uuid.uuid4().hex,
            base_url="http://127.0.0.1:8000",
        )
        with TestClient(create_app(settings)) as client:
            signed = client.post("/auth/sign-in", json={"email": EMAIL, "password": PASSWORD})
            assert signed.status_code == 200, signed.text
            page, api = f"/cabinet/{region}/reports", f"/api/v1/tenants/{region}/reports/messages"
            for query in QUERIES:  # warm up, as a running server is
                _timed(client, page, query | {"subtree": "yes"})
            pages: list[float] = []
            answers: list[float] = []
            ratings: list[float] = []
            for i in range(samples):
                query = QUERIES[i % len(QUERIES)]
                pages.append(_timed(client, page, query | {"subtree": "yes"}))
                answers.append(_timed(client, api, query | {"subtree": "true"}))
                ratings.append(_timed(client, f"/cabinet/{region}/rating", {}))
    page_p95, api_p95 = percentile(pages, 0.95), percentile(answers, 0.95)
    rating_p95 = percentile(ratings, 0.95)
    print(
        f"# the region {region}: {size} organizations; {samples} samples each, by tenant and topic"
    )
    print(f"METRIC report_page_p95_ms {page_p95:.1f} ms")
    print(f"METRIC report_json_p95_ms {api_p95:.1f} ms")
    print(f"# page / JSON at p95: {page_p95 / api_p95:.2f}x (the trend query and rendering)")
    print(f"METRIC rating_page_p95_ms {rating_p95:.1f} ms")
    print(f"# rating page / JSON report at p95: {rating_p95 / api_p95:.2f}x")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    parser.add_argument("--reuse", metavar="NAME", help="measure a kept database again")
    parser.add_argument("--messages", type=int, default=MESSAGES, help="fewer, for a quick try")
    parser.add_argument("--samples", type=int, default=SAMPLES, help="requests of each kind")
    options = parser.parse_args()
    with bench_database(options.reuse, options.keep) as (urls, empty):
        if empty:
            seconds = generate(urls, random.Random(20261123), options.messages)
            print(f"# generated in {seconds:.0f} s")
        measure(urls, options.samples)


if __name__ == "__main__":
    main()
