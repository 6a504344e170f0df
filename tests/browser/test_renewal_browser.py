"""A lapsed member's renewal in a real browser, from fee determination to extended validity: the expert
types the prior debt in Persian digits with separators, saves the quote and approves; finance approves
the amount and records the bank's confirmed payment of exactly that amount; the request is finished
and the member's validity ends on the last day of the chosen year, shown as a Jalali date."""
from __future__ import annotations

import re
from datetime import timedelta

import pytest
import sqlalchemy as sa
from playwright.sync_api import TimeoutError as PlaywrightTimeout
from playwright.sync_api import expect

from domain.jalali import format_jalali_date, last_day_of_jalali_year, now_tehran, to_gregorian, to_jalali
from domain.reference import TEHRAN_ID
from domain.text import fa_code, format_rial, to_persian_digits as fa
from logic import tariffs
from tests.browser.conftest import login_and_keep_cookie, open_page
from tests.factories import FEES, PASSWORD, file_request, make_member, make_staff, set_finance_required

pytestmark = pytest.mark.browser

THIS_YEAR = to_jalali(now_tehran()).year
LAPSED_YEAR = THIS_YEAR - 3              # validity ended with this year: three unrenewed years since
ANNUAL_FEES = {THIS_YEAR - 2: 3_500_000, THIS_YEAR - 1: 4_000_000, THIS_YEAR: 4_500_000}
PRIOR_DEBT = 120_000
TOTAL = sum(ANNUAL_FEES.values()) + PRIOR_DEBT   # no discount rule covers LAPSED_YEAR
BANK_REFERENCE = "REN-771204"


@pytest.fixture
def renewal(db):
    set_finance_required(db, True)  # the province has finance approve amounts before the payment link
    make_staff(db, "tehran.expert", ["expert"], TEHRAN_ID, "زهرا محمدی")
    make_staff(db, "tehran.finance", ["finance"], TEHRAN_ID, "مریم مالی")
    admin = make_staff(db, "tehran.admin", ["admin"], TEHRAN_ID, "مدیر سامانهٔ تهران")
    for year, annual in ANNUAL_FEES.items():
        tariffs.save_tariff(db, admin, TEHRAN_ID, year, {**FEES, "annual_fee": annual})
    member = make_member(db, TEHRAN_ID, status="lapsed", first_name="بهرام", last_name="شریفی",
                         valid_until=to_gregorian(last_day_of_jalali_year(LAPSED_YEAR)))
    out = file_request(db, member, "membership_renewal", submitted_at=now_tehran() - timedelta(hours=2))
    assert out.stage_code == "fee_determination"  # a renewal starts at the expert's fee determination
    return {"member_id": member, "request_id": out.request_id, "code": out.tracking_code}


def request_row(db, request_id):
    with db.connect() as c:
        return c.execute(sa.text("SELECT status, stage_code FROM request WHERE id = :i"), {"i": request_id}).one()


def main(page):
    return page.locator("[data-testid='stMain']")


def choose(page, select, option: str) -> None:
    """Pick an option of a Streamlit selectbox. A rerun that lands while the list is open (the page
    still settling after it opened) closes the list, before or during the click: open it again."""
    item = page.get_by_role("option", name=option, exact=True)
    for _ in range(5):
        select.click()
        try:
            item.wait_for(timeout=3_000)
            item.click(timeout=3_000)
        except PlaywrightTimeout:
            continue
        return
    raise AssertionError(f"the option {option} never showed")


def success(page, text):
    expect(page.locator("[data-testid='stAlertContentSuccess']").filter(has_text=text)).to_be_visible()


