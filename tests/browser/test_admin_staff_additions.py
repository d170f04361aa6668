"""The administrator switches a person off and on from their page and defines the
organization's own role in the browser; a platform-only permission is refused at its field."""

from __future__ import annotations

from playwright.sync_api import Page

from tests.browser.harness import Inspector, sign_in
from tests.cabinets.message_world import PASSWORD, STAFF

ADMIN = STAFF["admin"][0]


def test_the_admin_switches_a_person_off_and_on(
    site: str, page: Page, inspector: Inspector
) -> None:
    sign_in(page, site, ADMIN, PASSWORD)
    page.goto(site + "/cabinet/north-roads/staff")
    page.get_by_role("link", name="Евгений Исполнев").click()
    page.get_by_role("button", name="Отключить сотрудника").click()
    assert "Сотрудник отключён" in page.get_by_role("status").inner_text()
    assert "отключён" in page.locator(".facts").inner_text()
    inspector.check(page, "person-deactivated")
    page.get_by_role("button", name="Вернуть доступ").click()
    assert "снова работает" in page.get_by_role("status").inner_text()


def test_the_admin_defines_a_role_and_a_platform_permission_is_refused(
    site: str, page: Page, inspector: Inspector
) -> None:
    sign_in(page, site, ADMIN, PASSWORD)
    page.goto(site + "/cabinet/north-roads/staff")
    page.get_by_role("link", name="Свои роли организации").click()
    inspector.check(page, "roles")
    page.get_by_label("Код роли").fill("press")
    page.get_by_label("Название для людей").fill("Пресс-служба")
    page.get_by_label("Читать отчёты и сводки").check()
    page.get_by_label("Вести каталог тем и территорий (только оператор платформы)").check()
    page.get_by_role("button", name="Сохранить роль").click()
    assert "есть только у оператора платформы" in page.get_by_role("alert").inner_text()
    inspector.check(page, "roles-refused")
    page.get_by_label("Вести каталог тем и территорий (только оператор платформы)").uncheck()
    page.get_by_role("button", name="Сохранить роль").click()
    assert "Роль сохранена" in page.get_by_role("status").inner_text()
    page.get_by_role("link", name="Евгений Исполнев").click()
    page.get_by_label("Выдать роль").select_option("press")
    page.get_by_role("button", name="Выдать роль").click()
    assert page.get_by_role("status").inner_text() == "Роль выдана."
