"""Tables of identities, the policy store and sign-in.

``users`` are global identities: one person may serve several tenants with different roles.
``staff_grants`` are the casbin ``g`` rules of tenant roles, one row per (tenant, user, role);
``platform_grants`` those of the platform roles; ``custom_roles`` the roles a cabinet
administrator defines for their tenant from registry permissions; ``api_tokens`` the
integrations' credentials, each a policy subject of its own. ``web_sessions``,
``account_links`` and ``sign_in_failures`` are what signing in keeps.

These models say what the tables are; the migrations create them (with their CHECKs, row-level
security and triggers), and ``tests/tenancy/test_schema_models.py`` holds the two equal.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

from sqlalchemy import (
    ARRAY,
    BigInteger,
    Column,
    DateTime,
    ForeignKey,
    Identity,
    Index,
    LargeBinary,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import UUID as PgUUID
from sqlmodel import Field, SQLModel


class UserStatus(StrEnum):
    ACTIVE = "active"
    DEACTIVATED = "deactivated"  # keeps history, holds no permission


class UserKind(StrEnum):
    STAFF = "staff"
    CITIZEN = "citizen"  # signs in through a provider and follows their own messages


def _timestamp() -> Column[datetime]:
    return Column(DateTime(timezone=True), nullable=False, server_default=func.now())


class User(SQLModel, table=True):
    __tablename__ = "users"
    __table_args__ = (UniqueConstraint("email", name="users_email_key"),)

    id: uuid.UUID = Field(
        default_factory=uuid.uuid4, sa_column=Column(PgUUID(as_uuid=True), primary_key=True)
    )
    email: str = Field(sa_column=Column(Text, nullable=False))
    name: str = Field(sa_column=Column(Text, nullable=False))
    status: str = Field(
        default=UserStatus.ACTIVE.value,
        sa_column=Column(Text, nullable=False, server_default=text("'active'")),
    )
    created_at: datetime | None = Field(default=None, sa_column=_timestamp())
    updated_at: datetime | None = Field(default=None, sa_column=_timestamp())
    kind: str = Field(
        default=UserKind.STAFF.value,
        sa_column=Column(Text, nullable=False, server_default=text("'staff'")),
    )
    password_hash: str | None = Field(default=None, sa_column=Column(Text))
    password_changed_at: datetime | None = Field(
        default=None, sa_column=Column(DateTime(timezone=True))
    )
    position: str | None = Field(default=None, sa_column=Column(Text))
    # When the person showed the address is theirs (a link followed); a citizen who signed up
    # with a password cannot sign in before it.
    email_confirmed_at: datetime | None = Field(
        default=None, sa_column=Column(DateTime(timezone=True), server_default=func.now())
    )


class StaffGrant(SQLModel, table=True):
    __tablename__ = "staff_grants"
    __table_args__ = (Index("ix_staff_grants_user", "user_id"),)

    tenant_id: uuid.UUID = Field(
        sa_column=Column(PgUUID(as_uuid=True), ForeignKey("tenants.id"), primary_key=True)
    )
    user_id: uuid.UUID = Field(
        sa_column=Column(PgUUID(as_uuid=True), ForeignKey("users.id"), primary_key=True)
    )
    role: str = Field(sa_column=Column(Text, primary_key=True))
    granted_at: datetime | None = Field(default=None, sa_column=_timestamp())
    granted_by: str = Field(sa_column=Column(Text, nullable=False))


class PlatformGrant(SQLModel, table=True):
    __tablename__ = "platform_grants"

    user_id: uuid.UUID = Field(
        sa_column=Column(PgUUID(as_uuid=True), ForeignKey("users.id"), primary_key=True)
    )
    role: str = Field(sa_column=Column(Text, primary_key=True))
    granted_at: datetime | None = Field(default=None, sa_column=_timestamp())
    granted_by: str = Field(sa_column=Column(Text, nullable=False))


class CustomRole(SQLModel, table=True):
    __tablename__ = "custom_roles"

    tenant_id: uuid.UUID = Field(
        sa_column=Column(PgUUID(as_uuid=True), ForeignKey("tenants.id"), primary_key=True)
    )
    name: str = Field(sa_column=Column(Text, primary_key=True))
    description: str = Field(
        default="", sa_column=Column(Text, nullable=False, server_default=text("''"))
    )
    permissions: list[str] = Field(sa_column=Column(ARRAY(Text), nullable=False))
    created_at: datetime | None = Field(default=None, sa_column=_timestamp())
    updated_at: datetime | None = Field(default=None, sa_column=_timestamp())


class ApiToken(SQLModel, table=True):
    """``prn_<id>_<secret>``: the row keeps a SHA-256 of the secret; authentication finds the
    row by its id before it knows the tenant (hence the index on ``id`` alone)."""

    __tablename__ = "api_tokens"
    __table_args__ = (Index("ix_api_tokens_id", "id"),)

    tenant_id: uuid.UUID = Field(
        sa_column=Column(PgUUID(as_uuid=True), ForeignKey("tenants.id"), primary_key=True)
    )
    id: uuid.UUID = Field(sa_column=Column(PgUUID(as_uuid=True), primary_key=True))
    name: str = Field(sa_column=Column(Text, nullable=False))
    role: str = Field(sa_column=Column(Text, nullable=False))
    secret_hash: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    created_by: str = Field(sa_column=Column(Text, nullable=False))
    created_at: datetime | None = Field(default=None, sa_column=_timestamp())
    expires_at: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True)))
    revoked_at: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True)))
    last_used_at: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True)))

    def problem(self, now: datetime) -> str | None:
        """Why this token cannot be used now, or None."""
        if self.revoked_at is not None:
            return f"the token was revoked on {self.revoked_at:%Y-%m-%d %H:%M} UTC"
        if self.expires_at is not None and self.expires_at <= now:
            return f"the token expired on {self.expires_at:%Y-%m-%d %H:%M} UTC"
        return None


class WebSessionRow(SQLModel, table=True):
    __tablename__ = "web_sessions"
    __table_args__ = (
        Index("web_sessions_user", "user_id", postgresql_where=text("ended_at IS NULL")),
    )

    id: uuid.UUID = Field(sa_column=Column(PgUUID(as_uuid=True), primary_key=True))
    secret_hash: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    user_id: uuid.UUID = Field(
        sa_column=Column(PgUUID(as_uuid=True), ForeignKey("users.id"), nullable=False)
    )
    created_at: datetime | None = Field(default=None, sa_column=_timestamp())
    last_seen_at: datetime | None = Field(default=None, sa_column=_timestamp())
    expires_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    ended_at: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True)))
    ip: str | None = Field(default=None, sa_column=Column(Text))
    user_agent: str | None = Field(default=None, sa_column=Column(Text))
    provider: str | None = Field(default=None, sa_column=Column(Text))
    id_token: str | None = Field(default=None, sa_column=Column(Text))


class AccountLink(SQLModel, table=True):
    __tablename__ = "account_links"
    __table_args__ = (Index("account_links_user", "user_id"),)

    id: uuid.UUID = Field(sa_column=Column(PgUUID(as_uuid=True), primary_key=True))
    secret_hash: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    user_id: uuid.UUID = Field(
        sa_column=Column(PgUUID(as_uuid=True), ForeignKey("users.id"), nullable=False)
    )
    purpose: str = Field(sa_column=Column(Text, nullable=False))
    created_at: datetime | None = Field(default=None, sa_column=_timestamp())
    created_by: str = Field(sa_column=Column(Text, nullable=False))
    expires_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    used_at: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True)))


class SignInFailure(SQLModel, table=True):
    __tablename__ = "sign_in_failures"
    __table_args__ = (Index("sign_in_failures_key", "scope", "key", "failed_at"),)

    id: int | None = Field(
        default=None, sa_column=Column(BigInteger, Identity(always=True), primary_key=True)
    )
    scope: str = Field(sa_column=Column(Text, nullable=False))
    key: str = Field(sa_column=Column(Text, nullable=False))
    failed_at: datetime | None = Field(default=None, sa_column=_timestamp())
    reason: str = Field(sa_column=Column(Text, nullable=False))
