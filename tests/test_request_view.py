"""The request screen's data: header, SLA clocks, member, type data, documents, permission, timeline."""
from __future__ import annotations

from datetime import date, datetime

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from domain.calendar import SlaStatus
from domain.errors import NotFound, PermissionDenied
from domain.jalali import TEHRAN
from domain.processes import process
from domain.reference import ISFAHAN_ID, TEHRAN_ID
from logic import workflow as wf
from logic.documents import set_verdict
from logic.request_view import load_request
from tests.factories import add_document, file_request, make_member, make_staff, tiny_pdf, tiny_png

SAT_0800 = datetime(2026, 11, 14, 8, 0, tzinfo=TEHRAN)   # a Saturday; offices 07:30-14:30, 7 h a day
SAT_1000 = datetime(2026, 11, 14, 10, 0, tzinfo=TEHRAN)
SAT_1400 = datetime(2026, 11, 14, 14, 0, tzinfo=TEHRAN)
SUN_0900 = datetime(2026, 11, 15, 9, 0, tzinfo=TEHRAN)


@pytest.fixture
def world(db):
    t = TEHRAN_ID
    return {
        "expert": make_staff(db, "t.expert", ["expert"], t, "کارشناس یکم"),
        "expert2": make_staff(db, "t.expert2", ["expert", "final_reviewer"], t, "کارشناس دوم"),
        "final": make_staff(db, "t.final", ["final_reviewer"], t, "بررسی نهایی"),
        "manager": make_staff(db, "t.manager", ["manager"], t, "مدیر"),
        "admin": make_staff(db, "t.admin", ["admin"], t, "مدیر سامانه"),
        "isfahan": make_staff(db, "i.expert", ["expert"], ISFAHAN_ID, "کارشناس اصفهان"),
        "central": make_staff(db, "central.expert", ["central_expert"], None, "کارشناس مرکزی"),
    }


def add_licence(engine, member_id, licence_no, expires_on, kind="work"):
    with engine.begin() as c:
        c.execute(sa.text("INSERT INTO work_licence (member_id, kind, licence_no, field, grade, competencies, "
                          "issued_on, expires_on) VALUES (:m, :k, :n, 'civil', 2, '{design,supervision}', "
                          "'2020-01-01', :e)"), {"m": member_id, "k": kind, "n": licence_no, "e": expires_on})


def view(engine, actor, key, now=SAT_1000):
    with Session(engine) as s:
        return load_request(s, actor, key, now)


@pytest.fixture
def new_membership(db, world):
    member = make_member(db, TEHRAN_ID, first_name="زهرا", last_name="کریمی", valid_until=date(2027, 3, 20))
    add_licence(db, member, "W-100", date(2027, 6, 1))
    add_licence(db, member, "W-OLD", date(2025, 1, 1))          # expired: not shown
    add_licence(db, member, "A32-1", date(2027, 6, 1), "article32")  # not a work licence
    rid = file_request(db, member, "new_membership", submitted_at=SAT_0800).request_id
    return member, rid


