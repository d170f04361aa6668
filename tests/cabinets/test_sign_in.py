"""Signing in with a password: invitations and resets by one-time link, sessions that end
everywhere, CSRF on every state-changing form, throttling, and the headers every page carries.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import text
from starlette.testclient import TestClient
from structlog.testing import capture_logs

from cabinets.app import SESSION_COOKIE, create_app
from cabinets.notifications.delivery import deliver_account_mail
from rbac.account_links import LinkPurpose
from rbac.models import UserStatus
from tenancy.accounts import service as accounts
from tenancy.database import Database, DatabaseUrls
from tenancy.settings import Settings
from tenancy.staff import service as staff
from tenancy.staff.schemas import StaffInput
from tenancy.tenants import service as tenants
from tests.cabinets.mailbox import letters
from tests.databases import run_in_database

PASSWORD = "correct horse battery"
EMAIL = "anna@school.example.ru"
PROBLEM = "application/problem+json"


def set_password(urls: DatabaseUrls, email: str, password: str) -> None:
    async def work(db: Database) -> None:
        [invitation] = await accounts.invite_staff(db, [email], base_url="http://x", actor="t")
        link = invitation.link.rsplit("/", 1)[1]
        await accounts.set_password_with_link(db, link, LinkPurpose.INVITATION, password, password)

    run_in_database(urls, work)


@pytest.fixture
def people(clean_database: DatabaseUrls, tenant_data: Callable[..., Any]) -> DatabaseUrls:
    """Anna (viewer in school-1, with a password) and Boris (invited, no password yet)."""

    async def build(db: Database) -> None:
        await tenants.create_tenants(db, [tenant_data("school-1")], actor="t")
        await staff.add_staff(
            db,
            [StaffInput(email=EMAIL, name="Anna"), StaffInput(email="boris@x.ru", name="Boris")],
            actor="t",
        )
        await staff.grant_role(db, EMAIL, "school-1", "viewer", actor="t")

    run_in_database(clean_database, build)
    set_password(clean_database, EMAIL, PASSWORD)
    return clean_database


@pytest.fixture
def client(settings: Settings, people: DatabaseUrls) -> Iterator[TestClient]:
    with TestClient(create_app(settings)) as client:
        yield client


def form_token(client: TestClient, path: str = "/auth/sign-in") -> str:
    page = client.get(path)
    assert page.status_code == 200
    found = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert found
    return found.group(1)


def sign_in(client: TestClient, email: str = EMAIL, password: str = PASSWORD) -> Any:
    token = form_token(client)
    return client.post(
        "/auth/sign-in",
        data={"email": email, "password": password, "csrf_token": token, "next": "/auth/account"},
        follow_redirects=False,
    )


def test_a_password_sign_in_starts_a_fresh_session_and_sign_out_ends_it(
    client: TestClient,
) -> None:
    form_token(client)
    before = client.cookies.get(SESSION_COOKIE)
    response = sign_in(client)
    assert response.status_code == 303
    assert response.headers["location"] == "/auth/account"
    cookie = response.headers["set-cookie"]
    assert "httponly" in cookie.lower()
    assert "samesite=lax" in cookie.lower()
    assert "secure" not in cookie.lower()  # plain http here; see the https test
    after = client.cookies.get(SESSION_COOKIE)
    assert after
    assert after != before
    me = client.get("/api/v1/me").json()
    assert (me["email"], me["grants"][0]["role"]) == (EMAIL, "viewer")
    assert "Anna" in client.get("/auth/account").text

    stolen_copy = dict(client.cookies)
    token = form_token(client, "/auth/account")
    out = client.post("/auth/sign-out", data={"csrf_token": token}, follow_redirects=False)
    assert (out.status_code, out.headers["location"]) == (303, "/auth/signed-out")
    assert client.get("/api/v1/me").status_code == 401
    # The session ended in the database: a copy of the old cookie is worth nothing.
    client.cookies.clear()
    client.cookies.update(stolen_copy)
    assert client.get("/api/v1/me").status_code == 401


def test_a_wrong_password_gets_401_and_no_session(client: TestClient) -> None:
    response = sign_in(client, password="not the password")
    assert response.status_code == 401
    assert "Неверная эл. почта или пароль" in response.text
    assert client.get("/api/v1/me").status_code == 401
    unknown = client.post(
        "/auth/sign-in", json={"email": "nobody@x.ru", "password": "whatever it is"}
    )
    assert unknown.status_code == 401
    assert unknown.headers["content-type"] == PROBLEM
    assert unknown.json()["detail"] == "wrong e-mail or password"  # the same for both


def test_json_sign_in_returns_the_csrf_token_later_writes_need(client: TestClient) -> None:
    signed = client.post("/auth/sign-in", json={"email": EMAIL, "password": PASSWORD})
    assert signed.status_code == 200
    token = signed.json()["csrf_token"]
    refused = client.post("/auth/sign-out", json={})
    assert refused.status_code == 403
    assert "CSRF" in refused.json()["detail"]
    done = client.post("/auth/sign-out", json={}, headers={"X-CSRF-Token": token})
    assert done.json() == {"signed_out": True, "logout_url": None}


def test_every_state_changing_form_needs_the_csrf_token(client: TestClient) -> None:
    no_token = client.post(
        "/auth/sign-in", data={"email": EMAIL, "password": PASSWORD}, follow_redirects=False
    )
    assert no_token.status_code == 403
    assert "reload the page" in no_token.json()["detail"]
    form_token(client)
    forged = client.post(
        "/auth/sign-in",
        data={"email": EMAIL, "password": PASSWORD, "csrf_token": "guessed"},
        follow_redirects=False,
    )
    assert forged.status_code == 403
    assert client.get("/api/v1/me").status_code == 401
    assert sign_in(client).status_code == 303
    # Signed in, the sign-out form needs the new token: the one before sign-in was replaced.
    assert client.post("/auth/sign-out", data={"csrf_token": "guessed"}).status_code == 403
    assert client.get("/api/v1/me").status_code == 200


def test_failed_sign_ins_are_throttled_per_account_with_a_clear_message(
    client: TestClient,
) -> None:
    for _ in range(5):
        assert sign_in(client, password="wrong guess").status_code == 401
    throttled = sign_in(client)  # even the right password waits now
    assert throttled.status_code == 429
    assert int(throttled.headers["retry-after"]) > 800
    assert "неудачных попыток входа в эту учётную запись" in throttled.text
    assert "восстановите пароль" in throttled.text
    assert client.get("/api/v1/me").status_code == 401
    # Another account from the same address is not locked by Anna's failures.
    other = sign_in(client, email="boris@x.ru", password="anything at all")
    assert other.status_code == 401


def test_failed_sign_ins_are_throttled_per_address(client: TestClient) -> None:
    for i in range(30):
        response = client.post(
            "/auth/sign-in", json={"email": f"probe{i}@x.ru", "password": "password1"}
        )
        assert response.status_code == 401
    blocked = client.post("/auth/sign-in", json={"email": EMAIL, "password": PASSWORD})
    assert blocked.status_code == 429
    assert "from your address" in blocked.json()["detail"]


def test_a_deactivated_person_cannot_sign_in_and_their_sessions_stop(
    client: TestClient, people: DatabaseUrls
) -> None:
    assert sign_in(client).status_code == 303
    run_in_database(
        people,
        lambda db: staff.set_staff_status(db, EMAIL, UserStatus.DEACTIVATED, actor="t"),
    )
    assert client.get("/api/v1/me").status_code == 401
    refused = client.post("/auth/sign-in", json={"email": EMAIL, "password": PASSWORD})
    assert refused.status_code == 403
    assert "deactivated" in refused.json()["detail"]


async def kept_letters(db: Database) -> list[Any]:
    async with db.privileged_session() as session:
        return list((await session.execute(text("SELECT payload FROM account_mail"))).scalars())


def test_a_password_reset_link_is_mailed_works_once_and_ends_other_sessions(
    client: TestClient, people: DatabaseUrls, settings: Settings
) -> None:
    elsewhere = TestClient(client.app)
    assert sign_in(elsewhere).status_code == 303
    token = form_token(client, "/auth/reset")
    with capture_logs() as logs:
        sent = client.post("/auth/reset", data={"email": EMAIL, "csrf_token": token})
        unknown = client.post("/auth/reset", data={"email": "ghost@x.ru", "csrf_token": token})
    assert sent.status_code == unknown.status_code == 200
    assert sent.text == unknown.text  # nothing tells whether the account exists
    assert "/auth/reset/" not in str(logs)  # the link is as good as a password: never logged
    run_in_database(people, lambda db: deliver_account_mail(db, settings))
    [letter] = [m for m in letters(settings) if m["Subject"] == "Смена пароля в Приёмной"]
    assert letter["To"] == EMAIL  # the known account only
    found = re.search(r"(\S+/auth/reset/\S+)", letter.get_content())
    assert found
    assert found[1].startswith(f"{settings.base_url}/auth/reset/")
    path = found[1].removeprefix(settings.base_url)
    assert all(kept == {} for kept in run_in_database(people, kept_letters))  # links not kept

    page = client.get(path)
    assert page.status_code == 200
    assert EMAIL in page.text
    token = form_token(client, path)
    weak = client.post(path, data={"password": "short", "confirmation": "x", "csrf_token": token})
    assert weak.status_code == 422
    assert "use at least 10 characters" in weak.text
    assert "the two passwords differ" in weak.text
    new = "a much better passphrase"
    done = client.post(
        path,
        data={"password": new, "confirmation": new, "csrf_token": token},
        follow_redirects=False,
    )
    assert done.status_code == 303
    assert elsewhere.get("/api/v1/me").status_code == 401  # every session ended
    assert sign_in(client, password=PASSWORD).status_code == 401
    assert sign_in(client, password=new).status_code == 303
    again = client.get(path)
    assert again.status_code == 410
    assert "already used" in again.text


def test_an_invitation_lets_a_new_staff_member_set_a_password_until_it_expires(
    client: TestClient, people: DatabaseUrls, settings: Settings
) -> None:
    [expired] = run_in_database(
        people,
        lambda db: accounts.invite_staff(
            db, ["boris@x.ru"], base_url=settings.base_url, lifetime=timedelta(0), actor="t"
        ),
    )
    stale = client.get(expired.link.removeprefix(settings.base_url))
    assert stale.status_code == 410
    assert "expired" in stale.text
    [fresh] = run_in_database(
        people,
        lambda db: accounts.invite_staff(db, ["boris@x.ru"], base_url=settings.base_url, actor="t"),
    )
    run_in_database(people, lambda db: deliver_account_mail(db, settings))
    invited = [m for m in letters(settings) if m["To"] == "boris@x.ru"]
    assert {m["Subject"] for m in invited} == {"Приглашение в Приёмную"}
    assert any(fresh.link in m.get_content() for m in invited)  # each invitation is mailed
    path = fresh.link.removeprefix(settings.base_url)
    token = form_token(client, path)
    password = "boris sets his own"
    response = client.post(
        path, data={"password": password, "confirmation": password, "csrf_token": token}
    )
    assert response.status_code == 200  # followed to the sign-in page
    assert sign_in(client, email="boris@x.ru", password=password).status_code == 303


def test_pages_and_api_carry_security_headers(client: TestClient) -> None:
    for path in ("/auth/sign-in", "/api/v1/catalog/topics?territory=1", "/healthz"):
        headers = client.get(path).headers
        assert "frame-ancestors 'none'" in headers["content-security-policy"]
        assert headers["x-content-type-options"] == "nosniff"
        assert headers["referrer-policy"] == "no-referrer"
        assert "strict-transport-security" not in headers  # plain http


def test_under_https_cookies_are_secure_and_hsts_is_sent(
    settings: Settings, people: DatabaseUrls
) -> None:
    secure = settings.model_copy(update={"base_url": "https://priemnaya.example.ru"})
    with TestClient(create_app(secure), base_url="https://testserver") as client:
        page = client.get("/auth/sign-in")
        assert page.headers["strict-transport-security"].startswith("max-age=")
        assert "secure" in page.headers["set-cookie"].lower()
