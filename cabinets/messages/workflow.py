"""The message workflow as one explicit state machine: every action, the statuses it may start
from, where it leads, the permission it needs and whether the citizen sees it.

``cabinets.messages.actions.table`` binds each staff transition to its input and its handler;
the HTTP routes and the card's forms for staff actions are generated from it, so an action
cannot exist without its permission.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from tenancy.errors import Conflict


class Status(StrEnum):
    NEW = "new"  # received, waiting for moderation
    CLARIFICATION = "clarification"  # the citizen was asked to clarify
    REJECTED = "rejected"
    REGISTERED = "registered"  # has its registration number and date
    ASSIGNED = "assigned"  # an executor prepares the answer
    ON_APPROVAL = "on_approval"  # the answer waits for approval
    ANSWERED = "answered"  # the answer is published; the citizen may rate it
    CLOSED = "closed"
    FORWARDED = "forwarded"  # sent to the competent tenant, which registers it anew
    MERGED = "merged"  # a duplicate: the primary's answer answers it


# What the citizen reads for each status (the Feedback Platform's wording).
CITIZEN_STATUS = {
    Status.NEW: "Поступило",
    Status.CLARIFICATION: "Требуется уточнение",
    Status.REJECTED: "Отклонено",
    Status.REGISTERED: "Зарегистрировано",
    Status.ASSIGNED: "Рассматривается",
    Status.ON_APPROVAL: "Рассматривается",
    Status.ANSWERED: "Рассмотрено",
    Status.CLOSED: "Рассмотрено",
    Status.FORWARDED: "Направлено по компетенции",
    Status.MERGED: "Рассматривается",
}

OPEN = frozenset(
    {Status.NEW, Status.CLARIFICATION, Status.REGISTERED, Status.ASSIGNED, Status.ON_APPROVAL}
)
IN_WORK = frozenset({Status.REGISTERED, Status.ASSIGNED, Status.ON_APPROVAL})
FINAL = frozenset({Status.REJECTED, Status.CLOSED, Status.FORWARDED})


class Actor(StrEnum):
    STAFF = "staff"
    CITIZEN = "citizen"
    SYSTEM = "system"
    INTEGRATION = "integration"  # an API token's system, signed with the token's name


@dataclass(frozen=True)
class Transition:
    action: str
    sources: frozenset[Status]
    target: Status | None  # None: the status stays
    actor: Actor
    permission: str | None = None  # for staff
    own: bool = False  # an executor may do it on messages assigned to them
    public: bool = True  # on the citizen's timeline
    title: str = ""


TRANSITIONS: dict[str, Transition] = {
    t.action: t
    for t in (
        Transition("submit", frozenset(), Status.NEW, Actor.CITIZEN, title="Поступило"),
        Transition(
            "accept",
            frozenset({Status.NEW}),
            Status.REGISTERED,
            Actor.STAFF,
            "message:moderate",
            title="Зарегистрировано",
        ),
        Transition(
            "reject",
            frozenset({Status.NEW, Status.CLARIFICATION}),
            Status.REJECTED,
            Actor.STAFF,
            "message:moderate",
            title="Отклонено",
        ),
        Transition(
            "request_clarification",
            frozenset({Status.NEW}),
            Status.CLARIFICATION,
            Actor.STAFF,
            "message:moderate",
            title="Запрошено уточнение",
        ),
        Transition(
            "clarify",
            frozenset({Status.CLARIFICATION}),
            Status.NEW,
            Actor.CITIZEN,
            title="Уточнение получено",
        ),
        Transition(
            "expire_clarification",
            frozenset({Status.CLARIFICATION}),
            Status.REJECTED,
            Actor.SYSTEM,
            title="Отклонено: уточнение не получено",
        ),
        Transition(
            "assign",
            frozenset({Status.REGISTERED, Status.ASSIGNED}),
            Status.ASSIGNED,
            Actor.STAFF,
            "message:assign",
            title="Рассматривается",
        ),
        Transition(
            "save_answer",
            frozenset({Status.ASSIGNED}),
            None,
            Actor.STAFF,
            "answer:draft",
            own=True,
            public=False,
            title="Черновик ответа",
        ),
        Transition(
            "submit_answer",
            frozenset({Status.ASSIGNED}),
            Status.ON_APPROVAL,
            Actor.STAFF,
            "answer:draft",
            own=True,
            public=False,
            title="Ответ на согласовании",
        ),
        Transition(
            "approve_answer",
            frozenset({Status.ON_APPROVAL}),
            Status.ANSWERED,
            Actor.STAFF,
            "answer:approve",
            title="Рассмотрено",
        ),
        Transition(
            "return_answer",
            frozenset({Status.ON_APPROVAL}),
            Status.ASSIGNED,
            Actor.STAFF,
            "answer:approve",
            public=False,
            title="Ответ возвращён на доработку",
        ),
        Transition(
            "answer_with_primary",
            frozenset({Status.MERGED}),
            Status.ANSWERED,
            Actor.SYSTEM,
            title="Рассмотрено",
        ),
        Transition(
            "rate",
            frozenset({Status.ANSWERED}),
            Status.CLOSED,
            Actor.CITIZEN,
            title="Ответ оценён",
        ),
        Transition(
            "reopen",
            frozenset({Status.ANSWERED}),
            Status.REGISTERED,
            Actor.CITIZEN,
            title="Направлено на повторное рассмотрение",
        ),
        Transition(
            "close_unrated",
            frozenset({Status.ANSWERED}),
            Status.CLOSED,
            Actor.SYSTEM,
            title="Закрыто",
        ),
        Transition(
            "escalate",
            IN_WORK,
            None,
            Actor.SYSTEM,
            public=False,
            title="Срок нарушен: доложено координатору и руководителю",
        ),
        Transition(
            "forward",
            OPEN,
            Status.FORWARDED,
            Actor.STAFF,
            "message:forward",
            title="Направлено по компетенции",
        ),
        Transition("extend", IN_WORK, None, Actor.STAFF, "message:extend", title="Срок продлён"),
        Transition(
            "merge",
            frozenset({Status.NEW, Status.REGISTERED, Status.ASSIGNED}),
            Status.MERGED,
            Actor.STAFF,
            "message:assign",
            title="Объединено с другим обращением",
        ),
        Transition(
            "comment",
            OPEN | {Status.ANSWERED, Status.MERGED},
            None,
            Actor.STAFF,
            "message:comment",
            own=True,
            public=False,
            title="Комментарий",
        ),
        Transition(
            "change_topic",
            frozenset({Status.NEW, Status.REGISTERED, Status.ASSIGNED}),
            None,
            Actor.STAFF,
            "message:moderate",
            title="Тема уточнена",
        ),
    )
}

STAFF_ACTIONS = tuple(a for a, t in TRANSITIONS.items() if t.actor is Actor.STAFF)

# Grounds a moderator may reject on (the Feedback Platform's list), each with a text too.
REJECTION_GROUNDS = {
    "abusive": "Нецензурные выражения или угрозы",
    "unreadable": "Текст невозможно прочитать",
    "no_question": "Нет сути вопроса",
    "repeated": "Повторный вопрос без новых доводов",
    "several_problems": "В одном сообщении несколько проблем",
    "no_clarification": "Уточнение не получено в срок",
}


class TransitionRefused(Conflict):
    """The action is not possible from the message's current status."""

    def __init__(self, action: str, status: Status) -> None:
        allowed = ", ".join(sorted(TRANSITIONS[action].sources)) or "nowhere"
        super().__init__(
            f"cannot {action.replace('_', ' ')} a message that is {status} (possible from: "
            f"{allowed})"
        )
        self.action = action
        self.status = status


def check_transition(action: str, status: Status) -> Transition:
    transition = TRANSITIONS[action]
    if status not in transition.sources:
        raise TransitionRefused(action, status)
    return transition
