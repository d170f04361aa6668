"""The administrator copies the organization's button for its site: the code is in a read-only
field, the preview is the real widget and follows the words typed for the button."""

from __future__ import annotations

from playwright.sync_api import BrowserContext, Page, expect

from tests.browser.harness import Inspector, sign_in
from tests.cabinets.message_world import PASSWORD, STAFF

ADMIN = STAFF["admin"][0]


def test_the_admin_copies_the_button_and_sees_it_as_citizens_will(
    site: str, page: Page, context: BrowserContext, inspector: Inspector
) -> None:
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=site)
    sign_in(page, site, ADMIN, PASSWORD)
    page.goto(site + "/cabinet/north-roads")
    page.get_by_role("link", name="Виджет").click()
    code = page.get_by_label("Код кнопки")
    assert code.get_attribute("readonly") is not None
    assert f"{site}/widget/north-roads.js" in code.input_value()
    preview = page.locator("#widget-preview").get_by_role("link", name="Сообщить о проблеме")
    preview.wait_for()
    assert preview.get_attribute("href") == f"{site}/write?to=north-roads"
    inspector.check(page, "widget")

    page.get_by_role("button", name="Скопировать код").click()
    expect(page.get_by_role("status")).to_have_text("Код скопирован.")  # once the copy is done
    assert "north-roads.js" in page.evaluate("navigator.clipboard.readText()")

    page.get_by_label("Надпись на кнопке").fill("Сообщить о яме")
    assert 'data-label="Сообщить о яме"' in code.input_value()
    assert page.locator("#widget-preview .priemnaya-widget").inner_text() == "Сообщить о яме"
    inspector.check(page, "widget-label")

    page.get_by_label("Надпись на кнопке").fill("я" * 70)
    page.get_by_role("button", name="Обновить код").click()
    assert "не больше 60 знаков" in page.get_by_role("alert").inner_text()
    inspector.check(page, "widget-refused")
