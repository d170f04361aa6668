"""Output shapes of the outbox and webhook subscriptions (for the CLI's tables and --json)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal, NamedTuple

from pydantic import BaseModel

OutboxState = Literal["pending", "dead", "delivered"]
OUTBOX_STATES: tuple[OutboxState, ...] = ("pending", "dead", "delivered")


class Delivery(BaseModel):
    """Where a letter or a notification is on its way: attempts, the next one, the outcome."""

    id: int
    kind: str
    recipient: str
    created_at: datetime
    attempts: int
    next_attempt_at: datetime
    delivered_at: datetime | None
    dead_at: datetime | None
    last_error: str | None


class OutboxEntry(Delivery):
    """One notification to one recipient (``mailto:<address>``, or the webhook URL); the
    payload (personal data) is left out."""

    tenant: str  # slug
    event_id: uuid.UUID
    channel: str  # email, webhook
    message_id: uuid.UUID | None


class AccountLetter(Delivery):
    """A letter about an account (``account.reset``, ``account.invitation``) to a
    ``mailto:`` address; its link is never shown, and is gone once the letter is delivered or
    dead."""


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
