"""Bulk actions on the inbox: one request accepts, assigns or comments on several messages,
each in its own transaction through ``perform`` (so each is checked, versioned and
recorded exactly as when done one by one), and says for each what came of it: done, or why
not. One message refused does not undo the others, and none is half-done."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import text

from cabinets.messages.actions.context import StaleMessage
from cabinets.messages.actions.perform import perform
from cabinets.messages.actions.table import ACTIONS
from cabinets.messages.actors import Staff
from cabinets.messages.wording import problem_wording
from cabinets.messages.workflow import Status
from tenancy.database import Database
from tenancy.errors import Conflict, FieldError, Forbidden, InvalidInput, NotFound

BULK_ACTIONS = {"accept": "Зарегистрировать", "assign": "Назначить", "comment": "Комментировать"}
MAX_MESSAGES = 50
MAX_COMMENT = 2000

# Why a message was not done, as the inbox reports it.
REASONS = {
    "done": "выполнено",
    "stale": "другой сотрудник изменил обращение раньше: посмотрите его ещё раз",
    "status": "в статусе «{status}» так нельзя",
    "forbidden": "у вас нет прав на это действие с этим обращением",
    "not_found": "обращение не найдено",
    "invalid": "{detail}",
}


@dataclass(frozen=True)
class Target:
    message_id: uuid.UUID
    version: int


@dataclass(frozen=True)
class Outcome:
    """What came of one message: ``code`` is a key of ``REASONS``."""

    message_id: uuid.UUID
    number: str | None
    code: str
    status: Status | None = None
    detail: str = ""

    @property
    def done(self) -> bool:
        return self.code == "done"

    @property
    def words(self) -> str:
        return reason_words(self.code, self.status, self.detail)


def reason_words(code: str, status: Status | str | None, detail: str = "") -> str:
    """An outcome in Russian: «выполнено», or why not."""
    words = STAFF_STATUS[Status(status)] if status else ""
    return REASONS.get(code, REASONS["invalid"]).format(status=words, detail=detail)


# Statuses as staff say them (the citizen's words merge several).
STAFF_STATUS = {
    Status.NEW: "на модерации",
    Status.CLARIFICATION: "ждёт уточнения",
    Status.REGISTERED: "зарегистрировано",
    Status.ASSIGNED: "назначено исполнителю",
    Status.ON_APPROVAL: "на согласовании",
    Status.ANSWERED: "рассмотрено",
    Status.CLOSED: "закрыто",
    Status.REJECTED: "отклонено",
    Status.FORWARDED: "направлено по компетенции",
    Status.MERGED: "объединено",
}


def _check(action: str, targets: list[Target], executor: str | None, comment: str | None) -> None:
    problems = []
    if action not in BULK_ACTIONS:
        problems.append(FieldError("action", "выберите действие", code="choice"))
    if not targets:
        problems.append(FieldError("messages", "отметьте хотя бы одно обращение"))
    elif len(targets) > MAX_MESSAGES:
        problems.append(FieldError("messages", f"не больше {MAX_MESSAGES} обращений за раз"))
    if action == "assign" and not executor:
        problems.append(FieldError("executor", "выберите исполнителя"))
    if action == "comment" and not (comment or "").strip():
        problems.append(FieldError("comment", "напишите комментарий"))
    if action == "comment" and len(comment or "") > MAX_COMMENT:
        problems.append(FieldError("comment", f"не больше {MAX_COMMENT} знаков"))
    if problems:
        raise InvalidInput(problems)


def _problem(error: FieldError) -> str:
    if error.field == "executor":
        return "этот сотрудник не может готовить ответы в этой организации"
    return problem_wording(error)


async def _numbers(
    db: Database, staff: Staff, tenant_id: uuid.UUID, ids: list[uuid.UUID]
) -> dict[uuid.UUID, str]:
    """The numbers of the messages ``staff`` may read (the others stay unnamed)."""
    async with db.tenant_session([tenant_id]) as session:
        rows = await session.execute(
            text(
                "SELECT id, tracking_number, assignee_id FROM messages "
                "WHERE tenant_id = :t AND id = ANY(:ids)"
            ),
            {"t": tenant_id, "ids": ids},
        )
        return {
            r.id: r.tracking_number
            for r in rows
            if staff.may(tenant_id, "message:read", assigned=r.assignee_id == staff.user_id)
        }


async def perform_many(
    db: Database,
    staff: Staff,
    tenant_id: uuid.UUID,
    action: str,
    targets: list[Target],
    *,
    executor: str | None = None,
    comment: str | None = None,
) -> list[Outcome]:
    """``action`` (accept, assign to ``executor``'s e-mail, or comment) on each target at the
    version the person saw, in order; every message's outcome, in the same order."""
    _check(action, targets, executor, comment)
    step = ACTIONS[action]
    if not staff.may(tenant_id, step.permission, assigned=step.transition.own):
        # Not offered to this person at all: refused whole, before anything is done.
        raise Forbidden(f"{action} needs the permission {step.permission}")
    numbers = await _numbers(db, staff, tenant_id, [t.message_id for t in targets])
    params: dict[str, Any] = {}
    if action == "assign":
        params["executor"] = executor or ""
    elif action == "comment":
        params["text"] = (comment or "").strip()
    outcomes = []
    for target in targets:
        number = numbers.get(target.message_id)
        try:
            # Read as the form gave it (the action reports a bad executor by its own words).
            body = step.input.model_construct(
                version=None if action == "comment" else target.version, **params
            )
            done = await perform(db, staff, tenant_id, target.message_id, action, body)
            outcomes.append(Outcome(target.message_id, done.number, "done", Status(done.status)))
        except StaleMessage:
            outcomes.append(Outcome(target.message_id, number, "stale"))
        except Forbidden:
            outcomes.append(Outcome(target.message_id, number, "forbidden"))
        except NotFound:
            outcomes.append(Outcome(target.message_id, None, "not_found"))
        except Conflict as exc:
            status = Status(exc.current["status"]) if exc.current else None
            outcomes.append(Outcome(target.message_id, number, "status", status))
        except InvalidInput as exc:
            detail = "; ".join(_problem(e) for e in exc.errors)
            outcomes.append(Outcome(target.message_id, number, "invalid", detail=detail))
    return outcomes
