"""Display names of attachments.

A file name is only ever shown to people and put into ``Content-Disposition``; it never becomes
a path or a key. It is still checked, so that what staff see is what the citizen meant: no path
tricks, no invisible or direction-reversing characters (``photo\\u202egpj.exe`` shows as
``photoexe.jpg``).
"""

from __future__ import annotations

import re
import unicodedata
from pathlib import PurePosixPath
from typing import Literal
from urllib.parse import quote

from storage.errors import AttachmentRejected, RejectionReason

MAX_FILENAME_LENGTH = 255

# Bidirectional overrides and isolates, zero-width and other invisible format characters.
_INVISIBLE_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"})
# RFC 5987 attr-char: what may stay unescaped in filename*=.
_ATTR_CHARS = "!#$&+-.^_`|~"
# What may stay in the quoted ASCII fallback; "%" goes too, as some clients percent-decode it.
_FALLBACK_UNSAFE = re.compile(r"[^A-Za-z0-9 !#$&'()+,\-.;=@\[\]^_`{}~]")


def _printable_excerpt(name: str) -> str:
    # The refused name is echoed back to the user, minus what made it unprintable.
    cleaned = "".join(
        "?" if unicodedata.category(char) in _INVISIBLE_CATEGORIES else char for char in name
    )
    return cleaned if len(cleaned) <= 40 else f"{cleaned[:37]}..."


def _refuse(name: str, detail: str, field: str | None) -> AttachmentRejected:
    return AttachmentRejected(
        RejectionReason.BAD_FILE_NAME,
        f"the file name {_printable_excerpt(name)!r} {detail}",
        field=field,
    )


def sanitize_filename(name: str, *, field: str | None = None) -> str:
    """The display name to keep for an uploaded file, or ``AttachmentRejected`` with a reason
    the user can act on. Surrounding spaces are trimmed and the name is NFC-normalised (macOS
    sends decomposed Cyrillic ``й``); everything else that is unsafe is refused, not rewritten.
    """
    normalized = unicodedata.normalize("NFC", name).strip()
    if not normalized:
        raise AttachmentRejected(RejectionReason.BAD_FILE_NAME, "the file has no name", field=field)
    if "/" in normalized or "\\" in normalized:
        raise _refuse(normalized, "contains a path separator (/ or \\)", field)
    if any(unicodedata.category(char) in _INVISIBLE_CATEGORIES for char in normalized):
        raise _refuse(normalized, "contains control or invisible characters", field)
    if len(normalized) > MAX_FILENAME_LENGTH:
        raise _refuse(
            normalized,
            f"is {len(normalized)} characters long; the limit is {MAX_FILENAME_LENGTH}",
            field,
        )
    if set(normalized) == {"."}:
        raise _refuse(normalized, "is not a file name", field)
    return normalized


def _ascii_fallback(name: str) -> str:
    # Latin letters with accents keep their base letter; other scripts become "_".
    decomposed = unicodedata.normalize("NFKD", name)
    ascii_only = "".join(char for char in decomposed if not unicodedata.combining(char))
    replaced = _FALLBACK_UNSAFE.sub("_", ascii_only)
    path = PurePosixPath(re.sub(r"_{2,}", "_", replaced))
    stem, suffix = path.stem.strip("_ "), path.suffix
    if not stem.strip("."):
        stem = "attachment"
    if suffix and not suffix.strip("_."):
        suffix = ""
    return f"{stem}{suffix}"


def content_disposition(
    name: str, disposition: Literal["attachment", "inline"] = "attachment"
) -> str:
    """A ``Content-Disposition`` value for ``name`` (RFC 6266): a quoted ASCII fallback for old
    clients, and the exact UTF-8 name as ``filename*`` (RFC 5987)."""
    safe_name = (
        "".join(char for char in name if unicodedata.category(char) not in _INVISIBLE_CATEGORIES)
        .replace("/", "_")
        .replace("\\", "_")
        or "attachment"
    )
    fallback = _ascii_fallback(safe_name)
    encoded = quote(safe_name, safe=_ATTR_CHARS)
    return f"{disposition}; filename=\"{fallback}\"; filename*=UTF-8''{encoded}"
