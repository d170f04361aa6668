"""Benchmark: the citizen's pages.

The demo region, and a citizen with an account who has written 200 messages (through the
API, signed in, as the cabinet would). Measured in process through the ASGI app, as the server
spends it (no network, no browser): the front page ``/``, the form's first step ``/write``
and the cabinet ``/my`` listing all 200; each p95 over ``SAMPLES`` requests, against the
baseline of the same citizen's JSON list ``/api/v1/my/messages`` and ``/healthz`` in the same
run. Also the front page's weight: its HTML and the stylesheets it links.

Run: ``python -m tests.bench.portal`` (PRIEMNAYA_TEST_DATABASE_URL, else an embedded server).
Prints ``METRIC front_p95_ms``, ``METRIC write_p95_ms``, ``METRIC my_p95_ms``,
``METRIC front_kb`` and the baselines.
"""

from __future__ import annotations

import asyncio
import os
import re
import statistics
import tempfile
import time
from pathlib import Path

import httpx2
from sqlalchemy import text

from cabinets.app import create_app
from tenancy.accounts import citizens
from tenancy.database import Database, DatabaseUrls
from tenancy.demo import seed_demo
from tenancy.logs import configure_logging
from tenancy.settings import Settings
from tests.databases import fresh_database, postgres_server

MESSAGES = int(os.environ.get("BENCH_MESSAGES", "200"))
SAMPLES = int(os.environ.get("BENCH_SAMPLES", "300"))
EMAIL, PASSWORD = "bench-citizen@example.ru", "a long citizen password"
MESSAGE = {
    "topic": "heating", "territory": "99701000", "address": "пос. Северный, ул. Школьная, 3",
    "summary": "Нет отопления", "text": "Третий день нет отопления, батареи холодные.",
    "consent": True,
}  # fmt: skip
LIMIT_MS, LIMIT_KB = 20.0, 40.0


async def citizen(db: Database, settings: Settings) -> None:
    """Sign the citizen up and confirm the address with the letter's link."""
    await citizens.sign_up(db, EMAIL, "Житель", PASSWORD, PASSWORD, base_url=settings.base_url)
    async with db.privileged_session() as session:
        payload = (
            await session.execute(
                text("SELECT payload FROM account_mail WHERE kind = 'account.confirmation'")
            )
        ).scalar_one()
    await citizens.confirm_address(db, str(payload["link"]).rsplit("/", 1)[1])


async def p95s(client: httpx2.AsyncClient, paths: dict[str, str]) -> dict[str, float]:
    """The p95 of each path's time, sampled in turns so that a busy moment of the machine
    falls on all of them alike."""
    for path in paths.values():
        for _ in range(10):  # warm: pools, templates, the figures' cache
            assert (await client.get(path)).status_code == 200, path
    took: dict[str, list[float]] = {name: [] for name in paths}
    for _ in range(SAMPLES):
        for name, path in paths.items():
            started = time.perf_counter()
            answer = await client.get(path)
            took[name].append((time.perf_counter() - started) * 1000)
            assert answer.status_code == 200, (path, answer.status_code)
    return {name: statistics.quantiles(times, n=20)[18] for name, times in took.items()}


async def measure(urls: DatabaseUrls, home: Path) -> None:
    settings = Settings(
        database_url=urls.privileged, app_database_url=urls.app, home=home,
        secret_key="portal-benchmark-secret-key-0123456789", intake_per_address=0,
        intake_per_applicant=0, log_level="WARNING",
    )  # fmt: skip
    configure_logging(settings)  # warnings only: a line per request would be measured too
    db = Database(urls, pool_size=2)
    try:
        await seed_demo(db, actor="bench")
        await citizen(db, settings)
    finally:
        await db.dispose()
    app = create_app(settings)
    transport = httpx2.ASGITransport(app=app)
    async with (
        app.router.lifespan_context(app),
        httpx2.AsyncClient(transport=transport, base_url="http://bench") as client,
    ):
        signed = await client.post("/auth/sign-in", json={"email": EMAIL, "password": PASSWORD})
        assert signed.status_code == 200, signed.text
        csrf = {"X-CSRF-Token": signed.json()["csrf_token"]}
        for _ in range(MESSAGES):
            sent = await client.post("/api/v1/messages", json=MESSAGE, headers=csrf)
            assert sent.status_code == 201, sent.text
        listed = await client.get("/my")
        assert listed.text.count('href="/my/messages/') == MESSAGES
        front = await client.get("/")
        styles = re.findall(r'<link rel="stylesheet" href="([^"]+)"', front.text)
        weight = len(front.content) + sum(
            [len((await client.get(href)).content) for href in styles]
        )
        figures = await p95s(
            client,
            {
                "front_p95_ms": "/",
                "write_p95_ms": "/write",
                "my_p95_ms": "/my",
                "baseline_my_json_p95_ms": "/api/v1/my/messages",
                "baseline_healthz_p95_ms": "/healthz",
            },
        )
    for name, value in figures.items():
        print(f"METRIC {name} {value:.2f} ms", flush=True)
    print(f"METRIC front_kb {weight / 1024:.1f} KB", flush=True)
    baseline = figures["baseline_my_json_p95_ms"]
    print(f"my_p95 / JSON list p95: {figures['my_p95_ms'] / baseline:.2f}", flush=True)
    healthz = figures["baseline_healthz_p95_ms"]
    print(f"front_p95 / healthz p95: {figures['front_p95_ms'] / healthz:.2f}", flush=True)
    slow = [n for n in ("front_p95_ms", "write_p95_ms", "my_p95_ms") if figures[n] > LIMIT_MS]
    if slow or weight / 1024 > LIMIT_KB:
        print(f"OVER THE LIMIT: {slow or 'front_kb'}", flush=True)


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="priemnaya-bench-") as where:
        home = Path(where)
        with postgres_server(home) as server, fresh_database(server, "priemnaya_bench") as urls:
            asyncio.run(measure(urls, home / "app"))


if __name__ == "__main__":
    main()
