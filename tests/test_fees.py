"""Fees on a real database: the renewal window at submission, the expert's assessments (immutable
versions, corrections with a reason), finance approval, tariff changes and their audit, discount
rules as data, and fees taken from the tariff when a payment stage opens."""
from __future__ import annotations

from datetime import date, timedelta

import jdatetime
import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from domain.errors import Conflict, InvalidTransition, PermissionDenied, StaleRequest, ValidationError
from domain.reference import ISFAHAN_ID, TEHRAN_ID
from logic import fees, tariffs
from logic import workflow as wf
from logic.payments import confirm_payment, pending_finance_approvals
from tests.factories import (END_1402, FEES, SAT_0800, add_tariff, assessments, file_request, make_member,
                             make_staff, request, rows, set_finance_required)
from tests.factories import request_events as events

END_1385 = date(2007, 3, 20)   # 1385/12/29
END_1404 = date(2026, 3, 20)   # 1404/12/29
END_1405 = date(2027, 3, 20)   # 1405/12/29


@pytest.fixture
def staff(db):
    t = TEHRAN_ID
    return {
        "expert": make_staff(db, "t.expert", ["expert"], t, "کارشناس یکم"),
        "expert2": make_staff(db, "t.expert2", ["expert"], t, "کارشناس دوم"),
        "final": make_staff(db, "t.final", ["final_reviewer"], t, "بررسی نهایی"),
        "finance": make_staff(db, "t.finance", ["finance"], t, "مالی تهران"),
        "admin": make_staff(db, "t.admin", ["admin"], t, "مدیر سامانهٔ تهران"),
        "central_admin": make_staff(db, "admin", ["admin"], None, "مدیر سامانهٔ مرکزی"),
        "isfahan": make_staff(db, "i.expert", ["expert", "finance", "admin"], ISFAHAN_ID, "کارشناس اصفهان"),
        "committee": make_staff(db, "t.committee", ["committee"], t, "کمیته"),
    }


@pytest.fixture
def restore_discounts(db, owner_engine):
    yield
    with owner_engine.begin() as c:  # the app role may add and turn off rules, not delete them
        c.execute(sa.text("DELETE FROM discount_rule WHERE id > 1"))
        c.execute(sa.text("UPDATE discount_rule SET is_active = true WHERE id = 1"))


def renewal(db, valid_until=END_1402, at=SAT_0800) -> int:
    return file_request(db, make_member(db, TEHRAN_ID, valid_until=valid_until), "membership_renewal",
                     submitted_at=at).request_id


# --- the renewal window -----------------------------------------------------------------------------

def test_a_renewal_before_the_window_is_refused_with_the_day_it_opens(db, staff):
    member = make_member(db, TEHRAN_ID, valid_until=END_1405)
    with pytest.raises(ValidationError) as err:
        file_request(db, member, "membership_renewal", submitted_at=SAT_0800)
    assert "۱۴۰۵/۱۰/۲۹" in err.value.message  # 60 days before 1405/12/29
    assert rows(db, "SELECT id FROM request") == []
    with db.begin() as c:
        c.execute(sa.text("UPDATE province_setting SET renewal_window_days = 120 WHERE province_id = 8"))
    assert file_request(db, member, "membership_renewal", submitted_at=SAT_0800).status == "open"


def test_a_lapsed_membership_can_always_be_renewed(db, staff):
    assert request(db, renewal(db, valid_until=END_1385))["stage_code"] == "fee_determination"


# --- the expert's determination ---------------------------------------------------------------------

