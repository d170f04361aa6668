"""Rows of the CSV files operators import (territories, the catalog, the routing table): each
row validated by its model, every problem reported with its ``file:line``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError

from tenancy.csv_tables import read_table
from tenancy.errors import FieldError, field_errors


class Row(BaseModel):
    model_config = ConfigDict(str_strip_whitespace=True, extra="forbid")


def read_rows(
    path: Path, columns: tuple[str, ...], optional: tuple[str, ...], model: type[Any]
) -> tuple[list[tuple[str, Any]], list[FieldError]]:
    """``(location, row)`` pairs of ``model`` read from ``path``, and every problem found."""
    raw, errors = read_table(path, columns, optional)
    parsed = []
    for where, row in raw:
        try:
            parsed.append((where, model.model_validate({k: v for k, v in row.items() if v})))
        except ValidationError as exc:
            errors += field_errors(exc, location=where)
    return parsed, errors
