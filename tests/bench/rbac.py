"""Benchmark: permission checks at platform scale.

10,000 tenants in four levels, 100,000 people, 150,000 grants of which 200 are supervisors over
region subtrees of ~500 tenants. The policy is written to PostgreSQL with COPY, then loaded cold
through the same path the app uses (``load_policy`` + ``PolicyEnforcer.from_snapshot``), and
asked a mixed workload. The baseline, in the same run, is a plain pycasbin ``Enforcer`` holding
per-tenant ``p`` rules for the same permissions.

Run: ``python -m tests.bench.rbac`` (uses PRIEMNAYA_TEST_DATABASE_URL, else an embedded server).
Prints ``METRIC <name> <value> <unit>`` lines.
"""

from __future__ import annotations

import asyncio
import gc
import random
import statistics
import time
import uuid
from dataclasses import dataclass

import casbin
import psutil
import psycopg
from casbin.model import Model

from rbac.enforcer import PolicyEnforcer
from rbac.permissions import PERMISSIONS
from rbac.roles import ROLE_TEMPLATES, RoleScope
from tenancy.database import Database, DatabaseUrls
from tenancy.staff.policy import load_policy
from tests.databases import fresh_database, libpq_url, postgres_server

TENANTS = 10_000
USERS = 100_000
GRANTS = 150_000
SUPERVISORS = 200
REGIONS = 20  # each with 4 municipalities of ~125 schools: subtrees of ~500
CALLS = 200_000
NAIVE_CALLS = 20
TENANT_ROLES = [r.name for r in ROLE_TEMPLATES.values() if r.scope is RoleScope.TENANT]
ORDINARY_ROLES = [r for r in TENANT_ROLES if r != "supervisor"]


@dataclass
class World:
    tenants: list[tuple[uuid.UUID, uuid.UUID | None, str, str]]  # id, parent, slug, kind
    users: list[uuid.UUID]
    grants: list[tuple[uuid.UUID, uuid.UUID, str]]  # tenant, user, role
    regions: list[uuid.UUID]
    below: dict[uuid.UUID, list[uuid.UUID]]  # region → its descendants


