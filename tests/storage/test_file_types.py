"""What a file is, by content; the name and declared type play no part."""

from __future__ import annotations

import io
from collections.abc import Callable

import pytest

from storage.errors import AttachmentRejected, RejectionReason
from storage.file_types import FileKind, identify
from storage.validation import AttachmentPolicy, check_content
from tests.storage import samples


@pytest.mark.parametrize(
    ("make", "kind"),
    [
        (samples.jpeg_with_gps, FileKind.JPEG),
        (samples.png_with_gps, FileKind.PNG),
        (samples.heic_with_gps, FileKind.HEIC),
        (samples.pdf_document, FileKind.PDF),
        (samples.docx_document, FileKind.DOCX),
        (samples.odt_document, FileKind.ODT),
        (samples.utf8_text, FileKind.TEXT),
    ],
)
def test_allowed_kinds_are_recognised_by_content(make: Callable[[], bytes], kind: FileKind) -> None:
    assert identify(io.BytesIO(make())).kind is kind


@pytest.mark.parametrize(
    ("make", "description"),
    [
        (samples.zip_archive, "a ZIP archive"),
        (samples.gzip_archive, "a gzip archive"),
        (samples.tar_archive, "a tar archive"),
        (samples.rar_archive, "a RAR archive"),
        (samples.seven_zip_archive, "a 7z archive"),
        (samples.elf_binary, "an executable program (ELF)"),
        (samples.pe_binary, "an executable program (Windows)"),
        (samples.macho_binary, "an executable program (macOS)"),
        (samples.shell_script, "an executable script"),
        (samples.docm_document, "a Word document with macros (DOCM)"),
        (samples.xlsx_spreadsheet, "an Excel spreadsheet"),
        (
            lambda: samples.odt_document(b"application/vnd.oasis.opendocument.spreadsheet"),
            "an OpenDocument file of another type",
        ),
        (lambda: samples.odt_document(b"application/zip"), "a ZIP archive"),
        (lambda: b"GIF89a" + bytes(32), "a GIF file (image/gif)"),
    ],
)
def test_archives_executables_and_other_formats_are_named(
    make: Callable[[], bytes], description: str
) -> None:
    identified = identify(io.BytesIO(make()))

    assert identified.kind is None
    assert identified.description.startswith(description)


def test_an_odt_with_macros_is_refused() -> None:
    data = samples._zip(
        [
            ("mimetype", b"application/vnd.oasis.opendocument.text"),
            ("content.xml", b"<office:document/>"),
            ("Basic/Standard/Module1.xml", b"<script/>"),
        ],
        first_stored=True,
    )

    assert identify(io.BytesIO(data)).description == "an ODT document with macros"


@pytest.mark.parametrize(
    "data",
    [
        pytest.param(b"plain text\x00with a NUL", id="NUL byte"),
        pytest.param(b"text with \x1b[31m escape codes", id="terminal escapes"),
        pytest.param("Привет".encode("cp1251"), id="cp1251, not UTF-8"),
        pytest.param(b"ok" * 40_000 + b"\x00", id="NUL far past the head"),
    ],
)
def test_text_must_be_utf8_without_control_characters(data: bytes) -> None:
    identified = identify(io.BytesIO(data))

    assert identified.kind is None
    assert "binary data" in identified.description


def test_text_with_tabs_crlf_and_a_bom_is_text() -> None:
    data = "\ufeffстрока\tодин\r\nстрока два\f\n".encode()

    assert identify(io.BytesIO(data)).kind is FileKind.TEXT


def test_a_text_starting_with_mz_is_not_taken_for_a_program() -> None:
    assert identify(io.BytesIO(b"MZ is how I sign my letters.\n")).kind is FileKind.TEXT


def test_identify_leaves_the_file_at_its_start() -> None:
    file = io.BytesIO(samples.docx_document())
    file.seek(10)

    identify(file)

    assert file.tell() == 0


def test_a_zip_named_like_a_photo_is_refused_with_the_allowed_list() -> None:
    with pytest.raises(AttachmentRejected) as refused:
        check_content(io.BytesIO(samples.zip_archive()), filename="photo.jpg")

    assert refused.value.reason is RejectionReason.FORBIDDEN_TYPE
    assert str(refused.value) == (
        "photo.jpg: the content is a ZIP archive; allowed: JPEG, PNG, HEIC, PDF, DOCX, ODT, text"
    )


def test_a_tenant_policy_can_narrow_the_allowed_kinds() -> None:
    policy = AttachmentPolicy(allowed_kinds=frozenset({FileKind.PDF}))

    with pytest.raises(AttachmentRejected, match="the content is a JPEG file; allowed: PDF"):
        check_content(io.BytesIO(samples.jpeg_with_gps()), policy, filename="scan.pdf")
    assert check_content(io.BytesIO(samples.pdf_document()), policy) is FileKind.PDF
