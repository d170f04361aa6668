"""An integration works messages with an API token: a document-management system pulls what
changed since its last pull, reads the card and its files, posts the answer back, and the
history signs each step with the integration's name, never a person's."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import text
from starlette.testclient import TestClient

from cabinets.app import create_app
from tenancy.database import Database, DatabaseUrls
from tenancy.settings import Settings
from tenancy.staff import roles
from tenancy.staff import tokens as api_tokens
from tests.cabinets.message_world import World, ok, open_world, seed_message_world
from tests.databases import run_in_database

# What a document-management system needs: read everything, draft and approve answers.
EDMS_PERMISSIONS = ["message:read", "answer:draft", "answer:approve", "report:read"]


@dataclass
class Integration:
    world: World
    tokens: dict[str, str]  # by name: the plaintext
    urls: DatabaseUrls

    def call(self, method: str, path: str, token: str = "edms", **kwargs: Any) -> Any:  # noqa: S107
        client: TestClient = self.world.citizen  # no session: the token alone speaks
        headers = {"Authorization": f"Bearer {self.tokens[token]}"}
        return client.request(method, path, headers=headers, **kwargs)


@pytest.fixture
def integration(
    settings: Settings, clean_database: DatabaseUrls, tenant_data: Callable[..., Any]
) -> Iterator[Integration]:
    seed_message_world(clean_database, tenant_data)

    async def issue(db: Database) -> dict[str, str]:
        await roles.define_role(
            db, "north-roads", "edms", EDMS_PERMISSIONS, description="СЭД", actor="t"
        )
        made = {}
        for name, role in (("edms", "edms"), ("executor", "executor"), ("revoked", "viewer")):
            created = await api_tokens.create_token(
                db, "north-roads", role, name=name, expires_at=None, actor="t"
            )
            made[name], made[f"{name}-id"] = created.token, created.id
        await api_tokens.revoke_token(db, made["revoked-id"], actor="t")
        return made

    tokens = run_in_database(clean_database, issue)
    for world in open_world(create_app(settings)):
        yield Integration(world, tokens, clean_database)


def listed(response: Any) -> list[dict[str, Any]]:
    """The JSON list of a 200 answer."""
    assert response.status_code == 200, response.text
    found: list[dict[str, Any]] = response.json()
    return found


def _assigned(integration: Integration) -> dict[str, Any]:
    """A message registered and assigned to the executor by people."""
    desks = integration.world.desks
    message = integration.world.message_of(integration.world.submit())
    message = ok(desks["moderator"].act(message, "accept"))
    return ok(desks["coordinator"].act(message, "assign", executor="exec@roads.example.ru"))


def _signatures(integration: Integration, message_id: str) -> list[tuple[str, str, Any, Any]]:
    async def read(db: Database) -> list[tuple[str, str, Any, Any]]:
        async with db.privileged_session() as session:
            rows = await session.execute(
                text(
                    "SELECT kind, actor_kind, actor_name, actor_id FROM message_events "
                    "WHERE message_id = :m ORDER BY id"
                ),
                {"m": message_id},
            )
            return [tuple(row) for row in rows]

    found: list[tuple[str, str, Any, Any]] = run_in_database(integration.urls, read)
    return found


def test_an_integration_pulls_changes_reads_the_card_and_posts_the_answer_back(
    integration: Integration,
) -> None:
    since = (datetime.now(UTC) - timedelta(seconds=1)).isoformat()
    message = _assigned(integration)
    base = "/api/v1/tenants/north-roads/messages"

    pulled = ok(integration.call("GET", base, params={"updated_since": since, "sort": "updated"}))
    assert [item["id"] for item in pulled["items"]] == [message["id"]]
    card = ok(integration.call("GET", f"{base}/{message['id']}"))
    assert card["status"] == "assigned"
    files = listed(integration.call("GET", f"{base}/{message['id']}/files"))
    assert [f["purpose"] for f in files] == ["request"]

    posted = integration.call(
        "POST",
        f"{base}/{message['id']}/submit-answer",
        json={"version": card["version"], "text": "Яма заделана 3 декабря."},
    )
    answered = ok(
        integration.call(
            "POST",
            f"{base}/{message['id']}/approve-answer",
            json={"version": ok(posted)["version"]},
        )
    )
    assert answered["status"] == "answered"

    steps = _signatures(integration, message["id"])
    assert steps[-2:] == [
        ("submit_answer", "integration", "token edms", None),
        ("approve_answer", "integration", "token edms", None),
    ]

    later = ok(
        integration.call(
            "GET",
            base,
            params={"updated_since": pulled["items"][-1]["updated_at"], "sort": "updated"},
        )
    )
    assert [item["status"] for item in later["items"]] == ["answered"]


def test_pulling_by_updated_pages_by_keyset_and_a_change_meanwhile_comes_again(
    integration: Integration,
) -> None:
    world = integration.world
    since = (datetime.now(UTC) - timedelta(seconds=1)).isoformat()
    first, second, third = (world.message_of(world.submit()) for _ in range(3))
    base = "/api/v1/tenants/north-roads/messages"
    query = {"updated_since": since, "sort": "updated", "limit": 2}
    page = ok(integration.call("GET", base, params=query))
    assert [m["id"] for m in page["items"]] == [first["id"], second["id"]]
    ok(world.desks["moderator"].act(first, "accept"))  # changed while the pull pages on
    rest = ok(integration.call("GET", base, params=query | {"cursor": page["next_cursor"]}))
    assert [m["id"] for m in rest["items"]] == [third["id"], first["id"]]
    assert [m["status"] for m in rest["items"]] == ["new", "registered"]
    assert rest["next_cursor"] is None


def test_updated_since_needs_a_moment_with_its_offset(integration: Integration) -> None:
    refused = integration.call(
        "GET", "/api/v1/tenants/north-roads/messages", params={"updated_since": "2026-12-01T10:00"}
    )
    assert refused.status_code == 422
    assert refused.json()["errors"][0]["field"] == "updated_since"


def test_the_citizen_sees_the_organization_answer_not_a_person_for_an_integrations_step(
    integration: Integration,
) -> None:
    receipt = integration.world.submit()
    message = integration.world.message_of(receipt)
    base = f"/api/v1/tenants/north-roads/messages/{message['id']}"
    message = ok(integration.world.desks["moderator"].act(message, "accept"))
    message = ok(
        integration.world.desks["coordinator"].act(
            message, "assign", executor="exec@roads.example.ru"
        )
    )
    message = ok(
        integration.call(
            "POST", f"{base}/submit-answer", json={"version": message["version"], "text": "Готово."}
        )
    )
    ok(integration.call("POST", f"{base}/approve-answer", json={"version": message["version"]}))
    answered = integration.world.timeline(receipt)["entries"][-1]
    assert answered["title"] == "Рассмотрено"
    assert answered["official"] is None
    assert answered["organization"] == "Organization north-roads"


def test_an_executor_role_reaches_nothing_through_a_token(integration: Integration) -> None:
    message = _assigned(integration)
    base = "/api/v1/tenants/north-roads/messages"
    assert integration.call("GET", base, token="executor").status_code == 403
    assert integration.call("GET", f"{base}/{message['id']}", token="executor").status_code == 404
    drafted = integration.call(
        "POST",
        f"{base}/{message['id']}/save-answer",
        token="executor",
        json={"version": message["version"], "text": "Черновик"},
    )
    assert drafted.status_code == 404


def test_a_token_of_one_organization_finds_nothing_of_another(integration: Integration) -> None:
    world = integration.world
    receipt = world.submit()
    message = ok(world.desks["moderator"].act(world.message_of(receipt), "accept"))
    ok(world.desks["coordinator"].act(message, "forward", tenant="river", reason="Не наша дорога"))
    river = world.message_of(receipt, "river")
    for path in (
        f"/api/v1/tenants/river/messages/{river['id']}",
        f"/api/v1/tenants/north-roads/messages/{river['id']}",
        f"/api/v1/tenants/river/messages/{river['id']}/files",
        "/api/v1/tenants/river/messages",
        "/api/v1/tenants/river/reports/messages",
    ):
        assert integration.call("GET", path).status_code == 404, path
    acted = integration.call(
        "POST",
        f"/api/v1/tenants/river/messages/{river['id']}/comment",
        json={"version": river["version"], "text": "чужое"},
    )
    assert acted.status_code == 404


def test_a_revoked_token_is_refused_with_401(integration: Integration) -> None:
    refused = integration.call("GET", "/api/v1/tenants/north-roads/messages", token="revoked")
    assert refused.status_code == 401
    assert "revoked" in refused.json()["detail"]


def test_a_token_reads_its_organizations_reports(integration: Integration) -> None:
    _assigned(integration)
    rows = listed(integration.call("GET", "/api/v1/tenants/north-roads/reports/messages"))
    assert sum(row["total"] for row in rows) == 1
