"""Shapes of messages: what a citizen submits, what staff read and send, what the citizen's
status page shows."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime
from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from pydantic_core import PydanticCustomError

from tenancy.catalog.schemas import ExtraField, FieldType
from tenancy.errors import FieldError
from tenancy.staff.schemas import EmailAddress
from tenancy.tenants.identifiers import inn_problem

MAX_TEXT = 10_000
MAX_SUMMARY = 200


class ApplicantKind(StrEnum):
    INDIVIDUAL = "individual"
    LEGAL = "legal"


class Applicant(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: ApplicantKind = ApplicantKind.INDIVIDUAL
    name: str = Field(min_length=1, max_length=200)
    email: EmailAddress | None = None
    phone: str | None = Field(default=None, pattern=r"^\+?[0-9 ()-]{5,20}$")
    organization: str | None = Field(default=None, max_length=300)
    inn: str | None = Field(default=None, pattern=r"^[0-9]{10}$|^[0-9]{12}$")

    @field_validator("inn")
    @classmethod
    def _inn(cls, value: str | None) -> str | None:
        # Checked as tenants' are: a mistyped digit is caught at the form, not in a reply.
        problem = inn_problem(value) if value else None
        if problem is not None:
            raise PydanticCustomError("inn", f"INN: {problem}")
        return value

    @model_validator(mode="after")
    def _legal_entity(self) -> Applicant:
        if self.kind is ApplicantKind.LEGAL and not self.organization:
            raise PydanticCustomError(
                "organization_required", "organization: a legal entity names its organization"
            )
        return self


class AttachmentRef(BaseModel):
    """An upload made for this message: its id and the token the upload returned."""

    model_config = ConfigDict(extra="forbid")

    id: uuid.UUID
    token: str = Field(min_length=1, max_length=200)


class MessageSubmission(BaseModel):
    """One message, one problem."""

    model_config = ConfigDict(extra="forbid")

    topic: str = Field(min_length=1, max_length=64)
    territory: str = Field(pattern=r"^[0-9]{2,11}$")
    address: str | None = Field(default=None, max_length=500)
    latitude: float | None = Field(default=None, ge=-90, le=90)
    longitude: float | None = Field(default=None, ge=-180, le=180)
    summary: str = Field(min_length=1, max_length=MAX_SUMMARY)
    text: str = Field(min_length=1, max_length=MAX_TEXT)
    applicant: Applicant | None = None  # None only for a signed-in citizen
    consent: bool = Field(description="Consent to the processing of personal data.")
    fields: dict[str, Any] = Field(default_factory=dict)
    attachments: list[AttachmentRef] = Field(default_factory=list, max_length=20)

    @field_validator("summary", "text")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip():
            raise PydanticCustomError("blank", "must not be blank")
        return value.strip()

    @field_validator("consent")
    @classmethod
    def _consent(cls, value: bool) -> bool:
        if value is not True:
            raise PydanticCustomError(
                "consent_required", "consent to the processing of personal data is required"
            )
        return value

    @model_validator(mode="after")
    def _coordinates(self) -> MessageSubmission:
        if (self.latitude is None) != (self.longitude is None):
            raise PydanticCustomError(
                "coordinates_pair", "latitude and longitude: give both or neither"
            )
        return self


def typed_answers(
    questions: Iterable[Mapping[str, Any]], given: Mapping[str, Sequence[str]]
) -> dict[str, Any]:
    """A topic's extra answers as a form sent them (strings, by question code), typed as its
    questions say; a wrong one, or one the topic does not ask, is left for
    :func:`field_problems` to name."""
    asked = {question["code"] for question in questions}
    answers: dict[str, Any] = {
        code: values[0] for code, values in given.items() if code not in asked and values
    }
    for question in questions:
        values = [v.strip() for v in given.get(question["code"], ()) if v.strip()]
        if not values:
            continue
        if question["type"] == FieldType.MULTI:
            answers[question["code"]] = values
            continue
        value = values[0]
        if question["type"] == FieldType.NUMBER:
            with contextlib.suppress(ValueError):
                answers[question["code"]] = float(value) if "." in value else int(value)
                continue
        answers[question["code"]] = value
    return answers


def field_problems(definitions: list[ExtraField], values: dict[str, Any]) -> list[FieldError]:
    """What is wrong with a topic's extra answers, each at ``fields.<code>``."""
    problems = []
    known = {d.code: d for d in definitions}
    for code in values:
        if code not in known:
            problems.append(
                FieldError(f"fields.{code}", "this topic asks no such question", code="not_asked")
            )
    for definition in definitions:
        value = values.get(definition.code)
        where = f"fields.{definition.code}"
        if value in (None, "", []):
            if definition.required:
                problems.append(FieldError(where, f"required ({definition.title})", code="missing"))
            continue
        kind = definition.type
        choices = ", ".join(definition.choices)
        if kind is FieldType.NUMBER and (
            isinstance(value, bool) or not isinstance(value, int | float)
        ):
            problems.append(FieldError(where, "must be a number", code="number_type"))
        elif kind is FieldType.STRING and not isinstance(value, str):
            problems.append(FieldError(where, "must be text", code="string_type"))
        elif kind is FieldType.DATE:
            try:
                date.fromisoformat(str(value))
            except ValueError:
                problems.append(
                    FieldError(where, "must be a date (YYYY-MM-DD)", code="date_parsing")
                )
        elif kind is FieldType.SINGLE and value not in definition.choices:
            problems.append(FieldError(where, f"must be one of {choices}", code="choice"))
        elif kind is FieldType.MULTI and (
            not isinstance(value, list) or any(v not in definition.choices for v in value)
        ):
            problems.append(FieldError(where, f"must be a list of {choices}", code="choice"))
    return problems


