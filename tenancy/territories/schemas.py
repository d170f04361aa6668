"""Rows of the territory CSV files."""

from __future__ import annotations

from pydantic import Field

from tenancy.file_rows import Row

TERRITORY = r"^[0-9]{2,11}$"


class TerritoryRow(Row):
    code: str = Field(pattern=TERRITORY)
    name: str = Field(min_length=1, max_length=300)
    parent: str | None = Field(default=None, pattern=TERRITORY)
