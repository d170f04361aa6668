"""The message card: everything staff need about one message in one read — its facts, the
topic's extra answers, its deadlines with what is left, the internal history and the files —
and the actions the workflow table allows this person on it now, each with its choices
(who may be assigned, likely duplicates, answer templates, topics, organizations)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.engine import Row
from sqlalchemy.ext.asyncio import AsyncSession

from cabinets import sla
from cabinets.attachments.linking import message_files
from cabinets.attachments.schemas import FileRead
from cabinets.messages.actors import Staff
from cabinets.messages.answer_templates import TemplateRead, fill_template, list_templates
from cabinets.messages.candidates import (
    Assignee,
    Duplicate,
    Organization,
    assignees,
    forward_targets,
    likely_duplicates,
)
from cabinets.messages.history import HistoryEvent, events_of
from cabinets.messages.reading import check_reader, load_message, message_read
from cabinets.messages.schemas import MessageRead
from cabinets.messages.workflow import IN_WORK, STAFF_ACTIONS, TRANSITIONS, Status
from tenancy.catalog import service as catalog
from tenancy.database import Database
from tenancy.errors import FieldError


@dataclass(frozen=True)
class Deadline:
    label: str
    due: datetime
    left: sla.TimeLeft | None  # None: the stage is over, the date is for the record


@dataclass
class Card:
    message: MessageRead
    organization: str
    timezone: str
    topic_title: str
    answers: list[tuple[str, str]]  # the topic's extra questions and what the citizen said
    deadlines: list[Deadline]
    assignee: str | None
    events: list[HistoryEvent]
    files: list[FileRead]
    actions: list[str]  # what this person may do now, in the workflow table's order
    assigned_to_me: bool
    may_take: bool  # may assign it, and may answer it themselves
    assignees: list[Assignee] = field(default_factory=list)
    duplicates: list[Duplicate] = field(default_factory=list)
    templates: list[TemplateRead] = field(default_factory=list)
    topics: list[tuple[str, str]] = field(default_factory=list)
    organizations: list[Organization] = field(default_factory=list)
    draft: str | None = None  # the answer's text to edit: a filled-in template, or the saved one
    template: TemplateRead | None = None  # the template ``draft`` was filled in from
    problems: list[FieldError] = field(default_factory=list)
    place: str = ""  # the territory's name

    @property
    def latest(self) -> HistoryEvent | None:
        return self.events[-1] if self.events else None

    @property
    def request_files(self) -> list[FileRead]:
        return [f for f in self.files if f.purpose == "request"]

    @property
    def answer_files(self) -> list[FileRead]:
        return [f for f in self.files if f.purpose == "answer"]


def allowed_actions(staff: Staff, row: Any) -> list[str]:
    """The staff actions the workflow allows from the message's status that ``staff`` holds
    the permission for, checked as ``perform`` checks them."""
    status = Status(row.status)
    assigned = row.assignee_id == staff.user_id
    found = []
    for action in STAFF_ACTIONS:
        transition = TRANSITIONS[action]
        assert transition.permission is not None
        if status in transition.sources and staff.may(
            row.tenant_id, transition.permission, assigned=assigned and transition.own
        ):
            found.append(action)
    return found


_TOPIC = text(
    "SELECT title, fields, registration_days FROM catalog_topics "
    "WHERE version_id = :v AND code = :c"
)
_ASSIGNEE = text("SELECT name FROM users WHERE id = :u")
_PLACE = text("SELECT name FROM territories WHERE code = :c")


def _answers(topic: Row[Any] | None, given: dict[str, Any]) -> list[tuple[str, str]]:
    titles = {f["code"]: f["title"] for f in (topic.fields if topic else [])}

    def said(value: Any) -> str:
        return ", ".join(map(str, value)) if isinstance(value, list) else str(value)

    return [(titles.get(code, code), said(value)) for code, value in given.items()]


def _deadlines(row: Any, topic: Row[Any] | None, now: datetime) -> list[Deadline]:
    """Moderation (or the citizen's clarification), registration and the answer: each with
    what is left while its stage runs, the date alone once it is over."""
    status = Status(row.status)

    def deadline(label: str, due: datetime, running: bool) -> Deadline:
        left = sla.time_left(due, now, timezone=row.timezone, calendar=row.calendar)
        return Deadline(label, due, left if running else None)

    found = []
    if status is Status.NEW and row.stage_due_at is not None:
        found.append(deadline("Модерация", row.stage_due_at, True))
    if status is Status.CLARIFICATION and row.stage_due_at is not None:
        found.append(deadline("Уточнение от заявителя", row.stage_due_at, True))
    if topic is not None and row.registered_at is None:
        due = sla.deadline(
            row.received_at,
            max(topic.registration_days, 1),
            sla.DayCount.WORKING,
            timezone=row.timezone,
            calendar=row.calendar,
        )
        found.append(deadline("Регистрация", due, status in (Status.NEW, Status.CLARIFICATION)))
    if row.due_at is not None:
        found.append(deadline("Ответ", row.due_at, status in IN_WORK))
    return found


async def _choices(
    session: AsyncSession,
    staff: Staff,
    row: Any,
    card: Card,
    *,
    forward_query: str,
    now: datetime,
) -> None:
    if "assign" in card.actions:
        card.assignees = await assignees(session, staff.policy, row.tenant_id)
        card.may_take = any(a.id == staff.user_id for a in card.assignees)
    if "merge" in card.actions:
        card.duplicates = await likely_duplicates(session, row, now)
    if "forward" in card.actions:
        card.organizations = await forward_targets(session, row.tenant_id, forward_query)


async def message_card(
    db: Database,
    staff: Staff,
    tenant_id: uuid.UUID,
    message_id: uuid.UUID,
    *,
    forward_query: str = "",
    template: uuid.UUID | None = None,
    now: datetime | None = None,
) -> Card:
    """The card of one message as ``staff`` may see it (NotFound otherwise). ``template``: an
    answer template to show filled in, before anything is saved; ``forward_query``: words to
    find the organization to forward to."""
    now = now or datetime.now(UTC)
    async with db.tenant_session([tenant_id]) as session:
        row = await load_message(session, tenant_id, message_id)
        assigned = check_reader(staff, row)
        topic = (
            await session.execute(_TOPIC, {"v": row.catalog_version_id, "c": row.topic_code})
        ).first()
        assignee = (
            (await session.execute(_ASSIGNEE, {"u": row.assignee_id})).scalar()
            if row.assignee_id
            else None
        )
        card = Card(
            message=message_read(row, now),
            organization=row.tenant_name,
            timezone=row.timezone,
            topic_title=topic.title if topic else row.topic_code,
            answers=_answers(topic, row.fields),
            deadlines=_deadlines(row, topic, now),
            assignee=assignee,
            events=await events_of(session, tenant_id, message_id),
            files=await message_files(session, tenant_id, message_id),
            actions=allowed_actions(staff, row),
            assigned_to_me=assigned,
            may_take=False,
            draft=row.answer_body,
        )
        card.place = (await session.execute(_PLACE, {"c": row.territory_code})).scalar() or ""
        await _choices(session, staff, row, card, forward_query=forward_query, now=now)
    if "save_answer" in card.actions:
        card.templates = await list_templates(db, tenant_id, topic=row.topic_code)
        if template is not None:
            chosen = next((t for t in card.templates if t.id == template), None)
            if chosen is None:
                card.problems.append(FieldError("template", "no such template here", code="choice"))
            else:
                card.template = chosen
                card.draft = fill_template(chosen.body, row, row.timezone)
    if "change_topic" in card.actions:
        card.topics = [
            (t["code"], t["title"])
            for t in await catalog.list_topics(db, territory=row.territory_code)
            if t["code"] != row.topic_code
        ]
    return card
