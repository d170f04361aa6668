"""The message card in the cabinet: everything about one message, and a form for each action the
workflow table allows this person now, each posting back to the card (POST-redirect-GET); bad
input is named at its field in Russian, a stale form says who acted first, and nothing is
half-done."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlencode

from tests.cabinets.message_world import Desk, World, ok

SLUG = "north-roads"


def card_url(message: dict[str, Any], slug: str = SLUG) -> str:
    return f"/cabinet/{slug}/messages/{message['id']}"


def post(desk: Desk, message: dict[str, Any], action: str, **fields: Any) -> Any:
    """A card form as the browser sends it: the CSRF token, the version it was decided on,
    and the action's fields (named ``action.field`` on the card)."""
    data: dict[str, Any] = {"csrf_token": desk.csrf, "version": str(message["version"])}
    prefix = "save_answer" if action == "submit-answer" else action.replace("-", "_")
    for name, value in fields.items():
        data[name if name in ("view", "then") else f"{prefix}.{name}"] = value
    return desk.client.post(f"{card_url(message)}/{action}", data=data, follow_redirects=False)


def offered(page: Any) -> list[str]:
    """The actions whose forms the card offers, by their sections' ids."""
    return re.findall(r'<section class="action" id="action-([a-z_]+)"', page.text)


def registered(world: World) -> dict[str, Any]:
    receipt = world.submit()
    return ok(world.desks["moderator"].act(world.message_of(receipt), "accept"))


def assigned(world: World) -> dict[str, Any]:
    message = registered(world)
    return ok(world.desks["coordinator"].act(message, "assign", executor="exec@roads.example.ru"))


def test_the_card_shows_the_message_its_applicant_its_files_and_its_deadlines(
    world: World,
) -> None:
    receipt = world.submit()
    message = world.message_of(receipt)
    page = world.desks["moderator"].client.get(card_url(message))
    assert page.status_code == 200
    assert page.headers["cache-control"] == "no-store"
    text = page.text
    assert f"Обращение № {receipt['number']}" in text
    assert "Яма на дороге у дома 5" in text
    assert "машины объезжают по тротуару" in text
    assert "посёлок Северный, ул. Лесная, 5" in text
    assert "посёлок Северный (46701101)" in text  # the territory by its name
    assert "Иван Петров" in text
    assert "ivan@mail.example.ru" in text
    assert "физическое лицо" in text
    assert "яма.jpg" in text
    assert "<img" in text
    assert "Модерация" in text
    assert "Регистрация" in text
    assert re.search(r"осталось \d+ раб\. д|срок истекает сегодня", text)
    assert f'data-live-message="{message["id"]}" data-version="1"' in text
    assert '<script src="/static/cabinet.js" defer></script>' in text


def test_a_file_of_the_message_downloads_through_the_permission_check(world: World) -> None:
    message = world.message_of(world.submit())
    page = world.desks["moderator"].client.get(card_url(message))
    link = re.search(r'href="(/cabinet/north-roads/messages/[^"]+/files/[^"]+)"', page.text)
    assert link, page.text
    download = world.desks["moderator"].client.get(link[1], follow_redirects=False)
    assert download.status_code == 303
    # The other organization's coordinator gets the refusal page, not the file.
    stranger = world.desks["river"].client.get(link[1], follow_redirects=False)
    assert stranger.status_code == 404


def test_the_moderator_is_offered_only_what_moderation_allows_from_new(world: World) -> None:
    message = world.message_of(world.submit())
    page = world.desks["moderator"].client.get(card_url(message))
    assert offered(page) == ["accept", "reject", "request_clarification", "comment",
                             "change_topic"]  # fmt: skip
    coordinator = world.desks["coordinator"].client.get(card_url(message))
    assert offered(coordinator) == ["forward", "merge", "comment"]


def test_the_moderator_accepts_from_the_card_and_comes_back_to_it(world: World) -> None:
    message = world.message_of(world.submit())
    desk = world.desks["moderator"]
    accepted = post(desk, message, "accept")
    assert accepted.status_code == 303
    assert accepted.headers["location"] == f"{card_url(message)}?done=accept"
    back = desk.client.get(accepted.headers["location"])
    assert "Готово: зарегистрировано" in back.text
    now = desk.get(message["id"]).json()
    assert (now["status"], now["version"]) == ("registered", 2)
    assert "accept" not in offered(back)
    assert "Ответ" in back.text  # the answer's deadline now runs


