"""Form problems in the error-summary pattern: a summary at the top linking to each field, and
the message at the field itself, in Russian with the form's own labels."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from cabinets.messages.wording import FIELD_LABELS, problem_wording
from tenancy.errors import FieldError, InvalidInput

_UNSAFE = re.compile(r"[^A-Za-z0-9_-]")


def field_id(name: str) -> str:
    """The HTML id of a form field, which the summary's links point at."""
    return "f-" + _UNSAFE.sub("-", name)


@dataclass(frozen=True)
class FormProblem:
    field: str
    label: str
    message: str

    @property
    def id(self) -> str:
        return field_id(self.field)

    @property
    def text(self) -> str:
        return f"{self.label}: {self.message}"


@dataclass(frozen=True)
class FormErrors:
    problems: tuple[FormProblem, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.problems)

    def at(self, name: str) -> str | None:
        """The message shown at one field (all of its problems, joined)."""
        found = [p.message for p in self.problems if p.field == name]
        return "; ".join(found) or None

    @classmethod
    def of(
        cls, errors: Iterable[FieldError], labels: Mapping[str, str] = FIELD_LABELS
    ) -> FormErrors:
        problems = []
        for error in errors:
            name = error.field.split("[", 1)[0]
            label = labels.get(name) or FIELD_LABELS.get(name) or name
            problems.append(FormProblem(name, label, problem_wording(error)))
        return cls(tuple(problems))

    @classmethod
    def invalid(cls, exc: InvalidInput, labels: Mapping[str, str] = FIELD_LABELS) -> FormErrors:
        return cls.of(exc.errors, labels)

    @classmethod
    def one(cls, field: str, label: str, message: str) -> FormErrors:
        return cls((FormProblem(field, label, message),))
