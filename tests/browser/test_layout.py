"""Every page shares one layout: a skip link, landmarks, a visible focus, and no serious
accessibility problem at 1280 or 390 pixels."""

from __future__ import annotations

from playwright.sync_api import Page

from tests.browser.harness import Inspector, sign_in
from tests.cabinets.message_world import PASSWORD, STAFF


def test_the_sign_in_page_starts_with_a_skip_link_to_the_content(
    site: str, page: Page, inspector: Inspector
) -> None:
    page.goto(f"{site}/auth/sign-in")
    page.keyboard.press("Tab")
    skip = page.locator(":focus")
    assert skip.inner_text() == "Перейти к содержанию"
    skip.press("Enter")
    assert page.evaluate("document.activeElement.id") == "main"
    assert page.locator("header").count() == 1
    assert page.locator("main").count() == 1
    inspector.check(page, "sign-in")


def test_a_wrong_password_is_named_on_the_sign_in_page(
    site: str, page: Page, inspector: Inspector
) -> None:
    email = STAFF["coordinator"][0]
    sign_in(page, site, email, PASSWORD + "-wrong")
    assert page.get_by_role("alert").count() == 1
    inspector.check(page, "sign-in-refused")


def test_the_citizens_form_asks_where_first(site: str, page: Page, inspector: Inspector) -> None:
    page.goto(f"{site}/write")
    page.get_by_label("Где проблема? Населённый пункт или район").fill("Северный")
    page.get_by_role("button", name="Найти").click()
    assert page.get_by_role("link", name="посёлок Северный").count() >= 1
    inspector.check(page, "write-where")
