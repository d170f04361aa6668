"""The routing API: the public catalog for forms, public resolution served from the cached
index (rebuilt after changes made elsewhere), and operator endpoints closed to others."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from starlette.testclient import TestClient

from cabinets.app import create_app
from tenancy.accounts import service as accounts
from tenancy.database import Database, DatabaseUrls
from tenancy.routing import service
from tenancy.routing.schemas import RuleRow
from tenancy.settings import Settings
from tenancy.staff import service as staff
from tenancy.staff import tokens
from tenancy.staff.schemas import StaffInput
from tests.databases import run_in_database
from tests.tenancy.routing_world import seed_routing_region


@pytest.fixture
def client(
    settings: Settings, clean_database: DatabaseUrls, tenant_data: Callable[..., Any]
) -> Iterator[TestClient]:
    async def build(db: Database) -> None:
        await seed_routing_region(db, tenant_data)

    run_in_database(clean_database, build)
    with TestClient(create_app(settings)) as client:
        yield client


def test_the_catalog_for_a_form_shows_what_is_valid_there(client: TestClient) -> None:
    topics = client.get("/api/v1/catalog/topics", params={"territory": "46701101"}).json()
    assert [t["code"] for t in topics] == ["canteen", "local-fair", "pothole", "snow"]
    pothole = topics[2]
    assert (pothole["photo_required"], pothole["deadline_days"]) == (True, 10)
    missing = client.get("/api/v1/catalog/topics")
    assert missing.status_code == 422
    assert missing.json()["errors"][0]["field"] == "territory"


def test_resolution_is_public_and_explained(client: TestClient) -> None:
    answer = client.get(
        "/api/v1/routing/resolve", params={"topic": "pothole", "territory": "46701101"}
    ).json()
    assert answer["tenant"] == "north-roads"
    assert answer["candidates"][0]["verdict"] == "winner"
    bad = client.get("/api/v1/routing/resolve", params={"topic": "ufo", "territory": "46701101"})
    assert bad.status_code == 422


def test_a_change_made_elsewhere_reaches_the_cached_index(
    client: TestClient, clean_database: DatabaseUrls
) -> None:
    params = {"topic": "canteen", "territory": "46702101"}
    assert client.get("/api/v1/routing/resolve", params=params).json()["tenant"] == "river"
    rule = RuleRow(topic="canteen", territory="46702101", tenant="north")
    run_in_database(
        clean_database, lambda db: service.add_rules(db, [("x", rule)], actor="t", source="t")
    )
    deadline = time.monotonic() + 5
    while client.get("/api/v1/routing/resolve", params=params).json()["tenant"] != "north":
        assert time.monotonic() < deadline, "the cached index never saw the new rule"
        time.sleep(0.05)


def test_operator_endpoints_need_routing_edit_on_the_platform(
    client: TestClient, clean_database: DatabaseUrls
) -> None:
    assert client.get("/api/v1/routing/gaps").status_code == 401
    token = run_in_database(
        clean_database,
        lambda db: tokens.create_token(
            db, "region", "admin", name="edms", expires_at=None, actor="t"
        ),
    )
    refused = client.post(
        "/api/v1/routing/rules",
        json=[{"topic": "snow", "territory": "46702000", "tenant": "river"}],
        headers={"Authorization": f"Bearer {token.token}"},
    )
    assert refused.status_code == 403
    assert "routing:edit in 'platform'" in refused.json()["detail"]


def test_a_regional_operator_signed_in_keeps_to_their_region(
    client: TestClient, clean_database: DatabaseUrls
) -> None:
    email, password = "olga@north.example.ru", "northern lights 2026"

    async def operator(db: Database) -> None:
        await staff.add_staff(db, [StaffInput(email=email, name="Olga")], actor="t")
        await staff.grant_role(
            db, email, "platform", "regional_operator", regions=["46701000"], actor="t"
        )
        await accounts.set_known_password(db, [email], password, actor="t")

    run_in_database(clean_database, operator)
    signed = client.post("/auth/sign-in", json={"email": email, "password": password})
    csrf = {"X-CSRF-Token": signed.json()["csrf_token"]}
    outside = client.post(
        "/api/v1/routing/rules",
        json=[
            {"topic": "snow", "territory": "46701102", "tenant": "north"},
            {"topic": "snow", "territory": "46702101", "tenant": "river"},
        ],
        headers=csrf,
    )
    assert outside.status_code == 422
    assert outside.json()["errors"] == [
        {
            "field": "territory",
            "message": "46702101 is outside your regions (46701000)",
            "code": "outside_regions",
            "location": "rules[1]",
        }
    ]
    inside = client.post(
        "/api/v1/routing/rules",
        json=[{"topic": "snow", "territory": "46701102", "tenant": "north"}],
        headers=csrf,
    )
    assert inside.status_code == 201
    publish = client.post("/api/v1/catalog/publish", headers=csrf)
    assert publish.status_code == 403
    assert "a federal operator publishes it" in publish.json()["detail"]
