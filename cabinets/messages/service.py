"""Messages: intake, the workflow's actions, reading and the citizen's timeline.

Each public function owns its transaction. An action locks the message row, checks that the
caller may act (a message they may not read is "not found", never "forbidden" with its data),
that the version they decided on is current and that the workflow allows the step, then writes
the new state, the history event and the outbox rows together.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import uuid
from collections.abc import AsyncIterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from psycopg import AsyncCursor
from sqlalchemy import text
from sqlalchemy.engine import Row
from sqlalchemy.ext.asyncio import AsyncSession

from cabinets import sla
from cabinets.attachments.service import (
    FileRead,
    UploadReceipt,
    UploadRef,
    attach_uploads,
    copy_files,
    file_link,
    lock_uploads,
    message_files,
    receive_answer_file,
    upload_problems,
)
from cabinets.messages.schemas import (
    MessageRead,
    MessageSubmission,
    Receipt,
    field_problems,
)
from cabinets.messages.templates import fill_template, template_body
from cabinets.messages.workflow import (
    CITIZEN_STATUS,
    REJECTION_GROUNDS,
    TRANSITIONS,
    Actor,
    Status,
    Transition,
    TransitionRefused,
    check_transition,
)
from cabinets.metrics import MESSAGES_RECEIVED
from cabinets.notifications.outbox import write_notices
from cabinets.responsible import (
    PublishedTopic,
    ResponsibleTenant,
    published_topic,
    responsible_tenant,
)
from rbac.access import Principal
from rbac.enforcer import PolicyEnforcer
from storage.antivirus import VirusScanner
from storage.object_store import ObjectStore
from tenancy.catalog.schemas import ExtraField
from tenancy.database import Database, Pipeline, Transaction
from tenancy.errors import (
    Conflict,
    FieldError,
    Forbidden,
    Gone,
    InvalidInput,
    NotFound,
    TooManyRequests,
)
from tenancy.routing.place_check import check_place
from tenancy.routing.resolver import RoutingIndex
from tenancy.settings import Settings

MAX_EXTENSIONS = 1  # the appeals law allows one extension
MAX_EXTENSION_DAYS = 30
RATING_DAYS = 10  # no rating within this many days closes an answered message
REOPEN_RATINGS = frozenset({1, 2})
INTAKE_WINDOW = timedelta(hours=1)


@dataclass(frozen=True)
class Staff:
    """Who works a message: a member of staff, or an integration acting with an API token
    (``user_id`` None, ``integration`` its name). ``may`` asks the live policy."""

    user_id: uuid.UUID | None
    subject: str
    policy: PolicyEnforcer
    integration: str | None = None

    @classmethod
    def of(cls, principal: Principal, policy: PolicyEnforcer) -> Staff:
        """The caller of a request as the one who acts."""
        if principal.kind == "token":
            return cls(None, principal.subject, policy, integration=principal.name)
        return cls(principal.user_id, principal.subject, policy)

    def may(self, tenant_id: uuid.UUID, permission: str, *, assigned: bool) -> bool:
        # Nothing is assigned to an integration: an executor's "own" reach never applies.
        own = assigned and self.user_id is not None
        return self.policy.allowed(self.subject, str(tenant_id), permission, assigned=own)

    def is_assignee(self, assignee_id: uuid.UUID | None) -> bool:
        return self.user_id is not None and assignee_id == self.user_id


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


@dataclass
class _Notice:
    """A notification to write to the outbox with the event: to the citizen's e-mail when
    they gave one, and to the tenant's webhooks subscribed to its kind."""

    kind: str
    recipient: str | None
    payload: dict[str, Any] = field(default_factory=dict)


def _now() -> datetime:
    return datetime.now(UTC)


def _digest(secret: str) -> bytes:
    return hashlib.sha256(secret.encode()).digest()


# --- intake --------------------------------------------------------------------------------


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
    now = _now()
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
            receipt = await _queue_message(pipe, submission, applicant, citizen, number, token,
                                           now, base_url)  # fmt: skip
        else:
            found = await locked.fetchall() if locked is not None else []
            problems = upload_problems(filed, uploads, found, photo_required=topic.photo_required)
            if problems:
                raise InvalidInput(problems)
            receipt = await _file_message(pipe, filed, topic, submission, applicant, citizen,
                                          number, token, uploads, now, base_url)  # fmt: skip
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
        (attempt.by_applicant, row.by_applicant, row.applicant_first, limits.per_applicant,
         "this applicant"),
        (attempt.by_address, row.by_ip, row.ip_first, limits.per_address, "your address"),
    ):  # fmt: skip
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
        _TRACK, {"n": number, "h": _digest(token), "citizen": citizen_id, "t": None, "id": None}
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
        {"n": number, "h": _digest(token), "citizen": citizen_id, "t": tenant.id, "id": message_id},
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
        now, max(topic.moderation_days, 1), sla.DayCount.WORKING,
        timezone=tenant.timezone, calendar=tenant.calendar,
    )  # fmt: skip
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
    notices = _citizen_notice(applicant, transition, number, tenant.name, dict(details or {}))
    await _record(
        pipe, tenant.id, message_id, transition, None, Status.NEW, None, dict(details or {}),
        notices, actor_kind=Actor.CITIZEN, actor_name=applicant.get("name"), now=now,
    )  # fmt: skip


