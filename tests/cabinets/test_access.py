"""Access at the edge: no route is left open by accident; API tokens authenticate; each route's
permission is checked in the tenant it names."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from starlette.routing import BaseRoute, Mount, Route
from starlette.testclient import TestClient

from cabinets.app import create_app
from rbac.access import route_access
from tenancy.database import Database, DatabaseUrls
from tenancy.settings import Settings
from tenancy.staff import tokens
from tenancy.tenants import service as tenants
from tenancy.tenants.models import TenantKind
from tests.databases import run_in_database

PROBLEM = "application/problem+json"


def all_routes(routes: list[BaseRoute], prefix: str = "") -> Iterator[tuple[str, Route]]:
    for route in routes:
        if isinstance(route, Mount):
            yield from all_routes(route.routes, prefix + route.path)
        elif isinstance(route, Route):
            yield prefix + route.path, route


def test_every_route_declares_its_permission_or_that_it_is_public(settings: Settings) -> None:
    app = create_app(settings)
    undeclared = [
        path for path, route in all_routes(app.routes) if route_access(route.endpoint) is None
    ]
    assert undeclared == []
    declared = {path: route_access(route.endpoint) for path, route in all_routes(app.routes)}
    staff = declared["/api/v1/tenants/{slug}/staff"]
    assert staff is not None
    assert (staff.kind, staff.permission) == ("permission", "staff:manage")


@pytest.fixture
def world(clean_database: DatabaseUrls, tenant_data: Callable[..., Any]) -> dict[str, str]:
    """Two schools under a region, a token per case; returns the tokens by name."""

    async def build(db: Database) -> dict[str, str]:
        await tenants.create_tenants(
            db,
            [
                tenant_data("region", kind=TenantKind.REGION),
                tenant_data("school-1", parent="region"),
                tenant_data("school-2", parent="region"),
            ],
            actor="test",
        )
        made = {}
        for name, tenant, role, expires in (
            ("admin", "school-1", "admin", datetime.now(UTC) + timedelta(days=1)),
            ("viewer", "school-1", "viewer", None),
            ("expired", "school-1", "admin", datetime.now(UTC) - timedelta(seconds=1)),
            ("revoked", "school-1", "admin", None),
        ):
            created = await tokens.create_token(
                db, tenant, role, name=name, expires_at=expires, actor="test"
            )
            made[name] = created.token
            made[f"{name}-id"] = created.id
        await tokens.revoke_token(db, made["revoked-id"], actor="test")
        return made

    result: dict[str, str] = run_in_database(clean_database, build)
    return result


@pytest.fixture
def client(settings: Settings, world: dict[str, str]) -> Iterator[TestClient]:
    with TestClient(create_app(settings)) as client:
        yield client


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_a_token_with_the_permission_is_served(client: TestClient, world: dict[str, str]) -> None:
    response = client.get("/api/v1/tenants/school-1/staff", headers=bearer(world["admin"]))
    assert response.status_code == 200
    assert response.json() == []


def test_a_token_finds_no_other_tenant(client: TestClient, world: dict[str, str]) -> None:
    response = client.get("/api/v1/tenants/school-2/staff", headers=bearer(world["admin"]))
    assert response.status_code == 404
    assert response.headers["content-type"] == PROBLEM
    assert "school-2" in response.json()["detail"]


def test_a_token_whose_role_lacks_the_permission_is_refused(
    client: TestClient, world: dict[str, str]
) -> None:
    response = client.get("/api/v1/tenants/school-1/staff", headers=bearer(world["viewer"]))
    assert response.status_code == 403


@pytest.mark.parametrize(
    ("case", "reason"),
    [
        ("expired", "expired on"),
        ("revoked", "revoked on"),
        ("forged", "unknown token"),
        ("garbage", "malformed token"),
    ],
)
def test_bad_tokens_get_401_with_a_reason(
    client: TestClient, world: dict[str, str], case: str, reason: str
) -> None:
    token = {
        "forged": world["admin"][:-4] + "AAAA",
        "garbage": "letmein",
    }.get(case) or world[case]
    response = client.get("/api/v1/me", headers=bearer(token))
    assert response.status_code == 401
    assert response.headers["content-type"] == PROBLEM
    assert reason in response.json()["detail"]
    assert response.headers["www-authenticate"].startswith("Bearer")


def test_anonymous_callers_are_asked_to_authenticate(client: TestClient) -> None:
    response = client.get("/api/v1/tenants/school-1/staff")
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"
    assert client.get("/api/v1/tenants/school-1").status_code == 200  # public


def test_me_describes_a_token(client: TestClient, world: dict[str, str]) -> None:
    response = client.get("/api/v1/me", headers=bearer(world["viewer"]))
    assert response.status_code == 200
    assert response.json() == {
        "kind": "token",
        "name": "token viewer",
        "email": None,
        "status": None,
        "grants": [{"tenant": "school-1", "role": "viewer", "regions": []}],
    }


def test_revoking_a_token_takes_effect_at_once(
    client: TestClient, world: dict[str, str], clean_database: DatabaseUrls
) -> None:
    headers = bearer(world["admin"])
    assert client.get("/api/v1/tenants/school-1/staff", headers=headers).status_code == 200
    run_in_database(
        clean_database, lambda db: tokens.revoke_token(db, world["admin-id"], actor="t")
    )
    assert client.get("/api/v1/tenants/school-1/staff", headers=headers).status_code == 401
