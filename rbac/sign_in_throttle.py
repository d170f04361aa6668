"""Throttling of failed sign-ins, per account and per address, shared by every process through
the database (each failure is a row; the window is counted by an index scan)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

WINDOW = timedelta(minutes=15)
ACCOUNT_LIMIT = 5  # guessing one person's password
ADDRESS_LIMIT = 30  # trying many accounts from one place (offices share addresses: higher)


@dataclass(frozen=True)
class Throttled:
    scope: str  # account, ip
    retry_after: timedelta

    @property
    def message(self) -> str:
        minutes = max(1, round(self.retry_after.total_seconds() / 60))
        if self.scope == "account":
            return (
                f"too many failed sign-ins for this account: try again in {minutes} min, "
                "or reset the password"
            )
        return f"too many failed sign-ins from your address: try again in {minutes} min"


async def throttled(
    session: AsyncSession, *, account: str, ip: str | None, now: datetime
) -> Throttled | None:
    """Whether sign-in is paused for this account or address, and for how long."""
    since = now - WINDOW
    for scope, key, limit in (("account", account, ACCOUNT_LIMIT), ("ip", ip, ADDRESS_LIMIT)):
        if key is None:
            continue
        row = (
            await session.execute(
                text(
                    """
                    SELECT count(*) AS failures, min(failed_at) AS first
                    FROM (SELECT failed_at FROM sign_in_failures
                          WHERE scope = :scope AND key = :key AND failed_at > :since
                          ORDER BY failed_at DESC LIMIT :limit) recent
                    """
                ),
                {"scope": scope, "key": key, "since": since, "limit": limit},
            )
        ).one()
        if row.failures >= limit:
            return Throttled(scope, row.first + WINDOW - now)
    return None


async def record_failure(
    session: AsyncSession, *, account: str, ip: str | None, reason: str, now: datetime
) -> None:
    await session.execute(
        text(
            """
            INSERT INTO sign_in_failures (scope, key, failed_at, reason)
            SELECT s, k, :now, :reason FROM unnest(CAST(:scopes AS text[]),
                                                   CAST(:keys AS text[])) AS f(s, k)
            WHERE k IS NOT NULL
            """
        ),
        {"scopes": ["account", "ip"], "keys": [account, ip], "now": now, "reason": reason},
    )


async def forget_failures(
    session: AsyncSession, *, account: str, ip: str | None, now: datetime
) -> None:
    """A successful sign-in clears the account's count and the address's expired rows (its
    recent ones still count: one good password must not reset a spray from that address)."""
    await session.execute(
        text(
            "DELETE FROM sign_in_failures WHERE (scope = 'account' AND key = :k) "
            "OR (scope = 'ip' AND key = :ip AND failed_at <= :old)"
        ),
        {"k": account, "ip": ip, "old": now - WINDOW},
    )
