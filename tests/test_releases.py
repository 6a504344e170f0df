"""Transparency releases: the figures (SQL aggregates over a known world), suppression in the
published tables, four eyes, frozen snapshots (the database refuses changes), corrections that
supersede, audit, province scope, and the CSV / XLSX files."""
from __future__ import annotations

import io
import json
from datetime import date, timedelta

import pytest
import sqlalchemy as sa
from openpyxl import load_workbook

from db.engine import session_scope
from bench.disclosure_attack import extended, narrowed
from domain import disclosure
from domain.disclosure import MARK
from domain.periods import range_period
from domain.errors import Conflict, NotFound, PermissionDenied, ValidationError
from domain.reference import ISFAHAN_ID, TEHRAN_ID
from logic import releases as rel
from tests.factories import ALL_TABLES, FIRST, LAST, add_licence, add_request, at, build_world, compose, g, make_member

FIELD_ROW = {f: i for i, f in enumerate(rel.FIELD_KEYS)}
CIVIL, ARCH, MECH, ELEC = (FIELD_ROW[f] for f in ("civil", "architecture", "mechanical", "electrical"))


@pytest.fixture
def world(db):
    return build_world(db)


def snapshot_of(db, release_id):
    with session_scope(db) as s:
        return rel.published_snapshot(s, release_id)


def draft_snapshot(db, actor, release_id):
    with session_scope(db) as s:
        return rel.board_snapshot(s, actor, release_id)


def tables_by_key(snapshot):
    return {t["key"]: t for t in snapshot["tables"]}


def published_grid(table):
    """A cross table as a reader has it: the body with the row totals, then the column totals."""
    return ([[*row, total] for row, total in zip(table["cells"], table["row_totals"])]
            + [[*table["column_totals"], table["total"]]])


def test_the_figures_come_from_the_data_and_small_counts_are_hidden(db, world):
    out = compose(db, world["board1"])
    t = tables_by_key(draft_snapshot(db, world["board1"], out.release_id))
    assert list(t) == ALL_TABLES
    with session_scope(db) as s:
        scope = rel.ReleaseScope(TEHRAN_ID, range_period(FIRST, LAST))
        raw = {"licences_issued": rel.raw_licences_issued(s, scope),
               "licences_renewed": rel.raw_licences_renewed(s, scope),
               "members_licence": rel.raw_members_licence(s, scope)}

    issued = t["licences_issued"]
    assert issued["columns"] == ["پایه ۱", "پایه ۲", "پایه ۳"] and issued["rows"][CIVIL] == "عمران"
    assert raw["licences_issued"][CIVIL] == [6, 0, 7] and raw["licences_issued"][ARCH] == [0, 0, 2]
    assert issued["column_totals"] == [6, 5, 9] and issued["total"] == 20
    assert issued["cells"][MECH] == [0, 5, 0] and issued["row_totals"][MECH] == 5
    # The 2 in architecture and that row's total (2, a count 1–4 as well) carry the one mark.
    assert issued["cells"][ARCH][2] == MARK and issued["row_totals"][ARCH] == MARK

    renewed = t["licences_renewed"]
    assert renewed["total"] == 6 and renewed["cells"][MECH][1] == MARK and renewed["row_totals"][MECH] == MARK

    members = t["members_licence"]
    assert members["column_totals"] == [20, 7] and members["total"] == 27
    assert members["cells"][CIVIL][1] == MARK and members["cells"][ARCH][0] == MARK

    # Solved exactly from what is published, no hidden count 1–4 leaves out 0 or 5, nothing is pinned.
    for key in raw:
        grid = published_grid(t[key])
        assert t[key]["hidden"] == sum(v == MARK for row in grid for v in row) > 0
        assert narrowed(extended(raw[key]), grid) == {}, key

    new = t["new_members"]
    assert new["total"] == 7 and new["cells"][ARCH] == [MARK] and new["cells"][ELEC] == [MARK]
    assert t["membership_renewals"]["cells"][CIVIL] == [8] and t["membership_renewals"]["total"] == 8

    services = dict(zip(t["services"]["rows"], t["services"]["cells"]))
    assert services["عضویت جدید"] == [7, 7, 71.4, 2.0]          # 5 of 7 within 5 days; days 1,1,2,2,3,6,7
    # received 9; finished 6 + 1 rejected; the seed gives the licence and membership renewals no total: no share
    assert services["تمدید پروانه اشتغال"] == [9, 7, None, 3.0]
    assert services["تمدید عضویت"] == [9, 9, None, 0.4]
    assert services["انتقال عضویت"] == [0, 0, None, None]


