"""The administrator changes the cabinet's settings in the browser: the working calendar's
special days are listed, a wrong value is named at its field, and a saved change says so."""

from __future__ import annotations

from playwright.sync_api import Page

from tests.browser.harness import Inspector, sign_in
from tests.cabinets.message_world import PASSWORD, STAFF

ADMIN = STAFF["admin"][0]


def test_the_admin_sets_limits_and_contacts_and_a_wrong_value_is_named(
    site: str, page: Page, inspector: Inspector
) -> None:
    sign_in(page, site, ADMIN, PASSWORD)
    page.goto(site + "/cabinet/north-roads")
    page.get_by_role("link", name="Настройки").click()
    assert page.get_by_label("Часовой пояс").input_value() == "Europe/Moscow"
    assert "Новогодние каникулы" in page.locator(".special-days").inner_text()
    inspector.check(page, "settings")

    page.get_by_label("Наибольший размер файла, МБ").fill("500")
    page.get_by_label("Эл. почта").fill("priemnaya")
    page.get_by_role("button", name="Сохранить").click()
    summary = page.get_by_role("alert")
    assert "Наибольший размер файла, МБ: целое число от 1 до 100" in summary.inner_text()
    assert "Эл. почта: адрес эл. почты вида" in summary.inner_text()
    inspector.check(page, "settings-refused")

    page.get_by_label("Наибольший размер файла, МБ").fill("25")
    page.get_by_label("Эл. почта").fill("priemnaya@roads.example.ru")
    page.get_by_label("Телефон").fill("+7 800 100-20-30")
    page.get_by_label("Часовой пояс").select_option(label="Самара (МСК+1)")
    page.get_by_role("button", name="Сохранить").click()
    assert page.get_by_role("status").inner_text() == "Настройки сохранены."
    assert page.get_by_label("Наибольший размер файла, МБ").input_value() == "25"
    assert page.get_by_label("Часовой пояс").input_value() == "Europe/Samara"
    inspector.check(page, "settings-saved")
