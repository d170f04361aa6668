"""Rows of the routing table's CSV files, and what resolution and the gap report print."""

from __future__ import annotations

from datetime import date
from typing import Any

from pydantic import BaseModel, Field, model_validator

from tenancy.file_rows import Row
from tenancy.territories.schemas import TERRITORY


class RuleRow(Row):
    topic: str = Field(description="A topic code, a category code, or *.")
    territory: str = Field(pattern=TERRITORY)
    tenant: str
    priority: int = Field(default=0, ge=-1000, le=1000)
    valid_from: date | None = None
    valid_to: date | None = None

    @model_validator(mode="after")
    def _period(self) -> RuleRow:
        if self.valid_from and self.valid_to and self.valid_to < self.valid_from:
            raise ValueError("valid_to is before valid_from")
        return self


class CandidateRead(BaseModel):
    rule: int
    topic: str
    territory: str
    tenant: str
    priority: int
    verdict: str


class ResolutionRead(BaseModel):
    topic: str
    territory: str
    tenant: str | None
    rule: int | None
    reason: str
    candidates: list[CandidateRead] = Field(default_factory=list)


class GapGroupRead(BaseModel):
    territory: str
    name: str
    leaves: int
    topics: list[str]


class GapsRead(BaseModel):
    day: date
    pairs: int
    groups: list[GapGroupRead]
    rules_with_inactive_tenants: list[dict[str, Any]]
