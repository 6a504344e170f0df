"""Login in a real browser: the Persian RTL home page for a demo expert, nothing for a stranger."""
from __future__ import annotations

import pytest
from playwright.sync_api import expect

from domain.login_policy import LOGIN_REFUSED
from domain.reference import TEHRAN_ID
from logic.sessions import SESSION_COOKIE
from tests.browser.conftest import login, login_and_keep_cookie, screenshot_path
from tests.factories import PASSWORD, make_staff

pytestmark = pytest.mark.browser


def test_expert_logs_in_and_sees_the_persian_home(db, page, app_url):
    make_staff(db, "tehran.expert", ["expert"], TEHRAN_ID, "زهرا محمدی")
    login(page, app_url, "tehran.expert", PASSWORD)
    expect(page.get_by_role("heading", name="پیشخوان")).to_be_visible()
    expect(page.get_by_text("زهرا محمدی")).to_be_visible()
    assert page.locator("[data-testid='stMain']").evaluate("e => getComputedStyle(e).direction") == "rtl"
    # Pages the role may not use are not in the navigation.
    expect(page.get_by_role("link", name="کارتابل")).to_be_visible()
    expect(page.get_by_role("link", name="شاخص‌های عملکرد")).to_have_count(0)
    page.screenshot(path=screenshot_path("screenshot-home.png"), full_page=True)


def test_wrong_password_and_direct_urls_reveal_nothing(db, page, app_url):
    make_staff(db, "tehran.expert", ["expert"], TEHRAN_ID)
    login(page, app_url, "tehran.expert", "wrong-password")
    expect(page.get_by_text(LOGIN_REFUSED)).to_be_visible()
    page.goto(f"{app_url}/kpi")
    expect(page.get_by_label("گذرواژه")).to_be_visible()
    expect(page.get_by_role("heading", name="شاخص‌های عملکرد")).to_have_count(0)


def test_an_expert_opening_a_managers_url_gets_no_manager_page(db, page, app_url):
    make_staff(db, "tehran.expert", ["expert"], TEHRAN_ID)
    login_and_keep_cookie(page, app_url, "tehran.expert", PASSWORD)
    page.goto(f"{app_url}/kpi")
    # The cookie signs the new session in; the manager's page is not there for an expert.
    expect(page.get_by_role("heading", name="پیشخوان")).to_be_visible()
    expect(page.get_by_role("heading", name="شاخص‌های عملکرد")).to_have_count(0)


def test_a_page_opened_by_its_address_loads_no_cookie_frame(db, page, app_url):
    # A cookie component in an iframe reported back and so ran the whole page a second time, after
    # it had appeared: a click made meanwhile was lost (issue #18).
    make_staff(db, "tehran.expert", ["expert"], TEHRAN_ID)
    login_and_keep_cookie(page, app_url, "tehran.expert", PASSWORD)
    page.goto(f"{app_url}/processes")
    expect(page.get_by_role("heading", name="فرایندها و مهلت‌ها")).to_be_visible()
    expect(page.locator("iframe")).to_have_count(0)


def test_logout_ends_the_session_and_the_cookie(db, page, app_url):
    make_staff(db, "tehran.expert", ["expert"], TEHRAN_ID)
    login_and_keep_cookie(page, app_url, "tehran.expert", PASSWORD)
    page.get_by_role("button", name="خروج").click()
    expect(page.get_by_label("گذرواژه")).to_be_visible()
    page.wait_for_function(f"!document.cookie.split('; ').some(c => c.startsWith('{SESSION_COOKIE}='))")
    page.goto(f"{app_url}/processes")
    expect(page.get_by_label("گذرواژه")).to_be_visible()


def test_a_link_opened_before_login_leads_to_its_page_after_login(db, page, app_url):
    make_staff(db, "tehran.expert", ["expert"], TEHRAN_ID)
    page.goto(f"{app_url}/processes")
    page.get_by_label("نام کاربری").fill("tehran.expert")
    page.get_by_label("گذرواژه").fill(PASSWORD)
    page.get_by_role("button", name="ورود").click()
    expect(page.get_by_role("heading", name="فرایندها و مهلت‌ها")).to_be_visible()


def test_a_cookie_issued_after_a_logout_signs_a_new_visit_in(db, page, app_url):
    # The old bug: after the first logout every later cookie was refused too, because its issue time
    # was read in a rerun where it was always missing and fell back to 1970.
    make_staff(db, "tehran.expert", ["expert"], TEHRAN_ID)
    login_and_keep_cookie(page, app_url, "tehran.expert", PASSWORD)
    page.get_by_role("button", name="خروج").click()
    expect(page.get_by_label("گذرواژه")).to_be_visible()
    page.context.clear_cookies()
    login_and_keep_cookie(page, app_url, "tehran.expert", PASSWORD)
    page.goto(f"{app_url}/processes")
    expect(page.get_by_role("heading", name="فرایندها و مهلت‌ها")).to_be_visible()
