"""Output shapes of the outbox and webhook subscriptions (for the CLI's tables and --json)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal, NamedTuple

from pydantic import BaseModel

OutboxState = Literal["pending", "dead", "delivered"]
OUTBOX_STATES: tuple[OutboxState, ...] = ("pending", "dead", "delivered")


class OutboxEntry(BaseModel):
    """One notification to one recipient; the payload (personal data) is left out."""

    id: int
    tenant: str  # slug
    event_id: uuid.UUID
    kind: str
    channel: str  # email, webhook
    recipient: str  # mailto:<address>, or the webhook URL
    message_id: uuid.UUID | None
    created_at: datetime
    attempts: int
    next_attempt_at: datetime
    delivered_at: datetime | None
    dead_at: datetime | None
    last_error: str | None


class AccountLetter(BaseModel):
    """A letter about an account (a password reset, a staff invitation); its link is never
    shown, and is gone once the letter is delivered or dead."""

    id: int
    kind: str  # account.reset, account.invitation
    recipient: str  # mailto:<address>
    created_at: datetime
    attempts: int
    next_attempt_at: datetime
    delivered_at: datetime | None
    dead_at: datetime | None
    last_error: str | None


class Subscription(BaseModel):
    """A tenant's webhook subscription; its secret is never shown again after creation."""

    id: uuid.UUID
    tenant: str  # slug
    url: str
    events: list[str]
    active: bool
    created_at: datetime
    created_by: str


class SubscriptionCreated(NamedTuple):
    id: uuid.UUID
    secret: str  # the HMAC key, shown this once
