"""The browser harness: the app served on a real port, Debian's Chromium driven by Playwright,
and the check every page a test visits must pass — axe-core finds no serious or critical
violation — with screenshots at 1280 and 390 pixels wide kept in the test's folder."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import uvicorn
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Browser, Page, Playwright

from cabinets.app import create_app
from tenancy.settings import Settings

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip
T = TypeVar("T")
WIDTHS = (1280, 390)
BLOCKING_IMPACTS = frozenset({"serious", "critical"})


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@contextmanager
def served(settings: Settings, port: int) -> Iterator[str]:
    """The app as ``priemnaya serve`` runs it, in a thread, until the block ends."""
    server = uvicorn.Server(
        uvicorn.Config(create_app(settings), host="127.0.0.1", port=port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the app did not start")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=15)


def beside_the_browser(work: Callable[..., T], *args: Any) -> T:
    """Run ``work`` in a thread of its own: Playwright's sync API keeps an event loop running
    in the test's thread, and database seeding runs one of its own."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(work, *args).result()


def launch(playwright: Playwright) -> Browser:
    return playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)


class Inspector:
    """Checks pages as the tests walk them; ``folder`` keeps the screenshots."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.axe = Axe()
        self.seen: list[str] = []

    def check(self, page: Page, name: str) -> None:
        """0 serious or critical axe violations, at both widths; screenshots of each."""
        size = page.viewport_size or {"width": WIDTHS[0], "height": 900}
        problems: list[str] = []
        for width in WIDTHS:
            page.set_viewport_size({"width": width, "height": size["height"]})
            page.screenshot(path=str(self.folder / f"{name}-{width}.png"), full_page=True)
            results = self.axe.run(page)
            problems += [
                f"{width}px {v['id']} ({v['impact']}): {v['help']} — "
                + ", ".join(str(n["target"]) for n in v["nodes"][:5])
                for v in results.response["violations"]
                if v.get("impact") in BLOCKING_IMPACTS
            ]
            scroll = page.evaluate("document.documentElement.scrollWidth > window.innerWidth + 1")
            if scroll:
                problems.append(f"{width}px: the page scrolls sideways")
        page.set_viewport_size(size)
        self.seen.append(name)
        assert not problems, f"{name}: " + "; ".join(problems)


def sign_in(page: Page, base_url: str, email: str, password: str) -> None:
    page.goto(f"{base_url}/auth/sign-in")
    page.get_by_label("Эл. почта").fill(email)
    page.get_by_label("Пароль").fill(password)
    page.get_by_role("button", name="Войти").click()
    page.wait_for_load_state()


def text_of(page: Page, selector: str) -> Any:
    return page.locator(selector).inner_text()
