"""The cabinet's inbox as staff use it without a browser: where people land after signing in,
the views and their counts (returned to me, unassigned, due within two working days…), the
filters in the URL, bulk actions reported per message, and the live feed of changes."""

from __future__ import annotations

import asyncio
import re
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from starlette.testclient import TestClient

from cabinets.messages.actors import Staff
from cabinets.messages.live import LiveMessages
from tenancy.accounts import service as accounts
from tenancy.database import Database
from tenancy.staff import service as staffing
from tenancy.staff.schemas import StaffInput
from tests.cabinets.message_world import PASSWORD, STAFF, World, ok
from tests.cabinets.test_inbox import file_desk, file_messages, listing, user_id
from tests.databases import run_in_database

ROADS = "/cabinet/north-roads"


def page(desk_client: TestClient, url: str, status: int = 200) -> str:
    response = desk_client.get(url)
    assert response.status_code == status, response.text
    assert response.headers["cache-control"] == "no-store"
    return response.text


def count(html: str, view: str) -> int:
    found = re.search(rf'data-count="{view}">(\d+)<', html)
    assert found, f"no count of {view}"
    return int(found.group(1))


def csrf(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found
    return found.group(1)


def registered(world: World, n: int) -> list[dict[str, Any]]:
    """``n`` citizens' messages, each accepted by the moderator."""
    done = []
    for k in range(n):
        message = world.message_of(world.submit(summary=f"Яма номер {k}"))
        done.append(ok(world.desks["moderator"].act(message, "accept")))
    return done


def test_people_land_by_what_they_are_after_signing_in_and_an_asked_page_wins(
    world: World,
) -> None:
    client = world.citizen  # a fresh browser: not signed in
    form = client.get("/auth/sign-in")
    email = STAFF["coordinator"][0]
    signed = client.post(
        "/auth/sign-in",
        data={"email": email, "password": PASSWORD, "csrf_token": csrf(form.text)},
        follow_redirects=False,
    )
    assert (signed.status_code, signed.headers["location"]) == (303, "/cabinet")
    home = page(client, "/cabinet")
    assert 'href="/cabinet/north-roads"' in home
    client.post("/auth/sign-out", data={"csrf_token": csrf(home)})
    form = client.get("/auth/sign-in?next=/cabinet/north-roads?view=new")
    signed = client.post(
        "/auth/sign-in",
        data={"email": email, "password": PASSWORD, "csrf_token": csrf(form.text),
              "next": "/cabinet/north-roads?view=new"},
        follow_redirects=False,
    )  # fmt: skip
    assert signed.headers["location"] == "/cabinet/north-roads?view=new"


def test_operators_land_on_their_pages_and_everyone_else_on_their_own_messages(
    world: World,
) -> None:
    operator, citizen = "op@platform.example.ru", "reader@mail.example.ru"

    async def people(db: Database) -> None:
        await staffing.add_staff(
            db, [StaffInput(email=operator, name="Ольга Операторова"),
                 StaffInput(email=citizen, name="Пётр Читатель")], actor="t",
        )  # fmt: skip
        await staffing.grant_role(db, operator, "platform", "operator", actor="t")
        await accounts.set_known_password(db, [operator, citizen], PASSWORD, actor="t")

    run_in_database(world.citizen.app.state.database.urls, people)  # type: ignore[attr-defined]
    for email, landing in ((operator, "/operator"), (citizen, "/my")):
        client = world.citizen
        client.cookies.clear()
        form = client.get("/auth/sign-in")
        signed = client.post(
            "/auth/sign-in",
            data={"email": email, "password": PASSWORD, "csrf_token": csrf(form.text)},
            follow_redirects=False,
        )
        assert (signed.status_code, signed.headers["location"]) == (303, landing)


def test_each_view_counts_and_lists_its_messages(world: World) -> None:
    ids = file_desk(world)
    coordinator = world.desks["coordinator"].client
    html = page(coordinator, ROADS)
    assert count(html, "all") == 7
    assert count(html, "new") == 1
    assert count(html, "unassigned") == 2  # the overdue registered one and the reopened one
    assert count(html, "approval") == 0
    assert count(html, "overdue") == 1
    assert count(html, "reopened") == 1
    # The topic filter offers what the road service answers, by title; not the whole catalog.
    assert '<option value="pothole">Яма на дороге</option>' in html
    assert "Питание в школе" not in html
    unassigned = page(coordinator, f"{ROADS}?view=unassigned")
    assert "registered, overdue" in unassigned
    assert "reopened" in unassigned
    assert "assigned to the executor" not in unassigned
    assert f"/cabinet/north-roads/messages/{ids['reopened']}" in unassigned
    # The row names the topic by its title and the executor by name, the deadline in words.
    assigned = page(coordinator, f"{ROADS}?status=assigned")
    assert "Евгений Исполнев" in assigned
    assert "Олег Другов" in assigned
    assert "раб. дн" in assigned
    overdue = page(coordinator, f"{ROADS}?view=overdue")
    assert "просрочено на 1 день" in overdue
    assert "due-overdue" in overdue
    executor = world.desks["executor"].client
    mine = page(executor, ROADS)
    assert count(mine, "all") == 1
    assert count(mine, "mine") == 1
    assert "assigned to the other" not in mine


def test_the_inbox_pages_by_keyset_keeping_the_view_and_its_filters(world: World) -> None:
    file_messages(world, "north-roads", [{"summary": f"Обращение {n:02d}"} for n in range(30)])
    coordinator = world.desks["coordinator"].client
    first = page(coordinator, f"{ROADS}?view=new&topic=pothole")
    found = re.search(r'<a href="([^"]+)" rel="next">', first)
    assert found
    following = found.group(1).replace("&amp;", "&")
    assert "view=new" in following
    assert "topic=pothole" in following
    second = page(coordinator, following)
    assert 'rel="next"' not in second
    assert "В начало списка" in second
    shown = re.findall(r"Обращение (\d\d)</a>", first + second)
    assert sorted(shown) == [f"{n:02d}" for n in range(30)]


def test_due_within_two_working_days_counts_working_days_in_the_tenants_calendar(
    world: World,
) -> None:
    now = datetime.now(UTC)
    file_messages(
        world,
        "north-roads",
        [
            {"status": "registered", "due_at": now + timedelta(hours=2), "summary": "today"},
            {"status": "registered", "due_at": now + timedelta(days=12), "summary": "later"},
            {"status": "registered", "due_at": now - timedelta(hours=2), "summary": "late"},
        ],
    )
    coordinator = world.desks["coordinator"]
    html = page(coordinator.client, f"{ROADS}?view=soon")
    assert count(html, "soon") == 1
    assert "today" in html
    assert "later" not in html
    assert "late<" not in html
    assert [m["summary"] for m in listing(coordinator, due_within=2)["items"]] == ["today"]


def test_returned_to_me_is_the_executors_answer_the_approver_sent_back(world: World) -> None:
    first, second = registered(world, 2)
    executor = STAFF["executor"][0]
    desks = world.desks
    first = ok(desks["coordinator"].act(first, "assign", executor=executor))
    second = ok(desks["coordinator"].act(second, "assign", executor=executor))
    first = ok(desks["executor"].act(first, "submit-answer", text="Яму заделаем до пятницы."))
    ok(desks["approver"].act(first, "return-answer", comment="Укажите точную дату."))
    html = page(desks["executor"].client, ROADS)
    assert count(html, "returned") == 1
    assert count(html, "mine") == 2
    returned = listing(desks["executor"], returned="true")["items"]
    assert [m["id"] for m in returned] == [first["id"]]
    # Unassigned, by the API's own parameter too.
    assert listing(desks["coordinator"], assignee="none")["items"] == []
    me = user_id(world, executor)
    assert {
        m["assignee_id"] for m in listing(desks["coordinator"], status="assigned")["items"]
    } == {me}


def test_a_bulk_assign_reports_each_message_done_or_why_not(world: World) -> None:
    ready = registered(world, 2)
    fresh = world.message_of(world.submit(summary="Ещё не зарегистрировано"))
    coordinator = world.desks["coordinator"].client
    html = page(coordinator, f"{ROADS}?view=all")
    picks = [f"{m['id']}:{m['version']}" for m in [*ready, fresh]]
    sent = coordinator.post(
        f"{ROADS}/bulk",
        data={"csrf_token": csrf(html), "action": "assign", "pick": picks,
              "executor": STAFF["executor"][0], "back": f"{ROADS}?view=all"},
        follow_redirects=False,
    )  # fmt: skip
    assert (sent.status_code, sent.headers["location"]) == (303, f"{ROADS}?view=all")
    shown = page(coordinator, f"{ROADS}?view=all")
    assert "Назначить: выполнено 2 из 3" in shown
    assert f"№ {fresh['number']} — в статусе «на модерации» так нельзя" in shown
    for message in ready:
        assert ok(world.desks["coordinator"].get(message["id"]))["status"] == "assigned"
    # Shown once: the next view of the inbox no longer reports it.
    assert "выполнено 2 из 3" not in page(coordinator, f"{ROADS}?view=all")


def test_a_bulk_action_on_a_message_someone_changed_meanwhile_leaves_it_alone(
    world: World,
) -> None:
    (message,) = registered(world, 1)
    coordinator = world.desks["coordinator"]
    html = page(coordinator.client, ROADS)
    moved = ok(coordinator.act(message, "assign", executor=STAFF["other_executor"][0]))
    coordinator.client.post(
        f"{ROADS}/bulk",
        data={"csrf_token": csrf(html), "action": "assign", "executor": STAFF["executor"][0],
              "pick": [f"{message['id']}:{message['version']}"]},
        follow_redirects=False,
    )  # fmt: skip
    shown = page(coordinator.client, ROADS)
    assert "выполнено 0 из 1" in shown
    assert "другой сотрудник изменил обращение раньше" in shown
    assert ok(coordinator.get(message["id"]))["version"] == moved["version"]


def test_registration_dates_filter_the_inbox_in_the_tenants_days(world: World) -> None:
    registered(world, 1)
    coordinator = world.desks["coordinator"].client
    today = datetime.now(UTC).date()
    shown = page(coordinator, f"{ROADS}?registered_from={today - timedelta(days=1)}")
    assert count(shown, "all") == 1
    assert "Яма номер 0" in shown
    later = page(coordinator, f"{ROADS}?registered_from={today + timedelta(days=2)}")
    assert "Яма номер 0" not in later
    backwards = page(
        coordinator,
        f"{ROADS}?registered_from={today}&registered_to={today - timedelta(days=3)}",
        422,
    )
    assert 'href="#f-registered_to"' in backwards


def test_a_bulk_action_the_person_may_not_do_is_refused_whole(world: World) -> None:
    (message,) = registered(world, 1)
    executor = world.desks["executor"].client
    html = page(executor, ROADS)
    sent = executor.post(
        f"{ROADS}/bulk",
        data={"csrf_token": csrf(html), "action": "assign", "executor": STAFF["executor"][0],
              "pick": [f"{message['id']}:{message['version']}"]},
    )  # fmt: skip
    assert sent.status_code == 403
    assert "Нет доступа" in sent.text
    assert ok(world.desks["coordinator"].get(message["id"]))["status"] == "registered"


def test_bad_filters_are_named_at_their_fields_in_russian(world: World) -> None:
    coordinator = world.desks["coordinator"].client
    html = page(coordinator, f"{ROADS}?colour=red", 422)
    assert "colour: в адресе лишний параметр" in html
    html = page(coordinator, f"{ROADS}?received_from=вчера", 422)
    assert 'href="#f-received_from"' in html
    assert "Поступило с: нужна дата в виде ГГГГ-ММ-ДД" in html
    html = page(coordinator, f"{ROADS}?view=nonsense", 422)
    assert "Представление: такого представления нет" in html
    html = page(coordinator, f"{ROADS}?registered_from=2026-12-01&registered_to=2026-11-01", 422)
    assert "Зарегистрировано по: нужна дата в виде ГГГГ-ММ-ДД, не раньше начальной" in html


def test_an_open_inbox_hears_of_changes_it_may_see_and_no_others(world: World) -> None:
    (message,) = registered(world, 1)
    app: Any = world.citizen.app
    assert not app.state.live.listening.is_set()  # no page open yet: no connection held
    live = LiveMessages(app.state.live.conninfo)
    enforcer = app.state.policy.enforcer
    tenant_id = uuid.UUID(app.state.policy.slugs["north-roads"])
    coordinator_id = uuid.UUID(user_id(world, STAFF["coordinator"][0]))
    executor_id = uuid.UUID(user_id(world, STAFF["other_executor"][0]))
    river_id = uuid.UUID(user_id(world, STAFF["river"][0]))

    async def listen() -> tuple[Any, bool, bool]:
        follower = asyncio.create_task(live.run())
        staff = [Staff(u, str(u), enforcer) for u in (coordinator_id, executor_id, river_id)]
        async with (
            live.subscribe(lambda: staff[0], tenant_id) as coordinator,
            live.subscribe(lambda: staff[1], tenant_id) as other_executor,
            live.subscribe(lambda: staff[2], tenant_id) as stranger,
        ):
            await asyncio.wait_for(live.listening.wait(), 5)  # connected for the first page
            await asyncio.to_thread(
                world.desks["coordinator"].act, message, "assign", executor=STAFF["executor"][0]
            )
            change = await asyncio.wait_for(coordinator.queue.get(), 2)
            follower.cancel()
            return change, other_executor.queue.empty(), stranger.queue.empty()

    change, executor_heard_nothing, stranger_heard_nothing = asyncio.run(listen())
    assert str(change.message_id) == message["id"]
    assert change.version == message["version"] + 1
    assert change.status == "assigned"
    assert change.actor == STAFF["coordinator"][1]
    assert executor_heard_nothing
    assert stranger_heard_nothing


def test_a_person_whose_role_is_revoked_hears_no_more(world: World) -> None:
    (message,) = registered(world, 1)
    app: Any = world.citizen.app
    live = LiveMessages(app.state.live.conninfo)
    tenant_id = uuid.UUID(app.state.policy.slugs["north-roads"])
    people = {r: uuid.UUID(user_id(world, STAFF[r][0])) for r in ("coordinator", "moderator")}

    def staff(role: str) -> Staff:
        # As the events page does: the app's live policy, asked at each event.
        return Staff(people[role], str(people[role]), app.state.policy.enforcer)

    async def listen() -> tuple[bool, bool]:
        follower = asyncio.create_task(live.run())
        async with (
            live.subscribe(lambda: staff("coordinator"), tenant_id) as coordinator,
            live.subscribe(lambda: staff("moderator"), tenant_id) as moderator,
        ):
            await asyncio.wait_for(live.listening.wait(), 5)
            db = Database(app.state.database.urls, pool_size=1)
            try:
                email = STAFF["moderator"][0]
                await staffing.revoke_role(db, email, "north-roads", "moderator", actor="t")
            finally:
                await db.dispose()
            for _ in range(40):  # the app's policy follows the revocation
                if not staff("moderator").may(tenant_id, "message:read", assigned=False):
                    break
                await asyncio.sleep(0.05)
            await asyncio.to_thread(
                world.desks["coordinator"].act, message, "assign", executor=STAFF["executor"][0]
            )
            await asyncio.wait_for(coordinator.queue.get(), 2)
            follower.cancel()
            return True, moderator.queue.empty()

    coordinator_heard, moderator_heard_nothing = asyncio.run(listen())
    assert coordinator_heard
    assert moderator_heard_nothing
