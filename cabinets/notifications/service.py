"""Operator work on notifications: the outbox (what is pending, dead, delivered; reviving dead
letters), the letters about accounts, and each tenant's webhook subscriptions. Owner
connection: these span tenants."""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Iterable, Sequence
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import bindparam, text
from sqlalchemy.engine import Row
from sqlalchemy.ext.asyncio import AsyncSession

from cabinets.notifications.outbox import ANY_EVENT, EVENT_KINDS
from cabinets.notifications.schemas import (
    OUTBOX_STATES,
    AccountLetter,
    OutboxEntry,
    Subscription,
    SubscriptionCreated,
)
from cabinets.notifications.webhooks import SUBSCRIPTION_REMOVED
from tenancy.audit import record_audit
from tenancy.database import Database
from tenancy.errors import InvalidInput, NotFound

MAX_LIST = 1000
MAX_URL_LENGTH = 2000
# Tells a leaked secret apart at a glance (and to secret scanners).
SECRET_PREFIX = "whsec_"  # noqa: S105 (a prefix, not a secret)

_ENTRY_COLUMNS = """
    o.id, t.slug AS tenant, o.event_id, o.kind, o.channel, o.recipient, o.message_id,
    o.created_at, o.attempts, o.next_attempt_at, o.delivered_at, o.dead_at, o.last_error
"""
_STATE_FILTERS = {
    "pending": ("o.delivered_at IS NULL AND o.dead_at IS NULL", "o.next_attempt_at, o.id"),
    "dead": ("o.dead_at IS NOT NULL", "o.dead_at DESC, o.id DESC"),
    "delivered": ("o.delivered_at IS NOT NULL", "o.delivered_at DESC, o.id DESC"),
}


def _check_listing(state: str, limit: int) -> None:
    if state not in OUTBOX_STATES:
        raise InvalidInput.one("state", f"must be one of {', '.join(OUTBOX_STATES)}")
    if not 1 <= limit <= MAX_LIST:
        raise InvalidInput.one("limit", f"must be between 1 and {MAX_LIST}")


async def _tenant(session: AsyncSession, slug: str) -> Row[Any]:
    found = (
        await session.execute(
            text("SELECT id, slug, status FROM tenants WHERE slug = :s"), {"s": slug}
        )
    ).first()
    if found is None:
        raise InvalidInput.one("tenant", f"unknown tenant {slug!r}")
    return found


def _entry(row: Row[Any]) -> OutboxEntry:
    return OutboxEntry.model_validate(row._mapping)


# --- the outbox ----------------------------------------------------------------------------


async def list_outbox(
    db: Database, *, state: str = "pending", tenant: str | None = None, limit: int = 50
) -> list[OutboxEntry]:
    """Outbox rows in ``state``: pending ones by next attempt, dead and delivered ones newest
    first; of one tenant (a slug) or of all."""
    _check_listing(state, limit)
    where, order = _STATE_FILTERS[state]
    params: dict[str, Any] = {"limit": limit}
    async with db.privileged_session() as session:
        if tenant is not None:
            where += " AND o.tenant_id = :t"
            params["t"] = (await _tenant(session, tenant)).id
        rows = await session.execute(
            text(
                f"SELECT {_ENTRY_COLUMNS} FROM outbox o JOIN tenants t ON t.id = o.tenant_id "
                f"WHERE {where} ORDER BY {order} LIMIT :limit"
            ),
            params,
        )
        return [_entry(row) for row in rows]