def test_determination_saves_an_assessment_without_making_the_form_stale(db, staff):
    for y in (1403, 1404, 1405):
        add_tariff(db, y, annual_fee=4_000_000 + (y - 1403) * 1_000_000)
    t1405 = rows(db, "SELECT id FROM fee_tariff WHERE jalali_year = 1405")[0]["id"]
    rid = renewal(db)
    out = fees.determine_renewal_fee(db, staff["expert"], rid, 1, 1405, "۱٬۵۰۰٬۰۰۰", "بدهی سال ۱۴۰۱",
                                     now=SAT_0800 + timedelta(hours=1))
    assert out.version == 1 and "۱۶٬۵۰۰٬۰۰۰" in out.message
    [a] = assessments(db, rid)
    assert a["lines"] == [{"year": 1403, "fee": 4_000_000, "discount": 0, "amount": 4_000_000},
                          {"year": 1404, "fee": 5_000_000, "discount": 0, "amount": 5_000_000},
                          {"year": 1405, "fee": 6_000_000, "discount": 0, "amount": 6_000_000}]
    assert (a["prior_debt"], a["total"], a["years"]) == (1_500_000, 16_500_000, 3)
    assert a["new_valid_until"] == END_1405 and a["tariff_id"] == t1405
    assert a["note"] == "بدهی سال 1401" and a["finance_status"] == "pending"  # digits stored ASCII
    assert a["created_by"] == staff["expert"].id
    evs = events(db, rid)
    assert [(e["action"], e["version"]) for e in evs] == [("submit", 1), ("fee_assessed", 1)]
    assert evs[-1]["data"]["total"] == 16_500_000
    assert request(db, rid)["version"] == 1
    # The expert's form (version 1) is still valid for approving.
    wf.approve(db, staff["expert"], rid, 1, checklist=[True], now=SAT_0800 + timedelta(hours=2))
    assert request(db, rid)["stage_code"] == "finance_approval"


def test_a_correction_is_a_new_version_with_a_reason_and_the_old_one_never_changes(db, owner_engine, staff):
    add_tariff(db, 1403)
    add_tariff(db, 1404)
    rid = renewal(db)
    fees.determine_renewal_fee(db, staff["expert"], rid, 1, 1403, 0, None)
    with pytest.raises(ValidationError, match="دلیل اصلاح"):
        fees.determine_renewal_fee(db, staff["expert"], rid, 1, 1404, 0, None)
    with pytest.raises(ValidationError, match="دلیل اصلاح"):
        fees.determine_renewal_fee(db, staff["expert"], rid, 1, 1404, 0, None, reason="   ")
    fees.determine_renewal_fee(db, staff["expert"], rid, 1, 1404, "200000", None,
                               reason="عضو تمدید تا پایان ۱۴۰۴ را خواست")
    v1, v2 = assessments(db, rid)
    assert (v1["version"], v1["total"], v1["reason"]) == (1, 5_000_000, None)
    assert (v2["version"], v2["total"], v2["reason"]) == (2, 10_200_000, "عضو تمدید تا پایان 1404 را خواست")
    assert [e["action"] for e in events(db, rid)] == ["submit", "fee_assessed", "fee_assessed"]
    assert events(db, rid)[-1]["reason"] == "عضو تمدید تا پایان 1404 را خواست"
    # The database itself refuses to change or delete an assessment ...
    # (the app role has no DELETE privilege at all; the trigger stops the owner too).
    for engine, stmt, refusal in ((db, "UPDATE fee_assessment SET total = 1 WHERE version = 1", "immutable"),
                                  (db, "UPDATE fee_assessment SET lines = '[]' WHERE version = 1", "immutable"),
                                  (db, "DELETE FROM fee_assessment WHERE version = 1", "permission denied"),
                                  (owner_engine, "DELETE FROM fee_assessment WHERE version = 1", "immutable")):
        with pytest.raises(sa.exc.DBAPIError, match=refusal):
            with engine.begin() as c:
                c.execute(sa.text(stmt))
    # ... except finance's mark.
    with db.begin() as c:
        c.execute(sa.text("UPDATE fee_assessment SET finance_status = 'approved' WHERE version = 1"))
    assert assessments(db, rid)[0]["finance_status"] == "approved"