async def _scope(session: AsyncSession, tenant_ids: Sequence[uuid.UUID]) -> None:
    """Widen this transaction to the tenants it now writes for (intake learns the tenant from
    routing; forwarding writes in two)."""
    await session.execute(
        text("SELECT set_config('app.tenant_ids', :ids, true)"),
        {"ids": ",".join(str(t) for t in tenant_ids)},
    )


def _citizen_notice(
    applicant: Mapping[str, Any],
    transition: Transition,
    number: str,
    organization: str | None,
    details: dict[str, Any],
) -> list[_Notice]:
    email = applicant.get("email")
    if not transition.public:
        return []
    return [
        _Notice(
            kind=f"message.{transition.action}",
            recipient=f"mailto:{email}" if email else None,
            payload={
                "number": number,
                "title": transition.title,
                "organization": organization,
                **details,
            },
        )
    ]


_EVENT = text(
    """
    INSERT INTO message_events (tenant_id, message_id, occurred_at, kind, actor_kind, actor_id,
        actor_name, actor_position, from_status, to_status, reason, payload, public)
    VALUES (:t, :m, :now, :kind, :actor_kind, :actor_id, :actor_name, :position, :from, :to,
        :reason, CAST(:payload AS jsonb), :public)
    """
)


async def _record(
    tx: Transaction,
    tenant_id: uuid.UUID,
    message_id: uuid.UUID,
    transition: Transition,
    from_status: Status | None,
    to_status: Status,
    reason: str | None,
    payload: dict[str, Any],
    notices: list[_Notice],
    *,
    actor_kind: Actor,
    actor_id: uuid.UUID | None = None,
    actor_name: str | None = None,
    actor_position: str | None = None,
    now: datetime,
) -> None:
    """The history event and its outbox rows, in the caller's transaction."""
    await tx.execute(
        _EVENT,
        {
            "t": tenant_id,
            "m": message_id,
            "now": now,
            "kind": transition.action,
            "actor_kind": actor_kind.value,
            "actor_id": actor_id,
            "actor_name": actor_name,
            "position": actor_position,
            "from": from_status,
            "to": to_status,
            "reason": reason,
            "payload": json.dumps(payload, default=str),
            "public": transition.public,
        },
    )
    # One event per kind, however many people are mailed about it: webhooks get it once.
    by_kind: dict[str, list[_Notice]] = {}
    for notice in notices:
        by_kind.setdefault(notice.kind, []).append(notice)
    for kind, same in by_kind.items():
        await write_notices(
            tx, tenant_id, message_id, kind, same[0].payload,
            [n.recipient for n in same if n.recipient], now=now,
        )  # fmt: skip


# --- reading -------------------------------------------------------------------------------

_COLUMNS = """
    m.tenant_id, m.id, m.tracking_number, m.status, m.version, m.topic_code, m.territory_code,
    m.address, m.latitude, m.longitude, m.summary, m.body, m.fields, m.applicant, m.citizen_id,
    m.received_at, m.stage_due_at, m.registration_number, m.registered_at, m.assignee_id,
    m.due_at, m.extensions, m.reopened_count, m.answer_body, m.answer_author_id, m.answered_at,
    m.rating, m.rating_comment, m.forwarded_to_tenant_id, m.merged_into_id,
    m.forwarded_from_tenant_id, m.forwarded_from_id, m.catalog_version_id,
    t.slug AS tenant_slug, t.name AS tenant_name, t.timezone, t.calendar,
    f.slug AS forwarded_to_slug
"""
_FROM = """
    FROM messages m JOIN tenants t ON t.id = m.tenant_id
    LEFT JOIN tenants f ON f.id = m.forwarded_to_tenant_id
"""


async def _load(
    session: AsyncSession, tenant_id: uuid.UUID, message_id: uuid.UUID, *, lock: bool
) -> Row[Any]:
    row = (
        await session.execute(
            text(
                f"SELECT {_COLUMNS} {_FROM} WHERE m.tenant_id = :t AND m.id = :id"
                + (" FOR UPDATE OF m" if lock else "")
            ),
            {"t": tenant_id, "id": message_id},
        )
    ).first()
    if row is None:
        raise NotFound("message", str(message_id))
    return row


def message_read(row: Row[Any], now: datetime | None = None) -> MessageRead:
    status = Status(row.status)
    return MessageRead(
        id=row.id,
        tenant=row.tenant_slug,
        number=row.tracking_number,
        status=status,
        version=row.version,
        topic=row.topic_code,
        territory=row.territory_code,
        address=row.address,
        latitude=row.latitude,
        longitude=row.longitude,
        summary=row.summary,
        text=row.body,
        fields=row.fields,
        applicant=row.applicant,
        received_at=row.received_at,
        stage_due_at=row.stage_due_at,
        registration_number=row.registration_number,
        registered_at=row.registered_at,
        assignee_id=row.assignee_id,
        due_at=row.due_at,
        sla=sla.remaining(row.due_at or row.stage_due_at, now or _now())
        if status in (Status.NEW, Status.REGISTERED, Status.ASSIGNED, Status.ON_APPROVAL)
        else None,
        extensions=row.extensions,
        reopened_count=row.reopened_count,
        answer=row.answer_body,
        answered_at=row.answered_at,
        rating=row.rating,
        rating_comment=row.rating_comment,
        forwarded_to=row.forwarded_to_slug,
        merged_into=row.merged_into_id,
    )


