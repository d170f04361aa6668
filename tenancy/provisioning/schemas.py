"""What a manifest would change: the plan printed by ``tenant apply`` (and ``--plan``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, Field


class TenantUpdate(BaseModel):
    slug: str
    changes: dict[str, list[Any]] = Field(description="field → [old, new]")


class TenantMove(BaseModel):
    slug: str
    old_parent: str | None
    new_parent: str | None


class StatusChange(BaseModel):
    slug: str
    old: str
    new: str
    reason: str


class StaffRename(BaseModel):
    email: str
    old: str
    new: str


@dataclass(slots=True)
class GrantLine:
    """A dataclass, not a model: a national plan holds 700,000 of them, and a model holds a
    dictionary and a set of its own each."""

    email: str
    tenant: str
    role: str


class Plan(BaseModel):
    created: list[str] = Field(default_factory=list, description="Slugs of new tenants.")
    updated: list[TenantUpdate] = Field(default_factory=list)
    moved: list[TenantMove] = Field(default_factory=list)
    status_changed: list[StatusChange] = Field(default_factory=list)
    staff_added: list[str] = Field(default_factory=list, description="E-mails of new people.")
    staff_renamed: list[StaffRename] = Field(default_factory=list)
    grants_added: list[GrantLine] = Field(default_factory=list)
    grants_removed: list[GrantLine] = Field(default_factory=list)
    unchanged_tenants: int = 0
    unchanged_grants: int = 0
    applied: bool = False

    @property
    def changes(self) -> int:
        return (
            len(self.created)
            + len(self.updated)
            + len(self.moved)
            + len(self.status_changed)
            + len(self.staff_added)
            + len(self.staff_renamed)
            + len(self.grants_added)
            + len(self.grants_removed)
        )
