"""The guard at the edge: text PostgreSQL cannot store (NUL, lone surrogates) and shapes no one
needs (deep nesting, oversized bodies) are refused naming the field, on every way in, and
nothing is stored; 405 names every method; every problem names its request."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import text
from starlette.testclient import TestClient

from tenancy.database import Database, DatabaseUrls
from tests.cabinets.message_world import POTHOLE, World
from tests.databases import run_in_database

PROBLEM = "application/problem+json"
NUL = "\x00"


def refused_field(response: Any, status: int = 422) -> str:
    """The one field a problem names (and it names the request, as every problem does)."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM
    body = response.json()
    assert body["request_id"] == response.headers["x-request-id"]
    assert body["instance"]
    [error] = body["errors"]
    field: str = error["field"]
    return field


def messages_stored(urls: DatabaseUrls) -> int:
    async def count(db: Database) -> int:
        async with db.privileged_session() as session:
            return int((await session.execute(text("SELECT count(*) FROM messages"))).scalar_one())

    return int(run_in_database(urls, count))


@pytest.fixture
def citizen(world: World) -> TestClient:
    return world.citizen


@pytest.mark.parametrize(
    ("field", "change"),
    [
        ("summary", {"summary": f"Яма{NUL}"}),
        ("text", {"text": f"Глубокая{NUL} яма у дома 5, машины объезжают по тротуару."}),
        ("address", {"address": f"ул. Лесная, 5{NUL}"}),
        ("applicant.name", {"applicant": {"name": f"Иван{NUL}", "email": "i@mail.example.ru"}}),
    ],
)
def test_a_nul_in_any_intake_field_is_refused_naming_it_and_nothing_is_stored(
    world: World, clean_database: DatabaseUrls, field: str, change: dict[str, Any]
) -> None:
    response = world.citizen.post("/api/v1/messages", json=POTHOLE | change)
    assert refused_field(response) == field
    assert "NUL" in response.json()["detail"]
    assert messages_stored(clean_database) == 0


def test_a_lone_surrogate_in_json_is_refused_naming_the_field(citizen: TestClient) -> None:
    escaped = json.dumps(POTHOLE, ensure_ascii=False)
    body = escaped.replace('"Яма на дороге', '"\\ud800Яма на дороге').encode()
    assert b"\\ud800" in body
    response = citizen.post(
        "/api/v1/messages", content=body, headers={"content-type": "application/json"}
    )
    assert refused_field(response) == "summary"
    assert "surrogate" in response.json()["detail"]


def test_sign_in_refuses_invalid_json_and_a_nul(citizen: TestClient) -> None:
    broken = citizen.post(
        "/auth/sign-in", content=b'{"email": ', headers={"content-type": "application/json"}
    )
    assert refused_field(broken) == "body"
    assert "not valid JSON" in broken.json()["detail"]
    nul = citizen.post("/auth/sign-in", json={"email": f"a{NUL}@b.ru", "password": "x"})
    assert refused_field(nul) == "email"


def test_json_nested_100000_levels_deep_is_refused(citizen: TestClient) -> None:
    deep = b"[" * 100_000 + b"]" * 100_000
    response = citizen.post(
        "/auth/sign-in", content=deep, headers={"content-type": "application/json"}
    )
    assert refused_field(response) == "body"
    assert response.json()["errors"][0]["code"] == "too_deep"
    # Deep enough to pass the parser, not the guard.
    nested: Any = "x"
    for _ in range(100):
        nested = {"a": nested}
    shallow = citizen.post("/api/v1/messages", json=POTHOLE | {"extra": nested})
    assert refused_field(shallow).startswith("extra.a.a")


def test_a_body_past_the_json_limit_is_refused_from_its_length_and_while_it_streams(
    citizen: TestClient,
) -> None:
    limit = 1 << 20
    declared = citizen.post(
        "/api/v1/messages",
        content=b" " * (limit + 1),
        headers={"content-type": "application/json"},
    )
    assert declared.status_code == 413
    assert declared.headers["content-type"] == PROBLEM
    assert declared.json()["limit"] == limit

    def chunks() -> Iterator[bytes]:  # no Content-Length: chunked
        for _ in range(200):
            yield b" " * 65_536

    streamed = citizen.post(
        "/api/v1/messages", content=chunks(), headers={"content-type": "application/json"}
    )
    assert streamed.status_code == 413
    # Within the limit, the endpoint answers as before.
    within = citizen.post("/api/v1/messages", json=POTHOLE | {"text": "я" * 10_001})
    assert refused_field(within) == "text"


