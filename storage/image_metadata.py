"""Removing metadata from photos before they are stored.

A phone photo carries where it was taken (EXIF GPS), the device and often the owner's name
(EXIF, XMP, JPEG comments, PNG text chunks): personal data that staff do not need. Images are
therefore decoded and encoded again with only the pixels, the colour profile and PNG
transparency; the EXIF orientation is applied first so the picture stays upright without the tag.
Re-encoding also drops anything appended after the image data (image/ZIP polyglots).

Only the primary image is kept: the frames of an animated PNG after the first and the extra
images of a HEIC sequence are dropped.
"""

from __future__ import annotations

from typing import Any, BinaryIO

from PIL import Image, ImageOps, JpegImagePlugin, UnidentifiedImageError
from pillow_heif import register_heif_opener

from storage.errors import AttachmentRejected, RejectionReason
from storage.file_types import FileKind

register_heif_opener()

_PIL_FORMATS = {FileKind.JPEG: "JPEG", FileKind.PNG: "PNG", FileKind.HEIC: "HEIF"}
# Not personal, and needed to show the picture as it was.
_KEPT_INFO = ("icc_profile", "transparency")
HEIC_QUALITY = 85


def strip_image_metadata(
    source: BinaryIO, kind: FileKind, target: BinaryIO, *, max_pixels: int
) -> None:
    """Write to ``target`` the image read from ``source``, upright, without metadata.

    ``AttachmentRejected`` when the image cannot be decoded or has more than ``max_pixels``
    pixels (decoding it would take too much memory).
    """
    if kind not in _PIL_FORMATS:
        raise ValueError(f"{kind} is not an image kind")
    source.seek(0)
    try:
        with Image.open(source, formats=[_PIL_FORMATS[kind]]) as image:
            width, height = image.size
            if width * height > max_pixels:
                raise AttachmentRejected(
                    RejectionReason.TOO_LARGE,
                    f"the image is {width}×{height} pixels; the limit is "
                    f"{max_pixels / 1_000_000:g} megapixels",
                )
            upright = ImageOps.exif_transpose(image)
            kept = {key: image.info[key] for key in _KEPT_INFO if key in image.info}
            options = _save_options(image, kind, kept)
        # Only what is kept: encoders fall back to the image's own info for EXIF and comments.
        upright.info.clear()
        upright.info.update(kept)
        target.seek(0)
        target.truncate()
        upright.save(target, format=_PIL_FORMATS[kind], **options)
    except (UnidentifiedImageError, Image.DecompressionBombError, OSError, ValueError) as exc:
        raise AttachmentRejected(
            RejectionReason.DAMAGED,
            f"the {kind.label} image is damaged and cannot be read",
        ) from exc
    target.seek(0)


def _save_options(image: Image.Image, kind: FileKind, kept: dict[str, Any]) -> dict[str, Any]:
    options: dict[str, Any] = dict(kept)
    if kind is FileKind.JPEG:
        # The source's quantisation tables keep the original quality instead of a fixed one.
        quantization = getattr(image, "quantization", None)
        if quantization:
            options["qtables"] = quantization
        sampling = JpegImagePlugin.get_sampling(image)
        if sampling != -1:
            options["subsampling"] = sampling
    elif kind is FileKind.HEIC:
        # pillow-heif copies EXIF and XMP from the image unless told not to.
        options.update(exif=None, xmp=None, quality=HEIC_QUALITY)
    return options
