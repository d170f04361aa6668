"""Fixtures of the browser tests: the message world served on a real port, Chromium, and the
page inspector (axe-core and screenshots)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, sync_playwright

from tenancy.database import DatabaseUrls
from tenancy.settings import Settings
from tests.browser.harness import Inspector, beside_the_browser, free_port, launch, served
from tests.cabinets.message_world import seed_message_world


@pytest.fixture(scope="package")
def browser() -> Iterator[Browser]:
    # Package-wide, not session-wide: Playwright's sync API keeps an event loop running in the
    # test thread while it lives, and the tests after this package run loops of their own.
    with sync_playwright() as playwright:
        chromium = launch(playwright)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture
def site(
    clean_database: DatabaseUrls, tmp_path: Path, tenant_data: Callable[..., Any]
) -> Iterator[str]:
    """The message world (a region, its road service with a full staff, see
    tests/cabinets/message_world.py) served as ``priemnaya serve`` serves it; its base URL."""
    beside_the_browser(seed_message_world, clean_database, tenant_data)
    port = free_port()
    settings = Settings(
        database_url=clean_database.privileged,
        app_database_url=clean_database.app,
        home=tmp_path / "home",
        secret_key="browser-test-secret-key-long-enough-to-pass",
        base_url=f"http://127.0.0.1:{port}",
    )
    with served(settings, port) as url:
        yield url


@pytest.fixture
def context(browser: Browser) -> Iterator[BrowserContext]:
    made = browser.new_context(viewport={"width": 1280, "height": 900}, locale="ru-RU")
    try:
        yield made
    finally:
        made.close()


@pytest.fixture
def page(context: BrowserContext) -> Page:
    return context.new_page()


@pytest.fixture
def inspector(tmp_path: Path) -> Inspector:
    return Inspector(tmp_path)
