"""A citizen's personal data (152-ФЗ): what is kept about them, correcting it, and withdrawing
the consent, which closes the account. Messages still open stay with the organizations that
must answer them (the law on appeals requires it); sign-in and notifications end; the record
of the withdrawal is kept."""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import structlog
from sqlalchemy import text

from cabinets.messages import tracking
from cabinets.notifications.choices import choices_of
from rbac import web_sessions
from tenancy.accounts.models import Channel, NotificationChoice
from tenancy.database import Database
from tenancy.errors import FieldError, InvalidInput, NotFound
from tenancy.tenants.identifiers import inn_problem, ogrn_problem

log = structlog.get_logger(__name__)

_PHONE = re.compile(r"^\+?[0-9 ()-]{5,20}$")
PROFILE_FIELDS = (
    "name",
    "applicant_kind",
    "phone",
    "postal_address",
    "organization",
    "inn",
    "ogrn",
)
_LIMITS = {"name": 200, "postal_address": 500, "organization": 300}
CLOSED_STATUSES = frozenset({"answered", "closed", "rejected", "merged", "forwarded"})


@dataclass(frozen=True)
class Profile:
    """What a citizen's forms are filled in with."""

    email: str
    name: str
    applicant_kind: str = "individual"
    phone: str | None = None
    postal_address: str | None = None
    organization: str | None = None
    inn: str | None = None
    ogrn: str | None = None

    def form_values(self) -> dict[str, str]:
        """The citizen's form (write.html) filled in from the profile."""
        values = {"name": self.name, "email": self.email, "phone": self.phone or ""}
        if self.applicant_kind == "legal":
            values |= {"organization": self.organization or "", "inn": self.inn or ""}
        return values


@dataclass(frozen=True)
class PersonalRecord:
    """Everything kept about a citizen, as their personal data page lists it."""

    profile: Profile
    created_at: datetime
    confirmed_at: datetime | None
    sign_in_methods: list[str]
    open_sessions: int
    notifications: dict[Channel, NotificationChoice]
    messages: list[dict[str, Any]] = field(default_factory=list)


async def profile_of(db: Database, user_id: uuid.UUID) -> Profile:
    async with db.public_session() as session:
        row = (
            await session.execute(
                text(
                    "SELECT u.email, u.name, p.applicant_kind, p.phone, p.postal_address, "
                    "p.organization, p.inn, p.ogrn FROM users u "
                    "LEFT JOIN citizen_profiles p ON p.user_id = u.id "
                    "WHERE u.id = :u AND u.status = 'active'"
                ),
                {"u": user_id},
            )
        ).first()
    if row is None:
        raise NotFound("account", str(user_id))
    return Profile(
        row.email,
        row.name,
        row.applicant_kind or "individual",
        row.phone,
        row.postal_address,
        row.organization,
        row.inn,
        row.ogrn,
    )


async def personal_record(db: Database, user_id: uuid.UUID) -> PersonalRecord:
    profile = await profile_of(db, user_id)
    async with db.public_session() as session:
        account = (
            await session.execute(
                text("SELECT created_at, email_confirmed_at FROM users WHERE id = :u"),
                {"u": user_id},
            )
        ).one()
        methods = [
            f"{r.issuer} ({r.email})" if r.email else r.issuer
            for r in await session.execute(
                text("SELECT issuer, email FROM user_identities WHERE user_id = :u"),
                {"u": user_id},
            )
        ]
        sessions = (
            await session.execute(
                text(
                    "SELECT count(*) FROM web_sessions WHERE user_id = :u AND ended_at IS NULL "
                    "AND expires_at > now()"
                ),
                {"u": user_id},
            )
        ).scalar_one()
    return PersonalRecord(
        profile=profile,
        created_at=account.created_at,
        confirmed_at=account.email_confirmed_at,
        sign_in_methods=methods,
        open_sessions=int(sessions),
        notifications=await choices_of(db, profile.email),
        messages=await tracking.citizen_messages(db, user_id),
    )


def _text(values: Mapping[str, str], name: str) -> str | None:
    return (values.get(name) or "").strip() or None


