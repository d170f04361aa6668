"""Benchmark: the whole country on one platform.

A federal root, 85 regions, and 200,000 organizations in five levels (region → ministries and
municipalities → districts → schools, clinics and the rest), 500,000 people, 700,000 grants of
which 2,000 are supervisors over a region's or a ministry's subtree; generated like the
provisioning benchmark and written as ``tenants.csv`` + ``staff.csv``. Measured as whole
``priemnaya`` processes, as a person waits for them: a cold ``tenant apply``, a no-op re-apply,
a ``--plan`` after one tenant changed (which must report exactly that change), each with its
peak memory. The baseline, in the same run, loads the same rows with plain ``COPY`` into a fresh
database. Then a fresh process loads the policy as a web process does at start (``load_policy``
and ``PolicyEnforcer.from_snapshot``) and asks the enforcer a mixed workload.

Run: ``python -m tests.bench.national [SCALE]`` (SCALE 1 is the full size, 0.1 a tenth; the
embedded PostgreSQL in a temporary directory, or PRIEMNAYA_TEST_DATABASE_URL). Prints
``METRIC <name> <value> <unit>`` lines.
"""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from tenancy.database import DatabaseUrls
from tenancy.tenants.identifiers import inn_with_check_digits
from tests.bench.cli import PRIEMNAYA, environment
from tests.bench.provisioning import copy_baseline, write_csv
from tests.databases import fresh_database, postgres_server

REGIONS = 85
ORGANIZATIONS, PEOPLE, GRANTS, SUPERVISORS = 200_000, 500_000, 700_000, 2_000
ROLES = ["admin", "moderator", "coordinator", "executor", "approver", "viewer"]
CHANGED = -1  # the tenant renamed before the plan: the last one, a school


