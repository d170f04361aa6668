"""Single sign-on against a real OpenID provider (oidc-provider, started by the tests): the
authorization-code flow with PKCE, linking a provisioned staff member by verified e-mail,
citizens, RP-initiated logout, and every way a provider's answer can be wrong."""

from __future__ import annotations

import html
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit, urlunsplit

import httpx2
import pytest
from sqlalchemy import text
from starlette.testclient import TestClient

from cabinets.app import create_app
from rbac.models import UserStatus
from rbac.oidc_config import OidcProviderConfig
from tenancy.database import Database, DatabaseUrls
from tenancy.settings import Settings
from tenancy.staff import service as staff
from tenancy.staff.schemas import StaffInput
from tenancy.tenants import service as tenants
from tests.databases import run_in_database
from tests.oidc_provider import (
    OidcAccount,
    OidcClient,
    RunningProvider,
    end_session_at_provider,
    oidc_provider,
    sign_in_at_provider,
)

APP = "http://testserver"
CALLBACK = f"{APP}/auth/providers/esia/callback"
CLIENT = OidcClient(
    client_id="priemnaya",
    client_secret="priemnaya-secret",
    redirect_uris=[CALLBACK],
    post_logout_redirect_uris=[f"{APP}/auth/signed-out"],
)
OTHER_APP = OidcClient(
    client_id="other-app", client_secret="other-secret", redirect_uris=[CALLBACK]
)
ANNA = OidcAccount(sub="esia-anna", email="Anna@School.example.ru", name="Анна Петрова")
IVAN = OidcAccount(sub="esia-ivan", email="ivan@mail.example.ru", name="Иван Сидоров")
UNVERIFIED = OidcAccount(sub="esia-unverified", email="who@x.ru", email_verified=False)


@pytest.fixture(scope="module")
def provider() -> Iterator[RunningProvider]:
    with oidc_provider([CLIENT, OTHER_APP], [ANNA, IVAN, UNVERIFIED]) as running:
        yield running


@pytest.fixture(scope="module")
def slow_provider() -> Iterator[RunningProvider]:
    """Mints one-second ID tokens and delivers them 2.5 s later: they arrive expired."""
    with oidc_provider([CLIENT], [IVAN], id_token_ttl=1, token_delay_ms=2500) as running:
        yield running


def esia(provider: RunningProvider, **overrides: Any) -> OidcProviderConfig:
    return OidcProviderConfig.model_validate(
        {
            "name": "esia",
            "title": "Госуслуги",
            "issuer": provider.issuer,
            "client_id": CLIENT.client_id,
            "client_secret": CLIENT.client_secret,
            **overrides,
        }
    )


@pytest.fixture
def staff_member(clean_database: DatabaseUrls, tenant_data: Callable[..., Any]) -> DatabaseUrls:
    """Anna, provisioned as a moderator of school-1, who has never signed in."""

    async def build(db: Database) -> None:
        await tenants.create_tenants(db, [tenant_data("school-1")], actor="t")
        await staff.add_staff(
            db, [StaffInput(email="anna@school.example.ru", name="Анна")], actor="t"
        )
        await staff.grant_role(db, "anna@school.example.ru", "school-1", "moderator", actor="t")

    run_in_database(clean_database, build)
    return clean_database


def app_client(settings: Settings, config: OidcProviderConfig) -> TestClient:
    configured = settings.model_copy(update={"base_url": APP, "oidc_providers": [config]})
    return TestClient(create_app(configured))


@pytest.fixture
def client(
    settings: Settings, staff_member: DatabaseUrls, provider: RunningProvider
) -> Iterator[TestClient]:
    with app_client(settings, esia(provider)) as client:
        yield client


@pytest.fixture
def browser() -> Iterator[httpx2.Client]:
    """The person's browser at the provider (the app itself is reached through TestClient)."""
    with httpx2.Client(timeout=10) as browser:
        yield browser


def start(client: TestClient) -> str:
    response = client.get("/auth/providers/esia?next=/auth/account", follow_redirects=False)
    assert response.status_code == 302, response.text
    return str(response.headers["location"])


