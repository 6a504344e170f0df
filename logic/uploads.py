"""Storing an uploaded document: checked by its content, named safely, stored once, audited.

A file is judged by its bytes, never by its name or the type the browser declared: only PDF, JPEG
and PNG are taken, and only when the `filetype` package and our own magic-number check agree and
the file looks whole (a PDF that ends in `%%EOF`; an image Pillow can open, within a pixel budget,
and for PNG with intact chunks). The name a person gave the file is kept for people to read, but
cleaned: no folders, no control or bidi characters (which can make `gpj.exe` read as `exe.jpg`),
Persian letters kept, length limited, and the extension set to match the content.

Everything is checked before the database is touched, and what is written (the blob, once per
sha256; the document row; the audit record) commits in one transaction: a refused file leaves
nothing behind. Reads check the sha256 again every time (`logic.documents.read_document`).

Audit: a request document is recorded as a `document_uploaded` event on the request; an archive
document of a member (no request) as an `audit_event`.

The request event moves the request's version on (a transition, not a note): a new document is new
evidence, so a colleague's form opened before it cannot approve without seeing it; and the event
log's unique index allows only notes listed there (comment, verdict, recomputed deadline, fee) to
share a version with a transition.
"""
from __future__ import annotations

import hashlib
import io
import re
import unicodedata
import warnings
import zlib
from datetime import datetime

import filetype
import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert

from db.engine import session_scope
from db.models import Blob, Document, Member
from domain.actor import Actor
from domain.errors import InvalidTransition, NotFound, PermissionDenied, ValidationError
from domain.jalali import now_tehran
from domain.processes import CLOSED_STATUSES
from domain.reference import DOCUMENT_TYPES_FA
from domain.roles import Role
from domain.text import normalize_text, to_persian_digits
from logic import audit
from logic.events import load_for_update, write_event
from logic.previews import store_preview

MAX_UPLOAD_BYTES = 5 * 1024 * 1024
# 40 megapixels: an A4 page at 600 dpi is 35 million. Each view decodes the whole image (a 10,000 ×
# 10,000 PNG of 285 kB took 4 s and 410 MB), so larger scans are refused.
MAX_IMAGE_PIXELS = 40_000_000
MAX_STEM_CHARS = 100            # the stored name stays well inside the 200-character column check
MAX_TITLE_CHARS = 200

# Who may add documents: the staff who review requests (in their province; central staff anywhere).
UPLOADER_ROLES = frozenset({Role.EXPERT, Role.FINAL_REVIEWER, Role.HEAD, Role.CENTRAL_EXPERT})

