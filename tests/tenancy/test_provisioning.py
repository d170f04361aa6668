"""Provisioning from manifests: plan, apply, re-apply, prune, export round trips, lifecycle, and
every bad input reported at once with its file and line, with nothing applied."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import text

from tenancy.database import Database
from tenancy.errors import Conflict, InvalidInput
from tenancy.provisioning import service
from tenancy.provisioning.manifest import (
    parse_manifests,
    read_manifests,
    render_csv,
    render_yaml,
)
from tenancy.provisioning.schemas import Plan
from tenancy.staff import service as staff
from tenancy.tenants import service as tenants
from tenancy.tenants.service import Lifecycle

MANIFESTS = Path(__file__).with_name("manifests")
REGION = MANIFESTS / "region.yaml"

TENANTS_CSV = """slug,name,kind,parent,territory,inn,ogrn,short_name
demo-oblast,Правительство области,region,,46000000,7707083893,,Правительство
school-7,Школа № 7,school,demo-oblast,46701000,5003052479,,
"""
STAFF_CSV = """email,name,tenant,roles
head@school7.ru,Мария Соколова,school-7,admin;approver
"""


async def apply(db: Database, *paths: Path, prune: bool = False) -> Plan:
    return await service.apply_manifest(
        db, read_manifests(list(paths)), prune=prune, actor="cli:test", source="test"
    )


async def count(db: Database, table: str) -> int:
    async with db.privileged_session() as session:
        return int((await session.execute(text(f"SELECT count(*) FROM {table}"))).scalar_one())


async def test_apply_creates_the_tree_with_staff_and_reapplying_changes_nothing(
    db: Database,
) -> None:
    plan = await apply(db, REGION)
    assert plan.applied
    assert plan.created == ["demo-oblast", "minobr", "school-1"]
    assert len(plan.staff_added) == 4
    assert len(plan.grants_added) == 7
    tree = await tenants.tenant_tree(db, "demo-oblast")
    assert tree[0].children[0].children[0].slug == "school-1"

    again = await apply(db, REGION)
    assert (again.changes, again.applied) == (0, False)
    assert (again.unchanged_tenants, again.unchanged_grants) == (3, 7)


async def test_grants_written_in_parts_are_all_stored_and_audited_in_order(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(service, "_PART", 2)
    plan = await apply(db, REGION)
    assert await count(db, "staff_grants") == len(plan.grants_added) == 7
    async with db.privileged_session() as session:
        actions = (
            await session.execute(text("SELECT action FROM audit_log ORDER BY id"))
        ).scalars()
        assert list(actions) == ["tenant.created"] * 3 + ["grant.added"] * 7


async def test_a_person_serves_several_tenants_from_one_manifest(db: Database) -> None:
    await apply(db, REGION)
    (ivan,) = [p for p in await staff.list_staff(db) if p.email == "coordinator@minobr.demo.ru"]
    assert [(g.tenant, g.role) for g in ivan.grants] == [
        ("minobr", "coordinator"),
        ("school-1", "viewer"),
    ]


async def test_plan_reports_exactly_the_changed_fields_and_moves(
    db: Database, tmp_path: Path
) -> None:
    await apply(db, REGION)
    changed = REGION.read_text().replace("Средняя школа № 1", "Школа № 1 имени Пушкина")
    changed = changed.replace('territory: "46701000"', 'territory: "46701001"')
    edited = tmp_path / "region.yaml"
    edited.write_text(changed)
    plan = await service.plan_manifest(db, read_manifests([edited]))
    assert [u.model_dump() for u in plan.updated] == [
        {
            "slug": "school-1",
            "changes": {
                "name": ["Средняя школа № 1", "Школа № 1 имени Пушкина"],
                "territory": ["46701000", "46701001"],
            },
        }
    ]
    assert plan.changes == 1
    assert (await tenants.get_tenant(db, "school-1")).name == "Средняя школа № 1"  # plan only


async def test_moving_and_status_through_the_manifest(db: Database, tmp_path: Path) -> None:
    await apply(db, REGION)
    manifest = tmp_path / "tenants.csv"
    manifest.write_text(
        "slug,name,kind,parent,territory,inn,status\n"
        "school-1,Средняя школа № 1,school,demo-oblast,46701000,5003052461,suspended\n"
    )
    plan = await apply(db, manifest)
    assert [(m.old_parent, m.new_parent) for m in plan.moved] == [("minobr", "demo-oblast")]
    assert [(c.old, c.new) for c in plan.status_changed] == [("active", "suspended")]
    shown = await tenants.get_tenant(db, "school-1")
    assert (shown.parent, shown.status) == ("demo-oblast", "suspended")


async def test_csv_manifests_from_excel_in_cp1251_with_semicolons(
    db: Database, tmp_path: Path
) -> None:
    tenants_file = tmp_path / "tenants.csv"
    tenants_file.write_bytes(TENANTS_CSV.replace(",", ";").encode("cp1251"))
    staff_file = tmp_path / "staff.csv"
    staff_file.write_bytes(b"\xef\xbb\xbf" + STAFF_CSV.encode("utf-8"))  # UTF-8 with a BOM
    plan = await apply(db, tenants_file, staff_file)
    assert plan.created == ["demo-oblast", "school-7"]
    assert (await tenants.get_tenant(db, "demo-oblast")).name == "Правительство области"
    assert [(g.email, g.role) for g in plan.grants_added] == [
        ("head@school7.ru", "admin"),
        ("head@school7.ru", "approver"),
    ]


async def test_export_then_apply_reports_no_change(db: Database, tmp_path: Path) -> None:
    await apply(db, REGION)
    await staff.grant_role(db, "director@school1.demo.ru", "minobr", "viewer", actor="test")
    exported = await service.export_manifest(db)
    yaml_file = tmp_path / "export.yaml"
    yaml_file.write_text(render_yaml(exported))
    tenants_csv, staff_csv = render_csv(exported)
    (tmp_path / "tenants.csv").write_text(tenants_csv)
    (tmp_path / "staff.csv").write_text(staff_csv)
    for files in ([yaml_file], [tmp_path / "tenants.csv", tmp_path / "staff.csv"]):
        plan = await service.plan_manifest(db, read_manifests(files), prune=True)
        assert plan.changes == 0, files
    subtree = await service.export_manifest(db, "minobr")
    assert [t.spec.slug for t in subtree.tenants] == ["minobr", "school-1"]


async def test_prune_suspends_unlisted_tenants_and_revokes_unlisted_grants(
    db: Database, tmp_path: Path
) -> None:
    await apply(db, REGION)
    trimmed = tmp_path / "trimmed.yaml"
    text_ = REGION.read_text()
    trimmed.write_text(
        text_[: text_.index("          - slug: school-1")].replace(
            "          - {email: supervisor@minobr.demo.ru, name: Ольга Иванова, "
            "roles: [supervisor]}\n",
            "",
        )
    )
    without_prune = await service.plan_manifest(db, read_manifests([trimmed]))
    assert without_prune.changes == 0
    plan = await apply(db, trimmed, prune=True)
    assert [(c.slug, c.new, c.reason) for c in plan.status_changed] == [
        ("school-1", "suspended", "pruned")
    ]
    assert [(g.email, g.tenant) for g in plan.grants_removed] == [
        ("supervisor@minobr.demo.ru", "minobr")
    ]
    assert (await tenants.get_tenant(db, "school-1")).status == "suspended"  # never deleted


async def test_every_bad_input_is_reported_at_once_with_file_and_line(
    db: Database, tmp_path: Path
) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        """tenants:
  - slug: region-x
    name: Region
    kind: region
    inn: "7707083894"
  - slug: school-a
    name: School
    kind: academy
    parent: region-x
    inn: "5003052454"
  - slug: school-b
    name: School B
    kind: school
    parent: nowhere
    inn: "5003052454"
  - slug: school-c
    name: School C
    kind: school
    parent: region-x
    inn: "5003052454"
    staff:
      - {email: not-an-email, name: X, roles: [admin]}
      - {email: a@b.ru, name: A, roles: [boss]}
  - slug: school-c
    name: Again
    kind: school
    inn: "5003052454"
