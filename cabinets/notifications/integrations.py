"""An organization's webhooks as its cabinet administrator runs them: subscribing (the address
checked to be outside the platform's network unless the deployment allows it), a test event
sent to one subscription through the outbox as any event is, the delivery log of its webhooks,
and sending a dead delivery again. Everything stays within the organization: another's
subscription or delivery is "not found"."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable
from datetime import UTC, datetime
from urllib.parse import urlsplit

from sqlalchemy import text

from cabinets.notifications import service
from cabinets.notifications.receivers import check_receiver
from cabinets.notifications.schemas import OutboxEntry, Subscription, SubscriptionCreated
from tenancy.audit import record_audit
from tenancy.database import Database
from tenancy.errors import FieldError, InvalidInput, NotFound

TEST_EVENT = "webhook.test"
LOG_LENGTH = 50


async def subscribe(
    db: Database,
    tenant: str,
    url: str,
    events: Iterable[str],
    *,
    allow_private: bool,
    actor: str,
) -> SubscriptionCreated:
    """A new subscription; its signing secret is returned only now. Every problem is named at
    once (the subscription service stops at the first)."""
    chosen = [e for e in events if e.strip()]
    problems: list[FieldError] = []
    if urlsplit(url.strip()).scheme not in {"http", "https"}:
        problems.append(FieldError("url", "must be an http:// or https:// URL"))
    else:
        try:
            await check_receiver(url, allow_private=allow_private)
        except InvalidInput as exc:
            problems += exc.errors
    if not chosen:
        problems.append(FieldError("events", "name at least one event kind"))
    if problems:
        raise InvalidInput(problems)
    return await service.add_subscription(db, tenant, url, chosen, actor=actor)


async def subscriptions(db: Database, tenant: str) -> list[Subscription]:
    return await service.list_subscriptions(db, tenant)


async def subscription(db: Database, tenant: str, subscription_id: str) -> Subscription:
    """One subscription of this organization; any other id is not found."""
    for found in await subscriptions(db, tenant):
        if str(found.id) == subscription_id:
            return found
    raise NotFound("webhook subscription", subscription_id)


async def remove(db: Database, tenant: str, subscription_id: str, *, actor: str) -> Subscription:
    await subscription(db, tenant, subscription_id)
    return await service.remove_subscription(db, subscription_id, actor=actor)


async def send_test(db: Database, tenant: str, subscription_id: str, *, actor: str) -> int:
    """Put a test event for this one subscription into the outbox; the worker signs and
    delivers it like any other. Returns its outbox id."""
    found = await subscription(db, tenant, subscription_id)
    now = datetime.now(UTC)
    payload = {"test": True, "text": "Проверка доставки из кабинета", "sent_by": actor}
    async with db.privileged_session(actor=actor) as session:
        tenant_id = (
            await session.execute(text("SELECT id FROM tenants WHERE slug = :s"), {"s": tenant})
        ).scalar_one()
        outbox_id: int = (
            await session.execute(
                text(
                    "INSERT INTO outbox (tenant_id, event_id, created_at, kind, channel, "
                    "recipient, payload, next_attempt_at, subscription_id) VALUES (:t, :e, "
                    ":now, :kind, 'webhook', :url, CAST(:payload AS jsonb), :now, :s) "
                    "RETURNING id"
                ),
                {
                    "t": tenant_id,
                    "e": uuid.uuid4(),
                    "now": now,
                    "kind": TEST_EVENT,
                    "url": found.url,
                    "payload": json.dumps(payload),
                    "s": found.id,
                },
            )
        ).scalar_one()
        record_audit(
            session,
            tenant_id=tenant_id,
            actor=actor,
            action="webhook.tested",
            object_type="webhook_subscription",
            object_id=str(found.id),
            changes={"url": found.url, "outbox_id": outbox_id},
        )
    return outbox_id


async def delivery_log(db: Database, tenant: str, *, limit: int = LOG_LENGTH) -> list[OutboxEntry]:
    """The organization's latest webhook deliveries, newest first, whatever their state."""
    async with db.privileged_session() as session:
        rows = await session.execute(
            text(
                "SELECT o.id, t.slug AS tenant, o.event_id, o.kind, o.channel, o.recipient, "
                "o.message_id, o.created_at, o.attempts, o.next_attempt_at, o.delivered_at, "
                "o.dead_at, o.last_error FROM outbox o JOIN tenants t ON t.id = o.tenant_id "
                "WHERE t.slug = :s AND o.channel = 'webhook' "
                "ORDER BY o.created_at DESC, o.id DESC LIMIT :limit"
            ),
            {"s": tenant, "limit": limit},
        )
        return [OutboxEntry.model_validate(row._mapping) for row in rows]


async def retry(db: Database, tenant: str, outbox_id: str, *, actor: str) -> OutboxEntry:
    """Send a dead webhook delivery of this organization again (its attempts start over)."""
    try:
        key = int(outbox_id)
    except ValueError:
        raise NotFound("outbox entry", outbox_id) from None
    [entry] = await service.retry_outbox(db, [key], tenant=tenant, actor=actor)
    return entry


def state_of(entry: OutboxEntry) -> str:
    """delivered, dead, or pending."""
    if entry.delivered_at is not None:
        return "delivered"
    return "dead" if entry.dead_at is not None else "pending"
