"""The inbox's keyset cursor: where the last page ended, handed out as an opaque string."""

from __future__ import annotations

import base64
import json
import uuid
from dataclasses import dataclass
from datetime import datetime

from cabinets.messages.inbox.schemas import (
    Sort,
)
from tenancy.errors import InvalidInput


@dataclass(frozen=True)
class Position:
    """Where the last page ended: the sort key of its last row."""

    sort: Sort
    received_at: datetime
    id: uuid.UUID
    deadline: datetime | None = None  # by due: None once past the messages with a deadline
    rank: float | None = None
    updated_at: datetime | None = None  # by updated

    def encode(self) -> str:
        data = {
            "s": self.sort.value,
            "r": self.received_at.isoformat(),
            "i": str(self.id),
            "d": self.deadline.isoformat() if self.deadline else None,
            "k": self.rank,
            "u": self.updated_at.isoformat() if self.updated_at else None,
        }
        raw = json.dumps(data, separators=(",", ":")).encode()
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")

    @classmethod
    def decode(cls, cursor: str, sort: Sort) -> Position:
        try:
            data = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
            position = cls(
                sort=Sort(data["s"]),
                received_at=_aware(datetime.fromisoformat(data["r"])),
                id=uuid.UUID(data["i"]),
                deadline=_aware(datetime.fromisoformat(data["d"])) if data["d"] else None,
                rank=float(data["k"]) if data["k"] is not None else None,
                updated_at=_aware(datetime.fromisoformat(data["u"])) if data.get("u") else None,
            )
        except (ValueError, TypeError, KeyError):  # base64, JSON, UTF-8 and UUID errors too
            raise InvalidInput.one(
                "cursor", "not a cursor this inbox gave out: start again without it"
            ) from None
        if position.sort is not sort:
            raise InvalidInput.one(
                "cursor", f"this cursor pages the {position.sort} order, not {sort}"
            )
        if sort is Sort.RELEVANCE and position.rank is None:
            raise InvalidInput.one("cursor", "not a cursor this inbox gave out")
        if sort is Sort.UPDATED and position.updated_at is None:
            raise InvalidInput.one("cursor", "not a cursor this inbox gave out")
        return position


def _aware(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        raise ValueError("a cursor's moments carry their offset")
    return moment
