"""The cabinet administrator keeps the organization's answer templates in the browser: writes
one for a topic, sees its placeholders filled from the latest message, edits and deletes it; an
unknown placeholder is named at the text and nothing is stored; another organization's
templates are not found."""

from __future__ import annotations

import uuid

from playwright.sync_api import Page
from sqlalchemy import text

from cabinets.messages import answer_templates
from tenancy.database import Database, DatabaseUrls
from tests.browser.citizen import submit_a_message
from tests.browser.harness import Inspector, beside_the_browser, sign_in
from tests.cabinets.message_world import PASSWORD, STAFF
from tests.databases import run_in_database

ADMIN = STAFF["admin"][0]
TEMPLATES = "/cabinet/north-roads/templates"


def _stored(urls: DatabaseUrls) -> list[str]:
    async def read(db: Database) -> list[str]:
        async with db.privileged_session() as session:
            rows = await session.execute(text("SELECT title FROM answer_templates ORDER BY 1"))
            return [str(r.title) for r in rows]

    found: list[str] = beside_the_browser(run_in_database, urls, read)
    return found


def test_a_template_is_written_previewed_from_the_latest_message_edited_and_deleted(
    site: str, page: Page, inspector: Inspector, clean_database: DatabaseUrls
) -> None:
    receipt = submit_a_message(page, site)
    sign_in(page, site, ADMIN, PASSWORD)
    page.goto(site + TEMPLATES)
    assert page.get_by_role("link", name="Шаблоны ответов").get_attribute("aria-current") == "page"
    inspector.check(page, "templates")

    page.get_by_label("Название").fill("Снег уберут")
    page.get_by_label("Тема").select_option("pothole")
    page.get_by_label("Текст ответа").fill(
        "Уважаемый(ая) {applicant}! По обращению {number} ({summary}) снег уберут за {days} дня."
    )
    page.get_by_role("button", name="Сохранить шаблон").click()
    summary = page.get_by_role("alert")
    assert "Текст ответа: неизвестная подстановка {days}" in summary.inner_text()
    assert page.get_by_label("Текст ответа").get_attribute("aria-invalid") == "true"
    assert page.evaluate("document.activeElement.classList.contains('error-summary')")
    inspector.check(page, "templates-unknown-placeholder")
    assert _stored(clean_database) == []

    page.get_by_label("Текст ответа").fill(
        "Уважаемый(ая) {applicant}! По обращению {number} ({summary}) снег уберут за два дня."
    )
    page.get_by_role("button", name="Показать, как выйдет").click()
    preview = page.locator(".preview-text").inner_text()
    assert preview == (
        f"Уважаемый(ая) Иван Петров! По обращению {receipt['number']} "
        "(Яма на дороге у дома 5) снег уберут за два дня."
    )
    assert _stored(clean_database) == []
    inspector.check(page, "templates-preview")

    page.get_by_role("button", name="Сохранить шаблон").click()
    assert page.get_by_role("status").inner_text() == "Шаблон сохранён."
    assert "Яма на дороге" in page.get_by_role("row").filter(has_text="Снег уберут").inner_text()
    assert _stored(clean_database) == ["Снег уберут"]

    page.get_by_role("link", name="Снег уберут").click()
    inspector.check(page, "template")
    page.get_by_label("Название").fill("Снег уберут за два дня")
    page.get_by_role("button", name="Сохранить изменения").click()
    assert _stored(clean_database) == ["Снег уберут за два дня"]

    page.get_by_role("button", name="Удалить шаблон «Снег уберут за два дня»").click()
    assert page.get_by_role("status").inner_text() == "Шаблон удалён."
    assert _stored(clean_database) == []


def test_another_organizations_templates_are_not_found(
    site: str, page: Page, clean_database: DatabaseUrls
) -> None:
    async def river_template(db: Database) -> uuid.UUID:
        async with db.privileged_session() as session:
            river = (
                await session.execute(text("SELECT id FROM tenants WHERE slug = 'river'"))
            ).scalar_one()
        given = answer_templates.TemplateInput(title="Речной", body="Ответ реки")
        saved = await answer_templates.save_template(db, river, given, actor="t")
        return saved.id

    river_id = beside_the_browser(run_in_database, clean_database, river_template)
    sign_in(page, site, ADMIN, PASSWORD)
    for path in (
        f"{TEMPLATES}/{river_id}",
        "/cabinet/river/templates",
        f"/cabinet/river/templates/{river_id}",
    ):
        response = page.goto(site + path)
        assert response is not None
        assert response.status == 404, path
    deleted = page.request.post(f"{site}{TEMPLATES}/{river_id}/delete", form={"csrf_token": "x"})
    assert deleted.status in (403, 404)
    assert _stored(clean_database) == ["Речной"]