def test_the_median_counts_working_days_of_the_provinces_office_hours(db, world):
    with db.begin() as c:  # a longer office day: the same hours are fewer days
        c.execute(sa.text("UPDATE province_setting SET opens = '07:00', closes = '21:00' WHERE province_id = :p"),
                  {"p": TEHRAN_ID})
    with session_scope(db) as s:
        snap = rel.preview(s, world["board1"], title="آزمون", province_id=TEHRAN_ID, period_from=FIRST,
                           period_to=LAST, tables=["services"])
    services = dict(zip(snap["tables"][0]["rows"], snap["tables"][0]["cells"]))
    assert services["عضویت جدید"][3] == 1.0  # 14 hours in 14-hour days


def test_a_national_release_counts_every_province_and_only_the_central_board_makes_one(db, world):
    with pytest.raises(PermissionDenied):
        compose(db, world["board1"], province_id=None)
    out = compose(db, world["central"], province_id=None, tables=["licences_issued", "membership_renewals"])
    t = tables_by_key(draft_snapshot(db, world["central"], out.release_id))
    assert t["licences_issued"]["total"] == 23
    with session_scope(db) as s:  # (civil's row total is hidden: other provinces add small counts)
        assert sum(rel.raw_licences_issued(s, rel.ReleaseScope(None, range_period(FIRST, LAST)))[CIVIL]) == 16
    assert t["membership_renewals"]["total"] == 11
    assert list(t) == ["licences_issued", "membership_renewals"]


def test_published_numbers_stay_the_same_when_the_data_under_them_change(db, world):
    out = compose(db, world["board1"])
    rel.approve_and_publish(db, world["board2"], out.release_id)
    before = snapshot_of(db, out.release_id)

    # New licences, renewals and members arrive for the same period after publication.
    for _ in range(9):
        m = make_member(db, TEHRAN_ID, field="traffic")
        add_licence(db, m, "traffic", 1, g(1403, 1, 9))
        add_request(db, m, TEHRAN_ID, "membership_renewal", submitted=at(1403, 1, 10), closed=at(1403, 1, 11))
    with db.begin() as c:
        c.execute(sa.text("UPDATE work_licence SET grade = 2 WHERE field = 'civil'"))

    assert snapshot_of(db, out.release_id) == before
    with session_scope(db) as s:
        now = rel.preview(s, world["board1"], title="دوباره", province_id=TEHRAN_ID, period_from=FIRST,
                          period_to=LAST, tables=ALL_TABLES)
    assert tables_by_key(now)["licences_issued"]["total"] == 29  # the data did change
    assert tables_by_key(before)["licences_issued"]["total"] == 20
    assert tables_by_key(snapshot_of(db, out.release_id))["licences_issued"]["total"] == 20


def test_the_composer_cannot_approve_in_the_service_nor_in_the_database(db, world):
    out = compose(db, world["board1"])
    with pytest.raises(PermissionDenied, match="خودش"):
        rel.approve_and_publish(db, world["board1"], out.release_id)
    with pytest.raises(sa.exc.IntegrityError, match="four_eyes"):
        with db.begin() as c:
            c.execute(sa.text("UPDATE stat_release SET approved_by = composed_by, status = 'published', "
                              "published_at = now() WHERE id = :i"), {"i": out.release_id})
    with session_scope(db) as s:
        assert s.scalar(sa.text("SELECT status FROM stat_release WHERE id = :i"), {"i": out.release_id}) == "draft"
    rel.approve_and_publish(db, world["board2"], out.release_id)
    with pytest.raises(Conflict):
        rel.approve_and_publish(db, world["board2"], out.release_id)


