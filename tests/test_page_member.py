"""The member profile page through AppTest: every section of a fully filled member, the document
viewer, opening by link or national ID, province isolation, and audited corrections."""
from __future__ import annotations

from datetime import datetime, timedelta

import pytest
import sqlalchemy as sa

from domain.jalali import TEHRAN
from domain.national_id import make_national_id, national_id_in_province
from domain.reference import ISFAHAN_ID, TEHRAN_ID
from domain.text import fa_code, to_persian_digits
from tests.apptest import app, sign_in, signed_in, texts
from tests.factories import (audit_rows, file_request, make_full_member, make_staff, national_id_of, req_row,
                             step)


@pytest.fixture
def world(db):
    for username, roles, province in (("t.expert", ["expert"], TEHRAN_ID), ("i.expert", ["expert"], ISFAHAN_ID),
                                      ("t.manager", ["manager"], TEHRAN_ID), ("c.expert", ["central_expert"], None)):
        make_staff(db, username, roles, province)
    return make_full_member(db)


def open_member(db_url, username="t.expert", **params):
    at = signed_in(db_url, username)
    at.switch_page("pages/member.py")
    for k, v in params.items():
        at.query_params[k] = str(v)
    at.run()
    assert not at.exception, at.exception
    return at


def written(db) -> list[str]:
    """The audited writes (opening the profile and its documents is audited too, as reads)."""
    return [e["action"] for e in audit_rows(db) if e["action"] not in ("member_viewed", "document_viewed")]


def all_text(at) -> str:
    parts = (texts(at.markdown) + texts(at.subheader) + texts(at.info) + texts(at.error) + texts(at.success)
             + texts(at.warning) + texts(at.caption))
    return "\n".join(str(p) for p in parts)


# AppTest does not expose a read-only table's key: tables are told apart by a column of their own.
TABLE_COLUMNS = {"mem-edu-table": "مقطع", "mem-contacts-table": "مقدار", "mem-addresses-table": "اقامتگاه قانونی",
                 "mem-docs-table": "نام فایل", "mem-spouse-table": ("نسبت", 0), "mem-children-table": ("نسبت", 1),
                 "mem-work-licences": ("صلاحیت‌ها", 0), "mem-article32": ("صلاحیت‌ها", 1),
                 "mem-validity-table": "اعتبار تازه", "mem-requests-table": "کد رهگیری", "mem-record-table": "شرح"}


def table(at, key):
    column, n = TABLE_COLUMNS[key] if isinstance(TABLE_COLUMNS[key], tuple) else (TABLE_COLUMNS[key], 0)
    return [d.value for d in at.dataframe if column in d.value.columns][n]


