"""The administrator reads the audit log in the browser: a change just made is at the top with
its values before and after, and the filter narrows the log to one kind of change."""

from __future__ import annotations

from playwright.sync_api import Page

from tests.browser.harness import Inspector, sign_in
from tests.cabinets.message_world import PASSWORD, STAFF

ADMIN = STAFF["admin"][0]


def test_the_admin_finds_a_settings_change_in_the_log(
    site: str, page: Page, inspector: Inspector
) -> None:
    sign_in(page, site, ADMIN, PASSWORD)
    page.goto(site + "/cabinet/north-roads/settings")
    page.get_by_label("Часы приёма").fill("пн–пт 9:00–18:00")
    page.get_by_role("button", name="Сохранить").click()
    page.get_by_role("link", name="Журнал", exact=True).click()
    first = page.get_by_role("row").nth(1)
    assert "Изменены настройки" in first.inner_text()
    assert "Часы приёма: — → пн–пт 9:00–18:00" in first.inner_text()
    inspector.check(page, "audit")

    page.get_by_label("Что").select_option(label="Сотрудники и роли")
    page.get_by_role("button", name="Показать").click()
    assert "kind=staff" in page.url
    assert "Изменены настройки" not in page.locator("table").inner_text()
    assert "Выдана роль" in page.locator("table").inner_text()
    inspector.check(page, "audit-filtered")

    page.get_by_label("С", exact=True).fill("2026-12-10")
    page.get_by_label("По", exact=True).fill("2026-12-01")
    page.get_by_role("button", name="Показать").click()
    assert "По: конец периода раньше начала" in page.get_by_role("alert").inner_text()
    assert page.get_by_label("С", exact=True).input_value() == "2026-12-10"  # kept as typed
    inspector.check(page, "audit-refused")
