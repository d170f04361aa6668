"""The message world with a federal operator signed in, and the road service's `*` rule for
the whole region removed, so that some topics have nobody answering them (school meals in the
northern district: the queue's case)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import text
from starlette.testclient import TestClient

from cabinets.app import create_app
from tenancy.accounts import service as accounts
from tenancy.database import Database, DatabaseUrls
from tenancy.routing import rules
from tenancy.settings import Settings
from tenancy.staff import service as staff
from tenancy.staff.schemas import StaffInput
from tests.cabinets.message_world import PASSWORD, World, open_world, seed_message_world
from tests.databases import run_in_database

OPERATOR = ("operator@priemnaya.example.ru", "Ольга Операторова")
REGIONAL = ("north-operator@priemnaya.example.ru", "Никита Северов")
CANTEEN = {
    "topic": "canteen",
    "territory": "46701101",
    "address": "ул. Школьная, 1",
    "summary": "Холодный обед в школе",
    "text": "Третий день в школе посёлка Северный подают холодный обед.",
    "applicant": {"name": "Ирина Смирнова", "email": "irina@mail.example.ru"},
    "consent": True,
}


async def seed_operators(db: Database) -> None:
    """A federal operator, and a regional one for the northern district; the region's `*`
    rule removed."""
    await staff.add_staff(db, [StaffInput(email=e, name=n) for e, n in (OPERATOR, REGIONAL)],
                          actor="t")  # fmt: skip
    await staff.grant_role(db, OPERATOR[0], "platform", "operator", actor="t")
    await staff.grant_role(
        db, REGIONAL[0], "platform", "regional_operator", regions=["46701000"], actor="t"
    )
    await accounts.set_known_password(db, [OPERATOR[0], REGIONAL[0]], PASSWORD, actor="t")
    async with db.privileged_session() as session:
        everything = (
            await session.execute(text("SELECT id FROM routing_rules WHERE topic = '*'"))
        ).scalar_one()
    await rules.remove_rule(db, everything, actor="t")


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
        with TestClient(app) as federal, TestClient(app) as regional:
            yield OperatorWorld(
                world, _sign_in(federal, OPERATOR[0]), _sign_in(regional, REGIONAL[0]),
                clean_database,
            )  # fmt: skip
