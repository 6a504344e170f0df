"""The finance page: approve or reject assessed amounts, record a payment by hand, import the gateway's
file with a per-row result table; other roles cannot open it."""
from __future__ import annotations

from datetime import timedelta

import pytest

from domain.jalali import format_jalali_date, last_day_of_jalali_year, now_tehran, to_gregorian, to_jalali
from domain.reference import TEHRAN_ID
from domain.text import fa_code
from logic import fees
from logic import workflow as wf
from tests.apptest import signed_in, texts
from tests.factories import (add_tariff, assessments, file_request, make_assessment, make_member, make_staff, request,
                             rows)

THIS_YEAR = to_jalali(now_tehran()).year


def table_with(at, column):
    return next(d.value for d in at.dataframe if column in d.value.columns)


def open_page(db_url, username="t.finance"):
    return signed_in(db_url, username).switch_page("pages/payments.py").run()


@pytest.fixture
def people(db):
    return {"finance": make_staff(db, "t.finance", ["finance"], TEHRAN_ID, "مالی تهران"),
            "expert": make_staff(db, "t.expert", ["expert"], TEHRAN_ID, "کارشناس یکم")}


def renewal_waiting_for_finance(db, expert) -> int:
    add_tariff(db, THIS_YEAR, annual_fee=5_000_000)
    member = make_member(db, TEHRAN_ID, valid_until=to_gregorian(last_day_of_jalali_year(THIS_YEAR - 1)))
    rid = file_request(db, member, "membership_renewal", submitted_at=now_tehran() - timedelta(hours=1)).request_id
    fees.determine_renewal_fee(db, expert, rid, 1, THIS_YEAR, "1,000,000", "بدهی پیشین")
    wf.approve(db, expert, rid, 1, checklist=[True])
    return rid


def card_waiting_for_payment(db, total=1_500_000) -> tuple[int, str]:
    out = file_request(db, make_member(db, TEHRAN_ID), "card_reissue", submitted_at=now_tehran() - timedelta(hours=1))
    make_assessment(db, out.request_id, total)
    return out.request_id, out.tracking_code


def test_finance_approves_a_pending_amount(db_url, db, people):
    rid = renewal_waiting_for_finance(db, people["expert"])
    at = open_page(db_url)
    assert "پرداخت‌ها" in texts(at.title) and not at.exception
    assert table_with(at, "کارشناس")["مبلغ (ریال)"][0] == "۶٬۰۰۰٬۰۰۰"
    assert any("۶٬۰۰۰٬۰۰۰ ریال (۶۰۰٬۰۰۰ تومان)" in m for m in texts(at.markdown))
    at.button(key="pay-approve").click().run()
    assert any("فهرست بررسی" in e for e in texts(at.error))  # the checklist was not ticked
    assert assessments(db, rid)[0]["finance_status"] == "pending"
    at.checkbox(key=f"pay-check-{rid}-0").check().run()
    at.button(key="pay-approve").click().run()
    assert any("تأیید شد" in s for s in texts(at.success))
    assert assessments(db, rid)[0]["finance_status"] == "approved"
    assert request(db, rid)["stage_code"] == "payment"
    assert any("در انتظار تأیید" in i for i in texts(at.info))  # the list is empty now


def tabs_place(at) -> int:
    """Where the page's tabs sit among the main area's elements (the browser keeps the chosen tab only
    while this stays the same from one run to the next)."""
    return next(i for i, e in at.main.children.items() if getattr(e, "type", None) == "tab_container")


def test_the_tabs_keep_their_place_when_a_message_comes_and_goes(db_url, db, people):
    rid = renewal_waiting_for_finance(db, people["expert"])
    at = open_page(db_url)
    before = tabs_place(at)
    at.checkbox(key=f"pay-check-{rid}-0").check().run()
    at.button(key="pay-approve").click().run()
    assert any("تأیید شد" in s for s in texts(at.success))
    assert tabs_place(at) == before
    at.text_input(key="pay-code").input("1234").run()  # the next run: the message is gone
    assert not texts(at.success) and tabs_place(at) == before


def test_finance_rejects_with_a_reason(db_url, db, people):
    rid = renewal_waiting_for_finance(db, people["expert"])
    at = open_page(db_url)
    at.button(key="pay-reject").click().run()
    assert any("دلیل رد" in e for e in texts(at.error))
    assert request(db, rid)["status"] == "open"
    at.text_input(key="pay-reject-reason").input("بدهی پیشین مستند نیست").run()
    at.button(key="pay-reject").click().run()
    assert request(db, rid)["status"] == "rejected"
    assert assessments(db, rid)[0]["finance_status"] == "rejected"