def test_the_coordinator_picks_only_those_who_may_prepare_answers(world: World) -> None:
    message = registered(world)
    desk = world.desks["coordinator"]
    page = desk.client.get(card_url(message))
    picker = re.search(r'<select id="f-assign-executor".*?</select>', page.text, re.S)
    assert picker
    choices = re.findall(r'<option value="([^"]+)"', picker[0])
    assert choices == ["exec@roads.example.ru", "exec2@roads.example.ru"]
    done = post(desk, message, "assign", executor="exec2@roads.example.ru")
    assert done.status_code == 303
    assert desk.get(message["id"]).json()["status"] == "assigned"
    again = desk.client.get(card_url(message))
    assert "Переназначить" in again.text
    assert "Олег Другов" in again.text


def test_an_executor_sees_an_assigned_message_and_drafts_its_answer_from_a_template(
    world: World,
) -> None:
    admin = world.desks["admin"]
    template = admin.client.post(
        f"/api/v1/tenants/{SLUG}/answer-templates",
        json={"title": "Ремонт дороги", "body": "По обращению № {number} ({address}): ремонт."},
        headers={"X-CSRF-Token": admin.csrf},
    )
    assert template.status_code == 201, template.text
    message = assigned(world)
    executor = world.desks["executor"]
    preview = executor.client.get(f"{card_url(message)}?template={template.json()['id']}")
    assert "Шаблон «Ремонт дороги» подставлен" in preview.text
    filled = f"По обращению № {message['number']} (посёлок Северный, ул. Лесная, 5): ремонт."
    assert filled in preview.text
    assert executor.get(message["id"]).json()["answer"] is None  # nothing saved yet
    saved = post(executor, message, "save-answer", text=filled)
    assert saved.status_code == 303
    message = executor.get(message["id"]).json()
    assert message["answer"] == filled
    sent = post(executor, message, "submit-answer", text=filled + " В июне.")
    assert sent.status_code == 303
    assert executor.get(message["id"]).json()["status"] == "on_approval"


def test_the_approver_returns_the_answer_with_reasons_and_the_history_keeps_both(
    world: World,
) -> None:
    message = assigned(world)
    message = ok(world.desks["executor"].act(message, "submit-answer", text="Сделаем."))
    approver = world.desks["approver"]
    page = approver.client.get(card_url(message))
    assert offered(page) == ["approve_answer", "return_answer", "comment"]
    returned = approver.client.post(
        f"{card_url(message)}/return-answer",
        data={"csrf_token": approver.csrf, "version": str(message["version"]),
              "return_answer.reasons": ["no_dates", "formality"],
              "return_answer.comment": "Когда именно?"},
        follow_redirects=False,
    )  # fmt: skip
    assert returned.status_code == 303
    history = approver.client.get(f"/api/v1/tenants/{SLUG}/messages/{message['id']}/history")
    assert history.status_code == 200
    events = history.json()["events"]
    returned_event = events[-1]
    assert returned_event["kind"] == "return_answer"
    assert returned_event["actor"] == "Анна Начальникова"
    assert "Нет сроков" in returned_event["reason"]
    assert "Формальный ответ" in returned_event["reason"]
    assert returned_event["reason"].endswith("Когда именно?")
    assert returned_event["payload"]["answer"] == "Сделаем."
    card = world.desks["executor"].client.get(card_url(message))
    assert "Замечания:" in card.text
    assert "Когда именно?" in card.text
    assert "Возвращённый текст" in card.text


def test_comments_are_internal_and_the_history_api_returns_them(world: World) -> None:
    message = registered(world)
    desk = world.desks["coordinator"]
    assert post(desk, message, "comment", text="Проверить, не дубль ли").status_code == 303
    history = ok(desk.client.get(f"/api/v1/tenants/{SLUG}/messages/{message['id']}/history"))
    comment = history["events"][-1]
    assert (comment["kind"], comment["reason"], comment["public"]) == (
        "comment", "Проверить, не дубль ли", False,
    )  # fmt: skip
    assert history["message"]["id"] == message["id"]
    assert [f["filename"] for f in history["files"]] == ["яма.jpg"]
    page = desk.client.get(card_url(message))
    assert "Проверить, не дубль ли" in page.text
    assert "внутреннее" in page.text
    stranger = world.desks["river"].client.get(
        f"/api/v1/tenants/{SLUG}/messages/{message['id']}/history"
    )
    assert stranger.status_code in (403, 404)


def test_save_and_next_moves_to_the_next_message_of_the_view(world: World) -> None:
    first = world.message_of(world.submit())
    second = world.message_of(world.submit())
    desk = world.desks["moderator"]
    view = urlencode({"status": "new"})
    page = desk.client.get(f"{card_url(second)}?{urlencode({'view': view})}")
    assert "Зарегистрировать и к следующему" in page.text
    done = post(desk, second, "accept", view=view, then="next")
    assert done.status_code == 303
    assert done.headers["location"].startswith(card_url(first) + "?")
    assert "view=status%3Dnew" in done.headers["location"]
