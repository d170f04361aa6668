"""Delivering the outbox, at least once, from any number of worker processes.

Each round claims a small batch of due rows with ``FOR UPDATE SKIP LOCKED`` on the owner
connection (workers serve every tenant) and leases them: ``attempts`` goes up and
``next_attempt_at`` and ``delivering_until`` move to the end of the lease, and that short
transaction commits before anything is sent. So no two workers hold the same row, no
transaction stays open across a slow mail server or receiver, and a worker that dies while
sending only delays the row until its lease ends.

Then each row is sent and its outcome recorded, fenced by the lease (a worker whose lease was
taken over records nothing): delivered; or retried after ``retry_delay`` with ``last_error``;
or, after ``max_attempts`` (or a failure no retry can mend), a dead letter (``dead_at``) that
``priemnaya outbox retry`` revives. A crash between sending and recording sends again, which
is why every delivery carries its event id.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any

import httpx2
import structlog
from sqlalchemy import text
from sqlalchemy.engine import Row

from cabinets.notifications.mail import Letter, PermanentMailFailure, send_letter
from cabinets.notifications.webhooks import (
    SUBSCRIPTION_REMOVED,
    WebhookEvent,
    post_event,
    webhook_client,
)
from tenancy.database import Database
from tenancy.settings import Settings

MAX_ATTEMPTS = 8
FIRST_RETRY = timedelta(seconds=30)
LONGEST_RETRY = timedelta(hours=6)
JITTER = 0.2  # ± this share of the delay, so receivers coming back are not hit all at once
LEASE = timedelta(minutes=5)  # far longer than a batch can take (10 s per webhook, 30 s SMTP)
BATCH = 10
LIMIT = 200  # rows per call, so one worker tick stays short
ERROR_LENGTH = 500
ACTOR = "worker:notifications"

log = structlog.get_logger(__name__)
_random = secrets.SystemRandom()

_CLAIM = text(
    """
    WITH due AS (
        SELECT tenant_id, id, subscription_id FROM outbox
        WHERE delivered_at IS NULL AND dead_at IS NULL AND next_attempt_at <= :now
        ORDER BY next_attempt_at
        LIMIT :batch
        FOR UPDATE SKIP LOCKED
    )
    UPDATE outbox o
    SET attempts = o.attempts + 1, next_attempt_at = :lease, delivering_until = :lease
    FROM due
    JOIN tenants t ON t.id = due.tenant_id
    LEFT JOIN webhook_subscriptions s
        ON s.tenant_id = due.tenant_id AND s.id = due.subscription_id
    WHERE o.tenant_id = due.tenant_id AND o.id = due.id
    RETURNING o.tenant_id, o.id, o.event_id, o.created_at, o.kind, o.channel, o.recipient,
        o.message_id, o.payload, o.attempts, t.slug AS tenant, s.url, s.secret, s.active
    """
)
# Fenced by the lease: only the worker still holding it records the outcome.
_OUTCOME = text(
    """
    UPDATE outbox
    SET delivered_at = :delivered_at, dead_at = :dead_at,
        next_attempt_at = coalesce(:next_attempt_at, next_attempt_at),
        last_error = coalesce(:error, last_error), delivering_until = NULL
    WHERE tenant_id = :t AND id = :id AND delivering_until = :lease
    RETURNING id
    """
)


class Outcome(StrEnum):
    DELIVERED = "delivered"
    RETRIED = "retried"
    DEAD = "dead"
    LEASE_LOST = "lease_lost"  # another worker took the row over; it records the outcome


@dataclass
class DeliveryReport:
    """What one call of ``deliver_due`` did."""

    claimed: int = 0
    delivered: int = 0
    retried: int = 0
    dead: int = 0
    lease_lost: int = 0

    def add(self, outcome: Outcome) -> None:
        setattr(self, outcome.value, getattr(self, outcome.value) + 1)


class Undeliverable(Exception):
    """A failure no retry can mend: the row becomes a dead letter at once."""


def retry_delay(attempts: int) -> timedelta:
    """The wait after the ``attempts``-th failed attempt: 30 s × 2^attempts, ±20 %, at most
    6 h (1 min, 2 min, 4 min … so eight attempts span about two hours)."""
    doubling: int = 2 ** min(attempts, 20)  # bounded: the cap is reached long before
    return min(FIRST_RETRY * doubling * _random.uniform(1 - JITTER, 1 + JITTER), LONGEST_RETRY)


async def deliver_due(
    db: Database,
    settings: Settings,
    *,
    limit: int = LIMIT,
    batch: int = BATCH,
    max_attempts: int = MAX_ATTEMPTS,
    now: datetime | None = None,
) -> DeliveryReport:
    """Deliver up to ``limit`` due outbox rows of every tenant, ``batch`` at a time.

    ``now`` fixes the clock that decides what is due, the lease and the next attempt (tests
    step through back-off with it); by default, the current time. Safe to run in any number
    of processes at once."""

    def clock() -> datetime:
        return now if now is not None else datetime.now(UTC)

    report = DeliveryReport()
    async with contextlib.AsyncExitStack() as stack:
        client: httpx2.AsyncClient | None = None
        while report.claimed < limit:
            size = min(batch, limit - report.claimed)
            claimed, lease = await _claim(db, size, clock())
            report.claimed += len(claimed)
            if client is None and any(row.channel == "webhook" for row in claimed):
                # Made only when needed: building one costs tens of milliseconds (TLS setup).
                client = await stack.enter_async_context(webhook_client())
            results = await asyncio.gather(
                *(
                    _deliver(db, settings, client, row, lease, clock, max_attempts)
                    for row in claimed
                ),
                return_exceptions=True,
            )
            for result in results:
                if isinstance(result, BaseException):
                    raise result  # the database failed: the leases end and the rows return
                report.add(result)
            if len(claimed) < size:
                break
    return report


async def _claim(db: Database, size: int, now: datetime) -> tuple[list[Row[Any]], datetime]:
    lease = now + LEASE
    async with db.privileged_session(actor=ACTOR) as session:
        result = await session.execute(_CLAIM, {"now": now, "batch": size, "lease": lease})
        return list(result.all()), lease


async def _deliver(
    db: Database,
    settings: Settings,
    client: httpx2.AsyncClient | None,
    row: Row[Any],
    lease: datetime,
    clock: Callable[[], datetime],
    max_attempts: int,
) -> Outcome:
    error: str | None = None
    sent_to: str | None = None
    permanent = False
    try:
        if row.attempts > max_attempts:
            # Leased that often without an outcome: the worker died on it each time.
            raise Undeliverable(f"no outcome recorded after {max_attempts} attempts")
        if row.channel == "email":
            letter = Letter(row.id, row.event_id, row.created_at, row.recipient, row.payload)
            sent_to = await asyncio.to_thread(send_letter, settings, letter)
        else:
            assert client is not None
            event = _webhook_event(row)
            await post_event(client, event)
            sent_to = event.url
    except (Undeliverable, PermanentMailFailure) as exc:
        error, permanent = _describe(exc), True
    except Exception as exc:  # any other failure is worth another attempt
        error = _describe(exc)
    outcome, values = _settle(error, permanent, row.attempts, max_attempts, clock())
    async with db.privileged_session(actor=ACTOR) as session:
        recorded = await session.execute(
            _OUTCOME, values | {"error": error, "t": row.tenant_id, "id": row.id, "lease": lease}
        )
        if recorded.first() is None:
            outcome = Outcome.LEASE_LOST
    _log(row, outcome, sent_to, error, values["next_attempt_at"])
    return outcome


def _settle(
    error: str | None, permanent: bool, attempts: int, max_attempts: int, at: datetime
) -> tuple[Outcome, dict[str, Any]]:
    """What an attempt leads to, and the columns that record it: delivered; dead (a failure no
    retry mends, or the last attempt); or another try after ``retry_delay``."""
    values: dict[str, Any] = {"delivered_at": None, "dead_at": None, "next_attempt_at": None}
    if error is None:
        return Outcome.DELIVERED, values | {"delivered_at": at}
    if permanent or attempts >= max_attempts:
        return Outcome.DEAD, values | {"dead_at": at}
    return Outcome.RETRIED, values | {"next_attempt_at": at + retry_delay(attempts)}


def _webhook_event(row: Row[Any]) -> WebhookEvent:
    if row.secret is None or not row.active:
        raise Undeliverable(SUBSCRIPTION_REMOVED)
    return WebhookEvent(
        event_id=row.event_id,
        kind=row.kind,
        created_at=row.created_at,
        tenant=row.tenant,
        message_id=row.message_id,
        data=row.payload,
        url=row.url,
        secret=row.secret,
    )


def _describe(exc: BaseException) -> str:
    described = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
    return described[:ERROR_LENGTH]


def _log(
    row: Row[Any],
    outcome: Outcome,
    sent_to: str | None,
    error: str | None,
    retry_at: datetime | None,
) -> None:
    fields = {
        "outbox_id": row.id,
        "event_id": str(row.event_id),
        "tenant": row.tenant,
        "channel": row.channel,
        "kind": row.kind,
        "attempt": row.attempts,
    }
    if outcome is Outcome.DELIVERED:
        log.info("notification delivered", to=sent_to, **fields)
    elif outcome is Outcome.RETRIED:
        log.warning("notification failed, will retry", error=error, retry_at=retry_at, **fields)
    elif outcome is Outcome.DEAD:
        log.error("notification dead-lettered", error=error, **fields)
    else:
        log.warning("notification lease lost to another worker", **fields)


# --- letters about accounts ------------------------------------------------------------------

_CLAIM_ACCOUNT_MAIL = text(
    """
    WITH due AS (
        SELECT id FROM account_mail
        WHERE delivered_at IS NULL AND dead_at IS NULL AND next_attempt_at <= :now
        ORDER BY next_attempt_at
        LIMIT :batch
        FOR UPDATE SKIP LOCKED
    )
    UPDATE account_mail m
    SET attempts = m.attempts + 1, next_attempt_at = :lease, delivering_until = :lease
    FROM due
    WHERE m.id = due.id
    RETURNING m.id, m.event_id, m.created_at, m.kind, m.recipient, m.payload, m.attempts
    """
)
# A delivered or dead letter keeps no live link.
_ACCOUNT_MAIL_OUTCOME = text(
    """
    UPDATE account_mail
    SET delivered_at = :delivered_at, dead_at = :dead_at,
        next_attempt_at = coalesce(:next_attempt_at, next_attempt_at),
        last_error = coalesce(:error, last_error), delivering_until = NULL,
        payload = CASE WHEN CAST(:finished AS boolean) THEN '{}'::jsonb ELSE payload END
    WHERE id = :id AND delivering_until = :lease
    RETURNING id
    """
)


async def deliver_account_mail(
    db: Database,
    settings: Settings,
    *,
    limit: int = LIMIT,
    max_attempts: int = MAX_ATTEMPTS,
    now: datetime | None = None,
) -> DeliveryReport:
    """Deliver due letters about accounts (password reset links) the way ``deliver_due``
    delivers the outbox: leased, retried with back-off, dead after ``max_attempts``."""
    at = now or datetime.now(UTC)
    lease = at + LEASE
    report = DeliveryReport()
    async with db.privileged_session(actor=ACTOR) as session:
        claimed = (
            await session.execute(_CLAIM_ACCOUNT_MAIL, {"now": at, "batch": limit, "lease": lease})
        ).all()
    for row in claimed:
        report.claimed += 1
        report.add(await _mail_account_letter(db, settings, row, lease, at, max_attempts))
    return report


async def _mail_account_letter(
    db: Database,
    settings: Settings,
    row: Row[Any],
    lease: datetime,
    at: datetime,
    max_attempts: int,
) -> Outcome:
    error: str | None = None
    permanent = False
    try:
        letter = Letter(row.id, row.event_id, row.created_at, row.recipient, row.payload, row.kind)
        await asyncio.to_thread(send_letter, settings, letter)
    except PermanentMailFailure as exc:
        error, permanent = _describe(exc), True
    except Exception as exc:  # any other failure is worth another attempt
        error = _describe(exc)
    outcome, values = _settle(error, permanent, row.attempts, max_attempts, at)
    finished = outcome is not Outcome.RETRIED
    async with db.privileged_session(actor=ACTOR) as session:
        recorded = await session.execute(
            _ACCOUNT_MAIL_OUTCOME,
            values | {"error": error, "id": row.id, "lease": lease, "finished": finished},
        )
        if recorded.first() is None:
            outcome = Outcome.LEASE_LOST
    fields = {"account_mail_id": row.id, "kind": row.kind, "attempt": row.attempts}
    if outcome is Outcome.DELIVERED:
        log.info("account letter delivered", **fields)
    elif outcome is Outcome.LEASE_LOST:
        log.warning("account letter lease lost to another worker", **fields)
    else:
        log.warning("account letter not delivered", error=error, outcome=outcome.value, **fields)
    return outcome


# --- retention -------------------------------------------------------------------------------

_FORGET_DELIVERED = text(
    """
    WITH old AS (
        SELECT tenant_id, id FROM outbox
        WHERE delivered_at IS NOT NULL AND delivered_at < :before
        LIMIT :batch
        FOR UPDATE SKIP LOCKED
    ), gone AS (
        DELETE FROM outbox o USING old WHERE o.tenant_id = old.tenant_id AND o.id = old.id
        RETURNING 1
    )
    SELECT count(*) FROM gone
    """
)
_FORGET_ACCOUNT_MAIL = text(
    """
    WITH gone AS (
        DELETE FROM account_mail WHERE id IN (
            SELECT id FROM account_mail
            WHERE coalesce(delivered_at, dead_at) < :before
            LIMIT :batch
            FOR UPDATE SKIP LOCKED)
        RETURNING 1
    )
    SELECT count(*) FROM gone
    """
)


async def forget_delivered(
    db: Database, *, keep: timedelta, batch: int = 5000, now: datetime | None = None
) -> int:
    """Delete up to ``batch`` notifications delivered more than ``keep`` ago, and account
    letters delivered or dead as long; returns how many went. Dead notifications stay until
    someone retries them. Bounded, so that a round of the worker stays short."""
    before = (now or datetime.now(UTC)) - keep
    async with db.privileged_session(actor=ACTOR) as session:
        forgotten = 0
        for statement in (_FORGET_DELIVERED, _FORGET_ACCOUNT_MAIL):
            found = await session.execute(statement, {"before": before, "batch": batch})
            forgotten += int(found.scalar_one())
    return forgotten