def with_params(url: str, **changes: str) -> str:
    parts = urlsplit(url)
    params = {k: v[0] for k, v in parse_qs(parts.query).items()}
    return urlunsplit(parts._replace(query=urlencode(params | changes)))


def back_to_app(client: TestClient, callback: str) -> Any:
    assert callback.startswith(CALLBACK), callback
    return client.get(callback.removeprefix(APP), follow_redirects=False)


def stored_identities(urls: DatabaseUrls) -> list[tuple[str, str, str]]:
    async def read(db: Database) -> list[tuple[str, str, str]]:
        async with db.privileged_session() as session:
            rows = await session.execute(
                text(
                    "SELECT i.subject, u.email, u.kind FROM user_identities i "
                    "JOIN users u ON u.id = i.user_id ORDER BY 1"
                )
            )
            return [tuple(r) for r in rows]

    result: list[tuple[str, str, str]] = run_in_database(urls, read)
    return result


def test_a_provisioned_staff_member_signs_in_and_is_linked_by_verified_email(
    client: TestClient, browser: httpx2.Client, staff_member: DatabaseUrls
) -> None:
    authorize = start(client)
    params = parse_qs(urlsplit(authorize).query)
    assert params["code_challenge_method"] == ["S256"]
    assert params["code_challenge"][0]
    assert params["state"][0]
    assert params["nonce"][0]
    response = back_to_app(client, sign_in_at_provider(browser, authorize, ANNA.sub))
    assert (response.status_code, response.headers["location"]) == (303, "/auth/account")
    me = client.get("/api/v1/me").json()
    assert me["email"] == "anna@school.example.ru"
    assert me["grants"] == [{"tenant": "school-1", "role": "moderator", "regions": []}]
    assert stored_identities(staff_member) == [("esia-anna", "anna@school.example.ru", "staff")]

    # Next time the provider's subject finds her directly, in a new browser session.
    client.cookies.clear()
    again = back_to_app(client, sign_in_at_provider(browser, start(client), ANNA.sub))
    assert again.status_code == 303
    assert client.get("/api/v1/me").json()["email"] == "anna@school.example.ru"


def test_a_citizen_signs_in_through_the_provider_and_becomes_known(
    client: TestClient, browser: httpx2.Client, staff_member: DatabaseUrls
) -> None:
    response = back_to_app(client, sign_in_at_provider(browser, start(client), IVAN.sub))
    assert response.status_code == 303
    me = client.get("/api/v1/me").json()
    assert (me["email"], me["name"], me["grants"]) == ("ivan@mail.example.ru", IVAN.name, [])
    assert ("esia-ivan", "ivan@mail.example.ru", "citizen") in stored_identities(staff_member)


def test_a_forged_state_is_refused_and_no_session_is_created(
    client: TestClient, browser: httpx2.Client
) -> None:
    callback = sign_in_at_provider(browser, start(client), IVAN.sub)
    forged = back_to_app(client, with_params(callback, state="forged-by-an-attacker"))
    assert forged.status_code == 401
    assert "did not start here" in forged.text
    assert client.get("/api/v1/me").status_code == 401


def test_a_replayed_state_is_refused(client: TestClient, browser: httpx2.Client) -> None:
    callback = sign_in_at_provider(browser, start(client), IVAN.sub)
    assert back_to_app(client, callback).status_code == 303
    assert back_to_app(client, callback).status_code == 401  # the same answer again
    with TestClient(client.app) as attacker:  # or someone else's browser
        replayed = back_to_app(attacker, callback)
        assert replayed.status_code == 401
        assert attacker.get("/api/v1/me").status_code == 401


def test_an_id_token_with_a_wrong_nonce_is_refused(
    client: TestClient, browser: httpx2.Client
) -> None:
    authorize = with_params(start(client), nonce="a-nonce-from-another-sign-in")
    response = back_to_app(client, sign_in_at_provider(browser, authorize, IVAN.sub))
    assert response.status_code == 401
    assert "nonce" in response.text
    assert client.get("/api/v1/me").status_code == 401


