"""Small demo files (PNG scans and one-page PDFs) built with the standard library only.

The demo loader stores each file once in `blob` and points many `document` rows at it, so a
million requests cost a few kilobytes of file content. The files are real: an image viewer opens
the PNGs and a PDF reader opens the PDFs, which is what the document viewer in the app needs.
"""
from __future__ import annotations

import hashlib
import struct
import zlib
from dataclasses import dataclass
from functools import cache, cached_property


@dataclass(frozen=True)
class DemoFile:
    key: str          # what the file pretends to be: "image-3", "pdf-degree"...
    mime: str
    content: bytes

    @cached_property
    def sha256(self) -> str:
        return hashlib.sha256(self.content).hexdigest()

    @property
    def extension(self) -> str:
        return "pdf" if self.mime == "application/pdf" else "png"


# --- PNG ----------------------------------------------------------------------------------------

PNG_WIDTH, PNG_HEIGHT = 200, 120

# Twelve background colours, so the twelve scans look different in the viewer.
_PNG_COLOURS = (
    (232, 240, 254), (254, 243, 224), (232, 245, 233), (252, 228, 236), (237, 231, 246), (224, 247, 250),
    (255, 249, 196), (239, 235, 233), (236, 239, 241), (255, 236, 179), (220, 237, 200), (225, 245, 254),
)
_INK = (55, 71, 79)


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def make_png(variant: int) -> bytes:
    """A 200x120 RGB image that looks like a scanned card: a frame, a photo box and text lines."""
    bg = _PNG_COLOURS[variant % len(_PNG_COLOURS)]
    accent = tuple(max(0, c - 70) for c in bg)
    rows = []
    for y in range(PNG_HEIGHT):
        row = bytearray(b"\x00")  # filter type 0 (None) for every scanline
        for x in range(PNG_WIDTH):
            colour = bg
            if x < 4 or x >= PNG_WIDTH - 4 or y < 4 or y >= PNG_HEIGHT - 4:
                colour = accent                                    # frame
            elif 14 <= x < 64 and 20 <= y < 90:
                colour = accent if (x + y + variant) % 9 < 2 else (250, 250, 250)  # hatched photo box
            elif 80 <= x < 186 and y in (28, 29, 46, 47, 64, 65, 82, 83) and (x - variant) % 23 < 19:
                colour = _INK                                      # "text" lines
            elif y >= 100 and 14 <= x < 14 + 12 * (variant + 1) and y < 106:
                colour = accent                                    # a bar whose length tells variants apart
            row += bytes(colour)
        rows.append(bytes(row))
    header = struct.pack(">IIBBBBB", PNG_WIDTH, PNG_HEIGHT, 8, 2, 0, 0, 0)  # 8-bit RGB, no interlace
    return (b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", header)
            + _png_chunk(b"IDAT", zlib.compress(b"".join(rows), 9)) + _png_chunk(b"IEND", b""))


# --- PDF ----------------------------------------------------------------------------------------

def _pdf_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")


def make_pdf(title: str) -> bytes:
    """A minimal valid one-page PDF 1.4 (A5 landscape) showing one line of ASCII text.

    The cross-reference table holds the byte offset of every object, so readers open it without
    "repairing" it.
    """
    text = _pdf_escape(title.encode("ascii").decode("ascii"))
    stream = (f"BT /F1 18 Tf 40 300 Td ({text}) Tj ET\n"
              f"BT /F1 10 Tf 40 270 Td (Generated demo document - not a real scan) Tj ET\n"
              f"0.6 w 30 250 m 565 250 l S\n").encode("ascii")
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 420] "
        b"/Resources << /Font << /F1 5 0 R >> >> /Contents 4 0 R >>",
        b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"endstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref_at = len(out)
    out += b"xref\n0 %d\n" % (len(objects) + 1)
    out += b"0000000000 65535 f \n"
    for offset in offsets:
        out += b"%010d 00000 n \n" % offset
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref_at)
    return bytes(out)


# What each PDF variant pretends to be; the loader picks the variant that fits a document type.
PDF_TITLES: dict[str, str] = {
    "degree": "Demo degree certificate #1",
    "work_record": "Demo work record #2",
    "training_certificate": "Demo training certificate #3",
    "licence": "Demo licence #4",
    "rating_certificate": "Demo rating certificate #5",
    "form": "Demo self-declaration form #6",
}
PNG_VARIANTS = 12


@cache
def demo_files() -> tuple[DemoFile, ...]:
    """All demo files: twelve PNG scans ("image-0".."image-11") and six PDFs ("pdf-<kind>")."""
    images = tuple(DemoFile(f"image-{i}", "image/png", make_png(i)) for i in range(PNG_VARIANTS))
    pdfs = tuple(DemoFile(f"pdf-{kind}", "application/pdf", make_pdf(title)) for kind, title in PDF_TITLES.items())
    return images + pdfs
