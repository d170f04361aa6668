"""Writing notices to the outbox, in the transaction of the message event they tell about.

One notice is one event: every row it becomes (an e-mail per address, a webhook per matching
subscription) carries the same ``event_id``, by which receivers recognise a repeated delivery.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import text

from cabinets.messages.workflow import TRANSITIONS
from cabinets.notifications.choices import ANSWER_KINDS
from tenancy.database import Transaction

ANY_EVENT = "*"
# The events a notice is written for: the steps the citizen sees on their timeline, and the
# clock's escalation of an overdue message to staff.
EVENT_KINDS = tuple(
    sorted({f"message.{a}" for a, t in TRANSITIONS.items() if t.public} | {"message.overdue"})
)
# Kept out of webhooks: the status link carries the citizen's tracking token, with which
# anyone could clarify or rate in the citizen's name.
CITIZEN_ONLY_FIELDS = frozenset({"status_url"})
# Letters to staff about their duty, which no citizen's choice of notifications turns off.
STAFF_KINDS = frozenset({"message.overdue"})
MAILTO = "mailto:"

# One statement for every row of an event (it runs on every step of every message).
_EVENT_ROWS = text(
    """
    INSERT INTO outbox (tenant_id, event_id, created_at, kind, channel, recipient, message_id,
                        payload, next_attempt_at, subscription_id)
    SELECT :t, :e, :now, :kind, 'email', r.recipient, :m, CAST(:payload AS jsonb), :now, NULL
    FROM unnest(CAST(:emails AS text[])) AS r (recipient)
    WHERE NOT (CAST(:chosen AS boolean) AND EXISTS (
        SELECT 1 FROM notification_choices c
        WHERE c.address = lower(substr(r.recipient, 8)) AND c.channel = 'email'
          AND (c.choice = 'none' OR (c.choice = 'answers' AND NOT CAST(:answer AS boolean)))))
    UNION ALL
    SELECT tenant_id, :e, :now, :kind, 'webhook', url, :m, CAST(:shared AS jsonb), :now, id
    FROM webhook_subscriptions
    WHERE tenant_id = :t AND active AND (:kind = ANY (events) OR '*' = ANY (events))
    """
)


def mail_recipient(address: str) -> str:
    """The outbox's form of an e-mail recipient: ``mailto:<address>``."""
    return address if address.startswith(MAILTO) else f"{MAILTO}{address}"


async def write_notices(
    tx: Transaction,
    tenant_id: uuid.UUID,
    message_id: uuid.UUID | None,
    kind: str,
    payload: Mapping[str, Any],
    emails: Iterable[str] = (),
    *,
    now: datetime,
) -> uuid.UUID:
    """Write one event to the outbox in the caller's transaction: an e-mail row for each of
    ``emails`` (addresses, with or without ``mailto:``) whose owner did not turn such letters
    off (``choices``), and a webhook row for each active subscription of the tenant to
    ``kind`` or ``*``. Returns the event id."""
    event_id = uuid.uuid4()
    shared = {k: v for k, v in payload.items() if k not in CITIZEN_ONLY_FIELDS}
    await tx.execute(
        _EVENT_ROWS,
        {
            "t": tenant_id,
            "e": event_id,
            "now": now,
            "kind": kind,
            "m": message_id,
            "emails": [mail_recipient(address) for address in emails],
            "chosen": kind not in STAFF_KINDS,
            "answer": kind in ANSWER_KINDS,
            "payload": json.dumps(payload, default=str),
            "shared": json.dumps(shared, default=str),
        },
    )
    return event_id
