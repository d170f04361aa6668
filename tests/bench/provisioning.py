"""Benchmark: provisioning a whole region from one manifest.

About 10,000 tenants in four levels (region → 40 ministries and municipalities → 400
districts → schools and clinics), 25,000 people and 30,000 grants, in YAML. Measures a cold
apply, a no-op re-apply, and a plan after changing one tenant (which must report exactly that
change), all through the same calls ``priemnaya tenant apply`` makes. The baseline, in the same
run, loads the same rows with plain ``COPY`` into a fresh database.

Run: ``python -m tests.bench.provisioning`` (the embedded PostgreSQL in a temporary directory,
or PRIEMNAYA_TEST_DATABASE_URL). Prints ``METRIC <name> <value> <unit>`` lines.
"""

from __future__ import annotations

import asyncio
import csv
import random
import resource
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import psycopg
import yaml

from tenancy.database import Database, DatabaseUrls
from tenancy.provisioning.manifest import read_manifests
from tenancy.provisioning.service import apply_manifest, plan_manifest
from tenancy.tenants.identifiers import inn_with_check_digits
from tests.databases import fresh_database, libpq_url, postgres_server

LEVEL2, LEVEL3, TENANTS = 40, 400, 10_000
PEOPLE, GRANTS = 25_000, 30_000
ROLES = ["admin", "moderator", "coordinator", "executor", "approver", "viewer"]


def generate(rng: random.Random) -> dict[str, Any]:
    tenants: list[dict[str, Any]] = []

    def add(slug: str, name: str, kind: str, parent: str | None) -> None:
        item: dict[str, Any] = {
            "slug": slug,
            "name": name,
            "kind": kind,
            "territory": f"46{len(tenants):06d}",
            "inn": inn_with_check_digits(f"{5000000000 + len(tenants):010d}"[:9]),
        }
        if parent:
            item["parent"] = parent
        item["staff"] = []
        tenants.append(item)

    add("region", "Правительство области", "region", None)
    for i in range(LEVEL2):
        add(
            f"l2-{i}",
            f"Министерство или округ № {i}",
            rng.choice(["ministry", "municipality"]),
            "region",
        )
    for i in range(LEVEL3):
        add(f"l3-{i}", f"Управление № {i}", "other", f"l2-{i % LEVEL2}")
    for i in range(TENANTS - len(tenants)):
        add(f"org-{i}", f"Учреждение № {i}", rng.choice(["school", "clinic"]), f"l3-{i % LEVEL3}")
    people = [(f"person{i}@region.example.ru", f"Сотрудник {i}") for i in range(PEOPLE)]
    grants: set[tuple[int, int, str]] = set()
    for i in range(PEOPLE):  # everyone serves somewhere
        grants.add((i % TENANTS, i, rng.choice(ROLES)))
    while len(grants) < GRANTS:
        grants.add((rng.randrange(TENANTS), rng.randrange(PEOPLE), rng.choice(ROLES)))
    by_tenant_person: dict[tuple[int, int], list[str]] = {}
    for tenant, person, role in sorted(grants):
        by_tenant_person.setdefault((tenant, person), []).append(role)
    for (tenant, person), roles in by_tenant_person.items():
        email, name = people[person]
        tenants[tenant]["staff"].append({"email": email, "name": name, "roles": roles})
    return {"tenants": tenants}


def write(document: dict[str, Any], path: Path) -> None:
    path.write_text(
        yaml.dump(document, Dumper=yaml.CSafeDumper, allow_unicode=True, sort_keys=False)
    )


