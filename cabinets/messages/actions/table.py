"""The staff actions, one entry each: the workflow's transition (the statuses it starts from,
where it leads, the permission it needs), the input its JSON body and its card form are read
into, and the handler that carries it out. The JSON endpoints, the card's forms and ``perform``
are all generated from, or look up, this one table."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from pydantic import BaseModel
from sqlalchemy.engine import Row

from cabinets.messages.actions import answering, forwarding, moderation, upkeep
from cabinets.messages.actions.context import ActionContext, Change
from cabinets.messages.schemas import (
    ActionInput,
    AnswerInput,
    AssignInput,
    ClarificationInput,
    CommentInput,
    ExtendInput,
    ForwardInput,
    MergeInput,
    RejectInput,
    ReturnInput,
    SubmitAnswerInput,
    TopicChangeInput,
)
from cabinets.messages.workflow import STAFF_ACTIONS, TRANSITIONS, Actor, Transition

InputT = TypeVar("InputT", bound=BaseModel)


@dataclass(frozen=True)
class Action(Generic[InputT]):
    """One staff action of the workflow."""

    transition: Transition
    input: type[InputT]
    handler: Callable[[ActionContext, Row[Any], InputT], Awaitable[Change]]
    joins: str | None = None  # the card sends it from another action's form (that one's name)

    @property
    def name(self) -> str:
        return self.transition.action

    @property
    def permission(self) -> str:
        assert self.transition.permission is not None  # every staff step has one
        return self.transition.permission

    @property
    def path(self) -> str:
        """The action's last path segment, in the API and on the card alike."""
        return self.name.replace("_", "-")


def _action(
    name: str,
    model: type[InputT],
    handler: Callable[[ActionContext, Row[Any], InputT], Awaitable[Change]],
    *,
    joins: str | None = None,
) -> Action[InputT]:
    transition = TRANSITIONS[name]
    assert transition.actor is Actor.STAFF
    assert transition.permission is not None
    return Action(transition, model, handler, joins)


_ENTRIES = (
    _action("accept", ActionInput, moderation.accept),
    _action("reject", RejectInput, moderation.reject),
    _action("request_clarification", ClarificationInput, moderation.request_clarification),
    _action("assign", AssignInput, answering.assign),
    _action("save_answer", AnswerInput, answering.save_answer),
    # The answer is saved or sent for approval from one form.
    _action("submit_answer", SubmitAnswerInput, answering.submit_answer, joins="save_answer"),
    _action("approve_answer", ActionInput, answering.approve_answer),
    _action("return_answer", ReturnInput, answering.return_answer),
    _action("forward", ForwardInput, forwarding.forward),
    _action("extend", ExtendInput, upkeep.extend),
    _action("merge", MergeInput, moderation.merge),
    _action("comment", CommentInput, upkeep.comment),
    _action("change_topic", TopicChangeInput, forwarding.change_topic),
)

# In the workflow table's order (the card offers them so).
ACTIONS: dict[str, Action[Any]] = {
    name: next(a for a in _ENTRIES if a.name == name) for name in STAFF_ACTIONS
}
assert len(ACTIONS) == len(_ENTRIES), "every staff transition has exactly one action"
