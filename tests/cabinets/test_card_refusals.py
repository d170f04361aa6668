"""What the card's forms refuse: a forged or missing CSRF token, a person without the
permission, another organization's message, bad input named at its field in Russian with the
form filled in as sent, and a stale form that says who acted first; nothing is half-done."""

from __future__ import annotations

import re
from typing import Any

from tests.cabinets.message_world import World, ok
from tests.cabinets.test_card_pages import SLUG, assigned, card_url, offered, post, registered


def field_error(page: Any, field_id: str) -> str:
    found = re.search(rf'<p class="field-error" id="{field_id}-error">(.*?)</p>', page.text, re.S)
    assert found, page.text
    return re.sub(r"<[^>]+>", "", found[1]).replace("Ошибка:", "").strip()


def summary_links(page: Any) -> list[str]:
    return re.findall(r'<li><a href="#(f-[^"]+)">', page.text)


def test_a_form_without_the_csrf_token_or_with_a_forged_one_changes_nothing(
    world: World,
) -> None:
    message = world.message_of(world.submit())
    desk = world.desks["moderator"]
    url = f"{card_url(message)}/accept"
    missing = desk.client.post(url, data={"version": "1"})
    forged = desk.client.post(url, data={"version": "1", "csrf_token": "forged" * 8})
    assert missing.status_code == forged.status_code == 403
    assert desk.get(message["id"]).json()["status"] == "new"


def test_a_person_without_the_permission_is_not_offered_the_form_and_a_forged_post_is_refused(
    world: World,
) -> None:
    message = registered(world)
    approver = world.desks["approver"]
    page = approver.client.get(card_url(message))
    assert "assign" not in offered(page)
    forged = post(approver, message, "assign", executor="exec@roads.example.ru")
    assert forged.status_code == 403
    assert "Нет доступа" in forged.text
    assert approver.get(message["id"]).json()["status"] == "registered"


def test_an_executor_cannot_open_or_act_on_a_message_assigned_to_someone_else(
    world: World,
) -> None:
    message = assigned(world)
    other = world.desks["other_executor"]
    assert other.client.get(card_url(message)).status_code == 404
    refused = post(other, message, "save-answer", text="Чужой ответ")
    assert refused.status_code == 404
    assert world.desks["executor"].get(message["id"]).json()["answer"] is None


def test_another_organizations_message_is_the_same_not_found_page_as_a_wrong_id(
    world: World,
) -> None:
    message = world.message_of(world.submit())
    river = world.desks["river"]
    theirs = river.client.get(card_url(message))
    under_their_slug = river.client.get(card_url(message, slug="river"))
    wrong = river.client.get(card_url({"id": "00000000-0000-0000-0000-000000000000"}, "river"))
    assert theirs.status_code == under_their_slug.status_code == wrong.status_code == 404
    assert "Страница не найдена" in under_their_slug.text
    assert under_their_slug.text == wrong.text
    acted = river.client.post(
        f"{card_url(message, slug='river')}/forward",
        data={"csrf_token": river.csrf, "version": "1", "forward.tenant": "river",
              "forward.reason": "Наше"},
    )  # fmt: skip
    assert acted.status_code == 404
    assert world.desks["moderator"].get(message["id"]).json()["status"] == "new"


def test_an_empty_rejection_names_both_fields_in_russian(world: World) -> None:
    message = world.message_of(world.submit())
    desk = world.desks["moderator"]
    refused = post(desk, message, "reject", text="  ")
    assert refused.status_code == 422
    assert summary_links(refused) == ["f-reject-ground", "f-reject-text"]
    assert field_error(refused, "f-reject-ground") == "заполните"
    assert field_error(refused, "f-reject-text") == "заполните"
    assert "Основание отказа: заполните" in refused.text
    assert desk.get(message["id"]).json()["status"] == "new"


def test_a_ground_not_on_the_list_is_named_and_the_text_kept(world: World) -> None:
    message = world.message_of(world.submit())
    desk = world.desks["moderator"]
    refused = post(desk, message, "reject", ground="i_dont_like_it", text="Не нравится")
    assert refused.status_code == 422
    assert field_error(refused, "f-reject-ground") == "выберите из предложенного"
    assert "Не нравится</textarea>" in refused.text
    assert desk.get(message["id"]).json()["status"] == "new"


def test_an_answer_of_10001_characters_is_refused_and_comes_back_as_typed(world: World) -> None:
    message = assigned(world)
    executor = world.desks["executor"]
    long = "Я" * 10_001
    refused = post(executor, message, "save-answer", text=long)
    assert refused.status_code == 422
    assert field_error(refused, "f-save_answer-text") == "слишком длинно: не больше 10000 знаков"
    assert f">{long}</textarea>" in refused.text
    assert executor.get(message["id"]).json()["answer"] is None
    empty = post(executor, message, "submit-answer", text="")
    assert empty.status_code == 422
    assert field_error(empty, "f-save_answer-text") == "заполните"
    assert executor.get(message["id"]).json()["status"] == "assigned"