async def retry_outbox(
    db: Database,
    ids: Sequence[int] = (),
    *,
    all_dead: bool = False,
    tenant: str | None = None,
    actor: str,
) -> list[OutboxEntry]:
    """Send dead letters again: the named ones, or every dead one (of ``tenant``, or of all).
    They become pending, due now, with their attempts reset; ``last_error`` is kept until the
    next attempt. Returns them."""
    if bool(ids) == all_dead:
        raise InvalidInput.one("ids", "name the outbox entries to retry, or all dead ones")
    async with db.privileged_session(actor=actor) as session:
        where = "o.dead_at IS NOT NULL"
        params: dict[str, Any] = {}
        if tenant is not None:
            where += " AND o.tenant_id = :t"
            params["t"] = (await _tenant(session, tenant)).id
        if ids:
            await _check_dead(session, ids, params.get("t"))
            where += " AND o.id IN :ids"
            params["ids"] = list(ids)
        statement = text(
            f"""
            UPDATE outbox o SET dead_at = NULL, attempts = 0, next_attempt_at = now(),
                delivering_until = NULL
            FROM tenants t
            WHERE t.id = o.tenant_id AND {where}
            RETURNING o.tenant_id, {_ENTRY_COLUMNS}
            """
        )
        if ids:
            statement = statement.bindparams(bindparam("ids", expanding=True))
        rows = list(await session.execute(statement, params))
        by_tenant: dict[uuid.UUID, list[int]] = {}
        for row in rows:
            by_tenant.setdefault(row.tenant_id, []).append(row.id)
        for tenant_id, revived in by_tenant.items():
            record_audit(
                session,
                tenant_id=tenant_id,
                actor=actor,
                action="outbox.retried",
                object_type="outbox",
                object_id=",".join(str(i) for i in sorted(revived)),
                changes={"ids": sorted(revived)},
            )
        return sorted((_entry(row) for row in rows), key=lambda e: e.id)


async def list_account_mail(
    db: Database, *, state: str = "pending", limit: int = 50
) -> list[AccountLetter]:
    """Letters about accounts in ``state``, ordered as :func:`list_outbox` orders its rows.
    A dead one is not sent again: its link is gone, and a new reset or invitation makes a new
    letter."""
    _check_listing(state, limit)
    where, order = _STATE_FILTERS[state]
    async with db.privileged_session() as session:
        rows = await session.execute(
            text(
                "SELECT o.id, o.kind, o.recipient, o.created_at, o.attempts, o.next_attempt_at, "
                f"o.delivered_at, o.dead_at, o.last_error FROM account_mail o WHERE {where} "
                f"ORDER BY {order} LIMIT :limit"
            ),
            {"limit": limit},
        )
        return [AccountLetter.model_validate(row._mapping) for row in rows]


async def _check_dead(session: AsyncSession, ids: Sequence[int], tenant_id: Any) -> None:
    """Every named entry exists (in the tenant, when one is named) and is dead."""
    rows = await session.execute(
        text("SELECT id, tenant_id, delivered_at, dead_at FROM outbox WHERE id IN :ids").bindparams(
            bindparam("ids", expanding=True)
        ),
        {"ids": list(ids)},
    )
    found = {row.id: row for row in rows}
    for outbox_id in ids:
        row = found.get(outbox_id)
        if row is None or (tenant_id is not None and row.tenant_id != tenant_id):
            raise NotFound("outbox entry", str(outbox_id))
        if row.delivered_at is not None:
            raise InvalidInput.one(
                "ids", f"outbox entry {outbox_id} was delivered at {row.delivered_at.isoformat()}"
            )
        if row.dead_at is None:
            raise InvalidInput.one(
                "ids", f"outbox entry {outbox_id} is still pending: the worker retries it"
            )


# --- webhook subscriptions -----------------------------------------------------------------


def _check_url(url: str) -> str:
    url = url.strip()
    if len(url) > MAX_URL_LENGTH:
        raise InvalidInput.one("url", f"must be at most {MAX_URL_LENGTH} characters")
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 (parsing it refuses a malformed port)
    except ValueError as exc:
        raise InvalidInput.one("url", f"is not a valid URL: {exc}") from None
    if parts.scheme not in {"http", "https"}:
        raise InvalidInput.one("url", "must be an http:// or https:// URL")
    if not parts.hostname:
        raise InvalidInput.one("url", "must name a host")
    if parts.username is not None or parts.password is not None:
        raise InvalidInput.one(
            "url", "must not carry credentials: the signature authenticates each delivery"
        )
    return url


def _check_events(events: Iterable[str]) -> list[str]:
    chosen = sorted({e.strip() for e in events if e.strip()})
    if not chosen:
        raise InvalidInput.one("events", f"name at least one event kind, or {ANY_EVENT!r}")
    unknown = [e for e in chosen if e != ANY_EVENT and e not in EVENT_KINDS]
    if unknown:
        raise InvalidInput.one(
            "events",
            f"unknown event kind {', '.join(map(repr, unknown))}; "
            f"one of {ANY_EVENT}, {', '.join(EVENT_KINDS)}",
        )
    return [ANY_EVENT] if ANY_EVENT in chosen else chosen


