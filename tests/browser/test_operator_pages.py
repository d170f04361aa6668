"""The operator runs the catalog, the routing table and the queue from the browser: adds a
topic with two extra questions, publishes, sees the topic's gap in the coverage matrix, adds
the missing rule and sees the cell turn covered, and dispatches the message that waited in the
queue, which lands in the organization and on the citizen's status page."""

from __future__ import annotations

from typing import Any

from playwright.sync_api import Browser, FilePayload, Page, expect
from sqlalchemy import text

from tenancy.database import Database, DatabaseUrls
from tests.browser.harness import Inspector, beside_the_browser, sign_in
from tests.cabinets.message_world import PASSWORD
from tests.cabinets.operator.operator_world import ADMIN, OPERATOR, seed_operators
from tests.databases import run_in_database

HEATING = {
    "topic": "school-heating",
    "territory": "46701101",
    "summary": "Холодно в классе",
    "text": "В кабинете 12 школы посёлка Северный +14 градусов.",
    "applicant": {"name": "Ирина Смирнова", "email": "irina@mail.example.ru"},
    "consent": True,
    "fields": {"room": "12", "since": "неделю"},
}


def _inbox_of_north(urls: DatabaseUrls) -> list[tuple[str, str]]:
    async def listed(db: Database) -> list[tuple[str, str]]:
        async with db.privileged_session() as session:
            rows = await session.execute(
                text(
                    "SELECT m.tracking_number, m.status FROM messages m "
                    "JOIN tenants t ON t.id = m.tenant_id "
                    "WHERE t.slug = 'north' AND m.topic_code = 'school-heating'"
                )
            )
            return [(r.tracking_number, r.status) for r in rows]

    found: list[tuple[str, str]] = run_in_database(urls, listed)
    return found


def _add_rule(page: Page, topic: str, territory: str, tenant: str) -> None:
    form = page.locator("#add-rule")
    form.get_by_label("Тема или категория (код, * — все темы)").fill(topic)
    form.get_by_label("Территория (код)").fill(territory)
    form.get_by_label("Организация (код)").fill(tenant)
    form.get_by_role("button", name="Добавить правило").click()


def _matrix_cell(page: Page) -> Any:
    row = page.get_by_role("row", name="Холодно в классе")
    return row.get_by_role("cell").first


