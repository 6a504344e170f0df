"""Reading a request's documents and recording the reviewer's verdict on each.

Reads check the blob against its sha256 every time: the bytes a reviewer decides on must be the
bytes the member uploaded, so a damaged file is refused rather than shown. A verdict is a note on
the request (a `document_verdict` event): it does not change the request's state, so it does not
bump the version and does not make other people's open forms stale.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from db.engine import session_scope
from db.models import Blob, Document, Member, Request
from domain.actor import Actor
from domain.errors import DomainError, NotFound, PermissionDenied, ValidationError
from domain.jalali import format_jalali_datetime, now_tehran
from domain.machine import APPROVE, check_can_act, stage_of
from domain.reference import DOCUMENT_TYPES_FA
from domain.roles import WORKING_ROLES, Role
from domain.text import clean_reason, normalize_text, to_persian_digits
from logic import previews
from logic.audit import record
from logic.events import Outcome, load_for_update, write_event
from logic.workflow import state_of

# Who may open request files: everyone who works on requests, and managers who supervise them.
VIEWER_ROLES = frozenset(WORKING_ROLES | {Role.MANAGER})

VERDICT_LABELS_FA = {"pending": "در انتظار بررسی", "accepted": "پذیرفته", "rejected": "ردشده"}
MIME_LABELS_FA = {"application/pdf": "PDF", "image/png": "تصویر PNG", "image/jpeg": "تصویر JPEG"}

_NOT_FOUND = "مدرک پیدا نشد."


class CorruptDocument(DomainError):
    default_message = ("فایل این مدرک آسیب دیده است (با اثر انگشت ثبت‌شده هنگام بارگذاری یکسان نیست) "
                       "و نمایش داده نمی‌شود. از عضو بخواهید آن را دوباره بارگذاری کند.")


def format_size(n: int) -> str:
    """File size for people: ۸۵۰ بایت, ۱۲٫۴ کیلوبایت, ۲٫۱ مگابایت."""
    if n < 1024:
        return f"{to_persian_digits(n)} بایت"
    value, unit = (n / 1024, "کیلوبایت") if n < 1024 ** 2 else (n / 1024 ** 2, "مگابایت")
    return f"{to_persian_digits(f'{value:.1f}').replace('.', '٫')} {unit}"


@dataclass(frozen=True)
class DocumentInfo:
    """One document's metadata, as screens show it."""

    id: int
    request_id: int | None
    doc_type: str
    title: str | None
    file_name: str
    mime: str
    size_bytes: int
    sha256: str
    required: bool
    uploaded_at: datetime
    verdict: str
    verdict_reason: str | None

    @property
    def type_label(self) -> str:
        return DOCUMENT_TYPES_FA.get(self.doc_type, self.doc_type)

    @property
    def verdict_label(self) -> str:
        return VERDICT_LABELS_FA.get(self.verdict, self.verdict)

    @property
    def mime_label(self) -> str:
        return MIME_LABELS_FA.get(self.mime, self.mime)

    @property
    def size_label(self) -> str:
        return format_size(self.size_bytes)

    @property
    def uploaded_at_fa(self) -> str:
        return format_jalali_datetime(self.uploaded_at)

    @property
    def is_image(self) -> bool:
        return self.mime in ("image/png", "image/jpeg")

    @property
    def is_pdf(self) -> bool:
        return self.mime == "application/pdf"


def info(doc: Document) -> DocumentInfo:
    return DocumentInfo(doc.id, doc.request_id, doc.doc_type, doc.title, doc.file_name, doc.mime, doc.size_bytes,
                        doc.sha256, doc.required, doc.uploaded_at, doc.verdict, doc.verdict_reason)


def request_documents(session: Session, request_id: int) -> list[DocumentInfo]:
    """A request's documents in upload order (the caller has already checked the request's scope)."""
    docs = session.scalars(sa.select(Document).where(Document.request_id == request_id)
                           .order_by(Document.uploaded_at, Document.id))
    return [info(d) for d in docs]


