"""The members directory and profile (logic.members) and the staff corrections
(logic.member_changes), on real PostgreSQL."""
from __future__ import annotations

import csv
import io
from datetime import date, timedelta

import pytest
import sqlalchemy as sa
from openpyxl import load_workbook
from sqlalchemy.orm import Session

from domain.errors import Conflict, NotFound, PermissionDenied, ValidationError
from domain.national_id import birth_province, make_national_id, national_id_in_province
from domain.reference import ISFAHAN_ID, TEHRAN_ID
from logic import member_changes as changes
from logic import members as mem
from tests.factories import (audit_rows, corrupt_blob, insert, make_full_member, make_member, make_staff,
                             national_id_of)

TODAY = date(2026, 3, 1)


@pytest.fixture
def staff(db):
    return {
        "expert": make_staff(db, "t.expert", ["expert"], TEHRAN_ID, "کارشناس تهران"),
        "head": make_staff(db, "t.head", ["head"], TEHRAN_ID),
        "manager": make_staff(db, "t.manager", ["manager"], TEHRAN_ID),
        "finance": make_staff(db, "t.finance", ["finance"], TEHRAN_ID),
        "board": make_staff(db, "t.board", ["board"], TEHRAN_ID),
        "isfahan": make_staff(db, "i.expert", ["expert"], ISFAHAN_ID),
        "central": make_staff(db, "c.expert", ["central_expert"], None),
    }


@pytest.fixture
def people(db, staff):
    """Members of Tehran and one of Isfahan, named so that prefixes and letters can be told apart."""
    ids = {
        "ali": make_member(db, TEHRAN_ID, first_name="علی", last_name="کریمی", mobile="09121234567",
                           valid_until=TODAY + timedelta(days=10)),
        "alireza": make_member(db, TEHRAN_ID, first_name="علیرضا", last_name="یزدانی", field="architecture",
                               valid_until=TODAY + timedelta(days=45)),
        "maryam": make_member(db, TEHRAN_ID, first_name="مریم", last_name="کاظمی", field="electrical",
                              valid_until=TODAY - timedelta(days=5), status="lapsed"),
        "applicant": make_member(db, TEHRAN_ID, first_name="نرگس", last_name="کریمیان", status="applicant"),
        "isfahan": make_member(db, ISFAHAN_ID, first_name="علی", last_name="کریمی", mobile="09131234567",
                               valid_until=TODAY + timedelta(days=10)),
    }
    with db.begin() as conn:
        conn.execute(sa.text("UPDATE member SET grade = 1 WHERE id = :m"), {"m": ids["alireza"]})
    insert(db, "work_licence", member_id=ids["ali"], kind="work", licence_no="W1", field="civil", grade=3,
           competencies=["design"], issued_on=TODAY - timedelta(days=100), expires_on=TODAY + timedelta(days=100))
    insert(db, "work_licence", member_id=ids["maryam"], kind="work", licence_no="W2", field="electrical", grade=3,
           competencies=[], issued_on=TODAY - timedelta(days=2000), expires_on=TODAY - timedelta(days=1))
    return ids


def names(session_engine, actor, **flt) -> list[str]:
    with Session(session_engine) as s:
        page = mem.member_page(s, actor, mem.MemberFilter(**flt), TODAY)
    return [r.full_name for r in page.rows]


def ids_for(engine, actor, search: str) -> set[int]:
    with Session(engine) as s:
        return {r.id for r in mem.member_page(s, actor, mem.MemberFilter(search=search, page_size=100), TODAY).rows}


# --- search ---------------------------------------------------------------------------------------