def test_an_operator_adds_a_topic_publishes_routes_it_and_dispatches_the_queue(
    site: str,
    page: Page,
    browser: Browser,
    inspector: Inspector,
    clean_database: DatabaseUrls,
) -> None:
    beside_the_browser(run_in_database, clean_database, seed_operators)
    sign_in(page, site, OPERATOR[0], PASSWORD)
    page.goto(f"{site}/operator")
    inspector.check(page, "operator-home")

    # A topic with two extra questions, in the draft.
    page.get_by_role("link", name="Справочник тем").first.click()
    inspector.check(page, "catalog")
    page.get_by_role("link", name="Новая тема").click()
    page.get_by_label("Код темы").fill("school-heating")
    page.get_by_label("Категория").select_option("schools")
    page.get_by_label("Название").fill("Холодно в классе")
    page.get_by_label("Срок рассмотрения, дней").fill("10")
    page.get_by_role("button", name="Добавить вопрос").click()
    expect(page.locator("#f-fields-0")).to_be_visible()
    page.get_by_role("button", name="Добавить вопрос").click()
    expect(page.locator("#f-fields-1")).to_be_visible()
    first, second = page.locator("#f-fields-0"), page.locator("#f-fields-1")
    first.get_by_label("Вопрос", exact=True).fill("Номер кабинета")
    first.get_by_label("Код ответа").fill("room")
    second.get_by_label("Вопрос", exact=True).fill("Сколько длится")
    second.get_by_label("Код ответа").fill("since")
    second.get_by_label("Тип ответа").select_option("single")
    second.get_by_label("Варианты ответа").fill("день\nнеделю\nдольше")
    second.get_by_label("Обязательный вопрос").check()
    page.get_by_role("button", name="Обновить предпросмотр").click()
    expect(page.locator(".preview").get_by_label("Сколько длится (обязательно)")).to_be_visible()
    inspector.check(page, "topic-preview")
    page.get_by_role("button", name="Добавить тему в черновик").click()
    expect(page.get_by_role("status")).to_contain_text("добавлена в черновик")
    inspector.check(page, "topic-saved")

    # Publish, after the confirmation says what changes.
    page.goto(f"{site}/operator/catalog/diff")
    inspector.check(page, "catalog-diff")
    page.get_by_role("button", name="Опубликовать: +1, изменено 0, −0").click()
    expect(page.get_by_role("status")).to_contain_text("Справочник опубликован")

    # A citizen writes on the new topic: nobody answers it in the north yet.
    citizen = browser.new_context()
    try:
        sent = citizen.request.post(f"{site}/api/v1/messages", data=HEATING)
        assert sent.status == 201, sent.text()
        receipt = sent.json()
    finally:
        citizen.close()
    assert receipt["queued"] is True

    page.goto(f"{site}/operator/coverage?rows=topics&within=46701000&category=schools")
    expect(_matrix_cell(page)).to_have_text("никто")
    inspector.check(page, "coverage-nobody")
    _matrix_cell(page).get_by_role("link").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Пробелы: Холодно в классе")
    inspector.check(page, "gap-report")

    # The missing rule; the cell turns covered.
    page.goto(f"{site}/operator/routing?territory=46701000")
    _add_rule(page, "school-heating", "46701000", "north")
    expect(page.get_by_role("status")).to_contain_text("Правило добавлено")
    inspector.check(page, "rules")
    page.goto(f"{site}/operator/coverage?rows=topics&within=46701000&category=schools")
    expect(_matrix_cell(page)).to_have_text("покрыто")
    inspector.check(page, "coverage-covered")

    # The message that waited is dispatched from the queue.
    page.goto(f"{site}/operator/queue")
    inspector.check(page, "queue")
    page.get_by_role("link", name=f"№ {receipt['number']}").click()
    inspector.check(page, "queued-message")
    page.get_by_label("Организация (код)").fill("north")
    page.get_by_role("button", name="Направить").click()
    expect(page.get_by_role("status")).to_contain_text(f"Обращение № {receipt['number']}")
    inspector.check(page, "queue-dispatched")
    assert beside_the_browser(_inbox_of_north, clean_database) == [(receipt["number"], "new")]

    page.goto(receipt["status_url"])
    expect(page.locator("main")).to_contain_text("Organization north")
    inspector.check(page, "citizen-status")


def test_the_operators_other_pages_pass_the_inspection(
    site: str, page: Page, inspector: Inspector, clean_database: DatabaseUrls
) -> None:
    beside_the_browser(run_in_database, clean_database, seed_operators)
    sign_in(page, site, ADMIN[0], PASSWORD)
    page.goto(f"{site}/operator/routing/test?topic=pothole&territory=46701101")
    expect(page.get_by_role("heading", name="Отвечает: north-roads")).to_be_visible()
    inspector.check(page, "route-tester")
    page.goto(f"{site}/operator/routing?topic=pothole")
    _add_rule(page, "pothole", "46701101", "north")
    expect(page.get_by_role("alert").first).to_contain_text("Приоритет: пересекается по датам")
    inspector.check(page, "rule-refused")
    page.goto(f"{site}/operator/territories?under=46701000&q=Речн")
    inspector.check(page, "territories")
    bad: FilePayload = {
        "name": "bad.csv",
        "mimeType": "text/csv",
        "buffer": "code,name,parent\n4670110A,деревня,46701000\n".encode(),
    }
    page.get_by_label("CSV-файл").set_input_files(files=[bad])
    page.get_by_role("button", name="Загрузить").click()
    expect(page.locator("#import")).to_contain_text("bad.csv:2: code: код территории")
    inspector.check(page, "territories-refused")
    page.goto(f"{site}/operator/organizations")
    inspector.check(page, "organizations")
    page.get_by_role("link", name="Organization river").click()
    page.get_by_label("Приостановить").check()
    page.get_by_label("Причина").fill("реорганизация")
    page.get_by_role("button", name="Применить").click()
    expect(page.get_by_role("status")).to_contain_text("Организация приостановлена")
    inspector.check(page, "organization")
    page.goto(f"{site}/operator/coverage?within=46000000")
    expect(page.locator("main")).to_contain_text("Правила, которые указывают на неработающие")
    inspector.check(page, "coverage-flagged")