def test_every_section_of_a_full_member(db_url, db, world):
    at = open_member(db_url, id=world["id"])
    assert "پروندهٔ عضو" in texts(at.title)
    nid = national_id_of(db, world["id"])
    text = all_text(at)
    # Main information.
    assert f"علی کریمی — کد ملی {fa_code(nid)}" in texts(at.subheader)
    for fragment in ("**نام پدر:** حسن", "**استان محل تولد:** اصفهان", "**مدرک سکونت:** لیست بیمه",
                     "**رشته:** عمران", "**وضعیت:** فعال", "**تاریخ تولد:** ۱۳۶۴/۰۱/۱۳"):
        assert fragment in text, fragment
    # Education, with the degree scan in the viewer.
    edu = table(at, "mem-edu-table")
    assert list(edu["مقطع"]) == ["کارشناسی پیوسته", "کارشناسی ارشد"]
    assert list(edu["گرایش"]) == ["سازه", "ژئوتکنیک"] and list(edu["کد استعلام"])[0] == fa_code("123456789012")
    assert list(edu["تصویر مدرک"]) == ["دارد", "ندارد"]
    assert all(v.startswith("دارد") for v in edu["شرط عضویت"])
    assert at.selectbox(key="mem-degree-pick").value == world["scan"]
    assert any(b.key == f"doc-download-{world['scan']}" for b in at.get("download_button"))
    # Contacts with their active flag; addresses with the legal one marked.
    contacts = table(at, "mem-contacts-table")
    assert ("۰۹۳۵۱۱۱۲۲۳۳", "غیرفعال") in set(zip(contacts["مقدار"], contacts["وضعیت"]))
    assert ("۰۹۱۲۱۲۳۴۵۶۷", "فعال") in set(zip(contacts["مقدار"], contacts["وضعیت"]))
    addresses = table(at, "mem-addresses-table")
    assert list(addresses["اقامتگاه قانونی"]) == ["✔ اقامتگاه قانونی", ""]
    assert list(addresses["شهر"]) == ["تهران", "شهریار"]
    # The archive: the lease through the same viewer as the request screen.
    archive = table(at, "mem-docs-table")
    assert set(archive["نوع مدرک"]) == {"مدرک تحصیلی", "اجاره‌نامهٔ رسمی"}
    assert "اجاره‌نامهٔ رسمی محل سکونت" in list(archive["توضیح"])
    assert at.selectbox(key="mem-doc-pick").value == world["archive"]
    assert any(b.key == f"doc-download-{world['archive']}" for b in at.get("download_button"))
    # Family.
    assert list(table(at, "mem-spouse-table")["نام"]) == ["سارا"]
    assert list(table(at, "mem-children-table")["نام"]) == ["پارسا", "نیلوفر"]
    # Licences.
    assert list(table(at, "mem-work-licences")["وضعیت"]) == ["معتبر"]
    assert list(table(at, "mem-article32")["شماره"]) == [fa_code(f"A{world['id']:08d}")]
    # Validity history and requests with their links.
    validity = table(at, "mem-validity-table")
    assert list(validity["درخواست"]) == [fa_code(world["renewal"].tracking_code), "—"]
    requests = table(at, "mem-requests-table")
    assert set(requests["پرونده"]) == {f"/request?code={world['renewal'].tracking_code}",
                                       f"/request?code={world['transfer'].tracking_code}"}
    assert set(requests["نوع درخواست"]) == {"تمدید عضویت", "انتقال عضویت"}
    assert set(requests["وضعیت"]) == {"در جریان"}
    # The conditions: only the master's missing scan is pointed out.
    assert any("تصویر همهٔ مدارک تحصیلی" in w for w in texts(at.warning))
    assert at.query_params.get("id") == str(world["id"])


def test_a_click_on_a_request_row_opens_it_in_the_same_session(db_url, db, world):
    at = open_member(db_url, id=world["id"])
    links = list(table(at, "mem-requests-table")["پرونده"])
    row = links.index(f"/request?code={world['transfer'].tracking_code}")
    at.session_state["mem-requests-table"] = {"selection": {"rows": [], "columns": [], "cells": [[row, "وضعیت"]]}}
    at.run()
    assert not at.exception, at.exception
    assert "پروندهٔ درخواست" in texts(at.title)
    assert at.query_params.get("code") == world["transfer"].tracking_code


def test_open_by_national_id_in_persian_digits(db_url, db, world):
    at = open_member(db_url)
    assert "کد ملی یا شمارهٔ عضویت را وارد کنید" in all_text(at)
    at.text_input(key="mem-key").input(to_persian_digits(national_id_of(db, world["id"]))).run()
    assert not at.exception
    assert any("علی کریمی" in s for s in texts(at.subheader))
    assert at.query_params.get("id") == str(world["id"])  # the URL follows the member shown


def test_open_by_nid_link(db_url, db, world):
    at = open_member(db_url, nid=national_id_of(db, world["id"]))
    assert any("علی کریمی" in s for s in texts(at.subheader))


@pytest.mark.parametrize("how", ["id", "nid", "typed"])
def test_another_provinces_member_is_not_found(db_url, db, world, how):
    if how == "typed":
        at = open_member(db_url, "i.expert")
        at.text_input(key="mem-key").input(national_id_of(db, world["id"])).run()
    else:
        at = open_member(db_url, "i.expert", **{how: world["id"] if how == "id" else national_id_of(db, world["id"])})
    assert "عضو پیدا نشد." in texts(at.error)
    assert not at.subheader and not at.dataframe and "علی" not in all_text(at)


