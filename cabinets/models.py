"""The worker's table: one heartbeat row per worker process, so operators (and ``/readyz``)
can tell whether background work is being done at all."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, DateTime, Integer, Text
from sqlmodel import Field, SQLModel


class WorkerHeartbeat(SQLModel, table=True):
    __tablename__ = "worker_heartbeats"

    worker_id: str = Field(sa_column=Column(Text, primary_key=True))
    hostname: str = Field(sa_column=Column(Text, nullable=False))
    pid: int = Field(sa_column=Column(Integer, nullable=False))
    started_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    seen_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
