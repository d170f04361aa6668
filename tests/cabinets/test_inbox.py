"""The staff inbox: filters, search with Russian stemming, keyset pages that hold while new
messages arrive, counts, what an executor and another tenant's staff see, the supervisor's
roll-up, and parameters refused by name."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterable, Iterator
from contextlib import ExitStack
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import text
from starlette.applications import Starlette
from starlette.testclient import TestClient

from cabinets import openapi
from cabinets.app import create_app
from cabinets.messages import inbox_endpoints
from cabinets.messages.inbox.schemas import InboxCounts, InboxPage, InboxQuery, Rollup
from tenancy.accounts import service as accounts
from tenancy.database import Database, DatabaseUrls
from tenancy.settings import Settings
from tenancy.staff import service as staff
from tenancy.staff.schemas import StaffInput
from tests.cabinets.message_world import (
    PASSWORD,
    POTHOLE,
    Desk,
    World,
    open_world,
    seed_message_world,
)
from tests.databases import run_in_database

PROBLEM = "application/problem+json"
MOSCOW = ZoneInfo("Europe/Moscow")  # the seeded tenants' timezone
# People above the road service, besides the message world's staff.
OVERSEERS = {
    "region_supervisor": ("sup@region.example.ru", "Светлана Надзорова", "region", "supervisor"),
    "north_supervisor": ("sup@north.example.ru", "Николай Северов", "north", "supervisor"),
    "region_coordinator": ("coord@region.example.ru", "Ирина Областная", "region", "coordinator"),
}


def inbox_app(settings: Settings) -> Starlette:
    """The app with the inbox routes in front of the message routes (``/messages/counts``
    must not be taken for a message id)."""
    app = create_app(settings)
    app.router.routes[0:0] = inbox_endpoints.routes
    return app


@pytest.fixture
def world(
    settings: Settings, clean_database: DatabaseUrls, tenant_data: Callable[..., Any]
) -> Iterator[World]:
    seed_message_world(clean_database, tenant_data)

    async def overseers(db: Database) -> None:
        people = [StaffInput(email=e, name=n) for e, n, _, _ in OVERSEERS.values()]
        await staff.add_staff(db, people, actor="t")
        for email, _, tenant, role in OVERSEERS.values():
            await staff.grant_role(db, email, tenant, role, actor="t")
        await accounts.set_known_password(
            db, [e for e, _, _, _ in OVERSEERS.values()], PASSWORD, actor="t"
        )

    run_in_database(clean_database, overseers)
    app = inbox_app(settings)
    with ExitStack() as stack:
        for found in open_world(app):
            for role, (email, _, tenant, _) in OVERSEERS.items():
                client = stack.enter_context(TestClient(app))
                signed = client.post("/auth/sign-in", json={"email": email, "password": PASSWORD})
                assert signed.status_code == 200, signed.text
                found.desks[role] = Desk(client, signed.json()["csrf_token"], tenant)
            yield found


# --- helpers ---------------------------------------------------------------------------------


def urls_of(world: World) -> DatabaseUrls:
    urls: DatabaseUrls = world.citizen.app.state.database.urls  # type: ignore[attr-defined]
    return urls


def file_messages(world: World, tenant: str, drafts: list[dict[str, Any]]) -> list[str]:
    """Write messages straight into a tenant (the privileged path), as the workflow would have
    left them; each draft overrides the defaults. Returns their ids."""

    async def write(db: Database) -> list[str]:
        now = datetime.now(UTC)
        ids = []
        async with db.privileged_session() as session:
            tenant_id = (
                await session.execute(text("SELECT id FROM tenants WHERE slug = :s"), {"s": tenant})
            ).scalar_one()
            version = (
                await session.execute(
                    text("SELECT id FROM catalog_versions WHERE status = 'published'")
                )
            ).scalar_one()
            for n, draft in enumerate(drafts):
                row: dict[str, Any] = {
                    "id": uuid.uuid4(),
                    "number": f"26-{uuid.uuid4().int % 10**7:07d}",
                    "topic": "pothole",
                    "territory": "46701101",
                    "summary": f"Обращение {n}",
                    "body": f"Текст обращения номер {n}",
                    "status": "new",
                    "received_at": now - timedelta(minutes=n),
                    "stage_due_at": None,
                    "due_at": None,
                    "registration_number": None,
                    "assignee": None,
                    "reopened_count": 0,
                } | draft
                await session.execute(
                    text(
                        """
                        INSERT INTO messages (tenant_id, id, tracking_number, topic_code,
                            catalog_version_id, territory_code, summary, body, applicant,
                            consent_at, status, received_at, stage_due_at, due_at,
                            registration_number, assignee_id, reopened_count)
                        VALUES (:tenant, :id, :number, :topic, :version, :territory, :summary,
                            :body, CAST(:applicant AS jsonb), :received_at, :status,
                            :received_at, :stage_due_at, :due_at, :registration_number,
                            (SELECT id FROM users WHERE email = :assignee), :reopened_count)
                        """
                    ),
                    row
                    | {
                        "tenant": tenant_id,
                        "version": version,
                        "applicant": json.dumps({"name": "Иван Петров", "email": "i@x.ru"}),
                    },
                )
                ids.append(str(row["id"]))
        return ids

    ids: list[str] = run_in_database(urls_of(world), write)
    return ids


def user_id(world: World, email: str) -> str:
    async def find(db: Database) -> Any:
        async with db.public_session() as session:
            return (
                await session.execute(text("SELECT id FROM users WHERE email = :e"), {"e": email})
            ).scalar_one()

    return str(run_in_database(urls_of(world), find))


def listing(desk: Desk, tenant: str | None = None, **params: Any) -> dict[str, Any]:
    response = desk.client.get(f"/api/v1/tenants/{tenant or desk.tenant}/messages", params=params)
    assert response.status_code == 200, response.text
    found: dict[str, Any] = response.json()
    return found


def summaries(desk: Desk, tenant: str | None = None, **params: Any) -> list[str]:
    return [m["summary"] for m in listing(desk, tenant, **params)["items"]]


def walk(desk: Desk, between: Callable[[], None] | None = None, **params: Any) -> list[Any]:
    """Every page in turn; ``between`` runs after each page (new messages arriving)."""
    items: list[Any] = []
    cursor = None
    for _ in range(100):
        page = listing(desk, **params, **({"cursor": cursor} if cursor else {}))
        items += page["items"]
        cursor = page["next_cursor"]
        if cursor is None:
            return items
        if between is not None:
            between()
    raise AssertionError("the pages never ended")


def moment(value: str) -> datetime:
    return datetime.fromisoformat(value)


def refused(response: Any) -> set[str]:
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == PROBLEM
    return {e["field"] for e in response.json()["errors"]}


# The road service's desk: one message of each kind the filters tell apart.
def file_desk(world: World) -> dict[str, str]:
    now = datetime.now(UTC)
    drafts: dict[str, dict[str, Any]] = {
        "new, due soon": {
            "received_at": now - timedelta(hours=1),
            "stage_due_at": now + timedelta(days=2),
        },
        "registered, overdue": {
            "status": "registered",
            "topic": "snow",
            "territory": "46701102",
            "received_at": now - timedelta(hours=2),
            "due_at": now - timedelta(days=1),
            "registration_number": "7/2026",
        },
        "assigned to the executor": {
            "status": "assigned",
            "received_at": now - timedelta(hours=3),
            "due_at": now + timedelta(days=10),
            "registration_number": "8/2026",
            "assignee": "exec@roads.example.ru",
        },
        "assigned to the other, due soon": {
            "status": "assigned",
            "territory": "46702101",
            "received_at": now - timedelta(hours=4),
            "due_at": now + timedelta(days=1),
            "registration_number": "9/2026",
            "assignee": "exec2@roads.example.ru",
        },
        "clarification": {
            "status": "clarification",
            "received_at": now - timedelta(hours=5),
            "stage_due_at": now - timedelta(days=1),  # the citizen's time, not staff's
        },
        "reopened": {
            "status": "registered",
            "received_at": now - timedelta(days=10),
            "due_at": now + timedelta(days=20),
            "registration_number": "3/2026",
            "reopened_count": 1,
        },
        "closed long ago": {
            "status": "closed",
            "received_at": now - timedelta(days=40),
            "due_at": now - timedelta(days=10),
            "registration_number": "1/2026",
            "reopened_count": 1,
        },
    }
    ids = file_messages(world, "north-roads", [d | {"summary": name} for name, d in drafts.items()])
    return dict(zip(drafts, ids, strict=True))


NEWEST_FIRST = [
    "new, due soon",
    "registered, overdue",
    "assigned to the executor",
    "assigned to the other, due soon",
    "clarification",
    "reopened",
    "closed long ago",
]


# --- tests -----------------------------------------------------------------------------------


def test_the_inbox_lists_newest_first_and_filters_by_every_parameter(world: World) -> None:
    ids = file_desk(world)
    desk = world.desks["coordinator"]
    page = listing(desk)
    assert [m["summary"] for m in page["items"]] == NEWEST_FIRST
    assert page["next_cursor"] is None
    first = {m["summary"]: m for m in page["items"]}
    assert first["registered, overdue"] | {
        "received_at": None,
        "updated_at": None,
        "due_at": None,
    } == {
        "id": ids["registered, overdue"],
        "number": first["registered, overdue"]["number"],
        "registration_number": "7/2026",
        "status": "registered",
        "version": 1,
        "topic": "snow",
        "territory": "46701102",
        "summary": "registered, overdue",
        "address": None,
        "applicant_name": "Иван Петров",
        "received_at": None,
        "updated_at": None,
        "due_at": None,
        "stage_due_at": None,
        "sla": "overdue",
        "assignee_id": None,
        "reopened_count": 0,
        "rank": None,
    }
    assert {name: m["sla"] for name, m in first.items()} == {
        "new, due soon": "due_soon",
        "registered, overdue": "overdue",
        "assigned to the executor": None,
        "assigned to the other, due soon": "due_soon",
        "clarification": None,
        "reopened": None,
        "closed long ago": None,
    }

    assert summaries(desk, status="registered") == ["registered, overdue", "reopened"]
    both = ["registered, overdue", "reopened", "closed long ago"]
    assert summaries(desk, status=["registered", "closed"]) == both
    assert summaries(desk, status="registered,closed") == both
    assert summaries(desk, topic="snow") == ["registered, overdue"]
    assert summaries(desk, territory="46701102") == ["registered, overdue"]
    # A territory takes in everything under it.
    assert "assigned to the other, due soon" not in summaries(desk, territory="46701000")
    assert len(summaries(desk, territory="46701000")) == 6
    assert summaries(desk, territory="46702000") == ["assigned to the other, due soon"]
    executor_id = user_id(world, "exec@roads.example.ru")
    assert summaries(desk, assignee=executor_id) == ["assigned to the executor"]
    assert summaries(desk, assignee="me") == []
    assert summaries(desk, overdue="true") == ["registered, overdue"]
    assert summaries(desk, due_soon="true") == ["new, due soon", "assigned to the other, due soon"]
    assert summaries(desk, reopened="true") == ["reopened"]
    assert summaries(desk, status="assigned", due_soon="true") == [
        "assigned to the other, due soon"
    ]
    assert summaries(desk, number="7/2026") == ["registered, overdue"]
    tracking = first["assigned to the executor"]["number"]
    assert summaries(desk, number=tracking) == ["assigned to the executor"]
    five_days_ago = (datetime.now(MOSCOW) - timedelta(days=5)).date()
    assert summaries(desk, received_from=five_days_ago.isoformat()) == NEWEST_FIRST[:5]
    assert summaries(desk, received_to=five_days_ago.isoformat()) == NEWEST_FIRST[5:]
    today = datetime.now(MOSCOW).date().isoformat()
    assert summaries(desk, received_from="2020-01-01", received_to=today) == NEWEST_FIRST

    # By deadline: the running ones soonest first, then the rest newest first.
    assert summaries(desk, sort="due") == [
        "registered, overdue",
        "assigned to the other, due soon",
        "new, due soon",
        "assigned to the executor",
        "reopened",
        "clarification",
        "closed long ago",
    ]
    assert summaries(desk, sort="due", status=["closed", "assigned"]) == [
        "assigned to the other, due soon",
        "assigned to the executor",
        "closed long ago",
    ]


def test_a_message_submitted_by_a_citizen_shows_in_the_inbox(world: World) -> None:
    # Snow needs no photo; the district (north) answers it, its supervisor reads its inbox.
    receipt = world.submit(topic="snow", summary="Не убран снег у дома 5")
    desk = world.desks["north_supervisor"]
    [line] = listing(desk, "north")["items"]
    assert (line["number"], line["status"], line["topic"]) == (receipt["number"], "new", "snow")
    assert line["summary"] == "Не убран снег у дома 5"
    assert (line["address"], line["applicant_name"]) == (POTHOLE["address"], "Иван Петров")
    assert line["stage_due_at"] is not None
    assert listing(desk, "north", number=receipt["number"])["items"] == [line]
    assert listing(world.desks["coordinator"])["items"] == []


def test_search_finds_russian_word_forms_and_ranks_the_summary_first(world: World) -> None:
    file_messages(
        world,
        "north-roads",
        [
            {"summary": "Яма на дороге", "body": "Большие ямы у школы, дети падают"},
            {
                "summary": "Освещение",
                "body": "Во дворе темно, фонари не горят, а на въезде яма",
                "status": "closed",
            },
            {"summary": "Мусор", "body": "Контейнеры переполнены вторую неделю"},
        ],
    )
    file_messages(world, "river", [{"summary": "Яма у реки", "body": "Яма на набережной"}])
    desk = world.desks["coordinator"]
    for words in ("яма", "ямы", "ямой", "ЯМУ"):
        found = listing(desk, q=words)["items"]
        assert [m["summary"] for m in found] == ["Яма на дороге", "Освещение"], words
        assert found[0]["rank"] > found[1]["rank"] > 0
    assert summaries(desk, q="фонарь") == ["Освещение"]
    assert summaries(desk, q="контейнер переполнен") == ["Мусор"]
    assert summaries(desk, q='"ямы у школы"') == ["Яма на дороге"]
    assert summaries(desk, q="яма -школа") == ["Освещение"]
    either = summaries(desk, q="яма OR мусор")
    assert (either[0], sorted(either[1:])) == ("Яма на дороге", ["Мусор", "Освещение"])
    assert summaries(desk, q="яма", status="closed") == ["Освещение"]
    assert summaries(desk, q="яма", sort="received") == ["Яма на дороге", "Освещение"]
    assert summaries(desk, q="ураган") == []
    assert summaries(desk, q="и") == []  # only a stop word: nothing to look for
    # Another tenant's message never shows, and theirs sees only their own.
    assert summaries(world.desks["river"], q="яма") == ["Яма у реки"]


def test_pages_return_every_message_once_in_order_while_new_ones_arrive(world: World) -> None:
    start = datetime.now(UTC) - timedelta(hours=1)
    statuses = ["new", "registered", "assigned", "closed", "answered"]
    drafts: list[dict[str, Any]] = []
    for n in range(60):
        status = statuses[n % len(statuses)]
        drafts.append(
            {
                "summary": f"Яма номер {n}" if n % 4 else f"Яма, снова яма и ещё яма {n}",
                "status": status,
                # Three messages share each moment: the id breaks the tie.
                "received_at": start - timedelta(minutes=n // 3),
                "stage_due_at": start + timedelta(days=n % 7) if status == "new" else None,
                "due_at": start + timedelta(hours=n % 9) if status != "new" else None,
            }
        )
    ids = file_messages(world, "north-roads", drafts)
    known = {i: d | {"id": uuid.UUID(i)} for i, d in zip(ids, drafts, strict=True)}
    arrivals = iter(range(1000))

    def new_messages_arrive() -> None:
        n = next(arrivals)
        now = datetime.now(UTC)
        new = [
            {"summary": f"Новая яма {n}", "status": "registered", "received_at": now,
             "stage_due_at": None, "due_at": start - timedelta(days=1)},
            {"summary": f"Новая яма {n}б", "status": "new", "received_at": now,
             "stage_due_at": start, "due_at": None},
        ]  # fmt: skip
        for i, draft in zip(file_messages(world, "north-roads", new), new, strict=True):
            known[i] = draft | {"id": uuid.UUID(i)}

    def newest_first(statuses: Iterable[str] = statuses) -> list[str]:
        chosen = [d for d in known.values() if d["status"] in statuses]
        return [str(d["id"]) for d in sorted(chosen, key=newest, reverse=True)]

    def newest(d: dict[str, Any]) -> tuple[datetime, uuid.UUID]:
        return d["received_at"], d["id"]

    def deadline(d: dict[str, Any]) -> datetime | None:
        if d["status"] in ("closed", "answered"):
            return None
        due: datetime | None = d["due_at"] or d["stage_due_at"]
        return due

    desk = world.desks["coordinator"]
    expected = newest_first()
    walked = walk(desk, new_messages_arrive, limit=7)
    assert [m["id"] for m in walked] == expected  # those that came meanwhile wait above

    # Several statuses: each is paged on its own index range, the pages merged.
    expected = newest_first({"registered", "closed", "answered"})
    walked = walk(desk, new_messages_arrive, limit=6, status=["registered", "closed", "answered"])
    assert [m["id"] for m in walked] == expected

    # By deadline: soonest first, then those without one newest first; whatever arrives
    # meanwhile, every message that was there shows once.
    def soonest(d: dict[str, Any]) -> tuple[datetime, uuid.UUID]:
        due = deadline(d)
        assert due is not None
        return due, d["id"]

    running = sorted((d for d in known.values() if deadline(d)), key=soonest)
    rest = sorted((d for d in known.values() if not deadline(d)), key=newest, reverse=True)
    expected = [str(d["id"]) for d in running + rest]
    walked = walk(desk, new_messages_arrive, limit=8, sort="due")
    assert [m["id"] for m in walked if m["id"] in expected] == expected
    assert len({m["id"] for m in walked}) == len(walked)

    # By relevance: best first, then newest; every match once.
    expected = list(known)
    walked = walk(desk, new_messages_arrive, limit=4, q="яма")
    assert sorted(m["id"] for m in walked if m["id"] in expected) == sorted(expected)
    assert len({m["id"] for m in walked}) == len(walked)
    keys = [(m["rank"], moment(m["received_at"]), uuid.UUID(m["id"])) for m in walked]
    assert keys == sorted(keys, reverse=True)
    assert keys[0][0] > keys[-1][0]


def test_counts_per_status_and_deadline_and_an_executor_sees_only_their_own(
    world: World,
) -> None:
    file_desk(world)
    response = world.desks["coordinator"].client.get("/api/v1/tenants/north-roads/messages/counts")
    assert response.status_code == 200, response.text
    counts = response.json()
    assert counts == {
        "tenant": "north-roads",
        "own_only": False,
        "statuses": {
            "new": 1,
            "clarification": 1,
            "rejected": 0,
            "registered": 2,
            "assigned": 2,
            "on_approval": 0,
            "answered": 0,
            "closed": 1,
            "forwarded": 0,
            "merged": 0,
        },
        "total": 7,
        "overdue": 1,
        "due_soon": 2,
        "reopened": 1,
    }

    executor = world.desks["executor"]
    assert summaries(executor) == ["assigned to the executor"]
    assert summaries(executor, assignee="me") == ["assigned to the executor"]
    assert summaries(executor, status="registered") == []
    assert summaries(executor, sort="due") == ["assigned to the executor"]
    # Every body says "обращения": only the executor's own message is found.
    assert summaries(executor, q="обращения") == ["assigned to the executor"]
    mine = executor.client.get("/api/v1/tenants/north-roads/messages/counts").json()
    assert (mine["own_only"], mine["total"], mine["statuses"]["assigned"]) == (True, 1, 1)
    assert (mine["overdue"], mine["due_soon"], mine["reopened"]) == (0, 0, 0)
    other = world.desks["other_executor"]
    assert summaries(other) == ["assigned to the other, due soon"]
    theirs = other.client.get("/api/v1/tenants/north-roads/messages/counts").json()
    assert (theirs["total"], theirs["due_soon"]) == (1, 1)


def test_another_tenants_staff_are_refused_and_see_nothing(world: World) -> None:
    file_desk(world)
    [river_message] = file_messages(world, "river", [{"summary": "Яма у реки"}])
    river = world.desks["river"]
    for path in ("messages", "messages/counts", "messages/rollup"):
        response = river.client.get(f"/api/v1/tenants/north-roads/{path}")
        assert response.status_code == 403, path
        assert response.headers["content-type"] == PROBLEM
        assert "Яма" not in response.text
    assert [m["id"] for m in listing(river)["items"]] == [river_message]
    assert river.client.get("/api/v1/tenants/river/messages/counts").json()["total"] == 1
    assert river.client.get("/api/v1/tenants/nowhere/messages").status_code == 404
    assert world.citizen.get("/api/v1/tenants/north-roads/messages").status_code == 401

    # In the database too: the search function answers only within the transaction's tenants.
    async def search_as(db: Database, scope: str, asked: str) -> int:
        async with db.public_session() as session:
            found = await session.execute(text("SELECT slug, id FROM tenants"))
            ids = {slug: tenant_id for slug, tenant_id in found}
        async with db.tenant_session([ids[scope]]) as session:
            found = await session.execute(
                text(
                    "SELECT count(*) FROM message_search(:t, "
                    "websearch_to_tsquery('russian', 'обращение'))"
                ),
                {"t": ids[asked]},
            )
            return int(found.scalar_one())

    urls = urls_of(world)
    assert run_in_database(urls, lambda db: search_as(db, "north-roads", "north-roads")) == 7
    assert run_in_database(urls, lambda db: search_as(db, "river", "north-roads")) == 0


def test_the_rollup_counts_each_tenant_of_the_subtree_the_caller_may_read(
    world: World,
) -> None:
    now = datetime.now(UTC)
    file_messages(
        world,
        "north-roads",
        [
            {"status": "new", "stage_due_at": now + timedelta(days=5)},
            {"status": "registered", "due_at": now - timedelta(hours=1)},
            {"status": "closed"},
        ],
    )
    file_messages(world, "north", [{"status": "registered", "due_at": now + timedelta(days=2)}])
    file_messages(world, "river", [{"status": "new"}, {"status": "new", "reopened_count": 1}])
    file_messages(world, "region", [{"status": "rejected"}])

    def rollup(role: str, tenant: str) -> Any:
        return world.desks[role].client.get(f"/api/v1/tenants/{tenant}/messages/rollup")

    response = rollup("region_supervisor", "region")
    assert response.status_code == 200, response.text
    found = response.json()
    assert found["root"] == "region"
    rows = [
        (t["tenant"], t["parent"], t["depth"], t["total"], t["overdue"], t["due_soon"])
        for t in found["tenants"]
    ]
    assert rows == [
        ("region", None, 0, 1, 0, 0),
        ("north", "region", 1, 1, 0, 1),
        ("north-roads", "north", 2, 3, 1, 0),
        ("river", "region", 1, 2, 0, 0),
    ]
    by_tenant = {t["tenant"]: t for t in found["tenants"]}
    roads = by_tenant["north-roads"]["statuses"]
    assert {s: n for s, n in roads.items() if n} == {"new": 1, "registered": 1, "closed": 1}
    assert by_tenant["region"]["statuses"]["rejected"] == 1
    assert by_tenant["river"]["reopened"] == 0  # a new message is not being reviewed again
    totals = found["totals"]
    assert (totals["total"], totals["overdue"], totals["due_soon"]) == (7, 1, 1)
    assert (totals["statuses"]["new"], totals["statuses"]["registered"]) == (3, 2)

    north = rollup("north_supervisor", "north").json()
    assert [t["tenant"] for t in north["tenants"]] == ["north", "north-roads"]
    assert rollup("north_supervisor", "region").status_code == 403
    # A coordinator of the region reads reports there, not in the tenants below it.
    region_only = rollup("region_coordinator", "region").json()
    assert [t["tenant"] for t in region_only["tenants"]] == ["region"]
    assert [t["tenant"] for t in rollup("coordinator", "north-roads").json()["tenants"]] == [
        "north-roads"
    ]
    assert rollup("executor", "north-roads").status_code == 403
    # The supervisor also works each inbox below.
    assert len(summaries(world.desks["region_supervisor"], "north-roads")) == 3


def test_bad_parameters_are_refused_naming_each(world: World) -> None:
    desk = world.desks["coordinator"]

    def get(**params: Any) -> Any:
        return desk.client.get("/api/v1/tenants/north-roads/messages", params=params)

    assert refused(get(limit=0)) == {"limit"}
    assert refused(get(limit=101)) == {"limit"}
    assert refused(get(limit="many")) == {"limit"}
    assert refused(get(status="lost")) == {"status"}
    assert "unknown status 'lost'" in get(status="lost").text
    assert refused(get(sort="oldest")) == {"sort"}
    assert refused(get(sort="relevance")) == {"sort"}
    assert refused(get(overdue="perhaps")) == {"overdue"}
    assert refused(get(assignee="somebody")) == {"assignee"}
    assert refused(get(received_from="yesterday")) == {"received_from"}
    assert refused(get(received_from="2026-05-02", received_to="2026-05-01")) == {"received_to"}
    assert refused(get(territory="north")) == {"territory"}
    assert refused(get(territory="99000000")) == {"territory"}
    assert refused(get(topic="no such topic")) == {"topic"}
    assert refused(get(q="я" * 201)) == {"q"}
    assert refused(get(q="   ")) == {"q"}
    assert refused(get(limit=5, lmit=5)) == {"lmit"}
    assert refused(get(cursor="not-a-cursor")) == {"cursor"}
    assert refused(get(cursor="eyJzIjoicmVjZWl2ZWQifQ")) == {"cursor"}  # {"s":"received"}
    assert refused(desk.client.get("/api/v1/tenants/north-roads/messages?limit=5&limit=6")) == {
        "limit"
    }
    assert refused(get(limit=0, status="lost")) == {"limit", "status"}
    # A cursor pages the order it was given for.
    file_messages(world, "north-roads", [{}, {}, {}])
    cursor = listing(desk, limit=1)["next_cursor"]
    assert cursor
    assert refused(get(cursor=cursor, sort="due")) == {"cursor"}
    assert len(listing(desk, limit=1, cursor=cursor)["items"]) == 1
    counts = desk.client.get("/api/v1/tenants/north-roads/messages/counts?status=new")
    assert refused(counts) == {"status"}


def test_the_inbox_routes_document_themselves() -> None:
    document = openapi.build_openapi(inbox_endpoints.routes, "test")
    paths = document["paths"]
    listed = paths["/api/v1/tenants/{slug}/messages"]["get"]
    assert listed["tags"] == ["inbox"]
    names = {p["name"] for p in listed["parameters"]}
    assert names == {"slug", *InboxQuery.model_fields}
    for path in ("counts", "rollup"):
        assert paths[f"/api/v1/tenants/{{slug}}/messages/{path}"]["get"]["tags"] == ["inbox"]
    refs = {
        schema["$ref"].rsplit("/", 1)[1]
        for operation in (p["get"] for p in paths.values())
        for response in operation["responses"].values()
        for content in response.get("content", {}).values()
        for schema in [content["schema"]]
    }
    registered = {m.__name__ for m in (InboxPage, InboxCounts, Rollup)}
    assert refs == registered | {"Problem"}
