"""Right to left in a real Persian browser: a time reads hours then minutes, the zoom slider grows the
image toward the right, a pasted note over the limit is cut with a message, and Streamlit's own
English on the uploader is replaced."""
from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests import latin_world
from tests.browser.conftest import login_and_keep_cookie, open_page
from tests.conftest import wipe
from tests.factories import PASSWORD

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def world(owner_engine):
    wipe(owner_engine)
    return latin_world.build(owner_engine)  # the world sets payment times, which the app role may not


def left(locator) -> float:
    return locator.bounding_box()["x"]


def test_a_payment_time_of_0223_reads_hours_then_minutes(world, page, app_url):
    login_and_keep_cookie(page, app_url, world["users"]["finance"], PASSWORD)
    open_page(page, "پرداخت‌ها")
    page.get_by_role("tab", name="پرداخت‌های اخیر").click()
    # The payment recorded at 02:23 is listed with its time as ۰۲:۲۳.
    expect(page.locator("[data-testid='stDataFrame']").last).to_contain_text("۰۲:۲۳")

    page.get_by_role("tab", name="ثبت پرداخت").click()
    field = page.locator(".st-key-pay-time")
    hour, minute = field.locator("[data-type='hour']"), field.locator("[data-type='minute']")
    hour.click()
    page.keyboard.type("02")
    minute.click()
    page.keyboard.type("23")
    expect(hour).to_have_text("۰۲")
    expect(minute).to_have_text("۲۳")
    # On screen: ۰۲ to the left of ۲۳, as a time is read in Persian too (it used to read «۲۳:۰۲»).
    assert left(hour) < left(minute)


def test_moving_the_zoom_slider_right_makes_the_image_larger(world, page, app_url):
    login_and_keep_cookie(page, app_url, world["users"]["expert"], PASSWORD)
    page.goto(f"{app_url}/request?code={world['codes']['new']}")
    image = page.locator("[data-testid='stImage'] img").first
    expect(image).to_be_visible()
    before = image.bounding_box()["width"]
    slider = page.locator("[data-testid='stSlider']").first
    thumb = slider.locator("[data-testid='stSliderThumbValue']")
    expect(thumb).to_have_text("۷۰۰")
    x0 = left(thumb)

    slider.locator("input[type='range']").focus()
    page.keyboard.press("ArrowRight")  # → : one step toward larger
    expect(thumb).to_have_text("۷۵۰")
    page.wait_for_function("([img, w]) => img.getBoundingClientRect().width > w", arg=[image.element_handle(), before])
    assert left(thumb) > x0  # the handle moved right, too

    # Dragging the handle to the right edge gives the largest image.
    box = slider.locator("[data-testid='stSliderTickBar']").bounding_box()
    handle = thumb.bounding_box()
    page.mouse.move(handle["x"] + handle["width"] / 2, handle["y"] + handle["height"] + 8)
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] + 20, handle["y"] + handle["height"] + 8, steps=8)
    page.mouse.up()
    expect(thumb).to_have_text("۱۶۰۰")


def test_a_pasted_note_over_the_limit_is_cut_with_a_message(world, page, app_url):
    login_and_keep_cookie(page, app_url, world["users"]["expert"], PASSWORD)
    page.goto(f"{app_url}/request?code={world['codes']['new']}")
    page.get_by_role("tab", name="یادداشت روی پرونده").click()
    box = page.locator(".st-key-req-comment textarea")
    note = ("پرونده بررسی شد و مدارک کامل است. " * 80)[:2500]
    box.fill(note)   # what a paste does: the whole text at once
    box.press("Tab")  # leaving the box applies it
    expect(page.get_by_text("متن واردشده ۲۵۰۰ نویسه بود")).to_be_visible()
    expect(box).to_have_value(note[:2000])
    expect(page.get_by_text("۲۰۰۰ از ۲۰۰۰ نویسه")).to_be_visible()


def test_the_uploader_and_hints_speak_persian(world, page, app_url):
    login_and_keep_cookie(page, app_url, world["users"]["expert"], PASSWORD)
    page.goto(f"{app_url}/request?code={world['codes']['new']}")
    page.get_by_text("بارگذاری مدرک", exact=True).click()
    uploader = page.locator("[data-testid='stFileUploaderDropzone']")
    expect(uploader).to_be_visible()
    shown = uploader.evaluate("""zone => {
        const seen = el => [getComputedStyle(el).fontSize, getComputedStyle(el, '::after').content];
        return [seen(zone.querySelector("button [data-testid='stMarkdownContainer'] p")),
                seen(zone.querySelector("[data-testid='stFileUploaderDropzoneInstructions'] span"))];
    }""")
    # Streamlit's «Upload» and «5MB per file • PDF, JPG, PNG» take no room; Persian is shown instead.
    assert shown[0] == ["0px", '"انتخاب فایل"']
    assert shown[1][0] == "0px" and "۵ مگابایت" in shown[1][1]
