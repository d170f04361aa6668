"""Limits on attachments and the checks that enforce them.

The policy is plain data so the caller can keep one per tenant (a court may accept larger scans
than a school). Every refusal is an ``AttachmentRejected`` whose message names the file and tells
the user what to do differently.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import BinaryIO

from storage.errors import AttachmentRejected, RejectionReason
from storage.file_types import FileKind, identify

MiB = 1024 * 1024


@dataclass(frozen=True)
class AttachmentPolicy:
    max_file_size: int = 10 * MiB
    max_files: int = 5
    allowed_kinds: frozenset[FileKind] = frozenset(FileKind)
    # Decoding an image takes width × height × 4 bytes; this bounds it near 320 MB.
    max_image_pixels: int = 80_000_000
    strip_image_metadata: bool = True

    def __post_init__(self) -> None:
        if self.max_file_size <= 0 or self.max_files <= 0 or self.max_image_pixels <= 0:
            raise ValueError("attachment limits must be positive")
        if not self.allowed_kinds:
            raise ValueError("at least one file kind must be allowed")

    @property
    def allowed_labels(self) -> str:
        return ", ".join(kind.label for kind in FileKind if kind in self.allowed_kinds)


DEFAULT_POLICY = AttachmentPolicy()


def format_size(size: int) -> str:
    if size >= MiB and size % MiB == 0:
        return f"{size // MiB} MiB"
    if size >= MiB:
        return f"{size / MiB:.1f} MiB"
    if size >= 1024:
        return f"{size / 1024:.0f} KiB"
    return f"{size} bytes"


def check_attachment_count(count: int, policy: AttachmentPolicy = DEFAULT_POLICY) -> None:
    if count > policy.max_files:
        raise AttachmentRejected(
            RejectionReason.TOO_MANY_FILES,
            f"a message can carry at most {policy.max_files} files; {count} were attached",
            limit=policy.max_files,
        )


def too_large(limit: int, *, filename: str | None = None) -> AttachmentRejected:
    return AttachmentRejected(
        RejectionReason.TOO_LARGE,
        f"the file is larger than the {format_size(limit)} limit",
        filename=filename,
        limit=limit,
    )


def check_size(
    size: int, policy: AttachmentPolicy = DEFAULT_POLICY, *, filename: str | None = None
) -> None:
    if size <= 0:
        raise AttachmentRejected(RejectionReason.EMPTY, "the file is empty", filename=filename)
    if size > policy.max_file_size:
        raise too_large(policy.max_file_size, filename=filename)


def check_content(
    file: BinaryIO, policy: AttachmentPolicy = DEFAULT_POLICY, *, filename: str | None = None
) -> FileKind:
    """The kind of ``file`` by its content, if the policy allows it."""
    identified = identify(file)
    if identified.kind is None or identified.kind not in policy.allowed_kinds:
        raise AttachmentRejected(
            RejectionReason.FORBIDDEN_TYPE,
            f"the content is {identified.description}; allowed: {policy.allowed_labels}",
            filename=filename,
        )
    return identified.kind
