"""One OpenID Connect provider as the operator configures it, apart from the client that
talks to it, so that reading the settings does not load the web stack."""

from __future__ import annotations

from pydantic import BaseModel, Field, field_validator

DEFAULT_SCOPES = "openid email profile"


class OidcProviderConfig(BaseModel):
    """One provider, as configured in ``PRIEMNAYA_OIDC_PROVIDERS`` (a JSON list)."""

    name: str = Field(pattern=r"^[a-z][a-z0-9-]{0,30}$")
    title: str = Field(min_length=1, max_length=80)
    issuer: str
    client_id: str = Field(min_length=1)
    client_secret: str = Field(min_length=1)
    scopes: str = DEFAULT_SCOPES
    discovery_url: str | None = None  # unset: the issuer's /.well-known/openid-configuration
    citizens: bool = True  # whether people unknown to us become citizens on first sign-in
    leeway_seconds: int = Field(default=60, ge=0, le=600)  # clock skew allowed on ID tokens

    @field_validator("issuer")
    @classmethod
    def _issuer(cls, value: str) -> str:
        if not value.startswith(("https://", "http://")):
            raise ValueError("must be the provider's http(s) issuer URL")
        return value.rstrip("/")

    @field_validator("scopes")
    @classmethod
    def _scopes(cls, value: str) -> str:
        if "openid" not in value.split():
            raise ValueError("must include 'openid'")
        return value

    @property
    def metadata_url(self) -> str:
        return self.discovery_url or f"{self.issuer}/.well-known/openid-configuration"
