"""Reports in the browser: a supervisor reads the region's subtree by organization, charts
drawn as SVG with their tables, a weekly trend, CSV and XLSX downloads; a period that ends
before it starts is named at its field."""

from __future__ import annotations

import io
from datetime import date, timedelta

from openpyxl import load_workbook
from playwright.sync_api import Page

from tests.browser.citizen import submit_a_message
from tests.browser.harness import Inspector, sign_in
from tests.cabinets.message_world import PASSWORD, STAFF

REGION_REPORTS = "/cabinet/region/reports"


def test_a_supervisor_reads_the_subtree_by_organization_and_downloads_it(
    site: str, page: Page, inspector: Inspector
) -> None:
    submit_a_message(page, site)
    submit_a_message(page, site)
    sign_in(page, site, STAFF["supervisor"][0], PASSWORD)
    page.goto(site + REGION_REPORTS)
    assert page.get_by_role("link", name="Отчёты").get_attribute("aria-current") == "page"
    page.get_by_label("Группировать").select_option("tenant")
    page.get_by_label("Вместе с подведомственными организациями").check()
    page.get_by_role("button", name="Показать").click()

    row = page.get_by_role("row").filter(has_text="north-roads")
    assert row.get_by_role("cell").nth(0).inner_text() == "2"  # received
    chart = page.get_by_role("img", name="Рассмотрено в срок по организациям")
    assert chart.count() == 1
    assert page.locator("svg.chart text", has_text="north-roads").count() == 1
    week = page.get_by_role("table", name="Поступило и рассмотрено по неделям")
    assert week.get_by_role("cell").nth(0).inner_text() == "2"
    inspector.check(page, "reports-subtree")

    with page.expect_download() as csv_download:
        page.get_by_role("link", name="Скачать CSV").click()
    csv_text = csv_download.value.path().read_text(encoding="utf-8-sig")
    assert csv_text.splitlines()[0].startswith("tenant,total,")
    assert any(line.startswith("north-roads,2,") for line in csv_text.splitlines())

    with page.expect_download() as xlsx_download:
        page.get_by_role("link", name="Скачать XLSX").click()
    sheet = load_workbook(io.BytesIO(xlsx_download.value.path().read_bytes())).active
    assert sheet is not None
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][:3] == ("Организация", "Поступило", "Рассмотрено")
    assert ("north-roads", 2, 0) in [r[:3] for r in rows[1:]]


def test_a_period_that_ends_before_it_starts_is_named_at_its_field(
    site: str, page: Page, inspector: Inspector
) -> None:
    sign_in(page, site, STAFF["admin"][0], PASSWORD)
    today = date.today()
    page.goto(f"{site}/cabinet/north-roads/reports?from={today}&to={today - timedelta(days=3)}")
    assert "По: период кончается раньше, чем начинается" in page.get_by_role("alert").inner_text()
    assert page.get_by_label("По", exact=True).get_attribute("aria-invalid") == "true"
    assert page.get_by_role("table").count() == 0
    inspector.check(page, "reports-bad-period")


def test_reports_of_an_organization_outside_ones_reach_are_not_found(site: str, page: Page) -> None:
    sign_in(page, site, STAFF["admin"][0], PASSWORD)
    response = page.goto(f"{site}/cabinet/river/reports")
    assert response is not None
    assert response.status == 404
