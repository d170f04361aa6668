"""The answer's way: an executor assigned, the answer drafted (or started from a template),
sent for approval, approved (answering every duplicate merged into the message too) or
returned for more work."""

from __future__ import annotations

from typing import Any

from sqlalchemy import text
from sqlalchemy.engine import Row

from cabinets.messages.actions.context import ActionContext, Change
from cabinets.messages.answer_templates import fill_template, template_body
from cabinets.messages.recording import citizen_notice, record_event
from cabinets.messages.schemas import (
    ActionInput,
    AnswerInput,
    AssignInput,
    ReturnInput,
    SubmitAnswerInput,
)
from cabinets.messages.workflow import TRANSITIONS, Actor, Status
from tenancy.errors import InvalidInput


async def assign(ctx: ActionContext, row: Row[Any], body: AssignInput) -> Change:
    executor = (
        await ctx.session.execute(
            text("SELECT id, name, position, status FROM users WHERE email = :e"),
            {"e": body.executor},
        )
    ).first()
    # One answer whatever the reason (unknown, inactive, elsewhere, no right to answer), so
    # that staff e-mails cannot be found out across organizations by trying them.
    if (
        executor is None
        or executor.status != "active"
        or not ctx.staff.policy.allowed(
            str(executor.id), str(row.tenant_id), "answer:draft", assigned=True
        )
    ):
        raise InvalidInput.one(
            "executor",
            f"{body.executor!r} is not a staff member here who can prepare answers",
            code="not_an_executor_here",
        )
    official = {"name": executor.name, "position": executor.position}
    return Change(
        columns={"assignee_id": executor.id},
        payload={"executor": official, "executor_id": str(executor.id)},
        citizen_details={"executor": official},
    )


async def save_answer(ctx: ActionContext, row: Row[Any], body: AnswerInput) -> Change:
    answer = body.text
    payload: dict[str, Any] = {}
    if answer is None:
        assert body.template is not None  # the input asks for one or the other
        template = await template_body(ctx.session, row.tenant_id, body.template)
        answer = fill_template(template, row, row.timezone)
        payload["template"] = str(body.template)
    # The draft's text stays in the internal history (the event is never public).
    return Change(
        columns={"answer_body": answer, "answer_author_id": ctx.staff.user_id},
        payload=payload | {"length": len(answer), "answer": answer},
    )


async def submit_answer(ctx: ActionContext, row: Row[Any], body: SubmitAnswerInput) -> Change:
    answer = body.text or row.answer_body
    if not answer:
        raise InvalidInput.one("text", "write the answer before sending it for approval")
    return Change(
        columns={"answer_body": answer, "answer_author_id": ctx.staff.user_id},
        payload={"answer": answer},
    )


async def approve_answer(ctx: ActionContext, row: Row[Any], body: ActionInput) -> Change:
    async def answer_duplicates() -> None:
        await _answer_duplicates(ctx, row)

    return Change(
        columns={"answered_at": ctx.now},
        payload={"answer": row.answer_body},
        citizen_details={"answer": row.answer_body},
        then=answer_duplicates,
    )


async def return_answer(ctx: ActionContext, row: Row[Any], body: ReturnInput) -> Change:
    # The returned text stays in the internal history beside the approver's comment.
    return Change(reason=body.comment, payload={"answer": row.answer_body})


async def _answer_duplicates(ctx: ActionContext, primary: Row[Any]) -> None:
    """Answering the primary answers every duplicate merged into it."""
    session, now = ctx.session, ctx.now
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
        notices = citizen_notice(
            duplicate.applicant,
            transition,
            duplicate.tracking_number,
            primary.tenant_name,
            {"answer": primary.answer_body},
        )
        await record_event(
            session,
            primary.tenant_id,
            duplicate.id,
            transition,
            Status.MERGED,
            Status.ANSWERED,
            None,
            {"answer": primary.answer_body, "primary": str(primary.id)},
            notices,
            actor_kind=Actor.SYSTEM,
            now=now,
        )
