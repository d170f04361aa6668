"""The workflow's staff actions. An action locks the message row, checks that the caller
may act (a message they may not read is "not found", never "forbidden" with its data), that
the version they decided on is current and that the workflow allows the step, then writes the
new state, the history event and the outbox rows together."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import text
from sqlalchemy.engine import Row
from sqlalchemy.ext.asyncio import AsyncSession

from cabinets import sla
from cabinets.attachments.linking import copy_files
from cabinets.messages.actors import Staff
from cabinets.messages.reading import (
    check_reader,
    load_message,
    message_read,
    topic_deadline,
    topic_of,
)
from cabinets.messages.recording import apply_change, citizen_notice, record_event
from cabinets.messages.schemas import (
    MessageRead,
)
from cabinets.messages.templates import fill_template, template_body
from cabinets.messages.workflow import (
    REJECTION_GROUNDS,
    TRANSITIONS,
    Actor,
    Status,
    TransitionRefused,
    check_transition,
)
from cabinets.responsible import (
    check_place,
    published_topic,
)
from storage.backends import ObjectStore
from tenancy.database import Database
from tenancy.errors import (
    Conflict,
    FieldError,
    Forbidden,
    InvalidInput,
)
from tenancy.routing.resolver import RoutingIndex

MAX_EXTENSIONS = 1  # the appeals law allows one extension
MAX_EXTENSION_DAYS = 30


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
    now = datetime.now(UTC)
    async with db.tenant_session([tenant_id]) as session:
        row = await load_message(session, tenant_id, message_id, lock=True)
        assigned = check_reader(staff, row)
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
        await apply_change(session, row, target, change.columns, now)
        notices = citizen_notice(
            row.applicant, transition, row.tracking_number, row.tenant_name,
            change.citizen_details,
        )  # fmt: skip
        await record_event(
            session, tenant_id, message_id, transition, Status(row.status), target,
            change.reason, change.payload, notices, actor_kind=actor.kind,
            actor_id=staff.user_id, actor_name=actor.name, actor_position=actor.position,
            now=now,
        )  # fmt: skip
        if action == "approve_answer":
            await _answer_duplicates(session, row, change, now)
        return message_read(await load_message(session, tenant_id, message_id, lock=False), now)


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
    due = topic_deadline(row, await topic_of(session, row))
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
        await record_event(
            session, primary.tenant_id, duplicate.id, transition, Status.MERGED,
            Status.ANSWERED, None, {"answer": primary.answer_body, "primary": str(primary.id)},
            citizen_notice(
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


async def _scope(session: AsyncSession, tenant_ids: Sequence[uuid.UUID]) -> None:
    """Widen this transaction to the tenants it now writes for (intake learns the tenant from
    routing; forwarding writes in two)."""
    await session.execute(
        text("SELECT set_config('app.tenant_ids', :ids, true)"),
        {"ids": ",".join(str(t) for t in tenant_ids)},
    )


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
    await record_event(
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
