"""Tenants: creation with a clear error per bad field, hierarchy without cycles, an audit trail,
and nothing written when anything is wrong."""

from collections.abc import Callable

import pytest
from pydantic import ValidationError
from sqlalchemy import text

from tenancy.database import Database
from tenancy.errors import InvalidInput, NotFound
from tenancy.tenants import service
from tenancy.tenants.models import TenantKind, TenantStatus
from tenancy.tenants.schemas import TenantCreate

Make = Callable[..., TenantCreate]


async def counts(db: Database) -> tuple[int, int]:
    async with db.privileged_session() as session:
        tenants = (await session.execute(text("SELECT count(*) FROM tenants"))).scalar_one()
        audit = (await session.execute(text("SELECT count(*) FROM audit_log"))).scalar_one()
    return int(tenants), int(audit)


async def test_created_tenant_is_read_back_with_its_parent(db: Database, tenant_data: Make) -> None:
    await service.create_tenant(db, tenant_data("region", kind=TenantKind.REGION), actor="t")
    created = await service.create_tenant(db, tenant_data("school-7", parent="region"), actor="t")
    found = await service.get_tenant(db, "school-7")
    assert found == created
    assert found.parent == "region"
    assert found.status is TenantStatus.ACTIVE
    assert found.created_at is not None


async def test_creation_is_audited_with_actor_and_source(db: Database, tenant_data: Make) -> None:
    created = await service.create_tenant(
        db, tenant_data("clinic"), actor="cli:ops", source="x.yaml"
    )
    async with db.tenant_session([created.id]) as session:
        entry = (await session.execute(text("SELECT * FROM audit_log"))).one()
    assert (entry.actor, entry.action, entry.object_id, entry.source) == (
        "cli:ops",
        "tenant.created",
        "clinic",
        "x.yaml",
    )
    assert entry.changes["inn"] == created.inn


async def test_duplicate_slug_is_refused_and_nothing_is_written(
    db: Database, tenant_data: Make
) -> None:
    await service.create_tenant(db, tenant_data("dup"), actor="t")
    before = await counts(db)
    with pytest.raises(InvalidInput) as raised:
        await service.create_tenant(db, tenant_data("dup"), actor="t")
    assert [(e.field, e.message) for e in raised.value.errors] == [
        ("slug", "'dup' is already taken")
    ]
    assert await counts(db) == before


async def test_unknown_parent_is_named(db: Database, tenant_data: Make) -> None:
    with pytest.raises(InvalidInput, match="parent: unknown tenant 'nowhere'"):
        await service.create_tenant(db, tenant_data("orphan", parent="nowhere"), actor="t")
    assert await counts(db) == (0, 0)


async def test_batch_creation_is_all_or_nothing(db: Database, tenant_data: Make) -> None:
    batch = [
        tenant_data("region", kind=TenantKind.REGION),
        tenant_data("school-1", parent="region"),
        tenant_data("school-2", parent="missing"),
    ]
    with pytest.raises(InvalidInput, match="parent"):
        await service.create_tenants(db, batch, actor="t")
    assert await counts(db) == (0, 0)


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("slug", "Bad_Slug", "lowercase latin letters"),
        ("slug", "-edge", "lowercase latin letters"),
        ("slug", "x" * 64, "1-63 characters"),
        ("kind", "church", "Input should be 'federal'"),
        ("inn", "7707083894", "check digit"),
        ("ogrn", "1027700132196", "check digit"),
        ("territory", "Moscow", "OKTMO"),
        ("timezone", "Mars/Olympus", "time zone"),
        ("name", "", "at least 1 character"),
    ],
)
def test_bad_field_is_named(field: str, value: str, message: str) -> None:
    data = {"slug": "ok", "name": "Org", "kind": "school", "inn": "7707083893", field: value}
    with pytest.raises(ValidationError) as raised:
        TenantCreate.model_validate(data)
    errors = InvalidInput.from_validation(raised.value).errors
    assert [e.field for e in errors] == [field]
    assert message in errors[0].message


