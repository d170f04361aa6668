"""Sign-in: passwords, single sign-on through OpenID providers, sessions, one-time links.

Every function owns its transaction on the app connection (these tables are shared, not
tenant-owned), except invitations, which platform admins issue from the command line. A
refused sign-in is logged for audit with its reason and creates no session.
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta

import structlog
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from rbac import account_links, passwords, sign_in_throttle, web_sessions
from rbac.account_links import LinkPurpose, LinkRefused
from rbac.oidc import ProviderIdentity
from rbac.store import normalise_email
from tenancy.accounts.schemas import InvitationRead, SignedIn, SignedOut
from tenancy.database import Database
from tenancy.errors import DomainError, FieldError, InvalidInput

log = structlog.get_logger(__name__)

RESET_LINK_LIFETIME = timedelta(hours=1)
DEFAULT_INVITATION_LIFETIME = timedelta(days=7)


class SignInRefused(DomainError):
    """No session: ``status`` is 401 (who are you?), 403 (known, but not allowed) or 429
    (throttled, see ``retry_after``)."""

    def __init__(
        self, status: int, reason: str, retry_after: timedelta | None = None, *, code: str = ""
    ) -> None:
        self.status = status
        self.reason = reason
        self.retry_after = retry_after
        self.code = code  # the kind of refusal, for pages that word it in the person's language
        super().__init__(reason)


def _now() -> datetime:
    return datetime.now(UTC)


async def sign_in_with_password(
    db: Database,
    email: str,
    password: str,
    *,
    ip: str | None,
    user_agent: str | None,
    lifetime: timedelta,
) -> SignedIn:
    account = normalise_email(email)
    now = _now()
    refusal: SignInRefused | None = None
    async with db.public_session() as session:
        throttled = await sign_in_throttle.throttled(session, account=account, ip=ip, now=now)
        if throttled is not None:
            refusal = SignInRefused(
                429, throttled.message, throttled.retry_after, code=f"throttled_{throttled.scope}"
            )
        else:
            user = (
                await session.execute(
                    text(
                        "SELECT id, email, name, kind, status, password_hash, email_confirmed_at "
                        "FROM users "
                        "WHERE email = :e"
                    ),
                    {"e": account},
                )
            ).first()
            # The hash is checked even for unknown accounts: the answer takes as long.
            matches = passwords.password_matches(user.password_hash if user else None, password)
            if user is None or not matches:
                await sign_in_throttle.record_failure(
                    session, account=account, ip=ip, reason="wrong password", now=now
                )
                refusal = SignInRefused(401, "wrong e-mail or password", code="wrong_password")
            elif user.status != "active":
                refusal = SignInRefused(
                    403, "this account is deactivated: ask your administrator", code="deactivated"
                )
            elif user.email_confirmed_at is None:
                refusal = SignInRefused(
                    403,
                    "confirm your e-mail address first: open the link in our letter",
                    code="unconfirmed",
                )
            else:
                await sign_in_throttle.forget_failures(session, account=account, ip=ip, now=now)
                if passwords.needs_rehash(user.password_hash):
                    await _store_password(session, user.id, password, now)
                cookie = await web_sessions.open_session(
                    session, user.id, lifetime=lifetime, now=now, ip=ip, user_agent=user_agent
                )
                log.info("signed in", user=str(user.id), method="password", ip=ip)
                return SignedIn(
                    cookie=cookie, user_id=user.id, email=user.email, name=user.name, kind=user.kind
                )
    log.info("sign-in refused", email=account, ip=ip, method="password", reason=refusal.reason)
    raise refusal


async def sign_in_with_provider(
    db: Database,
    identity: ProviderIdentity,
    *,
    citizens: bool,
    ip: str | None,
    user_agent: str | None,
    lifetime: timedelta,
) -> SignedIn:
    """Find the person a provider vouched for: by the identity linked before, else by verified
    e-mail (a provisioned staff member's first sign-in links it), else, where the provider may
    create them, as a new citizen."""
    now = _now()
    linked = False
    refusal: SignInRefused | None = None
    async with db.public_session() as session:
        user = (
            await session.execute(
                text(
                    """
                    SELECT u.id, u.email, u.name, u.kind, u.status FROM user_identities i
                    JOIN users u ON u.id = i.user_id
                    WHERE i.issuer = :iss AND i.subject = :sub
                    """
                ),
                {"iss": identity.issuer, "sub": identity.subject},
            )
        ).first()
        if user is None:
            if not identity.email:
                refusal = SignInRefused(
                    403,
                    "the provider shared no e-mail address: allow it to share your e-mail",
                    code="no_email",
                )
            elif not identity.email_verified:
                refusal = SignInRefused(
                    403,
                    "the provider has not confirmed your e-mail address: confirm it there",
                    code="unverified_email",
                )
            else:
                email = normalise_email(identity.email)
                user = (
                    await session.execute(
                        text("SELECT id, email, name, kind, status FROM users WHERE email = :e"),
                        {"e": email},
                    )
                ).first()
                if user is None and citizens:
                    await session.execute(
                        text(
                            "INSERT INTO users (id, email, name, kind) VALUES (:id, :e, :n, "
                            "'citizen') ON CONFLICT (email) DO NOTHING"
                        ),
                        {"id": uuid.uuid4(), "e": email, "n": identity.name or email.split("@")[0]},
                    )
                    user = (
                        await session.execute(
                            text(
                                "SELECT id, email, name, kind, status FROM users WHERE email = :e"
                            ),
                            {"e": email},
                        )
                    ).first()
                if user is None:
                    refusal = SignInRefused(
                        403,
                        f"{email} has no account here: ask your administrator for one",
                        code="no_account",
                    )
                else:
                    await session.execute(
                        text(
                            """
                            INSERT INTO user_identities (issuer, subject, user_id, email)
                            VALUES (:iss, :sub, :u, :e) ON CONFLICT DO NOTHING
                            """
                        ),
                        {"iss": identity.issuer, "sub": identity.subject, "u": user.id, "e": email},
                    )
                    linked = True
        if refusal is None:
            assert user is not None
            if user.status != "active":
                refusal = SignInRefused(
                    403, "this account is deactivated: ask your administrator", code="deactivated"
                )
            else:
                await session.execute(
                    text(
                        "UPDATE user_identities SET last_sign_in_at = :now "
                        "WHERE issuer = :iss AND subject = :sub"
                    ),
                    {"now": now, "iss": identity.issuer, "sub": identity.subject},
                )
                cookie = await web_sessions.open_session(
                    session,
                    user.id,
                    lifetime=lifetime,
                    now=now,
                    ip=ip,
                    user_agent=user_agent,
                    provider=identity.provider,
                    id_token=identity.id_token,
                )
                log.info(
                    "signed in",
                    user=str(user.id),
                    method=f"oidc:{identity.provider}",
                    linked=linked,
                    ip=ip,
                )
                return SignedIn(
                    cookie=cookie,
                    user_id=user.id,
                    email=user.email,
                    name=user.name,
                    kind=user.kind,
                    linked=linked,
                )
    assert refusal is not None
    log.info(
        "sign-in refused",
        provider=identity.provider,
        subject=identity.subject,
        ip=ip,
        reason=refusal.reason,
    )
    raise refusal


def log_refused_provider_sign_in(provider: str, reason: str, ip: str | None) -> None:
    """A provider's answer failed its checks (state, nonce, issuer, audience, expiry)."""
    log.info("sign-in refused", provider=provider, ip=ip, reason=reason)


async def current_session(
    db: Database, cookie: str, *, lifetime: timedelta
) -> web_sessions.WebSession | None:
    async with db.public_session() as session:
        return await web_sessions.find_session(session, cookie, now=_now(), lifetime=lifetime)


async def sign_out(db: Database, cookie: str) -> SignedOut:
    async with db.public_session() as session:
        ended = await web_sessions.end_session(session, cookie, now=_now())
    if ended is None:
        return SignedOut()
    log.info("signed out", user=str(ended.user_id))
    return SignedOut(provider=ended.provider, id_token=ended.id_token)


# --- passwords and one-time links ---------------------------------------------------------


async def _store_password(
    session: AsyncSession, user_id: uuid.UUID, password: str, now: datetime
) -> None:
    await session.execute(
        text(
            "UPDATE users SET password_hash = :h, password_changed_at = :now, updated_at = :now "
            "WHERE id = :id"
        ),
        {"h": passwords.hash_password(password), "now": now, "id": user_id},
    )


_ACCOUNT_LETTER = text(
    """
    INSERT INTO account_mail (event_id, created_at, kind, recipient, payload, next_attempt_at)
    VALUES (:e, :now, :kind, :to, CAST(:payload AS jsonb), :now)
    """
)


async def mail_link(
    session: AsyncSession,
    kind: str,
    email: str,
    name: str | None,
    link: str,
    *,
    expires_at: datetime,
    now: datetime,
) -> None:
    """Write the letter carrying a one-time link, for the worker to deliver (in the caller's
    transaction, the one that issued the link)."""
    payload = {"name": name, "link": link, "expires_at": expires_at.isoformat()}
    await session.execute(
        _ACCOUNT_LETTER,
        {
            "e": uuid.uuid4(),
            "now": now,
            "kind": kind,
            "to": f"mailto:{email}",
            "payload": json.dumps(payload),
        },
    )


async def request_password_reset(db: Database, email: str, *, base_url: str) -> None:
    """Mail a one-time link to set a new password (the worker delivers it, with the link's
    issue in one transaction). The answer is the same whether the account exists or not, so
    that nobody can probe for accounts."""
    account = normalise_email(email)
    now = _now()
    async with db.public_session() as session:
        user = (
            await session.execute(
                text("SELECT id, name FROM users WHERE email = :e AND status = 'active'"),
                {"e": account},
            )
        ).first()
        if user is None:
            log.info("password reset for an unknown account", email=account)
            return
        value = await account_links.issue_link(
            session,
            user.id,
            LinkPurpose.RESET,
            lifetime=RESET_LINK_LIFETIME,
            now=now,
            created_by="self-service",
        )
        await mail_link(
            session,
            "account.reset",
            account,
            user.name,
            f"{base_url}/auth/reset/{value}",
            expires_at=now + RESET_LINK_LIFETIME,
            now=now,
        )
    # The link itself stays out of the log: it is as good as the password it sets.
    log.info("password reset link mailed", email=account)


async def check_link(db: Database, value: str, purpose: LinkPurpose) -> str:
    """The e-mail a link is for; InvalidInput (field ``link``) when it cannot be used."""
    async with db.public_session() as session:
        try:
            return (await account_links.check_link(session, value, purpose, now=_now())).email
        except LinkRefused as exc:
            raise InvalidInput.one("link", str(exc)) from None


async def set_password_with_link(
    db: Database, value: str, purpose: LinkPurpose, password: str, confirmation: str
) -> str:
    """Use a one-time link to set a password; every open session of the person ends."""
    now = _now()
    async with db.public_session() as session:
        try:
            redeemed = await account_links.redeem_link(session, value, purpose, now=now)
        except LinkRefused as exc:
            raise InvalidInput.one("link", str(exc)) from None
        problems = [
            FieldError("password", p) for p in passwords.password_problems(password, redeemed.email)
        ]
        if password != confirmation:
            problems.append(FieldError("confirmation", "the two passwords differ"))
        if problems:
            raise InvalidInput(problems)  # rolls back: the link stays usable
        await _store_password(session, redeemed.user_id, password, now)
        # The link came by e-mail: whoever opened it owns the address.
        await session.execute(
            text(
                "UPDATE users SET email_confirmed_at = :now "
                "WHERE id = :id AND email_confirmed_at IS NULL"
            ),
            {"now": now, "id": redeemed.user_id},
        )
        ended = await web_sessions.end_sessions_of(session, redeemed.user_id, now=now)
    log.info("password set", user=str(redeemed.user_id), via=purpose.value, sessions_ended=ended)
    return redeemed.email


async def invite_staff(
    db: Database,
    emails: list[str],
    *,
    base_url: str,
    lifetime: timedelta = DEFAULT_INVITATION_LIFETIME,
    actor: str,
) -> list[InvitationRead]:
    """Issue invitation links (replacing unused older ones) for people to set a password,
    and mail each to its person (the caller may hand them over too)."""
    now = _now()
    wanted = [normalise_email(e) for e in emails]
    async with db.privileged_session(actor=actor) as session:
        found = {
            r.email: r
            for r in await session.execute(
                text("SELECT id, email, name, status FROM users WHERE email = ANY(:e)"),
                {"e": wanted},
            )
        }
        errors = [
            FieldError("email", f"no staff member with e-mail {e!r}")
            for e in wanted
            if e not in found
        ] + [
            FieldError("email", f"{e!r} is deactivated")
            for e in wanted
            if e in found and found[e].status != "active"
        ]
        if errors:
            raise InvalidInput(errors)
        invitations = []
        for email in wanted:
            value = await account_links.issue_link(
                session,
                found[email].id,
                LinkPurpose.INVITATION,
                lifetime=lifetime,
                now=now,
                created_by=actor,
            )
            link = f"{base_url}/auth/invitation/{value}"
            await mail_link(
                session,
                "account.invitation",
                email,
                found[email].name,
                link,
                expires_at=now + lifetime,
                now=now,
            )
            invitations.append(InvitationRead(email=email, link=link, expires_at=now + lifetime))
    return invitations


async def set_known_password(db: Database, emails: list[str], password: str, *, actor: str) -> None:
    """Give people a password chosen for them: only for the demo region, whose accounts are
    meant to be tried by anyone who runs it."""
    now = _now()
    async with db.privileged_session(actor=actor) as session:
        await session.execute(
            text(
                "UPDATE users SET password_hash = :h, password_changed_at = :now, "
                "updated_at = :now WHERE email = ANY(:e)"
            ),
            {"h": passwords.hash_password(password), "now": now, "e": emails},
        )


async def people_without_password(
    db: Database, tenant: str | None, *, emails: list[str] | None = None
) -> list[str]:
    """E-mails of active staff (of one tenant, by slug; or among ``emails``) who have never
    set a password."""
    async with db.privileged_session() as session:
        rows = await session.execute(
            text(
                """
                SELECT DISTINCT u.email FROM users u
                LEFT JOIN staff_grants g ON g.user_id = u.id
                LEFT JOIN tenants t ON t.id = g.tenant_id
                WHERE u.kind = 'staff' AND u.status = 'active' AND u.password_hash IS NULL
                  AND (CAST(:slug AS text) IS NULL OR t.slug = :slug)
                  AND (CAST(:emails AS text[]) IS NULL OR u.email = ANY(:emails))
                ORDER BY u.email
                """
            ),
            {"slug": tenant, "emails": [normalise_email(e) for e in emails] if emails else None},
        )
        return list(rows.scalars())
