"""Photos lose their metadata (GPS above all) and stay upright."""

from __future__ import annotations

import io
from collections.abc import Callable

import pytest
from PIL import Image

from storage.errors import AttachmentRejected, RejectionReason
from storage.file_types import FileKind
from storage.image_metadata import strip_image_metadata
from tests.storage import samples

PERSONAL_MARKERS = [b"Ivan Petrov", b"PhoneMaker", b"taken at home", b"xmpmeta"]


def stripped(data: bytes, kind: FileKind, *, max_pixels: int = 80_000_000) -> bytes:
    target = io.BytesIO()
    strip_image_metadata(io.BytesIO(data), kind, target, max_pixels=max_pixels)
    return target.getvalue()


def gps_of(data: bytes) -> dict[int, object]:
    with Image.open(io.BytesIO(data)) as image:
        return dict(image.getexif().get_ifd(samples.GPS_IFD))


@pytest.mark.parametrize(
    ("make", "kind"),
    [
        (samples.jpeg_with_gps, FileKind.JPEG),
        (samples.png_with_gps, FileKind.PNG),
        (samples.heic_with_gps, FileKind.HEIC),
    ],
)
def test_gps_and_other_personal_metadata_are_removed(
    make: Callable[[], bytes], kind: FileKind
) -> None:
    original = make()
    assert gps_of(original)  # the sample really carries a location

    cleaned = stripped(original, kind)

    assert gps_of(cleaned) == {}
    with Image.open(io.BytesIO(cleaned)) as image:
        assert image.format == {"HEIC": "HEIF"}.get(kind.label, kind.label)
        assert dict(image.getexif()) == {}
    for marker in PERSONAL_MARKERS:
        assert marker not in cleaned


@pytest.mark.parametrize(
    ("make", "kind"),
    [(samples.jpeg_with_gps, FileKind.JPEG), (samples.heic_with_gps, FileKind.HEIC)],
)
def test_the_exif_orientation_is_applied_before_it_is_dropped(
    make: Callable[..., bytes], kind: FileKind
) -> None:
    cleaned = stripped(make(orientation=6), kind)

    with Image.open(io.BytesIO(cleaned)) as image:
        rgb = image.convert("RGB")
        # 40×20 with the red half on the left, turned a quarter clockwise: red on top.
        assert rgb.size == (20, 40)
        red_top, blue_bottom = rgb.getpixel((10, 5)), rgb.getpixel((10, 35))
    assert isinstance(red_top, tuple)
    assert isinstance(blue_bottom, tuple)
    assert red_top[0] > 200 > red_top[2]
    assert blue_bottom[2] > 200 > blue_bottom[0]


def test_png_transparency_survives() -> None:
    image = Image.new("P", (4, 4), 1)
    image.putpalette([0, 0, 0, 255, 0, 0] + [0] * 762)
    out = io.BytesIO()
    image.save(out, format="PNG", transparency=1)

    cleaned = stripped(out.getvalue(), FileKind.PNG)

    with Image.open(io.BytesIO(cleaned)) as result:
        assert result.info.get("transparency") == 1


def test_data_appended_after_the_image_is_dropped() -> None:
    polyglot = samples.jpeg_with_gps() + samples.zip_archive()

    cleaned = stripped(polyglot, FileKind.JPEG)

    assert b"PK\x03\x04" not in cleaned


def test_a_damaged_image_is_refused() -> None:
    damaged = samples.jpeg_with_gps()[:200]

    with pytest.raises(AttachmentRejected, match="the JPEG image is damaged") as refused:
        stripped(damaged, FileKind.JPEG)
    assert refused.value.reason is RejectionReason.DAMAGED


def test_an_image_with_too_many_pixels_is_refused_before_decoding() -> None:
    with pytest.raises(AttachmentRejected, match="40×20 pixels") as refused:
        stripped(samples.png_with_gps(), FileKind.PNG, max_pixels=500)
    assert refused.value.reason is RejectionReason.TOO_LARGE
