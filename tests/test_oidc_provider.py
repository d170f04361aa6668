"""The OpenID provider harness works: sign-in with PKCE, ID token claims, expiry, logout."""

from __future__ import annotations

import base64
import hashlib
import secrets
import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlencode

import httpx2
import pytest
from joserfc import jwt
from joserfc.errors import ExpiredTokenError
from joserfc.jwk import KeySet

from tests.oidc_provider import (
    OidcAccount,
    OidcClient,
    ProviderPageError,
    RunningProvider,
    callback_params,
    end_session_at_provider,
    oidc_provider,
    sign_in_at_provider,
)

REDIRECT_URI = "http://testserver/auth/callback"
POST_LOGOUT_URI = "http://testserver/signed-out"
CLIENT = OidcClient(
    client_id="priemnaya",
    client_secret="client-secret",
    redirect_uris=[REDIRECT_URI],
    post_logout_redirect_uris=[POST_LOGOUT_URI],
)
SHORT_LIVED_CLIENT = OidcClient(
    client_id="short-lived",
    client_secret="other-secret",
    redirect_uris=[REDIRECT_URI],
    id_token_ttl=1,
)
ANNA = OidcAccount(
    sub="anna",
    email="anna@example.org",
    name="Anna Ivanova",
    given_name="Anna",
    family_name="Ivanova",
)
BORIS = OidcAccount(sub="boris", email="boris@example.org", name="Boris", password="b0ris")


@pytest.fixture(scope="module")
def provider() -> Iterator[RunningProvider]:
    with oidc_provider([CLIENT, SHORT_LIVED_CLIENT], [ANNA, BORIS]) as running:
        yield running


@pytest.fixture
def browser() -> Iterator[httpx2.Client]:
    with httpx2.Client(timeout=10.0) as client:
        yield client


def pkce_pair() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    digest = hashlib.sha256(verifier.encode()).digest()
    return verifier, base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def authorize_url(provider: RunningProvider, client: OidcClient, **params: str) -> str:
    query = {
        "response_type": "code",
        "client_id": client.client_id,
        "redirect_uri": client.redirect_uris[0],
        "scope": "openid email profile",
        **params,
    }
    return f"{provider.metadata['authorization_endpoint']}?{urlencode(query)}"


def sign_in(
    provider: RunningProvider,
    browser: httpx2.Client,
    login: str,
    client: OidcClient = CLIENT,
    password: str = "",
) -> dict[str, Any]:
    """The whole authorization-code flow; returns the token response plus the sent nonce."""
    verifier, challenge = pkce_pair()
    state, nonce = secrets.token_urlsafe(16), secrets.token_urlsafe(16)
    url = authorize_url(
        provider,
        client,
        state=state,
        nonce=nonce,
        code_challenge=challenge,
        code_challenge_method="S256",
    )
    callback = sign_in_at_provider(browser, url, login=login, password=password)
    assert callback.startswith(client.redirect_uris[0] + "?")
    params = callback_params(callback)
    assert params["state"] == state
    assert params["iss"] == provider.issuer
    response = httpx2.post(
        provider.metadata["token_endpoint"],
        data={
            "grant_type": "authorization_code",
            "code": params["code"],
            "redirect_uri": client.redirect_uris[0],
            "code_verifier": verifier,
        },
        auth=(client.client_id, client.client_secret),
    )
    assert response.status_code == 200, response.text
    tokens: dict[str, Any] = response.json()
    tokens["nonce"] = nonce
    return tokens


def decode_id_token(provider: RunningProvider, id_token: str) -> dict[str, Any]:
    # joserfc types the JWKS as a TypedDict; the provider's JSON is exactly that shape.
    keys = KeySet.import_key_set(provider.jwks())  # type: ignore[arg-type]
    claims: dict[str, Any] = jwt.decode(id_token, keys, algorithms=["RS256"]).claims
    return claims


def test_authorization_code_flow_with_pkce(
    provider: RunningProvider, browser: httpx2.Client
) -> None:
    assert provider.metadata["issuer"] == provider.issuer
    assert provider.metadata["code_challenge_methods_supported"] == ["S256"]

    tokens = sign_in(provider, browser, login="anna@example.org")

    claims = decode_id_token(provider, tokens["id_token"])
    jwt.JWTClaimsRegistry(
        iss={"essential": True, "value": provider.issuer},
        aud={"essential": True, "value": CLIENT.client_id},
        nonce={"essential": True, "value": tokens["nonce"]},
        sub={"essential": True, "value": "anna"},
        email={"essential": True, "value": "anna@example.org"},
        email_verified={"essential": True, "value": True},
        name={"essential": True, "value": "Anna Ivanova"},
    ).validate(claims)


