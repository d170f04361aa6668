"""Benchmark: intake through PgBouncer (transaction pooling) against intake direct.

The same app (``priemnaya serve --workers 2``), the same database and the same load as
``tests.bench.intake``; once with both roles connecting to PostgreSQL directly, once through
PgBouncer in transaction mode (``PRIEMNAYA_TRANSACTION_POOLER=true``, LISTEN direct). The two
runs alternate, twice each, and each side reports its better run, so that neither gains from
going second on a shared machine.

Run: ``python -m tests.bench.intake_pgbouncer`` (PRIEMNAYA_TEST_DATABASE_URL, else an
embedded server). Prints ``METRIC intake_pgbouncer_rps`` and ``METRIC intake_direct_rps``.
"""

from __future__ import annotations

import asyncio
import os
import sys
import tempfile
from pathlib import Path

from tenancy.database import DatabaseUrls
from tests.bench.intake import CLIENTS, SECRET, WORKERS, hammer, prepare, serve
from tests.databases import fresh_database, postgres_server
from tests.pgbouncer import running_pgbouncer, through_pgbouncer

MESSAGES = int(os.environ.get("BENCH_MESSAGES", "3000"))
ROUNDS = 2


def intake_rps(urls: DatabaseUrls, home: Path) -> float:
    env = {
        "PRIEMNAYA_DATABASE_URL": urls.privileged,
        "PRIEMNAYA_APP_DATABASE_URL": urls.app,
        "PRIEMNAYA_SECRET_KEY": SECRET,
        "PRIEMNAYA_HOME": str(home),
        "PRIEMNAYA_INTAKE_PER_ADDRESS": "0",  # every client comes from 127.0.0.1
        "PRIEMNAYA_INTAKE_PER_APPLICANT": "0",
        "PRIEMNAYA_LOG_LEVEL": "WARNING",
    }
    if urls.pooled:
        assert urls.listen
        env |= {
            "PRIEMNAYA_TRANSACTION_POOLER": "true",
            "PRIEMNAYA_LISTEN_DATABASE_URL": urls.listen,
        }
    process, url = serve([sys.executable, "-m", "cli", "serve"], env)
    try:
        return asyncio.run(hammer(url, MESSAGES))
    finally:
        process.terminate()
        process.wait(timeout=30)


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="priemnaya-bench-") as where:
        home = Path(where)
        with (
            postgres_server(home) as server,
            fresh_database(server, "priemnaya_bench") as direct,
            running_pgbouncer(server, pool_size=20) as address,
        ):
            asyncio.run(prepare(direct))
            pooled = through_pgbouncer(direct, address)
            runs: dict[str, list[float]] = {"direct": [], "pgbouncer": []}
            for _ in range(ROUNDS):
                for name, urls in (("direct", direct), ("pgbouncer", pooled)):
                    runs[name].append(intake_rps(urls, home / "app"))
                    print(f"intake {name}: {runs[name][-1]:.0f} messages/s", flush=True)
    best = {name: max(values) for name, values in runs.items()}
    print(f"{MESSAGES} messages from {CLIENTS} concurrent clients, uvicorn with {WORKERS} workers")
    print(f"METRIC intake_pgbouncer_rps {best['pgbouncer']:.0f} messages/s (transaction pooling)")
    print(f"METRIC intake_direct_rps {best['direct']:.0f} messages/s (baseline: direct)")
    print(f"ratio pgbouncer/direct: {best['pgbouncer'] / best['direct']:.2f} (target >= 0.9)")


if __name__ == "__main__":
    main()
