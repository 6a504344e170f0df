"""Payments: a bank reference pays once, replays change nothing and say so, concurrent confirmations
make one payment, the amount must be the assessed one, a paid renewal extends the validity, and the
gateway's CSV file is imported row by row."""
from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import date, datetime, timedelta, timezone

import pytest
import sqlalchemy as sa

from domain.errors import Conflict, InvalidTransition, NotFound, PermissionDenied, ValidationError
from domain.jalali import TEHRAN
from domain.reference import ISFAHAN_ID, TEHRAN_ID
from logic import fees
from logic import workflow as wf
from logic.payments import (confirm_by_tracking_code, confirm_payment, import_gateway_csv, parse_paid_at)
from tests.factories import (CAL, END_1402, SAT_0800, add_tariff, assessments, file_request, make_assessment,
                             make_member, make_staff, request, rows)
from tests.factories import request_events as events

LATER = SAT_0800 + timedelta(hours=3)


@pytest.fixture
def staff(db):
    return {
        "expert": make_staff(db, "t.expert", ["expert"], TEHRAN_ID, "کارشناس یکم"),
        "finance": make_staff(db, "t.finance", ["finance"], TEHRAN_ID, "مالی تهران"),
        "isfahan": make_staff(db, "i.finance", ["finance"], ISFAHAN_ID, "مالی اصفهان"),
    }


def card_request(db, total=1_500_000) -> int:
    """A card reissue waiting at its payment stage for `total` Rial."""
    rid = file_request(db, make_member(db, TEHRAN_ID), "card_reissue", submitted_at=SAT_0800).request_id
    make_assessment(db, rid, total)
    return rid


def payments(db):
    return rows(db, "SELECT * FROM payment ORDER BY id")


def confirmed_events(db, rid):
    return [e for e in events(db, rid) if e["action"] == "payment_confirmed"]


def test_another_provinces_finance_learns_nothing_from_a_replay(db, staff):
    rid = card_request(db)  # a Tehran request
    confirm_payment(db, staff["finance"], rid, "REF777777", 1_500_000, now=LATER)
    with pytest.raises(PermissionDenied):  # not "already recorded": the province check comes first
        confirm_payment(db, staff["isfahan"], rid, "REF777777", 1_500_000, now=LATER)


def test_the_same_confirmation_twice_records_one_payment_and_says_so(db, staff):
    rid = card_request(db)
    first = confirm_payment(db, staff["finance"], rid, "ref-123456", "۱٬۵۰۰٬۰۰۰", now=LATER)
    second = confirm_payment(db, staff["finance"], rid, "REF-123456", 1_500_000, now=LATER + timedelta(hours=1))
    assert (first.replayed, second.replayed) == (False, True)
    assert second.payment_id == first.payment_id
    assert "پیش‌تر ثبت شده" in second.message and "تغییری داده نشد" in second.message
    assert len(payments(db)) == 1 and payments(db)[0]["bank_reference"] == "REF-123456"
    assert len(confirmed_events(db, rid)) == 1
    assert request(db, rid)["stage_code"] == "card_issue"


def test_a_reference_used_for_another_request_or_amount_is_a_conflict(db, staff):
    rid1, rid2 = card_request(db), card_request(db)
    confirm_payment(db, staff["finance"], rid1, "REF777777", 1_500_000, now=LATER)
    with pytest.raises(Conflict):
        confirm_payment(db, staff["finance"], rid2, "REF777777", 1_500_000, now=LATER)
    with pytest.raises(Conflict):
        confirm_payment(db, staff["finance"], rid1, "REF777777", 1_400_000, now=LATER)
    assert len(payments(db)) == 1
    assert request(db, rid2)["stage_code"] == "payment"


def test_two_threads_confirming_the_same_payment_make_one_payment(db, staff):
    rid = card_request(db)
    barrier = threading.Barrier(8)

    def attempt(_):
        barrier.wait()
        return confirm_payment(db, staff["finance"], rid, "REF424242", 1_500_000, now=LATER).replayed

    with ThreadPoolExecutor(8) as pool:
        replayed = list(pool.map(attempt, range(8)))
    assert sorted(replayed) == [False] + [True] * 7
    assert len(payments(db)) == 1 and len(confirmed_events(db, rid)) == 1


