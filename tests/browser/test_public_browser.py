"""The public statistics page in a real browser, without logging in: the published release with its
tables and charts, a CSV download (UTF-8 with a BOM, the published numbers), and no way further in."""
from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import expect

from logic import releases as rel
from tests.browser.conftest import open_page, screenshot_path
from tests.factories import build_world, compose

pytestmark = pytest.mark.browser

PUBLIC_TITLE = "آمار منتشرشدهٔ سازمان نظام مهندسی ساختمان"


@pytest.fixture
def release_id(db):
    world = build_world(db)
    out = compose(db, world["board1"])
    rel.approve_and_publish(db, world["board2"], out.release_id)
    return out.release_id


def warm_up(page, app_url: str) -> None:
    """The very first run in a fresh Streamlit process uses the old pages-directory mode, which knows
    no /public and shows a "Page not found" notice over the page (see the report of issue 6/8); any
    earlier visit switches the process to app.py's navigation for good."""
    page.goto(app_url)
    expect(page.get_by_label("گذرواژه")).to_be_visible()


def test_an_anonymous_visitor_reads_the_release_and_downloads_its_csv(page, app_url, release_id):
    warm_up(page, app_url)
    page.goto(f"{app_url}/public")
    expect(page.get_by_role("heading", name=PUBLIC_TITLE)).to_be_visible()
    expect(page.get_by_role("heading", name=rel.TABLES["licences_issued"].title_fa)).to_be_visible()
    expect(page.get_by_label("گذرواژه")).to_have_count(0)
    expect(page.locator("[data-testid='stPlotlyChart']").first).to_be_visible()
    expect(page.get_by_role("dialog")).to_have_count(0)
    with page.expect_download() as info:
        page.get_by_role("button", name="دانلود همهٔ جدول‌ها (CSV)").click()
    download = info.value
    assert download.suggested_filename == f"release-{release_id}.csv"
    data = Path(download.path()).read_bytes()
    assert data.startswith(b"\xef\xbb\xbf")  # the BOM Excel needs to read Persian
    lines = data.decode("utf-8-sig").splitlines()
    issued = rel.TABLES["licences_issued"].title_fa
    assert f"{issued},تأسیسات مکانیکی,جمع,5" in lines   # 5 mechanical licences issued in the period
    assert f"{issued},معماری,پایه ۳,×" in lines       # the 2 in architecture, hidden
    page.screenshot(path=screenshot_path("screenshot-public.png"), full_page=False)


def test_from_the_login_form_to_the_public_page_and_nowhere_else(page, app_url, release_id):
    page.goto(app_url)
    open_page(page, "آمار منتشرشدهٔ سازمان (بدون نیاز به ورود)", PUBLIC_TITLE)
    # The public page offers no navigation and no link into the staff pages.
    expect(page.locator("[data-testid='stSidebarNav']")).to_have_count(0)
    links = page.locator("[data-testid='stMain'] a").evaluate_all("els => els.map(e => e.getAttribute('href'))")
    assert not [href for href in links if href and any(p in href for p in ("/releases", "/queue", "/home"))]
    # A staff address opened by hand shows the login form, not the page.
    page.goto(f"{app_url}/releases")
    expect(page.get_by_label("گذرواژه")).to_be_visible()
    expect(page.get_by_role("heading", name="انتشار آمار")).to_have_count(0)