def _check_reader(staff: Staff, row: Row[Any]) -> bool:
    """Whether ``staff`` may see the message at all; returns whether it is assigned to them."""
    assigned = staff.is_assignee(row.assignee_id)
    if not staff.may(row.tenant_id, "message:read", assigned=assigned):
        # Never confirm that another tenant's (or another executor's) message exists.
        raise NotFound("message", str(row.id))
    return assigned


def check_reader(staff: Staff, row: Row[Any]) -> bool:
    """Whether ``staff`` may see the message row read in the caller's own transaction (the
    card, the history): NotFound otherwise; returns whether it is assigned to them."""
    return _check_reader(staff, row)


async def load_message(
    session: AsyncSession, tenant_id: uuid.UUID, message_id: uuid.UUID
) -> Row[Any]:
    """One message row with its tenant's name and settings, in the caller's transaction."""
    return await _load(session, tenant_id, message_id, lock=False)


async def get_message(
    db: Database, staff: Staff, tenant_id: uuid.UUID, message_id: uuid.UUID
) -> MessageRead:
    async with db.tenant_session([tenant_id]) as session:
        row = await _load(session, tenant_id, message_id, lock=False)
    _check_reader(staff, row)
    return message_read(row)


# --- actions -------------------------------------------------------------------------------


@dataclass
class _Change:
    """What an action does to the message row besides its status."""

    columns: dict[str, Any] = field(default_factory=dict)
    reason: str | None = None
    payload: dict[str, Any] = field(default_factory=dict)
    target: Status | None = None  # overrides the transition's (rating: closed or reopened)
    citizen_details: dict[str, Any] = field(default_factory=dict)


class StaleMessage(Conflict):
    """Someone else acted first: the message changed since the version the caller saw."""


async def perform(
    db: Database,
    staff: Staff,
    tenant_id: uuid.UUID,
    message_id: uuid.UUID,
    action: str,
    version: int | None,
    *,
    store: ObjectStore | None = None,
    **params: Any,
) -> MessageRead:
    """Carry out a staff action (see ``workflow.TRANSITIONS``) in one transaction. ``store``:
    where files live, for the actions that copy them (forwarding)."""
    params["store"] = store
    params["db"] = db
    transition = TRANSITIONS[action]
    assert transition.actor is Actor.STAFF
    assert transition.permission is not None
    now = _now()
    async with db.tenant_session([tenant_id]) as session:
        row = await _load(session, tenant_id, message_id, lock=True)
        assigned = _check_reader(staff, row)
        if not staff.may(tenant_id, transition.permission, assigned=assigned and transition.own):
            raise Forbidden(
                f"{action.replace('_', ' ')} needs the permission {transition.permission}"
            )
        if version is not None and row.version != version:
            raise StaleMessage(
                f"the message changed since version {version} (now {row.version}, "
                f"{row.status}): look again and decide on the current state",
                current=message_read(row, now).model_dump(mode="json"),
            )
        try:
            check_transition(action, Status(row.status))
        except TransitionRefused as exc:
            raise Conflict(
                str(exc), current=message_read(row, now).model_dump(mode="json")
            ) from None
        actor = await _actor(session, staff)
        change = await _ACTIONS[action](session, row, staff, now, params)
        target = change.target or transition.target or Status(row.status)
        await _apply(session, row, target, change.columns, now)
        notices = _citizen_notice(
            row.applicant, transition, row.tracking_number, row.tenant_name,
            change.citizen_details,
        )  # fmt: skip
        await _record(
            session, tenant_id, message_id, transition, Status(row.status), target,
            change.reason, change.payload, notices, actor_kind=actor.kind,
            actor_id=staff.user_id, actor_name=actor.name, actor_position=actor.position,
            now=now,
        )  # fmt: skip
        if action == "approve_answer":
            await _answer_duplicates(session, row, change, now)
        return message_read(await _load(session, tenant_id, message_id, lock=False), now)


@dataclass(frozen=True)
class _Signature:
    """How the history signs a step: the official's name and position, or the integration's
    name (never a person's for a token's step)."""

    kind: Actor
    name: str | None
    position: str | None = None


async def _actor(session: AsyncSession, staff: Staff) -> _Signature:
    if staff.user_id is None:
        return _Signature(Actor.INTEGRATION, staff.integration)
    found = (
        await session.execute(
            text("SELECT name, position FROM users WHERE id = :u"), {"u": staff.user_id}
        )
    ).first()
    assert found is not None
    return _Signature(Actor.STAFF, found.name, found.position)


async def _apply(
    session: AsyncSession, row: Row[Any], target: Status, columns: dict[str, Any], now: datetime
) -> None:
    assignments = "".join(f", {name} = :{name}" for name in columns)
    await session.execute(
        text(
            f"UPDATE messages SET status = :status, version = version + 1, updated_at = :now"
            f"{assignments} WHERE tenant_id = :t AND id = :id"
        ),
        {"status": target.value, "now": now, "t": row.tenant_id, "id": row.id, **columns},
    )


