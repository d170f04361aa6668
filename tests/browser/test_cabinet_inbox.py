"""The staff cabinet's inbox in a real browser: staff land on their organizations, work
through views and filters kept in the URL, act on several messages at once, see another
person's work arrive by itself, and move with the keyboard; refusals are pages, not traces."""

from __future__ import annotations

import re

from playwright.sync_api import Browser, Page, expect

from tests.browser.desk_api import colleague, registered, submit
from tests.browser.harness import Inspector, beside_the_browser, sign_in
from tests.cabinets.message_world import PASSWORD, STAFF

INBOX = "/cabinet/north-roads"


def as_staff(page: Page, site: str, role: str) -> None:
    sign_in(page, site, STAFF[role][0], PASSWORD)


def count_of(page: Page, view: str) -> str:
    return page.locator(f'[data-count="{view}"]').inner_text()


def test_the_coordinator_lands_on_the_cabinet_and_narrows_the_inbox_by_view_and_filter(
    site: str, page: Page, inspector: Inspector
) -> None:
    beside_the_browser(submit, site, 2)
    as_staff(page, site, "coordinator")
    assert page.url == f"{site}/cabinet"
    expect(page.get_by_role("heading", name="Ваши организации")).to_be_visible()
    inspector.check(page, "cabinet-home")
    page.get_by_role("link", name="Organization north-roads").first.click()
    assert page.url == f"{site}{INBOX}"
    assert count_of(page, "new") == "2"
    inspector.check(page, "inbox-all")

    page.get_by_role("navigation", name="Представления").get_by_role("link", name="Новые").click()
    assert "view=new" in page.url
    expect(page.locator("tr[data-row]")).to_have_count(2)
    row = page.locator("tr[data-row]").first
    expect(row).to_contain_text("Яма на дороге")  # the topic's title, not its code
    expect(row.locator(".due")).to_have_text(re.compile("осталось|сегодня"))
    inspector.check(page, "inbox-new")

    filters = page.get_by_role("search", name="Поиск и фильтры")
    filters.get_by_label("Поиск по тексту").fill("дома 2")
    filters.get_by_label("Исполнитель").select_option("none")
    filters.get_by_role("button", name="Показать").click()
    assert "q=" in page.url
    assert "assignee=none" in page.url
    assert "view=new" in page.url
    expect(page.locator("tr[data-row]")).to_have_count(1)
    expect(page.locator("tr[data-row]")).to_contain_text("Яма у дома 2")
    inspector.check(page, "inbox-filtered")
    # The URL is the bookmark: opened anew, it shows the same.
    page.goto(page.url)
    expect(page.locator("tr[data-row]")).to_have_count(1)

    page.goto(f"{site}{INBOX}?received_from=31.02.2026")
    expect(page.get_by_role("alert")).to_contain_text("Поступило с: нужна дата в виде ГГГГ-ММ-ДД")
    inspector.check(page, "inbox-bad-filter")


def test_a_bulk_assign_tells_for_each_message_whether_it_was_done(
    site: str, page: Page, inspector: Inspector
) -> None:
    ready = beside_the_browser(registered, site, 2)
    (fresh,) = beside_the_browser(submit, site, 1)
    as_staff(page, site, "coordinator")
    page.goto(f"{site}{INBOX}")
    for number in [*ready, fresh]:
        page.get_by_label(f"Отметить № {number}").check()
    actions = page.get_by_role("group", name="Действие с отмеченными")
    actions.get_by_role("radio", name="Назначить").check()
    actions.get_by_label("Исполнитель (для «Назначить»)").select_option(STAFF["executor"][0])
    actions.get_by_role("button", name="Выполнить для отмеченных").click()
    result = page.locator("#bulk-result")
    expect(result).to_contain_text("Назначить: выполнено 2 из 3")
    expect(result).to_contain_text(f"№ {fresh} — в статусе «на модерации» так нельзя")
    for number in ready:
        expect(result).to_contain_text(f"№ {number} — выполнено")
    expect(result).to_be_focused()
    inspector.check(page, "inbox-bulk-result")
    page.goto(f"{site}{INBOX}?view=unassigned")
    expect(page.locator("tr[data-row]")).to_have_count(0)


def test_an_open_inbox_sees_another_persons_work_within_two_seconds(
    site: str, page: Page, browser: Browser, inspector: Inspector
) -> None:
    numbers = beside_the_browser(submit, site, 2)
    as_staff(page, site, "coordinator")
    page.goto(f"{site}{INBOX}")
    assert count_of(page, "new") == "2"
    page.wait_for_timeout(300)  # the event stream is open
    other = browser.new_context(viewport={"width": 1280, "height": 900}, locale="ru-RU")
    try:
        moderator = other.new_page()
        as_staff(moderator, site, "moderator")
        moderator.goto(f"{site}{INBOX}?view=new")
        moderator.get_by_label(f"Отметить № {numbers[0]}").check()
        moderator.get_by_role("radio", name="Зарегистрировать").check()
        moderator.get_by_role("button", name="Выполнить для отмеченных").click()
        expect(moderator.locator("#bulk-result")).to_contain_text("выполнено 1 из 1")
    finally:
        other.close()
    expect(page.locator('[data-count="new"]')).to_have_text("1", timeout=2000)
    expect(page.locator('[data-count="unassigned"]')).to_have_text("1", timeout=2000)
    status = page.get_by_role("status")
    expect(status).to_contain_text(STAFF["moderator"][1])
    expect(status).to_contain_text(f"№ {numbers[0]}")
    inspector.check(page, "inbox-live")
    # And through the API, as another program would act.
    beside_the_browser(lambda: colleague(site, "moderator").act(numbers[1], "accept"))
    expect(page.locator('[data-count="new"]')).to_have_text("0", timeout=2000)