def test_two_references_for_one_request_at_once_pay_it_once(db, staff):
    rid = card_request(db)
    barrier = threading.Barrier(6)

    def attempt(i):
        barrier.wait()
        try:
            confirm_payment(db, staff["finance"], rid, f"REF90000{i}", 1_500_000, now=LATER)
            return "paid"
        except InvalidTransition:
            return "not waiting"

    with ThreadPoolExecutor(6) as pool:
        results = list(pool.map(attempt, range(6)))
    assert results.count("paid") == 1 and results.count("not waiting") == 5
    assert len(payments(db)) == 1


def test_a_wrong_amount_is_refused_and_nothing_is_recorded(db, staff):
    rid = card_request(db)
    for bad in (1_499_999, "1,500,001"):
        with pytest.raises(ValidationError, match="برابر نیست"):
            confirm_payment(db, staff["finance"], rid, "REF555555", bad, now=LATER)
    for bad in ("-1500000", "0", "15.5", "abc"):
        with pytest.raises(ValidationError):
            confirm_payment(db, staff["finance"], rid, "REF555555", bad, now=LATER)
    with pytest.raises(ValidationError, match="مرجع"):
        confirm_payment(db, staff["finance"], rid, "R1", 1_500_000, now=LATER)
    assert payments(db) == [] and request(db, rid)["stage_code"] == "payment"


def test_payment_times_must_be_plausible(db, staff):
    rid = card_request(db)
    with pytest.raises(ValidationError, match="آینده"):
        confirm_payment(db, staff["finance"], rid, "REF666666", 1_500_000, paid_at=LATER + timedelta(days=1),
                        now=LATER)
    with pytest.raises(ValidationError, match="پیش از ثبت"):
        confirm_payment(db, staff["finance"], rid, "REF666666", 1_500_000, paid_at=SAT_0800 - timedelta(days=1),
                        now=LATER)
    confirm_payment(db, staff["finance"], rid, "REF666666", 1_500_000, paid_at=SAT_0800 + timedelta(hours=1),
                    now=LATER)
    assert payments(db)[0]["paid_at"] == SAT_0800 + timedelta(hours=1)
    assert payments(db)[0]["recorded_at"] == LATER


# A payment made on Wednesday night (after hours, before the Thursday-Friday weekend) and recorded by
# finance on Saturday morning: the next stage's clock starts at Saturday's opening, not at 10:00.
WED_2200 = datetime(2026, 11, 25, 22, 0, tzinfo=TEHRAN)        # 1405/09/04
SAT_OPENING = datetime(2026, 11, 28, 7, 30, tzinfo=TEHRAN)
SAT_1000 = datetime(2026, 11, 28, 10, 0, tzinfo=TEHRAN)
CARD_ISSUE_DUE = datetime(2026, 11, 29, 14, 30, tzinfo=TEHRAN)  # two working days from Saturday 07:30


def _clock_started_at_the_opening_after_the_payment(db, rid):
    r = request(db, rid)
    assert r["stage_code"] == "card_issue"
    assert r["stage_entered_at"] == WED_2200
    assert r["stage_due_at"] == CARD_ISSUE_DUE
    [visit] = rows(db, "SELECT * FROM stage_visit WHERE request_id = :i AND stage_code = 'card_issue'", i=rid)
    assert (visit["entered_at"], visit["due_at"]) == (WED_2200, CARD_ISSUE_DUE)
    [e] = confirmed_events(db, rid)
    assert e["at"] == SAT_1000  # the event is written when finance recorded it


def test_a_payment_after_hours_recorded_next_morning_starts_the_clock_at_the_opening_after_it(db, staff):
    rid = card_request(db)
    confirm_payment(db, staff["finance"], rid, "REF909090", 1_500_000, paid_at=WED_2200, now=SAT_1000)
    [p] = payments(db)
    assert (p["paid_at"], p["recorded_at"]) == (WED_2200, SAT_1000)
    _clock_started_at_the_opening_after_the_payment(db, rid)
    # Recorded at 10:00, the stage has already used 2.5 working hours of its two days.
    assert CAL.working_hours_between(SAT_1000, CARD_ISSUE_DUE) == 2 * 7 - 2.5


