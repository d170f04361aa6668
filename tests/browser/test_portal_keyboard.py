"""The citizen's form from the keyboard alone: find the place, choose the topic, fill in and
send the message without a single mouse event, and land on the status page."""

from __future__ import annotations

from playwright.sync_api import Page

from tests.browser.harness import Inspector

# Counts every pointer event a page sees; Playwright's keyboard makes none.
COUNT_POINTER_EVENTS = """
window.__pointer = 0;
for (const kind of ["mousedown", "mouseup", "mousemove", "pointerdown", "pointermove"]) {
  window.addEventListener(kind, () => { window.__pointer += 1; }, true);
}
"""
FOCUSED = """() => {
  const e = document.activeElement;
  return [e.tagName.toLowerCase(), e.getAttribute("name") || "", (e.innerText || "").trim()];
}"""


def tab_to(page: Page, *, name: str = "", text: str = "", limit: int = 80) -> None:
    """Press Tab until the control named ``name`` (or the link or button reading ``text``)
    has the focus."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        _, focused_name, focused_text = page.evaluate(FOCUSED)
        if (name and focused_name == name) or (text and focused_text == text):
            return
    raise AssertionError(f"Tab never reached {name or text!r}")


def test_the_form_is_written_and_sent_with_the_keyboard_alone(
    site: str, page: Page, inspector: Inspector
) -> None:
    page.add_init_script(COUNT_POINTER_EVENTS)
    page.goto(f"{site}/write")
    tab_to(page, name="q")
    page.keyboard.type("Северный")
    page.keyboard.press("Enter")
    page.wait_for_url("**/write?q=*")
    tab_to(page, text="посёлок Северный")
    page.keyboard.press("Enter")
    page.wait_for_url("**/write?territory=46701101")
    tab_to(page, text="Неубранный снег")
    page.keyboard.press("Enter")
    page.wait_for_url("**topic=snow*")
    inspector.check(page, "keyboard-form")
    for field, value in (
        ("address", "посёлок Северный, ул. Лесная, 5"),
        ("summary", "Не убран снег у дома 5"),
        ("text", "Второй день не чистят дорогу у дома 5."),
        ("name", "Иван Петров"),
        ("email", "ivan@mail.example.ru"),
    ):
        tab_to(page, name=field)
        page.keyboard.type(value)
    tab_to(page, name="consent")
    page.keyboard.press("Space")
    tab_to(page, text="Отправить")
    page.keyboard.press("Enter")
    page.wait_for_url("**/track/*")
    assert page.get_by_role("status").first.inner_text().startswith("Обращение отправлено")
    assert page.evaluate("window.__pointer") == 0
    inspector.check(page, "keyboard-sent")
