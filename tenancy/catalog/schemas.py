"""Rows of the catalog CSV files, a topic's extra questions, and what publishing would change."""

from __future__ import annotations

import json
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from pydantic_core import PydanticCustomError

from tenancy.file_rows import Row
from tenancy.territories.schemas import TERRITORY

CODE = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$"


class Calendar(StrEnum):
    CALENDAR = "calendar"  # calendar days
    WORKING = "working"  # working days by the production calendar


class FieldType(StrEnum):
    STRING = "string"
    NUMBER = "number"
    DATE = "date"
    SINGLE = "single"
    MULTI = "multi"


class ExtraField(BaseModel):
    """A topic's extra question (an Open311 attribute)."""

    model_config = ConfigDict(extra="forbid")

    code: str = Field(pattern=CODE)
    title: str = Field(min_length=1)
    type: FieldType
    required: bool = False
    choices: list[str] = Field(default_factory=list)

    @model_validator(mode="after")
    def _choices(self) -> ExtraField:
        if self.type in (FieldType.SINGLE, FieldType.MULTI) and not self.choices:
            raise PydanticCustomError(
                "choices_required", "a {kind} field needs choices", {"kind": self.type.value}
            )
        if self.type not in (FieldType.SINGLE, FieldType.MULTI) and self.choices:
            raise ValueError(f"a {self.type.value} field takes no choices")
        return self


class CategoryRow(Row):
    code: str = Field(pattern=CODE)
    parent: str | None = Field(default=None, pattern=CODE)
    title: str = Field(min_length=1, max_length=300)


def _flag(value: Any) -> Any:
    if isinstance(value, str):
        lowered = value.strip().lower()
        if lowered in ("1", "yes", "true", "да", "y"):
            return True
        if lowered in ("", "0", "no", "false", "нет", "n"):
            return False
    return value


class TopicRow(Row):
    code: str = Field(pattern=CODE)
    category: str = Field(pattern=CODE)
    title: str = Field(min_length=1, max_length=300)
    deadline_days: int = Field(ge=1, le=60)
    calendar: Calendar
    photo_required: bool = False
    address_required: bool = False
    description: str = ""
    keywords: list[str] = Field(default_factory=list)
    moderation_days: int = Field(default=1, ge=0, le=30)
    registration_days: int = Field(default=3, ge=0, le=30)
    region: str | None = Field(default=None, pattern=TERRITORY)
    active: bool = True
    fields: list[ExtraField] = Field(default_factory=list)

    @field_validator("photo_required", "address_required", "active", mode="before")
    @classmethod
    def _flags(cls, value: Any) -> Any:
        return _flag(value)

    @field_validator("keywords", mode="before")
    @classmethod
    def _keywords(cls, value: Any) -> Any:
        if isinstance(value, str):
            return [k.strip() for k in value.split(";") if k.strip()]
        return value

    @field_validator("fields", mode="before")
    @classmethod
    def _fields(cls, value: Any) -> Any:
        if isinstance(value, str):
            try:
                return json.loads(value)
            except json.JSONDecodeError as exc:
                raise ValueError(f"not JSON: {exc.msg}") from None
        return value


class TopicChange(BaseModel):
    code: str
    change: str  # added, removed, changed
    fields: dict[str, list[Any]] = Field(default_factory=dict)


class CatalogDiff(BaseModel):
    draft: int | None
    published: int | None
    categories: list[TopicChange] = Field(default_factory=list)
    topics: list[TopicChange] = Field(default_factory=list)
