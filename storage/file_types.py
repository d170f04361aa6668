"""What a file is, decided by its content alone.

Neither the extension nor the Content-Type the client sends is trusted. Magic numbers come from
the pure-Python ``filetype`` package; what it cannot tell is checked here: the zip containers
DOCX and ODT are opened and their manifests read (a bare ZIP, a spreadsheet or a macro-enabled
document is refused), HEIC brands, Mach-O and shebang scripts, and plain text is accepted only
as UTF-8 without control characters.
"""

from __future__ import annotations

import codecs
import re
import zipfile
from dataclasses import dataclass
from enum import StrEnum
from typing import BinaryIO

import filetype  # ships no type hints

HEAD_SIZE = 8192
_TEXT_CHUNK = 64 * 1024


class FileKind(StrEnum):
    JPEG = "jpeg"
    PNG = "png"
    HEIC = "heic"
    PDF = "pdf"
    DOCX = "docx"
    ODT = "odt"
    TEXT = "text"

    @property
    def mime_type(self) -> str:
        return _MIME_TYPES[self]

    @property
    def label(self) -> str:
        """The name users know the format by."""
        return _LABELS[self]


_MIME_TYPES = {
    FileKind.JPEG: "image/jpeg",
    FileKind.PNG: "image/png",
    FileKind.HEIC: "image/heic",
    FileKind.PDF: "application/pdf",
    FileKind.DOCX: "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    FileKind.ODT: "application/vnd.oasis.opendocument.text",
    FileKind.TEXT: "text/plain; charset=utf-8",
}
_LABELS = {
    FileKind.JPEG: "JPEG",
    FileKind.PNG: "PNG",
    FileKind.HEIC: "HEIC",
    FileKind.PDF: "PDF",
    FileKind.DOCX: "DOCX",
    FileKind.ODT: "ODT",
    FileKind.TEXT: "text",
}
IMAGE_KINDS = frozenset({FileKind.JPEG, FileKind.PNG, FileKind.HEIC})


@dataclass(frozen=True)
class Identified:
    """The verdict on a file's content: an accepted ``kind``, or ``None`` and a phrase telling
    what it is instead ("a ZIP archive")."""

    kind: FileKind | None
    description: str


def _known(kind: FileKind) -> Identified:
    return Identified(kind, f"a {kind.label} file")


def _other(description: str) -> Identified:
    return Identified(None, description)


