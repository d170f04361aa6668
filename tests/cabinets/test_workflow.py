"""The message workflow end to end: a citizen writes, the road service works the message
through every stage, the citizen follows the timeline and rates the answer; forwarding,
extension, merge, reopening on a low rating and the race of two staff on one message."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import text

from cabinets.messages.scheduled import advance_clock
from tenancy.database import Database, DatabaseUrls
from tests.cabinets.message_world import World, find_message, ok
from tests.databases import run_in_database


def test_one_message_walks_every_stage_and_the_citizen_sees_each(world: World) -> None:
    receipt = world.submit()
    assert receipt["status"] == "new"
    assert receipt["organization"] == "Organization north-roads"
    assert receipt["status_url"].endswith(f"/track/{receipt['number']}?token={receipt['token']}")
    desks = world.desks
    message = world.message_of(receipt)
    assert (message["status"], message["version"]) == ("new", 1)

    message = ok(
        desks["moderator"].act(
            message, "request-clarification", question="Укажите номер дома точнее", days=3
        )
    )
    assert message["status"] == "clarification"
    clarified = world.citizen.post(
        f"/api/v1/tracking/{receipt['number']}/clarification",
        json={"token": receipt["token"], "text": "Дом 5, корпус 2"},
    )
    assert clarified.status_code == 204
    message = world.message_of(receipt)
    assert message["status"] == "new"
    assert "Дом 5, корпус 2" in message["text"]

    message = ok(desks["moderator"].act(message, "accept"))
    assert message["status"] == "registered"
    assert message["registration_number"].startswith("1/")
    assert message["due_at"]
    ok(desks["coordinator"].act(message, "comment", text="Проверить, не дубль ли это"))
    message = desks["coordinator"].get(message["id"]).json()
    message = ok(desks["coordinator"].act(message, "assign", executor="exec@roads.example.ru"))
    assert message["status"] == "assigned"

    executor = desks["executor"]
    message = ok(executor.act(message, "save-answer", text="Черновик"))
    message = ok(executor.act(message, "submit-answer", text="Яма будет заделана до 1 июля."))
    assert message["status"] == "on_approval"
    message = ok(desks["approver"].act(message, "return-answer", comment="Укажите подрядчика"))
    assert message["status"] == "assigned"
    message = ok(
        executor.act(
            message,
            "submit-answer",
            text="Яма будет заделана подрядчиком ООО «Дорстрой» до 1 июля.",
        )
    )
    message = ok(desks["approver"].act(message, "approve-answer"))
    assert message["status"] == "answered"

    timeline = world.timeline(receipt)
    assert timeline["can_rate"] is True
    assert "ООО «Дорстрой»" in timeline["answer"]
    rated = world.citizen.post(
        f"/api/v1/tracking/{receipt['number']}/rating",
        json={"token": receipt["token"], "rating": 5, "comment": "Спасибо"},
    )
    assert rated.json() == {"status": "closed"}

    timeline = world.timeline(receipt)
    assert timeline["status"] == "closed"
    assert [(e["title"], e["status_label"]) for e in timeline["entries"]] == [
        ("Поступило", "Поступило"),
        ("Запрошено уточнение", "Требуется уточнение"),
        ("Уточнение получено", "Поступило"),
        ("Зарегистрировано", "Зарегистрировано"),
        ("Рассматривается", "Рассматривается"),
        ("Рассмотрено", "Рассмотрено"),
        ("Ответ оценён", "Рассмотрено"),
    ]
    by_title = {e["title"]: e for e in timeline["entries"]}
    assert by_title["Зарегистрировано"]["official"] == {"name": "Мария Модерова", "position": None}
    assert by_title["Зарегистрировано"]["details"]["registration_number"].startswith("1/")
    assert by_title["Рассматривается"]["details"]["executor"]["name"] == "Евгений Исполнев"
    assert by_title["Запрошено уточнение"]["reason"] == "Укажите номер дома точнее"
    assert "ООО «Дорстрой»" in by_title["Рассмотрено"]["details"]["answer"]
    # Internal comments, drafts and returned answers never reach the citizen.
    everything = str(timeline)
    assert "дубль" not in everything
    assert "Укажите подрядчика" not in everything
    assert "Черновик" not in everything
    assert "executor_id" not in everything


def test_a_low_rating_reopens_the_message_with_a_fresh_deadline(world: World) -> None:
    receipt = world.submit()
    desks = world.desks
    message = ok(desks["moderator"].act(world.message_of(receipt), "accept"))
    message = ok(desks["coordinator"].act(message, "assign", executor="exec@roads.example.ru"))
    message = ok(desks["executor"].act(message, "submit-answer", text="Отказано"))
    first = ok(desks["approver"].act(message, "approve-answer"))
    rated = world.citizen.post(
        f"/api/v1/tracking/{receipt['number']}/rating",
        json={"token": receipt["token"], "rating": 2, "comment": "Яма на месте"},
    )
    assert rated.json() == {"status": "registered"}
    again = world.message_of(receipt)
    assert (again["status"], again["reopened_count"], again["rating"]) == ("registered", 1, 2)
    assert again["due_at"] >= first["due_at"]
    assert again["assignee_id"] is None
    titles = [e["title"] for e in world.timeline(receipt)["entries"]]
    assert titles[-1] == "Направлено на повторное рассмотрение"


def test_forwarding_by_competence_moves_the_message_and_tells_the_citizen(world: World) -> None:
    receipt = world.submit()
    desks = world.desks
    message = ok(desks["moderator"].act(world.message_of(receipt), "accept"))
    forwarded = ok(
        desks["coordinator"].act(
            message, "forward", tenant="river", reason="Дорога на балансе района"
        )
    )
    assert (forwarded["status"], forwarded["forwarded_to"]) == ("forwarded", "river")
    # The sender keeps read-only sight of what it did.
    assert desks["coordinator"].get(message["id"]).json()["status"] == "forwarded"
    refused = desks["coordinator"].act(forwarded, "assign", executor="exec@roads.example.ru")
    assert refused.status_code == 409
    assert refused.json()["current"]["status"] == "forwarded"

    received = find_message(desks["river"], receipt["number"])
    assert (received["status"], received["tenant"]) == ("new", "river")
    assert received["registration_number"] is None  # the receiver registers it anew
    timeline = world.timeline(receipt)
    assert timeline["organization"] == "Organization river"
    entries = [(e["title"], e["organization"]) for e in timeline["entries"]]
    assert entries == [
        ("Поступило", "Organization north-roads"),
        ("Зарегистрировано", "Organization north-roads"),
        ("Направлено по компетенции", "Organization north-roads"),
        ("Получено по компетенции", "Organization river"),
    ]
    forwarding = timeline["entries"][2]
    assert forwarding["reason"] == "Дорога на балансе района"
    assert forwarding["details"]["to"] == "Organization river"


def test_the_deadline_is_extended_once_by_at_most_30_days(world: World) -> None:
    receipt = world.submit()
    desks = world.desks
    message = ok(desks["moderator"].act(world.message_of(receipt), "accept"))
    too_long = desks["coordinator"].act(message, "extend", days=31, reason="Нужна экспертиза")
    assert too_long.status_code == 422
    assert "at most 30 days" in too_long.json()["detail"]
    extended = ok(desks["coordinator"].act(message, "extend", days=20, reason="Нужна экспертиза"))
    assert extended["due_at"] > message["due_at"]
    assert extended["extensions"] == 1
    again = desks["coordinator"].act(extended, "extend", days=5, reason="Ещё")
    assert again.status_code == 422
    assert "already extended once" in again.json()["detail"]
    entry = world.timeline(receipt)["entries"][-1]
    assert (entry["title"], entry["reason"]) == ("Срок продлён", "Нужна экспертиза")
    assert entry["details"]["due_at"][:10] == extended["due_at"][:10]


def test_answering_the_primary_answers_its_merged_duplicates(world: World) -> None:
    desks = world.desks
    first, second = world.submit(), world.submit(applicant={"name": "Пётр", "email": "p@x.ru"})
    primary = ok(desks["moderator"].act(world.message_of(first), "accept"))
    duplicate = world.message_of(second)
    merged = ok(desks["coordinator"].act(duplicate, "merge", primary=primary["id"]))
    assert (merged["status"], merged["merged_into"]) == ("merged", primary["id"])
    primary = ok(desks["coordinator"].act(primary, "assign", executor="exec@roads.example.ru"))
    primary = ok(desks["executor"].act(primary, "submit-answer", text="Отремонтируем в мае."))
    ok(desks["approver"].act(primary, "approve-answer"))
    answered = world.timeline(second)
    assert answered["status"] == "answered"
    assert answered["answer"] == "Отремонтируем в мае."
    assert answered["can_rate"] is True


def test_two_staff_acting_at_once_one_wins_the_other_gets_409_with_the_current_state(
    world: World,
) -> None:
    desks = world.desks
    message = ok(desks["moderator"].act(world.message_of(world.submit()), "accept"))
    results: list[Any] = []
    start = threading.Barrier(2)

    def assign(executor: str) -> None:
        start.wait()
        results.append(desks["coordinator"].act(message, "assign", executor=executor))

    threads = [
        threading.Thread(target=assign, args=(e,))
        for e in ("exec@roads.example.ru", "exec2@roads.example.ru")
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    statuses = sorted(r.status_code for r in results)
    assert statuses == [200, 409]
    loser = next(r for r in results if r.status_code == 409).json()
    winner = next(r for r in results if r.status_code == 200).json()
    assert loser["current"]["version"] == winner["version"]
    assert loser["current"]["assignee_id"] == winner["assignee_id"]
    assert "changed since version" in loser["detail"]


def test_a_step_not_allowed_now_or_by_this_role_is_refused(world: World) -> None:
    desks = world.desks
    message = world.message_of(world.submit())
    early = desks["approver"].act(message, "approve-answer")
    assert early.status_code == 409
    assert "cannot approve answer a message that is new" in early.json()["detail"]
    assert early.json()["current"]["status"] == "new"
    executor = desks["executor"].act(message, "accept")
    assert executor.status_code == 403
    # An executor does not even see a message that is not assigned to them.
    assert desks["executor"].get(message["id"]).status_code == 404
    # Another tenant's staff: not found, never forbidden with its data.
    other = desks["river"].get(message["id"])
    assert other.status_code == 404
    assert "Яма" not in other.text
    stale = desks["moderator"].act(message | {"version": 7}, "accept")
    assert stale.status_code == 409


def test_an_executor_works_only_on_what_is_assigned_to_them(world: World) -> None:
    desks = world.desks
    message = ok(desks["moderator"].act(world.message_of(world.submit()), "accept"))
    message = ok(desks["coordinator"].act(message, "assign", executor="exec@roads.example.ru"))
    assert desks["executor"].get(message["id"]).status_code == 200
    assert desks["other_executor"].get(message["id"]).status_code == 404
    other = desks["other_executor"].act(message, "save-answer", text="Чужой ответ")
    assert other.status_code == 404
    ok(desks["executor"].act(message, "save-answer", text="Мой ответ"))


def test_requests_riding_on_a_session_need_the_csrf_token(world: World) -> None:
    desk = world.desks["moderator"]
    message = world.message_of(world.submit())
    forged = desk.client.post(
        f"/api/v1/tenants/north-roads/messages/{message['id']}/accept", json={"version": 1}
    )
    assert forged.status_code == 403
    assert world.message_of(world.submit())["status"] == "new"


def test_time_rejects_silent_clarifications_closes_unrated_answers_and_escalates_overdue(
    world: World, clean_database: DatabaseUrls
) -> None:
    desks = world.desks
    silent = world.message_of(world.submit())
    ok(desks["moderator"].act(silent, "request-clarification", question="Где именно?", days=3))
    late = ok(desks["moderator"].act(world.message_of(world.submit()), "accept"))
    answered_receipt = world.submit()
    answered = ok(desks["moderator"].act(world.message_of(answered_receipt), "accept"))
    answered = ok(desks["coordinator"].act(answered, "assign", executor="exec@roads.example.ru"))
    answered = ok(desks["executor"].act(answered, "submit-answer", text="Сделано."))
    ok(desks["approver"].act(answered, "approve-answer"))

    later = datetime.now(UTC) + timedelta(days=60)
    done = run_in_database(clean_database, lambda db: advance_clock(db, now=later))
    assert done == {"clarifications_expired": 1, "closed_unrated": 1, "escalated": 1}
    assert desks["moderator"].get(silent["id"]).json()["status"] == "rejected"
    assert world.timeline(answered_receipt)["status"] == "closed"
    assert desks["coordinator"].get(late["id"]).json()["status"] == "registered"
    # Escalated once: the next tick finds nothing new.
    again = run_in_database(clean_database, lambda db: advance_clock(db, now=later))
    assert again == {"clarifications_expired": 0, "closed_unrated": 0, "escalated": 0}

    async def escalations(db: Database) -> list[str]:
        async with db.privileged_session() as session:
            rows = await session.execute(
                text("SELECT recipient FROM outbox WHERE kind = 'message.overdue' ORDER BY 1")
            )
            return list(rows.scalars())

    assert run_in_database(clean_database, escalations) == [
        "mailto:coord@roads.example.ru",
        "mailto:head@region.example.ru",
    ]


def test_an_answer_starts_from_the_tenants_template_with_the_messages_facts(
    world: World,
) -> None:
    admin = world.desks["admin"]
    path = "/api/v1/tenants/north-roads/answer-templates"
    bad = admin.client.post(
        path,
        json={"title": "Плохой", "body": "Уважаемый {citizen}!"},
        headers={"X-CSRF-Token": admin.csrf},
    )
    assert bad.status_code == 422
    assert "unknown placeholders citizen" in bad.text
    created = admin.client.post(
        path,
        json={
            "title": "Ремонт запланирован",
            "topic": "pothole",
            "body": "{applicant}, на обращение № {registration_number} от {received_on}: "
            "ремонт по адресу {address} запланирован. {organization}.",
        },
        headers={"X-CSRF-Token": admin.csrf},
    )
    assert created.status_code == 201, created.text
    executor = world.desks["executor"]
    assert (
        executor.client.post(
            path, json={"title": "x", "body": "y"}, headers={"X-CSRF-Token": executor.csrf}
        ).status_code
        == 403
    )
    listed = executor.client.get(path, params={"topic": "pothole"}).json()
    assert [t["title"] for t in listed] == ["Ремонт запланирован"]

    message = ok(world.desks["moderator"].act(world.message_of(world.submit()), "accept"))
    message = ok(
        world.desks["coordinator"].act(message, "assign", executor="exec@roads.example.ru")
    )
    drafted = ok(executor.act(message, "save-answer", template=created.json()["id"]))
    assert drafted["answer"].startswith(
        f"Иван Петров, на обращение № {message['registration_number']} от "
    )
    assert "ул. Лесная, 5" in drafted["answer"]
    assert drafted["answer"].endswith("Organization north-roads.")


def test_correcting_the_topic_reroutes_the_message(world: World) -> None:
    desks = world.desks
    receipt = world.submit()
    message = world.message_of(receipt)
    same = ok(desks["moderator"].act(message, "change-topic", topic="pothole",
                                     reason="Тема та же"))  # fmt: skip
    assert same["status"] == "new"
    rerouted = ok(
        desks["moderator"].act(same, "change-topic", topic="canteen", reason="Это про школу")
    )
    assert (rerouted["status"], rerouted["forwarded_to"]) == ("forwarded", "region")
    timeline = world.timeline(receipt)
    assert timeline["organization"] == "Organization region"
    assert timeline["topic"] == "canteen"


def test_assigning_to_anyone_not_answering_here_gets_one_answer_whatever_the_reason(
    world: World,
) -> None:
    """Staff e-mails cannot be found out by trying them: another organization's coordinator,
    an unknown address and a colleague without the right to answer all read the same."""
    desks = world.desks
    message = ok(desks["moderator"].act(world.message_of(world.submit()), "accept"))
    answers = set()
    for executor in ("coord@river.example.ru", "nobody@nowhere.example.ru", "mod@roads.example.ru"):
        refused = desks["coordinator"].act(message, "assign", executor=executor)
        assert refused.status_code == 422, refused.text
        [error] = refused.json()["errors"]
        assert error["field"] == "executor"
        assert error["code"] == "not_an_executor_here"
        answers.add(error["message"].replace(repr(executor), "…"))
    assert answers == {"… is not a staff member here who can prepare answers"}
