"""Reading documents (sha256 checked on every read) and the reviewer's verdict on each."""
from __future__ import annotations

from datetime import datetime

import pytest
import sqlalchemy as sa

from domain.errors import InvalidTransition, NotFound, PermissionDenied, ValidationError
from domain.jalali import TEHRAN
from domain.reference import ISFAHAN_ID, TEHRAN_ID
from logic import workflow as wf
from logic.documents import CorruptDocument, read_document, set_verdict
from sqlalchemy.orm import Session
from tests.factories import DOCS_SAT_0800 as SAT_0800, file_request
from db.engine import session_scope
from tests.factories import add_document, audit_rows, corrupt_blob, make_member, make_staff, tiny_pdf, tiny_png

SAT_0900 = datetime(2026, 11, 14, 9, 0, tzinfo=TEHRAN)


# --- helpers ---------------------------------------------------------------------------------------

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
    return file_request(db, member, "new_membership", submitted_at=SAT_0800).request_id


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


def test_a_read_is_audited_in_its_own_transaction_and_a_refused_one_is_not(db, world, request_id):
    doc = add_document(db, request_id, tiny_png(), "image/png", "national_card")
    with session_scope(db) as s:
        read_document(s, world["expert"], doc)
        read_document(s, world["expert"], doc, audit=False)  # the same screen shown again
    with pytest.raises(NotFound), session_scope(db) as s:
        read_document(s, world["isfahan"], doc)
    rows = audit_rows(db, "document_viewed")
    assert [(r["actor_id"], r["entity_id"], r["province_id"], r["data"]["request_id"]) for r in rows] == \
        [(world["expert"].id, str(doc), TEHRAN_ID, request_id)]
