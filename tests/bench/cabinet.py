"""Benchmark: the cabinet's inbox page over HTTP, on the inbox benchmark's platform.

The world is ``tests.bench.inbox``'s (1,000,000 messages over 10,000 tenants, skewed as
appeals are; ``PRIEMNAYA_BENCH_MESSAGES`` sets fewer for a quick try). Twenty coordinators
serve the organizations measured, ten each (the largest, and others drawn by volume), each
signed in through a keep-alive client of their own. The app runs as ``priemnaya serve`` runs
it (one worker process, so each request has the cores to itself), and the clients ask, in
turn, for the HTML inbox page — the first page of a view with every view's counts, the
names behind the codes and the filter panel — and for the JSON inbox with the same filters,
the baseline (it lists the page and nothing else). Latency is measured at the client, over
loopback: the server's time plus a fraction of a millisecond.

Run: ``python -m tests.bench.cabinet`` (``PRIEMNAYA_BENCH_DATABASE_URL`` or
``PRIEMNAYA_TEST_DATABASE_URL``, a superuser URL; else an embedded server; ``--keep`` and
``--reuse NAME`` as for the inbox benchmark). Prints ``METRIC inbox_page_p95_ms``,
``inbox_json_p95_ms`` and ``inbox_page_kb`` (HTML and CSS of the largest first page).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx2

from tenancy.accounts import service as accounts
from tenancy.database import Database, DatabaseUrls
from tenancy.staff import service as staff
from tenancy.staff.schemas import StaffInput
from tests.bench.inbox import MESSAGES, bench_database, generate, percentile, platform
from tests.s3_server import free_port

SAMPLES = int(os.environ.get("PRIEMNAYA_BENCH_SAMPLES", "400"))
LARGEST, DRAWN = 20, 180  # the organizations measured
COORDINATORS = 20  # each serves every twentieth of them: a header of ten to switch between
PASSWORD = "a long benchmark password"
SECRET = "cabinet-benchmark-secret-key-0123456789"
# Each view the page opens on, and the JSON inbox's parameters for the same list.
VIEWS: dict[str, dict[str, str]] = {
    "all": {},
    "new": {"status": "new"},
    "unassigned": {"status": "registered", "assignee": "none"},
    "approval": {"status": "on_approval"},
    "soon": {"due_within": "2", "sort": "due"},
    "overdue": {"overdue": "true", "sort": "due"},
    "reopened": {"reopened": "true"},
}


def email(n: int) -> str:
    return f"coordinator{n}@bench.example.ru"


def coordinator_of(index: int) -> int:
    """Who serves the ``index``-th organization measured."""
    return index % COORDINATORS


async def seed_coordinators(urls: DatabaseUrls, slugs: list[str]) -> None:
    db = Database(urls, pool_size=2)
    people = [StaffInput(email=email(n), name=f"Координатор {n}") for n in range(COORDINATORS)]
    try:
        await staff.add_staff(db, people, actor="bench")
        for index, slug in enumerate(slugs):
            await staff.grant_role(db, email(coordinator_of(index)), slug, "coordinator",
                                   actor="bench")  # fmt: skip
        await accounts.set_known_password(db, [p.email for p in people], PASSWORD, actor="bench")
    finally:
        await db.dispose()


def serve(urls: DatabaseUrls, home: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    env = {
        **os.environ,
        "PRIEMNAYA_DATABASE_URL": urls.privileged,
        "PRIEMNAYA_APP_DATABASE_URL": urls.app,
        "PRIEMNAYA_SECRET_KEY": SECRET,
        "PRIEMNAYA_HOME": str(home),
        "PRIEMNAYA_LOG_LEVEL": "WARNING",
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "cli", "serve", "--host", "127.0.0.1", "--port", str(port),
         "--workers", "1"],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            if httpx2.get(f"{url}/readyz").status_code == 200:
                return process, url
        except httpx2.HTTPError:
            pass
        time.sleep(0.3)
    process.kill()
    raise RuntimeError(f"the server on {url} did not start")


def timed(client: httpx2.Client, path: str, params: dict[str, str]) -> tuple[float, str]:
    started = time.perf_counter()
    response = client.get(path, params=params)
    elapsed = (time.perf_counter() - started) * 1000
    assert response.status_code == 200, (path, params, response.text[:500])
    return elapsed, response.text


def signed_in(url: str, n: int) -> httpx2.Client:
    client = httpx2.Client(base_url=url, timeout=30)
    signed = client.post("/auth/sign-in", json={"email": email(n), "password": PASSWORD})
    assert signed.status_code == 200, signed.text
    return client


def measure(url: str, slugs: list[str], weights: list[int], rng: random.Random) -> None:
    clients = [signed_in(url, n) for n in range(COORDINATORS)]
    try:
        for index, slug in enumerate(slugs[:COORDINATORS]):  # warm the pools and the plans
            client = clients[coordinator_of(index)]
            timed(client, f"/cabinet/{slug}", {})
            timed(client, f"/api/v1/tenants/{slug}/messages", {})
        pages, lists = [], []
        for index in rng.choices(range(len(slugs)), weights=weights, k=SAMPLES):
            client, slug = clients[coordinator_of(index)], slugs[index]
            view = rng.choice(list(VIEWS))
            pages.append(timed(client, f"/cabinet/{slug}", {"view": view})[0])
            lists.append(timed(client, f"/api/v1/tenants/{slug}/messages", VIEWS[view])[0])
        _, html = timed(clients[0], f"/cabinet/{slugs[0]}", {})
        styles = re.findall(r'<link rel="stylesheet" href="([^"]+)"', html)
        css = sum(len(clients[0].get(href).content) for href in styles)
    finally:
        for client in clients:
            client.close()
    size_kb = (len(html.encode()) + css) / 1024
    page_p95, json_p95 = percentile(pages, 0.95), percentile(lists, 0.95)
    print(f"# {SAMPLES} requests of each, tenants drawn by volume, views at random")
    print(f"# page p50 {percentile(pages, 0.5):.1f} ms, JSON p50 {percentile(lists, 0.5):.1f} ms")
    print(f"METRIC inbox_page_p95_ms {page_p95:.1f} ms (target <= 40)")
    print(f"METRIC inbox_json_p95_ms {json_p95:.1f} ms (the JSON inbox, same lists)")
    print(f"# page / JSON at p95: {page_p95 / json_p95:.2f}x")
    print(f"METRIC inbox_page_kb {size_kb:.1f} KB (HTML + CSS of the largest first page; <= 60)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    parser.add_argument("--reuse", metavar="NAME", help="measure a kept database again")
    options = parser.parse_args()
    total = int(os.environ.get("PRIEMNAYA_BENCH_MESSAGES", str(MESSAGES)))
    rng = random.Random(20261201)
    with bench_database(options.reuse, options.keep) as (urls, empty):
        if empty:
            print(f"# generated {total:,} messages in {generate(urls, rng, total):.0f} s")
        world = asyncio.run(_platform(urls))
        largest = world.largest(LARGEST)
        # Drawn apart from the generator's numbers, so that a reused database gets the same.
        drawn = [t for t in world.by_volume(random.Random(17), DRAWN * 2) if t not in largest]
        chosen = list(dict.fromkeys([*largest, *drawn]))[: LARGEST + DRAWN]
        slugs = [world.slugs[t] for t in chosen]
        if empty:
            asyncio.run(seed_coordinators(urls, slugs))
        with tempfile.TemporaryDirectory(prefix="priemnaya-bench-") as home:
            process, url = serve(urls, Path(home))
            try:
                measure(url, slugs, [max(1, world.volume[t]) for t in chosen], rng)
            finally:
                process.terminate()
                process.wait(timeout=30)


async def _platform(urls: DatabaseUrls) -> Any:
    db = Database(urls, pool_size=1)
    try:
        return await platform(db)
    finally:
        await db.dispose()


if __name__ == "__main__":
    main()
