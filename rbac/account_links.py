"""One-time links that let a person set a password (a reset they asked for, or the invitation
a new staff member receives) or confirm the address a citizen signed up with. Stored as a
SHA-256 of the secret; used once; they expire."""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

_VALUE = re.compile(r"^([0-9a-f]{32})\.([A-Za-z0-9_-]{43})$")


class LinkPurpose(StrEnum):
    RESET = "reset"
    INVITATION = "invitation"
    CONFIRMATION = "confirmation"  # a citizen's e-mail address, after signing up


class LinkRefused(Exception):
    """The link cannot be used; the message says why and what to do instead."""


@dataclass(frozen=True)
class RedeemedLink:
    user_id: uuid.UUID
    email: str
    purpose: LinkPurpose


def _digest(secret: str) -> bytes:
    return hashlib.sha256(secret.encode()).digest()


async def issue_link(
    session: AsyncSession,
    user_id: uuid.UUID,
    purpose: LinkPurpose,
    *,
    lifetime: timedelta,
    now: datetime,
    created_by: str,
) -> str:
    """A new link's secret part (``<id>.<secret>``); earlier unused links of the same purpose
    stop working, so only the newest e-mail counts."""
    await session.execute(
        text(
            "UPDATE account_links SET used_at = :now "
            "WHERE user_id = :u AND purpose = :p AND used_at IS NULL"
        ),
        {"u": user_id, "p": purpose.value, "now": now},
    )
    link_id = uuid.uuid4()
    secret = secrets.token_urlsafe(32)
    await session.execute(
        text(
            """
            INSERT INTO account_links (id, secret_hash, user_id, purpose, created_at, created_by,
                                       expires_at)
            VALUES (:id, :hash, :u, :p, :now, :by, :expires)
            """
        ),
        {
            "id": link_id,
            "hash": _digest(secret),
            "u": user_id,
            "p": purpose.value,
            "now": now,
            "by": created_by,
            "expires": now + lifetime,
        },
    )
    return f"{link_id.hex}.{secret}"


async def check_link(
    session: AsyncSession, value: str, purpose: LinkPurpose, *, now: datetime
) -> RedeemedLink:
    """The person a link is for, or LinkRefused; the link stays usable."""
    return await _find(session, value, purpose, now=now, use=False)


async def redeem_link(
    session: AsyncSession, value: str, purpose: LinkPurpose, *, now: datetime
) -> RedeemedLink:
    """Like ``check_link``, and marks the link used (in the caller's transaction)."""
    return await _find(session, value, purpose, now=now, use=True)


async def _find(
    session: AsyncSession, value: str, purpose: LinkPurpose, *, now: datetime, use: bool
) -> RedeemedLink:
    match = _VALUE.match(value)
    if match is None:
        raise LinkRefused("this link is malformed: copy the whole link from the e-mail")
    row = (
        await session.execute(
            text(
                """
                SELECT l.secret_hash, l.user_id, l.purpose, l.expires_at, l.used_at,
                       u.email, u.status
                FROM account_links l JOIN users u ON u.id = l.user_id
                WHERE l.id = :id
                """
                + (" FOR UPDATE OF l" if use else "")
            ),
            {"id": uuid.UUID(match.group(1))},
        )
    ).first()
    if (
        row is None
        or row.purpose != purpose.value
        or not hmac.compare_digest(row.secret_hash, _digest(match.group(2)))
    ):
        raise LinkRefused("this link is not valid: ask for a new one")
    if row.used_at is not None:
        raise LinkRefused("this link was already used or replaced by a newer one: ask again")
    if row.expires_at <= now:
        raise LinkRefused("this link has expired: ask for a new one")
    if row.status != "active":
        raise LinkRefused("this account is deactivated: ask your administrator")
    if use:
        await session.execute(
            text("UPDATE account_links SET used_at = :now WHERE id = :id"),
            {"now": now, "id": uuid.UUID(match.group(1))},
        )
    return RedeemedLink(row.user_id, row.email, LinkPurpose(row.purpose))
