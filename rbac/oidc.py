"""Single sign-on through OpenID Connect providers (ESIA-style), with authlib's Starlette client.

Each configured provider is discovered from its issuer; the authorization-code flow always
uses PKCE (S256), ``state`` and ``nonce``. The ID token is checked for signature, issuer,
audience, expiry and nonce; a provider whose discovery document names another issuer is
refused before anyone is sent to it (OpenID Connect Discovery, section 4.3).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx2
from authlib.common.errors import AuthlibBaseError
from authlib.integrations.starlette_client import OAuth, OAuthError
from authlib.integrations.starlette_client.apps import StarletteOAuth2App
from starlette.requests import Request
from starlette.responses import RedirectResponse

from rbac.oidc_config import OidcProviderConfig


class ProviderRefused(Exception):
    """The sign-in through a provider failed; the message says why in the person's terms."""


class ProviderUnavailable(ProviderRefused):
    """The provider could not be reached or is misconfigured (our side: 502)."""


@dataclass(frozen=True)
class ProviderIdentity:
    """Who the provider vouched for, from a checked ID token."""

    provider: str
    issuer: str
    subject: str
    email: str | None
    email_verified: bool
    name: str | None
    id_token: str


class IdentityProviders:
    """The configured providers; the web layer asks it to start and finish sign-ins."""

    def __init__(self, configs: list[OidcProviderConfig]) -> None:
        self.configs = {c.name: c for c in configs}
        self._oauth = OAuth()
        for config in configs:
            self._oauth.register(
                name=config.name,
                client_id=config.client_id,
                client_secret=config.client_secret,
                server_metadata_url=config.metadata_url,
                client_kwargs={
                    "scope": config.scopes,
                    "code_challenge_method": "S256",
                    "timeout": 10.0,
                },
            )

    def _client(self, name: str) -> tuple[OidcProviderConfig, StarletteOAuth2App]:
        config = self.configs.get(name)
        if config is None:
            raise ProviderRefused(f"no sign-in provider {name!r} is configured")
        client = self._oauth.create_client(name)
        assert isinstance(client, StarletteOAuth2App)
        return config, client

    async def _metadata(self, config: OidcProviderConfig, client: Any) -> dict[str, Any]:
        try:
            metadata: dict[str, Any] = await client.load_server_metadata()
        except (httpx2.HTTPError, ValueError) as exc:
            raise ProviderUnavailable(
                f"{config.title} cannot be reached right now ({type(exc).__name__}); try later"
            ) from None
        announced = metadata.get("issuer")
        if str(announced or "").rstrip("/") != config.issuer:
            client.server_metadata.clear()  # look again next time: it may have been fixed
            raise ProviderUnavailable(
                f"{config.title} announces issuer {announced!r}, but is configured "
                f"as {config.issuer!r}: sign-in through it is refused until that is fixed"
            )
        return metadata

    async def start(self, request: Request, name: str, redirect_uri: str) -> RedirectResponse:
        """Send the browser to the provider; ``state``, ``nonce`` and the PKCE verifier wait in
        the (signed) session cookie until the callback."""
        config, client = self._client(name)
        await self._metadata(config, client)
        response: RedirectResponse = await client.authorize_redirect(request, redirect_uri)
        return response

    async def finish(self, request: Request, name: str) -> ProviderIdentity:
        """Check the provider's answer and return who it vouched for."""
        config, client = self._client(name)
        metadata = await self._metadata(config, client)
        try:
            token = await client.authorize_access_token(
                request,
                claims_options={
                    "iss": {"essential": True, "values": [metadata["issuer"]]},
                    "aud": {"essential": True, "values": [config.client_id]},
                    "exp": {"essential": True},
                },
                leeway=config.leeway_seconds,
            )
        except OAuthError as exc:
            raise ProviderRefused(_oauth_reason(config, exc)) from None
        except AuthlibBaseError as exc:
            raise ProviderRefused(_token_reason(config, exc)) from None
        except httpx2.HTTPError as exc:
            raise ProviderUnavailable(
                f"{config.title} cannot be reached right now ({type(exc).__name__}); try later"
            ) from None
        except Exception as exc:  # joserfc's errors: signature, claims, expiry
            if type(exc).__module__.startswith("joserfc"):
                raise ProviderRefused(_token_reason(config, exc)) from None
            raise
        claims = token.get("userinfo")
        if not claims or "id_token" not in token:
            raise ProviderRefused(f"{config.title} sent no ID token: sign-in refused")
        return ProviderIdentity(
            provider=name,
            issuer=config.issuer,
            subject=str(claims["sub"]),
            email=(claims.get("email") or None),
            email_verified=claims.get("email_verified") is True,
            name=claims.get("name")
            or " ".join(p for p in (claims.get("given_name"), claims.get("family_name")) if p)
            or None,
            id_token=token["id_token"],
        )

    async def logout_url(
        self, name: str, *, id_token: str | None, post_logout_redirect_uri: str
    ) -> str | None:
        """Where to send the browser to end the provider's session too (RP-initiated logout),
        or None when the provider offers no such endpoint."""
        config, client = self._client(name)
        try:
            metadata = await self._metadata(config, client)
        except ProviderUnavailable:
            return None
        endpoint = metadata.get("end_session_endpoint")
        if not endpoint:
            return None
        params = {
            "post_logout_redirect_uri": post_logout_redirect_uri,
            "client_id": config.client_id,
        }
        if id_token:
            params["id_token_hint"] = id_token
        return str(httpx2.URL(endpoint, params=params))


def _oauth_reason(config: OidcProviderConfig, exc: OAuthError) -> str:
    error = getattr(exc, "error", None) or "error"
    if error == "mismatching_state":
        return (
            "this sign-in link was already used, has expired or did not start here: "
            "start signing in again"
        )
    if error == "access_denied":
        return f"{config.title} did not let you in (access denied)"
    description = getattr(exc, "description", None)
    detail = f" ({description})" if description else ""
    return f"{config.title} refused the sign-in: {error}{detail}"


def _token_reason(config: OidcProviderConfig, exc: Exception) -> str:
    kind = type(exc).__name__
    if kind == "ExpiredTokenError":
        return f"{config.title} sent an ID token that has already expired: sign in again"
    claim = getattr(exc, "claim", None) or ""
    if claim == "nonce" or "nonce" in str(exc):
        return f"{config.title} sent an ID token for another sign-in (nonce): sign in again"
    if claim in {"iss", "aud", "azp"} or any(c in str(exc) for c in ("iss", "aud", "azp")):
        return f"{config.title} sent an ID token meant for someone else ({claim or exc}): refused"
    return f"{config.title} sent an ID token that does not check out ({kind}): refused"
