"""Reading documents (sha256 checked on every read) and the reviewer's verdict on each."""
from __future__ import annotations

import hashlib
import struct
import zlib
from datetime import datetime

import pytest
import sqlalchemy as sa

from logic import workflow as wf
from logic.documents import CorruptDocument, read_document, set_verdict
from logic.errors import InvalidTransition, NotFound, PermissionDenied, ValidationError
from logic.jalali import TEHRAN
from logic.reference import ISFAHAN_ID, TEHRAN_ID
from sqlalchemy.orm import Session
from tests.factories import make_member, make_staff

SAT_0800 = datetime(2026, 11, 14, 8, 0, tzinfo=TEHRAN)  # a Saturday
SAT_0900 = datetime(2026, 11, 14, 9, 0, tzinfo=TEHRAN)


# --- helpers shared with the request view and page tests ------------------------------------------

def tiny_png(rgb: tuple[int, int, int] = (200, 30, 30)) -> bytes:
    """A valid 2x2 RGB PNG."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
    rows = b"".join(b"\x00" + bytes(rgb) * 2 for _ in range(2))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 2, 2, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))


def tiny_pdf(text: str = "Test document") -> bytes:
    """A valid one-page PDF whose cross-reference table points at every object."""
    stream = f"BT /F1 12 Tf 20 50 Td ({text}) Tj ET".encode()
    objects = [b"<< /Type /Catalog /Pages 2 0 R >>", b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
               b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 200 100] /Resources << /Font << /F1 5 0 R >> >> "
               b"/Contents 4 0 R >>",
               b"<< /Length %d >>\nstream\n%s\nendstream" % (len(stream), stream),
               b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"]
    out, offsets = bytearray(b"%PDF-1.4\n"), []
    for n, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (n, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % o for o in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)


def add_document(engine, request_id: int, content: bytes, mime: str, doc_type: str = "national_card", *,
                 required: bool = True, file_name: str | None = None, title: str | None = None,
                 uploaded_at: datetime = SAT_0800) -> int:
    """A blob (stored once per content) and a document row of the request's member."""
    sha = hashlib.sha256(content).hexdigest()
    ext = "pdf" if mime == "application/pdf" else "png"
    with engine.begin() as conn:
        conn.execute(sa.text("INSERT INTO blob (sha256, size_bytes, content) VALUES (:s, :n, :c) "
                             "ON CONFLICT DO NOTHING"), {"s": sha, "n": len(content), "c": content})
        return conn.execute(sa.text(
            "INSERT INTO document (member_id, request_id, doc_type, title, file_name, mime, size_bytes, sha256, "
            "required, uploaded_at) SELECT member_id, id, :t, :title, :f, :m, :n, :s, :r, :u FROM request "
            "WHERE id = :rid RETURNING id"),
            {"rid": request_id, "t": doc_type, "title": title, "f": file_name or f"{doc_type}.{ext}", "m": mime,
             "n": len(content), "s": sha, "r": required, "u": uploaded_at}).scalar_one()


def corrupt_blob(engine, document_id: int) -> None:
    """Flip one byte of the stored content behind the service's back (same length, new hash)."""
    with engine.begin() as conn:
        conn.execute(sa.text(
            "UPDATE blob SET content = overlay(content PLACING decode(CASE WHEN get_byte(content, 20) = 0 "
            "THEN '01' ELSE '00' END, 'hex') FROM 21 FOR 1) "
            "WHERE sha256 = (SELECT sha256 FROM document WHERE id = :d)"), {"d": document_id})


def doc_row(engine, document_id: int):
    with engine.connect() as c:
        return c.execute(sa.text("SELECT * FROM document WHERE id = :d"), {"d": document_id}).mappings().one()


def req_version(engine, request_id: int) -> int:
    with engine.connect() as c:
        return c.execute(sa.text("SELECT version FROM request WHERE id = :i"), {"i": request_id}).scalar_one()


# --- fixtures -------------------------------------------------------------------------------------

@pytest.fixture
def world(db):
    t = TEHRAN_ID
    return {
        "expert": make_staff(db, "t.expert", ["expert"], t, "کارشناس یکم"),
        "expert2": make_staff(db, "t.expert2", ["expert"], t, "کارشناس دوم"),
        "final": make_staff(db, "t.final", ["final_reviewer"], t, "بررسی نهایی"),
        "manager": make_staff(db, "t.manager", ["manager"], t, "مدیر"),
        "board": make_staff(db, "t.board", ["board"], t, "هیأت مدیره"),
        "isfahan": make_staff(db, "i.expert", ["expert"], ISFAHAN_ID, "کارشناس اصفهان"),
        "central": make_staff(db, "central.expert", ["central_expert"], None, "کارشناس مرکزی"),
    }


@pytest.fixture
def request_id(db):
    member = make_member(db, TEHRAN_ID, status="applicant")
    return wf.submit(db, member, "new_membership", submitted_at=SAT_0800).request_id


# --- reading ----------------------------------------------------------------------------------------

def test_read_returns_the_bytes_and_the_metadata(db, world, request_id):
    png, pdf = tiny_png(), tiny_pdf()
    png_id = add_document(db, request_id, png, "image/png", "national_card")
    pdf_id = add_document(db, request_id, pdf, "application/pdf", "degree", title="کارشناسی عمران")
    with Session(db) as s:
        meta, content = read_document(s, world["expert"], png_id)
        assert content == png and meta.is_image and meta.type_label == "کارت ملی"
        meta, content = read_document(s, world["central"], pdf_id)  # central staff see every province
        assert content == pdf and meta.is_pdf and meta.title == "کارشناسی عمران"
        assert meta.size_bytes == len(pdf) and meta.verdict_label == "در انتظار بررسی"