def test_who_may_determine_and_when(db, staff):
    add_tariff(db, 1403)
    rid = renewal(db)
    with pytest.raises(PermissionDenied):
        fees.determine_renewal_fee(db, staff["finance"], rid, 1, 1403, 0, None)
    with pytest.raises(PermissionDenied, match="استان"):
        fees.determine_renewal_fee(db, staff["isfahan"], rid, 1, 1403, 0, None)
    with pytest.raises(ValidationError, match="۱۴۰۴"):
        fees.determine_renewal_fee(db, staff["expert"], rid, 1, 1404, 0, None)  # no 1404 tariff
    with pytest.raises(ValidationError, match="بدهی پیشین"):
        fees.determine_renewal_fee(db, staff["expert"], rid, 1, 1403, "-5", None)
    with pytest.raises(ValidationError, match="بدهی پیشین"):
        fees.determine_renewal_fee(db, staff["expert"], rid, 1, 1403, "12.5", None)
    with pytest.raises(ValidationError):
        fees.determine_renewal_fee(db, staff["expert"], rid, 1, 1402, 0, None)  # nothing to renew
    assert assessments(db, rid) == []
    wf.claim(db, staff["expert2"], rid, 1)
    with pytest.raises(StaleRequest):
        fees.determine_renewal_fee(db, staff["expert"], rid, 1, 1403, 0, None)
    with pytest.raises(InvalidTransition, match="برداشته"):
        fees.determine_renewal_fee(db, staff["expert"], rid, 2, 1403, 0, None)
    fees.determine_renewal_fee(db, staff["expert2"], rid, 2, 1403, 0, None)
    wf.approve(db, staff["expert2"], rid, 2, checklist=[True])
    with pytest.raises(InvalidTransition):
        fees.determine_renewal_fee(db, staff["expert2"], rid, 3, 1403, 0, None, reason="اصلاح")
    # Licence-renewal years cannot be set on a membership renewal, nor the other way round.
    with pytest.raises(InvalidTransition):
        fees.determine_licence_renewal_fee(db, staff["expert2"], rid, 3, [(1405, False)])


def test_a_member_without_a_recorded_validity_cannot_be_assessed(db, staff):
    add_tariff(db, 1405)
    rid = file_request(db, make_member(db, TEHRAN_ID), "membership_renewal", submitted_at=SAT_0800).request_id
    with pytest.raises(ValidationError, match="اعتبار عضویت"):
        fees.determine_renewal_fee(db, staff["expert"], rid, 1, 1405, 0, None)


def test_the_discount_comes_from_the_active_rules(db, staff, restore_discounts):
    for y in (1386, 1387):
        add_tariff(db, y, annual_fee=1_000_010)
    rid = renewal(db, valid_until=END_1385)
    fees.determine_renewal_fee(db, staff["expert"], rid, 1, 1387, 0, None)
    assert [l["discount"] for l in assessments(db, rid)[0]["lines"]] == [50_001, 50_001]
    # The central administrator turns the rule off: the next determination has no discount ...
    with pytest.raises(PermissionDenied):
        tariffs.set_discount_rule_active(db, staff["admin"], 1, False, "پایان مصوبه")  # provincial admin
    tariffs.set_discount_rule_active(db, staff["central_admin"], 1, False, "پایان اعتبار مصوبه")
    fees.determine_renewal_fee(db, staff["expert"], rid, 1, 1387, 0, None, reason="قاعدهٔ تخفیف تغییر کرد")
    v1, v2 = assessments(db, rid)
    assert [l["discount"] for l in v2["lines"]] == [0, 0]
    assert v1["total"] == 2 * 950_009  # ... and the earlier version keeps its amounts.
    # ... and a new rule applies as soon as it is added.
    tariffs.add_discount_rule(db, staff["central_admin"], "تخفیف آزمایشی", "۱۳۸۰", "1386", "۱۰")
    fees.determine_renewal_fee(db, staff["expert"], rid, 1, 1387, 0, None, reason="قاعدهٔ تازه")
    assert [l["discount"] for l in assessments(db, rid)[2]["lines"]] == [100_001, 100_001]
    audit = rows(db, "SELECT action FROM audit_event WHERE entity = 'discount_rule' ORDER BY id")
    assert [a["action"] for a in audit] == ["discount_rule_deactivated", "discount_rule_added"]