def test_a_code_issued_to_another_client_is_refused(
    client: TestClient, browser: httpx2.Client
) -> None:
    authorize = with_params(start(client), client_id=OTHER_APP.client_id)
    response = back_to_app(client, sign_in_at_provider(browser, authorize, IVAN.sub))
    assert response.status_code == 401
    assert "refused the sign-in: invalid_grant" in response.text
    assert client.get("/api/v1/me").status_code == 401


def test_an_expired_id_token_is_refused(
    settings: Settings,
    staff_member: DatabaseUrls,
    slow_provider: RunningProvider,
    browser: httpx2.Client,
) -> None:
    with app_client(settings, esia(slow_provider, leeway_seconds=0)) as client:
        response = back_to_app(client, sign_in_at_provider(browser, start(client), IVAN.sub))
        assert response.status_code == 401
        assert "already expired" in response.text
        assert client.get("/api/v1/me").status_code == 401


def test_a_provider_announcing_another_issuer_is_refused_before_anyone_is_sent_there(
    settings: Settings, staff_member: DatabaseUrls, provider: RunningProvider
) -> None:
    impostor = esia(
        provider, issuer="https://esia.gosuslugi.ru", discovery_url=provider.discovery_url
    )
    with app_client(settings, impostor) as client:
        response = client.get("/auth/providers/esia", follow_redirects=False)
        assert response.status_code == 502
        assert f"announces issuer '{provider.issuer}'" in html.unescape(response.text)


def test_a_token_for_another_audience_is_refused(
    settings: Settings,
    staff_member: DatabaseUrls,
    provider: RunningProvider,
    browser: httpx2.Client,
) -> None:
    # The app believes it is "other-app" but holds the secret of neither: the provider refuses
    # to hand it anything meant for "priemnaya".
    confused = esia(provider, client_id=OTHER_APP.client_id)
    with app_client(settings, confused) as client:
        authorize = with_params(start(client), client_id=CLIENT.client_id)
        response = back_to_app(client, sign_in_at_provider(browser, authorize, IVAN.sub))
        assert response.status_code == 401
        assert client.get("/api/v1/me").status_code == 401


def test_an_unverified_email_or_a_deactivated_person_gets_no_session(
    client: TestClient, browser: httpx2.Client, staff_member: DatabaseUrls
) -> None:
    unverified = back_to_app(client, sign_in_at_provider(browser, start(client), UNVERIFIED.sub))
    assert unverified.status_code == 403
    assert "не подтвердил ваш адрес" in unverified.text
    run_in_database(
        staff_member,
        lambda db: staff.set_staff_status(
            db, "anna@school.example.ru", UserStatus.DEACTIVATED, actor="t"
        ),
    )
    browser.cookies.clear()
    deactivated = back_to_app(client, sign_in_at_provider(browser, start(client), ANNA.sub))
    assert deactivated.status_code == 403
    assert "Учётная запись отключена" in deactivated.text
    assert client.get("/api/v1/me").status_code == 401


def test_a_person_who_denies_consent_is_told_so(client: TestClient, browser: httpx2.Client) -> None:
    callback = sign_in_at_provider(browser, start(client), IVAN.sub, consent=False)
    response = back_to_app(client, callback)
    assert response.status_code == 401
    assert "did not let you in" in response.text


def test_signing_out_also_ends_the_providers_session(
    client: TestClient, browser: httpx2.Client, provider: RunningProvider
) -> None:
    assert back_to_app(client, sign_in_at_provider(browser, start(client), IVAN.sub)).status_code
    token = client.get("/auth/account").text.split('name="csrf_token" value="')[1].split('"')[0]
    out = client.post("/auth/sign-out", data={"csrf_token": token}, follow_redirects=False)
    assert out.status_code == 303
    logout = out.headers["location"]
    assert logout.startswith(provider.metadata["end_session_endpoint"])
    assert parse_qs(urlsplit(logout).query)["id_token_hint"][0]
    assert client.get("/api/v1/me").status_code == 401
    back = end_session_at_provider(browser, logout)
    assert back.startswith(f"{APP}/auth/signed-out")
    # The provider forgot the person too: the next sign-in asks for the login again.
    next_time = sign_in_at_provider(browser, start(client), ANNA.sub)
    assert back_to_app(client, next_time).status_code == 303
    assert client.get("/api/v1/me").json()["email"] == "anna@school.example.ru"
