"""The cabinet administrator runs the organization's staff in the browser: invites a person
(the letter goes through the worker), gives and takes roles, asks why someone may or may not
do something; wrong input is named at its field and nothing is stored; another organization's
staff are not found."""

from __future__ import annotations

from typing import Any

from playwright.sync_api import Page
from sqlalchemy import text

from tenancy.database import Database, DatabaseUrls
from tests.browser.harness import Inspector, beside_the_browser, sign_in
from tests.cabinets.message_world import PASSWORD, STAFF
from tests.databases import run_in_database

ADMIN = STAFF["admin"][0]
STAFF_PAGE = "/cabinet/north-roads/staff"


def _count(urls: DatabaseUrls, sql: str, **params: Any) -> int:
    async def read(db: Database) -> int:
        async with db.privileged_session() as session:
            return int((await session.execute(text(sql), params)).scalar_one())

    found: int = beside_the_browser(run_in_database, urls, read)
    return found


def test_the_admin_invites_a_person_with_a_role_and_the_letter_waits_for_the_worker(
    site: str, page: Page, inspector: Inspector, clean_database: DatabaseUrls
) -> None:
    sign_in(page, site, ADMIN, PASSWORD)
    page.goto(site + STAFF_PAGE)
    assert page.get_by_role("link", name="Сотрудники").get_attribute("aria-current") == "page"
    assert page.get_by_role("link", name="Евгений Исполнев").count() == 1
    inspector.check(page, "staff")

    page.get_by_label("Эл. почта").fill("новый-адрес")
    page.get_by_role("button", name="Пригласить").click()
    summary = page.get_by_role("alert")
    assert "Имя и фамилия: укажите имя и фамилию" in summary.inner_text()
    assert "Эл. почта: проверьте адрес" in summary.inner_text()
    assert page.get_by_label("Эл. почта").get_attribute("aria-invalid") == "true"
    inspector.check(page, "staff-invite-refused")
    assert _count(clean_database, "SELECT count(*) FROM users WHERE email LIKE 'новый%'") == 0

    page.get_by_label("Имя и фамилия").fill("Пётр Новиков")
    page.get_by_label("Эл. почта").fill("novikov@roads.example.ru")
    page.get_by_label("Роль", exact=True).select_option(label="Модератор")
    page.get_by_role("button", name="Пригласить").click()
    assert "Приглашение отправлено" in page.get_by_role("status").inner_text()
    row = page.get_by_role("row").filter(has_text="Пётр Новиков")
    assert "Модератор" in row.inner_text()
    inspector.check(page, "staff-invited")
    letters = _count(
        clean_database,
        "SELECT count(*) FROM account_mail WHERE kind = 'account.invitation' AND recipient = :r",
        r="mailto:novikov@roads.example.ru",
    )
    assert letters == 1


def test_roles_are_given_and_taken_on_a_persons_page_and_a_made_up_role_is_refused(
    site: str, page: Page, inspector: Inspector
) -> None:
    sign_in(page, site, ADMIN, PASSWORD)
    page.goto(site + STAFF_PAGE)
    page.get_by_role("link", name="Евгений Исполнев").click()
    assert page.get_by_role("heading", level=1).inner_text() == "Евгений Исполнев"
    inspector.check(page, "person")

    page.get_by_label("Выдать роль").select_option(label="Координатор")
    page.get_by_role("button", name="Выдать роль").click()
    assert page.get_by_role("status").inner_text() == "Роль выдана."
    assert page.get_by_role("button", name="Отозвать роль «Координатор»").count() == 1
    page.get_by_role("button", name="Отозвать роль «Координатор»").click()
    assert page.get_by_role("status").inner_text() == "Роль отозвана."
    assert page.get_by_role("button", name="Отозвать роль «Координатор»").count() == 0

    # A form tampered with (or a role deleted meanwhile): the role is named at its field.
    page.eval_on_selector("#f-role", "select => select.add(new Option('Выдуманная', 'made-up'))")
    page.get_by_label("Выдать роль").select_option("made-up")
    page.get_by_role("button", name="Выдать роль").click()
    assert "Роль: такой роли в организации нет" in page.get_by_role("alert").inner_text()
    assert page.get_by_role("button", name="Отозвать роль «Исполнитель»").count() == 1
    inspector.check(page, "person-grant-refused")


def test_the_persons_page_says_why_they_may_or_may_not_act_here(
    site: str, page: Page, inspector: Inspector
) -> None:
    sign_in(page, site, ADMIN, PASSWORD)
    page.goto(site + STAFF_PAGE)
    page.get_by_role("link", name="Евгений Исполнев").click()
    page.get_by_label("Действие").select_option("message:moderate")
    page.get_by_role("button", name="Проверить").click()
    verdict = page.get_by_role("status")
    assert "Евгений Исполнев не может: принимать и отклонять обращения" in verdict.inner_text()
    inspector.check(page, "person-may-not")
    page.get_by_label("Действие").select_option("answer:draft")
    page.get_by_role("button", name="Проверить").click()
    assert "executor" in page.locator(".chain").inner_text()


def test_another_organizations_staff_are_not_found(site: str, page: Page) -> None:
    sign_in(page, site, ADMIN, PASSWORD)
    river = STAFF["river"][0]
    for path in (
        "/cabinet/river/staff",
        f"/cabinet/north-roads/staff/{river}",
        f"/cabinet/river/staff/{river}",
    ):
        response = page.goto(site + path)
        assert response is not None
        assert response.status == 404, path
    assert page.get_by_role("heading", name="Страница не найдена").count() == 1


def test_a_person_without_staff_manage_has_no_staff_section(site: str, page: Page) -> None:
    sign_in(page, site, STAFF["coordinator"][0], PASSWORD)
    response = page.goto(site + STAFF_PAGE)
    assert response is not None
    assert response.status == 403
    page.goto(site + "/cabinet/north-roads")
    assert page.get_by_role("link", name="Сотрудники").count() == 0