def test_the_gateway_file_imported_next_morning_also_counts_from_the_payment_time(db, staff):
    rid = card_request(db)
    code = request(db, rid)["tracking_code"]
    csv_text = f"tracking_code,bank_reference,amount,paid_at\n{code},REF919191,1500000,1405/09/04 22:00\n"
    [row] = import_gateway_csv(db, staff["finance"], csv_text, now=SAT_1000)
    assert row.status == "recorded", row.message
    _clock_started_at_the_opening_after_the_payment(db, rid)


def test_a_payment_time_before_the_payment_stage_opened_starts_the_clock_when_it_opened(db, staff):
    """A bank clock a little behind ours must not give the next stage time it never had."""
    rid = card_request(db)
    with db.begin() as c:  # the payment stage opened at 09:00 (after an earlier stage, say)
        c.execute(sa.text("UPDATE request SET stage_entered_at = :t WHERE id = :i"),
                  {"t": SAT_0800 + timedelta(hours=1), "i": rid})
    confirm_payment(db, staff["finance"], rid, "REF929292", 1_500_000, paid_at=SAT_0800 + timedelta(minutes=30),
                    now=LATER)
    assert request(db, rid)["stage_entered_at"] == SAT_0800 + timedelta(hours=1)


def test_only_finance_of_the_province_records_payments(db, staff):
    rid = card_request(db)
    with pytest.raises(PermissionDenied):
        confirm_payment(db, staff["expert"], rid, "REF111111", 1_500_000, now=LATER)
    with pytest.raises(PermissionDenied):
        confirm_payment(db, staff["isfahan"], rid, "REF111111", 1_500_000, now=LATER)
    code = request(db, rid)["tracking_code"]
    with pytest.raises(NotFound):
        confirm_by_tracking_code(db, staff["isfahan"], code, "REF111111", 1_500_000, now=LATER)
    with pytest.raises(NotFound):
        confirm_by_tracking_code(db, staff["finance"], "9999999999", "REF111111", 1_500_000, now=LATER)
    with pytest.raises(ValidationError):
        confirm_by_tracking_code(db, staff["finance"], "12ab", "REF111111", 1_500_000, now=LATER)
    res = confirm_by_tracking_code(db, staff["finance"], code.translate(str.maketrans("0123456789", "۰۱۲۳۴۵۶۷۸۹")),
                                   "REF111111", "1500000", now=LATER)
    assert not res.replayed and payments(db)[0]["recorded_by"] == staff["finance"].id


def test_a_paid_renewal_completes_and_extends_the_validity(db, staff):
    with db.begin() as c:
        c.execute(sa.text("UPDATE province_setting SET finance_approval_required = false"))
    for y in (1403, 1404):
        add_tariff(db, y)
    member = make_member(db, TEHRAN_ID, status="lapsed", valid_until=END_1402)
    rid = file_request(db, member, "membership_renewal", submitted_at=SAT_0800).request_id
    fees.determine_renewal_fee(db, staff["expert"], rid, 1, 1404, "250000", None, now=SAT_0800)
    wf.approve(db, staff["expert"], rid, 1, checklist=[True], now=SAT_0800 + timedelta(hours=1))
    total = assessments(db, rid)[0]["total"]
    assert total == 10_250_000
    res = confirm_payment(db, staff["finance"], rid, "REF202020", total, now=LATER)
    assert "اعتبار عضویت تمدید شد" in res.message
    r = request(db, rid)
    assert (r["status"], r["closed_at"]) == ("completed", LATER)
    m = rows(db, "SELECT valid_until, status FROM member WHERE id = :m", m=member)[0]
    assert (m["valid_until"], m["status"]) == (date(2026, 3, 20), "active")  # 1404/12/29
    [vc] = rows(db, "SELECT * FROM validity_change")
    assert (vc["old_valid_until"], vc["new_valid_until"], vc["request_id"]) == (END_1402, date(2026, 3, 20), rid)
    last = events(db, rid)[-1]
    assert (last["action"], last["from_stage"], last["to_stage"]) == ("payment_confirmed", "payment", None)
    assert last["data"]["bank_reference"] == "REF202020" and last["data"]["amount"] == total
    # Replaying the confirmation does not extend the validity again.
    assert confirm_payment(db, staff["finance"], rid, "REF202020", total, now=LATER).replayed
    assert len(rows(db, "SELECT id FROM validity_change")) == 1


# --- the gateway file ---------------------------------------------------------------------------