def test_existing_session_signs_in_without_pages(
    provider: RunningProvider, browser: httpx2.Client
) -> None:
    sign_in(provider, browser, login="anna")
    # The provider's session cookie is in the browser: no login form this time, so a wrong
    # login would not matter; the ID token is still Anna's.
    tokens = sign_in(provider, browser, login="nobody")
    assert decode_id_token(provider, tokens["id_token"])["sub"] == "anna"


def test_account_password_is_checked(provider: RunningProvider, browser: httpx2.Client) -> None:
    with pytest.raises(ProviderPageError, match="accept the login"):
        sign_in(provider, browser, login="boris", password="wrong")
    tokens = sign_in(provider, browser, login="boris", password="b0ris")
    assert decode_id_token(provider, tokens["id_token"])["email"] == "boris@example.org"


def test_unknown_login_is_refused(provider: RunningProvider, browser: httpx2.Client) -> None:
    _, challenge = pkce_pair()
    url = authorize_url(
        provider,
        CLIENT,
        state="s",
        code_challenge=challenge,
        nonce="n",
        code_challenge_method="S256",
    )
    with pytest.raises(ProviderPageError, match="Invalid login"):
        sign_in_at_provider(browser, url, login="nobody@example.org")


def test_request_without_pkce_is_refused(provider: RunningProvider, browser: httpx2.Client) -> None:
    callback = sign_in_at_provider(
        browser, authorize_url(provider, CLIENT, state="st", nonce="n"), login="anna"
    )
    params = callback_params(callback)
    assert callback.startswith(REDIRECT_URI + "?")
    assert params["error"] == "invalid_request"
    assert "PKCE" in params["error_description"]
    assert params["state"] == "st"
    assert "code" not in params


def test_denied_consent_returns_access_denied(
    provider: RunningProvider, browser: httpx2.Client
) -> None:
    _, challenge = pkce_pair()
    url = authorize_url(
        provider,
        CLIENT,
        state="st",
        nonce="n",
        code_challenge=challenge,
        code_challenge_method="S256",
    )
    params = callback_params(sign_in_at_provider(browser, url, login="anna", consent=False))
    assert params["error"] == "access_denied"
    assert params["state"] == "st"


def test_unregistered_redirect_uri_shows_error_page(
    provider: RunningProvider, browser: httpx2.Client
) -> None:
    _, challenge = pkce_pair()
    url = authorize_url(
        provider, CLIENT, redirect_uri="http://evil.example/cb", code_challenge=challenge
    )
    with pytest.raises(ProviderPageError, match="redirect_uri") as caught:
        sign_in_at_provider(browser, url, login="anna")
    assert caught.value.status_code == 400


def test_short_client_id_token_ttl(provider: RunningProvider, browser: httpx2.Client) -> None:
    tokens = sign_in(provider, browser, login="anna", client=SHORT_LIVED_CLIENT)
    claims = decode_id_token(provider, tokens["id_token"])
    assert claims["exp"] - claims["iat"] == 1


def test_id_token_expires_with_short_ttl(browser: httpx2.Client) -> None:
    with oidc_provider([CLIENT], [ANNA], id_token_ttl=1) as short:
        tokens = sign_in(short, browser, login="anna")
        claims = decode_id_token(short, tokens["id_token"])
    assert claims["exp"] - claims["iat"] == 1
    registry = jwt.JWTClaimsRegistry()
    registry.validate(claims)  # not yet expired
    time.sleep(2)
    with pytest.raises(ExpiredTokenError):
        registry.validate(claims)


def test_rp_initiated_logout(provider: RunningProvider, browser: httpx2.Client) -> None:
    assert provider.metadata["end_session_endpoint"].startswith(provider.issuer)
    tokens = sign_in(provider, browser, login="anna")
    logout = {
        "id_token_hint": tokens["id_token"],
        "post_logout_redirect_uri": POST_LOGOUT_URI,
        "state": "bye",
    }
    url = f"{provider.metadata['end_session_endpoint']}?{urlencode(logout)}"

    returned = end_session_at_provider(browser, url)

    assert returned == f"{POST_LOGOUT_URI}?state=bye"
    # The provider's session is gone: signing in again shows the login form.
    with pytest.raises(ProviderPageError, match="accept the login"):
        sign_in(provider, browser, login="boris", password="wrong")
