"""Reports: counts by status, answered on time, time to answer, rating and reopened share, for
a tenant or a supervisor's whole subtree, as JSON or CSV."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import text

from tenancy.database import Database, DatabaseUrls
from tests.cabinets.message_world import World
from tests.databases import run_in_database


def answer(world: World, receipt: dict[str, Any], rating: int | None) -> None:
    desks = world.desks
    message = desks["moderator"].act(world.message_of(receipt), "accept").json()
    message = desks["coordinator"].act(message, "assign", executor="exec@roads.example.ru").json()
    message = desks["executor"].act(message, "submit-answer", text="Сделано").json()
    desks["approver"].act(message, "approve-answer")
    if rating is not None:
        world.citizen.post(
            f"/api/v1/tracking/{receipt['number']}/rating",
            json={"token": receipt["token"], "rating": rating},
        )


def test_a_report_counts_statuses_timeliness_ratings_and_reopened(world: World) -> None:
    answer(world, world.submit(), rating=5)
    answer(world, world.submit(), rating=1)  # reopened
    world.submit()  # still new

    report = world.desks["coordinator"].client.get(
        "/api/v1/tenants/north-roads/reports/messages", params={"by": "topic"}
    )
    assert report.status_code == 200, report.text
    rows = {r["group"]: r for r in report.json()}
    pothole = rows["pothole"]
    assert pothole["total"] == 3
    assert pothole["by_status"]["closed"] == 1
    assert pothole["by_status"]["registered"] == 1  # the reopened one
    assert pothole["by_status"]["new"] == 1
    assert pothole["answered"] == 1  # reopened answers no longer count as answered
    assert pothole["answered_on_time_share"] == 1.0
    assert pothole["average_rating"] == 3.0
    assert pothole["reopened_share"] == pytest.approx(1 / 3, abs=1e-3)
    by_place = (
        world.desks["coordinator"]
        .client.get("/api/v1/tenants/north-roads/reports/messages", params={"by": "territory"})
        .json()
    )
    assert [(r["group"], r["total"]) for r in by_place] == [("46701101", 3)]

    csv = world.desks["coordinator"].client.get(
        "/api/v1/tenants/north-roads/reports/messages", params={"by": "topic", "format": "csv"}
    )
    assert csv.headers["content-type"].startswith("text/csv")
    lines = csv.text.lstrip("\ufeff").splitlines()
    assert lines[0].startswith("topic,total,new,")
    assert lines[1].startswith("pothole,3,1,")


def test_a_supervisor_sees_the_subtree_by_tenant_and_others_see_nothing(world: World) -> None:
    answer(world, world.submit(), rating=4)
    forwarded = world.submit()
    message = world.desks["moderator"].act(world.message_of(forwarded), "accept").json()
    world.desks["coordinator"].act(message, "forward", tenant="river", reason="Район")

    supervisor = world.desks["supervisor"].client
    rollup = supervisor.get(
        "/api/v1/tenants/region/reports/messages", params={"by": "tenant", "subtree": "true"}
    ).json()
    by_tenant = {r["group"]: r for r in rollup}
    assert by_tenant["north-roads"]["total"] == 2
    assert by_tenant["north-roads"]["by_status"]["forwarded"] == 1
    assert by_tenant["river"]["by_status"]["new"] == 1
    assert (
        world.desks["executor"]
        .client.get("/api/v1/tenants/north-roads/reports/messages")
        .status_code
        == 403
    )
    assert (
        world.desks["river"].client.get("/api/v1/tenants/north-roads/reports/messages").status_code
        == 403
    )
    bad = supervisor.get("/api/v1/tenants/region/reports/messages", params={"by": "colour"})
    assert bad.status_code == 422
    assert bad.json()["errors"][0]["field"] == "by"


def test_a_report_period_that_ends_before_it_starts_is_refused_at_to(world: World) -> None:
    response = world.desks["coordinator"].client.get(
        "/api/v1/tenants/north-roads/reports/messages",
        params={"from": "2026-03-10", "to": "2026-03-01"},
    )
    assert response.status_code == 422
    assert [e["field"] for e in response.json()["errors"]] == ["to"]


def test_a_report_counts_what_is_overdue_now(world: World) -> None:
    late, _ = world.submit(), world.submit()
    desk = world.desks["coordinator"]
    urls: DatabaseUrls = desk.client.app.state.database.urls  # type: ignore[attr-defined]

    async def overdue(db: Database) -> None:
        async with db.privileged_session() as session:
            await session.execute(
                text(
                    "UPDATE messages SET stage_due_at = now() - interval '1 day' "
                    "WHERE tracking_number = :n"
                ),
                {"n": late["number"]},
            )

    run_in_database(urls, overdue)
    rows = desk.client.get("/api/v1/tenants/north-roads/reports/messages").json()
    assert [(row["total"], row["overdue_now"]) for row in rows] == [(2, 1)]