def generate(rng: random.Random) -> World:
    tenants: list[tuple[uuid.UUID, uuid.UUID | None, str, str]] = []
    root = uuid.uuid4()
    tenants.append((root, None, "federal", "federal"))
    regions: list[uuid.UUID] = []
    below: dict[uuid.UUID, list[uuid.UUID]] = {}
    municipalities: list[list[uuid.UUID]] = []
    for r in range(REGIONS):
        region = uuid.uuid4()
        regions.append(region)
        tenants.append((region, root, f"region-{r}", "region"))
        below[region] = []
        municipalities.append([])
        for m in range(4):
            municipality = uuid.uuid4()
            tenants.append((municipality, region, f"mun-{r}-{m}", "municipality"))
            below[region].append(municipality)
            municipalities[r].append(municipality)
    for s in range(TENANTS - len(tenants)):
        school, r = uuid.uuid4(), s % REGIONS
        tenants.append((school, municipalities[r][s // REGIONS % 4], f"school-{s}", "school"))
        below[regions[r]].append(school)
    users = [uuid.uuid4() for _ in range(USERS)]
    grants: set[tuple[uuid.UUID, uuid.UUID, str]] = set()
    for i in range(SUPERVISORS):
        grants.add((regions[i % REGIONS], users[i], "supervisor"))
    ids = [t[0] for t in tenants]
    while len(grants) < GRANTS:
        grants.add((rng.choice(ids), rng.choice(users), rng.choice(ORDINARY_ROLES)))
    return World(tenants, users, sorted(grants), regions, below)


def store(urls: DatabaseUrls, world: World) -> float:
    """Write the world with COPY; return the seconds it took (the physical floor of a write)."""
    started = time.perf_counter()
    with psycopg.connect(libpq_url(urls.privileged)) as conn, conn.cursor() as cur:
        with cur.copy("COPY tenants (id, parent_id, slug, name, kind, inn) FROM STDIN") as copy:
            for tenant_id, parent, slug, kind in world.tenants:
                copy.write_row((tenant_id, parent, slug, slug, kind, "7707083893"))
        with cur.copy("COPY users (id, email, name) FROM STDIN") as copy:
            for n, user in enumerate(world.users):
                copy.write_row((user, f"user{n}@example.ru", f"User {n}"))
        with cur.copy(
            "COPY staff_grants (tenant_id, user_id, role, granted_by) FROM STDIN"
        ) as copy:
            for tenant_id, user, role in world.grants:
                copy.write_row((tenant_id, user, role, "bench"))
    return time.perf_counter() - started


def rss_mb() -> float:
    gc.collect()
    return psutil.Process().memory_info().rss / 2**20


def workload(world: World, rng: random.Random) -> list[tuple[str, str, str, bool]]:
    """A mix: held roles (60 %), strangers (20 %), supervisors below them (10 %), executors on
    their assignments (10 %)."""
    permissions = sorted(PERMISSIONS)
    ids = [str(t[0]) for t in world.tenants]
    requests = []
    for _ in range(CALLS):
        dice = rng.random()
        if dice < 0.6:
            tenant, user, _ = rng.choice(world.grants)
            requests.append((str(user), str(tenant), rng.choice(permissions), False))
        elif dice < 0.8:
            user = rng.choice(world.users)
            requests.append((str(user), rng.choice(ids), rng.choice(permissions), False))
        elif dice < 0.9:
            region = rng.randrange(REGIONS)
            user = world.users[rng.randrange(SUPERVISORS // REGIONS) * REGIONS + region]
            tenant = rng.choice(world.below[world.regions[region]])
            requests.append(
                (str(user), str(tenant), rng.choice(["message:read", "report:read"]), False)
            )
        else:
            tenant, user, _ = rng.choice(world.grants)
            requests.append((str(user), str(tenant), "answer:draft", True))
    return requests


def naive_enforcer(world: World) -> casbin.Enforcer:
    """Per-tenant ``p`` rules: every tenant carries its own copy of every role's rules."""
    model = Model()
    model.load_model_from_text(
        """
        [request_definition]
        r = sub, dom, obj, act
        [policy_definition]
        p = sub, dom, obj, act
        [role_definition]
        g = _, _, _
        [policy_effect]
        e = some(where (p.eft == allow))
        [matchers]
        m = g(r.sub, p.sub, r.dom) && r.dom == p.dom && r.obj == p.obj && r.act == p.act
        """
    )
    rules = []
    for tenant_id, *_ in world.tenants:
        for role in TENANT_ROLES:
            for permission, _ in ROLE_TEMPLATES[role].grants:
                obj, act = permission.split(":")
                rules.append([role, str(tenant_id), obj, act])
    links = [[str(u), role, str(t)] for t, u, role in world.grants]
    return casbin.Enforcer(model, RulesAdapter(rules, links))


class RulesAdapter(casbin.persist.Adapter):  # type: ignore[misc]
    """casbin's bulk path: an adapter hands over every rule at once."""

    def __init__(self, p: list[list[str]], g: list[list[str]]) -> None:
        self.p, self.g = p, g

    def load_policy(self, model: Model) -> None:
        model.model["p"]["p"].policy.extend(self.p)
        model.model["g"]["g"].policy.extend(self.g)


def percentile(samples: list[float], fraction: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(len(ordered) * fraction))]


async def run() -> None:
    rng = random.Random(20261123)
    world = generate(rng)
    with postgres_server() as server, fresh_database(server, "priemnaya_bench") as urls:
        copy_s = store(urls, world)
        db = Database(urls, pool_size=1)
        try:
            before = rss_mb()
            started = time.perf_counter()
            snapshot = await load_policy(db)
            enforcer = PolicyEnforcer.from_snapshot(snapshot)
            load_s = time.perf_counter() - started
            del snapshot
            policy_mb = rss_mb() - before
        finally:
            await db.dispose()

    requests = workload(world, rng)
    timer = time.perf_counter_ns
    samples = []
    allowed = 0
    for user, tenant, permission, assigned in requests:
        t0 = timer()
        ok = enforcer.allowed(user, tenant, permission, assigned=assigned)
        samples.append((timer() - t0) / 1000)
        allowed += ok
    for user, tenant, permission, assigned in requests[:500]:
        assert enforcer.allowed(user, tenant, permission, assigned=assigned) == (
            enforcer.casbin_allowed(user, tenant, permission, assigned=assigned)
        )

    naive = naive_enforcer(world)
    naive_samples = []
    for user, tenant, permission, _ in requests[:NAIVE_CALLS]:
        obj, act = permission.split(":")
        t0 = timer()
        naive.enforce(user, tenant, obj, act)
        naive_samples.append((timer() - t0) / 1000)

    p50 = statistics.median(samples)
    naive_p50 = statistics.median(naive_samples)
    print(
        f"# {len(world.tenants)} tenants, {USERS} users, {len(world.grants)} grants; "
        f"{CALLS} checks, {allowed / CALLS:.0%} allowed; COPY of the policy took {copy_s:.2f} s"
    )
    print(f"METRIC enforce_p50_us {p50:.2f} us")
    print(f"METRIC enforce_p99_us {percentile(samples, 0.99):.2f} us")
    print(f"METRIC policy_load_s {load_s:.2f} s")
    print(f"METRIC policy_rss_mb {policy_mb:.0f} MB")
    print(f"METRIC naive_enforce_p50_us {naive_p50:.0f} us")
    print(f"# naive / ours at the median: {naive_p50 / p50:,.0f}x")


if __name__ == "__main__":
    asyncio.run(run())