def test_the_database_refuses_to_change_or_remove_a_published_release(db, world):
    out = compose(db, world["board1"])
    rel.approve_and_publish(db, world["board2"], out.release_id)
    for statement in ("UPDATE stat_release SET snapshot = '{}'::jsonb WHERE id = :i",
                      "UPDATE stat_release SET title = 'دیگر' WHERE id = :i",
                      "DELETE FROM stat_release WHERE id = :i"):
        with pytest.raises(sa.exc.DBAPIError, match="frozen"):
            with db.begin() as c:
                c.execute(sa.text(statement), {"i": out.release_id})
    with pytest.raises(Conflict):
        rel.discard_draft(db, world["board1"], out.release_id)
    assert snapshot_of(db, out.release_id)["title"].startswith("آمار صدور پروانه")


def test_a_correction_supersedes_and_both_stay_visible(db, world):
    first = compose(db, world["board1"], tables=["licences_issued"])
    rel.approve_and_publish(db, world["board2"], first.release_id)
    with pytest.raises(ValidationError, match="دلیل اصلاح"):
        compose(db, world["board2"], supersedes_id=first.release_id)
    with pytest.raises(ValidationError, match="همان استان"):
        compose(db, world["central"], province_id=None, supersedes_id=first.release_id, note="اشتباه")
    fix = compose(db, world["board2"], tables=["licences_issued", "new_members"], supersedes_id=first.release_id,
                  note="جدول اعضای جدید از قلم افتاده بود")
    other = compose(db, world["board2"], supersedes_id=first.release_id, note="اصلاح دیگر")
    rel.approve_and_publish(db, world["board1"], fix.release_id)
    # A release is corrected once; a second correction corrects the newer one.
    with pytest.raises(Conflict, match="پیش‌تر"):
        rel.approve_and_publish(db, world["board1"], other.release_id)
    with pytest.raises(Conflict):
        compose(db, world["board1"], supersedes_id=first.release_id, note="باز هم")

    with session_scope(db) as s:
        public = {r.id: r for r in rel.published_releases(s)}
    assert set(public) == {first.release_id, fix.release_id}
    old, new = public[first.release_id], public[fix.release_id]
    assert old.superseded_by_id == fix.release_id and old.superseded_at is not None
    assert new.supersedes_id == first.release_id and new.note == "جدول اعضای جدید از قلم افتاده بود"
    assert new.superseded_by_id is None
    assert snapshot_of(db, fix.release_id)["note"] == "جدول اعضای جدید از قلم افتاده بود"
    assert [t["key"] for t in snapshot_of(db, first.release_id)["tables"]] == ["licences_issued"]


def test_every_write_is_audited_with_its_actor(db, world):
    out = compose(db, world["board1"])
    rel.approve_and_publish(db, world["board2"], out.release_id)
    dropped = compose(db, world["board2"], tables=["services"])
    rel.discard_draft(db, world["board1"], dropped.release_id)
    with db.connect() as c:
        rows = c.execute(sa.text("SELECT action, actor_id, entity_id, province_id FROM audit_event "
                                 "WHERE entity = 'stat_release' ORDER BY id")).all()
        assert c.execute(sa.text("SELECT count(*) FROM stat_release")).scalar() == 1
    assert [tuple(r) for r in rows] == [
        ("release_composed", world["board1"].id, str(out.release_id), TEHRAN_ID),
        ("release_published", world["board2"].id, str(out.release_id), TEHRAN_ID),
        ("release_composed", world["board2"].id, str(dropped.release_id), TEHRAN_ID),
        ("release_discarded", world["board1"].id, str(dropped.release_id), TEHRAN_ID),
    ]


