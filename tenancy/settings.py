"""Settings from the environment (prefix ``PRIEMNAYA_``), validated once at start.

A bad or missing setting fails here, naming the variable, so that nothing fails mid-request.
"""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

from pydantic import Field, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from rbac.oidc_config import OidcProviderConfig

ENV_PREFIX = "PRIEMNAYA_"
SECRET_KEY_FILE = "secret_key"  # noqa: S105 (a file name)
MIN_SECRET_KEY_LENGTH = 32


class SettingsError(Exception):
    """One or more settings are wrong; each line names the environment variable."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("invalid configuration:\n" + "\n".join(f"  {p}" for p in problems))


def _check_postgres_url(value: str | None, variable: str) -> str | None:
    if value is None or value == "":
        return None
    scheme = urlsplit(value).scheme
    if scheme not in {"postgresql", "postgresql+psycopg", "postgres"}:
        raise ValueError(
            f"must be a postgresql:// or postgresql+psycopg:// URL (got scheme {scheme!r}); "
            f"see {variable} in the README"
        )
    return value


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, extra="ignore", frozen=True)

    database_url: str | None = Field(
        default=None,
        description="Owner connection (migrations, provisioning, operator work). "
        "Unset: the embedded PostgreSQL inside HOME.",
    )
    app_database_url: str | None = Field(
        default=None,
        description="Least-privilege connection for the web app and tenant work "
        "(a role that owns nothing and has no BYPASSRLS). Unset: DATABASE_URL with "
        "the user replaced by `priemnaya_app`.",
    )
    listen_database_url: str | None = Field(
        default=None,
        description="A direct connection (not through a transaction pooler) on which each "
        "process LISTENs for policy and routing changes. Unset: APP_DATABASE_URL.",
    )
    replica_database_url: str | None = Field(
        default=None,
        description="The app role on a streaming replica (a hot standby) of the database: the "
        "inbox lists, counts and search, the reports and the rating read there. Unset: no "
        "replica, everything on APP_DATABASE_URL.",
    )
    replica_max_lag_seconds: float = Field(
        default=5.0,
        ge=0.5,
        le=3600,
        description="Reads go to the primary while the replica's replay is further behind.",
    )
    transaction_pooler: bool = Field(
        default=False,
        description="DATABASE_URL and APP_DATABASE_URL go through a pooler in transaction mode "
        "(PgBouncer): no server-side prepared statements; LISTEN_DATABASE_URL is required.",
    )
    home: Path = Field(default=Path(".priemnaya"), description="State directory.")
    base_url: str = Field(default="http://127.0.0.1:8000", description="Public URL.")
    secret_key: str | None = Field(default=None, description="Signing key, 32+ characters.")
    session_hours: int = Field(
        default=12, ge=1, le=24 * 30, description="A browser session ends after this idle time."
    )
    intake_per_address: int = Field(
        default=30, ge=0, description="Messages one address may submit in an hour (0: no limit)."
    )
    intake_per_applicant: int = Field(
        default=10,
        ge=0,
        description="Messages one applicant (e-mail or phone) may submit in an hour (0: no limit).",
    )
    outbox_keep_days: int = Field(
        default=30,
        ge=1,
        le=3650,
        description="Delivered notifications and account letters are deleted after this many "
        "days (dead letters stay until retried).",
    )
    database_pool_size: int = Field(
        default=20,
        ge=1,
        le=500,
        description="Database connections a web process keeps open; under more concurrent "
        "requests it opens up to as many again for the moment.",
    )
    max_body_bytes: int = Field(
        default=1 << 20,
        ge=1024,
        le=1 << 30,
        description="Largest JSON or form body a request may send (files have their own limits).",
    )
    webhook_private_addresses: bool = Field(
        default=False,
        description="Webhook subscriptions may point at loopback or private addresses "
        "(a receiver inside the same network, a developer's machine).",
    )
    oidc_providers: list[OidcProviderConfig] = Field(
        default_factory=list,
        description="OpenID Connect providers for single sign-on, as a JSON list.",
    )

    s3_endpoint: str | None = None
    s3_access_key: str | None = None
    s3_secret_key: str | None = None
    s3_bucket: str = "priemnaya"
    s3_region: str | None = None
    s3_secure: bool = True
    s3_public_endpoint: str | None = Field(
        default=None, description="The S3 address browsers use, when it differs (host:port)."
    )
    clamd_address: str | None = Field(
        default=None, description="clamd to scan uploads: unix socket path or host:port."
    )

    smtp_host: str | None = None
    smtp_port: int = Field(default=587, ge=1, le=65535)
    smtp_username: str | None = None
    smtp_password: str | None = None
    smtp_from: str = "priemnaya@localhost"
    smtp_starttls: bool = True

    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    log_format: Literal["auto", "json", "console"] = "auto"

    @field_validator("database_url")
    @classmethod
    def _database_url(cls, value: str | None) -> str | None:
        return _check_postgres_url(value, "PRIEMNAYA_DATABASE_URL")

    @field_validator("app_database_url")
    @classmethod
    def _app_database_url(cls, value: str | None) -> str | None:
        return _check_postgres_url(value, "PRIEMNAYA_APP_DATABASE_URL")

    @field_validator("listen_database_url")
    @classmethod
    def _listen_database_url(cls, value: str | None) -> str | None:
        return _check_postgres_url(value, "PRIEMNAYA_LISTEN_DATABASE_URL")

    @field_validator("replica_database_url")
    @classmethod
    def _replica_database_url(cls, value: str | None) -> str | None:
        return _check_postgres_url(value, "PRIEMNAYA_REPLICA_DATABASE_URL")

    @field_validator("base_url")
    @classmethod
    def _base_url(cls, value: str) -> str:
        parts = urlsplit(value)
        if parts.scheme not in {"http", "https"} or not parts.netloc:
            raise ValueError("must be an absolute http:// or https:// URL")
        return value.rstrip("/")

    @field_validator("secret_key")
    @classmethod
    def _secret_key(cls, value: str | None) -> str | None:
        if value is not None and len(value) < MIN_SECRET_KEY_LENGTH:
            raise ValueError(f"must be at least {MIN_SECRET_KEY_LENGTH} characters long")
        return value

    @model_validator(mode="after")
    def _consistent(self) -> Settings:
        if self.database_url and not self.secret_key:
            raise ValueError(
                "PRIEMNAYA_SECRET_KEY is required when PRIEMNAYA_DATABASE_URL is set "
                "(it is generated only for the embedded default)"
            )
        if self.transaction_pooler and not self.listen_database_url:
            raise ValueError(
                "PRIEMNAYA_LISTEN_DATABASE_URL is required with PRIEMNAYA_TRANSACTION_POOLER: "
                "a pooler in transaction mode does not deliver LISTEN notifications"
            )
        names = [p.name for p in self.oidc_providers]
        if len(names) != len(set(names)):
            raise ValueError("PRIEMNAYA_OIDC_PROVIDERS: two providers share a name")
        if self.s3_endpoint and not (self.s3_access_key and self.s3_secret_key):
            raise ValueError(
                "PRIEMNAYA_S3_ACCESS_KEY and PRIEMNAYA_S3_SECRET_KEY are required "
                "when PRIEMNAYA_S3_ENDPOINT is set"
            )
        return self

    @property
    def embedded(self) -> bool:
        """True when the database is the embedded PostgreSQL inside HOME."""
        return self.database_url is None

    @property
    def https(self) -> bool:
        return self.base_url.startswith("https://")

    @property
    def attachments_dir(self) -> Path:
        """Where attachments live on the embedded default (no S3 endpoint)."""
        return self.home.resolve() / "attachments"

    @property
    def pgdata(self) -> Path:
        return self.home.resolve() / "pgdata"


def load_settings() -> Settings:
    """Read and validate the environment; on the embedded default, keep a generated key in HOME."""
    try:
        settings = Settings()
    except ValidationError as exc:
        raise SettingsError(_describe(exc)) from None
    if settings.secret_key is None:
        settings = settings.model_copy(update={"secret_key": _embedded_secret_key(settings.home)})
    return settings


def _describe(exc: ValidationError) -> list[str]:
    problems = []
    for error in exc.errors():
        location = [str(part) for part in error["loc"]]
        message = error["msg"].removeprefix("Value error, ")
        if location:
            inner = f"[{location[1]}].{'.'.join(location[2:])}: " if len(location) > 2 else ""
            problems.append(f"{ENV_PREFIX}{location[0].upper()}: {inner}{message}")
        else:
            problems.append(message)
    return problems


def _embedded_secret_key(home: Path) -> str:
    path = home / SECRET_KEY_FILE
    try:
        if path.exists():
            key = path.read_text().strip()
            if len(key) >= MIN_SECRET_KEY_LENGTH:
                return key
            raise SettingsError([f"{path}: the stored secret key is too short; delete the file"])
        home.mkdir(parents=True, exist_ok=True)
        key = secrets.token_urlsafe(48)
        path.touch(mode=0o600)
        path.write_text(key + "\n")
        return key
    except OSError as exc:
        raise SettingsError(
            [f"PRIEMNAYA_HOME: cannot keep the secret key in {home}: {exc}"]
        ) from None