def test_search_by_national_id_in_latin_persian_and_arabic_digits(db, staff, people):
    nid = national_id_of(db, people["ali"])
    persian = nid.translate(str.maketrans("0123456789", "۰۱۲۳۴۵۶۷۸۹"))
    arabic = nid.translate(str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩"))
    for typed in (nid, persian, arabic, f"  {nid[:3]}-{nid[3:9]}-{nid[9]} "):
        assert ids_for(db, staff["expert"], typed) == {people["ali"]}, typed


def test_search_by_national_id_without_leading_zeros(db, staff):
    mid = make_member(db, TEHRAN_ID)
    with db.begin() as conn:
        conn.execute(sa.text("UPDATE member SET national_id = '0013542419' WHERE id = :m"), {"m": mid})
    assert ids_for(db, staff["expert"], "13542419") == {mid}


def test_search_by_membership_number_in_both_digit_forms(db, staff, people):
    with db.begin() as conn:
        conn.execute(sa.text("UPDATE member SET membership_no = '08-0000123' WHERE id = :m"), {"m": people["maryam"]})
    for typed in ("08-0000123", "۰۸-۰۰۰۰۱۲۳", "080000123", "۰۸۰۰۰۰۱۲۳"):
        assert ids_for(db, staff["expert"], typed) == {people["maryam"]}, typed
    # The old pre-electronic form "province-field-number" is found without its dashes too.
    with db.begin() as conn:
        conn.execute(sa.text("UPDATE member SET membership_no = '08-1-000077' WHERE id = :m"), {"m": people["ali"]})
    assert ids_for(db, staff["expert"], "۰۸۱۰۰۰۰۷۷") == {people["ali"]}
    # A number with letters (the test factory's "T-…" form) is found too.
    no = f"T-{national_id_of(db, people['alireza'])}"
    assert ids_for(db, staff["expert"], no) == {people["alireza"]}
    assert ids_for(db, staff["expert"], no.lower()) == {people["alireza"]}


@pytest.mark.parametrize("typed", ["09121234567", "۰۹۱۲۱۲۳۴۵۶۷", "0912 123 4567", "+98 912 123 4567",
                                   "00989121234567", "9121234567", "۹۱۲-۱۲۳-۴۵۶۷"])
def test_search_by_mobile_in_every_form(db, staff, people, typed):
    assert ids_for(db, staff["expert"], typed) == {people["ali"]}


def test_search_by_an_inactive_old_mobile_still_finds_the_member(db, staff, people):
    insert(db, "contact", member_id=people["maryam"], kind="mobile", value="09350000001", is_active=False)
    assert ids_for(db, staff["expert"], "09350000001") == {people["maryam"]}


def test_search_by_name_words_as_prefixes(db, staff, people):
    e = staff["expert"]
    assert ids_for(db, e, "علی کریمی") == {people["ali"]}
    assert ids_for(db, e, "علی") == {people["ali"], people["alireza"]}      # «علی» begins «علیرضا»
    assert ids_for(db, e, "کریمی") == {people["ali"], people["applicant"]}  # and «کریمیان»
    assert ids_for(db, e, "کری عل") == {people["ali"]}                      # any order, any prefix
    assert ids_for(db, e, "یزدانی علیرضا") == {people["alireza"]}
    assert ids_for(db, e, "حسینی") == set()


def test_search_by_name_typed_with_arabic_letters(db, staff, people):
    # An Arabic keyboard types ي and ك: «علي كريمي» is «علی کریمی».
    assert ids_for(db, staff["expert"], "علي كريمي") == {people["ali"]}
    assert ids_for(db, staff["expert"], "كاظمي") == {people["maryam"]}


def test_search_finds_names_stored_with_arabic_letters(db, staff):
    mid = make_member(db, TEHRAN_ID, first_name="علي", last_name="كاظمي")  # imported from an Arabic keyboard
    assert ids_for(db, staff["expert"], "علی کاظمی") == {mid}


@pytest.mark.parametrize("typed", ["علی‌اکبر", "علیاکبر", "علی اکبر", "علی‌اک", "اکبر", "محمدزاده", "محمد‌زاده",
                                   "زاده علی"])
def test_search_finds_names_with_or_without_their_half_space(db, staff, typed):
    """People type «علی‌اکبر» with the half-space (ZWNJ), without it, or with a space."""
    mid = make_member(db, TEHRAN_ID, first_name="علی‌اکبر", last_name="محمد‌زاده")
    assert ids_for(db, staff["expert"], typed) == {mid}


def test_search_with_a_half_space_finds_a_name_stored_without_one(db, staff):
    mid = make_member(db, TEHRAN_ID, first_name="علیاکبر", last_name="محمدزاده")
    assert ids_for(db, staff["expert"], "علی‌اکبر محمد‌زاده") == {mid}
    assert ids_for(db, staff["expert"], "علی اکبر") == set()  # a space is two words; this name has one


def test_a_corrected_name_is_found_by_its_new_words_only(db, staff, owner_engine):
    mid = make_member(db, TEHRAN_ID, first_name="علی‌اکبر", last_name="کاظمی")
    with db.begin() as c:  # the app corrects the name; the trigger (run as the owner) rewrites its words
        c.execute(sa.text("UPDATE member SET last_name = 'نادری' WHERE id = :m"), {"m": mid})
    assert ids_for(db, staff["expert"], "علیاکبر نادری") == {mid}
    assert ids_for(db, staff["expert"], "کاظمی") == set()
    with owner_engine.connect() as c:
        words = set(c.scalars(sa.text("SELECT word FROM member_name_word WHERE member_id = :m"), {"m": mid}))
    assert words == {"علی", "اکبر", "علیاکبر", "نادری"}


@pytest.mark.parametrize("typed", ["علی' | '", "a:* & !b", "(علی", "علی)|(", "'", "\\", "!!!", "&", ":*", "<->"])
def test_tsquery_operators_typed_are_harmless(db, staff, people, typed):
    found = ids_for(db, staff["expert"], typed)  # no SQL error
    assert found <= {people["ali"], people["alireza"]}


def test_name_tsquery_is_built_from_letters_only():
    assert mem.name_tsquery("علی") == "('علی':* | 'علي':*)"
    assert mem.name_tsquery("a'b & c") == "'a':* & 'b':* & 'c':*"  # split where PostgreSQL splits names
    assert mem.name_tsquery("!! ()") is None
    assert mem.name_tsquery("محمد‌رضا") == "'محمدرضا':*"  # a typed ZWNJ is left out


def test_search_never_crosses_provinces(db, staff, people):
    e = staff["expert"]
    other = people["isfahan"]
    assert other not in ids_for(db, e, "علی کریمی")
    assert ids_for(db, e, national_id_of(db, other)) == set()
    assert ids_for(db, e, "09131234567") == set()
    assert ids_for(db, staff["isfahan"], "علی کریمی") == {other}
    # Central staff see every province.
    assert ids_for(db, staff["central"], "علی کریمی") == {people["ali"], other}


def _plan(engine, flt: mem.MemberFilter, actor) -> str:
    from sqlalchemy.dialects import postgresql
    stmt = mem._rows_select(actor, flt, TODAY).limit(25)
    sql = str(stmt.compile(dialect=postgresql.dialect(), compile_kwargs={"literal_binds": True}))
    with engine.connect() as c:
        c.execute(sa.text("SET enable_seqscan = off"))
        return "\n".join(r[0] for r in c.execute(sa.text("EXPLAIN " + sql)))


@pytest.mark.parametrize("typed,index", [("علی کریمی", "ix_member_name_fts"),
                                         ("09121234567", "ix_contact_mobile"),
                                         # equality: the unique index, or the prefix one (0019) that serves it too
                                         ("0013542419", ("uq_member_national_id", "ix_member_national_id_prefix"))])
def test_searches_are_served_by_indexes(db, staff, people, typed, index):
    # With sequential scans disabled, PostgreSQL still picks one when no index can serve the query.
    plan = _plan(db, mem.MemberFilter(search=typed), staff["central"])
    assert any(name in plan for name in ((index,) if isinstance(index, str) else index)), plan
    assert "Seq Scan on member" not in plan, plan


# --- filters, paging, export ----------------------------------------------------------------------

def test_filters_by_field_grade_status_validity_and_licence(db, staff, people):
    e = staff["expert"]
    assert names(db, e, field="architecture") == ["علیرضا یزدانی"]
    assert names(db, e, grade=1) == ["علیرضا یزدانی"]
    assert names(db, e, status="lapsed") == ["مریم کاظمی"]
    assert names(db, e, validity="ending", within_days=30) == ["علی کریمی"]
    assert set(names(db, e, validity="ending", within_days=60)) == {"علی کریمی", "علیرضا یزدانی"}
    assert names(db, e, validity="lapsed") == ["مریم کاظمی"]
    assert names(db, e, licence="valid") == ["علی کریمی"]
    assert set(names(db, e, licence="none")) == {"علیرضا یزدانی", "مریم کاظمی", "نرگس کریمیان"}
    assert names(db, e, field="civil", search="کریمی", status="active") == ["علی کریمی"]


def test_bad_filter_values_are_refused_in_persian(db, staff):
    with Session(db) as s:
        for flt in (mem.MemberFilter(field="law"), mem.MemberFilter(within_days=0), mem.MemberFilter(sort="x"),
                    mem.MemberFilter(validity="soon"), mem.MemberFilter(licence="maybe")):
            with pytest.raises(ValidationError) as exc:
                mem.member_page(s, staff["expert"], flt, TODAY)
            assert exc.value.message and not exc.value.message.isascii()


def test_roles_without_the_directory_are_refused(db, staff, people):
    with Session(db) as s, pytest.raises(PermissionDenied):
        mem.member_page(s, staff["board"], mem.MemberFilter(), TODAY)
    with Session(db) as s:
        assert mem.member_page(s, staff["finance"], mem.MemberFilter(), TODAY).total == 4


def test_server_side_paging_counts_everything_and_clamps_the_page(db, staff):
    for i in range(7):
        make_member(db, TEHRAN_ID, first_name="رضا", last_name=f"صالحی{chr(0x627 + i)}")
    with Session(db) as s:
        first, middle, last = (mem.member_page(s, staff["expert"], mem.MemberFilter(page_size=3, page=n), TODAY)
                               for n in (1, 2, 99))
    assert (first.total, first.pages, len(first.rows)) == (7, 3, 3)
    assert (last.page, len(last.rows)) == (3, 1)
    assert len({r.id for r in first.rows + middle.rows + last.rows}) == 7  # the pages do not overlap


def test_expiring_list_is_active_members_soonest_first(db, staff, people):
    soon = make_member(db, TEHRAN_ID, first_name="زهرا", last_name="امینی", valid_until=TODAY + timedelta(days=3))
    with Session(db) as s:
        page = mem.member_page(s, staff["expert"], mem.expiring_filter(30), TODAY)
        wide = mem.member_page(s, staff["expert"], mem.expiring_filter(60), TODAY)
    assert [r.id for r in page.rows] == [soon, people["ali"]]
    assert [r.days_left(TODAY) for r in page.rows] == [3, 10]
    assert [r.id for r in wide.rows] == [soon, people["ali"], people["alireza"]]
    assert page.rows[1].mobile == "09121234567"
    assert mem.format_days_left(3) == "۳ روز" and mem.format_days_left(-2) == "۲ روز گذشته"


def test_export_is_the_whole_filtered_set_as_csv_with_bom_and_xlsx(db, staff, people):
    flt = mem.MemberFilter(search="کریمی", page_size=1)
    data = mem.export_file(db, staff["expert"], flt, "csv", TODAY)
    assert data.startswith(b"\xef\xbb\xbf")
    rows = list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"))))
    assert {r["نام خانوادگی"] for r in rows} == {"کریمی", "کریمیان"}  # not just the page of one
    ali = next(r for r in rows if r["نام خانوادگی"] == "کریمی")
    assert ali["شماره همراه"] == "09121234567" and ali["پروانهٔ اشتغال معتبر"] == "دارد"
    sheet = load_workbook(io.BytesIO(mem.export_file(db, staff["expert"], flt, "xlsx", TODAY))).active
    assert sheet.sheet_view.rightToLeft and sheet.max_row == 3
    with pytest.raises(ValidationError):
        mem.export_file(db, staff["expert"], flt, "pdf", TODAY)
    # Each download is audited: who, how many rows of personal data, the filter and the format.
    with db.connect() as c:
        logged = c.execute(sa.text("SELECT actor_id, action, data FROM audit_event WHERE action = 'members_exported' "
                                   "ORDER BY id")).all()
    assert [(e.actor_id, e.data["format"], e.data["rows"], e.data["filter"]["search"]) for e in logged] == [
        (staff["expert"].id, "csv", 2, "کریمی"), (staff["expert"].id, "xlsx", 2, "کریمی")]


def test_export_of_another_province_never_leaks(db, staff, people):
    data = mem.export_file(db, staff["isfahan"], mem.MemberFilter(), "csv", TODAY).decode("utf-8-sig")
    assert national_id_of(db, people["isfahan"]) in data
    assert national_id_of(db, people["ali"]) not in data


def test_search_hint_names_a_mistyped_national_id():
    assert mem.search_hint("0013542418") and "کنترل" in mem.search_hint("0013542418")
    assert mem.search_hint("0013542419") is None
    assert mem.search_hint("9121234567") is None  # maybe a mobile without its leading zero
    assert mem.search_hint("علی") is None


# --- profile --------------------------------------------------------------------------------------

def test_the_profile_holds_every_section(db, staff):
    full = make_full_member(db)
    with Session(db) as s:
        p = mem.load_profile(s, staff["expert"], full["id"])
    assert p.main.full_name == "علی کریمی" and p.main.father_name == "حسن" and p.main.born_elsewhere
    assert [e.level for e in p.educations] == ["bachelor", "master"]
    assert p.educations[0].document_id == full["scan"] and p.educations[0].qualifies
    assert p.educations[1].match.field == "civil"
    assert {(c.kind, c.is_active) for c in p.contacts} >= {("mobile", True), ("mobile", False), ("email", True)}
    assert [a.is_legal for a in p.addresses] == [True, False]
    assert {d.info.id for d in p.documents} == {full["scan"], full["archive"]}
    assert next(d for d in p.documents if d.info.id == full["archive"]).description == "اجاره‌نامهٔ رسمی محل سکونت"
    assert [f.first_name for f in p.spouses] == ["سارا"] and [f.first_name for f in p.children] == ["پارسا", "نیلوفر"]
    assert [x.kind for x in p.work_licences] == ["work"] and [x.kind for x in p.article32_licences] == ["article32"]
    assert all(x.valid for x in p.licences)
    assert [v.tracking_code for v in p.validity] == [full["renewal"].tracking_code, None]
    assert {r.tracking_code for r in p.requests} == {full["renewal"].tracking_code, full["transfer"].tracking_code}
    assert all(r.link.startswith("/request?code=") for r in p.requests)
    by_code = {r.code: r for r in p.rules}
    # The master's degree has no scan: the only rule not met.
    assert [r.code for r in p.rules if not r.ok] == ["degree_scan"]
    assert by_code["residence"].ok and by_code["legal_address"].ok and by_code["article32"].ok


def test_the_profile_opens_by_national_id_or_membership_number_in_any_digits(db, staff):
    full = make_full_member(db)
    nid = national_id_of(db, full["id"])
    with Session(db) as s:
        for key in (nid, nid.translate(str.maketrans("0123456789", "۰۱۲۳۴۵۶۷۸۹")), f"T-{nid}", f"t-{nid}"):
            assert mem.find_member_id(s, staff["expert"], key) == full["id"], key


def test_another_provinces_member_is_not_found_like_a_missing_one(db, staff):
    full = make_full_member(db)
    nid = national_id_of(db, full["id"])
    with Session(db) as s:
        for key in (full["id"], nid, 999_999):
            with pytest.raises(NotFound) as exc:
                mem.load_profile(s, staff["isfahan"], key)
            assert exc.value.message == "عضو پیدا نشد."
        assert mem.load_profile(s, staff["central"], full["id"]).main.id == full["id"]


def test_profile_documents_read_through_the_sha256_check(db, staff):
    from logic.documents import CorruptDocument, read_document
    full = make_full_member(db)
    with Session(db) as s:
        meta, content = read_document(s, staff["expert"], full["archive"])
        assert meta.request_id is None and content.startswith(b"%PDF")
        with pytest.raises(NotFound):
            read_document(s, staff["isfahan"], full["archive"])
    corrupt_blob(db, full["archive"])
    with Session(db) as s, pytest.raises(CorruptDocument):
        read_document(s, staff["expert"], full["archive"])


def test_a_lapsed_article32_without_work_licence_is_flagged(db, staff):
    full = make_full_member(db)
    with db.begin() as conn:
        conn.execute(sa.text("UPDATE work_licence SET issued_on = '2015-01-01', expires_on = '2020-01-01' "
                             "WHERE member_id = :m AND kind = 'work'"), {"m": full["id"]})
    with Session(db) as s:
        p = mem.load_profile(s, staff["expert"], full["id"])
    assert not next(r for r in p.rules if r.code == "article32").ok


# --- corrections ----------------------------------------------------------------------------------

def test_correct_main_info_is_audited_with_old_and_new_values(db, staff):
    full = make_full_member(db)
    out = changes.correct_main_info(db, staff["expert"], full["id"], {"first_name": "علي", "father_name": "حسين"},
                                    "  مغایرت با شناسنامه  ", seen={"first_name": "علی", "father_name": "حسن"})
    assert out.changed == ("father_name",) and "اصلاح شد" in out.message
    with Session(db) as s:
        p = mem.load_profile(s, staff["expert"], full["id"])
    assert p.main.first_name == "علی" and p.main.father_name == "حسین"  # normalised: Arabic ي to Persian ی
    (event,) = audit_rows(db, "member_corrected")
    assert event["actor_id"] == staff["expert"].id and event["province_id"] == TEHRAN_ID
    assert event["entity"] == "member" and event["entity_id"] == str(full["id"])
    assert event["data"]["reason"] == "مغایرت با شناسنامه"
    # «علي» normalises to the same «علی»: only the father's name actually changed.
    assert event["data"]["old"] == {"father_name": "حسن"} and event["data"]["new"] == {"father_name": "حسین"}


def test_correct_main_info_validates_the_national_id_and_changes_nothing_on_bad_input(db, staff):
    full = make_full_member(db)
    before = national_id_of(db, full["id"])
    other = make_member(db, ISFAHAN_ID)
    cases = [({"national_id": "1111111111"}, "تکرار"), ({"national_id": "0013542418"}, "کنترل"),
             ({"national_id": "12345"}, "۱۰ رقم"), ({"national_id": national_id_of(db, other)}, "عضو دیگری"),
             ({"first_name": ""}, "خالی"), ({"first_name": "علی۲"}, "حروف"), ({"gender": "x"}, "جنسیت"),
             ({"birth_date": date.today() + timedelta(days=2)}, "آینده"), ({"membership_no": "1"}, "اصلاح‌شدنی"),
             ({"residence_proof": None}, "سکونت"),  # born in Isfahan: a proof is needed
             ({"residence_proof": "passport"}, "پذیرفته")]
    for edit, words in cases:
        with pytest.raises((ValidationError, Conflict)) as exc:
            changes.correct_main_info(db, staff["expert"], full["id"], edit, "دلیل")
        assert words in exc.value.message, (edit, exc.value.message)
    with pytest.raises(ValidationError):
        changes.correct_main_info(db, staff["expert"], full["id"], {"first_name": "رضا"}, "   ")  # no reason
    with pytest.raises(ValidationError, match="تغییری"):
        changes.correct_main_info(db, staff["expert"], full["id"], {"first_name": "علی"}, "دلیل")
    assert national_id_of(db, full["id"]) == before and audit_rows(db) == []


def test_a_valid_national_id_correction_and_the_residence_rule(db, staff):
    full = make_full_member(db)
    changes.correct_main_info(db, staff["head"], full["id"], {"national_id": "۰۰۱۳۵۴۲۴۱۹"}, "اشتباه تایپی")
    assert national_id_of(db, full["id"]) == "0013542419"
    # Born in this province after all: the proof may go.
    changes.correct_main_info(db, staff["expert"], full["id"], {"birth_province_id": TEHRAN_ID,
                                                                "residence_proof": None}, "محل تولد")
    with Session(db) as s:
        assert not mem.load_profile(s, staff["expert"], full["id"]).main.born_elsewhere


def _member_row(db, member_id: int):
    with db.connect() as c:
        return c.execute(sa.text("SELECT national_id, birth_province_id, residence_proof FROM member WHERE id = :m"),
                         {"m": member_id}).mappings().one()


def test_the_birth_province_comes_from_a_known_national_id_prefix(db, staff):
    full = make_full_member(db)  # lives in Tehran, born in Isfahan (with a residence proof)
    tehran_id = national_id_in_province(TEHRAN_ID, 12_345)
    isfahan_id = national_id_in_province(ISFAHAN_ID, 12_345)
    # A corrected ID issued in Tehran brings its province with it.
    out = changes.correct_main_info(db, staff["expert"], full["id"], {"national_id": tehran_id}, "اشتباه تایپی")
    assert out.changed == ("national_id", "birth_province_id")
    assert dict(_member_row(db, full["id"])) == {"national_id": tehran_id, "birth_province_id": TEHRAN_ID,
                                                 "residence_proof": "insurance_list"}
    (event,) = audit_rows(db, "member_corrected")
    assert event["data"]["new"] == {"national_id": tehran_id, "birth_province_id": TEHRAN_ID}
    assert event["data"]["old"]["birth_province_id"] == ISFAHAN_ID
    # A birth province that contradicts the ID is refused, alone or with the ID, and nothing changes.
    for edit in ({"birth_province_id": ISFAHAN_ID},
                 {"national_id": isfahan_id, "birth_province_id": TEHRAN_ID},
                 {"first_name": "رضا", "birth_province_id": ISFAHAN_ID}):
        with pytest.raises(ValidationError) as err:
            changes.correct_main_info(db, staff["expert"], full["id"], edit, "محل تولد")
        assert "از کد ملی گرفته می‌شود" in err.value.message, edit
        assert "اصفهان" in err.value.message or "تهران" in err.value.message
    assert _member_row(db, full["id"])["birth_province_id"] == TEHRAN_ID
    assert len(audit_rows(db, "member_corrected")) == 1
    # Agreeing with the ID is fine: an ID issued in Isfahan with its province.
    changes.correct_main_info(db, staff["expert"], full["id"], {"national_id": isfahan_id,
                                                                "birth_province_id": ISFAHAN_ID}, "سند")
    assert _member_row(db, full["id"])["birth_province_id"] == ISFAHAN_ID


def test_a_derived_birth_province_still_needs_the_residence_proof(db, staff):
    mid = make_member(db, TEHRAN_ID)  # born in Tehran, no residence proof
    with pytest.raises(ValidationError, match="اصفهان"):
        changes.correct_main_info(db, staff["expert"], mid, {"national_id": national_id_in_province(ISFAHAN_ID, 7)},
                                  "اشتباه تایپی")
    assert _member_row(db, mid)["birth_province_id"] == TEHRAN_ID and audit_rows(db) == []
    changes.correct_main_info(db, staff["expert"], mid, {"national_id": national_id_in_province(ISFAHAN_ID, 7),
                                                         "residence_proof": "insurance_list"}, "اشتباه تایپی")
    assert _member_row(db, mid)["birth_province_id"] == ISFAHAN_ID


def test_an_unknown_prefix_leaves_the_birth_province_free(db, staff):
    mid = make_member(db, TEHRAN_ID)
    unknown = make_national_id("100765432")  # no registry office has 100
    assert birth_province(unknown) is None
    changes.correct_main_info(db, staff["expert"], mid, {"national_id": unknown}, "سند")
    assert _member_row(db, mid)["birth_province_id"] == TEHRAN_ID
    changes.correct_main_info(db, staff["expert"], mid, {"birth_province_id": ISFAHAN_ID,
                                                         "residence_proof": "property_deed"}, "سند")
    assert _member_row(db, mid)["birth_province_id"] == ISFAHAN_ID


def test_a_stale_form_is_refused(db, staff):
    full = make_full_member(db)
    changes.correct_main_info(db, staff["head"], full["id"], {"last_name": "کریمی‌نژاد"}, "سند")
    with pytest.raises(Conflict) as exc:
        changes.correct_main_info(db, staff["expert"], full["id"], {"last_name": "کریمی‌پور"}, "سند",
                                  seen={"last_name": "کریمی"})
    assert "نام خانوادگی" in exc.value.message


def test_who_may_correct(db, staff):
    full = make_full_member(db)
    for who in ("manager", "finance", "board"):
        with pytest.raises(PermissionDenied):
            changes.correct_main_info(db, staff[who], full["id"], {"first_name": "رضا"}, "دلیل")
    with pytest.raises(NotFound):
        changes.correct_main_info(db, staff["isfahan"], full["id"], {"first_name": "رضا"}, "دلیل")
    changes.correct_main_info(db, staff["central"], full["id"], {"first_name": "رضا"}, "دلیل")
    central_plain_expert = make_staff(db, "c.plain", ["expert"], None)
    with pytest.raises(PermissionDenied):
        changes.correct_main_info(db, central_plain_expert, full["id"], {"first_name": "حسن"}, "دلیل")


def test_correct_education_keeps_article_45(db, staff):
    full = make_full_member(db)
    out = changes.correct_education(db, staff["expert"], full["bachelor"],
                                    {"specialisation": "زلزله", "verification_code": "۱۲۳۴-۵۶۷۸"}, "استعلام دانشگاه")
    assert set(out.changed) == {"specialisation", "verification_code"}
    (event,) = audit_rows(db, "education_corrected")
    assert event["data"]["old"]["specialisation"] == "سازه" and event["data"]["new"]["verification_code"] == "1234-5678"
    # An associate degree in one row is fine while the master's still qualifies...
    changes.correct_education(db, staff["expert"], full["bachelor"], {"level": "associate"}, "مدرک کاردانی است")
    # ...but not when no qualifying degree would be left.
    with pytest.raises(ValidationError) as exc:
        changes.correct_education(db, staff["expert"], full["master"], {"field": "حقوق", "specialisation": None},
                                  "رشته")
    assert "مادهٔ ۴۵" in exc.value.message
    with pytest.raises(ValidationError):
        changes.correct_education(db, staff["expert"], full["master"], {"level": "phd"}, "مقطع")
    with pytest.raises(ValidationError):
        changes.correct_education(db, staff["expert"], full["master"], {"verification_code": "کد!"}, "کد")
    with pytest.raises(NotFound):
        changes.correct_education(db, staff["isfahan"], full["master"], {"university": "شریف"}, "دلیل")
    assert len(audit_rows(db, "education_corrected")) == 2


def test_an_applicants_degree_may_be_corrected_below_the_membership_rule(db, staff):
    mid = make_member(db, TEHRAN_ID, status="applicant")
    eid = insert(db, "education", member_id=mid, level="bachelor", field="عمران")
    changes.correct_education(db, staff["expert"], eid, {"level": "associate"}, "مدرک کاردانی است")


def test_set_legal_address_keeps_exactly_one_in_one_transaction(db, staff):
    full = make_full_member(db)
    changes.set_legal_address(db, staff["expert"], full["home"], "نشانی تازهٔ مکاتبات")
    with db.connect() as c:
        legal = c.execute(sa.text("SELECT id FROM address WHERE member_id = :m AND is_legal"),
                          {"m": full["id"]}).scalars().all()
    assert legal == [full["home"]]
    (event,) = audit_rows(db, "legal_address_set")
    assert event["data"]["old"] == {"legal_address_id": full["legal"]}
    assert event["data"]["new"] == {"legal_address_id": full["home"]}
    with pytest.raises(ValidationError, match="هم‌اکنون"):
        changes.set_legal_address(db, staff["expert"], full["home"], "دوباره")
    with pytest.raises(NotFound):
        changes.set_legal_address(db, staff["isfahan"], full["legal"], "دلیل")
    with pytest.raises(NotFound):
        changes.set_legal_address(db, staff["expert"], 987654, "دلیل")


def test_set_legal_address_when_none_was_legal(db, staff):
    mid = make_member(db, TEHRAN_ID)
    aid = insert(db, "address", member_id=mid, province_id=TEHRAN_ID, city="تهران", line="خیابان", postal_code=None)
    changes.set_legal_address(db, staff["expert"], aid, "نخستین اقامتگاه قانونی")
    (event,) = audit_rows(db, "legal_address_set")
    assert event["data"]["old"] == {"legal_address_id": None}


def test_toggle_a_contact_with_a_reason(db, staff):
    full = make_full_member(db)
    changes.set_contact_active(db, staff["expert"], full["email"], False, "نشانی از کار افتاده")
    changes.set_contact_active(db, staff["expert"], full["old_mobile"], True, "عضو خواست")
    with pytest.raises(ValidationError):
        changes.set_contact_active(db, staff["expert"], full["email"], False, "دوباره")
    with pytest.raises(ValidationError):
        changes.set_contact_active(db, staff["expert"], full["email"], True, "")
    assert [e["action"] for e in audit_rows(db)] == ["contact_deactivated", "contact_activated"]
    with db.connect() as c:
        assert c.execute(sa.text("SELECT is_active FROM contact WHERE id = :i"), {"i": full["email"]}).scalar() is False