@pytest.mark.parametrize("text,expected", [
    ("1405/08/30 10:30", datetime(2026, 11, 21, 10, 30, tzinfo=TEHRAN)),
    ("۱۴۰۵/۸/۳۰ ۱۰:۳۰:۱۵", datetime(2026, 11, 21, 10, 30, 15, tzinfo=TEHRAN)),
    ("1405-08-30", datetime(2026, 11, 21, 0, 0, tzinfo=TEHRAN)),
    ("2026-11-21T10:30:00", datetime(2026, 11, 21, 10, 30, tzinfo=TEHRAN)),
    ("2026-11-21T07:00:00Z", datetime(2026, 11, 21, 10, 30, tzinfo=TEHRAN)),
    ("2026-11-21 10:30:00+03:30", datetime(2026, 11, 21, 10, 30, tzinfo=TEHRAN)),
    ("2026-11-21T10:30:00.123+0330", datetime(2026, 11, 21, 10, 30, tzinfo=timezone(timedelta(hours=3.5)))),
])
def test_payment_times_jalali_or_iso(text, expected):
    assert parse_paid_at(text) == expected


@pytest.mark.parametrize("text", ["", "yesterday", "1404/12/30 10:00", "1405/08/30 25:00", "2026-02-30T10:00",
                                  "30/08/1405"])
def test_impossible_payment_times_are_refused_in_persian(text):
    with pytest.raises(ValidationError):
        parse_paid_at(text)


def csv_text(*lines):
    return "\n".join(("tracking_code,bank_reference,amount,paid_at",) + lines) + "\n"


def test_import_reports_each_row_and_a_second_import_changes_nothing(db, staff):
    rid1, rid2, rid3 = card_request(db), card_request(db), card_request(db, total=2_000_000)
    c1, c2, c3 = (request(db, r)["tracking_code"] for r in (rid1, rid2, rid3))
    data = csv_text(
        f"{c1},REF000101,1500000,1405/08/30 09:00",
        f"{c1},REF000101,1500000,1405/08/30 09:00",            # the gateway sent it twice
        f"{c2},REF000102,\"1,400,000\",1405/08/30 09:05",       # wrong amount
        "",
        "9999999999,REF000103,1500000,1405/08/30 09:10",      # unknown request
        f"{c3},REF000104,2000000,1404/12/30 09:00",            # impossible date
        f"{c3},REF000101,2000000,1405/08/30 09:00",            # a reference already used
        f"{c3},REF000105,۲٬۰۰۰٬۰۰۰,2026-11-21T09:20:00+03:30",
    ).encode("utf-8-sig")
    results = import_gateway_csv(db, staff["finance"], data, now=LATER)
    assert [(r.line, r.status) for r in results] == [
        (2, "recorded"), (3, "replayed"), (4, "error"), (6, "error"), (7, "error"), (8, "error"), (9, "recorded")]
    assert "برابر نیست" in results[2].message and "پیدا نشد" in results[3].message
    assert "وجود ندارد" in results[4].message and "پیش‌تر" in results[5].message
    assert {p["bank_reference"] for p in payments(db)} == {"REF000101", "REF000105"}
    assert all(p["source"] == "gateway_csv" for p in payments(db))
    again = import_gateway_csv(db, staff["finance"], data, now=LATER + timedelta(hours=1))
    assert [r.status for r in again] == ["replayed", "replayed", "error", "error", "error", "error", "replayed"]
    assert len(payments(db)) == 2
    assert len(confirmed_events(db, rid1)) == 1 and request(db, rid2)["stage_code"] == "payment"


def test_import_refuses_a_file_without_the_columns_or_from_non_finance(db, staff):
    with pytest.raises(ValidationError, match="paid_at"):
        import_gateway_csv(db, staff["finance"], "tracking_code,bank_reference,amount\n1,2,3\n")
    with pytest.raises(ValidationError, match="خالی"):
        import_gateway_csv(db, staff["finance"], b"")
    with pytest.raises(ValidationError, match="UTF-8"):
        import_gateway_csv(db, staff["finance"], "tracking_code".encode("utf-16"))
    with pytest.raises(PermissionDenied):
        import_gateway_csv(db, staff["expert"], csv_text())
    assert import_gateway_csv(db, staff["finance"], csv_text()) == []