class Receipt(BaseModel):
    """What the citizen gets back: the number to quote and the secret for the status page."""

    number: str
    token: str
    status: str
    status_label: str
    organization: str | None
    queued: bool = False
    status_url: str


class Official(BaseModel):
    name: str
    position: str | None = None


class TimelineEntry(BaseModel):
    at: datetime
    title: str
    status_label: str | None = None
    official: Official | None = None
    organization: str | None = None
    reason: str | None = None
    details: dict[str, Any] = Field(default_factory=dict)


class Timeline(BaseModel):
    number: str
    status: str
    status_label: str
    organization: str | None
    topic: str
    summary: str
    received_at: datetime
    due_at: datetime | None = None
    answer: str | None = None
    rating: int | None = None
    can_clarify: bool = False
    can_rate: bool = False
    files: list[dict[str, Any]] = Field(default_factory=list)
    entries: list[TimelineEntry]


class MessageRead(BaseModel):
    """A message as staff see it."""

    id: uuid.UUID
    tenant: str
    number: str
    status: str
    version: int
    topic: str
    territory: str
    address: str | None
    latitude: float | None
    longitude: float | None
    summary: str
    text: str
    fields: dict[str, Any]
    applicant: dict[str, Any]
    received_at: datetime
    stage_due_at: datetime | None
    registration_number: str | None
    registered_at: datetime | None
    assignee_id: uuid.UUID | None
    due_at: datetime | None
    sla: str | None  # overdue, due_soon
    extensions: int
    reopened_count: int
    answer: str | None
    answered_at: datetime | None
    rating: int | None
    rating_comment: str | None
    forwarded_to: str | None
    merged_into: uuid.UUID | None


class EventRead(BaseModel):
    at: datetime
    kind: str
    actor: str | None
    from_status: str | None
    to_status: str | None
    reason: str | None
    payload: dict[str, Any]
    public: bool


# --- staff actions -------------------------------------------------------------------------


class ActionInput(BaseModel):
    """Every action names the version it was decided on: a stale one gets 409."""

    model_config = ConfigDict(extra="forbid")

    version: int = Field(ge=1)


class RejectInput(ActionInput):
    ground: str
    text: str = Field(min_length=1, max_length=2000)


class ClarificationInput(ActionInput):
    question: str = Field(min_length=1, max_length=2000)
    days: int = Field(default=3, ge=1, le=30)


class AssignInput(ActionInput):
    executor: EmailAddress


class AnswerInput(ActionInput):
    """The answer's text, or a template to start from (its placeholders filled in)."""

    text: str | None = Field(default=None, min_length=1, max_length=MAX_TEXT)
    template: uuid.UUID | None = None

    @model_validator(mode="after")
    def _text_or_template(self) -> AnswerInput:
        if self.text is None and self.template is None:
            raise ValueError("text: write the answer, or name a template to start from")
        return self


class SubmitAnswerInput(ActionInput):
    text: str | None = Field(default=None, min_length=1, max_length=MAX_TEXT)


class ReturnInput(ActionInput):
    comment: str = Field(min_length=1, max_length=2000)


class ForwardInput(ActionInput):
    tenant: str = Field(min_length=1)
    reason: str = Field(min_length=1, max_length=2000)


class ExtendInput(ActionInput):
    days: int = Field(ge=1)
    reason: str = Field(min_length=1, max_length=2000)


class MergeInput(ActionInput):
    primary: uuid.UUID


class CommentInput(BaseModel):
    """A comment changes no state, so it needs no version (one given is checked)."""

    model_config = ConfigDict(extra="forbid")

    version: int | None = Field(default=None, ge=1)
    text: str = Field(min_length=1, max_length=5000)


class TopicChangeInput(ActionInput):
    topic: str = Field(min_length=1)
    reason: str = Field(min_length=1, max_length=2000)


# --- citizen actions -----------------------------------------------------------------------


class ClarifyInput(BaseModel):
    model_config = ConfigDict(extra="forbid")

    token: str
    text: str = Field(min_length=1, max_length=MAX_TEXT)


class RatingInput(BaseModel):
    model_config = ConfigDict(extra="forbid")

    token: str
    rating: int = Field(ge=1, le=5)
    comment: str | None = Field(default=None, max_length=2000)


Sort = Literal["received", "due"]