def test_an_extension_beyond_30_days_and_a_second_one_are_refused_at_the_days(
    world: World,
) -> None:
    message = registered(world)
    desk = world.desks["coordinator"]
    too_long = post(desk, message, "extend", days="31", reason="Нужна экспертиза")
    assert too_long.status_code == 422
    assert field_error(too_long, "f-extend-days") == "не больше 30"
    assert 'value="31"' in too_long.text
    assert "Нужна экспертиза" in too_long.text
    assert desk.get(message["id"]).json()["extensions"] == 0
    words = post(desk, message, "extend", days="месяц", reason="Нужна экспертиза")
    assert field_error(words, "f-extend-days") == "нужно целое число"
    extended = post(desk, message, "extend", days="30", reason="Нужна экспертиза")
    assert extended.status_code == 303
    message = desk.get(message["id"]).json()
    assert message["extensions"] == 1
    page = desk.client.get(card_url(message))
    assert "продлить его можно только один раз" in page.text
    again = post(desk, message, "extend", days="5", reason="Ещё")
    assert again.status_code == 422
    assert "только один раз" in field_error(again, "f-extend-days")


def test_a_stale_form_comes_back_with_who_changed_the_message_and_the_form_as_sent(
    world: World,
) -> None:
    seen = world.message_of(world.submit())
    first, second = world.desks["moderator"], world.desks["coordinator"]
    ok(first.act(seen, "accept"))
    stale = post(second, seen, "forward", tenant="river", reason="Дорога района")
    assert stale.status_code == 409
    text = stale.text
    assert "Обращение уже изменили" in text
    assert "Мария Модерова" in text
    assert "«Зарегистрировано»" in text
    assert "Сейчас обращение: Зарегистрировано" in text
    assert "Дорога района</textarea>" in text
    assert f'data-version="{seen["version"] + 1}"' in text
    assert second.get(seen["id"]).json()["status"] == "registered"


def test_the_coordinator_forwards_after_searching_for_the_organization(world: World) -> None:
    message = registered(world)
    desk = world.desks["coordinator"]
    found = desk.client.get(f"{card_url(message)}?forward_q=river")
    assert 'name="forward.tenant" value="river"' in found.text
    assert 'value="north-roads"' not in found.text  # not to itself
    forwarded = post(desk, message, "forward", tenant="river", reason="Дорога на балансе района")
    assert forwarded.status_code == 303
    assert desk.get(message["id"]).json()["status"] == "forwarded"


def test_the_coordinator_merges_a_duplicate_picked_from_the_likely_ones(world: World) -> None:
    primary = registered(world)
    duplicate = registered(world)
    desk = world.desks["coordinator"]
    page = desk.client.get(card_url(duplicate))
    assert f'value="{primary["id"]}"' in page.text
    assert f'value="{duplicate["id"]}"' not in page.text
    merged = post(desk, duplicate, "merge", primary=primary["id"])
    assert merged.status_code == 303
    assert desk.get(duplicate["id"]).json()["merged_into"] == primary["id"]


def test_the_moderator_is_offered_the_other_topics_and_asks_for_clarification(
    world: World,
) -> None:
    message = world.message_of(world.submit())
    desk = world.desks["moderator"]
    page = desk.client.get(card_url(message))
    topics = re.search(r'<select id="f-change_topic-topic".*?</select>', page.text, re.S)
    assert topics
    assert 'value="pothole"' not in topics[0]
    asked = post(desk, message, "request-clarification", question="Какой дом?", days="5")
    assert asked.status_code == 303
    now = desk.get(message["id"]).json()
    assert now["status"] == "clarification"


def test_the_executor_attaches_a_file_to_the_answer(world: World) -> None:
    message = assigned(world)
    executor = world.desks["executor"]
    sent = executor.client.post(
        f"{card_url(message)}/answer-files?csrf_token={executor.csrf}",
        files={"answer_files.file": ("акт.txt", "Акт выполненных работ".encode(), "text/plain")},
        follow_redirects=False,
    )
    assert sent.status_code == 303, sent.text
    page = executor.client.get(sent.headers["location"])
    assert "Файл «акт.txt» приложен к ответу" in page.text
    assert "К ответу" in page.text
    nothing = executor.client.post(
        f"{card_url(message)}/answer-files?csrf_token={executor.csrf}",
        files={"answer_files.file": ("", b"", "application/octet-stream")},
    )
    assert nothing.status_code == 422
    assert field_error(nothing, "f-answer_files-file") == "заполните"


def test_the_history_api_needs_the_permission_to_read_the_message(world: World) -> None:
    message = assigned(world)
    url = f"/api/v1/tenants/{SLUG}/messages/{message['id']}/history"
    assert world.desks["other_executor"].client.get(url).status_code == 404
    assert world.desks["executor"].client.get(url).status_code == 200
