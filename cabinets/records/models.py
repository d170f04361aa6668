"""The destruction record (акт об уничтожении): what a purge destroyed in one tenant."""

from __future__ import annotations

import uuid
from datetime import date, datetime

from sqlalchemy import ARRAY, Column, Date, DateTime, ForeignKey, Integer, Text, func
from sqlalchemy.dialects.postgresql import UUID as PgUUID
from sqlmodel import Field, SQLModel


class DestructionRecord(SQLModel, table=True):
    __tablename__ = "destruction_records"

    tenant_id: uuid.UUID = Field(
        sa_column=Column(PgUUID(as_uuid=True), ForeignKey("tenants.id"), primary_key=True)
    )
    number: int = Field(sa_column=Column(Integer, primary_key=True))
    closed_before: date = Field(sa_column=Column(Date, nullable=False))
    executed_at: datetime = Field(
        sa_column=Column(DateTime(timezone=True), nullable=False, server_default=func.now())
    )
    executed_by: str = Field(sa_column=Column(Text, nullable=False))
    message_count: int = Field(sa_column=Column(Integer, nullable=False))
    first_closed_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    last_closed_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    tracking_numbers: list[str] = Field(sa_column=Column(ARRAY(Text), nullable=False))
    registration_numbers: list[str] = Field(sa_column=Column(ARRAY(Text), nullable=False))