def generate(rng: random.Random, scale: float) -> dict[str, Any]:
    """The country as the provisioning benchmark's document: tenants with their staff."""
    organizations = max(int(ORGANIZATIONS * scale), 1000)
    ministries = max(organizations // 94, REGIONS)  # ~2,100 at full size
    districts = max(organizations // 10, ministries)  # 20,000
    tenants: list[dict[str, Any]] = []

    def add(slug: str, name: str, kind: str, parent: str | None) -> None:
        n = len(tenants)
        item: dict[str, Any] = {
            "slug": slug,
            "name": name,
            "kind": kind,
            "territory": f"{n % 85 + 1:02d}{n:09d}",
            "inn": inn_with_check_digits(f"{100000000 + n:09d}"),
            "staff": [],
        }
        if parent:
            item["parent"] = parent
        tenants.append(item)

    add("rf", "Российская Федерация", "federal", None)
    for r in range(REGIONS):
        add(f"r{r}", f"Правительство субъекта № {r}", "region", "rf")
    for m in range(ministries):
        kind = rng.choice(["ministry", "municipality"])
        add(f"r{m % REGIONS}-m{m}", f"Ведомство № {m}", kind, f"r{m % REGIONS}")
    for d in range(districts):
        parent = tenants[1 + REGIONS + d % ministries]["slug"]
        add(f"{parent}-d{d}", f"Управление № {d}", "other", parent)
    first_district = 1 + REGIONS + ministries
    kinds = ["school", "school", "clinic", "social", "culture"]
    for o in range(organizations - len(tenants)):
        parent = tenants[first_district + o % districts]["slug"]
        add(f"o{o}", f"Учреждение № {o}", rng.choice(kinds), parent)

    people = max(int(PEOPLE * scale), 100)
    grants = max(int(GRANTS * scale), people)
    supervisors = max(int(SUPERVISORS * scale), REGIONS)
    held: dict[tuple[int, int], list[str]] = {}
    for person in range(supervisors):  # over a region (most) or a ministry's subtree
        tenant = 1 + person % REGIONS if person % 4 else 1 + REGIONS + person % ministries
        held[(tenant, person)] = ["supervisor"]
    for person in range(supervisors, people):  # everyone else serves somewhere
        held.setdefault((rng.randrange(first_district, len(tenants)), person), []).append(
            rng.choice(ROLES)
        )
    count = sum(len(r) for r in held.values())
    while count < grants:
        roles = held.setdefault((rng.randrange(len(tenants)), rng.randrange(people)), [])
        role = rng.choice(ROLES)
        if role not in roles:
            roles.append(role)
            count += 1
    for (tenant, person), roles in sorted(held.items()):
        tenants[tenant]["staff"].append(
            {"email": f"p{person}@gov.example.ru", "name": f"Сотрудник {person}", "roles": roles}
        )
    return {"tenants": tenants}


def run_measured(command: list[str], env: dict[str, str]) -> tuple[float, float, str]:
    """Wall seconds, peak memory (MB) and standard output of one whole process; its processor
    time (which on a shared machine the wall time exceeds by the waits) goes to the log."""
    with tempfile.TemporaryFile("w+") as out:
        started = time.perf_counter()
        process = subprocess.Popen(command, env=env, stdout=out)
        _, status, usage = os.wait4(process.pid, 0)
        elapsed = time.perf_counter() - started
        process.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        printed = out.read()
    if process.returncode != 0:
        raise RuntimeError(f"{' '.join(command[3:5])} failed: {printed[-2000:]}")
    cpu = usage.ru_utime + usage.ru_stime
    print(f"#   processor time {cpu:.1f} s, load average {os.getloadavg()[0]:.1f}", flush=True)
    return elapsed, usage.ru_maxrss / 1024, printed


POLICY_PROBE = """
import asyncio, json, random, resource, sys, time
import psycopg
from rbac.sync import LivePolicy
from tenancy.database import Database, DatabaseUrls, libpq_url
from tenancy.staff.policy import load_policy

PERMISSIONS = ["message:read", "message:assign", "answer:approve", "report:read", "tenant:edit"]


def workload(policy, privileged, rng):
    # Half the questions where the person holds a role, half anywhere.
    with psycopg.connect(libpq_url(privileged)) as conn:
        held = conn.execute(
            "SELECT user_id::text, tenant_id::text FROM staff_grants ORDER BY random() LIMIT 20000"
        ).fetchall()
        tenants = [r[0] for r in conn.execute("SELECT id::text FROM tenants").fetchall()]
    questions = []
    for i in range(200_000):
        user, domain = rng.choice(held)
        if i % 2:
            domain = rng.choice(tenants)
        questions.append((user, domain, rng.choice(PERMISSIONS)))
    allowed, clock, times = policy.enforcer.allowed, time.perf_counter_ns, []
    for user, domain, permission in questions:
        started = clock()
        allowed(user, domain, permission)
        times.append(clock() - started)
    times.sort()
    return times[len(times) // 2] / 1000, times[int(len(times) * 0.99)] / 1000


async def main(privileged, app):
    # What a web process does at start (cabinets/app.py): follow the policy, wait until loaded.
    db = Database(DatabaseUrls(privileged, app), pool_size=1)
    policy = LivePolicy(libpq_url(app), lambda: load_policy(db))
    started = time.perf_counter()
    following = asyncio.create_task(policy.run())
    await policy.ready.wait()
    load_s = time.perf_counter() - started
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    p50, p99 = workload(policy, privileged, random.Random(7))
    # A grant made elsewhere, until this process answers by it.
    with psycopg.connect(libpq_url(privileged), autocommit=True) as other:
        user, tenant = other.execute(
            "SELECT u.id::text, t.id::text FROM users u, tenants t "
            "WHERE NOT EXISTS (SELECT 1 FROM staff_grants g "
            "WHERE g.user_id = u.id AND g.tenant_id = t.id) LIMIT 1"
        ).fetchone()
        before = policy.enforcer.allowed(user, tenant, "answer:approve")
        committed = time.perf_counter()
        other.execute(
            "INSERT INTO staff_grants (tenant_id, user_id, role, granted_by) "
            "VALUES (%s, %s, 'approver', 'bench')",
            (tenant, user),
        )
    while not policy.enforcer.allowed(user, tenant, "answer:approve"):
        await asyncio.sleep(0.001)
    change_s = time.perf_counter() - committed
    following.cancel()
    await db.dispose()
    print(json.dumps({
        "load_s": load_s, "rss_mb": rss_mb, "p50_us": p50, "p99_us": p99,
        "change_s": change_s, "before": before,
    }))


asyncio.run(main(sys.argv[1], sys.argv[2]))
"""


def measure_policy(urls: DatabaseUrls) -> dict[str, Any]:
    out = subprocess.run(
        [sys.executable, "-c", POLICY_PROBE, urls.privileged, urls.app],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    figures: dict[str, Any] = json.loads(out.strip().splitlines()[-1])
    return figures


def main() -> None:
    scale = float(sys.argv[1]) if len(sys.argv) > 1 else 1.0
    started = time.perf_counter()
    document = generate(random.Random(20261201), scale)
    tenants = document["tenants"]
    grants = sum(len(p["roles"]) for t in tenants for p in t["staff"])
    people = len({p["email"] for t in tenants for p in t["staff"]})
    print(
        f"# scale {scale}: {len(tenants)} tenants, {people} people, {grants} grants "
        f"(generated in {time.perf_counter() - started:.0f} s)",
        flush=True,
    )
    with tempfile.TemporaryDirectory() as where, postgres_server() as server:
        directory = Path(where)
        files = [str(p) for p in write_csv(document, directory)]
        size_mb = sum(Path(f).stat().st_size for f in files) / 2**20
        with fresh_database(server, "priemnaya_bench") as urls:
            env = environment(urls, directory / "home")
            apply = [*PRIEMNAYA, "tenant", "apply", *files]
            cold_s, cold_mb, _ = run_measured(apply, env)
            print(f"# cold apply {cold_s:.1f} s, {cold_mb:.0f} MB", flush=True)
            noop_s, noop_mb, out = run_measured(apply, env)
            assert "no changes" in out, out[-1000:]
            print(f"# no-op {noop_s:.1f} s, {noop_mb:.0f} MB", flush=True)
            tenants[CHANGED]["name"] = "Переименованное учреждение"
            write_csv(document, directory)
            plan_s, plan_mb, out = run_measured([*apply, "--plan", "--json"], env)
            plan = json.loads(out)
            assert plan["changes"] == 1, plan["changes"]
            assert plan["updated"][0]["slug"] == tenants[CHANGED]["slug"]
            print(f"# plan {plan_s:.1f} s, {plan_mb:.0f} MB", flush=True)
            policy = measure_policy(urls)
        with fresh_database(server, "priemnaya_bench") as urls:
            copy_s = copy_baseline(urls, document)
    print(f"# tenants.csv + staff.csv {size_mb:.0f} MB")
    print(f"METRIC national_cold_s {cold_s:.1f} s")
    print(f"METRIC national_noop_s {noop_s:.1f} s")
    print(f"METRIC national_plan_s {plan_s:.1f} s")
    print(f"METRIC national_rss_mb {max(cold_mb, noop_mb, plan_mb):.0f} MB")
    print(f"METRIC national_copy_s {copy_s:.1f} s")
    print(f"# cold apply / COPY: {cold_s / copy_s:.1f}x; no-op / COPY: {noop_s / copy_s:.1f}x")
    print(f"METRIC policy_load_s {policy['load_s']:.2f} s")
    print(f"METRIC policy_rss_mb {policy['rss_mb']:.0f} MB")
    print(f"METRIC enforce_p99_us {policy['p99_us']:.1f} us")
    print(f"# enforce p50 {policy['p50_us']:.1f} us")
    print(f"METRIC policy_change_s {policy['change_s']:.3f} s")


if __name__ == "__main__":
    main()
