"""Intake: a citizen's message routed to its tenant and filed, or kept whole in the
operator's queue; either way the citizen gets a number to follow."""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from psycopg import AsyncCursor
from sqlalchemy import text

from cabinets import sla
from cabinets.attachments.linking import attach_uploads, lock_uploads, upload_problems
from cabinets.attachments.schemas import UploadRef
from cabinets.messages.citizen import secret_digest
from cabinets.messages.recording import citizen_notice, record_event
from cabinets.messages.schemas import (
    MessageSubmission,
    Receipt,
    field_problems,
)
from cabinets.messages.workflow import (
    CITIZEN_STATUS,
    TRANSITIONS,
    Actor,
    Status,
)
from cabinets.metrics import MESSAGES_RECEIVED
from cabinets.responsible import (
    PublishedTopic,
    ResponsibleTenant,
    published_topic,
    responsible_tenant,
)
from tenancy.catalog.schemas import ExtraField
from tenancy.database import Database, Pipeline
from tenancy.errors import (
    FieldError,
    InvalidInput,
    TooManyRequests,
)
from tenancy.routing.place_check import check_place
from tenancy.routing.resolver import RoutingIndex
from tenancy.settings import Settings

INTAKE_WINDOW = timedelta(hours=1)


@dataclass(frozen=True)
class Citizen:
    """A signed-in citizen: their own messages, and their name and e-mail on new ones."""

    user_id: uuid.UUID
    name: str
    email: str


@dataclass(frozen=True)
class IntakeLimits:
    """How many messages an address, and an applicant, may submit within ``window``."""

    per_address: int = 30
    per_applicant: int = 10
    window: timedelta = INTAKE_WINDOW

    @classmethod
    def configured(cls, settings: Settings) -> IntakeLimits:
        return cls(
            per_address=settings.intake_per_address, per_applicant=settings.intake_per_applicant
        )


async def submit_message(
    db: Database,
    routes: RoutingIndex,
    submission: MessageSubmission,
    *,
    citizen_id: uuid.UUID | None,
    idempotency_key: str | None,
    base_url: str,
    ip: str | None = None,
    limits: IntakeLimits | None = None,
) -> Receipt:
    """Accept a citizen's message: route it to the responsible tenant, or, when nobody is,
    keep it whole in the operator's queue. Either way the citizen gets a number to follow.
    ``citizen_id``: the signed-in person, whose name and e-mail fill in the applicant.

    Intake is the busiest write there is, so its transaction is a pipeline: what the writes
    depend on (the flood limits, the number, the uploads) is read in one round trip, and the
    writes go with the commit in another."""
    citizen = await _citizen(db, citizen_id) if citizen_id else None
    applicant = _applicant(submission, citizen)
    check_place(routes, submission.topic, submission.territory)
    now = datetime.now(UTC)
    request_hash = hashlib.sha256(
        json.dumps(
            [submission.model_dump(mode="json"), str(citizen.user_id) if citizen else None],
            sort_keys=True,
        ).encode()
    ).digest()
    topic = await published_topic(db, routes, submission.topic)
    problems = _submission_problems(submission, topic)
    if problems:
        raise InvalidInput(problems)
    slug = routes.resolve(submission.topic, submission.territory, now.date())
    tenant = await responsible_tenant(db, routes, slug) if slug is not None else None
    filed = tenant if tenant is not None and tenant.status == "active" else None
    uploads = [UploadRef(a.id, a.token) for a in submission.attachments]
    if filed is None and uploads:
        raise InvalidInput.one(
            "attachments",
            "no organization answers this here yet: send the message without files",
            code="files_not_taken_here",
        )
    # A message's transaction sees its tenant from the start (row-level security).
    async with db.tenant_pipeline([filed.id] if filed else []) as pipe:
        if idempotency_key is not None:
            earlier = await _earlier_submission(pipe, idempotency_key, request_hash)
            if earlier is not None:
                return earlier
        attempt = await _count_attempt(pipe, ip, applicant, limits or IntakeLimits(), now)
        numbered = await pipe.execute(_NEXT_TRACKING_NUMBER, {"now": now})
        locked = await lock_uploads(pipe, filed.id, uploads) if filed and uploads else None
        if attempt is not None:
            _refuse_flood(attempt, await attempt.cursor.fetchone(), now)
        numbering = await numbered.fetchone()
        assert numbering is not None  # a SELECT without FROM has its row
        number: str = numbering.number
        token = secrets.token_urlsafe(16)
        if filed is None:
            receipt = await _queue_message(
                pipe, submission, applicant, citizen, number, token, now, base_url
            )
        else:
            found = await locked.fetchall() if locked is not None else []
            problems = upload_problems(filed, uploads, found, photo_required=topic.photo_required)
            if problems:
                raise InvalidInput(problems)
            receipt = await _file_message(
                pipe,
                filed,
                topic,
                submission,
                applicant,
                citizen,
                number,
                token,
                uploads,
                now,
                base_url,
            )
        if idempotency_key is not None:
            await pipe.execute(
                _REMEMBER_SUBMISSION,
                {
                    "k": idempotency_key,
                    "h": request_hash,
                    "n": number,
                    "r": receipt.model_dump_json(),
                },
            )
    MESSAGES_RECEIVED.labels("queued" if filed is None else "filed").inc()  # committed
    return receipt


