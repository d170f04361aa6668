"""Files the tests upload, built in memory: real images with GPS metadata, documents, archives
and executables (only their headers: nothing here can run)."""

from __future__ import annotations

import gzip
import io
import tarfile
import zipfile
from collections.abc import AsyncIterator, Iterator

from PIL import Image, PngImagePlugin
from pillow_heif import register_heif_opener

register_heif_opener()

GPS_IFD = 0x8825
ORIENTATION = 0x0112
# Red Square, Moscow.
GPS_INFO = {1: "N", 2: (55.0, 45.0, 13.0), 3: "E", 4: (37.0, 37.0, 14.0)}
XMP = (
    b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/'
    b'22-rdf-syntax-ns#"><rdf:Description xmlns:dc="http://purl.org/dc/elements/1.1/" '
    b'dc:creator="Ivan Petrov"/></rdf:RDF></x:xmpmeta>'
)
EICAR = rb"X5O!P%@AP[4\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*"


def _exif(orientation: int) -> Image.Exif:
    exif = Image.Exif()
    exif[ORIENTATION] = orientation
    exif[0x010F] = "PhoneMaker"  # Make
    exif[GPS_IFD] = GPS_INFO
    return exif


def _landscape() -> Image.Image:
    """40×20 pixels: left half red, right half blue, so a rotation is visible."""
    image = Image.new("RGB", (40, 20), "red")
    image.paste((0, 0, 255), (20, 0, 40, 20))
    return image


def jpeg_with_gps(orientation: int = 6) -> bytes:
    out = io.BytesIO()
    _landscape().save(
        out,
        format="JPEG",
        exif=_exif(orientation).tobytes(),
        xmp=XMP,
        comment=b"taken at home",
        quality=90,
    )
    return out.getvalue()


def png_with_gps() -> bytes:
    text = PngImagePlugin.PngInfo()
    text.add_text("Author", "Ivan Petrov")
    text.add_itxt("XML:com.adobe.xmp", XMP.decode())
    out = io.BytesIO()
    _landscape().save(out, format="PNG", exif=_exif(1).tobytes(), pnginfo=text)
    return out.getvalue()


def heic_with_gps(orientation: int = 1) -> bytes:
    out = io.BytesIO()
    _landscape().save(out, format="HEIF", exif=_exif(orientation).tobytes(), xmp=XMP, quality=90)
    return out.getvalue()


def pdf_document() -> bytes:
    return (
        b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n"
        b"2 0 obj<</Type/Pages/Kids[]/Count 0>>endobj\n"
        b"trailer<</Root 1 0 R>>\n%%EOF\n"
    )


_DOCX_TYPES = (
    '<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/'
    'content-types"><Override PartName="/word/document.xml" ContentType="application/'
    '{main}"/></Types>'
)


def _zip(entries: list[tuple[str, bytes]], *, first_stored: bool = False) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for index, (name, data) in enumerate(entries):
            info = zipfile.ZipInfo(name)
            if not (first_stored and index == 0):
                info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, data)
    return out.getvalue()


def docx_document() -> bytes:
    main = "vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"
    return _zip(
        [
            ("[Content_Types].xml", _DOCX_TYPES.format(main=main).encode()),
            ("word/document.xml", b"<w:document/>"),
        ]
    )


def docm_document() -> bytes:
    main = "vnd.ms-word.document.macroEnabled.main+xml"
    return _zip(
        [
            ("[Content_Types].xml", _DOCX_TYPES.format(main=main).encode()),
            ("word/document.xml", b"<w:document/>"),
            ("word/vbaProject.bin", b"\xd0\xcf\x11\xe0"),
        ]
    )


def xlsx_spreadsheet() -> bytes:
    return _zip(
        [
            ("[Content_Types].xml", b"<Types/>"),
            ("xl/workbook.xml", b"<workbook/>"),
        ]
    )


def odt_document(mimetype: bytes = b"application/vnd.oasis.opendocument.text") -> bytes:
    return _zip([("mimetype", mimetype), ("content.xml", b"<office:document/>")], first_stored=True)


def zip_archive() -> bytes:
    return _zip([("holiday/photo.jpg", b"\xff\xd8\xff not really")])


def gzip_archive() -> bytes:
    return gzip.compress(b"some data" * 100)


def tar_archive() -> bytes:
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w") as archive:
        info = tarfile.TarInfo("notes.txt")
        info.size = 5
        archive.addfile(info, io.BytesIO(b"hello"))
    return out.getvalue()


def rar_archive() -> bytes:
    return b"Rar!\x1a\x07\x01\x00" + bytes(64)


def seven_zip_archive() -> bytes:
    return b"7z\xbc\xaf\x27\x1c\x00\x04" + bytes(64)


def elf_binary() -> bytes:
    return b"\x7fELF\x02\x01\x01\x00" + bytes(56)


def pe_binary() -> bytes:
    header = bytearray(b"MZ" + bytes(126))
    header[0x3C:0x40] = (0x80).to_bytes(4, "little")
    return bytes(header) + b"PE\0\0" + bytes(64)


def macho_binary() -> bytes:
    return b"\xcf\xfa\xed\xfe\x07\x00\x00\x01" + bytes(56)


def shell_script() -> bytes:
    return b"#!/bin/sh\nrm -rf ~\n"


def utf8_text() -> bytes:
    return "Прошу починить фонарь у дома 5.\nСпасибо!\n".encode()


async def async_chunks(data: bytes, size: int = 64 * 1024) -> AsyncIterator[bytes]:
    for start in range(0, len(data), size):
        yield data[start : start + size]


def sync_chunks(data: bytes, size: int = 64 * 1024) -> Iterator[bytes]:
    for start in range(0, len(data), size):
        yield data[start : start + size]