# Allowed types: MIME -> (file extension, magic bytes at offset 0).
ALLOWED = {
    "application/pdf": ("pdf", b"%PDF-"),
    "image/jpeg": ("jpg", b"\xff\xd8\xff"),
    "image/png": ("png", b"\x89PNG\r\n\x1a\n"),
}
_ALLOWED_FA = "PDF، JPEG یا PNG"
_MB = to_persian_digits(MAX_UPLOAD_BYTES // (1024 * 1024))

_NOT_FOUND_REQUEST = "درخواست پیدا نشد."
_NOT_FOUND_MEMBER = "عضو پیدا نشد."
# Windows device names: a file saved under one of them cannot be opened on the user's PC.
_RESERVED = re.compile(r"^(con|prn|aux|nul|com[0-9]|lpt[0-9])$", re.IGNORECASE)
_KEEP_PUNCTUATION = set("-_()[]")
ZWNJ = "\u200c"


class UploadRefused(ValidationError):
    default_message = "فایل پذیرفته نشد و چیزی ذخیره نشد."


# --- the content ----------------------------------------------------------------------------------

def _as_bytes(data: object) -> bytes:
    if isinstance(data, (bytes, bytearray, memoryview)):
        return bytes(data)
    if hasattr(data, "getvalue"):  # Streamlit's UploadedFile, io.BytesIO
        return bytes(data.getvalue())
    raise UploadRefused("محتوای فایل خوانده نشد؛ فایل را دوباره انتخاب کنید.")


def _check_image(data: bytes, mime: str) -> None:
    from PIL import Image  # Streamlit depends on Pillow

    too_big = "ابعاد تصویر{} بیش از حد بزرگ است؛ آن را با وضوح کمتری اسکن کنید."
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # DecompressionBombWarning: we apply our own limit below
            with Image.open(io.BytesIO(data)) as im:
                fmt, (w, h) = im.format, im.size
                if fmt != ("PNG" if mime == "image/png" else "JPEG"):
                    raise ValueError(fmt)
                if w < 1 or h < 1 or w * h > MAX_IMAGE_PIXELS:
                    raise UploadRefused(too_big.format(f" ({to_persian_digits(w)}×{to_persian_digits(h)} نقطه)"))
                im.verify()  # PNG: every chunk's CRC; JPEG: the headers
    except UploadRefused:
        raise
    except Image.DecompressionBombError:  # Pillow's own guard, past twice its warning size
        raise UploadRefused(too_big.format("")) from None
    except Exception:  # noqa: BLE001 - whatever Pillow finds wrong, the file is damaged
        raise UploadRefused("فایل تصویر آسیب دیده یا ناقص است و باز نمی‌شود.") from None


# PDF names that run something or carry a file: scripts, launch actions, additional actions, XFA
# forms, rich media, embedded files. A PDF writes a name with #xx escapes at will (/J#61vaScript).
_ACTIVE_PDF_NAME = re.compile(rb"/(?:JavaScript|JS|Launch|AA|XFA|RichMedia|EmbeddedFiles?)(?![A-Za-z0-9])")
_NAME_ESCAPE = re.compile(rb"#([0-9A-Fa-f]{2})")
_STREAM = re.compile(rb"stream\r?\n")
_MAX_INFLATED = 64 * 1024 * 1024  # a compression bomb is not read past this


def _pdf_has_active_content(data: bytes) -> bool:
    """Whether the PDF names active content, in its objects or inside its compressed object streams."""
    def active(chunk: bytes) -> bool:
        return bool(_ACTIVE_PDF_NAME.search(_NAME_ESCAPE.sub(lambda m: bytes([int(m.group(1), 16)]), chunk)))
    if active(data):
        return True
    budget = _MAX_INFLATED
    for match in _STREAM.finditer(data):
        end = data.find(b"endstream", match.end())
        if end < 0 or budget <= 0:
            break
        try:
            inflated = zlib.decompressobj().decompress(data[match.end():end], budget)
        except zlib.error:  # not Flate (an image, a font): nothing readable to look at
            continue
        budget -= len(inflated)
        if active(inflated):
            return True
    return False


def detect_type(data: bytes) -> str:
    """The MIME type of an allowed file judged by its bytes, or UploadRefused in Persian."""
    if not data:
        raise UploadRefused("فایل خالی است.")
    if len(data) > MAX_UPLOAD_BYTES:
        raise UploadRefused(f"حجم فایل بیش از {_MB} مگابایت است؛ فایل کوچک‌تری بارگذاری کنید.")
    kind = filetype.guess(data)
    mime = kind.mime if kind is not None else None
    if mime not in ALLOWED or not data.startswith(ALLOWED[mime][1]):
        found = f" (این فایل از نوع «{kind.extension}» است)" if kind is not None and mime not in ALLOWED else ""
        raise UploadRefused(f"فقط فایل {_ALLOWED_FA} پذیرفته می‌شود{found}؛ نام یا پسوند فایل ملاک نیست.")
    if mime == "application/pdf" and b"%%EOF" not in data[-2048:]:
        raise UploadRefused("فایل PDF ناقص است (پایان فایل پیدا نشد)؛ آن را دوباره ذخیره و بارگذاری کنید.")
    if mime == "application/pdf" and _pdf_has_active_content(data):
        raise UploadRefused("فایل PDF محتوای فعال دارد (جاوااسکریپت، اجرای برنامه، فرم پویا یا فایل پیوست) و پذیرفته "
                            "نمی‌شود؛ آن را بدون این محتوا دوباره ذخیره کنید (مثلاً با «چاپ به PDF»).")
    # A JPEG ends with its EOI marker (cameras may append data after it, so anywhere past the header).
    if mime == "image/jpeg" and data.find(b"\xff\xd9", 3) < 0:
        raise UploadRefused("فایل تصویر آسیب دیده یا ناقص است و باز نمی‌شود.")
    # A PNG ends with its IEND chunk, CRC included (Pillow's check stops before that CRC).
    if mime == "image/png" and data.rfind(b"IEND\xaeB`\x82") < 0:
        raise UploadRefused("فایل تصویر آسیب دیده یا ناقص است و باز نمی‌شود.")
    if mime != "application/pdf":
        _check_image(data, mime)
    return mime


# --- the name -------------------------------------------------------------------------------------

def _keep(ch: str) -> bool:
    cat = unicodedata.category(ch)
    return cat[0] in "LMN" or ch in _KEEP_PUNCTUATION or ch == " " or ch == ZWNJ


def sanitize_file_name(name: object, mime: str, doc_type: str = "other") -> str:
    """A safe display name whose extension matches the content: folders, control and bidi
    characters dropped; letters of any script (Persian too), digits, spaces, ZWNJ and a few
    punctuation marks kept; other characters become '_'; at most MAX_STEM_CHARS before the extension."""
    text = name if isinstance(name, str) else ""
    text = unicodedata.normalize("NFC", text)
    text = re.split(r"[/\\]", text)[-1]              # no folders, whichever system sent them
    text = normalize_text(text)                       # Arabic ي/ك, digits, bidi and control characters
    text = "".join(ch for ch in text if unicodedata.category(ch) not in ("Cf", "Cs", "Co", "Cn") or ch == ZWNJ)
    stem, dot, ext = text.rpartition(".")
    if not dot or not re.fullmatch(r"[A-Za-z0-9]{1,5}", ext):
        stem = text                                   # no extension to replace
    stem = "".join(ch if _keep(ch) else "_" for ch in stem)  # inner dots too: no "x.pdf.exe" tricks
    stem = re.sub(r"_{2,}", "_", re.sub(r" {2,}", " ", stem))
    stem = stem.strip(" _-" + ZWNJ)[:MAX_STEM_CHARS].strip(" _-" + ZWNJ)
    if not stem or not any(unicodedata.category(ch)[0] in "LN" for ch in stem):
        stem = DOCUMENT_TYPES_FA.get(doc_type, "مدرک")
    if _RESERVED.match(stem):
        stem = f"{stem}_"
    return f"{stem}.{ALLOWED[mime][0]}"


# --- the service ----------------------------------------------------------------------------------

def _clean_title(title: str | None) -> str | None:
    text = normalize_text(title or "")
    if len(text) > MAX_TITLE_CHARS:
        raise ValidationError(f"عنوان مدرک نباید بیش از {to_persian_digits(MAX_TITLE_CHARS)} نویسه باشد.")
    return text or None


def _store_blob(s, sha: str, data: bytes) -> str:
    """Insert the content once per sha256. A stored copy that no longer matches its hash (damaged
    behind our back) is replaced by these verified bytes. Returns 'new', 'existing' or 'repaired'."""
    stmt = pg_insert(Blob).values(sha256=sha, size_bytes=len(data), content=data)
    stmt = stmt.on_conflict_do_update(
        index_elements=[Blob.sha256],
        set_={"content": stmt.excluded.content, "size_bytes": stmt.excluded.size_bytes},
        where=sa.func.encode(sa.func.sha256(Blob.content), "hex") != Blob.sha256,
    ).returning(sa.literal_column("xmax = 0"))
    inserted = s.execute(stmt).scalar()
    return "existing" if inserted is None else ("new" if inserted else "repaired")


def store_document(engine: sa.Engine, actor: Actor, *, request_id: int | None = None, member_id: int | None = None,
                   doc_type: str, file_name: str | None, data: bytes, title: str | None = None,
                   now: datetime | None = None) -> int:
    """Store one uploaded file as a document of a request (or of a member's archive) and return its
    id. Refused files raise a DomainError with a Persian message, and nothing is stored."""
    if not actor.has(*UPLOADER_ROLES):
        raise PermissionDenied("بارگذاری مدرک فقط برای کارشناسان بررسی‌کنندهٔ درخواست‌ها ممکن است.")
    if (request_id is None) == (member_id is None):
        raise ValidationError("مدرک باید به یک درخواست یا به پروندهٔ یک عضو افزوده شود.")
    if doc_type not in DOCUMENT_TYPES_FA:
        raise ValidationError("نوع مدرک را از فهرست انتخاب کنید.")
    title = _clean_title(title)
    data = _as_bytes(data)
    mime = detect_type(data)
    name = sanitize_file_name(file_name, mime, doc_type)
    sha = hashlib.sha256(data).hexdigest()
    now = now or now_tehran()
    label = DOCUMENT_TYPES_FA[doc_type]

    with session_scope(engine) as s:
        req = None
        if request_id is not None:
            req = load_for_update(s, request_id)
            if not actor.can_see_province(req.province_id):
                raise NotFound(_NOT_FOUND_REQUEST)  # another province's request: as if it did not exist
            if req.status in CLOSED_STATUSES:
                raise InvalidTransition("این درخواست بسته شده است؛ مدرکی به آن افزوده نمی‌شود.")
            owner = req.member_id
        else:
            member = s.get(Member, member_id)
            if member is None or not actor.can_see_province(member.province_id):
                raise NotFound(_NOT_FOUND_MEMBER)
            owner = member.id
        blob = _store_blob(s, sha, data)
        if mime.startswith("image/"):
            store_preview(s, sha, data, mime)
        doc = Document(member_id=owner, request_id=request_id, doc_type=doc_type, title=title, file_name=name,
                       mime=mime, size_bytes=len(data), sha256=sha, required=False, uploaded_at=now)
        s.add(doc)
        s.flush()
        facts = {"document_id": doc.id, "doc_type": doc_type, "file_name": name, "mime": mime,
                 "size_bytes": len(data), "sha256": sha, "blob": blob}
        if req is not None:
            write_event(s, req, actor.id, "document_uploaded", now, from_stage=req.stage_code,
                        to_stage=req.stage_code, reason=f"مدرک «{label}» بارگذاری شد: {name}", data=facts)
        else:
            audit.record(s, actor, "document_uploaded", "document", doc.id, province_id=member.province_id,
                         data={"member_id": owner, **facts}, at=now)
        return doc.id
