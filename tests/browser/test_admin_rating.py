"""The regional rating: a supervisor sees the organizations below ranked, with each one's
worst overdue messages one click away; an organization outside their reach is not found."""

from __future__ import annotations

from playwright.sync_api import Page
from sqlalchemy import text

from tenancy.database import Database, DatabaseUrls
from tests.browser.citizen import submit_a_message
from tests.browser.harness import Inspector, beside_the_browser, sign_in
from tests.cabinets.message_world import PASSWORD, STAFF
from tests.databases import run_in_database


def _overdue(urls: DatabaseUrls, number: str) -> None:
    async def late(db: Database) -> None:
        async with db.privileged_session() as session:
            await session.execute(
                text(
                    "UPDATE messages SET stage_due_at = now() - interval '2 days' "
                    "WHERE tracking_number = :n"
                ),
                {"n": number},
            )

    beside_the_browser(run_in_database, urls, late)


def test_a_supervisor_ranks_the_organizations_below_and_opens_the_worst_overdue(
    site: str, page: Page, inspector: Inspector, clean_database: DatabaseUrls
) -> None:
    late = submit_a_message(page, site)
    submit_a_message(page, site)
    _overdue(clean_database, late["number"])
    sign_in(page, site, STAFF["supervisor"][0], PASSWORD)
    page.goto(f"{site}/cabinet/region/rating")
    assert page.get_by_role("link", name="Рейтинг").get_attribute("aria-current") == "page"
    row = page.get_by_role("row").filter(has_text="north-roads")
    assert row.get_by_role("cell").first.inner_text() == "1"  # the place
    inspector.check(page, "rating")

    row.get_by_role("link").click()
    assert page.get_by_role("heading", level=1).inner_text().endswith("north-roads")
    assert page.get_by_role("row").filter(has_text=late["number"]).count() == 1
    assert page.get_by_role("row").count() == 2  # the heading row and the one overdue
    inspector.check(page, "rating-overdue")


def test_the_rating_of_a_region_is_not_found_by_an_organizations_admin(
    site: str, page: Page
) -> None:
    sign_in(page, site, STAFF["admin"][0], PASSWORD)
    for path in ("/cabinet/region/rating", "/cabinet/north-roads/rating/river"):
        response = page.goto(site + path)
        assert response is not None
        assert response.status == 404, path
