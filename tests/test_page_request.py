"""The request screen, driven through the real app with AppTest."""
from __future__ import annotations

import base64
from datetime import timedelta

import pytest
import sqlalchemy as sa

from domain.jalali import now_tehran
from domain.reference import ISFAHAN_ID, TEHRAN_ID
from logic import workflow as wf
from tests.apptest import app, sign_in, signed_in, texts
from tests.factories import add_document, file_request, make_member, make_staff, tiny_pdf, tiny_png

CHECKS = 4  # the new-membership initial review checklist


@pytest.fixture
def world(db):
    t = TEHRAN_ID
    return {
        "expert": make_staff(db, "t.expert", ["expert"], t, "کارشناس یکم"),
        "expert2": make_staff(db, "t.expert2", ["expert"], t, "کارشناس دوم"),
        "final": make_staff(db, "t.final", ["final_reviewer"], t, "بررسی نهایی"),
        "isfahan": make_staff(db, "i.expert", ["expert"], ISFAHAN_ID, "کارشناس اصفهان"),
        "board": make_staff(db, "t.board", ["board"], t, "هیأت مدیره"),
        "admin": make_staff(db, "t.admin", ["admin"], t, "مدیر سامانه"),
    }


@pytest.fixture
def case(db, world):
    """A new-membership request at initial review, submitted two days ago, with a PNG and a PDF."""
    member = make_member(db, TEHRAN_ID, first_name="زهرا", last_name="کریمی")
    # The page acts at the real clock, so the story starts in the past.
    submitted = now_tehran() - timedelta(days=2)
    out = file_request(db, member, "new_membership", submitted_at=submitted)
    png = add_document(db, out.request_id, tiny_png(), "image/png", "national_card", uploaded_at=submitted)
    pdf = add_document(db, out.request_id, tiny_pdf(), "application/pdf", "degree", uploaded_at=submitted)
    return {"id": out.request_id, "code": out.tracking_code, "png": png, "pdf": pdf}


def open_request(db_url, username, code):
    at = signed_in(db_url, username)
    at.switch_page("pages/request.py")
    at.query_params["code"] = code
    return at.run()


def req(engine, rid):
    with engine.connect() as c:
        return c.execute(sa.text("SELECT * FROM request WHERE id = :i"), {"i": rid}).mappings().one()


def all_text(at) -> str:
    parts = texts(at.markdown) + texts(at.subheader) + texts(at.info) + texts(at.error) + texts(at.success)
    return "\n".join(str(p) for p in parts)


def has_button(at, key) -> bool:
    return any(b.key == key for b in at.button)


def tick_all(at, n=CHECKS):
    for i in range(n):
        at.checkbox(key=f"req-check-{i}").check()
    return at.run()


def test_the_page_shows_header_member_documents_and_timeline(db_url, db, world, case):
    at = open_request(db_url, "t.expert", case["code"])
    assert not at.exception
    text = all_text(at)
    assert "عضویت جدید" in text and "بررسی اولیه" in text and "در جریان" in text
    assert "زهرا کریمی" in text and "عمران" in text
    assert "sla-badge" in text and "ساعت کاری" in text
    docs = at.dataframe[0].value
    assert list(docs["نوع مدرک"]) == ["کارت ملی", "مدرک تحصیلی"]
    timeline = at.dataframe[1].value
    assert list(timeline["اقدام"]) == ["ثبت درخواست"] and list(timeline["شخص"]) == ["عضو/سامانه"]
    # The first document (a PNG) is shown with a zoom slider and a download button.
    assert at.selectbox(key="req-doc-pick").value == case["png"]
    assert len(at.image) == 1 and at.select_slider(key=f"doc-zoom-{case['png']}").value == 700
    assert [b.key for b in at.get("download_button")] == [f"doc-download-{case['png']}"]
    # The PDF opens inline: st.pdf with streamlit-pdf, else the browser's viewer fed from the bytes.
    at.selectbox(key="req-doc-pick").select(case["pdf"]).run()
    assert not at.exception and not at.image
    pdf_b64 = base64.b64encode(tiny_pdf()).decode()
    assert [h for h in at.html if pdf_b64 in h.proto.body] or at.get("pdf")
    assert [b.proto.label for b in at.get("download_button")] == ["دریافت فایل"]
    assert at.query_params["code"] == case["code"]


