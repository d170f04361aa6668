"""The shapes of attachments: an upload's receipt, a message's file as read, and the
reference a message gives to an upload it takes."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pydantic import BaseModel


class UploadReceipt(BaseModel):
    """What the uploader keeps to attach the file to their message: id and secret token."""

    id: uuid.UUID
    token: str
    filename: str
    size: int | None
    content_type: str
    status: str
    upload: dict[str, Any] | None = None  # a direct upload: where and how to send the bytes


class FileRead(BaseModel):
    id: uuid.UUID
    purpose: str
    filename: str
    content_type: str
    size: int | None
    sha256: str | None
    created_at: datetime


@dataclass(frozen=True)
class UploadRef:
    id: uuid.UUID
    token: str
