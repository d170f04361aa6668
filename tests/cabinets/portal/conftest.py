"""A citizen of the message world signing up through the pages: the form, the letter in the
mail sink, the confirmation, and signing in."""

from __future__ import annotations

import re
from typing import Any

from starlette.testclient import TestClient

from cabinets.notifications.delivery import deliver_account_mail, deliver_due
from tenancy.database import DatabaseUrls
from tenancy.settings import Settings
from tests.cabinets.mailbox import letters
from tests.databases import run_in_database

CITIZEN_EMAIL = "ivan@mail.example.ru"  # the message world's citizen writes with it
CITIZEN_PASSWORD = "a long citizen password"


def form_token(client: TestClient, path: str) -> str:
    page = client.get(path)
    found = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert found, page.text
    return found[1]


def sign_up(client: TestClient, email: str = CITIZEN_EMAIL, **changes: str) -> Any:
    form = {"csrf_token": form_token(client, "/auth/sign-up"), "email": email,
            "name": "Иван Петров", "password": CITIZEN_PASSWORD,
            "confirmation": CITIZEN_PASSWORD} | changes  # fmt: skip
    return client.post("/auth/sign-up", data=form)


def urls_of(client: TestClient) -> DatabaseUrls:
    urls: DatabaseUrls = client.app.state.database.urls  # type: ignore[attr-defined]
    return urls


def deliver(client: TestClient, settings: Settings) -> None:
    """The worker's round: account letters and the outbox, into the mail sink."""
    run_in_database(urls_of(client), lambda db: deliver_account_mail(db, settings))
    run_in_database(urls_of(client), lambda db: deliver_due(db, settings))


def letters_to(settings: Settings, email: str, subject: str = "") -> list[Any]:
    return [m for m in letters(settings) if m["To"] == email and subject in m["Subject"]]


def link_in(letter: Any, settings: Settings) -> str:
    found = re.search(r"(\S+/auth/confirm/\S+)", letter.get_content())
    assert found, letter.get_content()
    return str(found[1]).removeprefix(settings.base_url)


def confirm(client: TestClient, path: str) -> Any:
    return client.post(path, data={"csrf_token": form_token(client, "/auth/sign-in")})


def sign_in(client: TestClient, email: str = CITIZEN_EMAIL) -> Any:
    form = {"csrf_token": form_token(client, "/auth/sign-in"), "email": email,
            "password": CITIZEN_PASSWORD, "next": "/my"}  # fmt: skip
    return client.post("/auth/sign-in", data=form, follow_redirects=False)


def signed_up(client: TestClient, settings: Settings, email: str = CITIZEN_EMAIL) -> None:
    """Sign up, confirm by the letter's link and sign in."""
    assert sign_up(client, email).status_code == 200
    deliver(client, settings)
    [letter] = letters_to(settings, email, "Подтвердите адрес")
    assert confirm(client, link_in(letter, settings)).status_code == 200
    assert sign_in(client, email).status_code == 303
