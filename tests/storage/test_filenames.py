from __future__ import annotations

import re
from urllib.parse import unquote

import pytest

from storage.errors import AttachmentRejected, RejectionReason
from storage.filenames import content_disposition, sanitize_filename


def test_an_ordinary_cyrillic_name_is_kept() -> None:
    assert sanitize_filename("Заявление на ремонт (копия).pdf") == "Заявление на ремонт (копия).pdf"


def test_surrounding_spaces_are_trimmed_and_decomposed_letters_composed() -> None:
    decomposed = "  Заявлени\u0438\u0306.txt "  # й as и + combining breve, as macOS sends it

    assert sanitize_filename(decomposed) == "Заявлений.txt"


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("../../etc/passwd", "path separator"),
        ("folder/photo.jpg", "path separator"),
        ("C:\\Users\\ivan\\photo.jpg", "path separator"),
        ("photo\x00.jpg", "control or invisible characters"),
        ("photo\n.jpg", "control or invisible characters"),
        ("photo\u202egpj.exe", "control or invisible characters"),
        ("a" * 296 + ".jpg", "300 characters long; the limit is 255"),
        ("", "has no name"),
        ("   ", "has no name"),
        ("..", "not a file name"),
    ],
)
def test_unsafe_names_are_refused_with_the_reason(name: str, reason: str) -> None:
    with pytest.raises(AttachmentRejected, match=re.escape(reason)) as refused:
        sanitize_filename(name, field="photo")

    assert refused.value.reason is RejectionReason.BAD_FILE_NAME
    assert refused.value.field == "photo"


def test_a_refused_name_is_echoed_without_its_control_characters() -> None:
    with pytest.raises(AttachmentRejected) as refused:
        sanitize_filename("bad\x1b[31mname.txt")

    assert "\x1b" not in str(refused.value)
    assert "bad?[31mname.txt" in str(refused.value)


def test_a_name_of_255_characters_is_accepted() -> None:
    name = "я" * 251 + ".pdf"

    assert sanitize_filename(name) == name


def test_content_disposition_gives_an_ascii_fallback_and_the_exact_utf8_name() -> None:
    value = content_disposition("Заявление №5 от 1.02.pdf")

    fallback = re.search(r'filename="([^"]*)"', value)
    encoded = re.search(r"filename\*=UTF-8''(\S+)$", value)
    assert value.startswith("attachment; ")
    assert fallback is not None
    assert encoded is not None
    assert fallback.group(1) == "No5 _ 1.02.pdf"
    assert unquote(encoded.group(1)) == "Заявление №5 от 1.02.pdf"
    assert value.isascii()


def test_a_name_without_latin_letters_falls_back_to_a_generic_one() -> None:
    assert 'filename="attachment.pdf"' in content_disposition("Заявление.pdf")


def test_content_disposition_keeps_latin_letters_and_neutralises_quotes() -> None:
    value = content_disposition('résumé "final"\\v2.pdf')

    assert 'filename="resume _final_v2.pdf"' in value
    assert unquote(value.split("''", 1)[1]) == 'résumé "final"_v2.pdf'


def test_content_disposition_can_be_inline() -> None:
    assert content_disposition("photo.jpg", "inline").startswith('inline; filename="photo.jpg"')
