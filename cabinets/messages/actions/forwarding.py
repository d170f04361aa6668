"""A message sent where it belongs: forwarded by competence to another organization, or its
wrong topic corrected (and, when another organization answers the new one there, forwarded to
it). The receiving organization gets its own copy, filed as new, with the files."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.engine import Row
from sqlalchemy.ext.asyncio import AsyncSession

from cabinets import sla
from cabinets.attachments.linking import copy_files
from cabinets.messages.actions.context import ActionContext, Change
from cabinets.messages.recording import record_event
from cabinets.messages.schemas import ForwardInput, TopicChangeInput
from cabinets.messages.workflow import TRANSITIONS, Actor, Status
from cabinets.responsible import published_topic
from storage.object_store import ObjectStore
from tenancy.errors import InvalidInput
from tenancy.routing.place_check import check_place


async def forward(ctx: ActionContext, row: Row[Any], body: ForwardInput) -> Change:
    session, now = ctx.session, ctx.now
    target = await _tenant_by_slug(session, body.tenant)
    if target is None:
        raise InvalidInput.one("tenant", f"unknown organization {body.tenant!r}")
    if target.id == row.tenant_id:
        raise InvalidInput.one("tenant", "the message is already here")
    if target.status != "active":
        raise InvalidInput.one("tenant", f"{body.tenant} is {target.status}: it takes no messages")
    await _copy_to(session, row, target, body.reason, now, ctx.store)
    details = {"to": target.name, "reason": body.reason}
    return Change(
        columns={"forwarded_to_tenant_id": target.id, "closed_at": now, "stage_due_at": None},
        reason=body.reason,
        payload={"to": target.name, "to_tenant": body.tenant},
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
        session,
        target.id,
        copy_id,
        received,
        None,
        Status.NEW,
        reason,
        {"from": row.tenant_name, "from_tenant": row.tenant_slug},
        [],
        actor_kind=Actor.SYSTEM,
        now=now,
    )
    return copy_id


async def change_topic(ctx: ActionContext, row: Row[Any], body: TopicChangeInput) -> Change:
    """A wrong topic is corrected and the route resolved again: when another tenant answers
    the new topic there, the message goes to it by competence."""
    session, now = ctx.session, ctx.now
    assert ctx.routing is not None  # every caller that offers this step gives the routing
    routes = await ctx.routing.index()
    topic_code = body.topic
    check_place(routes, topic_code, row.territory_code)
    topic = await published_topic(ctx.db, routes, topic_code)
    slug = routes.resolve(topic_code, row.territory_code, now.date())
    if slug is None:
        raise InvalidInput.one(
            "topic", f"nobody answers {topic_code!r} on {row.territory_code}: ask the operator"
        )
    columns = {"topic_code": topic_code, "catalog_version_id": topic.version_id}
    payload = {"from_topic": row.topic_code, "topic": topic_code}
    if slug == row.tenant_slug:
        return Change(columns=columns, reason=body.reason, payload=payload)
    target = await _tenant_by_slug(session, slug)
    assert target is not None  # the routing index named it
    # The receiving tenant gets the corrected topic; this copy keeps what it was filed under.
    await _copy_to(session, row, target, body.reason, now, ctx.store)
    await session.execute(
        text(
            "UPDATE messages SET topic_code = :c, catalog_version_id = :v "
            "WHERE tenant_id = :t AND forwarded_from_tenant_id = :f AND forwarded_from_id = :id"
        ),
        {"c": topic_code, "v": topic.version_id, "t": target.id, "f": row.tenant_id, "id": row.id},
    )
    return Change(
        columns={"forwarded_to_tenant_id": target.id, "closed_at": now, "stage_due_at": None},
        reason=body.reason,
        payload=payload | {"to": target.name, "to_tenant": slug},
        target=Status.FORWARDED,
        citizen_details={"to": target.name, "reason": body.reason},
    )
