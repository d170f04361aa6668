"""Signed webhooks: what a subscribed integration receives, and how it checks the sender.

Each delivery is a POST of JSON ``{"id", "kind", "created_at", "tenant", "message_id",
"data"}`` with the headers

* ``X-Priemnaya-Event-Id`` — the event id (the same as ``id``); a resend carries the same one,
  so a receiver that has seen it answers 2xx and does nothing;
* ``X-Priemnaya-Timestamp`` — unix seconds when this attempt was signed;
* ``X-Priemnaya-Signature`` — ``sha256=`` and the hex HMAC-SHA256, keyed with the
  subscription's secret, of ``"<timestamp>.<raw body>"``.

A receiver recomputes the HMAC over the raw bytes it received (before parsing JSON), compares
in constant time, and refuses timestamps older than a few minutes (replays):
``verify_signature`` below is the reference.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

import httpx2

EVENT_ID_HEADER = "X-Priemnaya-Event-Id"
TIMESTAMP_HEADER = "X-Priemnaya-Timestamp"
SIGNATURE_HEADER = "X-Priemnaya-Signature"
SIGNATURE_SCHEME = "sha256="
TIMEOUT_SECONDS = 10.0
DEFAULT_TOLERANCE_SECONDS = 300
USER_AGENT = "Priemnaya-Webhooks/1"
SUBSCRIPTION_REMOVED = "the webhook subscription was removed"
RESPONSE_EXCERPT = 200  # characters of a refusing receiver's answer kept in last_error


class WebhookRefused(Exception):
    """The receiver answered, but not with 2xx."""


@dataclass(frozen=True)
class WebhookEvent:
    """One outbox webhook row, with its subscription's current address and secret."""

    event_id: UUID
    kind: str
    created_at: datetime
    tenant: str  # slug
    message_id: UUID | None
    data: dict[str, Any]
    url: str
    secret: str


def event_body(event: WebhookEvent) -> bytes:
    document = {
        "id": str(event.event_id),
        "kind": event.kind,
        "created_at": event.created_at.isoformat(),
        "tenant": event.tenant,
        "message_id": str(event.message_id) if event.message_id else None,
        "data": event.data,
    }
    return json.dumps(document, ensure_ascii=False, separators=(",", ":"), default=str).encode()


def signature(secret: str, timestamp: int, body: bytes) -> str:
    """The ``X-Priemnaya-Signature`` value for ``body`` sent at ``timestamp``."""
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return SIGNATURE_SCHEME + digest.hexdigest()


def verify_signature(
    secret: str,
    body: bytes,
    timestamp_header: str | None,
    signature_header: str | None,
    *,
    now: float | None = None,
    tolerance_seconds: int = DEFAULT_TOLERANCE_SECONDS,
) -> bool:
    """A receiver's check: the signature matches the raw body and the timestamp is recent."""
    if not timestamp_header or not signature_header:
        return False
    try:
        timestamp = int(timestamp_header)
    except ValueError:
        return False
    current = time.time() if now is None else now
    if abs(current - timestamp) > tolerance_seconds:
        return False
    return hmac.compare_digest(signature(secret, timestamp, body), signature_header)


def signed_headers(event: WebhookEvent, body: bytes, *, timestamp: int) -> dict[str, str]:
    return {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        EVENT_ID_HEADER: str(event.event_id),
        TIMESTAMP_HEADER: str(timestamp),
        SIGNATURE_HEADER: signature(event.secret, timestamp, body),
    }


async def post_event(client: httpx2.AsyncClient, event: WebhookEvent) -> int:
    """POST one event, signed now (wall-clock time, which receivers check against theirs);
    returns the status, or raises ``WebhookRefused`` or the client's network error."""
    body = event_body(event)
    headers = signed_headers(event, body, timestamp=int(time.time()))
    response = await client.post(event.url, content=body, headers=headers)
    if not 200 <= response.status_code < 300:
        excerpt = response.text[:RESPONSE_EXCERPT].strip()
        raise WebhookRefused(f"HTTP {response.status_code}" + (f": {excerpt}" if excerpt else ""))
    return response.status_code


def webhook_client() -> httpx2.AsyncClient:
    """One client per delivery round; redirects are not followed (a moved receiver must be
    re-subscribed, so a signed event never lands somewhere unexpected)."""
    return httpx2.AsyncClient(timeout=TIMEOUT_SECONDS, follow_redirects=False)
