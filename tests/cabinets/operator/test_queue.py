"""The operator's queue: a message nobody answers waits whole, is dispatched to an organization
(new there, under the number the citizen follows) or re-routed once a rule covers it; a
suspended organization takes nothing and nothing is lost."""

from __future__ import annotations

from typing import Any

from sqlalchemy import text

from tenancy.database import Database
from tenancy.tenants import service as tenants
from tenancy.tenants.service import Lifecycle
from tests.cabinets.operator.conftest import OperatorWorld


def _waiting(desk: OperatorWorld) -> int:
    async def count(db: Database) -> int:
        async with db.privileged_session() as session:
            found = await session.execute(
                text("SELECT count(*) FROM operator_queue WHERE dispatched_at IS NULL")
            )
            return int(found.scalar_one())

    return int(desk.run(count))


def _queue_id(desk: OperatorWorld, number: str) -> str:
    async def find(db: Database) -> str:
        async with db.privileged_session() as session:
            found = await session.execute(
                text("SELECT id FROM operator_queue WHERE tracking_number = :n"), {"n": number}
            )
            return str(found.scalar_one())

    return str(desk.run(find))


def _inbox(desk: OperatorWorld, tenant: str = "north") -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []

    async def listed(db: Database) -> None:
        async with db.privileged_session() as session:
            rows = await session.execute(
                text(
                    "SELECT m.tracking_number, m.status FROM messages m "
                    "JOIN tenants t ON t.id = m.tenant_id WHERE t.slug = :s"
                ),
                {"s": tenant},
            )
            found.extend(dict(r._mapping) for r in rows)

    desk.run(listed)
    return found


def test_the_queue_page_lists_a_message_nobody_answers_with_why(desk: OperatorWorld) -> None:
    receipt = desk.queued()
    page = desk.operator.client.get("/operator/queue")
    assert page.status_code == 200
    assert f"№ {receipt['number']}" in page.text
    assert "ни одного правила для этой темы здесь" in page.text
    assert page.headers["cache-control"] == "no-store"


def test_the_operator_dispatches_a_queued_message_and_the_citizen_sees_where(
    desk: OperatorWorld,
) -> None:
    receipt = desk.queued()
    queue_id = _queue_id(desk, receipt["number"])
    sent = desk.operator.post(f"/operator/queue/{queue_id}/dispatch", tenant="north")
    assert sent.status_code == 303, sent.text
    assert _inbox(desk) == [{"tracking_number": receipt["number"], "status": "new"}]
    timeline = desk.world.timeline(receipt)
    assert timeline["organization"] == "Organization north"
    assert timeline["status"] == "new"
    sent = timeline["entries"][-1]
    assert sent["title"] == "Получено по компетенции"
    assert sent["details"] == {"from": "оператор Приёмной"}
    assert _waiting(desk) == 0
    again = desk.operator.client.get(f"/operator/queue/{queue_id}")
    assert again.status_code == 404


def test_a_suspended_organization_takes_no_queued_message_and_it_keeps_waiting(
    desk: OperatorWorld,
) -> None:
    receipt = desk.queued()
    desk.run(
        lambda db: tenants.change_status(db, "river", Lifecycle.SUSPEND, reason="t", actor="t")
    )
    queue_id = _queue_id(desk, receipt["number"])
    refused = desk.operator.post(f"/operator/queue/{queue_id}/dispatch", tenant="river")
    assert refused.status_code == 422
    assert "Организация: организация приостановлена или в архиве" in refused.text
    assert 'aria-invalid="true"' in refused.text
    assert _waiting(desk) == 1
    assert _inbox(desk, "river") == []
    assert desk.world.timeline(receipt)["status"] == "queued"


def test_a_regional_operator_dispatches_only_on_their_regions(desk: OperatorWorld) -> None:
    receipt = desk.queued(topic="snow", territory="46702101")  # the river district, not theirs
    queue_id = _queue_id(desk, receipt["number"])
    theirs = desk.queued()  # the northern district: theirs
    listed = desk.regional.client.get("/operator/queue")
    assert f"№ {theirs['number']}" in listed.text
    assert f"№ {receipt['number']}" not in listed.text
    refused = desk.regional.post(f"/operator/queue/{queue_id}/dispatch", tenant="river")
    assert refused.status_code == 422
    assert "это вне ваших регионов" in refused.text
    assert _waiting(desk) == 2


def test_a_new_rule_re_routes_every_queued_message_it_covers(desk: OperatorWorld) -> None:
    covered = [desk.queued(), desk.queued(territory="46701102")]
    elsewhere = desk.queued(topic="snow", territory="46702101")
    added = desk.operator.post(
        "/operator/routing/rules", topic="schools", territory="46701000", tenant="north"
    )
    assert added.status_code == 303, added.text
    rerouted = desk.operator.post("/operator/queue/reroute")
    assert rerouted.status_code == 303
    shown = desk.operator.client.get(rerouted.headers["location"])
    assert "Направлено по новым правилам: 2; ждут по-прежнему: 1" in shown.text
    assert sorted(m["tracking_number"] for m in _inbox(desk)) == sorted(
        r["number"] for r in covered
    )
    assert _waiting(desk) == 1
    assert desk.world.timeline(elsewhere)["status"] == "queued"