def test_only_the_board_of_the_province_composes_and_approves(db, world):
    with pytest.raises(PermissionDenied):
        compose(db, world["expert"])
    with pytest.raises(PermissionDenied):
        compose(db, world["isfahan"])
    out = compose(db, world["board1"])
    with pytest.raises(PermissionDenied):
        rel.approve_and_publish(db, world["isfahan"], out.release_id)
    with pytest.raises(PermissionDenied):
        rel.approve_and_publish(db, world["expert"], out.release_id)
    with session_scope(db) as s:
        assert rel.board_releases(s, world["isfahan"]) == []
        assert [r.id for r in rel.board_releases(s, world["central"])] == [out.release_id]
        with pytest.raises(PermissionDenied):
            rel.board_snapshot(s, world["isfahan"], out.release_id)
    rel.approve_and_publish(db, world["central"], out.release_id)  # the central board sees all provinces


@pytest.mark.parametrize("kw,message", [
    ({"period_from": LAST, "period_to": FIRST}, "پیش از آغاز"),
    ({"period_to": date.today() + timedelta(days=3)}, "هنوز نرسیده"),
    ({"period_from": None}, "تاریخ آغاز و پایان"),
    ({"tables": []}, "دست‌کم یک جدول"),
    ({"tables": ["salaries"]}, "ناشناخته"),
    ({"title": "  \u200f "}, "عنوان"),
])
def test_bad_compositions_are_refused_in_persian(db, world, kw, message):
    with pytest.raises(ValidationError, match=message):
        compose(db, world["board1"], **kw)
    with db.connect() as c:
        assert c.execute(sa.text("SELECT count(*) FROM stat_release")).scalar() == 0


def test_no_personal_data_and_no_hidden_value_is_ever_stored_or_shown(db, world):
    out = compose(db, world["board1"])
    rel.approve_and_publish(db, world["board2"], out.release_id)
    snap = snapshot_of(db, out.release_id)
    text = json.dumps(snap, ensure_ascii=False)
    with db.connect() as c:
        people = c.execute(sa.text("SELECT national_id, membership_no, first_name, last_name FROM member")).all()
        staff = c.execute(sa.text("SELECT full_name, username FROM staff_user")).all()
    for row in [*people, *staff]:
        for value in row:
            if value:
                assert value not in text, value
    files = rel.release_csv(snap).decode("utf-8-sig") + rel.table_csv(snap["tables"][0]).decode("utf-8-sig")
    assert "عمرانی" not in files and "tehran.board" not in files
    # Hidden entries carry the mark only: the architecture count (2) is nowhere in that row.
    issued = tables_by_key(snap)["licences_issued"]
    assert issued["cells"][ARCH][2] == MARK and 2 not in [*issued["cells"][ARCH], issued["row_totals"][ARCH]]


def test_drafts_are_not_public(db, world):
    out = compose(db, world["board1"])
    with session_scope(db) as s:
        assert rel.published_releases(s) == []
        with pytest.raises(NotFound):
            rel.published_snapshot(s, out.release_id)


def test_public_lists_filter_by_province(db, world):
    tehran = compose(db, world["board1"], tables=["services"])
    rel.approve_and_publish(db, world["board2"], tehran.release_id)
    national = compose(db, world["central"], province_id=None, tables=["services"])
    rel.approve_and_publish(db, world["central2"], national.release_id)
    with session_scope(db) as s:
        assert rel.published_provinces(s) == [None, TEHRAN_ID]
        assert [r.id for r in rel.published_releases(s, TEHRAN_ID)] == [tehran.release_id]
        assert [r.id for r in rel.published_releases(s, rel.NATIONAL)] == [national.release_id]
        assert [r.id for r in rel.published_releases(s, ISFAHAN_ID)] == []
        assert {r.id for r in rel.published_releases(s)} == {tehran.release_id, national.release_id}