def test_a_mid_year_validity_end_is_renewed_from_the_next_jalali_year_with_the_discount(db, staff):
    """Records kept before the national portal end on any day (here 1385/06/15): the expert's
    determination counts the years from 1386 and the central council's 1381-1388 discount applies."""
    mid_1385 = jdatetime.date(1385, 6, 15).togregorian()
    for y in (1386, 1387, 1388):
        add_tariff(db, y, annual_fee=2_000_000)
    rid = renewal(db, valid_until=mid_1385)
    out = fees.determine_renewal_fee(db, staff["expert"], rid, 1, 1388, "۱۰۰٬۰۰۰", None,
                                     now=SAT_0800 + timedelta(hours=1))
    assert "۳ سال" in out.message
    [a] = assessments(db, rid)
    assert [(l["year"], l["discount"], l["amount"]) for l in a["lines"]] == [
        (1386, 100_000, 1_900_000), (1387, 100_000, 1_900_000), (1388, 100_000, 1_900_000)]
    assert a["total"] == 3 * 1_900_000 + 100_000
    assert a["new_valid_until"] == jdatetime.date(1388, 12, 29).togregorian()
    with Session(db) as s:
        view = fees.fee_view(s, staff["expert"], rid)
    assert view.valid_until == mid_1385 and view.can_edit


# --- finance approval ---------------------------------------------------------------------------

def test_finance_approves_the_amount_before_it_can_be_paid(db, staff):
    add_tariff(db, 1403)
    rid = renewal(db)
    fees.determine_renewal_fee(db, staff["expert"], rid, 1, 1403, 0, None)
    wf.approve(db, staff["expert"], rid, 1, checklist=[True])
    [pending] = pending_finance_approvals_for(db, staff["finance"])
    assert (pending.request_id, pending.total, pending.assessment_version) == (rid, 5_000_000, 1)
    assert pending_finance_approvals_for(db, staff["isfahan"]) == []
    with pytest.raises(ValidationError, match="امور مالی"):
        confirm_payment(db, staff["finance"], rid, "REF000001", 5_000_000)
    with pytest.raises(PermissionDenied):
        wf.approve(db, staff["expert"], rid, 2, checklist=[True])
    wf.approve(db, staff["finance"], rid, 2, checklist=[True])
    [a] = assessments(db, rid)
    assert (a["finance_status"], a["finance_by"]) == ("approved", staff["finance"].id)
    assert request(db, rid)["stage_code"] == "payment"
    assert pending_finance_approvals_for(db, staff["finance"]) == []


def pending_finance_approvals_for(db, actor):
    from db.engine import session_scope
    with session_scope(db) as s:
        return pending_finance_approvals(s, actor)


def test_finance_rejection_needs_a_reason_and_ends_the_request(db, staff):
    add_tariff(db, 1403)
    rid = renewal(db)
    fees.determine_renewal_fee(db, staff["expert"], rid, 1, 1403, 0, None)
    wf.approve(db, staff["expert"], rid, 1, checklist=[True])
    with pytest.raises(ValidationError):
        wf.reject(db, staff["finance"], rid, 2, "")
    wf.reject(db, staff["finance"], rid, 2, "بدهی پیشین درست محاسبه نشده است")
    assert assessments(db, rid)[0]["finance_status"] == "rejected"
    assert request(db, rid)["status"] == "rejected"


def test_without_finance_approval_the_assessment_is_payable_at_once(db, staff):
    set_finance_required(db, False)
    add_tariff(db, 1403)
    rid = renewal(db)
    fees.determine_renewal_fee(db, staff["expert"], rid, 1, 1403, 0, None)
    assert assessments(db, rid)[0]["finance_status"] == "not_required"
    wf.approve(db, staff["expert"], rid, 1, checklist=[True])
    assert request(db, rid)["stage_code"] == "payment"
    res = confirm_payment(db, staff["finance"], rid, "REF000002", "5,000,000")
    assert "تمدید" in res.message
    assert rows(db, "SELECT valid_until FROM member")[0]["valid_until"] == date(2025, 3, 20)  # 1403/12/30


# --- work-licence renewal -----------------------------------------------------------------------