def test_a_corrupted_blob_is_refused_with_a_persian_message(db, world, request_id):
    doc = add_document(db, request_id, tiny_png(), "image/png")
    corrupt_blob(db, doc)
    with Session(db) as s, pytest.raises(CorruptDocument) as err:
        read_document(s, world["expert"], doc)
    assert "آسیب دیده" in err.value.message


def test_another_province_cannot_read_a_document_nor_learn_it_exists(db, world, request_id):
    doc = add_document(db, request_id, tiny_png(), "image/png")
    with Session(db) as s:
        with pytest.raises(NotFound) as other:
            read_document(s, world["isfahan"], doc)
        with pytest.raises(NotFound) as missing:
            read_document(s, world["isfahan"], doc + 1000)
    assert other.value.message == missing.value.message == "مدرک پیدا نشد."


def test_roles_that_do_not_work_on_requests_cannot_read_documents(db, world, request_id):
    doc = add_document(db, request_id, tiny_png(), "image/png")
    with Session(db) as s, pytest.raises(PermissionDenied):
        read_document(s, world["board"], doc)
    with Session(db) as s:  # a manager supervises the work and may look
        assert read_document(s, world["manager"], doc)[1] == tiny_png()


# --- verdicts ---------------------------------------------------------------------------------------

def test_accepting_a_document_writes_one_event_without_bumping_the_version(db, world, request_id):
    doc = add_document(db, request_id, tiny_png(), "image/png")
    before = req_version(db, request_id)
    out = set_verdict(db, world["expert"], doc, "accepted", None, now=SAT_0900)
    assert out.message == "مدرک «کارت ملی» پذیرفته شد."
    row = doc_row(db, doc)
    assert (row["verdict"], row["verdict_reason"], row["verdict_by"]) == ("accepted", None, world["expert"].id)
    assert row["verdict_at"] == SAT_0900
    assert req_version(db, request_id) == before
    with db.connect() as c:
        ev = c.execute(sa.text("SELECT * FROM request_event WHERE request_id = :r AND action = 'document_verdict'"),
                       {"r": request_id}).mappings().one()
    assert ev["version"] == before and ev["actor_id"] == world["expert"].id
    assert ev["data"] == {"document_id": doc, "doc_type": "national_card", "verdict": "accepted"}
    # The verdict did not make a form opened before it stale.
    wf.approve(db, world["expert"], request_id, before, checklist=[True] * 4, now=SAT_0900)


def test_rejecting_a_document_needs_a_reason(db, world, request_id):
    doc = add_document(db, request_id, tiny_png(), "image/png")
    for empty in (None, "", "   "):
        with pytest.raises(ValidationError, match="دلیل رد مدرک"):
            set_verdict(db, world["expert"], doc, "rejected", empty, now=SAT_0900)
    assert doc_row(db, doc)["verdict"] == "pending"
    set_verdict(db, world["expert"], doc, "rejected", "تصویر  ناخوانا است", now=SAT_0900)
    row = doc_row(db, doc)
    assert (row["verdict"], row["verdict_reason"]) == ("rejected", "تصویر ناخوانا است")
    with db.connect() as c:
        reason = c.execute(sa.text("SELECT reason FROM request_event WHERE action = 'document_verdict'")).scalar_one()
    assert reason == "تصویر ناخوانا است"
    with pytest.raises(ValidationError):
        set_verdict(db, world["expert"], doc, "maybe", "x", now=SAT_0900)


def test_a_rejected_required_document_blocks_approval(db, world, request_id):
    doc = add_document(db, request_id, tiny_png(), "image/png", required=True)
    set_verdict(db, world["expert"], doc, "rejected", "ناخوانا", now=SAT_0900)
    with pytest.raises(ValidationError, match="مدرک الزامی"):
        wf.approve(db, world["expert"], request_id, req_version(db, request_id), checklist=[True] * 4, now=SAT_0900)


def test_another_province_cannot_judge_a_document(db, world, request_id):
    doc = add_document(db, request_id, tiny_png(), "image/png")
    with pytest.raises(NotFound):
        set_verdict(db, world["isfahan"], doc, "accepted", None, now=SAT_0900)
    assert doc_row(db, doc)["verdict"] == "pending"


def test_only_someone_who_may_act_at_the_stage_may_judge(db, world, request_id):
    doc = add_document(db, request_id, tiny_png(), "image/png")
    for who in ("final", "manager", "board"):  # initial review is the expert's stage
        with pytest.raises(PermissionDenied):
            set_verdict(db, world[who], doc, "accepted", None, now=SAT_0900)
    wf.claim(db, world["expert2"], request_id, now=SAT_0900)
    with pytest.raises(InvalidTransition, match="برداشته"):
        set_verdict(db, world["expert"], doc, "accepted", None, now=SAT_0900)
    assert doc_row(db, doc)["verdict"] == "pending"
    with db.connect() as c:
        assert c.execute(sa.text("SELECT count(*) FROM request_event WHERE action = 'document_verdict'")).scalar() == 0


def test_a_closed_request_takes_no_more_verdicts(db, world, request_id):
    doc = add_document(db, request_id, tiny_png(), "image/png")
    wf.reject(db, world["expert"], request_id, 1, "مدارک ناقص", now=SAT_0900)
    with pytest.raises(InvalidTransition, match="بسته"):
        set_verdict(db, world["expert"], doc, "accepted", None, now=SAT_0900)
