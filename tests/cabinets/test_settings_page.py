"""The administrator changes the organization's cabinet settings: the time zone and working
calendar deadlines count in, the limits on citizens' files, and the contact details citizens
then see on their message's status page. Each change is in the audit log with its value before
and after; bad input is named at its field in Russian and changes nothing."""

from __future__ import annotations

from typing import Any

from sqlalchemy import text

from tenancy.database import Database, DatabaseUrls
from tests.cabinets.message_world import Desk, World
from tests.databases import run_in_database

PAGE = "/cabinet/north-roads/settings"
CONTACTS = {
    "contact_address": "посёлок Северный, ул. Центральная, 1, каб. 12",
    "contact_phone": "+7 (800) 100-20-30",
    "contact_email": "priemnaya@roads.example.ru",
    "contact_hours": "пн–пт 9:00–18:00",
}


def _save(desk: Desk, **fields: Any) -> Any:
    return desk.client.post(PAGE, data={"csrf_token": desk.csrf, **fields}, follow_redirects=False)


def _rows(urls: DatabaseUrls, sql: str) -> list[Any]:
    async def read(db: Database) -> list[Any]:
        async with db.privileged_session() as session:
            return list(await session.execute(text(sql)))

    found: list[Any] = run_in_database(urls, read)
    return found


def test_settings_are_saved_audited_before_and_after_and_contacts_reach_citizens(
    world: World, clean_database: DatabaseUrls
) -> None:
    admin = world.desks["admin"]
    page = admin.client.get(PAGE)
    assert page.status_code == 200
    assert "Новогодние каникулы" in page.text  # the year ahead, as the SLA clock counts it

    saved = _save(
        admin,
        timezone="Asia/Yekaterinburg",
        calendar="ru",
        attachment_max_mb="20",
        attachment_max_files="3",
        **CONTACTS,
    )
    assert saved.status_code == 303
    assert "Настройки сохранены." in admin.client.get(saved.headers["location"]).text
    [tenant] = _rows(
        clean_database,
        "SELECT timezone, attachment_max_mb, attachment_max_files, contact_phone FROM tenants "
        "WHERE slug = 'north-roads'",
    )
    assert tuple(tenant) == ("Asia/Yekaterinburg", 20, 3, "+7 (800) 100-20-30")
    [entry] = _rows(
        clean_database,
        "SELECT a.actor, a.changes FROM audit_log a JOIN tenants t ON t.id = a.tenant_id "
        "WHERE t.slug = 'north-roads' AND a.action = 'tenant.settings_changed'",
    )
    assert entry.changes["timezone"] == {"before": "Europe/Moscow", "after": "Asia/Yekaterinburg"}
    assert entry.changes["attachment_max_files"] == {"before": 5, "after": 3}
    assert entry.changes["contact_email"] == {"before": None, "after": CONTACTS["contact_email"]}
    assert "calendar" not in entry.changes  # unchanged values are not recorded

    receipt = world.submit()
    status = world.citizen.get(f"/track/{receipt['number']}", params={"token": receipt["token"]})
    assert "Как связаться" in status.text
    assert CONTACTS["contact_address"] in status.text
    assert 'href="mailto:priemnaya@roads.example.ru"' in status.text

    again = _save(admin, timezone="Asia/Yekaterinburg", **CONTACTS)
    assert "Ничего не изменилось." in admin.client.get(again.headers["location"]).text
    assert (
        len(
            _rows(
                clean_database, "SELECT 1 FROM audit_log WHERE action = 'tenant.settings_changed'"
            )
        )
        == 1
    )


def test_bad_settings_are_named_at_their_fields_and_nothing_changes(
    world: World, clean_database: DatabaseUrls
) -> None:
    answer = _save(
        world.desks["admin"],
        timezone="Mars/Olympus",
        calendar="ru",
        attachment_max_mb="0",
        attachment_max_files="50",
        contact_email="нет",
        contact_phone="звоните",
        contact_hours="ч" * 301,
    )
    assert answer.status_code == 422
    for words in (
        "Часовой пояс: выберите часовой пояс из списка",
        "Наибольший размер файла, МБ: целое число от 1 до 100",
        "Файлов к одному обращению: целое число от 0 до 20",
        "Эл. почта: адрес эл. почты вида",
        "Телефон: номер телефона",
        "Часы приёма: слишком длинно",
    ):
        assert words in answer.text
    assert 'value="звоните"' in answer.text  # what was typed is kept
    [tenant] = _rows(
        clean_database,
        "SELECT timezone, attachment_max_mb, contact_email FROM tenants WHERE slug = 'north-roads'",
    )
    assert tuple(tenant) == ("Europe/Moscow", 10, None)
    assert (
        _rows(clean_database, "SELECT 1 FROM audit_log WHERE action LIKE 'tenant.settings%'") == []
    )


def test_another_organizations_settings_are_not_found(world: World) -> None:
    admin = world.desks["admin"]
    assert admin.client.get("/cabinet/river/settings").status_code == 404
    assert _save_elsewhere(admin).status_code == 404
    assert world.desks["coordinator"].client.get(PAGE).status_code == 403
    assert 'href="/cabinet/north-roads/settings"' in admin.client.get(PAGE).text


def _save_elsewhere(desk: Desk) -> Any:
    return desk.client.post(
        "/cabinet/river/settings",
        data={"csrf_token": desk.csrf, "timezone": "Asia/Omsk"},
        follow_redirects=False,
    )
