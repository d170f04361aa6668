"""The web app: probes, problem+json errors, request ids, the OpenAPI document, and a refusal to
serve through a connection that row-level security would not bind."""

import json
import re
from collections.abc import Iterator
from datetime import timedelta

import pytest
from sqlalchemy import text
from starlette.routing import Route
from starlette.testclient import TestClient

from cabinets.app import create_app
from tenancy.database import Database, DatabaseUrls
from tenancy.settings import Settings, SettingsError
from tests.databases import run_in_database

PROBLEM = "application/problem+json"


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(settings)) as client:
        yield client


def test_healthz_and_readyz(client: TestClient) -> None:
    assert client.get("/healthz").json() == {"status": "alive"}
    ready = client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json()["status"] == "ready"


def test_readyz_tells_a_stale_worker_apart_and_stays_ready(
    client: TestClient, clean_database: DatabaseUrls
) -> None:
    assert client.get("/readyz").json()["worker"] == "none"

    async def beat(db: Database) -> None:
        async with db.privileged_session() as session:
            await session.execute(
                text(
                    "INSERT INTO worker_heartbeats (worker_id, hostname, pid, started_at, seen_at)"
                    " VALUES ('w1', 'h', 1, now() - interval '1 hour', now() - :age)"
                ),
                {"age": timedelta(minutes=5)},
            )

    run_in_database(clean_database, beat)
    ready = client.get("/readyz")
    assert ready.status_code == 200  # the web process serves: the worker's own probe acts
    body = ready.json()
    assert body["worker"] == "stale"
    assert 300 <= body["worker_age_seconds"] < 400
    assert body["worker_seen_at"]


def test_readyz_is_503_when_the_schema_is_behind_the_code(client: TestClient) -> None:
    client.app.state.schema_revision = "9999"  # type: ignore[attr-defined]
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.headers["content-type"] == PROBLEM
    assert "priemnaya db upgrade" in response.json()["detail"]


def test_readyz_is_503_when_the_database_is_unreachable(client: TestClient) -> None:
    from tenancy.database import Database, DatabaseUrls

    dead = "postgresql+psycopg://priemnaya_app@127.0.0.1:1/none?connect_timeout=1"
    client.app.state.database = Database(DatabaseUrls(dead, dead))  # type: ignore[attr-defined]
    response = client.get("/readyz")
    assert response.status_code == 503
    assert "database unreachable" in response.json()["detail"]


def test_errors_are_problem_json_with_the_request_id(client: TestClient) -> None:
    missing = client.get("/api/v1/tenants/ghost")
    assert missing.status_code == 404
    assert missing.headers["content-type"] == PROBLEM
    body = missing.json()
    assert body["request_id"] == missing.headers["x-request-id"]
    assert body["instance"] == "/api/v1/tenants/ghost"

    unknown_route = client.get("/nowhere")
    assert unknown_route.status_code == 404
    assert unknown_route.headers["content-type"] == PROBLEM

    wrong_method = client.delete("/api/v1/tenants")
    assert wrong_method.status_code == 405
    assert wrong_method.headers["content-type"] == PROBLEM


def test_bad_query_parameter_is_422_naming_it(client: TestClient) -> None:
    response = client.get("/api/v1/tenants", params={"kind": "church", "colour": "red"})
    assert response.status_code == 422
    assert response.headers["content-type"] == PROBLEM
    fields = sorted(e["field"] for e in response.json()["errors"])
    assert fields == ["colour", "kind"]


def test_a_callers_request_id_is_kept_when_harmless(client: TestClient) -> None:
    kept = client.get("/healthz", headers={"x-request-id": "proxy-1234abcd"})
    assert kept.headers["x-request-id"] == "proxy-1234abcd"
    replaced = client.get("/healthz", headers={"x-request-id": "bad id\nwith newline"})
    assert replaced.headers["x-request-id"] != "bad id\nwith newline"


def test_openapi_lists_every_json_endpoint(client: TestClient) -> None:
    document = client.get("/api/openapi.json").json()
    assert document["openapi"].startswith("3.")
    for path in ("/api/v1/tenants", "/api/v1/tenants/{slug}", "/readyz"):
        assert "get" in document["paths"][path], path
    assert {"TenantRead", "Problem"} <= set(document["components"]["schemas"])
    # Every JSON endpoint of the API is described, with a summary ...
    missing = []
    for route in client.app.routes:  # type: ignore[attr-defined]
        if not isinstance(route, Route) or not route.path.startswith("/api/"):
            continue
        if route.path == "/api/openapi.json":
            continue
        for method in route.methods or ():
            if method == "HEAD":
                continue
            described = document["paths"].get(route.path, {}).get(method.lower())
            if not described or not described.get("summary"):
                missing.append(f"{method} {route.path}")
    assert missing == []
    # ... and every schema it refers to exists.
    refs = set(re.findall(r"#/components/schemas/([A-Za-z0-9_]+)", json.dumps(document)))
    assert refs <= set(document["components"]["schemas"])


def test_app_refuses_a_connection_that_bypasses_row_level_security(settings: Settings) -> None:
    unsafe = settings.model_copy(update={"app_database_url": settings.database_url})
    with (
        pytest.raises(SettingsError, match="PRIEMNAYA_APP_DATABASE_URL"),
        TestClient(create_app(unsafe)),
    ):
        pass
