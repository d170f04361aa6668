"""Citizens' own accounts: signing up with e-mail and password, confirming the address by the
letter's link, and claiming the messages written earlier with that address.

Signing up answers the same whether the address is free or taken, so that nobody can probe
for accounts: a taken address gets a letter telling its owner, a free one the confirmation
link. Until the link is opened the account cannot sign in.
"""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime, timedelta

import structlog
from sqlalchemy import text

from rbac import account_links, passwords
from rbac.account_links import LinkPurpose, LinkRefused
from rbac.store import normalise_email
from tenancy.accounts.service import mail_link
from tenancy.database import Database
from tenancy.errors import FieldError, InvalidInput

log = structlog.get_logger(__name__)

CONFIRMATION_LIFETIME = timedelta(days=2)
NAME_LENGTH = 200
EMAIL_LENGTH = 254
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def _now() -> datetime:
    return datetime.now(UTC)


def sign_up_problems(email: str, name: str, password: str, confirmation: str) -> list[FieldError]:
    """What is wrong with a sign-up form (the same for a free and a taken address)."""
    problems = []
    if not email:
        problems.append(FieldError("email", "required", code="missing"))
    elif len(email) > EMAIL_LENGTH or not _EMAIL.match(email):
        problems.append(FieldError("email", "not an e-mail address", code="email"))
    if not name.strip():
        problems.append(FieldError("name", "required", code="missing"))
    elif len(name) > NAME_LENGTH:
        problems.append(FieldError("name", "too long", code="string_too_long", limit=NAME_LENGTH))
    for problem in passwords.password_problems(password, email or "@"):
        problems.append(FieldError("password", problem, code="weak_password"))
    if password != confirmation:
        problems.append(FieldError("confirmation", "the two passwords differ", code="differ"))
    return problems


async def sign_up(
    db: Database, email: str, name: str, password: str, confirmation: str, *, base_url: str
) -> None:
    """Mail the confirmation link to a new citizen, or, when the address already has a
    confirmed account, a letter telling its owner; InvalidInput for a form that cannot be."""
    account = normalise_email(email)
    problems = sign_up_problems(account, name, password, confirmation)
    if problems:
        raise InvalidInput(problems)
    now = _now()
    # Hashed whether or not the address is taken: the answer takes as long either way.
    hashed = passwords.hash_password(password)
    async with db.public_session() as session:
        found = (
            await session.execute(
                text(
                    "SELECT id, name, kind, email_confirmed_at, status FROM users WHERE email = :e"
                ),
                {"e": account},
            )
        ).first()
        if found is not None and (found.email_confirmed_at is not None or found.kind != "citizen"):
            await mail_link(
                session,
                "account.taken",
                account,
                found.name,
                f"{base_url}/auth/sign-in",
                expires_at=now,
                now=now,
            )
            log.info("sign-up with a taken address", email=account)
            return
        if found is None:
            user_id = uuid.uuid4()
            await session.execute(
                text(
                    "INSERT INTO users (id, email, name, kind, password_hash, email_confirmed_at) "
                    "VALUES (:id, :e, :n, 'citizen', :h, NULL)"
                ),
                {"id": user_id, "e": account, "n": name.strip(), "h": hashed},
            )
        else:
            # Signed up before without confirming: the newest form and letter count.
            user_id = found.id
            await session.execute(
                text(
                    "UPDATE users SET name = :n, password_hash = :h, updated_at = :now "
                    "WHERE id = :id"
                ),
                {"id": user_id, "n": name.strip(), "h": hashed, "now": now},
            )
        value = await account_links.issue_link(
            session,
            user_id,
            LinkPurpose.CONFIRMATION,
            lifetime=CONFIRMATION_LIFETIME,
            now=now,
            created_by="self-service",
        )
        await mail_link(
            session,
            "account.confirmation",
            account,
            name.strip(),
            f"{base_url}/auth/confirm/{value}",
            expires_at=now + CONFIRMATION_LIFETIME,
            now=now,
        )
    log.info("sign-up confirmation mailed", email=account)


async def check_confirmation(db: Database, value: str) -> str:
    """The address a confirmation link is for, the link left usable; InvalidInput (field
    ``link``) as ``confirm_address`` refuses."""
    async with db.public_session() as session:
        try:
            found = await account_links.check_link(
                session, value, LinkPurpose.CONFIRMATION, now=_now()
            )
        except LinkRefused as exc:
            raise InvalidInput.one("link", str(exc), code=link_refusal_code(str(exc))) from None
    return found.email


async def confirm_address(db: Database, value: str) -> tuple[str, int]:
    """Open a confirmation link: the account may sign in from now on, and the messages written
    before with this address become its own. Returns the address and how many were claimed;
    InvalidInput (field ``link``) for a link used before, replaced or expired."""
    now = _now()
    async with db.public_session() as session:
        try:
            redeemed = await account_links.redeem_link(
                session, value, LinkPurpose.CONFIRMATION, now=now
            )
        except LinkRefused as exc:
            raise InvalidInput.one("link", str(exc), code=link_refusal_code(str(exc))) from None
        await session.execute(
            text("UPDATE users SET email_confirmed_at = :now, updated_at = :now WHERE id = :id"),
            {"id": redeemed.user_id, "now": now},
        )
    claimed = await claim_messages(db, redeemed.user_id, redeemed.email)
    log.info("address confirmed", user=str(redeemed.user_id), claimed=claimed)
    return redeemed.email, claimed


def link_refusal_code(reason: str) -> str:
    """The kind of a refused link, for the page to word it."""
    if "already used" in reason:
        return "link_used"
    if "expired" in reason:
        return "link_expired"
    return "link_invalid"


async def claim_messages(db: Database, user_id: uuid.UUID, email: str) -> int:
    """Make the messages written without an account from a confirmed ``email`` the
    account's own, in every organization they are with (a step of the platform's own, so on
    the owner connection)."""
    async with db.privileged_session(actor=f"citizen:{user_id}") as session:
        numbers = list(
            (
                await session.execute(
                    text(
                        "UPDATE messages SET citizen_id = :u "
                        "WHERE citizen_id IS NULL AND lower(applicant->>'email') = :e "
                        "RETURNING tracking_number"
                    ),
                    {"u": user_id, "e": normalise_email(email)},
                )
            ).scalars()
        )
        if not numbers:
            return 0
        claimed = await session.execute(
            text(
                "UPDATE message_tracking SET citizen_id = :u "
                "WHERE citizen_id IS NULL AND number = ANY(:n) RETURNING number"
            ),
            {"u": user_id, "n": numbers},
        )
        return len(claimed.all())
