"""Every public page and the status page, in the normal version and in the version for people
with impaired sight (large type, high contrast, no images): no serious accessibility problem
at 1280 or 390 pixels and no sideways scroll, whatever the version."""

from __future__ import annotations

from collections.abc import Iterator

import httpx2 as httpx
import pytest
from playwright.sync_api import Browser, BrowserContext, Page

from cabinets.notifications.unsubscribe import unsubscribe_token
from tests.browser.harness import Inspector, beside_the_browser
from tests.cabinets.message_world import POTHOLE
from tests.storage.samples import jpeg_with_gps

PUBLIC_PAGES = {
    "front": "/",
    "organizations": "/organizations?q=Organization",
    "organizations-too-long": "/organizations?q=" + "я" * 1000,
    "organization": "/organizations/north-roads",
    "accessibility": "/accessibility",
    "sign-up": "/auth/sign-up",
    "sign-in": "/auth/sign-in",
    "write-where": "/write?q=Северный",
    "write-what": "/write?territory=46701101",
    "write-message": "/write?territory=46701101&topic=pothole",
    "write-to": "/write?to=north-roads",
    "follow-wrong": "/follow?number=26-9999999&code=wrong",
    "reset": "/auth/reset",
    "unsubscribe": "/unsubscribe/"
    + unsubscribe_token("browser-test-secret-key-long-enough-to-pass", "ivan@mail.example.ru"),
    "organization-unknown": "/organizations/no-such",
}


def _receipt(site: str) -> dict[str, str]:
    """A message written through the API, for its status page."""
    with httpx.Client(base_url=site) as client:
        upload = client.post(
            "/api/v1/uploads", params={"topic": "pothole", "territory": "46701101",
                                       "filename": "яма.jpg"}, content=jpeg_with_gps(),
        )  # fmt: skip
        assert upload.status_code == 201, upload.text
        body = POTHOLE | {"attachments": [{"id": upload.json()["id"],
                                           "token": upload.json()["token"]}]}  # fmt: skip
        sent = client.post("/api/v1/messages", json=body)
        assert sent.status_code == 201, sent.text
        receipt: dict[str, str] = sent.json()
        return receipt


@pytest.fixture(params=["normal", "accessible"])
def version(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def viewer(browser: Browser, site: str, version: str) -> Iterator[BrowserContext]:
    made = browser.new_context(viewport={"width": 1280, "height": 900}, locale="ru-RU")
    try:
        if version == "accessible":
            page = made.new_page()
            page.goto(site)
            page.get_by_role("link", name="Версия для слабовидящих").click()
            page.get_by_role("link", name="Высокий контраст").click()
            page.get_by_role("link", name="Без изображений").click()
            assert "view-contrast" in (page.locator("body").get_attribute("class") or "")
            page.close()
        yield made
    finally:
        made.close()


def test_every_public_page_passes_in_both_versions(
    site: str, viewer: BrowserContext, inspector: Inspector, version: str
) -> None:
    page: Page = viewer.new_page()
    receipt = beside_the_browser(_receipt, site)
    pages = PUBLIC_PAGES | {"status": f"/track/{receipt['number']}?token={receipt['token']}"}
    for name, path in pages.items():
        page.goto(site + path)
        assert page.locator("main h1").count() == 1, name
        classes = page.locator("body").get_attribute("class") or ""
        assert ("view-accessible" in classes) == (version == "accessible"), name
        inspector.check(page, f"{version}-{name}")


def test_the_largest_type_reflows_at_phone_width(
    site: str, page: Page, inspector: Inspector
) -> None:
    page.goto(site)
    page.get_by_role("link", name="Версия для слабовидящих").click()
    page.get_by_role("link", name="очень крупный").click()
    assert "view-size-200" in (page.locator("body").get_attribute("class") or "")
    for path in ("/", "/write?territory=46701101&topic=pothole", "/accessibility"):
        page.goto(site + path)
        inspector.check(page, "largest" + path.replace("/", "-").split("?")[0])
    page.get_by_role("link", name="Обычная версия").click()
    assert "view-accessible" not in (page.locator("body").get_attribute("class") or "")


# The controls meant to be tapped (links inside running text are not), visible ones: how many,
# and those lower than 44 px.
TAP_TARGETS = """() => {
  const shown = [...document.querySelectorAll(
    "button, .button, input:not([type=hidden]):not([type=checkbox]):not([type=radio]), select, "
    + "textarea, label.choice, .choices a, .view-switch a, .footer-links a, .cabinet-nav a")]
    .filter((e) => e.offsetParent !== null);
  return [shown.length, shown.filter((e) => e.getBoundingClientRect().height < 44)
    .map((e) => e.outerHTML.slice(0, 80))];
}"""


def test_every_public_page_is_one_column_with_large_tap_targets_at_360_pixels(
    site: str, browser: Browser
) -> None:
    phone = browser.new_context(viewport={"width": 360, "height": 740}, locale="ru-RU")
    try:
        page = phone.new_page()
        receipt = beside_the_browser(_receipt, site)
        pages = PUBLIC_PAGES | {"status": f"/track/{receipt['number']}?token={receipt['token']}"}
        for name, path in pages.items():
            page.goto(site + path)
            wide = page.evaluate("document.documentElement.scrollWidth > window.innerWidth + 1")
            assert not wide, f"{name} scrolls sideways at 360 px"
            count, small = page.evaluate(TAP_TARGETS)
            assert count >= 4, name  # the switch and the footer's links at least
            assert small == [], name
    finally:
        phone.close()
