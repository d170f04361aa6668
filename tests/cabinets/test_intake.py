"""Intake: what a citizen may submit, what is refused and why, retries that return the first
receipt, messages nobody is responsible for (kept, never lost), and rate limits."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from starlette.testclient import TestClient

from cabinets.app import create_app
from tenancy.database import Database, DatabaseUrls
from tenancy.settings import Settings
from tenancy.tenants import service as tenants
from tenancy.tenants.service import Lifecycle
from tests.cabinets.message_world import POTHOLE, pothole, seed_message_world
from tests.databases import run_in_database

PROBLEM = "application/problem+json"


@pytest.fixture
def client(
    settings: Settings, clean_database: DatabaseUrls, tenant_data: Callable[..., Any]
) -> Iterator[TestClient]:
    seed_message_world(clean_database, tenant_data)
    limited = settings.model_copy(update={"intake_per_address": 8, "intake_per_applicant": 4})
    with TestClient(create_app(limited)) as client:
        yield client


def fields_of(response: Any) -> set[str]:
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == PROBLEM
    return {e["field"] for e in response.json()["errors"]}


def test_bad_submissions_are_refused_naming_each_field(client: TestClient) -> None:
    submit = client.post
    assert fields_of(submit("/api/v1/messages", json=POTHOLE | {"topic": "ufo"})) == {"topic"}
    assert fields_of(submit("/api/v1/messages", json=POTHOLE | {"territory": "99999999"})) == {
        "territory"
    }
    no_consent = submit("/api/v1/messages", json=POTHOLE | {"consent": False})
    assert fields_of(no_consent) == {"consent"}
    assert "consent to the processing of personal data" in no_consent.text
    missing = {k: v for k, v in POTHOLE.items() if k != "consent"}
    assert fields_of(submit("/api/v1/messages", json=missing)) == {"consent"}
    assert fields_of(submit("/api/v1/messages", json=POTHOLE | {"text": "   "})) == {"text"}
    assert fields_of(submit("/api/v1/messages", json=POTHOLE | {"text": "я" * 10_001})) == {"text"}
    no_address = POTHOLE | {"address": None}
    assert fields_of(submit("/api/v1/messages", json=no_address)) == {"address"}
    anonymous = POTHOLE | {"applicant": {"name": "Аноним"}}
    assert fields_of(submit("/api/v1/messages", json=anonymous)) == {"applicant.email"}
    legal = POTHOLE | {"applicant": {"kind": "legal", "name": "Иван", "email": "i@x.ru"}}
    assert "organization" in submit("/api/v1/messages", json=legal).text
    # A regional topic is not offered outside its region.
    outside = POTHOLE | {"topic": "local-fair", "territory": "46701101"}
    assert submit("/api/v1/messages", json=outside).status_code == 201
    assert client.get("/api/v1/tracking/00-0000000", params={"token": "x"}).status_code == 404


def test_each_problem_names_its_kind_for_programs(client: TestClient) -> None:
    def codes(body: dict[str, Any]) -> dict[str, str]:
        refused = client.post("/api/v1/messages", json=body)
        assert refused.status_code == 422, refused.text
        return {e["field"]: e["code"] for e in refused.json()["errors"]}

    assert codes(POTHOLE | {"consent": False}) == {"consent": "consent_required"}
    assert codes({k: v for k, v in POTHOLE.items() if k != "consent"}) == {"consent": "missing"}
    assert codes(POTHOLE | {"text": "я" * 10_001}) == {"text": "string_too_long"}
    assert codes(POTHOLE | {"address": None}) == {"address": "address_required"}
    anonymous = POTHOLE | {"applicant": {"name": "Аноним"}}
    assert codes(anonymous) == {"applicant.email": "contact_required"}


def test_a_retried_submission_returns_the_first_receipt(client: TestClient) -> None:
    headers = {"Idempotency-Key": "form-7f3a9c1e-retry"}
    message = pothole(client)
    first = client.post("/api/v1/messages", json=message, headers=headers)
    again = client.post("/api/v1/messages", json=message, headers=headers)
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    other = client.post("/api/v1/messages", json=message | {"summary": "Другое"}, headers=headers)
    assert fields_of(other) == {"Idempotency-Key"}
    fresh = client.post(
        "/api/v1/messages", json=pothole(client), headers={"Idempotency-Key": "form-another-key"}
    )
    assert fresh.json()["number"] != first.json()["number"]


def test_a_message_nobody_answers_waits_for_the_operator_and_the_citizen_is_told(
    client: TestClient, clean_database: DatabaseUrls
) -> None:
    # Everybody who could answer potholes in the north is suspended: the route finds no one.
    async def suspend(db: Database) -> None:
        for slug in ("north-roads", "north", "region"):
            await tenants.change_status(db, slug, Lifecycle.SUSPEND, reason="audit", actor="t")

    run_in_database(clean_database, suspend)
    receipt = client.post("/api/v1/messages", json=POTHOLE)
    assert receipt.status_code == 201
    body = receipt.json()
    assert (body["queued"], body["organization"], body["status"]) == (True, None, "queued")
    timeline = client.get(f"/api/v1/tracking/{body['number']}", params={"token": body["token"]})
    assert timeline.json()["status_label"].startswith("Поступило")
    assert timeline.json()["summary"] == POTHOLE["summary"]


def test_a_suspended_tenant_takes_no_new_messages(
    client: TestClient, clean_database: DatabaseUrls
) -> None:
    run_in_database(
        clean_database,
        lambda db: tenants.change_status(
            db, "north-roads", Lifecycle.SUSPEND, reason="reorganisation", actor="t"
        ),
    )
    receipt = client.post("/api/v1/messages", json=pothole(client)).json()
    # The route falls through to the district, which is active.
    assert receipt["organization"] == "Organization north"


def test_floods_are_limited_per_applicant_and_per_address(client: TestClient) -> None:
    for _ in range(4):
        assert client.post("/api/v1/messages", json=pothole(client)).status_code == 201
    limited = client.post("/api/v1/messages", json=pothole(client))
    assert limited.status_code == 429
    assert int(limited.headers["retry-after"]) > 0
    assert "this applicant" in limited.json()["detail"]
    for i in range(4):
        other = pothole(client, applicant={"name": "Сосед", "email": f"n{i}@x.ru"})
        assert client.post("/api/v1/messages", json=other).status_code == 201
    spammer = pothole(client, applicant={"name": "Ещё", "email": "more@x.ru"})
    blocked = client.post("/api/v1/messages", json=spammer)
    assert blocked.status_code == 429
    assert "your address" in blocked.json()["detail"]


def test_a_wrong_tracking_token_reveals_nothing(client: TestClient) -> None:
    receipt = client.post("/api/v1/messages", json=pothole(client)).json()
    wrong = client.get(f"/api/v1/tracking/{receipt['number']}", params={"token": "guess"})
    assert wrong.status_code == 404
    assert "Яма" not in wrong.text
    rating = client.post(
        f"/api/v1/tracking/{receipt['number']}/rating",
        json={"token": receipt["token"], "rating": 6},
    )
    assert fields_of(rating) == {"rating"}
    zero = client.post(
        f"/api/v1/tracking/{receipt['number']}/rating",
        json={"token": receipt["token"], "rating": 0},
    )
    assert fields_of(zero) == {"rating"}
    early = client.post(
        f"/api/v1/tracking/{receipt['number']}/rating",
        json={"token": receipt["token"], "rating": 5},
    )
    assert early.status_code == 409