def test_a_payment_is_recorded_by_hand_once(db_url, db, people):
    rid, code = card_waiting_for_payment(db)
    at = open_page(db_url)
    persian_code = code.translate(str.maketrans("0123456789", "۰۱۲۳۴۵۶۷۸۹"))
    at.text_input(key="pay-code").input(persian_code).run()
    assert any("۱٬۵۰۰٬۰۰۰ ریال" in i for i in texts(at.info))
    at.text_input(key="pay-ref").input("REF987654")
    at.text_input(key="pay-amount").input("۱٬۵۰۰٬۰۰۰")
    at.run()
    assert at.text_input(key="pay-date").value == format_jalali_date(now_tehran())
    at.button(key="pay-record").click().run()
    assert any("پرداخت ثبت شد" in s for s in texts(at.success))
    [p] = rows(db, "SELECT * FROM payment")
    assert (p["request_id"], p["amount"], p["source"], p["bank_reference"]) == (rid, 1_500_000, "manual", "REF987654")
    assert request(db, rid)["stage_code"] == "card_issue"
    at.button(key="pay-record").click().run()
    assert any("پیش‌تر ثبت شده" in s for s in texts(at.success))
    assert len(rows(db, "SELECT id FROM payment")) == 1


def test_a_wrong_amount_is_refused_on_the_form(db_url, db, people):
    rid, code = card_waiting_for_payment(db)
    at = open_page(db_url)
    at.text_input(key="pay-code").input(code)
    at.text_input(key="pay-ref").input("REF987655")
    at.text_input(key="pay-amount").input("1400000")
    at.run()
    at.button(key="pay-record").click().run()
    assert any("برابر نیست" in e for e in texts(at.error))
    assert rows(db, "SELECT id FROM payment") == []


def test_the_gateway_file_is_imported_with_a_result_per_row(db_url, db, people):
    rid1, code1 = card_waiting_for_payment(db)
    rid2, code2 = card_waiting_for_payment(db, total=2_000_000)
    paid = to_jalali(now_tehran() - timedelta(minutes=30))
    when = f"{paid.year}/{paid.month:02d}/{paid.day:02d} {now_tehran() - timedelta(minutes=30):%H:%M}"
    data = (f"tracking_code,bank_reference,amount,paid_at\n{code1},REF000201,1500000,{when}\n"
            f"{code2},REF000202,1999999,{when}\n").encode()
    at = open_page(db_url)
    at.file_uploader(key="pay-csv").upload("gateway.csv", data, "text/csv")
    at.run()
    at.button(key="pay-import").click().run()
    assert not at.exception
    table = table_with(at, "نتیجه")
    assert list(table["نتیجه"]) == ["ثبت شد", "خطا"]
    assert "برابر نیست" in table["پیام"][1]
    assert any("۱ پرداخت ثبت شد" in e for e in texts(at.error))  # a summary; an error row makes it red
    assert request(db, rid1)["stage_code"] == "card_issue" and request(db, rid2)["stage_code"] == "payment"
    at.button(key="pay-import").click().run()
    assert list(table_with(at, "نتیجه")["نتیجه"]) == ["پیش‌تر ثبت شده بود", "خطا"]
    assert len(rows(db, "SELECT id FROM payment")) == 1
    assert any("tracking_code" in m for m in texts(at.markdown))  # the format is documented on the page


def test_recent_payments_and_requests_waiting_are_listed(db_url, db, people):
    rid, code = card_waiting_for_payment(db)
    at = open_page(db_url)
    assert any("در انتظار پرداخت (۱)" in e.label for e in at.expander)
    from logic.payments import confirm_payment
    confirm_payment(db, people["finance"], rid, "REF000301", 1_500_000)
    at = open_page(db_url)
    assert table_with(at, "مرجع بانکی")["مرجع بانکی"][0] == fa_code("REF000301")


@pytest.mark.parametrize("role", ["expert", "admin"])
def test_other_roles_cannot_open_the_payments_page(db_url, db, role):
    make_staff(db, "t.other", [role], TEHRAN_ID)
    at = signed_in(db_url, "t.other")
    with pytest.raises(ValueError):
        at.switch_page("pages/payments.py")