def test_a_nul_in_any_query_or_path_is_refused_naming_it(world: World) -> None:
    citizen = world.citizen
    coordinator = world.desks["coordinator"].client
    cases = {
        "/open311/v2/services.json?jurisdiction_id=467%00": "jurisdiction_id",
        "/api/v1/tracking/1%00?token=x": "number",
        "/track/1%00": "number",
        "/write?q=%D0%A1%00": "q",
        "/write?territory=467%00": "territory",
        "/api/v1/tenants?parent=region%00": "parent",
    }
    for url, field in cases.items():
        assert refused_field(citizen.get(url)) == field, url
    inbox = "/api/v1/tenants/north-roads/messages"
    assert refused_field(coordinator.get(f"{inbox}?q=%D1%8F%00")) == "q"
    assert refused_field(coordinator.get(f"{inbox}?number=1%00")) == "number"


def test_a_browser_is_answered_with_a_page_naming_the_field(world: World) -> None:
    browser = {"accept": "text/html,application/xhtml+xml,*/*;q=0.8"}
    refused = world.citizen.get("/write?q=%D0%A1%00", headers=browser)
    assert refused.status_code == 422
    assert refused.headers["content-type"].startswith("text/html")
    assert "«q»" in refused.text
    assert "Ничего не сохранено" in refused.text
    # The same address asked by a program is still the problem naming the field.
    assert refused_field(world.citizen.get("/write?q=%D0%A1%00")) == "q"
    mistyped = world.citizen.get("/no-such-page", headers=browser)
    assert mistyped.status_code == 404
    assert "Страница не найдена" in mistyped.text
    assert world.citizen.get("/no-such-page").headers["content-type"] == PROBLEM


def test_a_nul_in_a_form_or_a_multipart_field_is_refused_naming_it(world: World) -> None:
    filed = world.citizen.post(
        "/open311/v2/requests.json",
        data={"service_code": "pothole", "jurisdiction_id": "46701101", "description": f"a{NUL}"},
    )
    assert refused_field(filed) == "description"
    multipart = world.citizen.post(
        "/open311/v2/requests.json",
        data={"service_code": "pothole", "jurisdiction_id": "46701101", "description": f"a{NUL}"},
        files={"media": ("photo.txt", b"\x00 binary bytes pass as they are", "text/plain")},
    )
    # Open311 answers invalid input in its own shape, naming the field.
    assert multipart.status_code == 400, multipart.text
    assert "description" in multipart.json()[0]["description"]


def test_an_answer_template_with_a_nul_is_refused(world: World) -> None:
    desk = world.desks["admin"]
    response = desk.client.post(
        f"/api/v1/tenants/{desk.tenant}/answer-templates",
        json={"title": "Ответ", "body": f"Текст{NUL}"},
        headers={"X-CSRF-Token": desk.csrf},
    )
    assert refused_field(response) == "body"


def test_a_405_names_every_method_of_the_path(world: World) -> None:
    desk = world.desks["admin"]
    response = desk.client.patch(
        f"/api/v1/tenants/{desk.tenant}/answer-templates", headers={"X-CSRF-Token": desk.csrf}
    )
    assert response.status_code == 405
    assert response.headers["allow"] == "GET, HEAD, POST"
    assert response.json()["request_id"] == response.headers["x-request-id"]


def test_a_bad_token_and_a_missing_csrf_token_are_problems_naming_the_request(
    world: World,
) -> None:
    refused = world.citizen.get("/api/v1/me", headers={"Authorization": "Bearer prn_nonsense"})
    assert refused.status_code == 401
    assert refused.json()["request_id"] == refused.headers["x-request-id"]
    assert refused.json()["instance"] == "/api/v1/me"
    desk = world.desks["admin"]
    forged = desk.client.post(f"/api/v1/tenants/{desk.tenant}/answer-templates", json={})
    assert forged.status_code == 403
    assert forged.headers["content-type"] == PROBLEM
    assert forged.json()["request_id"] == forged.headers["x-request-id"]
    assert forged.json()["instance"] == f"/api/v1/tenants/{desk.tenant}/answer-templates"
