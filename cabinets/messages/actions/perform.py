"""Carrying out a staff action. It locks the message row, checks that the caller may act (a
message they may not read is "not found", never "forbidden" with its data), that the version
they decided on is current and that the workflow allows the step, then writes the new state,
the history event and the outbox rows together, in one transaction."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

from pydantic import BaseModel
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from cabinets.messages.actions.context import ActionContext, RoutingSource, StaleMessage
from cabinets.messages.actions.table import ACTIONS
from cabinets.messages.actors import Staff
from cabinets.messages.reading import check_reader, load_message, message_read
from cabinets.messages.recording import apply_change, citizen_notice, record_event
from cabinets.messages.schemas import MessageRead
from cabinets.messages.workflow import Actor, Status, TransitionRefused, check_transition
from storage.object_store import ObjectStore
from tenancy.database import Database
from tenancy.errors import Conflict, Forbidden


async def perform(
    db: Database,
    staff: Staff,
    tenant_id: uuid.UUID,
    message_id: uuid.UUID,
    action: str,
    body: BaseModel,
    *,
    store: ObjectStore | None = None,
    routing: RoutingSource | None = None,
) -> MessageRead:
    """Carry out the staff ``action`` (see ``table.ACTIONS``) with its input ``body``, at the
    version the body names. ``store``: where files live, for the actions that copy them
    (forwarding); ``routing``: the routing, for the one that resolves the route again."""
    step = ACTIONS[action]
    transition = step.transition
    version: int | None = getattr(body, "version", None)
    now = datetime.now(UTC)
    async with db.tenant_session([tenant_id]) as session:
        row = await load_message(session, tenant_id, message_id, lock=True)
        assigned = check_reader(staff, row)
        if not staff.may(tenant_id, step.permission, assigned=assigned and transition.own):
            raise Forbidden(f"{action.replace('_', ' ')} needs the permission {step.permission}")
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
        actor = await _signature(session, staff)
        context = ActionContext(db, session, staff, now, store=store, routing=routing)
        change = await step.handler(context, row, body)
        target = change.target or transition.target or Status(row.status)
        await apply_change(session, row, target, change.columns, now)
        notices = citizen_notice(
            row.applicant,
            transition,
            row.tracking_number,
            row.tenant_name,
            change.citizen_details,
        )
        await record_event(
            session,
            tenant_id,
            message_id,
            transition,
            Status(row.status),
            target,
            change.reason,
            change.payload,
            notices,
            actor_kind=actor.kind,
            actor_id=staff.user_id,
            actor_name=actor.name,
            actor_position=actor.position,
            now=now,
        )
        if change.then is not None:
            await change.then()
        return message_read(await load_message(session, tenant_id, message_id), now)


@dataclass(frozen=True)
class _Signature:
    """How the history signs a step: the official's name and position, or the integration's
    name (never a person's for a token's step)."""

    kind: Actor
    name: str | None
    position: str | None = None


async def _signature(session: AsyncSession, staff: Staff) -> _Signature:
    if staff.user_id is None:
        return _Signature(Actor.INTEGRATION, staff.integration)
    found = (
        await session.execute(
            text("SELECT name, position FROM users WHERE id = :u"), {"u": staff.user_id}
        )
    ).first()
    assert found is not None
    return _Signature(Actor.STAFF, found.name, found.position)