def test_the_view_carries_header_member_documents_and_timeline(db, world, new_membership):
    member, rid = new_membership
    png = add_document(db, rid, tiny_png(), "image/png", "national_card")
    pdf = add_document(db, rid, tiny_pdf(), "application/pdf", "degree", required=False, title="کارشناسی")
    wf.claim(db, world["expert"], rid, now=SAT_0800.replace(hour=9))
    set_verdict(db, world["expert"], png, "rejected", "ناخوانا", now=SAT_0800.replace(hour=9, minute=10))
    wf.comment(db, world["expert"], rid, "با عضو تماس گرفته شد", now=SAT_0800.replace(hour=9, minute=20))

    v = view(db, world["expert"], _code(db, rid))
    h = v.header
    assert (h.type_name, h.stage_name, h.status_label) == ("عضویت جدید", "بررسی اولیه", "در جریان")
    assert (h.assignee_name, h.version, v.version, v.request_id) == ("کارشناس یکم", 2, 2, rid)
    m = v.member
    assert (m.full_name, m.field_label, m.grade_label, m.valid_until_fa) == ("زهرا کریمی", "عمران", "پایه ۳",
                                                                               "۱۴۰۵/۱۲/۲۹")
    assert m.membership_no and m.national_id.isdigit()
    assert [lic.licence_no for lic in m.licences] == ["W-100"]
    assert "طراحی، نظارت" in m.licences[0].summary and "۱۴۰۶/۰۳/۱۱" in m.licences[0].summary
    assert [(d.id, d.type_label, d.verdict, d.verdict_reason) for d in v.documents] == [
        (png, "کارت ملی", "rejected", "ناخوانا"), (pdf, "مدرک تحصیلی", "pending", None)]
    assert [d.type_label for d in v.rejected_required_documents] == ["کارت ملی"]
    assert v.documents[1].mime == "application/pdf" and v.documents[1].title == "کارشناسی"
    assert v.checklist == process("new_membership").stage("initial_review").checklist
    assert v.permission.may_act and v.permission.actions == ("approve", "reject", "return")
    assert not v.permission.may_claim  # already theirs
    tl = v.timeline
    assert [e.action_label for e in tl] == ["ثبت درخواست", "برداشتن کار", "نظر دربارهٔ مدرک", "یادداشت"]
    assert [e.who for e in tl] == ["عضو/سامانه", "کارشناس یکم", "کارشناس یکم", "کارشناس یکم"]
    assert tl[0].at_fa == "۱۴۰۵/۰۸/۲۳ ۰۸:۰۰" and tl[0].to_stage == "بررسی اولیه" and tl[0].from_stage is None
    assert tl[2].detail == "کارت ملی: ردشده" and tl[2].reason == "ناخوانا"
    assert tl[3].reason == "با عضو تماس گرفته شد"


def _code(engine, rid):
    with engine.connect() as c:
        return c.execute(sa.text("SELECT tracking_code FROM request WHERE id = :i"), {"i": rid}).scalar_one()


def test_lookup_by_id_or_by_code_with_persian_digits(db, world, new_membership):
    _, rid = new_membership
    code = _code(db, rid)
    fa_code = code.translate(str.maketrans("0123456789", "۰۱۲۳۴۵۶۷۸۹"))
    assert view(db, world["expert"], rid).request_id == rid
    assert view(db, world["expert"], f" {fa_code} ").request_id == rid


def test_sla_of_the_stage_and_of_the_whole_request(db, world, new_membership):
    _, rid = new_membership
    # Stage: 1 day = 7 working hours from Sat 08:00, so due Sun 08:00; request: 5 days = 35 hours.
    v = view(db, world["expert"], rid, SAT_1000)
    assert (v.header.stage_sla.status, v.header.stage_sla.remaining_hours) == (SlaStatus.ON_TIME, 5.0)
    assert v.header.stage_sla.due_at == datetime(2026, 11, 15, 8, 0, tzinfo=TEHRAN)
    assert v.header.stage_sla.remaining_label == "۵٫۰ ساعت کاری باقی‌مانده"
    assert (v.header.request_sla.status, v.header.request_sla.remaining_hours) == (SlaStatus.ON_TIME, 33.0)
    v = view(db, world["expert"], rid, SAT_1400)  # 1 hour left of 7: less than a quarter
    assert (v.header.stage_sla.status, v.header.stage_sla.remaining_hours) == (SlaStatus.AT_RISK, 1.0)
    v = view(db, world["expert"], rid, SUN_0900)
    assert (v.header.stage_sla.status, v.header.stage_sla.remaining_hours) == (SlaStatus.BREACHED, -1.0)
    assert v.header.stage_sla.remaining_label == "۱٫۰ ساعت کاری از مهلت گذشته"
    assert v.header.request_sla.status is SlaStatus.ON_TIME


def test_a_returned_request_is_paused_with_the_hours_it_has_left(db, world, new_membership):
    _, rid = new_membership
    wf.return_for_correction(db, world["expert"], rid, 1, "عکس ناخوانا", now=SAT_1000)
    v = view(db, world["expert"], rid, SUN_0900)
    assert v.header.status_label == "بازگشت به عضو برای اصلاح"
    assert (v.header.stage_sla.status, v.header.stage_sla.remaining_hours) == (SlaStatus.PAUSED, 5.0)
    assert v.header.request_sla.remaining_hours == 33.0
    assert "ساعت متوقف است" in v.header.stage_sla.remaining_label
    assert not v.permission.may_act and "اصلاح نزد عضو" in v.permission.reason


