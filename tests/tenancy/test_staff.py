"""Staff and the policy store: global people, grants stored exactly, custom roles, refusals
that name what is wrong and change nothing."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import text

from rbac import store
from rbac.models import UserStatus
from rbac.store import StoredGrant
from tenancy.database import Database
from tenancy.errors import InvalidInput
from tenancy.staff import policy, roles, service
from tenancy.staff.schemas import StaffInput
from tenancy.tenants import service as tenants
from tenancy.tenants.models import TenantKind

ROLES = ["admin", "moderator", "coordinator", "executor", "approver", "viewer"]


@pytest.fixture
async def region(db: Database, tenant_data: Callable[..., Any]) -> list[str]:
    """region → ministry → school-1, school-2; returns the slugs."""
    await tenants.create_tenants(
        db,
        [
            tenant_data("region", kind=TenantKind.REGION),
            tenant_data("ministry", kind=TenantKind.MINISTRY, parent="region"),
            tenant_data("school-1", parent="ministry"),
            tenant_data("school-2", parent="ministry"),
        ],
        actor="test",
    )
    return ["region", "ministry", "school-1", "school-2"]


async def people(db: Database, *emails: str) -> None:
    await service.add_staff(
        db, [StaffInput(email=e, name=e.split("@")[0].title()) for e in emails], actor="test"
    )


async def stored(db: Database) -> set[tuple[str, str, str]]:
    async with db.privileged_session() as session:
        rows = await session.execute(
            text(
                "SELECT u.email, t.slug, g.role FROM staff_grants g "
                "JOIN users u ON u.id = g.user_id JOIN tenants t ON t.id = g.tenant_id"
            )
        )
        return {(r.email, r.slug, r.role) for r in rows}


async def test_one_person_serves_several_tenants_with_different_roles(
    db: Database, region: list[str]
) -> None:
    await people(db, "ann@example.ru")
    await service.grant_role(db, "ann@example.ru", "school-1", "admin", actor="test")
    await service.grant_role(db, "ANN@example.ru", "school-2", "viewer", actor="test")
    (ann,) = await service.list_staff(db)
    assert [(g.tenant, g.role) for g in ann.grants] == [
        ("school-1", "admin"),
        ("school-2", "viewer"),
    ]
    assert (await policy.check_permission(db, "ann@example.ru", "school-1", "staff:manage")).allowed
    assert not (
        await policy.check_permission(db, "ann@example.ru", "school-2", "staff:manage")
    ).allowed


async def test_adding_a_known_person_again_changes_nothing(db: Database) -> None:
    await people(db, "ann@example.ru")
    await people(db, "Ann@Example.ru")
    assert [p.email for p in await service.list_staff(db)] == ["ann@example.ru"]


async def test_revoking_one_grant_among_many_similar_removes_only_it(
    db: Database, region: list[str]
) -> None:
    emails = [f"user{i}@example.ru" for i in range(6)]
    await people(db, *emails)
    for email in emails:
        for slug in region:
            for role in ROLES:
                await service.grant_role(db, email, slug, role, actor="test")
    before = await stored(db)
    assert len(before) == 6 * 4 * len(ROLES)

    change = await service.revoke_role(db, "user3@example.ru", "school-1", "executor", actor="t")

    assert change.changed
    assert await stored(db) == before - {("user3@example.ru", "school-1", "executor")}
    again = await service.revoke_role(db, "user3@example.ru", "school-1", "executor", actor="t")
    assert not again.changed


async def test_batch_writes_store_each_grant_once(db: Database, region: list[str]) -> None:
    await people(db, "ann@example.ru", "bob@example.ru")
    async with db.privileged_session() as session:
        users = await store.users_by_email(session, ["ann@example.ru", "bob@example.ru"])
        ids = {r.slug: r.id for r in await session.execute(text("SELECT id, slug FROM tenants"))}
        batch = [
            StoredGrant(ids[slug], user.id, role)
            for user in users.values()
            for slug in region
            for role in ("viewer", "moderator")
        ]
        added = await store.add_grants(session, batch + batch[:3], granted_by="test")
        assert sorted(added) == sorted(batch)
        assert await store.add_grants(session, batch, granted_by="test") == []
        removed = await store.remove_grants(session, batch[:5])
        assert sorted(removed) == sorted(batch[:5])
        assert len(await store.grants_of(session)) == len(batch) - 5


async def test_unknown_names_are_refused_naming_the_field(db: Database, region: list[str]) -> None:
    await people(db, "ann@example.ru")
    cases = [
        (("nobody@example.ru", "school-1", "admin"), "email"),
        (("ann@example.ru", "no-such-school", "admin"), "tenant"),
        (("ann@example.ru", "school-1", "boss"), "role"),
        (("ann@example.ru", "school-1", "operator"), "role"),
        (("ann@example.ru", "platform", "viewer"), "role"),
    ]
    for (email, tenant, role), field in cases:
        with pytest.raises(InvalidInput) as caught:
            await service.grant_role(db, email, tenant, role, actor="test")
        assert caught.value.errors[0].field == field, (email, tenant, role)
    with pytest.raises(InvalidInput) as caught:
        await policy.check_permission(db, "ann@example.ru", "school-1", "message:delete")
    assert caught.value.errors[0].field == "permission"
    assert await stored(db) == set()


async def test_a_grant_in_a_suspended_or_archived_tenant_is_refused_with_the_reason(
    db: Database, region: list[str]
) -> None:
    await people(db, "ann@example.ru")
    await service.grant_role(db, "ann@example.ru", "school-1", "coordinator", actor="test")
    async with db.privileged_session() as session:
        await session.execute(
            text("UPDATE tenants SET status = 'suspended' WHERE slug = 'school-1'")
        )
        await session.execute(
            text("UPDATE tenants SET status = 'archived' WHERE slug = 'school-2'")
        )
    for slug, status in (("school-1", "suspended"), ("school-2", "archived")):
        with pytest.raises(InvalidInput, match=f"'{slug}' is {status}"):
            await service.grant_role(db, "ann@example.ru", slug, "viewer", actor="test")
    # A suspended cabinet is read-only for its staff.
    check = await policy.check_permission(db, "ann@example.ru", "school-1", "message:assign")
    assert not check.allowed
    assert check.chain == ["school-1 is suspended: its cabinet is read-only"]
    assert (await policy.check_permission(db, "ann@example.ru", "school-1", "message:read")).allowed


async def test_a_deactivated_person_keeps_grants_on_record_but_may_do_nothing(
    db: Database, region: list[str]
) -> None:
    await people(db, "ann@example.ru")
    await service.grant_role(db, "ann@example.ru", "school-1", "admin", actor="test")
    assert await service.set_staff_status(
        db, "ann@example.ru", UserStatus.DEACTIVATED, actor="test", reason="left"
    )
    check = await policy.check_permission(db, "ann@example.ru", "school-1", "message:read")
    assert not check.allowed
    assert check.chain == ["ann@example.ru is deactivated"]
    assert ("ann@example.ru", "school-1", "admin") in await stored(db)
    with pytest.raises(InvalidInput, match="deactivated"):
        await service.grant_role(db, "ann@example.ru", "school-2", "viewer", actor="test")


async def test_explain_names_the_grant_the_hierarchy_and_the_rule(
    db: Database, region: list[str]
) -> None:
    await people(db, "sue@example.ru")
    await service.grant_role(db, "sue@example.ru", "region", "supervisor", actor="test")
    check = await policy.check_permission(db, "sue@example.ru", "school-2", "report:read")
    assert check.allowed
    assert check.chain == [
        "grant: sue@example.ru holds role supervisor in region",
        "hierarchy: school-2 lies under region",
        "rule: supervisor may report:read (reach: subtree)",
    ]
    denied = await policy.check_permission(db, "sue@example.ru", "school-2", "answer:approve")
    assert not denied.allowed
    assert denied.chain[0] == "sue@example.ru holds no role in school-2"


async def test_custom_roles_are_granted_like_templates(db: Database, region: list[str]) -> None:
    await people(db, "ann@example.ru")
    role = await roles.define_role(
        db, "school-1", "clerk", ["message:read", "message:register"], actor="test"
    )
    assert role.scope == "custom:school-1"
    await service.grant_role(db, "ann@example.ru", "school-1", "clerk", actor="test")
    check = await policy.check_permission(db, "ann@example.ru", "school-1", "message:register")
    assert check.allowed
    assert check.chain[0] == "grant: ann@example.ru holds custom role of school-1 clerk in school-1"
    # Replacing the role's permissions changes what its holders may do.
    await roles.define_role(db, "school-1", "clerk", ["message:read"], actor="test")
    assert not (
        await policy.check_permission(db, "ann@example.ru", "school-1", "message:register")
    ).allowed
    # The role exists only in its tenant.
    with pytest.raises(InvalidInput, match="unknown role 'clerk'"):
        await service.grant_role(db, "ann@example.ru", "school-2", "clerk", actor="test")


async def test_custom_roles_refuse_bad_definitions_all_at_once(
    db: Database, region: list[str]
) -> None:
    with pytest.raises(InvalidInput) as caught:
        await roles.define_role(
            db, "school-1", "admin", ["message:delete", "routing:edit"], actor="test"
        )
    assert [e.field for e in caught.value.errors] == ["name", "permissions", "permissions"]
    assert [r.name for r in await roles.list_roles(db, "school-1")][-1] == "platform_admin"


async def test_every_grant_change_is_audited(db: Database, region: list[str]) -> None:
    await people(db, "ann@example.ru")
    await service.grant_role(db, "ann@example.ru", "school-1", "viewer", actor="cli:root")
    await service.revoke_role(db, "ann@example.ru", "school-1", "viewer", actor="cli:root")
    await service.grant_role(db, "ann@example.ru", "platform", "operator", actor="cli:root")
    async with db.privileged_session() as session:
        tenant_rows = (
            await session.execute(
                text("SELECT action, actor FROM audit_log WHERE object_type = 'grant' ORDER BY id")
            )
        ).all()
        platform_rows = (
            await session.execute(text("SELECT action FROM platform_audit_log ORDER BY id"))
        ).all()
    assert [tuple(r) for r in tenant_rows] == [
        ("grant.added", "cli:root"),
        ("grant.removed", "cli:root"),
    ]
    assert [r.action for r in platform_rows] == ["user.created", "grant.added"]
