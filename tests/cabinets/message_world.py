"""A region whose road service has a full staff, each person signed in through the API, and a
citizen who writes in: shared by the message tests."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import text
from starlette.testclient import TestClient

from tenancy.accounts import service as accounts
from tenancy.database import Database, DatabaseUrls
from tenancy.staff import service as staff
from tenancy.staff.schemas import StaffInput
from tests.databases import run_in_database
from tests.storage.samples import jpeg_with_gps
from tests.tenancy.routing_world import seed_routing_region

PASSWORD = "a long staff password"
# Who works where: the road service (north-roads) answers potholes in the northern settlement.
STAFF = {
    "moderator": ("mod@roads.example.ru", "Мария Модерова", "north-roads", "moderator"),
    "coordinator": ("coord@roads.example.ru", "Константин Коорд", "north-roads", "coordinator"),
    "executor": ("exec@roads.example.ru", "Евгений Исполнев", "north-roads", "executor"),
    "approver": ("boss@roads.example.ru", "Анна Начальникова", "north-roads", "approver"),
    "other_executor": ("exec2@roads.example.ru", "Олег Другов", "north-roads", "executor"),
    "river": ("coord@river.example.ru", "Роман Речной", "river", "coordinator"),
    "supervisor": ("head@region.example.ru", "Светлана Главная", "region", "supervisor"),
    "admin": ("admin@roads.example.ru", "Алла Админова", "north-roads", "admin"),
}
POTHOLE = {
    "topic": "pothole",
    "territory": "46701101",
    "address": "посёлок Северный, ул. Лесная, 5",
    "summary": "Яма на дороге у дома 5",
    "text": "Глубокая яма на проезжей части у дома 5, машины объезжают по тротуару.",
    "applicant": {"name": "Иван Петров", "email": "ivan@mail.example.ru"},
    "consent": True,
}


def photo(
    client: TestClient, topic: str = "pothole", territory: str = "46701101"
) -> dict[str, str]:
    """Upload a photo for a message about to be sent; returns its reference for the message."""
    response = client.post(
        "/api/v1/uploads",
        params={"topic": topic, "territory": territory, "filename": "яма.jpg"},
        content=jpeg_with_gps(),
    )
    assert response.status_code == 201, response.text
    return {"id": response.json()["id"], "token": response.json()["token"]}


def pothole(client: TestClient, **changes: Any) -> dict[str, Any]:
    """A pothole report with its photo (the topic requires one)."""
    return POTHOLE | {"attachments": [photo(client)]} | changes


def seed_message_world(urls: DatabaseUrls, tenant_data: Callable[..., Any]) -> None:
    async def build(db: Database) -> None:
        await seed_routing_region(db, tenant_data)
        await staff.add_staff(
            db, [StaffInput(email=e, name=n) for e, n, _, _ in STAFF.values()], actor="t"
        )
        for email, _, tenant, role in STAFF.values():
            await staff.grant_role(db, email, tenant, role, actor="t")
        await accounts.set_known_password(
            db, [e for e, _, _, _ in STAFF.values()], PASSWORD, actor="t"
        )

    run_in_database(urls, build)


@dataclass
class Desk:
    """A signed-in person's browser: requests carry the session and the CSRF token."""

    client: TestClient
    csrf: str
    tenant: str

    def act(self, message: dict[str, Any], action: str, **body: Any) -> Any:
        return self.client.post(
            f"/api/v1/tenants/{self.tenant}/messages/{message['id']}/{action}",
            json={"version": message["version"], **body},
            headers={"X-CSRF-Token": self.csrf},
        )

    def get(self, message_id: str, tenant: str | None = None) -> Any:
        return self.client.get(f"/api/v1/tenants/{tenant or self.tenant}/messages/{message_id}")


@dataclass
class World:
    citizen: TestClient
    desks: dict[str, Desk] = field(default_factory=dict)

    def submit(self, **changes: Any) -> dict[str, Any]:
        payload = POTHOLE | changes
        if payload["topic"] == "pothole" and "attachments" not in changes:
            payload["attachments"] = [photo(self.citizen)]
        response = self.citizen.post("/api/v1/messages", json=payload)
        assert response.status_code == 201, response.text
        receipt: dict[str, Any] = response.json()
        return receipt

    def timeline(self, receipt: dict[str, Any]) -> dict[str, Any]:
        response = self.citizen.get(
            f"/api/v1/tracking/{receipt['number']}", params={"token": receipt["token"]}
        )
        assert response.status_code == 200, response.text
        found: dict[str, Any] = response.json()
        return found

    def message_of(self, receipt: dict[str, Any], desk: str = "moderator") -> dict[str, Any]:
        """The staff view of a citizen's message, found through the database's tracking."""
        return find_message(self.desks[desk], receipt["number"])


def ok(response: Any) -> dict[str, Any]:
    """The JSON of a 200 answer (the test fails with the body otherwise)."""
    assert response.status_code == 200, response.text
    found: dict[str, Any] = response.json()
    return found


def find_message(desk: Desk, number: str) -> dict[str, Any]:
    urls: DatabaseUrls = desk.client.app.state.database.urls  # type: ignore[attr-defined]

    async def lookup(db: Database) -> Any:
        async with db.public_session() as session:
            return (
                await session.execute(
                    text("SELECT holder_message_id FROM message_tracking WHERE number = :n"),
                    {"n": number},
                )
            ).scalar_one()

    message_id = run_in_database(urls, lookup)
    response = desk.get(str(message_id))
    assert response.status_code == 200, response.text
    found: dict[str, Any] = response.json()
    return found


def open_world(app: Any) -> Iterator[World]:
    with ExitStack() as stack:
        citizen = stack.enter_context(TestClient(app))
        world = World(citizen)
        for role, (email, _, tenant, _) in STAFF.items():
            client = stack.enter_context(TestClient(app))
            signed = client.post("/auth/sign-in", json={"email": email, "password": PASSWORD})
            assert signed.status_code == 200, signed.text
            world.desks[role] = Desk(client, signed.json()["csrf_token"], tenant)
        yield world