def test_licence_renewal_years_are_free_or_paid_at_the_current_tariff(db, staff):
    add_tariff(db, 1405, licence_renewal_fee=3_000_000)
    member = make_member(db, TEHRAN_ID)
    rid = file_request(db, member, "licence_renewal", submitted_at=SAT_0800).request_id
    with pytest.raises(ValidationError):
        fees.determine_licence_renewal_fee(db, staff["expert"], rid, 1, [], now=SAT_0800)
    with pytest.raises(ValidationError):
        fees.determine_licence_renewal_fee(db, staff["expert"], rid, 1, [(1405, False), (1405, True)], now=SAT_0800)
    fees.determine_licence_renewal_fee(db, staff["expert"], rid, 1, [(1406, True), (1405, False), (1407, False)],
                                       "سال ۱۴۰۶ معاف است", now=SAT_0800)
    [a] = assessments(db, rid)
    assert [(l["year"], l["free"], l["amount"]) for l in a["lines"]] == [
        (1405, False, 3_000_000), (1406, True, 0), (1407, False, 3_000_000)]
    assert (a["total"], a["years"], a["finance_status"]) == (6_000_000, 3, "not_required")


def test_an_all_free_licence_renewal_skips_the_payment(db, staff):
    add_tariff(db, 1405)
    rid = file_request(db, make_member(db, TEHRAN_ID), "licence_renewal", submitted_at=SAT_0800).request_id
    fees.determine_licence_renewal_fee(db, staff["expert"], rid, 1, [(1405, True)], now=SAT_0800)
    assert assessments(db, rid)[0]["total"] == 0
    wf.approve(db, staff["expert"], rid, 1, checklist=[True], now=SAT_0800 + timedelta(hours=1))
    wf.approve(db, staff["final"], rid, 2, checklist=[True], now=SAT_0800 + timedelta(hours=2))
    assert request(db, rid)["stage_code"] == "licence_committee"


def test_licence_renewal_needs_the_current_years_tariff(db, staff):
    rid = file_request(db, make_member(db, TEHRAN_ID), "licence_renewal", submitted_at=SAT_0800).request_id
    with pytest.raises(ValidationError, match="۱۴۰۵"):
        fees.determine_licence_renewal_fee(db, staff["expert"], rid, 1, [(1405, False)], now=SAT_0800)


# --- fees from the tariff ---------------------------------------------------------------------------

@pytest.mark.parametrize("type_code,items", [
    ("card_reissue", ["card_fee"]),
    ("licence_issue", ["licence_issue_fee"]),
    ("article32_renewal", ["article32_renewal_fee"]),
])
def test_a_request_submitted_into_a_payment_stage_is_assessed_from_the_tariff(db, staff, type_code, items):
    tid = add_tariff(db, 1405)
    rid = file_request(db, make_member(db, TEHRAN_ID), type_code, submitted_at=SAT_0800).request_id
    [a] = assessments(db, rid)
    assert [l["item"] for l in a["lines"]] == items
    assert a["total"] == sum(FEES[i] for i in items)
    assert (a["tariff_id"], a["finance_status"], a["created_by"]) == (tid, "not_required", None)
    assert [e["action"] for e in events(db, rid)] == ["submit", "fee_assessed"]
    confirm_payment(db, staff["finance"], rid, f"REF{rid:06d}", a["total"], now=SAT_0800 + timedelta(hours=1))
    assert request(db, rid)["stage_code"] != "payment"


def test_new_membership_pays_entrance_annual_and_card_when_its_payment_opens(db, staff):
    add_tariff(db, 1405)
    rid = file_request(db, make_member(db, TEHRAN_ID, status="applicant"), "new_membership",
                    submitted_at=SAT_0800).request_id
    wf.approve(db, staff["expert"], rid, 1, checklist=[True] * 4, now=SAT_0800 + timedelta(hours=1))
    assert assessments(db, rid) == []
    wf.approve(db, staff["final"], rid, 2, checklist=[True] * 2, now=SAT_0800 + timedelta(hours=2))
    [a] = assessments(db, rid)
    assert [l["item"] for l in a["lines"]] == ["entrance_fee", "annual_fee", "card_fee"]
    assert a["total"] == 26_500_000 and a["new_valid_until"] == END_1405
    r = request(db, rid)
    assert (r["stage_code"], r["version"]) == ("payment", 3)
    # The fee is taken from the tariff as the payment stage is chosen, just before the approval lands.
    assert [(e["action"], e["version"]) for e in events(db, rid)][-2:] == [("fee_assessed", 2), ("approve", 3)]


