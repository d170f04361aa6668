"""The inbox's shapes: its query parameters as read from a request, a page of messages,
the counts and a supervisor's roll-up."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import date, datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from cabinets import sla
from cabinets.messages.workflow import Status
from tenancy.errors import InvalidInput

DEFAULT_LIMIT = 25
MAX_LIMIT = 100
MAX_QUERY = 200
MAX_WORKING_DAYS = 20


class Sort(StrEnum):
    RECEIVED = "received"  # newest first
    DUE = "due"  # soonest deadline first; messages without a running one after, newest first
    RELEVANCE = "relevance"  # best match first (with q only)
    UPDATED = "updated"  # least recently changed first: an integration pulling changes


class InboxQuery(BaseModel):
    """The inbox's query parameters, as the endpoint read them."""

    model_config = ConfigDict(extra="forbid")

    status: list[Status] = Field(default_factory=list)
    topic: str | None = Field(default=None, pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
    territory: str | None = Field(default=None, pattern=r"^[0-9]{2,11}$")
    assignee: str | None = None  # a user id, "me", or "none" (unassigned)
    returned: bool = False  # returned to me: my assignment whose answer the approver sent back
    overdue: bool = False
    due_soon: bool = False
    due_within: int | None = Field(default=None, ge=0, le=MAX_WORKING_DAYS)  # working days
    reopened: bool = False
    received_from: date | None = None
    received_to: date | None = None
    registered_from: date | None = None
    registered_to: date | None = None
    updated_since: datetime | None = None
    number: str | None = Field(default=None, min_length=1, max_length=64)
    q: str | None = Field(default=None, max_length=MAX_QUERY)
    sort: Sort | None = None
    cursor: str | None = Field(default=None, max_length=1000)
    limit: int = Field(default=DEFAULT_LIMIT, ge=1, le=MAX_LIMIT)

    @field_validator("status", mode="before")
    @classmethod
    def _statuses(cls, value: Any) -> list[Status]:
        given = [value] if isinstance(value, str) else list(value or [])
        found: list[Status] = []
        for item in given:
            for name in str(item).split(","):
                if not name.strip():
                    continue
                try:
                    status = Status(name.strip())
                except ValueError:
                    known = ", ".join(s.value for s in Status)
                    raise ValueError(f"unknown status {name.strip()!r}; one of {known}") from None
                if status not in found:
                    found.append(status)
        return found

    @field_validator("assignee")
    @classmethod
    def _assignee(cls, value: str | None) -> str | None:
        if value is None or value in ("me", "none"):
            return value
        try:
            return str(uuid.UUID(value))
        except ValueError:
            raise ValueError("a user id, me, or none") from None

    @field_validator("updated_since")
    @classmethod
    def _moment(cls, value: datetime | None) -> datetime | None:
        if value is not None and value.tzinfo is None:
            raise ValueError("a moment with its offset, e.g. 2026-03-01T09:00:00+03:00")
        return value

    @field_validator("q")
    @classmethod
    def _words(cls, value: str | None) -> str | None:
        if value is not None and not value.strip():
            raise ValueError("give the words to search for")
        return value.strip() if value is not None else None

    @property
    def order(self) -> Sort:
        return self.sort or (Sort.RELEVANCE if self.q else Sort.RECEIVED)


class MessageSummary(BaseModel):
    """A message as one line of the inbox."""

    id: uuid.UUID
    number: str
    registration_number: str | None
    status: Status
    version: int
    topic: str
    territory: str
    summary: str
    address: str | None
    applicant_name: str | None
    received_at: datetime
    updated_at: datetime = Field(description="The last change: any step, by anyone.")
    due_at: datetime | None
    stage_due_at: datetime | None
    sla: str | None = Field(description="overdue, due_soon, or null (on time or no deadline)")
    assignee_id: uuid.UUID | None
    reopened_count: int
    rank: float | None = Field(default=None, description="Relevance, when searching.")


class InboxPage(BaseModel):
    items: list[MessageSummary]
    next_cursor: str | None = Field(
        description="Pass as `cursor` for the next page; null on the last page."
    )


class Counts(BaseModel):
    """Messages per status, and of those whose deadline runs, how many are late or nearly."""

    statuses: dict[Status, int]
    total: int
    overdue: int
    due_soon: int = Field(description=f"Due within {sla.DUE_SOON.days} days, not yet overdue.")
    reopened: int = Field(description="Sent back by a low rating and being reviewed again.")


class InboxCounts(Counts):
    tenant: str
    own_only: bool = Field(description="Counted over the caller's own assignments only.")


class RollupTenant(Counts):
    tenant: str
    name: str
    parent: str | None = Field(description="The parent's slug; null for the roll-up's root.")
    depth: int = Field(description="0 for the root, 1 for its children, and so on.")


class Rollup(BaseModel):
    root: str
    at: datetime
    tenants: list[RollupTenant] = Field(
        description="The root and every tenant below it whose reports the caller may read, "
        "in tree order."
    )
    totals: Counts


_REPEATABLE = frozenset({"status"})


def query_values(
    items: Iterable[tuple[str, str]], *, also: frozenset[str] = frozenset()
) -> dict[str, Any]:
    """A query string's parameters, as ``InboxQuery`` reads them; an unknown or repeated
    parameter is refused by name, so that a typo does not silently widen the list. Empty
    values (a blank form field) count as absent. ``also``: names the caller reads itself."""
    known = InboxQuery.model_fields
    given: dict[str, Any] = {}
    for name, value in items:
        if name not in known and name not in also:
            raise InvalidInput.one(name, f"unknown parameter; known: {', '.join(known)}")
        if value == "":
            continue
        if name in _REPEATABLE:
            given.setdefault(name, []).append(value)
        elif name in given:
            raise InvalidInput.one(name, "give it once")
        else:
            given[name] = value
    return given


def read_query(given: dict[str, Any]) -> InboxQuery:
    try:
        return InboxQuery.model_validate(given)
    except ValidationError as exc:
        raise InvalidInput.from_validation(exc) from None