def _topic_days(row: Row[Any], topic: Row[Any]) -> datetime:
    return sla.deadline(
        _now(), topic.deadline_days, sla.DayCount(topic.calendar),
        timezone=row.timezone, calendar=row.calendar,
    )  # fmt: skip


async def _topic_of(session: AsyncSession, row: Row[Any]) -> Row[Any]:
    """The topic as the message was filed under it (its catalog version)."""
    topic = (
        await session.execute(
            text(
                "SELECT code, title, deadline_days, calendar FROM catalog_topics "
                "WHERE version_id = :v AND code = :c"
            ),
            {"v": row.catalog_version_id, "c": row.topic_code},
        )
    ).first()
    assert topic is not None
    return topic


async def _accept(
    session: AsyncSession, row: Row[Any], staff: Staff, now: datetime, params: dict[str, Any]
) -> _Change:
    # The number is taken in this transaction: a rollback gives it back, so numbers have no
    # gaps, and concurrent registrations queue on the counter's row.
    year = now.astimezone(ZoneInfo(row.timezone)).year
    number = (
        await session.execute(
            text(
                """
                INSERT INTO registration_counters (tenant_id, year, last_number)
                VALUES (:t, :y, 1)
                ON CONFLICT (tenant_id, year)
                DO UPDATE SET last_number = registration_counters.last_number + 1
                RETURNING last_number
                """
            ),
            {"t": row.tenant_id, "y": year},
        )
    ).scalar_one()
    registration = f"{number}/{year}"
    due = _topic_days(row, await _topic_of(session, row))
    return _Change(
        columns={
            "registration_number": registration,
            "registered_at": now,
            "due_at": due,
            "stage_due_at": None,
        },
        payload={"registration_number": registration, "due_at": due.isoformat()},
        citizen_details={"registration_number": registration, "due_at": due.isoformat()},
    )


async def _reject(
    session: AsyncSession, row: Row[Any], staff: Staff, now: datetime, params: dict[str, Any]
) -> _Change:
    ground = params["ground"]
    if ground not in REJECTION_GROUNDS:
        raise InvalidInput.one(
            "ground",
            f"unknown ground {ground!r}; one of {', '.join(REJECTION_GROUNDS)}",
            code="choice",
        )
    reason = f"{REJECTION_GROUNDS[ground]}. {params['text']}"
    return _Change(
        columns={"closed_at": now, "stage_due_at": None},
        reason=reason,
        payload={"ground": ground},
        citizen_details={"reason": reason},
    )


async def _request_clarification(
    session: AsyncSession, row: Row[Any], staff: Staff, now: datetime, params: dict[str, Any]
) -> _Change:
    until = sla.deadline(now, params.get("days", 3), sla.DayCount.CALENDAR, timezone=row.timezone)
    return _Change(
        columns={"stage_due_at": until},
        reason=params["question"],
        payload={"until": until.isoformat()},
        citizen_details={"question": params["question"], "until": until.isoformat()},
    )


async def _assign(
    session: AsyncSession, row: Row[Any], staff: Staff, now: datetime, params: dict[str, Any]
) -> _Change:
    executor = (
        await session.execute(
            text("SELECT id, name, position, status FROM users WHERE email = :e"),
            {"e": params["executor"]},
        )
    ).first()
    # One answer whatever the reason (unknown, inactive, elsewhere, no right to answer), so
    # that staff e-mails cannot be found out across organizations by trying them.
    if (
        executor is None
        or executor.status != "active"
        or not staff.policy.allowed(
            str(executor.id), str(row.tenant_id), "answer:draft", assigned=True
        )
    ):
        raise InvalidInput.one(
            "executor",
            f"{params['executor']!r} is not a staff member here who can prepare answers",
            code="not_an_executor_here",
        )
    official = {"name": executor.name, "position": executor.position}
    return _Change(
        columns={"assignee_id": executor.id},
        payload={"executor": official, "executor_id": str(executor.id)},
        citizen_details={"executor": official},
    )


async def _save_answer(
    session: AsyncSession, row: Row[Any], staff: Staff, now: datetime, params: dict[str, Any]
) -> _Change:
    body = params.get("text")
    payload: dict[str, Any] = {}
    if body is None:
        template = await template_body(session, row.tenant_id, params["template"])
        body = fill_template(template, row, row.timezone)
        payload["template"] = str(params["template"])
    # The draft's text stays in the internal history (the event is never public).
    return _Change(
        columns={"answer_body": body, "answer_author_id": staff.user_id},
        payload=payload | {"length": len(body), "answer": body},
    )


async def _submit_answer(
    session: AsyncSession, row: Row[Any], staff: Staff, now: datetime, params: dict[str, Any]
) -> _Change:
    body = params.get("text") or row.answer_body
    if not body:
        raise InvalidInput.one("text", "write the answer before sending it for approval")
    return _Change(
        columns={"answer_body": body, "answer_author_id": staff.user_id},
        payload={"answer": body},
    )


