"""Coverage at a glance: each cell of topics (or categories) × territories says covered,
partly or nobody in words, opens its gap report (a page and CSV), and turns covered once a
rule covers it; rules pointing at a suspended organization are flagged."""

from __future__ import annotations

from tenancy.tenants import service as tenants
from tenancy.tenants.service import Lifecycle
from tests.cabinets.operator.conftest import OperatorWorld


def _cell(page: str, state: str) -> bool:
    return f'class="cell cell-{state}"' in page


def test_categories_by_district_say_who_answers_in_words(desk: OperatorWorld) -> None:
    page = desk.operator.client.get("/operator/coverage", params={"within": "46000000"})
    assert page.status_code == 200
    text = page.text
    assert '<th scope="col">' in text
    assert '<th scope="row">' in text
    # Schools: the river district has its rule, the northern one has none.
    assert "/operator/coverage/gaps?row=schools&amp;column=46701000" in text
    assert _cell(text, "nobody")
    assert _cell(text, "covered")
    assert ">никто</a>" in text
    assert ">покрыто</a>" in text


def test_a_cell_opens_its_gap_report_and_turns_covered_after_a_rule(
    desk: OperatorWorld,
) -> None:
    query = {"row": "schools", "column": "46701000"}
    report = desk.operator.client.get("/operator/coverage/gaps", params=query)
    assert report.status_code == 200
    assert "Никто на" in report.text
    assert "Питание в школе" in report.text
    csv = desk.operator.client.get("/operator/coverage/gaps.csv", params=query)
    assert csv.headers["content-type"].startswith("text/csv")
    assert csv.text.splitlines()[0] == "territory,name,settlements,topic,title"
    assert "46701000,Северный городской округ,2,canteen,Питание в школе" in csv.text
    desk.operator.post(
        "/operator/routing/rules", topic="schools", territory="46701000", tenant="north"
    )
    after = desk.operator.client.get("/operator/coverage/gaps", params=query)
    assert "Покрыто на" in after.text
    assert "Пробелов нет" in after.text


def test_topics_of_one_region_by_district_show_the_partly_covered(desk: OperatorWorld) -> None:
    desk.operator.post(
        "/operator/routing/rules", topic="snow", territory="46701101", tenant="north-roads"
    )
    page = desk.operator.client.get(
        "/operator/coverage", params={"rows": "topics", "within": "46701000"}
    )
    assert page.status_code == 200
    assert "Ярмарка (областная тема)" in page.text  # the region's own topic, on its territory
    assert _cell(page.text, "nobody")


def test_rules_pointing_at_a_suspended_organization_are_flagged(desk: OperatorWorld) -> None:
    desk.run(
        lambda db: tenants.change_status(db, "river", Lifecycle.SUSPEND, reason="t", actor="t")
    )
    page = desk.operator.client.get("/operator/coverage", params={"within": "46000000"})
    assert "Правила, которые указывают на неработающие организации: 1" in page.text
    report = desk.operator.client.get(
        "/operator/coverage/gaps", params={"row": "schools", "column": "46702000"}
    )
    assert "организация приостановлена или в архиве, правило не действует" in report.text


def test_an_unknown_territory_is_named_on_the_coverage_page(desk: OperatorWorld) -> None:
    page = desk.operator.client.get("/operator/coverage", params={"within": "99999"})
    assert page.status_code == 422
    assert "такой территории нет в справочнике" in page.text
