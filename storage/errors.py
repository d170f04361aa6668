"""The one exception hierarchy of the storage layer.

The web app maps these to responses: ``AttachmentRejected`` to a 4xx naming the file and the
reason, ``StorageUnavailable`` to 503, ``ObjectMissing`` to 404, ``InvalidToken`` to 403.
``StorageMisconfigured`` is an operator's problem (wrong bucket, missing rights) and should be
logged loudly.
"""

from __future__ import annotations

from enum import StrEnum


class StorageError(Exception):
    """Base of every error raised by the storage layer."""


class StorageUnavailable(StorageError):
    """The object store (or the virus scanner) cannot be reached or failed on its side:
    connection refused, timeout, 5xx. Retrying later may help."""


class ScannerUnavailable(StorageUnavailable):
    """The configured clamd daemon cannot be reached or answered nonsense. Uploads fail closed
    rather than skipping the scan."""


class StorageMisconfigured(StorageError):
    """The store is reachable but not usable as configured: a missing bucket or directory,
    credentials lacking a right, a missing signing key."""


class ObjectMissing(StorageError):
    """No object is stored under the key."""

    def __init__(self, key: str) -> None:
        super().__init__(f"no object is stored under {key!r}")
        self.key = key


class InvalidObjectKey(StorageError, ValueError):
    """A key that is not of the shape the store accepts (e.g. ``..`` segments)."""


class KeyOutsideTenant(InvalidObjectKey):
    """A key that does not lie under the tenant's own prefix."""


class InvalidToken(StorageError):
    """A signed upload or download token that is damaged, forged or meant for another use."""


class TokenExpired(InvalidToken):
    """A signed token whose validity has run out."""


class RejectionReason(StrEnum):
    """Why an attachment was refused; lets the app pick a status code (413 for ``TOO_LARGE``,
    415 for types, 422 otherwise)."""

    EMPTY = "empty"
    TOO_LARGE = "too_large"
    TOO_MANY_FILES = "too_many_files"
    FORBIDDEN_TYPE = "forbidden_type"
    DAMAGED = "damaged"
    BAD_FILE_NAME = "bad_file_name"
    SIZE_MISMATCH = "size_mismatch"
    INFECTED = "infected"


class AttachmentRejected(StorageError):
    """A file the user sent cannot be accepted. ``str(error)`` is a message the user can act
    on, prefixed with the file's (display) name when known."""

    def __init__(
        self,
        reason: RejectionReason,
        detail: str,
        *,
        filename: str | None = None,
        field: str | None = None,
        limit: int | None = None,
    ) -> None:
        self.reason = reason
        self.detail = detail
        self.filename = filename
        self.field = field
        self.limit = limit  # the bound broken (bytes, or files), when there is one
        label = filename or field
        super().__init__(f"{label}: {detail}" if label else detail)

    def for_file(self, *, filename: str | None, field: str | None = None) -> AttachmentRejected:
        """The same rejection, labelled with the file it concerns."""
        return AttachmentRejected(
            self.reason,
            self.detail,
            filename=filename if filename is not None else self.filename,
            field=field if field is not None else self.field,
            limit=self.limit,
        )