def test_an_unknown_member_gets_the_same_message(db_url, db, world):
    at = open_member(db_url, id=987654)
    assert "عضو پیدا نشد." in texts(at.error)


def test_central_staff_open_any_province(db_url, db, world):
    at = open_member(db_url, "c.expert", id=world["id"])
    assert any("علی کریمی" in s for s in texts(at.subheader))


def test_a_manager_reads_the_profile_but_has_no_corrections(db_url, db, world):
    at = open_member(db_url, "t.manager", id=world["id"])
    assert any("علی کریمی" in s for s in texts(at.subheader))
    assert "اصلاح اطلاعات" not in [t.label for t in at.tabs]
    assert not any(b.key == "mem-fix-main" for b in at.button)


def test_an_audited_correction_of_the_main_information(db_url, db, world):
    at = open_member(db_url, id=world["id"])
    mid = world["id"]
    at.text_input(key=f"mem-fix-father-{mid}").input("حسين")  # Arabic ي, normalised by the service
    at.text_area(key="mem-fix-main-reason").input("مغایرت با شناسنامه")
    at.button(key="mem-fix-main").click().run()
    assert not at.exception
    assert any("اطلاعات اصلی عضو اصلاح شد (نام پدر)" in s for s in texts(at.success))
    assert "**نام پدر:** حسین" in all_text(at)
    (event,) = audit_rows(db, "member_corrected")
    assert event["data"]["old"] == {"father_name": "حسن"} and event["data"]["new"] == {"father_name": "حسین"}
    assert event["data"]["reason"] == "مغایرت با شناسنامه"
    assert at.text_area(key="mem-fix-main-reason").value == ""


def test_a_bad_national_id_changes_nothing(db_url, db, world):
    at = open_member(db_url, id=world["id"])
    before = national_id_of(db, world["id"])
    at.text_input(key=f"mem-fix-nid-{world['id']}").input("۱۱۱۱۱۱۱۱۱۱")
    at.text_area(key="mem-fix-main-reason").input("اصلاح کد ملی")
    at.button(key="mem-fix-main").click().run()
    assert any("تکرار یک رقم" in e for e in texts(at.error))
    assert national_id_of(db, world["id"]) == before
    assert written(db) == []


def test_correcting_the_national_id_the_page_was_opened_by_keeps_the_member_on_screen(db_url, db, world):
    at = open_member(db_url)
    at.text_input(key="mem-key").input(national_id_of(db, world["id"])).run()
    at.text_input(key=f"mem-fix-nid-{world['id']}").input("۰۰۱۳۵۴۲۴۱۹")
    at.text_area(key="mem-fix-main-reason").input("اشتباه تایپی در ثبت")
    at.button(key="mem-fix-main").click().run()
    assert not at.exception and not at.error
    assert national_id_of(db, world["id"]) == "0013542419"
    assert f"علی کریمی — کد ملی {fa_code('0013542419')}" in texts(at.subheader)
    (event,) = audit_rows(db, "member_corrected")
    # The ID was issued in Tehran (prefix 001): the birth province follows it.
    assert event["data"]["new"] == {"national_id": "0013542419", "birth_province_id": TEHRAN_ID}
    assert at.text_input(key=f"mem-fix-bprov-fa-{world['id']}-{TEHRAN_ID}").value == "تهران"


def _set_national_id(db, member_id: int, national_id: str) -> None:
    with db.begin() as c:
        c.execute(sa.text("UPDATE member SET national_id = :n WHERE id = :m"), {"n": national_id, "m": member_id})


