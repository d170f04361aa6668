"""The citizen's status page: the link from the receipt shows the stages, and its forms take
the clarification and the rating without any script, behind the CSRF check."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

from tests.cabinets.message_world import World, ok


def status_page(world: World, receipt: dict[str, Any]) -> Any:
    link = urlsplit(receipt["status_url"])
    return world.citizen.get(f"{link.path}?{link.query}")


def form_token(page: Any) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert found, page.text
    return found[1]


def answered(world: World) -> dict[str, Any]:
    receipt = world.submit()
    desks = world.desks
    message = ok(desks["moderator"].act(world.message_of(receipt), "accept"))
    message = ok(desks["coordinator"].act(message, "assign", executor="exec@roads.example.ru"))
    message = ok(desks["executor"].act(message, "submit-answer", text="Яма заделана 3 июня."))
    ok(desks["approver"].act(message, "approve-answer"))
    return receipt


def test_the_link_in_the_receipt_opens_the_status_page(world: World) -> None:
    receipt = world.submit()
    page = status_page(world, receipt)
    assert page.status_code == 200
    assert f"Обращение № {receipt['number']}" in page.text
    assert "Organization north-roads" in page.text
    assert "Поступило" in page.text
    # The address carries the token: not cached, not passed on to other sites.
    assert page.headers["cache-control"] == "no-store"
    assert page.headers["referrer-policy"] == "no-referrer"


def test_a_wrong_token_and_a_wrong_number_get_the_same_not_found_page(world: World) -> None:
    receipt = world.submit()
    wrong_token = world.citizen.get(f"/track/{receipt['number']}?token=guess")
    wrong_number = world.citizen.get(f"/track/26-9999999?token={receipt['token']}")
    assert wrong_token.status_code == wrong_number.status_code == 404
    assert "Обращение не найдено" in wrong_token.text
    assert wrong_token.text == wrong_number.text
    assert receipt["number"] not in wrong_token.text


def test_the_citizen_sends_the_clarification_asked_for_with_the_form(world: World) -> None:
    receipt = world.submit()
    message = world.message_of(receipt)
    ok(world.desks["moderator"].act(message, "request-clarification", question="Какой дом?"))
    page = status_page(world, receipt)
    assert "Отправить уточнение" in page.text
    form = {"csrf_token": form_token(page), "token": receipt["token"]}
    empty = world.citizen.post(f"/track/{receipt['number']}/clarification", data=form)
    assert empty.status_code == 422
    assert "Напишите уточнение" in empty.text
    sent = world.citizen.post(
        f"/track/{receipt['number']}/clarification",
        data=form | {"text": "Дом 7"},
        follow_redirects=False,
    )
    assert sent.status_code == 303
    assert sent.headers["location"].startswith(f"/track/{receipt['number']}?token=")
    back = world.citizen.get(sent.headers["location"])
    assert "Уточнение отправлено" in back.text
    assert "Отправить уточнение" not in back.text
    assert world.message_of(receipt)["status"] == "new"
    assert "Дом 7" in world.message_of(receipt)["text"]


def test_the_citizen_rates_the_answer_with_the_form_and_a_low_rating_reopens_it(
    world: World,
) -> None:
    receipt = answered(world)
    page = status_page(world, receipt)
    assert "Яма заделана 3 июня." in page.text
    assert "Оценить" in page.text
    form = {"csrf_token": form_token(page), "token": receipt["token"]}
    out_of_range = world.citizen.post(
        f"/track/{receipt['number']}/rating", data=form | {"rating": "7"}
    )
    assert out_of_range.status_code == 422
    assert "от 1 до 5" in out_of_range.text
    rated = world.citizen.post(
        f"/track/{receipt['number']}/rating",
        data=form | {"rating": "2", "comment": "Яма осталась"},
    )
    assert rated.status_code == 200  # after the redirect
    assert "оценка сохранена" in rated.text
    assert world.message_of(receipt)["status"] == "registered"
    again = world.citizen.post(f"/track/{receipt['number']}/rating", data=form | {"rating": "5"})
    assert again.status_code == 409


def test_the_forms_need_the_pages_csrf_token(world: World) -> None:
    receipt = answered(world)
    status_page(world, receipt)
    forged = world.citizen.post(
        f"/track/{receipt['number']}/rating", data={"token": receipt["token"], "rating": "1"}
    )
    assert forged.status_code == 403
    assert world.timeline(receipt)["status"] == "answered"
