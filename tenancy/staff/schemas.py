"""Input and output shapes of staff and their grants."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator
from pydantic_core import PydanticCustomError

EMAIL_PATTERN = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
PLATFORM = "platform"  # the TENANT argument that means a platform role


def email_problem(email: str) -> str | None:
    return None if EMAIL_PATTERN.fullmatch(email) else "is not an e-mail address"


def _email_address(value: str) -> str:
    if problem := email_problem(value.strip()):
        raise PydanticCustomError("email", problem)
    return value.strip().lower()


# An e-mail address as we keep it: checked, trimmed, lower-case.
EmailAddress = Annotated[str, Field(max_length=254), AfterValidator(_email_address)]


class StaffInput(BaseModel):
    model_config = ConfigDict(str_strip_whitespace=True, extra="forbid")

    email: str = Field(max_length=254)
    name: str = Field(min_length=1, max_length=300)

    @field_validator("email")
    @classmethod
    def _email(cls, value: str) -> str:
        if problem := email_problem(value):
            raise ValueError(problem)
        return value.lower()


class GrantRead(BaseModel):
    tenant: str  # a slug, or "platform"
    role: str
    regions: list[str] = []  # a regional operator's territories


class StaffRead(BaseModel):
    email: str
    name: str
    status: str
    grants: list[GrantRead] = []


class Caller(BaseModel):
    """Who is calling: a person with their grants, or a token with its one grant."""

    kind: str  # user, token
    name: str
    email: str | None = None
    status: str | None = None
    grants: list[GrantRead] = []


class GrantChange(BaseModel):
    email: str
    tenant: str
    role: str
    changed: bool
    regions: list[str] = []  # a regional operator's territories after the change


class RoleRead(BaseModel):
    name: str
    description: str
    scope: str  # tenant, platform, or custom:<tenant slug>
    permissions: list[str]  # "name" or "name (reach)" where the reach is not the tenant


class PermissionCheck(BaseModel):
    email: str
    tenant: str
    permission: str
    allowed: bool
    chain: list[str]


class TokenRead(BaseModel):
    id: str
    name: str
    tenant: str
    role: str
    created_by: str
    created_at: datetime | None
    expires_at: datetime | None
    revoked_at: datetime | None
    last_used_at: datetime | None


class TokenCreated(TokenRead):
    token: str = Field(description="The secret: shown once, never stored.")


class OrganizationRef(BaseModel):
    slug: str
    name: str


class Workplaces(BaseModel):
    """Where a person works: the organizations they hold a role in, and their platform roles."""

    name: str
    organizations: list[OrganizationRef] = []
    platform_roles: list[str] = []