def test_a_closed_request_shows_met_or_missed(db, world, new_membership):
    _, rid = new_membership
    wf.reject(db, world["expert"], rid, 1, "مدارک جعلی", now=SUN_0900)  # an hour late for the stage
    v = view(db, world["expert"], rid, SUN_0900)
    assert v.header.stage_sla.status is SlaStatus.MISSED
    assert v.header.request_sla.status is SlaStatus.MET
    assert not v.permission.may_act and "بسته" in v.permission.reason


def test_another_provinces_request_is_not_found_by_code_or_id(db, world, new_membership):
    _, rid = new_membership
    for key in (_code(db, rid), rid):
        with pytest.raises(NotFound) as other:
            view(db, world["isfahan"], key)
        assert other.value.message == "درخواست پیدا نشد."
    for unknown in ("99999999999", "abc", 10**9):
        with pytest.raises(NotFound) as missing:
            view(db, world["isfahan"], unknown)
        assert missing.value.message == "درخواست پیدا نشد."
    assert view(db, world["central"], rid).request_id == rid  # central staff: every province


def test_roles_outside_the_request_work_cannot_load_it(db, world, new_membership):
    _, rid = new_membership
    with pytest.raises(PermissionDenied):
        view(db, world["admin"], rid)
    v = view(db, world["manager"], rid)  # managers read, but do not act
    assert not v.permission.may_act and "نقش" in v.permission.reason


def test_may_act_reasons_role_four_eyes_and_claimed_by_someone_else(db, world, new_membership):
    _, rid = new_membership
    # Role: a final reviewer at the expert's stage.
    p = view(db, world["final"], rid).permission
    assert not p.may_act and "فقط با نقش" in p.reason and p.actions == ("approve", "reject", "return")
    # Unclaimed: an expert may act and may claim.
    p = view(db, world["expert"], rid).permission
    assert p.may_act and p.may_claim and p.reason is None and p.claimed_by is None
    # Claimed by someone else: who holds it.
    wf.claim(db, world["expert2"], rid, now=SAT_1000)
    p = view(db, world["expert"], rid).permission
    assert not p.may_act and not p.may_claim and p.claimed_by == "کارشناس دوم"
    assert "کارشناس دوم برداشته است" in p.reason
    # Four eyes: expert2 did the initial review and also holds the final reviewer role.
    wf.approve(db, world["expert2"], rid, 2, checklist=[True] * 4, now=SAT_1000)
    p = view(db, world["expert2"], rid).permission
    assert not p.may_act and "چهار چشم" in p.reason
    assert view(db, world["final"], rid).permission.may_act


def test_a_member_stage_needs_nothing_from_staff(db, world):
    member = make_member(db, TEHRAN_ID)
    rid = file_request(db, member, "card_reissue", submitted_at=SAT_0800).request_id
    v = view(db, world["central"], rid)
    assert v.header.stage_sla.status is SlaStatus.PAUSED and v.header.stage_sla.remaining_hours is None
    assert not v.permission.may_act and v.permission.actions == () and "نزد عضو" in v.permission.reason
    assert v.checklist == ()


def test_type_data_uses_the_process_labels_and_province_names(db, world):
    member = make_member(db, TEHRAN_ID)
    rid = file_request(db, member, "transfer", {"destination_address": "اصفهان، خیابان چهارباغ، پلاک 12",
                                             "destination_province": ISFAHAN_ID, "note": "x"},
                    submitted_at=SAT_0800).request_id
    assert view(db, world["expert"], rid).data == (
        ("استان مقصد", "اصفهان"), ("نشانی پستی در استان مقصد", "اصفهان، خیابان چهارباغ، پلاک ۱۲"), ("note", "x"))
    member2 = make_member(db, TEHRAN_ID)
    rid = file_request(db, member2, "legacy_registration", {"old_membership_no": "08-123", "old_valid_until": "2011-03-20"},
                    submitted_at=SAT_0800).request_id
    assert view(db, world["expert"], rid).data == (
        ("شماره عضویت قدیمی", "۰۸-۱۲۳"), ("اعتبار عضویت قدیمی", "۱۳۸۹/۱۲/۲۹"))