async def _approve_answer(
    session: AsyncSession, row: Row[Any], staff: Staff, now: datetime, params: dict[str, Any]
) -> _Change:
    return _Change(
        columns={"answered_at": now},
        payload={"answer": row.answer_body},
        citizen_details={"answer": row.answer_body},
    )


async def _return_answer(
    session: AsyncSession, row: Row[Any], staff: Staff, now: datetime, params: dict[str, Any]
) -> _Change:
    # The returned text stays in the internal history beside the approver's comment.
    return _Change(reason=params["comment"], payload={"answer": row.answer_body})


async def _extend(
    session: AsyncSession, row: Row[Any], staff: Staff, now: datetime, params: dict[str, Any]
) -> _Change:
    days = params["days"]
    problems = []
    if row.extensions >= MAX_EXTENSIONS:
        problems.append(
            FieldError("days", "the deadline was already extended once", code="extended_once")
        )
    if days > MAX_EXTENSION_DAYS:
        problems.append(
            FieldError(
                "days",
                f"at most {MAX_EXTENSION_DAYS} days",
                code="less_than_equal",
                limit=MAX_EXTENSION_DAYS,
            )
        )
    if problems:
        raise InvalidInput(problems)
    due = sla.deadline(
        row.due_at, days, sla.DayCount.CALENDAR, timezone=row.timezone, calendar=row.calendar
    )
    return _Change(
        columns={"due_at": due, "extensions": row.extensions + 1},
        reason=params["reason"],
        payload={"due_at": due.isoformat(), "days": days},
        citizen_details={"due_at": due.isoformat(), "reason": params["reason"]},
    )


async def _comment(
    session: AsyncSession, row: Row[Any], staff: Staff, now: datetime, params: dict[str, Any]
) -> _Change:
    return _Change(reason=params["text"])


async def _merge(
    session: AsyncSession, row: Row[Any], staff: Staff, now: datetime, params: dict[str, Any]
) -> _Change:
    primary_id = params["primary"]
    if primary_id == row.id:
        raise InvalidInput.one("primary", "a message cannot be merged into itself")
    primary = (
        await session.execute(
            text(
                "SELECT id, status, tracking_number FROM messages "
                "WHERE tenant_id = :t AND id = :p FOR UPDATE"
            ),
            {"t": row.tenant_id, "p": primary_id},
        )
    ).first()
    if primary is None:
        raise InvalidInput.one("primary", "no such message in this organization")
    if Status(primary.status) not in (
        Status.NEW,
        Status.REGISTERED,
        Status.ASSIGNED,
        Status.ON_APPROVAL,
    ):
        raise InvalidInput.one("primary", f"the primary message is {primary.status}")
    return _Change(
        columns={"merged_into_id": primary.id, "stage_due_at": None},
        payload={"primary": str(primary.id), "primary_number": primary.tracking_number},
        citizen_details={"primary_number": primary.tracking_number},
    )


async def _answer_duplicates(
    session: AsyncSession, primary: Row[Any], change: _Change, now: datetime
) -> None:
    """Answering the primary answers every duplicate merged into it."""
    duplicates = await session.execute(
        text(
            "SELECT id, applicant, tracking_number FROM messages WHERE tenant_id = :t "
            "AND merged_into_id = :p AND status = 'merged' FOR UPDATE"
        ),
        {"t": primary.tenant_id, "p": primary.id},
    )
    transition = TRANSITIONS["answer_with_primary"]
    for duplicate in duplicates.all():
        await session.execute(
            text(
                "UPDATE messages SET status = 'answered', version = version + 1, "
                "updated_at = :now, answered_at = :now, answer_body = :a "
                "WHERE tenant_id = :t AND id = :id"
            ),
            {"now": now, "a": primary.answer_body, "t": primary.tenant_id, "id": duplicate.id},
        )
        await _record(
            session, primary.tenant_id, duplicate.id, transition, Status.MERGED,
            Status.ANSWERED, None, {"answer": primary.answer_body, "primary": str(primary.id)},
            _citizen_notice(
                duplicate.applicant, transition, duplicate.tracking_number,
                primary.tenant_name, {"answer": primary.answer_body},
            ),
            actor_kind=Actor.SYSTEM, now=now,
        )  # fmt: skip


async def _forward(
    session: AsyncSession, row: Row[Any], staff: Staff, now: datetime, params: dict[str, Any]
) -> _Change:
    target = await _tenant_by_slug(session, params["tenant"])
    if target is None:
        raise InvalidInput.one("tenant", f"unknown organization {params['tenant']!r}")
    if target.id == row.tenant_id:
        raise InvalidInput.one("tenant", "the message is already here")
    if target.status != "active":
        raise InvalidInput.one(
            "tenant", f"{params['tenant']} is {target.status}: it takes no messages"
        )
    await _copy_to(session, row, target, params["reason"], now, params.get("store"))
    details = {"to": target.name, "reason": params["reason"]}
    return _Change(
        columns={"forwarded_to_tenant_id": target.id, "closed_at": now, "stage_due_at": None},
        reason=params["reason"],
        payload={"to": target.name, "to_tenant": params["tenant"]},
        citizen_details=details,
    )