def test_approve_is_disabled_until_the_checklist_is_complete_then_moves_the_request_on(db_url, db, world, case):
    at = open_request(db_url, "t.expert", case["code"])
    assert at.button(key="req-approve").disabled
    at.checkbox(key="req-check-0").check().run()
    assert at.button(key="req-approve").disabled
    tick_all(at)
    assert not at.button(key="req-approve").disabled
    at.checkbox(key="req-confirm").check()
    at.button(key="req-approve").click().run()
    assert not at.exception
    row = req(db, case["id"])
    assert (row["stage_code"], row["version"], row["initial_reviewer_id"]) == ("final_review", 2, world["expert"].id)
    assert "درخواست تأیید شد و به مرحلهٔ بعد رفت." in texts(at.success)
    # The page now shows the new stage, and four eyes keeps the same expert from acting on it.
    assert "بررسی نهایی" in all_text(at)
    assert not has_button(at, "req-approve") and "نقش" in " ".join(texts(at.info))


def test_an_unconfirmed_action_does_nothing(db_url, db, world, case):
    at = tick_all(open_request(db_url, "t.expert", case["code"]))
    at.button(key="req-approve").click().run()
    assert any("تأیید می‌کنم" in e for e in texts(at.error))
    assert req(db, case["id"])["version"] == 1


@pytest.mark.parametrize("action,status", [("reject", "rejected"), ("return", "returned")])
def test_reject_and_return_need_a_reason(db_url, db, world, case, action, status):
    at = open_request(db_url, "t.expert", case["code"])
    at.checkbox(key="req-confirm").check()
    at.button(key=f"req-{action}").click().run()
    assert any("الزامی است" in e for e in texts(at.error))
    assert (req(db, case["id"])["status"], req(db, case["id"])["version"]) == ("open", 1)
    at.text_area(key="req-reason").input("مدرک تحصیلی ناخوانا است")
    at.checkbox(key="req-confirm").check()
    at.button(key=f"req-{action}").click().run()
    assert not at.exception and texts(at.success)
    row = req(db, case["id"])
    assert row["status"] == status
    with db.connect() as c:
        reason = c.execute(sa.text("SELECT reason FROM request_event WHERE request_id = :i AND version = 2"),
                           {"i": case["id"]}).scalar_one()
    assert reason == "مدرک تحصیلی ناخوانا است"


def test_a_stale_page_names_who_acted_and_changes_nothing(db_url, db, world, case):
    at = tick_all(open_request(db_url, "t.expert", case["code"]))
    at.checkbox(key="req-confirm").check().run()
    # Meanwhile a colleague approves the same request from their own screen.
    wf.approve(db, world["expert2"], case["id"], 1, checklist=[True] * CHECKS)
    before = req(db, case["id"])
    at.button(key="req-approve").click().run()
    assert not at.exception
    stale = " ".join(texts(at.error))
    assert "پیش از شما تغییر کرده است" in stale and "کارشناس دوم" in stale
    assert req(db, case["id"]) == before
    assert at.button(key="req-reload")
    at.button(key="req-reload").click().run()
    assert not at.exception and not has_button(at, "req-reload")
    assert not any("پیش از شما" in e for e in texts(at.error))
    assert "بررسی نهایی" in all_text(at)  # the page now shows what the colleague did


def test_claim_from_the_page(db_url, db, world, case):
    at = open_request(db_url, "t.expert", case["code"])
    at.button(key="req-claim").click().run()
    assert req(db, case["id"])["assignee_id"] == world["expert"].id
    assert "کار برداشته شد." in texts(at.success)
    assert "کارشناس یکم" in all_text(at)
    # The other expert now sees who holds it, and no action buttons.
    other = open_request(db_url, "t.expert2", case["code"])
    assert any("کارشناس یکم برداشته است" in i for i in texts(other.info))
    assert not has_button(other, "req-approve")


def test_another_province_sees_not_found_and_no_member_data(db_url, db, world, case):
    at = open_request(db_url, "i.expert", case["code"])
    assert not at.exception
    assert texts(at.error) == ["درخواست پیدا نشد."]
    assert "زهرا کریمی" not in all_text(at)
    assert not at.dataframe and not at.image and not at.checkbox


