"""The home page per role: what waits for each role, each figure a link to its filtered list."""
from __future__ import annotations

from datetime import timedelta

import pytest

from domain.jalali import now_tehran
from domain.reference import TEHRAN_ID
from tests.apptest import signed_in
from tests.factories import file_request, make_member, make_staff


@pytest.fixture
def world(db):
    for username, roles in (("t.expert", ["expert"]), ("t.board", ["board"]), ("t.finance", ["finance"]),
                            ("t.manager", ["manager"])):
        make_staff(db, username, roles, TEHRAN_ID)
    for days in (5, 0):  # one overdue, one fresh
        file_request(db, make_member(db, TEHRAN_ID, status="applicant"), "new_membership",
                     submitted_at=now_tehran() - timedelta(days=days))


def home(db_url, username):
    at = signed_in(db_url, username)
    assert not at.exception, at.exception
    return at


def figures(at) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def test_an_expert_sees_the_groups_overdue_and_free_work_with_links_to_the_queue(db_url, db, world):
    at = home(db_url, "t.expert")
    shown = figures(at)
    assert shown["گذشته از مهلت (کارهای من و گروه)"] == "۱"
    assert shown["کار آزاد در کارتابل گروه"] == "۲"
    links = {(link.proto.page, link.proto.query_string) for link in at.get("page_link")}
    assert any(page.endswith("queue") and "view=overdue" in query for page, query in links), links


def test_the_board_sees_no_queue_figures_and_finance_sees_its_own(db_url, db, world):
    board = figures(home(db_url, "t.board"))
    assert "پیش‌نویس‌های آمار در انتظار تأیید شما" in board
    assert not any("مهلت" in label for label in board)
    finance = figures(home(db_url, "t.finance"))
    assert {"ارزیابی‌های هزینه در انتظار تأیید مالی", "درخواست‌های در انتظار پرداخت"} <= set(finance)


def test_a_figure_opens_the_queue_on_its_view(db_url, db, world):
    at = signed_in(db_url, "t.manager")
    at.switch_page("pages/queue.py")
    at.query_params["view"] = "overdue"
    at.run()
    assert not at.exception
    assert at.radio(key="queue-view").value == "overdue"