def _subscription(row: Row[Any]) -> Subscription:
    return Subscription.model_validate(row._mapping)


async def add_subscription(
    db: Database, tenant_slug: str, url: str, events: Iterable[str], *, actor: str
) -> SubscriptionCreated:
    """Subscribe an integration of the tenant to message events (kinds such as
    ``message.accept``, or ``*``). The secret that signs its deliveries is generated here and
    returned only now."""
    url = _check_url(url)
    kinds = _check_events(events)
    subscription_id = uuid.uuid4()
    secret = SECRET_PREFIX + secrets.token_urlsafe(32)
    async with db.privileged_session(actor=actor) as session:
        tenant = await _tenant(session, tenant_slug)
        if tenant.status != "active":
            raise InvalidInput.one(
                "tenant", f"{tenant_slug!r} is {tenant.status}: no new subscriptions"
            )
        await session.execute(
            text(
                "INSERT INTO webhook_subscriptions (tenant_id, id, url, secret, events, "
                "created_by) VALUES (:t, :id, :url, :secret, :events, :actor)"
            ),
            {
                "t": tenant.id,
                "id": subscription_id,
                "url": url,
                "secret": secret,
                "events": kinds,
                "actor": actor,
            },
        )
        record_audit(
            session,
            tenant_id=tenant.id,
            actor=actor,
            action="webhook.subscribed",
            object_type="webhook_subscription",
            object_id=str(subscription_id),
            changes={"url": url, "events": kinds},
        )
    return SubscriptionCreated(subscription_id, secret)


async def list_subscriptions(db: Database, tenant_slug: str | None = None) -> list[Subscription]:
    """Webhook subscriptions (without their secrets), of one tenant or of all."""
    async with db.privileged_session() as session:
        where, params = "", {}
        if tenant_slug is not None:
            where, params = (
                "WHERE s.tenant_id = :t",
                {"t": (await _tenant(session, tenant_slug)).id},
            )
        rows = await session.execute(
            text(
                "SELECT s.id, t.slug AS tenant, s.url, s.events, s.active, s.created_at, "
                "s.created_by FROM webhook_subscriptions s JOIN tenants t ON t.id = s.tenant_id "
                f"{where} ORDER BY t.slug, s.created_at, s.id"
            ),
            params,
        )
        return [_subscription(row) for row in rows]


async def remove_subscription(
    db: Database, subscription_id: str | uuid.UUID, *, actor: str
) -> Subscription:
    """Remove a subscription at once; its undelivered events become dead letters (kept, with
    the reason, for the record). Returns what was removed."""
    try:
        key = uuid.UUID(str(subscription_id))
    except ValueError:
        raise InvalidInput.one(
            "subscription", f"{subscription_id!r} is not a subscription id"
        ) from None
    async with db.privileged_session(actor=actor) as session:
        row = (
            await session.execute(
                text(
                    "DELETE FROM webhook_subscriptions s USING tenants t "
                    "WHERE s.id = :id AND t.id = s.tenant_id "
                    "RETURNING s.tenant_id, s.id, t.slug AS tenant, s.url, s.events, s.active, "
                    "s.created_at, s.created_by"
                ),
                {"id": key},
            )
        ).first()
        if row is None:
            raise NotFound("webhook subscription", str(subscription_id))
        await session.execute(
            text(
                "UPDATE outbox SET dead_at = now(), last_error = :why, delivering_until = NULL "
                "WHERE tenant_id = :t AND subscription_id = :id "
                "AND delivered_at IS NULL AND dead_at IS NULL"
            ),
            {"t": row.tenant_id, "id": key, "why": SUBSCRIPTION_REMOVED},
        )
        record_audit(
            session,
            tenant_id=row.tenant_id,
            actor=actor,
            action="webhook.removed",
            object_type="webhook_subscription",
            object_id=str(key),
            changes={"url": row.url, "events": list(row.events)},
        )
        return _subscription(row)
