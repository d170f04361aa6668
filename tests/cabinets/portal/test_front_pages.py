"""The front page: write, follow a message by its number and code, find an organization, sign
in, and the platform's figures; the organization directory and pages."""

from __future__ import annotations

import re

from tests.cabinets.message_world import World, ok


def test_the_front_page_offers_writing_following_finding_and_signing_in(world: World) -> None:
    page = world.citizen.get("/")
    assert page.status_code == 200
    assert 'href="/write"' in page.text
    assert 'action="/follow"' in page.text
    assert 'action="/organizations"' in page.text
    assert 'href="/auth/sign-up"' in page.text
    assert "Версия для слабовидящих" in page.text


def test_the_figures_count_messages_received_this_year_without_personal_data(
    world: World,
) -> None:
    world.submit()
    world.submit(applicant={"name": "Пётр Иванов", "email": "petr@mail.example.ru"})
    page = world.citizen.get("/")
    assert "Поступило обращений</dt><dd>2</dd>" in page.text.replace("\n", "")
    assert "ivan@mail.example.ru" not in page.text
    assert "Иван Петров" not in page.text


def test_the_figures_count_the_answered_and_the_share_answered_on_time(world: World) -> None:
    receipt = world.submit()
    desks = world.desks
    message = ok(desks["moderator"].act(world.message_of(receipt), "accept"))
    message = ok(desks["coordinator"].act(message, "assign", executor="exec@roads.example.ru"))
    message = ok(desks["executor"].act(message, "submit-answer", text="Яма заделана."))
    ok(desks["approver"].act(message, "approve-answer"))
    world.submit()
    page = world.citizen.get("/").text.replace("\n", "")
    assert "Поступило обращений</dt><dd>2</dd>" in page
    assert "<dt>Рассмотрено</dt><dd>1</dd>" in page
    assert "Рассмотрено в срок</dt><dd>100 %</dd>" in page


def test_following_by_number_and_code_opens_the_status_page(world: World) -> None:
    receipt = world.submit()
    followed = world.citizen.get(
        "/follow",
        params={"number": receipt["number"], "code": receipt["token"]},
        follow_redirects=False,
    )
    assert followed.status_code == 303
    assert followed.headers["location"].startswith(f"/track/{receipt['number']}?token=")


def test_a_wrong_number_and_a_wrong_code_get_the_same_page(world: World) -> None:
    receipt = world.submit()
    wrong_code = world.citizen.get("/follow", params={"number": receipt["number"], "code": "x"})
    wrong_number = world.citizen.get(
        "/follow", params={"number": "26-9999999", "code": receipt["token"]}
    )
    assert wrong_code.status_code == wrong_number.status_code == 404
    assert "с таким номером и кодом не найдено" in wrong_code.text
    assert wrong_code.text == wrong_number.text


def test_an_empty_follow_form_names_both_fields(world: World) -> None:
    page = world.citizen.get("/follow", params={"number": "", "code": ""})
    assert page.status_code == 422
    assert 'href="#f-number"' in page.text
    assert 'href="#f-code"' in page.text


def test_an_organization_is_found_by_name_place_or_inn_and_its_page_offers_writing(
    world: World,
) -> None:
    found = world.citizen.get("/organizations", params={"q": "north-roads"})
    assert found.status_code == 200
    assert 'href="/organizations/north-roads"' in found.text
    page = world.citizen.get("/organizations/north-roads")
    assert page.status_code == 200
    assert 'href="/write?to=north-roads"' in page.text
    assert "На какие темы отвечает" in page.text


def test_an_organization_is_found_by_its_inn_and_wildcards_match_nothing(world: World) -> None:
    page = world.citizen.get("/organizations/north-roads")
    inn = re.search(r"<dt>ИНН</dt><dd>([0-9]+)</dd>", page.text)
    assert inn
    found = world.citizen.get("/organizations", params={"q": inn[1]})
    assert found.text.count('href="/organizations/') == 1
    assert 'href="/organizations/north-roads"' in found.text
    wildcard = world.citizen.get("/organizations", params={"q": "%"})
    assert "Ничего не нашлось" in wildcard.text


def test_a_search_of_a_thousand_characters_is_named_at_the_field(world: World) -> None:
    page = world.citizen.get("/organizations", params={"q": "я" * 1000})
    assert page.status_code == 422
    assert 'href="#f-q"' in page.text
    assert "не больше 100 знаков" in page.text


def test_an_unknown_organization_gets_the_not_found_page(world: World) -> None:
    assert world.citizen.get("/organizations/no-such").status_code == 404


def test_the_accessible_version_is_kept_in_a_cookie_and_named_on_the_body(world: World) -> None:
    switched = world.citizen.get(
        "/view", params={"size": "200", "contrast": "1", "images": "0", "back": "/write"},
        follow_redirects=False,
    )  # fmt: skip
    assert switched.status_code == 303
    assert switched.headers["location"] == "/write"
    page = world.citizen.get("/")
    assert "view-size-200" in page.text
    assert "view-contrast" in page.text
    assert "view-noimages" in page.text
    assert "Обычная версия" in page.text
    world.citizen.get("/view", params={"mode": "normal", "back": "//evil.example"})
    assert "view-size-200" not in world.citizen.get("/").text


def test_the_accessibility_statement_says_what_is_checked(world: World) -> None:
    page = world.citizen.get("/accessibility")
    assert page.status_code == 200
    assert "axe-core" in page.text
