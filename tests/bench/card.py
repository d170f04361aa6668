"""Benchmark: the message card through HTTP.

On the inbox benchmark's platform (``tests.bench.inbox``: 1,000,000 messages over 10,000
tenants, skewed by volume), a coordinator of the organizations drawn by volume opens message
cards one after another against the app as ``priemnaya serve`` runs it (uvicorn, 2 worker
processes, the app role under row-level security, signed in with a session cookie). Each card
is the whole page: the message, its history and files, the deadlines, the actions this person
may take and their pickers (who may be assigned, likely duplicates). The baseline, in the same
run, for the same messages and the same person, interleaved: the JSON message endpoint
(``GET /api/v1/tenants/{slug}/messages/{id}``), one row read.

Timed at the client, one request at a time over a keep-alive connection (so the figure is the
server's time plus the loopback's). Run: ``python -m tests.bench.card`` (``--messages N`` or
``BENCH_CARD_MESSAGES`` for a smaller platform while developing; ``--reuse NAME`` measures an
inbox benchmark database kept with ``--keep``). Prints ``METRIC card_page_p95_ms`` and
``METRIC card_json_p95_ms``.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

import httpx2
from sqlalchemy import text

from tenancy.accounts import service as accounts
from tenancy.database import Database, DatabaseUrls
from tenancy.staff import service as staff
from tenancy.staff.schemas import StaffInput
from tests.bench.inbox import MESSAGES, bench_database, generate, percentile, platform
from tests.bench.intake import serve

TENANTS_DRAWN = 40
SAMPLES = int(os.environ.get("BENCH_CARD_SAMPLES", "400"))
WARM_UP = 40
EMAIL, PASSWORD = "card-bench@bench.example.ru", "a long benchmark password"
SECRET = "card-benchmark-secret-key-0123456789"


async def prepare(urls: DatabaseUrls) -> list[tuple[str, uuid.UUID]]:
    """A coordinator of the tenants drawn by volume, and the messages to open there (drawn
    alike in a database measured again)."""
    rng = random.Random(20261201)
    db = Database(urls, pool_size=1)
    try:
        world = await platform(db)
        drawn = list(dict.fromkeys(world.by_volume(rng, TENANTS_DRAWN * 3)))[:TENANTS_DRAWN]
        async with db.privileged_session() as session:
            known = await session.execute(
                text("SELECT 1 FROM users WHERE email = :e"), {"e": EMAIL}
            )
            staffed = known.first() is not None  # a database measured before (--reuse)
        if not staffed:
            await staff.add_staff(db, [StaffInput(email=EMAIL, name="Координатор")], actor="bench")
            for tenant in drawn:
                await staff.grant_role(db, EMAIL, world.slugs[tenant], "coordinator", actor="b")
            await accounts.set_known_password(db, [EMAIL], PASSWORD, actor="bench")
        async with db.privileged_session() as session:
            rows = await session.execute(
                text(
                    "SELECT tenant_id, id FROM messages WHERE tenant_id = ANY(:t) "
                    "ORDER BY md5(id::text) LIMIT :n"
                ),
                {"t": drawn, "n": SAMPLES + WARM_UP},
            )
            found = [(world.slugs[r.tenant_id], r.id) for r in rows]
    finally:
        await db.dispose()
    rng.shuffle(found)
    return found


def measure(url: str, messages: list[tuple[str, uuid.UUID]]) -> tuple[list[float], list[float]]:
    pages: list[float] = []
    answers: list[float] = []
    with httpx2.Client(base_url=url, timeout=30) as client:
        signed = client.post("/auth/sign-in", json={"email": EMAIL, "password": PASSWORD})
        assert signed.status_code == 200, signed.text
        for n, (slug, message) in enumerate(messages):
            for path, into in (
                (f"/cabinet/{slug}/messages/{message}", pages),
                (f"/api/v1/tenants/{slug}/messages/{message}", answers),
            ):
                started = time.perf_counter()
                response = client.get(path)
                elapsed = (time.perf_counter() - started) * 1000
                assert response.status_code == 200, (path, response.status_code)
                if n >= WARM_UP:
                    into.append(elapsed)
    return pages, answers


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    parser.add_argument("--reuse", metavar="NAME", help="an inbox benchmark database kept")
    parser.add_argument(
        "--messages",
        type=int,
        default=int(os.environ.get("BENCH_CARD_MESSAGES", str(MESSAGES))),
        help="fewer, for a quick try of the script",
    )
    options = parser.parse_args()
    rng = random.Random(20261123)  # the inbox benchmark's platform
    with bench_database(options.reuse, options.keep) as (urls, empty):
        if empty:
            seconds = generate(urls, rng, options.messages)
            print(f"# generated {options.messages:,} messages in {seconds:.0f} s")
        messages = asyncio.run(prepare(urls))
        with tempfile.TemporaryDirectory() as home:
            env = {
                "PRIEMNAYA_DATABASE_URL": urls.privileged,
                "PRIEMNAYA_APP_DATABASE_URL": urls.app,
                "PRIEMNAYA_SECRET_KEY": SECRET,
                "PRIEMNAYA_HOME": str(Path(home) / "app"),
                "PRIEMNAYA_LOG_LEVEL": "WARNING",
            }
            process, url = serve([sys.executable, "-m", "cli", "serve"], env)
            try:
                pages, answers = measure(url, messages)
            finally:
                process.terminate()
                process.wait(timeout=30)
    page_p95, json_p95 = percentile(pages, 0.95), percentile(answers, 0.95)
    print(
        f"# {len(pages)} cards of {len({slug for slug, _ in messages})} organizations; medians: "
        f"card {statistics.median(pages):.2f} ms, JSON {statistics.median(answers):.2f} ms"
    )
    print(f"METRIC card_page_p95_ms {page_p95:.2f} ms")
    print(f"METRIC card_json_p95_ms {json_p95:.2f} ms")
    print(f"# card page / JSON message at p95: {page_p95 / json_p95:.1f}x")


if __name__ == "__main__":
    main()