def test_a_lapsed_member_is_renewed_from_fee_determination_to_extended_validity(db, browser, page, app_url,
                                                                                  renewal):
    code = renewal["code"]
    new_end = format_jalali_date(last_day_of_jalali_year(THIS_YEAR))  # e.g. ۱۴۰۵/۱۲/۲۹
    assert re.fullmatch(rf"{fa(THIS_YEAR)}/۱۲/(۲۹|۳۰)", new_end)

    # --- the expert determines the fee ---------------------------------------------------------
    login_and_keep_cookie(page, app_url, "tehran.expert", PASSWORD)
    page.goto(f"{app_url}/request?code={code}")
    expect(main(page)).to_contain_text("شریفی")
    form = page.locator(".st-key-fee-form")
    expect(form.get_by_role("heading", name="تعیین مبلغ")).to_be_visible()
    expect(form).to_contain_text(f"پایان اعتبار عضویت: {format_jalali_date(last_day_of_jalali_year(LAPSED_YEAR))}")

    choose(page, form.get_by_label("تمدید تا پایان سال"), fa(THIS_YEAR))
    debt = form.get_by_role("textbox", name="بدهی پیشین (ریال)")
    debt.fill("۱۲۰٬۰۰۰")
    debt.press("Enter")
    expect(form).to_contain_text(f"سال‌های تمدیدنشده: ۳ سال، تا {new_end}")
    expect(form).to_contain_text("بدهی پیشین: ۱۲۰٬۰۰۰ ریال")
    expect(form.get_by_test_id("stMetricValue")).to_have_text(f"{format_rial(TOTAL)} ریال")

    form.get_by_role("button", name="ثبت مبلغ").click()
    success(page, f"مبلغ تمدید تعیین شد: {format_rial(TOTAL)} ریال برای ۳ سال")
    expect(form.get_by_text("نسخهٔ ۱ (فعلی)")).to_be_visible()

    page.get_by_text("پرداخت‌های پیشین عضو بررسی و بدهی پیشین تعیین شد", exact=True).click()
    page.get_by_text("تأیید می‌کنم", exact=True).click()
    page.get_by_role("button", name="تأیید و ارسال به مرحلهٔ بعد").click()
    success(page, "درخواست تأیید شد و به مرحلهٔ بعد رفت.")
    assert tuple(request_row(db, renewal["request_id"])) == ("open", "finance_approval")

    # --- finance approves the amount and records the bank's confirmation ----------------------------
    finance_context = browser.new_context(locale="fa-IR", viewport={"width": 1400, "height": 900})
    try:
        fin = finance_context.new_page()
        fin.set_default_timeout(20_000)
        login_and_keep_cookie(fin, app_url, "tehran.finance", PASSWORD)
        open_page(fin, "پرداخت‌ها")
        approve_tab = fin.get_by_role("tabpanel", name="تأیید مبلغ")
        expect(approve_tab).to_contain_text("شریفی")
        expect(approve_tab).to_contain_text(f"مبلغ قابل پرداخت: {format_rial(TOTAL)} ریال")
        expect(approve_tab).to_contain_text(f"اعتبار پس از پرداخت: {new_end}")
        approve_tab.get_by_text("مبلغ تعیین‌شده با تعرفهٔ مصوب مطابقت دارد", exact=True).click()
        approve_tab.get_by_role("button", name="تأیید مبلغ", exact=True).click()
        success(fin, f"مبلغ درخواست {fa_code(code)} تأیید شد")
        expect(fin.get_by_role("tabpanel", name="تأیید مبلغ")).to_contain_text("مبلغی در انتظار تأیید امور مالی نیست.")
        assert tuple(request_row(db, renewal["request_id"])) == ("open", "payment")

        fin.get_by_role("tab", name="ثبت پرداخت").click()
        record_tab = fin.get_by_role("tabpanel", name="ثبت پرداخت")
        record_tab.get_by_label("کد رهگیری درخواست").fill(fa(code))
        record_tab.get_by_label("کد رهگیری درخواست").press("Enter")
        expect(record_tab).to_contain_text(f"بهرام شریفی — تمدید عضویت — مبلغ تعیین‌شده: {format_rial(TOTAL)} ریال")
        record_tab.get_by_label("شمارهٔ مرجع بانکی").fill(BANK_REFERENCE)
        amount = record_tab.get_by_label("مبلغ پرداخت‌شده (ریال)")
        amount.fill(format_rial(TOTAL))
        amount.press("Enter")
        expect(record_tab).to_contain_text(f"{format_rial(TOTAL)} ریال (")
        record_tab.get_by_role("button", name="ثبت پرداخت", exact=True).click()
        success(fin, "پرداخت ثبت شد و اعتبار عضویت تمدید شد.")

        # --- what the user sees afterwards ---------------------------------------------------------
        fin.goto(f"{app_url}/request?code={code}")
        header = main(fin)
        expect(header).to_contain_text(f"کد رهگیری {fa_code(code)}")
        expect(header).to_contain_text("پایان‌یافته")
        expect(header).to_contain_text(f"اعتبار عضویت تا: {new_end}")

        fin.goto(f"{app_url}/member?id={renewal['member_id']}")
        expect(fin.get_by_role("heading", name="پروندهٔ عضو")).to_be_visible()
        expect(main(fin)).to_contain_text(f"اعتبار عضویت تا {new_end}")
    finally:
        finance_context.close()

    with db.connect() as c:
        row = c.execute(sa.text(
            "SELECT r.status, m.valid_until, m.status AS member_status, a.new_valid_until, a.total, a.prior_debt, "
            "a.finance_status, p.amount, p.bank_reference FROM request r JOIN member m ON m.id = r.member_id "
            "JOIN fee_assessment a ON a.request_id = r.id JOIN payment p ON p.assessment_id = a.id "
            "WHERE r.id = :i"), {"i": renewal["request_id"]}).one()
    assert row.status == "completed"
    assert row.valid_until == row.new_valid_until == to_gregorian(last_day_of_jalali_year(THIS_YEAR))
    assert row.member_status == "active"
    assert (row.total, row.prior_debt, row.amount) == (TOTAL, PRIOR_DEBT, TOTAL)
    assert (row.finance_status, row.bank_reference) == ("approved", BANK_REFERENCE)