async def _tenant_by_slug(session: AsyncSession, slug: str) -> Row[Any] | None:
    return (
        await session.execute(
            text("SELECT id, name, status, timezone, calendar FROM tenants WHERE slug = :s"),
            {"s": slug},
        )
    ).first()


async def _copy_to(
    session: AsyncSession,
    row: Row[Any],
    target: Row[Any],
    reason: str,
    now: datetime,
    store: ObjectStore | None,
) -> uuid.UUID:
    """The receiving tenant's own message, filed as new (it registers it anew); the citizen's
    number now follows it."""
    copy_id = uuid.uuid4()
    await _scope(session, [row.tenant_id, target.id])
    await session.execute(
        text(
            """
            INSERT INTO messages (tenant_id, id, tracking_number, topic_code, catalog_version_id,
                territory_code, address, latitude, longitude, summary, body, fields, applicant,
                citizen_id, consent_at, status, received_at, stage_due_at,
                forwarded_from_tenant_id, forwarded_from_id)
            SELECT :target, :copy, tracking_number, topic_code, catalog_version_id,
                territory_code, address, latitude, longitude, summary, body, fields, applicant,
                citizen_id, consent_at, 'new', :now, :stage_due, tenant_id, id
            FROM messages WHERE tenant_id = :t AND id = :id
            """
        ),
        {
            "target": target.id,
            "copy": copy_id,
            "now": now,
            "stage_due": sla.deadline(
                now, 1, sla.DayCount.WORKING, timezone=target.timezone, calendar=target.calendar
            ),
            "t": row.tenant_id,
            "id": row.id,
        },
    )
    await session.execute(
        text(
            "UPDATE message_tracking SET holder_tenant_id = :t, holder_message_id = :m "
            "WHERE number = :n"
        ),
        {"t": target.id, "m": copy_id, "n": row.tracking_number},
    )
    if store is not None:
        await copy_files(session, store, (row.tenant_id, row.id), (target.id, copy_id))
    received = TRANSITIONS["submit"]
    await _record(
        session, target.id, copy_id, received, None, Status.NEW, reason,
        {"from": row.tenant_name, "from_tenant": row.tenant_slug}, [],
        actor_kind=Actor.SYSTEM, now=now,
    )  # fmt: skip
    return copy_id


async def _change_topic(
    session: AsyncSession, row: Row[Any], staff: Staff, now: datetime, params: dict[str, Any]
) -> _Change:
    """A wrong topic is corrected and the route resolved again: when another tenant answers
    the new topic there, the message goes to it by competence."""
    routes: RoutingIndex = params["routes"]
    topic_code = params["topic"]
    check_place(routes, topic_code, row.territory_code)
    topic = await published_topic(params["db"], routes, topic_code)
    slug = routes.resolve(topic_code, row.territory_code, now.date())
    if slug is None:
        raise InvalidInput.one(
            "topic", f"nobody answers {topic_code!r} on {row.territory_code}: ask the operator"
        )
    columns = {"topic_code": topic_code, "catalog_version_id": topic.version_id}
    payload = {"from_topic": row.topic_code, "topic": topic_code}
    if slug == row.tenant_slug:
        return _Change(columns=columns, reason=params["reason"], payload=payload)
    target = await _tenant_by_slug(session, slug)
    assert target is not None  # the routing index named it
    # The receiving tenant gets the corrected topic; this copy keeps what it was filed under.
    await _copy_to(session, row, target, params["reason"], now, params.get("store"))
    await session.execute(
        text(
            "UPDATE messages SET topic_code = :c, catalog_version_id = :v "
            "WHERE tenant_id = :t AND forwarded_from_tenant_id = :f AND forwarded_from_id = :id"
        ),
        {"c": topic_code, "v": topic.version_id, "t": target.id, "f": row.tenant_id, "id": row.id},
    )
    return _Change(
        columns={"forwarded_to_tenant_id": target.id, "closed_at": now, "stage_due_at": None},
        reason=params["reason"],
        payload=payload | {"to": target.name, "to_tenant": slug},
        target=Status.FORWARDED,
        citizen_details={"to": target.name, "reason": params["reason"]},
    )


_ACTIONS = {
    "change_topic": _change_topic,
    "accept": _accept,
    "reject": _reject,
    "request_clarification": _request_clarification,
    "assign": _assign,
    "save_answer": _save_answer,
    "submit_answer": _submit_answer,
    "approve_answer": _approve_answer,
    "return_answer": _return_answer,
    "extend": _extend,
    "comment": _comment,
    "merge": _merge,
    "forward": _forward,
}


# --- the citizen's side ----------------------------------------------------------------------


class TrackingRefused(NotFound):
    """A wrong number or token: the same answer for both, so numbers cannot be probed."""

    def __init__(self) -> None:
        super().__init__("message", "with this number and token")