def test_the_files_are_csv_with_a_bom_and_a_right_to_left_workbook(db, world):
    out = compose(db, world["board1"])
    rel.approve_and_publish(db, world["board2"], out.release_id)
    snap = snapshot_of(db, out.release_id)
    data = rel.release_csv(snap)
    assert data.startswith(b"\xef\xbb\xbf")
    lines = data.decode("utf-8-sig").splitlines()
    assert lines[0] == "جدول,سطر,ستون,مقدار"
    issued_title = rel.TABLES["licences_issued"].title_fa
    assert f"{issued_title},تأسیسات مکانیکی,جمع,5" in lines
    assert f"{issued_title},معماری,پایه ۳,×" in lines and f"{issued_title},معماری,جمع,×" in lines
    assert f"{issued_title},جمع,جمع,20" in lines

    table = rel.table_csv(tables_by_key(snap)["members_licence"]).decode("utf-8-sig").splitlines()
    assert table[0] == "رشته,دارای پروانهٔ معتبر,فاقد پروانهٔ معتبر,جمع"
    assert table[-1] == "جمع,20,7,27"

    wb = load_workbook(io.BytesIO(rel.release_xlsx(snap)))
    assert wb.sheetnames[0] == "روش‌شناسی" and len(wb.sheetnames) == 1 + len(ALL_TABLES)
    assert all(ws.sheet_view.rightToLeft for ws in wb.worksheets)
    method = [r[0] for r in wb["روش‌شناسی"].iter_rows(values_only=True)]
    assert any("۱۴۰۳/۰۱/۰۱" in line for line in method) and any("«×»" in line for line in method)
    sheet = list(wb["پروانه‌های صادرشده"].iter_rows(values_only=True))
    assert sheet[2][0] == "عمران" and sheet[-1] == ("جمع", 6, 5, 9, 20)


@pytest.mark.parametrize("first, last", [(date(1, 1, 1), date(2026, 1, 1)), (date(2026, 1, 1), date(9999, 12, 31)),
                                         (date(1900, 1, 1), date(1910, 1, 1))])
def test_a_period_no_jalali_date_can_name_is_refused_in_persian(db, world, first, last):
    with session_scope(db) as s, pytest.raises(ValidationError) as refused:
        rel.preview(s, world["board1"], title="آزمون", province_id=TEHRAN_ID, period_from=first, period_to=last,
                    tables=["services"])
    assert "دوره" in refused.value.message


def test_a_release_published_with_two_marks_reads_with_the_one_mark():
    """Releases are frozen: one published before the one-mark rule keeps its stored «<5», but the
    page and the files show it as «×» like every other hidden entry, and the methodology says so."""
    old_rule = "هر تعداد از ۱ تا ۴ نشان داده نمی‌شود و به جای آن «کمتر از ۵» (در فایل‌ها «<5») می‌آید."
    table = {"key": "licences_issued", "kind": "cross", "title": "پروانه‌ها", "counted": "", "row_header": "رشته",
             "rows": ["عمران", "معماری"], "columns": ["پایه ۱", "پایه ۲"], "cells": [["×", "<5"], [7, 9]],
             "row_totals": [6, 16], "column_totals": [12, 10], "total": 22,
             "hidden": {"small": 1, "complementary": 1}}
    snap = {"title": "قدیمی", "period": {"label": "دوره"}, "province": "تهران", "computed_at_fa": "۱۴۰۳",
            "methodology": [], "rule": old_rule, "tables": [table]}
    _, rows = rel.table_rows(table)
    assert [rows[0]["c1"], rows[0]["c2"]] == [MARK, MARK]
    assert "<5" not in rel.release_csv(snap).decode("utf-8-sig")
    assert any("«×»" in line and "کمتر از ۵" in line for line in rel.methodology_lines(snap))


def test_a_table_the_check_can_narrow_is_not_composed(db, world, monkeypatch):
    def refuse(cells, **kw):
        raise disclosure.UnprotectedTable("narrowed")
    monkeypatch.setattr(disclosure, "suppress_table", refuse)
    with pytest.raises(ValidationError, match="بررسی محرمانگی"):
        compose(db, world["board1"])
    with session_scope(db) as s:
        assert rel.board_releases(s, world["board1"]) == []
