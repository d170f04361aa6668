"""``/metrics``: requests by route template and status, intake, the outbox and the worker as the
database sees them, pools and the policy and routing feeds; no tenant or person in any label."""

from __future__ import annotations

from datetime import UTC, datetime

from prometheus_client.parser import text_string_to_metric_families
from starlette.testclient import TestClient

from cabinets.worker import record_heartbeat
from tests.cabinets.message_world import POTHOLE, World
from tests.databases import run_in_database

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def parse(text: str) -> Samples:
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def scrape(client: TestClient) -> Samples:
    response = client.get("/metrics")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain")
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }


def value(
    samples: dict[tuple[str, frozenset[tuple[str, str]]], float], name: str, **labels: str
) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


def test_requests_are_counted_and_timed_under_their_route_template(world: World) -> None:
    desk = world.desks["moderator"]
    route = "/api/v1/tenants/{slug}/messages/{message_id}"
    before = scrape(desk.client)
    assert desk.get("00000000-0000-0000-0000-000000000000").status_code == 404
    assert desk.client.get("/no/such/page").status_code == 404
    after = scrape(desk.client)
    counted = "priemnaya_http_requests_total"
    assert value(after, counted, route=route, method="GET", status="404") == 1 + value(
        before, counted, route=route, method="GET", status="404"
    )
    assert value(after, counted, route="unmatched", method="GET", status="404") == 1 + value(
        before, counted, route="unmatched", method="GET", status="404"
    )
    timed = "priemnaya_http_request_duration_seconds_count"
    assert value(after, timed, route=route, method="GET") == 1 + value(
        before, timed, route=route, method="GET"
    )


def test_intake_and_the_outbox_show_without_naming_tenants_or_people(world: World) -> None:
    before = scrape(world.citizen)
    receipt = world.submit()
    body = world.citizen.get("/metrics").text
    after = scrape(world.citizen)
    received = "priemnaya_messages_received_total"
    assert value(after, received, outcome="filed") == 1 + value(before, received, outcome="filed")
    # The citizen's notice waits in the outbox (no worker runs here).
    assert value(after, "priemnaya_outbox_pending") >= 1
    assert value(after, "priemnaya_outbox_oldest_pending_age_seconds") >= 0
    applicant: dict[str, str] = POTHOLE["applicant"]  # type: ignore[assignment]
    for private in ("north-roads", receipt["number"], applicant["email"], applicant["name"]):
        assert private not in body


def test_the_worker_heartbeat_age_is_read_from_the_database(world: World) -> None:
    app = world.citizen.app
    assert value(scrape(world.citizen), "priemnaya_worker_heartbeat_age_seconds") == -1
    run_in_database(
        app.state.database.urls,  # type: ignore[attr-defined]
        lambda db: record_heartbeat(db, "test-worker", datetime.now(UTC)),
    )
    age = value(scrape(world.citizen), "priemnaya_worker_heartbeat_age_seconds")
    assert 0 <= age < 60


def test_pools_and_the_policy_and_routing_feeds_are_reported(world: World) -> None:
    world.submit()  # the first message builds the routing index
    samples = scrape(world.citizen)
    assert value(samples, "priemnaya_db_pool_capacity", pool="app") > 0
    # Between requests every lent connection is back (the scrape returned its own before
    # writing the figures).
    assert value(samples, "priemnaya_db_pool_in_use", pool="app") == 0
    assert value(samples, "priemnaya_db_pool_in_use", pool="privileged") == 0
    assert value(samples, "priemnaya_policy_full_loads") >= 1
    assert 0 <= value(samples, "priemnaya_policy_sync_age_seconds") < 60
    assert value(samples, "priemnaya_routing_index_builds") >= 1
    assert 0 <= value(samples, "priemnaya_routing_sync_age_seconds") < 60