_MACHO_MAGICS = (
    b"\xfe\xed\xfa\xce",
    b"\xfe\xed\xfa\xcf",
    b"\xce\xfa\xed\xfe",
    b"\xcf\xfa\xed\xfe",
    b"\xca\xfe\xba\xbe",  # universal binary (and Java class files)
)
_ZIP_MAGICS = (b"PK\x03\x04", b"PK\x05\x06", b"PK\x07\x08")
_ARCHIVES = {
    "application/x-rar-compressed": "a RAR archive",
    "application/x-7z-compressed": "a 7z archive",
    "application/gzip": "a gzip archive",
    "application/x-tar": "a tar archive",
    "application/x-bzip2": "a bzip2 archive",
    "application/x-xz": "an XZ archive",
    "application/zstd": "a Zstandard archive",
    "application/x-lzip": "an lzip archive",
    "application/x-lz4": "an LZ4 archive",
    "application/x-compress": "a compress (.Z) archive",
    "application/x-lzop": "an lzop archive",
    "application/vnd.ms-cab-compressed": "a CAB archive",
    "application/x-unix-archive": "an ar archive",
    "application/x-deb": "a Debian package",
    "application/x-rpm": "an RPM package",
    "application/x-brotli": "a Brotli archive",
}
_EXECUTABLES = {
    "application/x-executable": "an executable program (ELF)",
    "application/x-msdownload": "an executable program (Windows)",
    "application/x-dex": "an executable program (Android)",
    "application/x-shockwave-flash": "a Flash program",
}
_HEIC_BRANDS = frozenset({b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx"})
_DOCX_MAIN = b"application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"
_MANIFEST_LIMIT = 1024 * 1024
# Control characters other than tab, line feed, form feed and carriage return, C1 included.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0e-\x1f\x7f-\x9f]")


def identify(file: BinaryIO) -> Identified:
    """Decide what ``file`` (seekable, positioned anywhere) contains. Reads what it needs: the
    first bytes, a zip's directory and manifest, or all of a text file. Leaves the position at
    the start."""
    try:
        file.seek(0)
        head = file.read(HEAD_SIZE)
        return _identify(head, file)
    finally:
        file.seek(0)


def _identify(head: bytes, file: BinaryIO) -> Identified:
    if not head:
        return _other("empty")
    if head.startswith(b"\x7fELF"):
        return _other("an executable program (ELF)")
    if head.startswith(b"MZ"):
        # DOS/Windows headers always hold NUL bytes early; a text starting with "MZ" does not.
        if b"\0" in head[:64]:
            return _other("an executable program (Windows)")
        return _identify_text(file)
    if head.startswith(_MACHO_MAGICS):
        return _other("an executable program (macOS)")
    if head.startswith(b"#!"):
        return _other("an executable script")
    if head.startswith(_ZIP_MAGICS):
        return _identify_zip(file)
    heic = _identify_isobmff(head)
    if heic is not None:
        return heic

    guess = filetype.guess(head)
    mime: str | None = guess.mime if guess is not None else None
    if mime == "image/jpeg":
        return _known(FileKind.JPEG)
    if mime == "image/png":
        return _known(FileKind.PNG)
    if mime == "application/pdf":
        return _known(FileKind.PDF)
    if mime in _ARCHIVES:
        return _other(_ARCHIVES[mime])
    if mime in _EXECUTABLES:
        return _other(_EXECUTABLES[mime])
    if guess is not None:
        return _other(f"a {str(guess.extension).upper()} file ({mime})")
    return _identify_text(file)


def _identify_isobmff(head: bytes) -> Identified | None:
    """HEIC/HEIF/AVIF and video share the ISO base media format; the ``ftyp`` brands tell."""
    if len(head) < 16 or head[4:8] != b"ftyp":
        return None
    box_size = int.from_bytes(head[0:4], "big")
    major = head[8:12]
    compatible = {head[i : i + 4] for i in range(16, min(box_size, len(head)) - 3, 4)}
    if major in _HEIC_BRANDS or (major in (b"mif1", b"msf1") and compatible & _HEIC_BRANDS):
        return _known(FileKind.HEIC)
    if major in (b"avif", b"avis") or b"avif" in compatible:
        return _other("an AVIF image")
    if major in (b"mif1", b"msf1"):
        return _other("a HEIF image not encoded as HEIC")
    return None  # MP4, QuickTime...: named by filetype


def _read_member(archive: zipfile.ZipFile, name: str, limit: int) -> bytes | None:
    info = archive.getinfo(name)
    # The declared size is checked first so that a crafted manifest cannot inflate in memory.
    if info.file_size > limit:
        return None
    with archive.open(info) as member:
        return member.read(limit + 1)[:limit]


def _identify_zip(file: BinaryIO) -> Identified:
    try:
        with zipfile.ZipFile(file) as archive:
            names = archive.namelist()
            if "[Content_Types].xml" in names:
                return _identify_ooxml(archive, names)
            if "mimetype" in names:
                return _identify_odf(archive, names)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, NotImplementedError, RuntimeError):
        # RuntimeError: an encrypted member; NotImplementedError: an unsupported compression.
        return _other("a damaged or encrypted ZIP archive")
    if "META-INF/MANIFEST.MF" in names:
        return _other("a Java archive (JAR)")
    return _other("a ZIP archive")


def _identify_ooxml(archive: zipfile.ZipFile, names: list[str]) -> Identified:
    content_types = _read_member(archive, "[Content_Types].xml", _MANIFEST_LIMIT) or b""
    has_word = any(name.startswith("word/") for name in names)
    if has_word and (
        b"macroEnabled" in content_types or any(n.endswith("vbaProject.bin") for n in names)
    ):
        return _other("a Word document with macros (DOCM)")
    if has_word and _DOCX_MAIN in content_types:
        return _known(FileKind.DOCX)
    if any(name.startswith("xl/") for name in names):
        return _other("an Excel spreadsheet")
    if any(name.startswith("ppt/") for name in names):
        return _other("a PowerPoint presentation")
    if has_word:
        return _other("a Word file that is not a DOCX document (a template?)")
    return _other("a ZIP archive")


def _identify_odf(archive: zipfile.ZipFile, names: list[str]) -> Identified:
    mimetype = (_read_member(archive, "mimetype", 256) or b"").strip()
    if mimetype == FileKind.ODT.mime_type.encode():
        if any(name.startswith(("Basic/", "Scripts/")) for name in names):
            return _other("an ODT document with macros")
        return _known(FileKind.ODT)
    if mimetype.startswith(b"application/vnd.oasis.opendocument."):
        return _other(f"an OpenDocument file of another type ({mimetype.decode()})")
    return _other("a ZIP archive")


def _identify_text(file: BinaryIO) -> Identified:
    file.seek(0)
    decoder = codecs.getincrementaldecoder("utf-8")()
    try:
        while chunk := file.read(_TEXT_CHUNK):
            if _CONTROL.search(decoder.decode(chunk)):
                return _other("binary data of an unknown format")
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return _other("binary data or text not encoded as UTF-8")
    return _known(FileKind.TEXT)