async def _citizen(db: Database, user_id: uuid.UUID) -> Citizen:
    async with db.public_session() as session:
        found = (
            await session.execute(
                text("SELECT name, email FROM users WHERE id = :u"), {"u": user_id}
            )
        ).one()
    return Citizen(user_id, found.name, found.email)


def _applicant(submission: MessageSubmission, citizen: Citizen | None) -> dict[str, Any]:
    if submission.applicant is not None:
        applicant = submission.applicant.model_dump(mode="json")
    elif citizen is not None:
        applicant = {"kind": "individual", "name": citizen.name, "email": citizen.email}
    else:
        raise InvalidInput.one("applicant", "required: who writes (or sign in)", code="missing")
    if citizen is not None and not applicant.get("email"):
        applicant["email"] = citizen.email
    if not applicant.get("email") and not applicant.get("phone"):
        raise InvalidInput.one(
            "applicant.email",
            "give an e-mail or a phone number, so that the answer reaches you",
            code="contact_required",
        )
    return applicant


def _submission_problems(submission: MessageSubmission, topic: PublishedTopic) -> list[FieldError]:
    problems = []
    if topic.address_required and not (submission.address or submission.latitude is not None):
        problems.append(
            FieldError(
                "address",
                f"the topic {topic.title!r} needs the place: an address",
                code="address_required",
            )
        )
    definitions = [ExtraField.model_validate(f) for f in topic.fields]
    return problems + field_problems(definitions, submission.fields)


_COUNT_ATTEMPT = text(
    """
    WITH by_applicant AS (
        SELECT count(*) AS n, min(at) AS first FROM (
            SELECT at FROM intake_attempts
            WHERE scope = 'applicant' AND key = :who AND at > :since
            ORDER BY at DESC LIMIT :who_limit) recent
    ), by_address AS (
        SELECT count(*) AS n, min(at) AS first FROM (
            SELECT at FROM intake_attempts
            WHERE scope = 'ip' AND key = :ip AND at > :since
            ORDER BY at DESC LIMIT :ip_limit) recent
    ), counted AS (
        INSERT INTO intake_attempts (scope, key, at)
        SELECT s, k, :now FROM unnest(CAST(:scopes AS text[]), CAST(:keys AS text[])) AS a(s, k)
        WHERE (SELECT n FROM by_applicant) < :who_limit AND (SELECT n FROM by_address) < :ip_limit
        RETURNING 1
    )
    SELECT a.n AS by_applicant, a.first AS applicant_first, i.n AS by_ip, i.first AS ip_first
    FROM by_applicant a, by_address i
    """
)


@dataclass(frozen=True)
class _Attempt:
    """A submission being counted against the flood limits: the count's result arrives with
    the rest of the intake's reads."""

    cursor: AsyncCursor[Any]
    limits: IntakeLimits
    by_applicant: bool
    by_address: bool