def test_every_problem_is_reported_at_once() -> None:
    with pytest.raises(ValidationError) as raised:
        TenantCreate.model_validate(
            {"slug": "BAD", "name": "x", "kind": "nope", "inn": "1", "unexpected": 1}
        )
    fields = sorted(e.field for e in InvalidInput.from_validation(raised.value).errors)
    assert fields == ["inn", "kind", "slug", "unexpected"]


async def test_federal_tenant_stands_at_the_top(db: Database, tenant_data: Make) -> None:
    await service.create_tenant(db, tenant_data("rf", kind=TenantKind.FEDERAL), actor="t")
    with pytest.raises(InvalidInput, match="has no parent"):
        await service.create_tenant(
            db, tenant_data("rf2", kind=TenantKind.FEDERAL, parent="rf"), actor="t"
        )
    await service.create_tenant(db, tenant_data("school"), actor="t")
    with pytest.raises(InvalidInput, match="a region stands under a federal tenant"):
        await service.create_tenant(
            db, tenant_data("reg", kind=TenantKind.REGION, parent="school"), actor="t"
        )


async def test_moving_under_a_descendant_is_refused_as_a_cycle(
    db: Database, tenant_data: Make
) -> None:
    await service.create_tenants(
        db,
        [
            tenant_data("a", kind=TenantKind.MUNICIPALITY),
            tenant_data("b", kind=TenantKind.MUNICIPALITY, parent="a"),
            tenant_data("c", kind=TenantKind.MUNICIPALITY, parent="b"),
        ],
        actor="t",
    )
    before = await counts(db)
    with pytest.raises(InvalidInput, match=r"would make a cycle \(a → b → c → a\)"):
        await service.move_tenant(db, "a", "c", actor="t")
    with pytest.raises(InvalidInput, match="cycle"):
        await service.move_tenant(db, "a", "a", actor="t")
    assert await counts(db) == before
    assert (await service.get_tenant(db, "a")).parent is None


async def test_move_is_audited_with_old_and_new_parent(db: Database, tenant_data: Make) -> None:
    await service.create_tenants(
        db,
        [
            tenant_data("x", kind=TenantKind.MUNICIPALITY),
            tenant_data("y", kind=TenantKind.MUNICIPALITY),
            tenant_data("s", parent="x"),
        ],
        actor="t",
    )
    moved = await service.move_tenant(db, "s", "y", actor="cli:ops")
    assert moved.parent == "y"
    async with db.tenant_session([moved.id]) as session:
        entry = (
            await session.execute(text("SELECT * FROM audit_log WHERE action = 'tenant.moved'"))
        ).one()
    assert entry.changes == {"parent": ["x", "y"]}


async def test_tree_nests_children_by_name(db: Database, tenant_data: Make) -> None:
    await service.create_tenants(
        db,
        [
            tenant_data("reg", kind=TenantKind.REGION),
            tenant_data("mun", kind=TenantKind.MUNICIPALITY, parent="reg"),
            tenant_data("school", parent="mun"),
            tenant_data("other-region", kind=TenantKind.REGION),
        ],
        actor="t",
    )
    (root,) = await service.tenant_tree(db, "reg")
    assert root.slug == "reg"
    assert [c.slug for c in root.children] == ["mun"]
    assert [c.slug for c in root.children[0].children] == ["school"]
    assert {r.slug for r in await service.tenant_tree(db)} == {"reg", "other-region"}


async def test_unknown_tenant_is_not_found(db: Database) -> None:
    with pytest.raises(NotFound):
        await service.get_tenant(db, "ghost")
    with pytest.raises(NotFound):
        await service.tenant_tree(db, "ghost")


async def test_list_filters_by_kind_and_parent(db: Database, tenant_data: Make) -> None:
    await service.create_tenants(
        db,
        [
            tenant_data("reg", kind=TenantKind.REGION),
            tenant_data("school", parent="reg"),
            tenant_data("clinic", kind=TenantKind.CLINIC, parent="reg"),
        ],
        actor="t",
    )
    schools = await service.list_tenants(db, kind=TenantKind.SCHOOL)
    assert [t.slug for t in schools] == ["school"]
    children = await service.list_tenants(db, parent="reg")
    assert [t.slug for t in children] == ["clinic", "school"]
