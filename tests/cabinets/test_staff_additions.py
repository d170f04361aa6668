"""The administrator switches a person of the organization off and on (a deactivated person
cannot sign in or be assigned; their roles stay) and defines the organization's own roles from
the permission registry (a platform-only permission is refused at its field)."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from sqlalchemy import text

from cabinets.messages.candidates import assignees
from rbac.enforcer import PolicyEnforcer
from tenancy.database import Database, DatabaseUrls
from tenancy.staff import policy as staff_policy
from tenancy.staff import service as staff
from tests.cabinets.message_world import PASSWORD, STAFF, Desk, World
from tests.databases import run_in_database

EXECUTOR = STAFF["executor"][0]
PERSON = f"/cabinet/north-roads/staff/{quote(EXECUTOR)}"
ROLES = "/cabinet/north-roads/staff/roles"


def _post(desk: Desk, path: str, data: dict[str, Any] | None = None) -> Any:
    return desk.client.post(
        path, data={"csrf_token": desk.csrf, **(data or {})}, follow_redirects=False
    )


def _signs_in(world: World, email: str) -> int:
    answer = world.citizen.post("/auth/sign-in", json={"email": email, "password": PASSWORD})
    world.citizen.cookies.clear()
    return int(answer.status_code)


def _assignable(urls: DatabaseUrls) -> set[str]:
    async def read(db: Database) -> set[str]:
        policy = PolicyEnforcer.from_snapshot(await staff_policy.load_policy(db))
        async with db.privileged_session() as session:
            tenant = (
                await session.execute(text("SELECT id FROM tenants WHERE slug = 'north-roads'"))
            ).scalar_one()
            return {a.email for a in await assignees(session, policy, tenant)}

    found: set[str] = run_in_database(urls, read)
    return found


def _count(urls: DatabaseUrls, sql: str) -> int:
    async def read(db: Database) -> int:
        async with db.privileged_session() as session:
            return int((await session.execute(text(sql))).scalar_one())

    found: int = run_in_database(urls, read)
    return found


def test_a_deactivated_person_cannot_sign_in_or_be_assigned_and_keeps_their_roles(
    world: World, clean_database: DatabaseUrls
) -> None:
    admin = world.desks["admin"]
    assert EXECUTOR in _assignable(clean_database)
    assert _post(admin, PERSON + "/deactivate").status_code == 303
    page = admin.client.get(PERSON + "?notice=deactivated").text
    assert "Сотрудник отключён" in page
    assert "Вернуть доступ" in page
    assert "Отозвать роль «Исполнитель»" in page  # the roles stay
    assert _signs_in(world, EXECUTOR) == 403
    assert EXECUTOR not in _assignable(clean_database)
    entries = _count(
        clean_database,
        "SELECT count(*) FROM audit_log a JOIN tenants t ON t.id = a.tenant_id "
        "WHERE t.slug = 'north-roads' AND a.action = 'user.deactivated'",
    )
    assert entries == 1

    assert _post(admin, PERSON + "/reactivate").status_code == 303
    assert _signs_in(world, EXECUTOR) == 200
    assert EXECUTOR in _assignable(clean_database)


def test_someone_serving_another_organization_too_or_oneself_is_not_switched_off(
    world: World, clean_database: DatabaseUrls
) -> None:
    run_in_database(
        clean_database,
        lambda db: staff.grant_role(db, EXECUTOR, "river", "viewer", actor="t"),
    )
    admin = world.desks["admin"]
    refused = _post(admin, PERSON + "/deactivate")
    assert refused.status_code == 422
    assert "Состояние: сотрудник работает и в другой организации" in refused.text
    itself = _post(admin, f"/cabinet/north-roads/staff/{quote(STAFF['admin'][0])}/deactivate")
    assert itself.status_code == 422
    assert "себя отключить нельзя" in itself.text
    river = quote(STAFF["river"][0])
    assert _post(admin, f"/cabinet/north-roads/staff/{river}/deactivate").status_code == 404
    assert _post(admin, f"/cabinet/river/staff/{river}/deactivate").status_code == 404
    assert _count(clean_database, "SELECT count(*) FROM users WHERE status <> 'active'") == 0


def test_an_organizations_own_role_is_made_from_the_registry_and_can_be_given(
    world: World, clean_database: DatabaseUrls
) -> None:
    admin = world.desks["admin"]
    page = admin.client.get(ROLES)
    assert page.status_code == 200
    assert "Читать отчёты и сводки" in page.text  # each permission in plain words
    saved = _post(
        admin,
        ROLES,
        {
            "name": "press",
            "description": "Пресс-служба",
            "permissions": ["message:read", "report:read"],
        },
    )
    assert saved.status_code == 303
    assert "Роль сохранена" in admin.client.get(saved.headers["location"]).text
    assert "Пресс-служба" in admin.client.get(ROLES).text
    granted = _post(admin, PERSON + "/grant", {"role": "press"})
    assert granted.status_code == 303


def test_a_role_with_a_platform_only_permission_or_a_bad_code_is_refused_at_its_field(
    world: World, clean_database: DatabaseUrls
) -> None:
    admin = world.desks["admin"]
    refused = _post(
        admin, ROLES, {"name": "Пресса", "permissions": ["message:read", "catalog:edit"]}
    )
    assert refused.status_code == 422
    assert "Код роли: от 2 до 40 строчных латинских букв" in refused.text
    assert "Права: права «Вести каталог тем и территорий" in refused.text
    assert "есть только у оператора платформы" in refused.text
    assert 'value="catalog:edit" checked' in refused.text  # what was chosen is kept
    shared = _post(admin, ROLES, {"name": "executor", "permissions": ["message:read"]})
    assert "так называется общая роль" in shared.text
    nothing = _post(admin, ROLES, {"name": "press"})
    assert "Права: отметьте хотя бы одно право" in nothing.text
    assert _count(clean_database, "SELECT count(*) FROM custom_roles") == 0
    assert world.desks["admin"].client.get("/cabinet/river/staff/roles").status_code == 404
    assert world.desks["coordinator"].client.get(ROLES).status_code == 403