def test_a_known_prefix_shows_the_birth_province_read_only_from_the_national_id(db_url, db, world):
    mid = world["id"]
    _set_national_id(db, mid, national_id_in_province(ISFAHAN_ID, 4242))  # born in Isfahan, as recorded
    at = open_member(db_url, id=mid)
    field = at.text_input(key=f"mem-fix-bprov-fa-{mid}-{ISFAHAN_ID}")
    assert field.value == "اصفهان" and field.disabled
    assert "از کد ملی" in texts(at.caption)
    assert not any(s.key == f"mem-fix-bprov-{mid}" for s in at.selectbox)
    # An unrelated correction does not touch the birth province.
    at.text_input(key=f"mem-fix-first-{mid}").input("رضا")
    at.text_area(key="mem-fix-main-reason").input("مغایرت با شناسنامه")
    at.button(key="mem-fix-main").click().run()
    assert not at.exception and not at.error
    (event,) = audit_rows(db, "member_corrected")
    assert event["data"]["new"] == {"first_name": "رضا"}


def test_an_unknown_prefix_keeps_the_birth_province_select(db_url, db, world):
    mid = world["id"]
    _set_national_id(db, mid, make_national_id("100246813"))  # no registry office has 100
    at = open_member(db_url, id=mid)
    assert at.selectbox(key=f"mem-fix-bprov-{mid}").value == ISFAHAN_ID
    assert "از کد ملی" not in texts(at.caption)
    at.selectbox(key=f"mem-fix-bprov-{mid}").select(TEHRAN_ID)
    at.text_area(key="mem-fix-main-reason").input("محل تولد در شناسنامه")
    at.button(key="mem-fix-main").click().run()
    assert not at.exception and not at.error
    (event,) = audit_rows(db, "member_corrected")
    assert event["data"]["new"] == {"birth_province_id": TEHRAN_ID}


def test_a_correction_without_a_reason_is_refused(db_url, db, world):
    at = open_member(db_url, id=world["id"])
    at.text_input(key=f"mem-fix-first-{world['id']}").input("رضا")
    at.button(key="mem-fix-main").click().run()
    assert any("دلیل اصلاح" in e for e in texts(at.error))
    assert written(db) == []


def test_an_audited_correction_of_a_degree(db_url, db, world):
    at = open_member(db_url, id=world["id"])
    eid = world["master"]
    at.selectbox(key="mem-fix-edu-pick").select(eid).run()
    at.text_input(key=f"mem-fix-edu-spec-{eid}").input("زلزله")
    at.text_input(key=f"mem-fix-edu-code-{eid}").input("۵۵۵۵۶۶۶۶")
    at.text_area(key="mem-fix-edu-reason").input("استعلام از دانشگاه")
    at.button(key="mem-fix-edu").click().run()
    assert not at.exception
    assert any("اصلاح شد" in s for s in texts(at.success))
    assert "زلزله" in list(table(at, "mem-edu-table")["گرایش"])
    (event,) = audit_rows(db, "education_corrected")
    assert event["data"]["new"] == {"specialisation": "زلزله", "verification_code": "55556666"}


def test_setting_the_legal_address_and_switching_a_contact_off(db_url, db, world):
    at = open_member(db_url, id=world["id"])
    assert at.selectbox(key="mem-fix-addr-pick").value == world["home"]
    at.text_area(key="mem-fix-addr-reason").input("نشانی تازهٔ مکاتبات")
    at.button(key="mem-fix-addr").click().run()
    assert not at.exception
    assert list(table(at, "mem-addresses-table")["شهر"]) == ["شهریار", "تهران"]  # the legal one first
    at.selectbox(key="mem-fix-contact-pick").select(world["email"]).run()
    at.text_area(key="mem-fix-contact-reason").input("نشانی از کار افتاده")
    at.button(key="mem-fix-contact").click().run()
    assert not at.exception
    contacts = table(at, "mem-contacts-table")
    assert dict(zip(contacts["مقدار"], contacts["وضعیت"]))["ali.karimi@example.com"] == "غیرفعال"
    assert written(db) == ["legal_address_set", "contact_deactivated"]
    with db.connect() as c:
        legal = c.execute(sa.text("SELECT count(*) FROM address WHERE member_id = :m AND is_legal"),
                          {"m": world["id"]}).scalar()
    assert legal == 1