async def _count_attempt(
    pipe: Pipeline,
    ip: str | None,
    applicant: Mapping[str, Any],
    limits: IntakeLimits,
    now: datetime,
) -> _Attempt | None:
    """Count this submission unless it is one too many from its address or its applicant
    (one statement: it runs on every message). A limit of 0 is off (a regional portal
    submitting for many people from one address)."""
    who = str(applicant.get("email") or applicant.get("phone") or "").lower() or None
    by_applicant = who is not None and limits.per_applicant > 0
    by_address = ip is not None and limits.per_address > 0
    scopes = [s for s, on in (("applicant", by_applicant), ("ip", by_address)) if on]
    if not scopes:
        return None
    cursor = await pipe.execute(
        _COUNT_ATTEMPT,
        {
            "who": who if by_applicant else None,
            "ip": ip if by_address else None,
            "since": now - limits.window,
            "who_limit": limits.per_applicant if by_applicant else 1,
            "ip_limit": limits.per_address if by_address else 1,
            "scopes": scopes,
            "keys": [who if s == "applicant" else ip for s in scopes],
            "now": now,
        },
    )
    return _Attempt(cursor, limits, by_applicant, by_address)


def _refuse_flood(attempt: _Attempt, row: Any, now: datetime) -> None:
    limits = attempt.limits
    for on, count, first, limit, whom in (
        (
            attempt.by_applicant,
            row.by_applicant,
            row.applicant_first,
            limits.per_applicant,
            "this applicant",
        ),
        (attempt.by_address, row.by_ip, row.ip_first, limits.per_address, "your address"),
    ):
        if on and count >= limit:
            wait = int((first + limits.window - now).total_seconds()) + 1
            raise TooManyRequests(
                f"{limit} messages an hour from {whom} is the limit: try again in "
                f"{max(1, wait // 60)} min",
                retry_after=wait,
            )


_LOCK_IDEMPOTENCY_KEY = text("SELECT pg_advisory_xact_lock(hashtext(:k))")
_EARLIER_SUBMISSION = text(
    "SELECT request_hash, response FROM intake_requests WHERE idempotency_key = :k"
)
_REMEMBER_SUBMISSION = text(
    """
    INSERT INTO intake_requests (idempotency_key, request_hash, tracking_number, response)
    VALUES (:k, :h, :n, CAST(:r AS jsonb))
    """
)


async def _earlier_submission(pipe: Pipeline, key: str, request_hash: bytes) -> Receipt | None:
    # Two retries racing: the second waits for the first to commit, then finds its answer.
    await pipe.execute(_LOCK_IDEMPOTENCY_KEY, {"k": key})
    earlier = await (await pipe.execute(_EARLIER_SUBMISSION, {"k": key})).fetchone()
    if earlier is None:
        return None
    if not hmac.compare_digest(bytes(earlier.request_hash), request_hash):
        raise InvalidInput.one(
            "Idempotency-Key", "already used for a different message: use a new key"
        )
    return Receipt.model_validate(earlier.response)


_NEXT_TRACKING_NUMBER = text(
    "SELECT to_char(:now, 'YY') || '-' || lpad(nextval('tracking_numbers')::text, 7, '0') AS number"
)
_TRACK = text(
    """
    INSERT INTO message_tracking (number, secret_hash, citizen_id, holder_tenant_id,
                                  holder_message_id)
    VALUES (:n, :h, :citizen, :t, :id)
    """
)
_QUEUE_MESSAGE = text(
    """
    INSERT INTO operator_queue (id, tracking_number, topic_code, territory_code, submission,
                                reason)
    VALUES (:id, :n, :topic, :territory, CAST(:s AS jsonb), :reason)
    """
)


def _status_url(base_url: str, number: str, token: str) -> str:
    return f"{base_url}/track/{number}?token={token}"