def test_the_keyboard_moves_through_the_list_ticks_and_opens(
    site: str, page: Page, inspector: Inspector
) -> None:
    numbers = beside_the_browser(submit, site, 3)
    as_staff(page, site, "coordinator")
    page.goto(f"{site}{INBOX}")
    rows = page.locator("tr[data-row]")
    page.locator("body").press("j")
    expect(rows.nth(0)).to_have_class(re.compile("current"))
    page.keyboard.press("j")
    expect(rows.nth(1)).to_have_class(re.compile("current"))
    expect(rows.nth(1).locator("a[data-open]")).to_be_focused()
    page.keyboard.press("k")
    page.keyboard.press("j")
    page.keyboard.press("x")
    expect(rows.nth(1).locator('input[name="pick"]')).to_be_checked()
    page.keyboard.press("?")
    sheet = page.get_by_role("dialog", name="Клавиши")
    expect(sheet).to_be_visible()
    inspector.check(page, "inbox-keys")
    page.keyboard.press("Escape")
    expect(sheet).to_be_hidden()
    page.keyboard.press("j")
    page.keyboard.press("o")
    page.wait_for_url(re.compile(r"/cabinet/north-roads/messages/[0-9a-f-]+(\?view=.*)?$"))
    assert numbers  # three rows were there to move through
    # Tab reaches the views with a visible focus.
    page.goto(f"{site}{INBOX}")
    for _ in range(30):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.closest('.views') !== null"):
            break
    outline = page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
    assert outline == "solid"


def test_a_supervisor_reads_the_rollup_and_the_inboxes_below_without_actions(
    site: str, page: Page, inspector: Inspector
) -> None:
    beside_the_browser(registered, site, 1)
    as_staff(page, site, "supervisor")
    assert page.url == f"{site}/cabinet"
    page.get_by_role("link", name="Сводка по организации и подведомственным").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("подведомственные")
    inspector.check(page, "rollup")
    page.get_by_role("link", name="Organization north-roads").click()
    assert page.url == f"{site}{INBOX}"
    expect(page.locator("tr[data-row]")).to_have_count(1)
    expect(page.get_by_role("button", name="Выполнить для отмеченных")).to_have_count(0)
    inspector.check(page, "inbox-read-only")


def test_refusals_forged_forms_and_other_organizations_change_nothing(
    site: str, page: Page, inspector: Inspector
) -> None:
    (number,) = beside_the_browser(registered, site, 1)
    as_staff(page, site, "coordinator")
    page.goto(f"{site}{INBOX}")
    page.get_by_label(f"Отметить № {number}").check()
    page.get_by_role("radio", name="Назначить").check()
    page.get_by_label("Исполнитель (для «Назначить»)").select_option(STAFF["executor"][0])
    page.evaluate("document.querySelector('#bulk input[name=csrf_token]').value = 'forged'")
    with page.expect_response(f"{site}{INBOX}/bulk") as sent:
        page.get_by_role("button", name="Выполнить для отмеченных").click()
    assert sent.value.status == 403
    page.goto(f"{site}{INBOX}?view=unassigned")
    expect(page.locator("tr[data-row]")).to_have_count(1)  # still nobody's

    # An executor's forged bulk assignment: the refusal page, and nothing assigned.
    page.context.clear_cookies()
    as_staff(page, site, "executor")
    token = page.locator("input[name=csrf_token]").first.get_attribute("value")
    message = beside_the_browser(lambda: colleague(site, "coordinator").find(number))
    response = page.request.post(
        f"{site}{INBOX}/bulk",
        form={"csrf_token": token or "", "action": "assign", "executor": STAFF["executor"][0],
              "pick": f"{message['id']}:{message['version']}"},
    )  # fmt: skip
    assert response.status == 403
    assert "Нет доступа" in response.text()
    assert (
        beside_the_browser(lambda: colleague(site, "coordinator").find(number))["version"]
        == (message["version"])
    )

    # Another organization's inbox is not found, the same page as a wrong address.
    page.context.clear_cookies()
    as_staff(page, site, "river")
    response_404 = page.goto(f"{site}{INBOX}")
    assert response_404 is not None
    assert response_404.status == 404
    expect(page.get_by_role("heading", name="Страница не найдена")).to_be_visible()
    inspector.check(page, "inbox-not-found")