def test_rating_is_assessed_after_the_member_completes_records(db, staff):
    add_tariff(db, 1405)
    rid = file_request(db, make_member(db, TEHRAN_ID), "rating", submitted_at=SAT_0800).request_id
    assert assessments(db, rid) == []
    wf.member_completed(db, rid, 1, now=SAT_0800 + timedelta(hours=1))
    assert assessments(db, rid)[0]["total"] == FEES["rating_fee"]


def test_without_a_tariff_the_payment_waits_and_is_assessed_once_the_tariff_exists(db, staff):
    rid = file_request(db, make_member(db, TEHRAN_ID), "card_reissue", submitted_at=SAT_0800).request_id
    assert assessments(db, rid) == []
    with pytest.raises(ValidationError, match="تعرفه"):
        confirm_payment(db, staff["finance"], rid, "REF000003", 1_500_000, now=SAT_0800 + timedelta(hours=1))
    add_tariff(db, 1405)
    with pytest.raises(ValidationError, match="برابر"):
        confirm_payment(db, staff["finance"], rid, "REF000003", 1_000_000, now=SAT_0800 + timedelta(hours=1))
    assert assessments(db, rid) == []  # the refused attempt left nothing behind
    confirm_payment(db, staff["finance"], rid, "REF000003", 1_500_000, now=SAT_0800 + timedelta(hours=1))
    assert assessments(db, rid)[0]["total"] == 1_500_000
    assert request(db, rid)["stage_code"] == "card_issue"


def test_renewals_are_not_assessed_from_the_tariff(db, staff):
    add_tariff(db, 1405)
    from db.engine import session_scope
    from db.models import Request
    from logic.assessments import assess_from_tariff
    rid = renewal(db)
    with session_scope(db) as s:
        assert assess_from_tariff(s, s.get(Request, rid), SAT_0800) is None
    assert assessments(db, rid) == []


# --- tariffs ------------------------------------------------------------------------------------

AMOUNTS_FA = {"entrance_fee": "۲۰٬۰۰۰٬۰۰۰", "annual_fee": "5,000,000", "card_fee": "۱۵۰۰۰۰۰",
              "licence_issue_fee": "8000000", "licence_renewal_fee": "۳,۰۰۰,۰۰۰", "article32_renewal_fee": "4000000",
              "rating_fee": "12٬000٬000"}


def audit(db, entity="fee_tariff"):
    return rows(db, "SELECT * FROM audit_event WHERE entity = :e ORDER BY id", e=entity)


def test_tariffs_are_created_and_changed_with_an_audit_of_old_and_new(db, staff):
    out = tariffs.save_tariff(db, staff["finance"], TEHRAN_ID, 1405, AMOUNTS_FA)
    assert out.changed
    t = rows(db, "SELECT * FROM fee_tariff")[0]
    assert {f: t[f] for f in FEES} == FEES
    assert audit(db)[0]["action"] == "tariff_created" and audit(db)[0]["data"]["after"]["annual_fee"] == 5_000_000
    same = tariffs.save_tariff(db, staff["finance"], TEHRAN_ID, 1405, FEES)
    assert not same.changed and len(audit(db)) == 1
    tariffs.save_tariff(db, staff["admin"], TEHRAN_ID, 1405, {**FEES, "annual_fee": "۵٬۵۰۰٬۰۰۰"})
    change = audit(db)[-1]
    assert change["action"] == "tariff_changed" and change["actor_id"] == staff["admin"].id
    assert change["data"]["changes"] == {"annual_fee": {"old": 5_000_000, "new": 5_500_000}}
    assert change["data"]["used"] is False and change["province_id"] == TEHRAN_ID


