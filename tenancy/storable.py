"""Text PostgreSQL cannot store: a NUL character, or half of a UTF-16 surrogate pair (which
JSON's ``\\ud800`` escapes can produce). Every edge (HTTP bodies, queries, paths and forms; CLI
files) refuses such text naming its field, before it reaches a query."""

from __future__ import annotations

import re

_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def unstorable(value: str) -> str | None:
    """Why ``value`` cannot be stored as text, or None."""
    found = _UNSTORABLE.search(value)
    if found is None:
        return None
    if found.group() == "\x00":
        return "contains a NUL character (U+0000), which text cannot hold"
    return f"contains a lone surrogate (U+{ord(found.group()):04X}), which is not a character"
