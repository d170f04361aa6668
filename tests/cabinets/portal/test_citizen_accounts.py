"""Citizens sign up with e-mail and password: the address is confirmed by a letter's link,
a taken address gets the same answer (and its owner a letter), a link works once and
expires, and the messages written before with the address become the account's own."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import text

from tenancy.database import Database
from tenancy.settings import Settings
from tests.cabinets.message_world import STAFF, World
from tests.cabinets.portal.conftest import (
    CITIZEN_EMAIL,
    confirm,
    deliver,
    letters_to,
    link_in,
    sign_in,
    sign_up,
    signed_up,
    urls_of,
)
from tests.databases import run_in_database


def test_a_citizen_signs_up_confirms_the_address_and_signs_in(
    world: World, settings: Settings
) -> None:
    answer = sign_up(world.citizen)
    assert answer.status_code == 200
    assert "Проверьте почту" in answer.text
    refused = sign_in(world.citizen)
    assert refused.status_code == 403  # not before the address is confirmed
    deliver(world.citizen, settings)
    [letter] = letters_to(settings, CITIZEN_EMAIL, "Подтвердите адрес")
    path = link_in(letter, settings)
    page = world.citizen.get(path)
    assert page.status_code == 200
    assert CITIZEN_EMAIL in page.text
    assert confirm(world.citizen, path).status_code == 200
    signed = sign_in(world.citizen)
    assert signed.status_code == 303
    assert world.citizen.get("/my").status_code == 200


def test_a_taken_address_gets_the_same_answer_and_its_owner_a_letter(
    world: World, settings: Settings
) -> None:
    staff_email = STAFF["executor"][0]
    free = sign_up(world.citizen, "new@mail.example.ru")
    taken = sign_up(world.citizen, staff_email)
    assert free.status_code == taken.status_code == 200
    assert free.text.replace("new@mail.example.ru", "@") == taken.text.replace(staff_email, "@")
    deliver(world.citizen, settings)
    [letter] = letters_to(settings, staff_email)
    assert letter["Subject"] == "Попытка регистрации в Приёмной"
    assert "/auth/confirm/" not in letter.get_content()


def test_a_confirmation_link_used_twice_gets_a_clear_page(world: World, settings: Settings) -> None:
    sign_up(world.citizen)
    deliver(world.citizen, settings)
    [letter] = letters_to(settings, CITIZEN_EMAIL, "Подтвердите адрес")
    path = link_in(letter, settings)
    assert confirm(world.citizen, path).status_code == 200
    again = world.citizen.get(path)
    assert again.status_code == 410
    assert "Ссылка не действует" in again.text
    assert "уже использована" in again.text


def test_an_expired_confirmation_link_gets_a_clear_page(world: World, settings: Settings) -> None:
    sign_up(world.citizen)
    deliver(world.citizen, settings)
    [letter] = letters_to(settings, CITIZEN_EMAIL, "Подтвердите адрес")
    path = link_in(letter, settings)

    async def expire(db: Database) -> None:
        async with db.privileged_session() as session:
            await session.execute(
                text("UPDATE account_links SET expires_at = now() - :d"), {"d": timedelta(1)}
            )

    run_in_database(urls_of(world.citizen), expire)
    page = world.citizen.get(path)
    assert page.status_code == 410
    assert "Срок ссылки истёк" in page.text
    assert confirm(world.citizen, path).status_code == 410
    assert sign_in(world.citizen).status_code == 403


def test_a_weak_password_and_a_bad_address_are_named_at_their_fields(world: World) -> None:
    page = sign_up(world.citizen, "not-an-address", password="short", confirmation="other")
    assert page.status_code == 422
    for field in ("email", "password", "confirmation"):
        assert f'href="#f-{field}"' in page.text
    assert "пароли не совпадают" in page.text


def test_messages_written_before_with_the_address_are_claimed_on_confirmation(
    world: World, settings: Settings
) -> None:
    receipt = world.submit()
    someone_else = world.submit(applicant={"name": "Пётр", "email": "petr@mail.example.ru"})
    signed_up(world.citizen, settings)
    page = world.citizen.get("/my")
    assert receipt["number"] in page.text
    assert someone_else["number"] not in page.text