async def holder(
    db: Database, number: str, token: str, *, citizen_id: uuid.UUID | None = None
) -> tuple[uuid.UUID, uuid.UUID] | None:
    """Where the message with this public number lives now (tenant, message), or None while it
    waits in the operator's queue; TrackingRefused for a wrong number or token, Gone once the
    message was destroyed at the end of its retention period. The signed-in citizen whose
    message it is (``citizen_id``) needs no token."""
    async with db.public_session() as session:
        found = (
            await session.execute(
                text(
                    "SELECT secret_hash, holder_tenant_id, holder_message_id, citizen_id, "
                    "destroyed_at FROM message_tracking WHERE number = :n"
                ),
                {"n": number},
            )
        ).first()
    owner = found is not None and citizen_id is not None and found.citizen_id == citizen_id
    if found is None or not (
        owner or hmac.compare_digest(bytes(found.secret_hash), _digest(token))
    ):
        raise TrackingRefused()
    if found.destroyed_at is not None:
        on = found.destroyed_at.date()
        raise Gone(
            f"the message {number} was destroyed on {on.isoformat()}: its retention period "
            "had ended",
            on=on,
        )
    if found.holder_tenant_id is None:
        return None
    return found.holder_tenant_id, found.holder_message_id


async def clarify_message(
    db: Database, number: str, token: str, clarification: str,
    *, citizen_id: uuid.UUID | None = None,
) -> None:  # fmt: skip
    """The citizen answers a moderator's question; the message goes back to moderation."""
    place = await holder(db, number, token, citizen_id=citizen_id)
    if place is None:
        raise Conflict("the message is not with an organization yet: nothing was asked")
    tenant_id, message_id = place
    now = _now()
    async with db.tenant_session([tenant_id]) as session:
        row = await _load(session, tenant_id, message_id, lock=True)
        transition = check_transition("clarify", Status(row.status))
        stage_due = sla.deadline(
            now, 1, sla.DayCount.WORKING, timezone=row.timezone, calendar=row.calendar
        )
        await _apply(
            session,
            row,
            Status.NEW,
            {"body": f"{row.body}\n\n— Уточнение ({now:%d.%m.%Y}):\n{clarification}",
             "stage_due_at": stage_due},
            now,
        )  # fmt: skip
        await _record(
            session, tenant_id, message_id, transition, Status(row.status), Status.NEW, None,
            {"text": clarification}, [], actor_kind=Actor.CITIZEN,
            actor_name=row.applicant.get("name"), now=now,
        )  # fmt: skip


async def rate_answer(
    db: Database, number: str, token: str, rating: int, comment: str | None,
    *, citizen_id: uuid.UUID | None = None,
) -> Status:  # fmt: skip
    """The citizen rates the answer: 3 to 5 closes the message; 1 or 2 sends it back for
    another review with a fresh deadline, flagged as reopened."""
    place = await holder(db, number, token, citizen_id=citizen_id)
    if place is None:
        raise Conflict("the message has no answer yet")
    tenant_id, message_id = place
    now = _now()
    async with db.tenant_session([tenant_id]) as session:
        row = await _load(session, tenant_id, message_id, lock=True)
        reopen = rating in REOPEN_RATINGS
        transition = check_transition("reopen" if reopen else "rate", Status(row.status))
        columns: dict[str, Any] = {"rating": rating, "rating_comment": comment}
        if reopen:
            due = _topic_days(row, await _topic_of(session, row))
            columns |= {
                "reopened_count": row.reopened_count + 1,
                "due_at": due,
                "assignee_id": None,
                "answered_at": None,
            }
        else:
            columns["closed_at"] = now
        target = Status.REGISTERED if reopen else Status.CLOSED
        await _apply(session, row, target, columns, now)
        await _record(
            session, tenant_id, message_id, transition, Status(row.status), target, comment,
            {"rating": rating}, [], actor_kind=Actor.CITIZEN,
            actor_name=row.applicant.get("name"), now=now,
        )  # fmt: skip
        return target


# --- what time does --------------------------------------------------------------------------

CLOCK_BATCH = 500


async def advance_clock(db: Database, now: datetime | None = None) -> dict[str, int]:
    """The steps time takes, for every tenant (the worker runs this each tick): unanswered
    clarifications are rejected, unrated answers closed, and overdue messages escalated to the
    tenant's coordinators and the supervisors above it, once."""
    now = now or _now()
    done = {"clarifications_expired": 0, "closed_unrated": 0, "escalated": 0}
    async with db.privileged_session(actor="worker:clock") as session:
        # Intake attempts older than the window count for nothing any more.
        await session.execute(
            text("DELETE FROM intake_attempts WHERE at < :old"), {"old": now - INTAKE_WINDOW}
        )
        for row in await _due(session, "m.status = 'clarification' AND m.stage_due_at < :now", now):
            transition = TRANSITIONS["expire_clarification"]
            reason = REJECTION_GROUNDS["no_clarification"]
            await _apply(
                session, row, Status.REJECTED, {"closed_at": now, "stage_due_at": None}, now
            )
            await _record(
                session, row.tenant_id, row.id, transition, Status.CLARIFICATION,
                Status.REJECTED, reason, {"ground": "no_clarification"},
                _citizen_notice(row.applicant, transition, row.tracking_number, row.tenant_name,
                                {"reason": reason}),
                actor_kind=Actor.SYSTEM, now=now,
            )  # fmt: skip
            done["clarifications_expired"] += 1
        unrated_since = now - timedelta(days=RATING_DAYS)
        for row in await _due(
            session, "m.status = 'answered' AND m.answered_at < :since", now, since=unrated_since
        ):
            transition = TRANSITIONS["close_unrated"]
            await _apply(session, row, Status.CLOSED, {"closed_at": now}, now)
            await _record(
                session, row.tenant_id, row.id, transition, Status.ANSWERED, Status.CLOSED,
                None, {}, [], actor_kind=Actor.SYSTEM, now=now,
            )  # fmt: skip
            done["closed_unrated"] += 1
        overdue = await _due(
            session,
            "m.status IN ('registered', 'assigned', 'on_approval') AND m.due_at < :now "
            "AND m.escalated_at IS NULL",
            now,
        )
        for row in overdue:
            transition = TRANSITIONS["escalate"]
            people = await _escalation_recipients(session, row.tenant_id)
            notices = [
                _Notice(
                    kind="message.overdue",
                    recipient=f"mailto:{email}",
                    payload={
                        "number": row.tracking_number,
                        "registration_number": row.registration_number,
                        "due_at": row.due_at.isoformat(),
                        "organization": row.tenant_name,
                        "title": transition.title,
                    },
                )
                for email in people
            ]
            status = Status(row.status)
            await _apply(session, row, status, {"escalated_at": now}, now)
            await _record(
                session, row.tenant_id, row.id, transition, status, status, None,
                {"notified": people}, notices, actor_kind=Actor.SYSTEM, now=now,
            )  # fmt: skip
            done["escalated"] += 1
    return done