"""
    )
    with pytest.raises(InvalidInput) as caught:
        await service.apply_manifest(db, parse_manifests([bad]), actor="cli:test", source="test")
    found = {
        (str(e.location).split("/")[-1], e.field, e.message.split(" (")[0])
        for e in caught.value.errors
    }
    assert found == {
        ("bad.yaml:2", "inn", "check digit does not match"),
        (
            "bad.yaml:6",
            "kind",
            "Input should be 'federal', 'region', 'ministry', 'municipality', "
            "'school', 'clinic', 'social', 'culture' or 'other'",
        ),
        ("bad.yaml:11", "parent", "unknown tenant 'nowhere'"),
        ("bad.yaml:22", "email", "is not an e-mail address"),
        ("bad.yaml:23", "roles", "unknown role 'boss'"),
        ("bad.yaml:24", "slug", "'school-c' is also at " + str(bad) + ":16"),
    }
    assert await count(db, "tenants") == 0
    assert await count(db, "users") == 0


async def test_a_cycle_is_refused_with_its_path(db: Database, tmp_path: Path) -> None:
    await apply(db, REGION)
    cycle = tmp_path / "tenants.csv"
    cycle.write_text(
        "slug,name,kind,parent,territory,inn\n"
        "minobr,Министерство образования Демонстрационной области,ministry,school-1,"
        "46000000,5003052454\n"
    )
    with pytest.raises(InvalidInput, match="makes a cycle: minobr → school-1 → minobr"):
        await apply(db, cycle)


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        (b"", "the file is empty"),
        (b"tenants: [\n", "yaml"),
        ("slug,name\n".encode("utf-16"), "UTF-16"),
        (b"who,what\nx,y\n", "expected tenants.csv columns"),
        (b"slug,name,kind,parent,territory,inn,colour\n", "unknown column(s): colour"),
        (b"slug,name,kind,parent,territory,inn\na,b,school\n", "has 3 values for 6 columns"),
        (b"email,name,tenant,roles\na@b.ru,A,,admin\n", "name the tenant"),
        (b"email,name,tenant,roles\na@b.ru,A,x,admin\na@b.ru,B,y,admin\n", "is called 'A'"),
        (b"email,name,tenant,roles\na@b.ru,A,x,admin\na@b.ru,A,x,viewer\n", "is also at"),
        (b"slug,name,kind,parent,territory,inn\na,A,school,,1,7707083893\n", "territory"),
    ],
)
def test_malformed_files_say_what_is_wrong(tmp_path: Path, content: bytes, problem: str) -> None:
    suffix = ".yaml" if content.startswith(b"tenants") or not content else ".csv"
    path = tmp_path / f"manifest{suffix}"
    path.write_bytes(content)
    with pytest.raises(InvalidInput) as caught:
        read_manifests([path])
    assert problem in str(caught.value)
    assert str(path) in str(caught.value)


async def test_apply_is_audited_with_actor_and_source(db: Database) -> None:
    await apply(db, REGION)
    async with db.privileged_session() as session:
        rows = (await session.execute(text("SELECT DISTINCT actor, source FROM audit_log"))).all()
        created = (
            await session.execute(text("SELECT count(*) FROM platform_audit_log"))
        ).scalar_one()
    assert [tuple(r) for r in rows] == [("cli:test", "test")]
    assert created == 4


async def test_lifecycle_keeps_history_and_refuses_impossible_steps(db: Database) -> None:
    await apply(db, REGION)
    suspended, changed = await tenants.change_status(
        db, "school-1", Lifecycle.SUSPEND, reason="audit", actor="t"
    )
    assert (suspended.status, changed) == ("suspended", True)
    _, changed = await tenants.change_status(
        db, "school-1", Lifecycle.SUSPEND, reason="x", actor="t"
    )
    assert not changed
    with pytest.raises(Conflict, match="archive the children of 'minobr' first: school-1"):
        await tenants.change_status(db, "minobr", Lifecycle.ARCHIVE, reason="merged", actor="t")
    with pytest.raises(InvalidInput, match="reason"):
        await tenants.change_status(db, "school-1", Lifecycle.RESUME, reason=" ", actor="t")
    await tenants.change_status(db, "school-1", Lifecycle.ARCHIVE, reason="closed", actor="t")
    with pytest.raises(Conflict, match="resume applies to a suspended tenant"):
        await tenants.change_status(db, "school-1", Lifecycle.RESUME, reason="oops", actor="t")
    await tenants.change_status(db, "school-1", Lifecycle.RESTORE, reason="reopened", actor="t")
    history = [e.action for e in await tenants.tenant_history(db, "school-1")]
    assert history[-3:] == ["tenant.suspended", "tenant.archived", "tenant.restored"]
    assert history[0] == "tenant.created"