def write_csv(document: dict[str, Any], directory: Path) -> list[Path]:
    tenants, staff = directory / "tenants.csv", directory / "staff.csv"
    with tenants.open("w", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(["slug", "name", "kind", "parent", "territory", "inn"])
        for t in document["tenants"]:
            writer.writerow(
                [t["slug"], t["name"], t["kind"], t.get("parent", ""), t["territory"], t["inn"]]
            )
    with staff.open("w", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(["email", "name", "tenant", "roles"])
        for t in document["tenants"]:
            for person in t["staff"]:
                writer.writerow(
                    [person["email"], person["name"], t["slug"], ";".join(person["roles"])]
                )
    return [tenants, staff]


def copy_baseline(urls: DatabaseUrls, document: dict[str, Any]) -> float:
    """The same tenants, people and grants with plain COPY: the physical floor."""
    ids = {t["slug"]: uuid.uuid4() for t in document["tenants"]}
    people: dict[str, uuid.UUID] = {}
    started = time.perf_counter()
    with psycopg.connect(libpq_url(urls.privileged)) as conn, conn.cursor() as cur:
        with cur.copy(
            "COPY tenants (id, slug, parent_id, name, kind, territory_code, inn) FROM STDIN"
        ) as copy:
            for t in document["tenants"]:
                parent = ids[t["parent"]] if "parent" in t else None
                copy.write_row(
                    (
                        ids[t["slug"]],
                        t["slug"],
                        parent,
                        t["name"],
                        t["kind"],
                        t["territory"],
                        t["inn"],
                    )
                )
        with cur.copy("COPY users (id, email, name) FROM STDIN") as copy:
            for t in document["tenants"]:
                for person in t["staff"]:
                    if person["email"] not in people:
                        people[person["email"]] = uuid.uuid4()
                        copy.write_row((people[person["email"]], person["email"], person["name"]))
        with cur.copy(
            "COPY staff_grants (tenant_id, user_id, role, granted_by) FROM STDIN"
        ) as copy:
            for t in document["tenants"]:
                for person in t["staff"]:
                    for role in person["roles"]:
                        copy.write_row((ids[t["slug"]], people[person["email"]], role, "bench"))
    return time.perf_counter() - started


async def timed_apply(
    db: Database, paths: list[Path], *, plan_only: bool = False
) -> tuple[float, Any]:
    started = time.perf_counter()
    manifest = read_manifests(paths)
    if plan_only:
        plan = await plan_manifest(db, manifest)
    else:
        plan = await apply_manifest(
            db, manifest, actor="cli:bench", source=",".join(map(str, paths))
        )
    return time.perf_counter() - started, plan


async def measure(server: str, document: dict[str, Any], fmt: str, where: Path) -> dict[str, Any]:
    """Cold apply, no-op re-apply and a one-change plan of ``document`` written as ``fmt``."""

    def files() -> list[Path]:
        if fmt == "csv":
            return write_csv(document, where)
        write(document, where / "region.yaml")
        return [where / "region.yaml"]

    paths = files()
    figures: dict[str, Any] = {"size_mb": sum(p.stat().st_size for p in paths) / 2**20}
    original = document["tenants"][5000]["name"]
    with fresh_database(server, "priemnaya_bench") as urls:
        db = Database(urls, pool_size=1)
        try:
            figures["cold_s"], cold = await timed_apply(db, paths)
            figures["noop_s"], noop = await timed_apply(db, paths)
            document["tenants"][5000]["name"] = "Переименованное учреждение"
            paths = files()
            figures["plan_s"], plan = await timed_apply(db, paths, plan_only=True)
        finally:
            document["tenants"][5000]["name"] = original
            await db.dispose()
    grants = sum(len(p["roles"]) for t in document["tenants"] for p in t["staff"])
    assert len(cold.created) == TENANTS, cold.changes
    assert len(cold.grants_added) == grants, cold.changes
    assert noop.changes == 0
    assert plan.changes == 1
    assert plan.updated[0].slug == document["tenants"][5000]["slug"]
    figures.update(people=len(cold.staff_added), grants=grants)
    return figures


async def run() -> None:
    document = generate(random.Random(20261123))
    with tempfile.TemporaryDirectory() as where, postgres_server() as server:
        csv_figures = await measure(server, document, "csv", Path(where))
        yaml_figures = await measure(server, document, "yaml", Path(where))
        with fresh_database(server, "priemnaya_bench") as urls:
            copy_s = copy_baseline(urls, document)
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        f"# {TENANTS} tenants, {csv_figures['people']} people, {csv_figures['grants']} grants; "
        f"tenants.csv + staff.csv {csv_figures['size_mb']:.1f} MB"
    )
    print(f"METRIC cold_apply_s {csv_figures['cold_s']:.2f} s")
    print(f"METRIC noop_apply_s {csv_figures['noop_s']:.2f} s")
    print(f"METRIC plan_one_change_s {csv_figures['plan_s']:.2f} s")
    print(f"METRIC copy_baseline_s {copy_s:.2f} s")
    print(f"METRIC peak_rss_mb {peak_mb:.0f} MB")
    print(f"# cold apply / COPY: {csv_figures['cold_s'] / copy_s:.1f}x")
    print(
        f"# the same as one YAML file ({yaml_figures['size_mb']:.1f} MB): "
        f"cold {yaml_figures['cold_s']:.2f} s, no-op {yaml_figures['noop_s']:.2f} s, "
        f"plan {yaml_figures['plan_s']:.2f} s"
    )


if __name__ == "__main__":
    asyncio.run(run())
