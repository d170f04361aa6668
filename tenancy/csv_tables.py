"""CSV tables as people export them from Excel: UTF-8 (with or without a BOM) or
Windows-1251, separated by ``,``, ``;`` or tabs. Rows come back with their ``file:line``."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from tenancy.errors import FieldError
from tenancy.storable import unstorable

Row = dict[str, str | None]


def decode_csv(data: bytes) -> tuple[str, str | None]:
    """The text of a CSV file and a problem, if any."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")) or _looks_utf16(data[:1000]):
        return "", "the file is UTF-16; save it as CSV UTF-8 (or Windows-1251)"
    try:
        return data.decode("utf-8-sig"), None
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("cp1251"), None
    except UnicodeDecodeError as exc:
        return "", f"neither UTF-8 nor Windows-1251 (byte {exc.start + 1}); save it as CSV UTF-8"


def _looks_utf16(head: bytes) -> bool:
    """UTF-16 without its mark: every other byte of Latin text is NUL (a stray NUL is not)."""
    return len(head) >= 4 and head.count(0) * 3 >= len(head)


def delimiter_of(header: str) -> str:
    counts = {d: header.count(d) for d in (",", ";", "\t")}
    return max(counts, key=lambda d: counts[d])


# What str.splitlines breaks lines at.
_FIRST_LINE = re.compile("[^\n\r\v\f\x1c\x1d\x1e\x85\u2028\u2029]*")


def first_line(text: str) -> str:
    """The text up to its first line break (without splitting a national file into lines)."""
    found = _FIRST_LINE.match(text)
    return found.group() if found else ""


def header_of(text: str) -> list[str]:
    """The lower-cased column names of a decoded CSV text."""
    first = first_line(text)
    return [h.strip().lower() for h in next(csv.reader([first], delimiter=delimiter_of(first)), [])]


def read_table(
    path: Path, required: tuple[str, ...], optional: tuple[str, ...] = ()
) -> tuple[list[tuple[str, Row]], list[FieldError]]:
    """``(location, row)`` pairs of a CSV file with these columns, and every problem found."""
    name = str(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        return [], [FieldError("file", exc.strerror or str(exc), name)]
    if not data.strip():
        return [], [
            FieldError("file", "the file is empty", location=f"{name}:1", code="empty_file")
        ]
    text, problem = decode_csv(data)
    if problem:
        return [], [FieldError("file", problem, name, code="encoding")]
    return parse_table(text, name, required, optional)


def parse_table(
    text: str, name: str, required: tuple[str, ...], optional: tuple[str, ...] = ()
) -> tuple[list[tuple[str, Row]], list[FieldError]]:
    """The same as ``read_table`` for text already decoded."""
    errors: list[FieldError] = []
    header, values = table_values(text, name, required, optional, errors)
    rows = [(f"{name}:{line}", dict(zip(header, row, strict=True))) for line, row in values]
    return rows, errors


def table_values(
    text: str,
    name: str,
    required: tuple[str, ...],
    optional: tuple[str, ...],
    errors: list[FieldError],
) -> tuple[list[str], Iterator[tuple[int, list[str | None]]]]:
    """The header and, as they are read, each row's line number and values (stripped, empty
    ones None) in the header's order; every problem goes to ``errors``. For tables too big to
    hold as dictionaries: nothing but the current row is kept."""
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter_of(first_line(text)))
    try:
        header = [h.strip().lower() for h in next(reader)]
    except csv.Error as exc:
        errors.append(FieldError("csv", str(exc), f"{name}:1"))
        return [], iter(())
    if any(unstorable(h) for h in header):
        errors.append(
            FieldError("header", "contains a NUL character or a lone surrogate", f"{name}:1")
        )
        return [], iter(())
    missing = [c for c in required if c not in header]
    unknown = [c for c in header if c not in required + optional]
    if missing:
        errors.append(
            FieldError(
                "header",
                f"missing column(s): {', '.join(missing)}",
                location=f"{name}:1",
                code="missing_columns",
            )
        )
    if unknown:
        known = ", ".join(required + optional)
        errors.append(
            FieldError(
                "header",
                f"unknown column(s): {', '.join(unknown)} (known: {known})",
                location=f"{name}:1",
                code="unknown_columns",
            )
        )
    if missing or unknown:
        return header, iter(())
    # Text decoded from bytes holds no lone surrogate; without a NUL anywhere, no value can
    # be unstorable and the per-value check is skipped.
    checked = "\x00" in text
    return header, _values(reader, name, header, checked, errors)


def _values(
    reader: Any, name: str, header: list[str], checked: bool, errors: list[FieldError]
) -> Iterator[tuple[int, list[str | None]]]:
    width = len(header)
    try:
        for values in reader:
            if len(values) != width:
                if not any(v.strip() for v in values):
                    continue
                errors.append(
                    FieldError(
                        "row",
                        f"has {len(values)} values for {width} columns",
                        location=f"{name}:{reader.line_num}",
                        code="row_length",
                    )
                )
                continue
            stripped = [v.strip() or None for v in values]
            if not any(stripped):
                continue
            if checked:
                where = f"{name}:{reader.line_num}"
                unfit = [
                    FieldError(k, reason, where)
                    for k, v in zip(header, values, strict=True)
                    if (reason := unstorable(v))
                ]
                if unfit:
                    errors += unfit
                    continue
            yield reader.line_num, stripped
    except csv.Error as exc:
        errors.append(FieldError("csv", str(exc), f"{name}:{reader.line_num}"))