def test_a_document_verdict_through_the_page(db_url, db, world, case):
    at = open_request(db_url, "t.expert", case["code"])
    at.radio(key="req-doc-verdict-choice").set_value("rejected")
    at.button(key="req-doc-verdict").click().run()
    assert any("دلیل رد مدرک" in e for e in texts(at.error))
    at.radio(key="req-doc-verdict-choice").set_value("rejected")
    at.text_input(key="req-doc-reason").input("تصویر ناخواناست")
    at.button(key="req-doc-verdict").click().run()
    assert "مدرک «کارت ملی» رد شد." in texts(at.success)
    with db.connect() as c:
        verdict = c.execute(sa.text("SELECT verdict, verdict_reason FROM document WHERE id = :d"),
                            {"d": case["png"]}).one()
    assert tuple(verdict) == ("rejected", "تصویر ناخواناست")
    assert req(db, case["id"])["version"] == 1
    # A rejected required document keeps approve disabled, even with every box ticked.
    tick_all(at)
    assert at.button(key="req-approve").disabled
    assert any("کارت ملی" in w for w in texts(at.warning))
    assert "نظر دربارهٔ مدرک" in list(at.dataframe[1].value["اقدام"])


def test_a_comment_is_added_to_the_timeline(db_url, db, world, case):
    at = open_request(db_url, "t.expert", case["code"])
    at.text_area(key="req-comment").input("با عضو تماس گرفته شد")
    at.button(key="req-comment-add").click().run()
    assert "یادداشت ثبت شد." in texts(at.success)
    assert "با عضو تماس گرفته شد" in " ".join(at.dataframe[1].value["توضیح"])
    assert at.text_area(key="req-comment").value == ""


def test_the_search_box_opens_a_request_without_a_url_code(db_url, db, world, case):
    at = signed_in(db_url, "t.expert")
    at.switch_page("pages/request.py").run()
    assert "پروندهٔ درخواست" in texts(at.title) and not at.dataframe
    at.text_input(key="req-code").input(case["code"].translate(str.maketrans("0123456789", "۰۱۲۳۴۵۶۷۸۹"))).run()
    assert "زهرا کریمی" in all_text(at)
    assert at.query_params["code"] == case["code"]


def test_the_same_request_opens_again_from_a_link_after_another_page(db_url, db, world, case):
    at = open_request(db_url, "t.expert", case["code"])
    assert "زهرا کریمی" in all_text(at)
    at.switch_page("pages/queue.py").run()
    at.switch_page("pages/request.py")
    at.query_params["code"] = case["code"]
    at.run()
    assert "زهرا کریمی" in all_text(at) and "کد رهگیری درخواست را وارد کنید." not in texts(at.info)


@pytest.mark.parametrize("username", ["t.board", "t.admin"])
def test_roles_that_do_not_work_on_requests_cannot_open_the_page(db_url, db, world, case, username):
    at = signed_in(db_url, username)
    with pytest.raises(ValueError):  # not registered in their navigation
        at.switch_page("pages/request.py")
    direct = app(db_url, page="pages/request.py")  # and refused when run directly by URL
    sign_in(direct, db_url, username)
    direct.query_params["code"] = case["code"]
    direct.run()
    assert "شما به این صفحه دسترسی ندارید." in texts(direct.error)
    assert "زهرا کریمی" not in all_text(direct)


def test_an_issue_stage_offers_complete(db_url, db, world):
    from logic.payments import confirm_payment
    from tests.factories import make_assessment
    make_staff(db, "central.expert", ["central_expert"], None, "کارشناس مرکزی")
    finance = make_staff(db, "t.finance", ["finance"], TEHRAN_ID, "مالی")
    start = now_tehran() - timedelta(days=1)
    out = file_request(db, make_member(db, TEHRAN_ID), "card_reissue", submitted_at=start)
    with db.connect() as c:  # the payment stage may already hold a tariff-based assessment
        total = c.execute(sa.text("SELECT total FROM fee_assessment WHERE request_id = :i ORDER BY version DESC"),
                          {"i": out.request_id}).first()
    if total is None:
        make_assessment(db, out.request_id, 500_000)
    amount = total[0] if total else 500_000
    confirm_payment(db, finance, out.request_id, "REF-ISSUE-1", amount, now=start + timedelta(hours=1))
    at = open_request(db_url, "central.expert", out.tracking_code)
    assert [b.key for b in at.button if b.key in ("req-approve", "req-reject", "req-return", "req-complete")] == [
        "req-complete"]
    assert not at.checkbox(key="req-confirm").value and not [c for c in at.checkbox if c.key.startswith("req-check")]
    at.checkbox(key="req-confirm").check()
    at.button(key="req-complete").click().run()
    assert "صدور انجام شد." in texts(at.success)
    assert req(db, out.request_id)["status"] == "completed"
    assert "پایان‌یافته" in all_text(at) and "بسته" in " ".join(texts(at.info))