def profile_problems(values: Mapping[str, str]) -> list[FieldError]:
    problems: list[FieldError] = []
    if not _text(values, "name"):
        problems.append(FieldError("name", "required", code="missing"))
    for name, limit in _LIMITS.items():
        if len(_text(values, name) or "") > limit:
            problems.append(FieldError(name, "too long", code="string_too_long", limit=limit))
    phone = _text(values, "phone")
    if phone and not _PHONE.match(phone):
        problems.append(FieldError("phone", "not a phone number", code="phone"))
    kind = _text(values, "applicant_kind") or "individual"
    if kind not in ("individual", "legal"):
        problems.append(FieldError("applicant_kind", "individual or legal", code="choice"))
    if kind == "legal":
        if not _text(values, "organization"):
            problems.append(FieldError("organization", "required", code="organization_required"))
        inn = _text(values, "inn")
        if not inn:
            problems.append(FieldError("inn", "required", code="missing"))
        elif (problem := inn_problem(inn)) is not None:
            problems.append(FieldError("inn", problem, code="inn"))
        ogrn = _text(values, "ogrn")
        if ogrn and (problem := ogrn_problem(ogrn)) is not None:
            problems.append(FieldError("ogrn", problem, code="ogrn"))
    return problems


async def update_profile(db: Database, user_id: uuid.UUID, values: Mapping[str, str]) -> None:
    """Correct a citizen's data; InvalidInput naming every field that cannot be, with
    nothing stored."""
    problems = profile_problems(values)
    if problems:
        raise InvalidInput(problems)
    legal = _text(values, "applicant_kind") == "legal"
    now = datetime.now(UTC)
    async with db.public_session() as session:
        await session.execute(
            text("UPDATE users SET name = :n, updated_at = :now WHERE id = :u"),
            {"u": user_id, "n": _text(values, "name"), "now": now},
        )
        await session.execute(
            text(
                """
                INSERT INTO citizen_profiles (user_id, applicant_kind, phone, postal_address,
                                              organization, inn, ogrn, updated_at)
                VALUES (:u, :kind, :phone, :address, :org, :inn, :ogrn, :now)
                ON CONFLICT (user_id) DO UPDATE SET applicant_kind = excluded.applicant_kind,
                    phone = excluded.phone, postal_address = excluded.postal_address,
                    organization = excluded.organization, inn = excluded.inn,
                    ogrn = excluded.ogrn, updated_at = excluded.updated_at
                """
            ),
            {
                "u": user_id,
                "kind": "legal" if legal else "individual",
                "phone": _text(values, "phone"),
                "address": _text(values, "postal_address"),
                "org": _text(values, "organization") if legal else None,
                "inn": _text(values, "inn") if legal else None,
                "ogrn": _text(values, "ogrn") if legal else None,
                "now": now,
            },
        )


async def withdraw_consent(db: Database, user_id: uuid.UUID, *, ip: str | None) -> int:
    """Withdraw the consent and close the account: its profile is erased, sign-in and
    notifications end, the withdrawal is recorded. Returns how many of the citizen's
    messages are still open (they stay with their organizations until answered)."""
    profile = await profile_of(db, user_id)
    messages = await tracking.citizen_messages(db, user_id)
    still_open = sum(1 for m in messages if m["status"] not in CLOSED_STATUSES)
    now = datetime.now(UTC)
    async with db.public_session() as session:
        await session.execute(
            text(
                "INSERT INTO consent_withdrawals (user_id, email, withdrawn_at, open_messages, ip) "
                "VALUES (:u, :e, :now, :open, :ip)"
            ),
            {"u": user_id, "e": profile.email, "now": now, "open": still_open, "ip": ip},
        )
        await session.execute(
            text("DELETE FROM citizen_profiles WHERE user_id = :u"), {"u": user_id}
        )
        await session.execute(
            text(
                "UPDATE users SET status = 'deactivated', password_hash = NULL, updated_at = :now "
                "WHERE id = :u"
            ),
            {"u": user_id, "now": now},
        )
        await session.execute(
            text(
                """
                INSERT INTO notification_choices (address, channel, choice, updated_at)
                VALUES (:a, 'email', 'none', :now)
                ON CONFLICT (address, channel) DO UPDATE SET choice = 'none', updated_at = :now
                """
            ),
            {"a": profile.email, "now": now},
        )
        await web_sessions.end_sessions_of(session, user_id, now=now)
    log.info("consent withdrawn, account closed", user=str(user_id), open_messages=still_open)
    return still_open
