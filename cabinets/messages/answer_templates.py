"""Answer templates: a tenant's stock answers, for any topic or for one, with placeholders that
are filled from the message when an executor starts from one."""

from __future__ import annotations

import string
import uuid
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, Field, field_validator
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from tenancy.database import Database
from tenancy.errors import Conflict, InvalidInput, NotFound

# What a template may say about the message it answers.
PLACEHOLDERS = {
    "number": "the public number (26-0000123)",
    "registration_number": "the registration number and year (15/2026)",
    "registered_on": "the registration date (DD.MM.YYYY)",
    "received_on": "the day the message came (DD.MM.YYYY)",
    "applicant": "the applicant's name",
    "organization": "the organization's name",
    "address": "the place of the problem",
    "summary": "the message's summary",
}


class TemplateInput(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    title: str = Field(min_length=1, max_length=200)
    body: str = Field(min_length=1, max_length=10_000)
    topic: str | None = Field(default=None, max_length=64)

    @field_validator("body")
    @classmethod
    def _placeholders(cls, body: str) -> str:
        try:
            unknown = unknown_placeholders(body)
        except ValueError as exc:
            raise ValueError(f"a brace is not closed ({exc}); write {{{{ for a brace") from None
        if unknown:
            raise ValueError(
                f"unknown placeholders {', '.join(unknown)}; "
                f"known: {', '.join('{' + p + '}' for p in PLACEHOLDERS)}"
            )
        return body


def unknown_placeholders(body: str) -> list[str]:
    """The placeholders ``body`` names that a message cannot fill; ValueError on a brace left
    open."""
    names = {name for _, name, _, _ in string.Formatter().parse(body) if name is not None}
    return sorted(n for n in names if n not in PLACEHOLDERS)


class TemplateRead(BaseModel):
    id: uuid.UUID
    title: str
    body: str
    topic: str | None
    updated_at: datetime


def _read(row: Any) -> TemplateRead:
    return TemplateRead(
        id=row.id, title=row.title, body=row.body, topic=row.topic_code, updated_at=row.updated_at
    )


async def list_templates(
    db: Database, tenant_id: uuid.UUID, *, topic: str | None = None
) -> list[TemplateRead]:
    """The tenant's templates; with ``topic``, those for that topic and those for any."""
    async with db.tenant_session([tenant_id]) as session:
        rows = await session.execute(
            text(
                "SELECT id, title, body, topic_code, updated_at FROM answer_templates "
                "WHERE tenant_id = :t AND (CAST(:topic AS text) IS NULL OR topic_code IS NULL "
                "OR topic_code = :topic) ORDER BY topic_code NULLS LAST, title"
            ),
            {"t": tenant_id, "topic": topic},
        )
        return [_read(r) for r in rows]


async def get_template(db: Database, tenant_id: uuid.UUID, template_id: uuid.UUID) -> TemplateRead:
    async with db.tenant_session([tenant_id]) as session:
        row = (
            await session.execute(
                text(
                    "SELECT id, title, body, topic_code, updated_at FROM answer_templates "
                    "WHERE tenant_id = :t AND id = :id"
                ),
                {"t": tenant_id, "id": template_id},
            )
        ).first()
    if row is None:
        raise NotFound("template", str(template_id))
    return _read(row)


async def preview_template(db: Database, tenant_id: uuid.UUID, body: str) -> str | None:
    """``body`` filled from the organization's most recent message (by ``messages_recent``),
    as an executor starting from it would see it; None before the first message. The body
    must pass ``TemplateInput``'s check first."""
    async with db.tenant_session([tenant_id]) as session:
        message = (
            await session.execute(
                text(
                    "SELECT m.tracking_number, m.registration_number, m.registered_at, "
                    "m.received_at, m.applicant, m.address, m.summary, t.name AS tenant_name, "
                    "t.timezone FROM messages m JOIN tenants t ON t.id = m.tenant_id "
                    "WHERE m.tenant_id = :t ORDER BY m.received_at DESC, m.id DESC LIMIT 1"
                ),
                {"t": tenant_id},
            )
        ).first()
    return fill_template(body, message, message.timezone) if message else None


async def save_template(
    db: Database,
    tenant_id: uuid.UUID,
    template: TemplateInput,
    *,
    template_id: uuid.UUID | None = None,
    actor: str,
) -> TemplateRead:
    """Create a template, or replace one (``template_id``); titles are unique per tenant."""
    async with db.tenant_session([tenant_id]) as session:
        params = {
            "t": tenant_id,
            "id": template_id or uuid.uuid4(),
            "title": template.title,
            "body": template.body,
            "topic": template.topic,
            "by": actor,
        }
        row: Any
        try:
            if template_id is None:
                row = (
                    await session.execute(
                        text(
                            "INSERT INTO answer_templates (tenant_id, id, topic_code, title, "
                            "body, created_by) VALUES (:t, :id, :topic, :title, :body, :by) "
                            "RETURNING id, title, body, topic_code, updated_at"
                        ),
                        params,
                    )
                ).one()
            else:
                row = (
                    await session.execute(
                        text(
                            "UPDATE answer_templates SET topic_code = :topic, title = :title, "
                            "body = :body, updated_at = now() WHERE tenant_id = :t AND id = :id "
                            "RETURNING id, title, body, topic_code, updated_at"
                        ),
                        params,
                    )
                ).first()
                if row is None:
                    raise NotFound("template", str(template_id))
        except IntegrityError:
            raise Conflict(f"a template titled {template.title!r} exists already") from None
        return _read(row)


async def delete_template(db: Database, tenant_id: uuid.UUID, template_id: uuid.UUID) -> None:
    async with db.tenant_session([tenant_id]) as session:
        deleted = await session.execute(
            text("DELETE FROM answer_templates WHERE tenant_id = :t AND id = :id RETURNING id"),
            {"t": tenant_id, "id": template_id},
        )
        if deleted.first() is None:
            raise NotFound("template", str(template_id))


def fill_template(body: str, message: Any, timezone: str) -> str:
    """The template's text with the message's facts in place of its placeholders."""
    zone = ZoneInfo(timezone)

    def day(value: datetime | None) -> str:
        return value.astimezone(zone).strftime("%d.%m.%Y") if value else ""

    facts = {
        "number": message.tracking_number,
        "registration_number": message.registration_number or "",
        "registered_on": day(message.registered_at),
        "received_on": day(message.received_at),
        "applicant": message.applicant.get("name", ""),
        "organization": message.tenant_name,
        "address": message.address or "",
        "summary": message.summary,
    }
    return body.format(**facts)


async def template_body(session: Any, tenant_id: uuid.UUID, template_id: uuid.UUID) -> str:
    row = (
        await session.execute(
            text("SELECT body FROM answer_templates WHERE tenant_id = :t AND id = :id"),
            {"t": tenant_id, "id": template_id},
        )
    ).first()
    if row is None:
        raise InvalidInput.one("template", "no such template in this organization")
    return str(row.body)