def require_viewer(actor: Actor) -> None:
    if not actor.has(*VIEWER_ROLES):
        raise PermissionDenied("دیدن مدارک درخواست‌ها برای نقش شما ممکن نیست.")


def read_document(session: Session, actor: Actor, document_id: int, *, audit: bool = True) -> tuple[DocumentInfo, bytes]:
    """The document and its bytes, after checking the province and the content's sha256. With
    `audit`, the read is an audit event in the same transaction (a screen passes False when it only
    shows again what this session has already opened). The screen shows `screen_copy` of them."""
    require_viewer(actor)
    # A request document belongs to the request's province; an archive document to its member's.
    row = session.execute(
        sa.select(Document, sa.func.coalesce(Request.province_id, Member.province_id))
        .join(Member, Member.id == Document.member_id)
        .outerjoin(Request, Request.id == Document.request_id)
        .where(Document.id == document_id)
    ).first()
    # Another province's document is "not found", exactly like a missing one: no existence leak.
    if row is None or not actor.can_see_province(row[1]):
        raise NotFound(_NOT_FOUND)
    doc = row[0]
    content = session.scalar(sa.select(Blob.content).where(Blob.sha256 == doc.sha256))
    if content is None or hashlib.sha256(content).hexdigest() != doc.sha256:
        raise CorruptDocument(document_id=doc.id)
    if audit:
        record(session, actor, "document_viewed", "document", doc.id, province_id=row[1],
               data={"member_id": doc.member_id, "request_id": doc.request_id})
    return info(doc), bytes(content)


def screen_copy(session: Session, doc: DocumentInfo, content: bytes) -> bytes:
    """The bytes to show on screen for a document read by `read_document`: a large image's scaled
    copy (made once and kept), otherwise the content itself."""
    return previews.screen_copy(session, doc.sha256, content, doc.mime)


def set_verdict(engine: sa.Engine, actor: Actor, document_id: int, verdict: str, reason: str | None = None, *,
                now: datetime | None = None) -> Outcome:
    """Accept or reject one document of a request. Only someone who may act on the request at its
    current stage may judge its documents; a rejection needs a reason."""
    if verdict not in ("accepted", "rejected"):
        raise ValidationError("نظر دربارهٔ مدرک باید «پذیرفته» یا «ردشده» باشد.")
    if verdict == "rejected":
        reason = clean_reason(reason or "", field="دلیل رد مدرک")
    else:
        reason = clean_reason(reason, field="یادداشت") if normalize_text(reason or "") else None
    now = now or now_tehran()
    with session_scope(engine) as s:
        request_id = s.scalar(sa.select(Document.request_id).where(Document.id == document_id))
        if request_id is None:  # unknown, or an archive document that belongs to no request
            raise NotFound(_NOT_FOUND)
        # The request first, then the document: the order the workflow services lock in. The
        # verdict is judged against the request's current stage and assignee.
        req = load_for_update(s, request_id)
        if not actor.can_see_province(req.province_id):
            raise NotFound(_NOT_FOUND)
        doc = s.get(Document, document_id, with_for_update=True)
        state = state_of(req)
        check_can_act(actor, state, stage_of(state)[1], APPROVE)
        doc.verdict, doc.verdict_reason, doc.verdict_by, doc.verdict_at = verdict, reason, actor.id, now
        write_event(s, req, actor.id, "document_verdict", now, from_stage=req.stage_code, to_stage=req.stage_code,
                     reason=reason, data={"document_id": doc.id, "doc_type": doc.doc_type, "verdict": verdict},
                     bump=False)
        s.flush()
        label = DOCUMENT_TYPES_FA.get(doc.doc_type, doc.doc_type)
        message = f"مدرک «{label}» پذیرفته شد." if verdict == "accepted" else f"مدرک «{label}» رد شد."
        return Outcome(req.id, req.tracking_code, req.version, req.status, req.stage_code, message)
