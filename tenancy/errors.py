"""Domain errors shared by services and rendered by every edge (CLI exit codes, HTTP problems)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from pydantic import ValidationError


@dataclass(frozen=True)
class FieldError:
    """What is wrong with one field; ``location`` is ``file:line`` for manifest input.

    ``code`` names the kind of problem for programs and for pages that word it in the user's
    language (pydantic's error types, such as ``missing`` or ``string_too_long``, or a
    service's own, such as ``contact_required``); ``limit`` is the bound it broke, if any."""

    field: str
    message: str
    location: str | None = None
    code: str | None = None
    limit: int | float | None = None

    def __str__(self) -> str:
        prefix = f"{self.location}: " if self.location else ""
        return f"{prefix}{self.field}: {self.message}"


class DomainError(Exception):
    """Base of the errors a service raises on purpose."""


class InvalidInput(DomainError):
    """Bad input: every problem found, each naming its field. Nothing was written."""

    def __init__(self, errors: list[FieldError]) -> None:
        self.errors = errors
        super().__init__("; ".join(str(e) for e in errors))

    @classmethod
    def one(cls, field: str, message: str, *, code: str | None = None) -> InvalidInput:
        return cls([FieldError(field, message, code=code)])

    @classmethod
    def from_validation(cls, exc: ValidationError, *, location: str | None = None) -> InvalidInput:
        return cls(field_errors(exc, location=location))


class NotFound(DomainError):
    def __init__(self, what: str, key: str) -> None:
        self.what = what
        self.key = key
        super().__init__(f"{what} {key!r} not found")


class Gone(DomainError):
    """What was asked for existed, and was destroyed on ``on`` (records retention)."""

    def __init__(self, message: str, *, on: date) -> None:
        self.on = on
        super().__init__(message)


class Conflict(DomainError):
    """The request is valid but clashes with the current state, which ``current`` may carry
    (so that the caller can decide again without another request)."""

    def __init__(self, message: str, *, current: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.current = current


class TooManyRequests(DomainError):
    """A rate limit: try again after ``retry_after`` seconds."""

    def __init__(self, message: str, *, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class Forbidden(DomainError):
    """The caller may do this kind of thing, but not to this object (for example a regional
    operator publishing the federal catalog)."""


_LIMITS = ("max_length", "min_length", "le", "ge", "lt", "gt")


def field_errors(exc: ValidationError, *, location: str | None = None) -> list[FieldError]:
    errors = []
    for error in exc.errors():
        field = ".".join(str(part) for part in error["loc"]) or "input"
        message = error["msg"].removeprefix("Value error, ")
        context = error.get("ctx", {})
        limit = next((context[k] for k in _LIMITS if isinstance(context.get(k), int | float)), None)
        errors.append(FieldError(field, message, location, code=error["type"], limit=limit))
    return errors
