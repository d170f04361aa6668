"""Shapes of sign-in results and invitations."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel


class SignedIn(BaseModel):
    """A new browser session; ``cookie`` goes into the session cookie and nowhere else."""

    cookie: str
    user_id: uuid.UUID
    email: str
    name: str
    kind: str  # staff, citizen
    linked: bool = False  # a provider identity was linked to this person just now


class InvitationRead(BaseModel):
    email: str
    link: str
    expires_at: datetime


class SignedOut(BaseModel):
    provider: str | None = None
    id_token: str | None = None