async def _due(session: AsyncSession, condition: str, now: datetime, **params: Any) -> list[Any]:
    rows = await session.execute(
        text(
            f"SELECT {_COLUMNS} {_FROM} WHERE {condition} "
            f"ORDER BY m.tenant_id, m.id LIMIT {CLOCK_BATCH} FOR UPDATE OF m SKIP LOCKED"
        ),
        {"now": now, **params},
    )
    return list(rows.all())


async def _escalation_recipients(session: AsyncSession, tenant_id: uuid.UUID) -> list[str]:
    """The tenant's coordinators and the supervisors of it or of any tenant above it."""
    found = await session.execute(
        text(
            """
            WITH RECURSIVE above AS (
                SELECT id, parent_id, 0 AS depth FROM tenants WHERE id = :t
                UNION ALL
                SELECT p.id, p.parent_id, above.depth + 1 FROM tenants p
                JOIN above ON p.id = above.parent_id WHERE above.depth < 20
            )
            SELECT DISTINCT u.email FROM staff_grants g
            JOIN above ON above.id = g.tenant_id
            JOIN users u ON u.id = g.user_id AND u.status = 'active'
            WHERE (g.role = 'coordinator' AND g.tenant_id = :t) OR g.role = 'supervisor'
            ORDER BY u.email
            """
        ),
        {"t": tenant_id},
    )
    return list(found.scalars())


# --- files of a message ------------------------------------------------------------------------


async def list_files(
    db: Database, staff: Staff, tenant_id: uuid.UUID, message_id: uuid.UUID
) -> list[FileRead]:
    async with db.tenant_session([tenant_id]) as session:
        row = await _load(session, tenant_id, message_id, lock=False)
        _check_reader(staff, row)
        return await message_files(session, tenant_id, message_id)


async def staff_file_link(
    db: Database,
    store: ObjectStore,
    staff: Staff,
    tenant_id: uuid.UUID,
    message_id: uuid.UUID,
    file_id: uuid.UUID,
) -> str:
    async with db.tenant_session([tenant_id]) as session:
        _check_reader(staff, await _load(session, tenant_id, message_id, lock=False))
    return await file_link(db, store, tenant_id, message_id, file_id)


async def add_answer_file(
    db: Database,
    store: ObjectStore,
    staff: Staff,
    tenant_id: uuid.UUID,
    message_id: uuid.UUID,
    chunks: AsyncIterable[bytes],
    *,
    filename: str,
    scanner: VirusScanner | None,
) -> UploadReceipt:
    """A document for the answer, from whoever may draft it, while the answer is in work."""
    async with db.tenant_session([tenant_id]) as session:
        row = await _load(session, tenant_id, message_id, lock=False)
    assigned = _check_reader(staff, row)
    if not staff.may(tenant_id, "answer:draft", assigned=assigned):
        raise Forbidden("answer files need the permission answer:draft")
    check_transition("save_answer", Status(row.status))
    return await receive_answer_file(
        db, store, tenant_id, message_id, chunks, filename=filename,
        uploaded_by=staff.subject, scanner=scanner,
    )  # fmt: skip


async def tracked_file_link(
    db: Database, store: ObjectStore, number: str, token: str, file_id: uuid.UUID,
    *, citizen_id: uuid.UUID | None = None,
) -> str:  # fmt: skip
    """The citizen's link to their own files and, once answered, the answer's."""
    place = await holder(db, number, token, citizen_id=citizen_id)
    if place is None:
        raise NotFound("file", str(file_id))
    tenant_id, message_id = place
    async with db.tenant_session([tenant_id]) as session:
        row = await _load(session, tenant_id, message_id, lock=False)
    answered = Status(row.status) in (Status.ANSWERED, Status.CLOSED)
    purposes = frozenset({"request", "answer"} if answered else {"request"})
    return await file_link(db, store, tenant_id, message_id, file_id, purposes=purposes)
