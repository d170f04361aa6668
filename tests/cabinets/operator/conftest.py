"""The message world with a federal and a regional operator signed in (see
operator_world.py)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from starlette.testclient import TestClient

from cabinets.app import create_app
from tenancy.database import Database, DatabaseUrls
from tenancy.settings import Settings
from tests.cabinets.message_world import PASSWORD, World, open_world, seed_message_world
from tests.cabinets.operator.operator_world import (
    ADMIN,
    CANTEEN,
    OPERATOR,
    REGIONAL,
    seed_operators,
)
from tests.databases import run_in_database


@dataclass
class Desk:
    client: TestClient
    csrf: str

    def post(self, path: str, **form: Any) -> Any:
        return self.client.post(path, data={"csrf_token": self.csrf, **form},
                                follow_redirects=False)  # fmt: skip


@dataclass
class OperatorWorld:
    world: World
    operator: Desk
    regional: Desk
    admin: Desk
    urls: DatabaseUrls

    def run(self, work: Callable[[Database], Any]) -> Any:
        return run_in_database(self.urls, work)

    def queued(self, **changes: Any) -> dict[str, Any]:
        response = self.world.citizen.post("/api/v1/messages", json=CANTEEN | changes)
        assert response.status_code == 201, response.text
        receipt: dict[str, Any] = response.json()
        assert receipt["queued"], receipt
        return receipt


def _sign_in(client: TestClient, email: str) -> Desk:
    signed = client.post("/auth/sign-in", json={"email": email, "password": PASSWORD})
    assert signed.status_code == 200, signed.text
    return Desk(client, signed.json()["csrf_token"])


@pytest.fixture
def desk(
    settings: Settings, clean_database: DatabaseUrls, tenant_data: Callable[..., Any]
) -> Iterator[OperatorWorld]:
    seed_message_world(clean_database, tenant_data)
    run_in_database(clean_database, seed_operators)
    app = create_app(settings)
    for world in open_world(app):
        with TestClient(app) as federal, TestClient(app) as regional, TestClient(app) as admin:
            yield OperatorWorld(
                world, _sign_in(federal, OPERATOR[0]), _sign_in(regional, REGIONAL[0]),
                _sign_in(admin, ADMIN[0]), clean_database,
            )  # fmt: skip
