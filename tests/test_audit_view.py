"""The audit page: request events and other audited writes, filtered and scoped."""
from __future__ import annotations

from datetime import date, datetime

import pytest

from db.engine import session_scope
from domain.errors import PermissionDenied
from domain.jalali import TEHRAN
from domain.reference import ISFAHAN_ID, TEHRAN_ID
from logic import workflow as wf
from logic.audit_view import AuditFilter, audit_page
from logic.staff import set_active
from tests.apptest import signed_in, texts
from tests.factories import file_request, make_member, make_staff

SAT_0800 = datetime(2026, 11, 21, 8, 0, tzinfo=TEHRAN)


@pytest.fixture
def world(db):
    w = {"manager": make_staff(db, "t.manager", ["manager"], TEHRAN_ID, "مدیر تهران"),
         "admin": make_staff(db, "admin", ["admin"], None, "مدیر سامانه"),
         "expert": make_staff(db, "t.expert", ["expert"], TEHRAN_ID, "کارشناس تهران"),
         "i.expert": make_staff(db, "i.expert", ["expert"], ISFAHAN_ID, "کارشناس اصفهان")}
    w["t"] = file_request(db, make_member(db, TEHRAN_ID), "transfer", submitted_at=SAT_0800)
    w["i"] = file_request(db, make_member(db, ISFAHAN_ID), "transfer", submitted_at=SAT_0800)
    wf.approve(db, w["expert"], w["t"].request_id, 1, checklist=[True] * 3, now=SAT_0800)
    wf.approve(db, w["i.expert"], w["i"].request_id, 1, checklist=[True] * 3, now=SAT_0800)
    set_active(db, w["admin"], w["i.expert"].id, False)
    return w


def test_a_manager_sees_only_the_own_province(db, world):
    with session_scope(db) as s:
        rows, total = audit_page(s, world["manager"], AuditFilter())
    codes = {r["درخواست"] for r in rows}
    assert world["t"].tracking_code in codes and world["i"].tracking_code not in codes
    assert total == 2  # Tehran: submit and approve; the Isfahan deactivation is not Tehran's
    with session_scope(db) as s:
        _, everything = audit_page(s, world["admin"], AuditFilter())
    assert everything == 5


def test_filters_by_person_action_request_and_dates(db, world):
    with session_scope(db) as s:
        by_person, _ = audit_page(s, world["admin"], AuditFilter(actor_id=world["expert"].id))
        by_action, _ = audit_page(s, world["admin"], AuditFilter(action="staff_deactivated"))
        by_code, _ = audit_page(s, world["admin"], AuditFilter(tracking_code=world["i"].tracking_code))
        none, n = audit_page(s, world["admin"], AuditFilter(date_to=date(2026, 11, 20)))
    assert [r["اقدام"] for r in by_person] == ["تأیید"]
    assert [r["اقدام"] for r in by_action] == ["غیرفعال‌سازی کاربر"]
    assert len(by_code) == 2 and n == 0


def test_experts_may_not_read_the_audit_log(db, world):
    with session_scope(db) as s, pytest.raises(PermissionDenied):
        audit_page(s, world["expert"], AuditFilter())


def test_audit_page_for_a_manager(db_url, db, world):
    at = signed_in(db_url, "t.manager").switch_page("pages/audit.py").run()
    assert "گزارش رویدادها" in texts(at.title)
    assert not at.exception
    at.text_input(key="audit-code").input(world["t"].tracking_code).run()
    assert any("۲" in c for c in texts(at.caption))