def at_central_review(db, world, rank: int):
    """A rating asking for a top rank, taken (in the past: the page acts at the real clock) to the
    central organisation's review."""
    from tests.factories import step
    world = {**world, "finance": make_staff(db, "t.finance", ["finance"], TEHRAN_ID, "مالی"),
             "central": make_staff(db, "central.expert", ["central_expert"], None, "کارشناس مرکزی")}
    at_time = start = now_tehran() - timedelta(days=3)
    out = file_request(db, make_member(db, TEHRAN_ID), "rating", {"rating_kind": "consultant", "requested_rank": rank},
                       submitted_at=start)
    while req(db, out.request_id)["stage_code"] != "central_review":
        at_time += timedelta(minutes=20)
        step(db, world, out.request_id, at_time)
    return out


def test_the_central_expert_refers_a_top_rank_rating_to_the_provinces_committee(db_url, db, world):
    out = at_central_review(db, world, 1)
    at = open_request(db_url, "central.expert", out.tracking_code)
    assert not at.exception and "کارشناسی سازمان مرکزی (دو رتبهٔ نهایی)" in all_text(at)
    assert "بدون مهلت مصوب" in all_text(at)  # the chart gives the central review no time
    refer = at.checkbox(key="req-refer")
    assert "کمیته تخصصی استان" in refer.label
    refer.check()
    at = tick_all(at, 1)
    at.checkbox(key="req-confirm").check()
    at.button(key="req-approve").click().run()
    assert not at.exception
    row = req(db, out.request_id)
    assert row["stage_code"] == "specialised_committee" and row["referred"]


def test_no_referral_is_offered_where_none_follows(db_url, db, world, case):
    at = open_request(db_url, "t.expert", case["code"])
    assert not [c for c in at.checkbox if c.key == "req-refer"]


def test_the_central_expert_grants_the_rank_the_points_give(db_url, db, world):
    out = at_central_review(db, world, 2)
    at = open_request(db_url, "central.expert", out.tracking_code)
    at.selectbox(key="req-granted-rank").select(3)
    at = tick_all(at, 1)
    at.checkbox(key="req-confirm").check()
    at.button(key="req-approve").click().run()
    assert not at.exception
    assert req(db, out.request_id)["stage_code"] == "final_review"
    assert "رتبهٔ ۳ بر اساس امتیاز کسب‌شده" in list(at.dataframe[-1].value["توضیح"])


def test_typed_text_is_shown_as_text_not_markdown(db_url, db, world, case):
    from ui.widgets import plain
    image = "![t](http://198.51.100.7/pixel.png)"
    doc = add_document(db, case["id"], tiny_png(), "image/png", "national_card", title=image, file_name="scan.png")
    at = open_request(db_url, "t.expert", case["code"])
    at.selectbox(key="req-doc-pick").select(doc).run()
    shown = [m.value for m in at.markdown]
    assert any(plain(image) in m for m in shown) and not any(image in m for m in shown)
    assert plain("**b** :red[x] $x$ <img>") == r"\*\*b\*\* \:red\[x\] \$x\$ \<img\>"


def test_approving_for_a_member_whose_membership_lapsed_is_warned_but_a_renewal_is_not(db_url, db, world):
    member = make_member(db, TEHRAN_ID)
    card = file_request(db, member, "licence_renewal", submitted_at=now_tehran() - timedelta(days=1))
    with db.begin() as c:  # the membership lapses while the request waits
        c.execute(sa.text("UPDATE member SET status = 'lapsed', valid_until = current_date - 30 WHERE id = :m"),
                  {"m": member})
    at = open_request(db_url, "t.expert", card.tracking_code)
    assert any("اعتبار منقضی" in w for w in texts(at.warning))
    renewal = file_request(db, member, "membership_renewal", submitted_at=now_tehran() - timedelta(days=1))
    at = open_request(db_url, "t.expert", renewal.tracking_code)
    assert not any("وضعیت عضویت این عضو" in w for w in texts(at.warning))