def test_roles_without_the_directory_cannot_open_a_profile(db_url, db, world):
    make_staff(db, "t.board", ["board"], TEHRAN_ID)
    direct = app(db_url, page="pages/member.py")
    sign_in(direct, db_url, "t.board")
    direct.query_params["id"] = str(world["id"])
    direct.run()
    assert "شما به این صفحه دسترسی ندارید." in texts(direct.error) and not direct.subheader


def test_the_pages_are_registered_for_the_roles_the_services_allow():
    from logic.members import VIEWER_ROLES
    from ui.navigation import PAGES
    specs = {p.file: p for p in PAGES}
    assert specs["member.py"].roles == specs["members.py"].roles == VIEWER_ROLES
    assert specs["member.py"].url_path == "member" and specs["member.py"].section == "کار روزانه"


def complete(db, member: int, type_code: str, data: dict) -> str:
    """File a request for the member and take it to its end through the services; its tracking code."""
    staff = {"expert": make_staff(db, "w.expert", ["expert"], TEHRAN_ID),
             "final": make_staff(db, "w.final", ["final_reviewer"], TEHRAN_ID),
             "finance": make_staff(db, "w.finance", ["finance"], TEHRAN_ID),
             "committee": make_staff(db, "w.committee", ["committee"], TEHRAN_ID),
             "head": make_staff(db, "w.head", ["head"], TEHRAN_ID),
             "central": make_staff(db, "w.central", ["central_expert"], None)}
    now = datetime(2026, 11, 21, 8, 0, tzinfo=TEHRAN)
    out = file_request(db, member, type_code, data, submitted_at=now)
    while req_row(db, out.request_id)["status"] == "open":
        now += timedelta(hours=2)
        step(db, staff, out.request_id, now)
    return out.tracking_code


def test_a_licence_issued_by_a_request_shows_with_its_request_and_the_record_history(db_url, db, world):
    code = complete(db, world["id"], "licence_issue", {"competencies": ["design"]})
    at = open_member(db_url, id=world["id"])
    licences = table(at, "mem-work-licences")
    issued = licences[licences["درخواست صدور"] == fa_code(code)]
    assert len(issued) == 1 and list(issued["پرونده"]) == [f"/request?code={code}"]
    assert list(issued["صلاحیت‌ها"]) == ["طراحی"] and list(issued["وضعیت"]) == ["معتبر"]
    record = table(at, "mem-record-table")
    assert list(record["تغییر"]) == ["صدور پروانه"] and list(record["درخواست"]) == [fa_code(code)]
    assert list(record["پرونده"]) == [f"/request?code={code}"]
    assert list(record["شرح"])[0].startswith("پروانهٔ شمارهٔ W")


def test_a_rank_recorded_by_a_request_is_the_members_current_rank(db_url, db, world):
    complete(db, world["id"], "rating_registration", {"rank": 2, "licence_expiry": "2028-01-01"})
    at = open_member(db_url, id=world["id"])
    assert "**رتبهٔ کنونی:** رتبهٔ ۲ مشاور" in all_text(at)
    assert list(table(at, "mem-record-table")["تغییر"]) == ["ثبت رتبه"]


def test_a_member_without_changes_says_so(db_url, db, world):
    at = open_member(db_url, id=world["id"])
    assert "درخواستی هنوز چیزی در پروندهٔ این عضو تغییر نداده است." in texts(at.info)


def test_opening_a_profile_is_audited_once_not_on_every_rerun(db_url, db, world):
    at = open_member(db_url, id=world["id"])
    at.run()  # a rerun (a click, a tab) shows the same profile again
    views = audit_rows(db, "member_viewed")
    assert [(v["entity_id"], v["province_id"]) for v in views] == [(str(world["id"]), TEHRAN_ID)]
    assert views[0]["actor_id"] is not None