async def _queue_message(
    pipe: Pipeline,
    submission: MessageSubmission,
    applicant: dict[str, Any],
    citizen: Citizen | None,
    number: str,
    token: str,
    now: datetime,
    base_url: str,
) -> Receipt:
    """Keep a message nobody answers yet whole in the operator's queue, under its number."""
    citizen_id = citizen.user_id if citizen else None
    await pipe.execute(
        _TRACK,
        {"n": number, "h": secret_digest(token), "citizen": citizen_id, "t": None, "id": None},
    )
    await pipe.execute(
        _QUEUE_MESSAGE,
        {
            "id": uuid.uuid4(),
            "n": number,
            "topic": submission.topic,
            "territory": submission.territory,
            "s": json.dumps(
                {
                    **submission.model_dump(mode="json"),
                    "applicant": applicant,
                    "citizen_id": str(citizen_id) if citizen_id else None,
                    "received_at": now.isoformat(),
                }
            ),
            "reason": f"nobody is responsible for {submission.topic} on {submission.territory}",
        },
    )
    return Receipt(
        number=number,
        token=token,
        status="queued",
        status_label="Поступило: определяется ответственная организация",
        organization=None,
        queued=True,
        status_url=_status_url(base_url, number, token),
    )


_FILE_MESSAGE = text(
    """
    INSERT INTO messages (tenant_id, id, tracking_number, topic_code, catalog_version_id,
        territory_code, address, latitude, longitude, summary, body, fields, applicant,
        citizen_id, consent_at, status, received_at, stage_due_at)
    VALUES (:t, :id, :n, :topic, :version, :territory, :address, :lat, :lon, :summary, :body,
        CAST(:fields AS jsonb), CAST(:applicant AS jsonb), :citizen, :now, 'new', :now,
        :stage_due)
    """
)


async def _file_message(
    pipe: Pipeline,
    tenant: ResponsibleTenant,
    topic: PublishedTopic,
    submission: MessageSubmission,
    applicant: dict[str, Any],
    citizen: Citizen | None,
    number: str,
    token: str,
    uploads: Sequence[UploadRef],
    now: datetime,
    base_url: str,
) -> Receipt:
    """Write a new message in its tenant under its public number, with its files, its first
    event and the citizen's receipt."""
    message_id = uuid.uuid4()
    citizen_id = citizen.user_id if citizen else None
    await pipe.execute(
        _TRACK,
        {
            "n": number,
            "h": secret_digest(token),
            "citizen": citizen_id,
            "t": tenant.id,
            "id": message_id,
        },
    )
    await file_submission(
        pipe, tenant, topic, submission, applicant, citizen_id, number, message_id, uploads, now
    )
    return Receipt(
        number=number,
        token=token,
        status=Status.NEW,
        status_label=CITIZEN_STATUS[Status.NEW],
        organization=tenant.name,
        status_url=_status_url(base_url, number, token),
    )


async def file_submission(
    pipe: Pipeline,
    tenant: ResponsibleTenant,
    topic: PublishedTopic,
    submission: MessageSubmission,
    applicant: dict[str, Any],
    citizen_id: uuid.UUID | None,
    number: str,
    message_id: uuid.UUID,
    uploads: Sequence[UploadRef],
    now: datetime,
    details: Mapping[str, Any] | None = None,
) -> None:
    """The message itself, new in its tenant, with its files, its first event and the notice
    telling the citizen where it is: intake's filing, and the operator's queue's dispatch (whose
    number is already tracked; ``details`` says who sent it there)."""
    stage_due = sla.deadline(
        now,
        max(topic.moderation_days, 1),
        sla.DayCount.WORKING,
        timezone=tenant.timezone,
        calendar=tenant.calendar,
    )
    await pipe.execute(
        _FILE_MESSAGE,
        {
            "t": tenant.id,
            "id": message_id,
            "n": number,
            "topic": topic.code,
            "version": topic.version_id,
            "territory": submission.territory,
            "address": submission.address,
            "lat": submission.latitude,
            "lon": submission.longitude,
            "summary": submission.summary,
            "body": submission.text,
            "fields": json.dumps(submission.fields),
            "applicant": json.dumps(applicant),
            "citizen": citizen_id,
            "now": now,
            "stage_due": stage_due,
        },
    )
    await attach_uploads(pipe, tenant.id, message_id, uploads, now=now)
    transition = TRANSITIONS["submit"]
    notices = citizen_notice(applicant, transition, number, tenant.name, dict(details or {}))
    await record_event(
        pipe,
        tenant.id,
        message_id,
        transition,
        None,
        Status.NEW,
        None,
        dict(details or {}),
        notices,
        actor_kind=Actor.CITIZEN,
        actor_name=applicant.get("name"),
        now=now,
    )
