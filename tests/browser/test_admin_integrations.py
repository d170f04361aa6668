"""The administrator sets up the organization's integrations in the browser: subscribes a
receiver (the secret shown once), issues an API token (shown once), sees the delivery log;
wrong input is named at its field."""

from __future__ import annotations

from playwright.sync_api import Page

from tenancy.database import DatabaseUrls
from tests.browser.harness import Inspector, sign_in
from tests.cabinets.message_world import PASSWORD, STAFF

ADMIN = STAFF["admin"][0]
PAGE = "/cabinet/north-roads/integrations"


def test_the_admin_subscribes_a_receiver_and_issues_a_token_each_shown_once(
    site: str, page: Page, inspector: Inspector, clean_database: DatabaseUrls
) -> None:
    sign_in(page, site, ADMIN, PASSWORD)
    page.goto(site + "/cabinet/north-roads")
    page.get_by_role("link", name="Интеграции").click()
    assert page.get_by_role("link", name="Интеграции").get_attribute("aria-current") == "page"
    inspector.check(page, "integrations")

    page.get_by_label("Адрес получателя").fill("http://127.0.0.1:9/hook")
    page.get_by_role("button", name="Подписаться").click()
    summary = page.get_by_role("alert")
    assert "Адрес получателя: это локальный или внутренний адрес" in summary.inner_text()
    assert "События: отметьте хотя бы одно событие" in summary.inner_text()
    inspector.check(page, "integrations-refused")

    page.get_by_label("Адрес получателя").fill("https://edms.example.ru/hooks/priemnaya")
    page.get_by_label("Обращение принято").check()
    page.get_by_label("Ответ утверждён и опубликован").check()
    page.get_by_role("button", name="Подписаться").click()
    secret = page.get_by_label("Секрет для проверки подписи").input_value()
    assert secret.startswith("whsec_")
    inspector.check(page, "integrations-secret")

    page.get_by_role("button", name="Отправить проверку").click()
    assert "Проверочное событие поставлено в очередь" in page.get_by_role("status").inner_text()
    assert "ждёт отправки" in page.locator("#deliveries").inner_text()
    assert secret not in page.content()

    page.get_by_label("Название").fill("СЭД Дело")
    page.get_by_label("Роль", exact=True).select_option(label="Наблюдатель")
    page.get_by_label("Действует до").fill("2020-01-01")
    page.get_by_role("button", name="Выпустить токен").click()
    assert "Действует до: этот день уже прошёл" in page.get_by_role("alert").inner_text()
    page.get_by_label("Действует до").fill("2027-03-31")
    page.get_by_role("button", name="Выпустить токен").click()
    token = page.get_by_label("Токен (показан один раз").input_value()
    assert token.startswith("prn_")
    inspector.check(page, "integrations-token")

    page.goto(site + PAGE)
    assert token not in page.content()
    row = page.get_by_role("row").filter(has_text="СЭД Дело")
    assert "31.03.2027" in row.inner_text()  # the last day it works, as chosen
    page.get_by_role("button", name="Отозвать токен «СЭД Дело»").click()
    assert "Токен отозван" in page.get_by_role("status").inner_text()
    inspector.check(page, "integrations-revoked")


def test_another_organizations_integrations_are_not_found(site: str, page: Page) -> None:
    sign_in(page, site, ADMIN, PASSWORD)
    response = page.goto(site + "/cabinet/river/integrations")
    assert response is not None
    assert response.status == 404
