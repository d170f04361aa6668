"""The routing table from the browser: the rules of a topic or a territory, added, changed
and removed with the same checks as an import, and the route tester's explanation."""

from __future__ import annotations

from sqlalchemy import text

from tenancy.database import Database
from tests.cabinets.operator.conftest import OperatorWorld

PAGES = [
    "/operator", "/operator/queue", "/operator/routing", "/operator/routing/test",
    "/operator/coverage", "/operator/coverage/gaps?row=schools&column=46701000",
]  # fmt: skip


def _rules(desk: OperatorWorld) -> list[tuple[str, str, str, int]]:
    async def listed(db: Database) -> list[tuple[str, str, str, int]]:
        async with db.privileged_session() as session:
            rows = await session.execute(
                text(
                    "SELECT r.topic, r.territory_code, t.slug, r.priority FROM routing_rules r "
                    "JOIN tenants t ON t.id = r.responsible_tenant_id ORDER BY r.id"
                )
            )
            return [(r.topic, r.territory_code, r.slug, r.priority) for r in rows]

    found: list[tuple[str, str, str, int]] = desk.run(listed)
    return found


def _rule_id(desk: OperatorWorld, topic: str) -> int:
    async def find(db: Database) -> int:
        async with db.privileged_session() as session:
            found = await session.execute(
                text("SELECT id FROM routing_rules WHERE topic = :t"), {"t": topic}
            )
            return int(found.scalar_one())

    return int(desk.run(find))


def test_every_operator_page_leads_to_the_sign_in_page_without_sign_in(
    desk: OperatorWorld,
) -> None:
    for path in PAGES:
        answer = desk.world.citizen.get(path, follow_redirects=False)
        assert answer.status_code == 303, path
        assert answer.headers["location"].startswith("/auth/sign-in?next="), path


def test_staff_of_an_organization_are_refused_the_operator_pages(desk: OperatorWorld) -> None:
    answer = desk.world.desks["coordinator"].client.get("/operator/routing")
    assert answer.status_code == 403
    assert "Нет доступа" in answer.text


def test_the_operator_sees_every_section_and_the_waiting_count(desk: OperatorWorld) -> None:
    desk.queued()
    home = desk.operator.client.get("/operator")
    assert home.status_code == 200
    for label in ("Очередь", "Маршрутизация", "Покрытие"):
        assert f">{label}</a>" in home.text
    assert "1 ждёт" in home.text


def test_the_route_tester_names_the_organization_and_every_candidate(
    desk: OperatorWorld,
) -> None:
    page = desk.operator.client.get(
        "/operator/routing/test", params={"topic": "pothole", "territory": "46701101"}
    )
    assert page.status_code == 200
    assert "Отвечает: north-roads" in page.text
    assert "выбрано: самое точное действующее правило" in page.text
    assert "уступает правилу №" in page.text  # the district's roads rule
    nobody = desk.operator.client.get(
        "/operator/routing/test", params={"topic": "canteen", "territory": "46701101"}
    )
    assert "Никто не отвечает" in nobody.text
    unknown = desk.operator.client.get(
        "/operator/routing/test", params={"topic": "nothing", "territory": "99"}
    )
    assert unknown.status_code == 422
    assert "Тема: такой темы или категории нет" in unknown.text
    assert "Территория: такой территории нет в справочнике" in unknown.text


def test_a_rule_overlapping_an_equal_priority_rule_is_refused_at_the_field(
    desk: OperatorWorld,
) -> None:
    before = _rules(desk)
    refused = desk.operator.post(
        "/operator/routing/rules", topic="pothole", territory="46701101", tenant="north",
        valid_from="2026-01-01",
    )  # fmt: skip
    assert refused.status_code == 422
    assert "Приоритет: пересекается по датам" in refused.text
    assert 'id="f-priority"' in refused.text
    assert _rules(desk) == before


def test_a_regional_operator_adds_rules_only_on_their_regions(desk: OperatorWorld) -> None:
    before = _rules(desk)
    refused = desk.regional.post(
        "/operator/routing/rules", topic="schools", territory="46702101", tenant="river"
    )
    assert refused.status_code == 422
    assert "Территория: это вне ваших регионов" in refused.text
    assert _rules(desk) == before
    added = desk.regional.post(
        "/operator/routing/rules", topic="schools", territory="46701000", tenant="north"
    )
    assert added.status_code == 303
    assert ("schools", "46701000", "north", 0) in _rules(desk)
    theirs = desk.regional.client.get("/operator/routing", params={"topic": "schools"})
    assert "Северный городской округ" in theirs.text
    assert "Речной район" not in theirs.text  # the river district's rule is not theirs


def test_a_rule_changes_priority_and_dates_and_is_removed(desk: OperatorWorld) -> None:
    rule = _rule_id(desk, "pothole")
    listed = desk.operator.client.get("/operator/routing", params={"topic": "pothole"})
    assert f"Сохранить правило № {rule}" in listed.text
    changed = desk.operator.post(
        f"/operator/routing/rules/{rule}?topic=pothole", priority="5", valid_from="2026-01-01",
        valid_to="2026-12-31",
    )  # fmt: skip
    assert changed.status_code == 303
    assert ("pothole", "46701101", "north-roads", 5) in _rules(desk)
    backwards = desk.operator.post(
        f"/operator/routing/rules/{rule}?topic=pothole", priority="5", valid_from="2026-12-31",
        valid_to="2026-01-01",
    )  # fmt: skip
    assert backwards.status_code == 422
    assert "Действует по: дата окончания раньше даты начала" in backwards.text
    removed = desk.operator.post(f"/operator/routing/rules/{rule}/remove?topic=pothole")
    assert removed.status_code == 303
    assert all(r[0] != "pothole" for r in _rules(desk))


def test_a_regional_operator_cannot_change_or_remove_a_rule_outside_their_regions(
    desk: OperatorWorld,
) -> None:
    river = _rule_id(desk, "schools")
    before = _rules(desk)
    changed = desk.regional.post(f"/operator/routing/rules/{river}", priority="9")
    assert changed.status_code == 403
    removed = desk.regional.post(f"/operator/routing/rules/{river}/remove")
    assert removed.status_code == 403
    assert _rules(desk) == before
