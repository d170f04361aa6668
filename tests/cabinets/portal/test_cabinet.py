"""The citizen's cabinet: every message, newest first, each opening its timeline with the
answer and the rating form; the form filled in from the profile; notifications they choose,
honoured by the outbox, with a one-click unsubscribe in every letter; their personal data."""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import text
from starlette.testclient import TestClient

from tenancy.database import Database
from tenancy.settings import Settings
from tests.cabinets.message_world import World, ok
from tests.cabinets.portal.conftest import (
    CITIZEN_EMAIL,
    deliver,
    form_token,
    letters_to,
    sign_in,
    signed_up,
    urls_of,
)
from tests.databases import run_in_database


def browser_of(world: World) -> TestClient:
    """A second browser for the citizen's pages (the world's own writes through the API)."""
    return TestClient(world.citizen.app)


def answer(world: World, receipt: dict[str, Any]) -> None:
    desks = world.desks
    message = ok(desks["moderator"].act(world.message_of(receipt), "accept"))
    message = ok(desks["coordinator"].act(message, "assign", executor="exec@roads.example.ru"))
    message = ok(desks["executor"].act(message, "submit-answer", text="Яма заделана 3 июня."))
    ok(desks["approver"].act(message, "approve-answer"))


def test_without_sign_in_the_cabinet_leads_to_the_sign_in_page(world: World) -> None:
    page = world.citizen.get("/my", follow_redirects=False)
    assert page.status_code == 303
    assert page.headers["location"] == "/auth/sign-in?next=%2Fmy"


def test_the_cabinet_lists_every_message_newest_first_and_opens_its_timeline(
    world: World, settings: Settings
) -> None:
    first = world.submit(summary="Первая яма")
    second = world.submit(summary="Вторая яма")
    me = browser_of(world)
    signed_up(me, settings)
    page = me.get("/my")
    assert page.headers["cache-control"] == "no-store"
    assert page.text.index(second["number"]) < page.text.index(first["number"])
    assert "Organization north-roads" in page.text
    answer(world, first)
    timeline = me.get(f"/my/messages/{first['number']}")
    assert timeline.status_code == 200
    assert "Яма заделана 3 июня." in timeline.text
    assert f'action="/my/messages/{first["number"]}/rating"' in timeline.text
    rated = me.post(
        f"/my/messages/{first['number']}/rating",
        data={"csrf_token": form_token(me, "/my"), "rating": "5"},
        follow_redirects=False,
    )
    assert rated.status_code == 303
    assert "Спасибо: оценка сохранена" in me.get(rated.headers["location"]).text


def test_someone_elses_message_is_not_found_in_the_cabinet(
    world: World, settings: Settings
) -> None:
    theirs = world.submit(applicant={"name": "Пётр", "email": "petr@mail.example.ru"})
    me = browser_of(world)
    signed_up(me, settings)
    assert me.get(f"/my/messages/{theirs['number']}").status_code == 404


def test_a_signed_in_citizens_form_is_filled_in_from_the_profile(
    world: World, settings: Settings
) -> None:
    me = browser_of(world)
    signed_up(me, settings)
    page = me.get("/write?territory=46701101&topic=pothole")
    assert 'value="Иван Петров"' in page.text
    assert f'value="{CITIZEN_EMAIL}"' in page.text


def test_only_the_answer_is_mailed_when_the_citizen_chooses_so(
    world: World, settings: Settings
) -> None:
    receipt = world.submit()
    me = browser_of(world)
    signed_up(me, settings)
    deliver(world.citizen, settings)
    before = len(letters_to(settings, CITIZEN_EMAIL, "Обращение №"))  # its receipt
    chosen = me.post(
        "/my/notifications",
        data={"csrf_token": form_token(me, "/my/notifications"), "email": "answers"},
        follow_redirects=False,
    )
    assert chosen.status_code == 303
    page = me.get("/my/notifications")
    assert re.search(r'value="answers" checked', page.text)
    answer(world, receipt)
    deliver(world.citizen, settings)
    mailed = letters_to(settings, CITIZEN_EMAIL, "Обращение №")[before:]
    assert [m["Subject"] for m in mailed] == [f"Обращение № {receipt['number']}: Рассмотрено"]
    [letter] = mailed
    unsubscribe = letter["List-Unsubscribe"].strip("<>")
    assert letter["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert unsubscribe in letter.get_content()


def test_the_one_click_unsubscribe_stops_every_letter_without_sign_in(
    world: World, settings: Settings
) -> None:
    world.submit()
    deliver(world.citizen, settings)
    [letter] = letters_to(settings, CITIZEN_EMAIL, "Обращение №")
    link = letter["List-Unsubscribe"].strip("<>").removeprefix(settings.base_url)
    # As a mail program posts it: no session, no CSRF token (RFC 8058).
    done = world.citizen.post(link, data={"List-Unsubscribe": "One-Click"})
    assert done.status_code == 200
    assert "Письма больше не придут" in done.text
    world.submit()
    deliver(world.citizen, settings)
    assert len(letters_to(settings, CITIZEN_EMAIL, "Обращение №")) == 1
    forged = world.citizen.post(link[:-3] + "abc", data={})
    assert forged.status_code == 404


def test_a_legal_entity_with_a_bad_inn_is_named_at_the_field_and_nothing_is_stored(
    world: World, settings: Settings
) -> None:
    me = browser_of(world)
    signed_up(me, settings)
    token = form_token(me, "/my/data")
    page = me.post(
        "/my/data",
        data={"csrf_token": token, "name": "ООО Ромашка", "applicant_kind": "legal",
              "organization": "ООО Ромашка", "inn": "7707083894"},
    )  # fmt: skip
    assert page.status_code == 422
    assert 'href="#f-inn"' in page.text
    assert "ИНН неверный" in page.text
    assert "Иван Петров" in me.get("/my/data").text

    async def profiles(db: Database) -> int:
        async with db.privileged_session() as session:
            found = await session.execute(text("SELECT count(*) FROM citizen_profiles"))
            return int(found.scalar_one())

    assert run_in_database(urls_of(world.citizen), profiles) == 0
    corrected = me.post(
        "/my/data",
        data={"csrf_token": token, "name": "Иван Петров", "applicant_kind": "legal",
              "organization": "ООО Ромашка", "inn": "7707083893", "phone": "+7 900 000-00-00"},
        follow_redirects=False,
    )  # fmt: skip
    assert corrected.status_code == 303
    form = me.get("/write?territory=46701101&topic=pothole")
    assert 'value="7707083893"' in form.text
    assert 'value="+7 900 000-00-00"' in form.text


def test_withdrawing_consent_closes_the_account_and_keeps_the_record(
    world: World, settings: Settings
) -> None:
    world.submit()
    me = browser_of(world)
    signed_up(me, settings)
    token = form_token(me, "/my/data")
    unsure = me.post("/my/data/withdrawal", data={"csrf_token": token})
    assert unsure.status_code == 422
    assert 'href="#f-sure"' in unsure.text
    done = me.post("/my/data/withdrawal", data={"csrf_token": token, "sure": "yes"})
    assert done.status_code == 200
    assert "Открытых обращений: 1" in done.text
    assert me.get("/my", follow_redirects=False).status_code == 303
    assert sign_in(me).status_code == 401  # the password is gone with the account

    async def withdrawals(db: Database) -> list[Any]:
        async with db.privileged_session() as session:
            found = await session.execute(
                text("SELECT email, open_messages FROM consent_withdrawals")
            )
            return [tuple(r) for r in found]

    assert run_in_database(urls_of(world.citizen), withdrawals) == [(CITIZEN_EMAIL, 1)]