@pytest.mark.parametrize("bad,message", [("-5", "منفی"), ("12.5", "اعشار"), ("abc", "صحیح"), ("", "وارد نشده")])
def test_bad_amounts_are_refused_in_persian_and_nothing_is_saved(db, staff, bad, message):
    with pytest.raises(ValidationError, match=message) as err:
        tariffs.save_tariff(db, staff["finance"], TEHRAN_ID, 1405, {**FEES, "card_fee": bad})
    assert "صدور کارت" in err.value.message
    assert rows(db, "SELECT id FROM fee_tariff") == [] and audit(db) == []


def test_a_used_tariff_changes_only_with_a_reason_and_assessments_keep_their_amounts(db, staff):
    add_tariff(db, 1403)
    rid = renewal(db)
    fees.determine_renewal_fee(db, staff["expert"], rid, 1, 1403, 0, None)
    before = assessments(db, rid)
    with pytest.raises(ValidationError, match="دلیل"):
        tariffs.save_tariff(db, staff["finance"], TEHRAN_ID, 1403, {**FEES, "annual_fee": 7_000_000})
    assert rows(db, "SELECT annual_fee FROM fee_tariff")[0]["annual_fee"] == 5_000_000
    out = tariffs.save_tariff(db, staff["finance"], TEHRAN_ID, 1403, {**FEES, "annual_fee": 7_000_000},
                              reason="اصلاح مصوبهٔ مجمع عمومی")
    assert "همان می‌مانند" in out.message
    change = audit(db)[-1]["data"]
    assert change["used"] is True and change["reason"] == "اصلاح مصوبهٔ مجمع عمومی"
    assert change["changes"]["annual_fee"] == {"old": 5_000_000, "new": 7_000_000}
    assert assessments(db, rid) == before


def test_a_tariff_year_used_only_in_renewal_lines_counts_as_used(db, staff):
    add_tariff(db, 1403)
    add_tariff(db, 1404)
    rid = renewal(db)
    fees.determine_renewal_fee(db, staff["expert"], rid, 1, 1404, 0, None)  # tariff_id is 1404's
    with pytest.raises(ValidationError, match="دلیل"):
        tariffs.save_tariff(db, staff["finance"], TEHRAN_ID, 1403, {**FEES, "annual_fee": 1})
    # Isfahan's 1403 tariff is not used by a Tehran renewal.
    tariffs.save_tariff(db, staff["isfahan"], ISFAHAN_ID, 1403, FEES)
    tariffs.save_tariff(db, staff["isfahan"], ISFAHAN_ID, 1403, {**FEES, "annual_fee": 1})


def test_tariff_permissions_and_stale_forms(db, staff):
    with pytest.raises(PermissionDenied):
        tariffs.save_tariff(db, staff["expert"], TEHRAN_ID, 1405, FEES)
    with pytest.raises(PermissionDenied):
        tariffs.save_tariff(db, staff["finance"], ISFAHAN_ID, 1405, FEES)
    tariffs.save_tariff(db, staff["central_admin"], ISFAHAN_ID, 1405, FEES)
    with pytest.raises(ValidationError, match="سال"):
        tariffs.save_tariff(db, staff["finance"], TEHRAN_ID, 1369, FEES)
    tariffs.save_tariff(db, staff["finance"], TEHRAN_ID, 1405, FEES)
    with pytest.raises(Conflict):
        tariffs.save_tariff(db, staff["admin"], TEHRAN_ID, 1405, {**FEES, "card_fee": 1}, expect_new=True)
    seen = rows(db, "SELECT updated_at FROM fee_tariff WHERE province_id = 8")[0]["updated_at"]
    tariffs.save_tariff(db, staff["finance"], TEHRAN_ID, 1405, {**FEES, "card_fee": 2}, seen_updated_at=seen)
    with pytest.raises(Conflict):
        tariffs.save_tariff(db, staff["admin"], TEHRAN_ID, 1405, {**FEES, "card_fee": 3}, seen_updated_at=seen)
    assert rows(db, "SELECT card_fee FROM fee_tariff WHERE province_id = 8")[0]["card_fee"] == 2
