"""CSV tables as people export them from Excel: UTF-8 (with or without a BOM) or
Windows-1251, separated by ``,``, ``;`` or tabs. Rows come back with their ``file:line``."""

from __future__ import annotations

import csv
import io
from pathlib import Path

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


def header_of(text: str) -> list[str]:
    """The lower-cased column names of a decoded CSV text."""
    first = text.splitlines()[0] if text else ""
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
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter_of(text.splitlines()[0]))
    try:
        header = [h.strip().lower() for h in next(reader)]
    except csv.Error as exc:
        return [], [FieldError("csv", str(exc), f"{name}:1")]
    if any(unstorable(h) for h in header):
        return [], [
            FieldError("header", "contains a NUL character or a lone surrogate", f"{name}:1")
        ]
    missing = [c for c in required if c not in header]
    unknown = [c for c in header if c not in required + optional]
    errors = []
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
    if errors:
        return [], errors
    rows: list[tuple[str, Row]] = []
    try:
        for values in reader:
            where = f"{name}:{reader.line_num}"
            if not any(v.strip() for v in values):
                continue
            if len(values) != len(header):
                errors.append(
                    FieldError(
                        "row",
                        f"has {len(values)} values for {len(header)} columns",
                        location=where,
                        code="row_length",
                    )
                )
                continue
            unfit = [
                FieldError(k, reason, where)
                for k, v in zip(header, values, strict=True)
                if (reason := unstorable(v))
            ]
            if unfit:
                errors += unfit
                continue
            rows.append(
                (where, {k: (v.strip() or None) for k, v in zip(header, values, strict=True)})
            )
    except csv.Error as exc:
        errors.append(FieldError("csv", str(exc), f"{name}:{reader.line_num}"))
    return rows, errors
