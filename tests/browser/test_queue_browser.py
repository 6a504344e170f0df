"""An expert's day in a real browser: the queue shows only the own province, "next task" opens the
most urgent request, the documents can be read, the checklist ticked, the request approved or
rejected, and it leaves the queue."""
from __future__ import annotations

import re
from datetime import timedelta

import pytest
import sqlalchemy as sa
from playwright.sync_api import expect

from domain.jalali import now_tehran
from domain.reference import ISFAHAN_ID, TEHRAN_ID
from tests.browser.conftest import login_and_keep_cookie, open_page, screenshot_path, tick_and_approve
from tests.factories import PASSWORD, add_document, file_request, make_member, make_staff, tiny_pdf, tiny_png

pytestmark = pytest.mark.browser


@pytest.fixture
def case(db):
    make_staff(db, "tehran.expert", ["expert"], TEHRAN_ID, "زهرا محمدی")
    now = now_tehran()
    urgent = file_request(db, make_member(db, TEHRAN_ID, first_name="علی", last_name="کریمی"), "new_membership",
                       submitted_at=now - timedelta(days=3))
    later = file_request(db, make_member(db, TEHRAN_ID, first_name="سارا", last_name="نوری"), "new_membership",
                      submitted_at=now - timedelta(minutes=5))
    elsewhere = file_request(db, make_member(db, ISFAHAN_ID, first_name="رضا", last_name="اصفهانی"),
                          "new_membership", submitted_at=now - timedelta(days=5))
    for out in (urgent, later):
        add_document(db, out.request_id, tiny_png(), "image/png", "national_card")
        add_document(db, out.request_id, tiny_pdf("Degree"), "application/pdf", "degree")
    return {"urgent": urgent, "later": later, "elsewhere": elsewhere}


def status_of(db, request_id):
    with db.connect() as c:
        return c.execute(sa.text("SELECT status, stage_code FROM request WHERE id = :i"), {"i": request_id}).one()


def open_queue(page, app_url):
    login_and_keep_cookie(page, app_url, "tehran.expert", PASSWORD)  # the login rerun is over
    open_page(page, "کارتابل")


def test_expert_takes_the_next_task_reads_documents_ticks_and_approves(db, page, app_url, case):
    open_queue(page, app_url)
    grid = page.locator("[data-testid='stDataFrame']")
    expect(grid).to_contain_text(case["urgent"].tracking_code)
    expect(grid).to_contain_text(case["later"].tracking_code)
    expect(grid).not_to_contain_text(case["elsewhere"].tracking_code)
    page.screenshot(path=screenshot_path("screenshot-queue.png"), full_page=True)

    page.get_by_role("button", name="برداشتن کار بعدی").click()
    expect(page).to_have_url(re.compile(rf"/request\?code={case['urgent'].tracking_code}"))
    expect(page.locator(".st-key-req-approve button")).to_be_visible()
    expect(page.locator("[data-testid='stMain']")).to_contain_text("کریمی")

    page.locator("[data-testid='stImage'] img").first.wait_for()

    expect(page.locator(".st-key-req-approve button")).to_be_disabled()
    tick_and_approve(page)
    assert tuple(status_of(db, case["urgent"].request_id)) == ("open", "final_review")

    open_page(page, "کارتابل")
    grid = page.locator("[data-testid='stDataFrame']")
    expect(grid).to_contain_text(case["later"].tracking_code)
    expect(grid).not_to_contain_text(case["urgent"].tracking_code)


def test_expert_rejects_with_a_reason(db, page, app_url, case):
    login_and_keep_cookie(page, app_url, "tehran.expert", PASSWORD)
    page.goto(f"{app_url}/request?code={case['later'].tracking_code}")
    expect(page.locator(".st-key-req-reject button")).to_be_visible()
    expect(page.locator("[data-testid='stMain']")).to_contain_text("نوری")
    page.locator(".st-key-req-confirm label").click()
    page.locator(".st-key-req-reject button").click()
    expect(page.locator("[data-testid='stAlertContentError']").first).to_be_visible()  # no reason yet
    assert status_of(db, case["later"].request_id).status == "open"
    page.locator(".st-key-req-reason textarea").fill("مدرک تحصیلی با رشته‌های مجاز ماده ۴۵ مطابقت ندارد")
    if not page.locator(".st-key-req-confirm input").is_checked():
        page.locator(".st-key-req-confirm label").click()
    page.locator(".st-key-req-reject button").click()
    expect(page.locator("[data-testid='stAlertContentSuccess']").first).to_be_visible()
    assert status_of(db, case["later"].request_id).status == "rejected"


def test_another_provinces_request_is_not_found_even_by_url(db, page, app_url, case):
    login_and_keep_cookie(page, app_url, "tehran.expert", PASSWORD)
    page.goto(f"{app_url}/request?code={case['elsewhere'].tracking_code}")
    expect(page.get_by_text("درخواست پیدا نشد.")).to_be_visible()
    expect(page.get_by_text("اصفهانی")).to_have_count(0)


def test_a_row_of_a_members_requests_opens_in_the_same_tab_and_back_returns(db, page, app_url, case):
    with db.connect() as c:
        member_id = c.execute(sa.text("SELECT member_id FROM request WHERE id = :i"),
                              {"i": case["urgent"].request_id}).scalar()
    login_and_keep_cookie(page, app_url, "tehran.expert", PASSWORD)
    page.goto(f"{app_url}/member?id={member_id}")
    page.get_by_role("tab", name="درخواست‌ها").click()
    grid = page.locator(".st-key-mem-requests-table [data-testid='stDataFrame']")
    grid.wait_for()
    pages_before = len(page.context.pages)
    # The grid is drawn on a canvas: click the middle of its first row (below the header row).
    box = grid.bounding_box()
    page.mouse.click(box["x"] + box["width"] / 2, box["y"] + 35 + 17)
    expect(page).to_have_url(re.compile(rf"/request\?code={case['urgent'].tracking_code}"))
    expect(page.locator(".st-key-req-approve button")).to_be_visible()
    assert len(page.context.pages) == pages_before  # the same tab, no new one
    page.go_back()
    # Back on the same member's profile. (Streamlit 1.67 writes the new page's query parameters into
    # the entry it leaves, so the address reads /member?code=…; the page keeps its member in the session.)
    expect(page).to_have_url(re.compile(r"/member\?"))
    expect(page.get_by_role("heading", name="پروندهٔ عضو")).to_be_visible()
    expect(page.locator("[data-testid='stMain']")).to_contain_text("علی کریمی")


def test_a_click_on_a_queue_row_opens_its_request_in_the_same_tab(db, page, app_url, case):
    open_queue(page, app_url)
    grid = page.locator("[data-testid='stDataFrame']")
    expect(grid).to_contain_text(case["urgent"].tracking_code)
    pages_before = len(page.context.pages)
    # The grid is drawn on a canvas: click the middle of its first row (the most urgent request).
    box = grid.bounding_box()
    page.mouse.click(box["x"] + box["width"] / 2, box["y"] + 35 + 17)
    expect(page).to_have_url(re.compile(rf"/request\?code={case['urgent'].tracking_code}"))
    expect(page.get_by_role("heading", name="پروندهٔ درخواست")).to_be_visible()
    expect(page.locator("[data-testid='stMain']")).to_contain_text("کریمی")
    assert len(page.context.pages) == pages_before
