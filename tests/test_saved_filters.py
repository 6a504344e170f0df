"""Saved queue filters: saved under a name, back after signing out and in, private to their owner
(invisible to others, and not deletable by id), names checked with Persian messages, each change
audited."""
from __future__ import annotations

import pytest
import sqlalchemy as sa

from db.engine import session_scope
from domain.actor import Actor
from domain.errors import NotFound, PermissionDenied, ValidationError
from domain.reference import TEHRAN_ID
from logic import saved_filters as sf
from tests.apptest import signed_in, texts
from tests.factories import audit_rows, make_staff


@pytest.fixture
def people(db):
    return {"a": make_staff(db, "t.expert", ["expert"], TEHRAN_ID, "کارشناس یکم"),
            "b": make_staff(db, "t.expert2", ["expert"], TEHRAN_ID, "کارشناس دوم"),
            "manager": make_staff(db, "t.manager", ["manager"], TEHRAN_ID, "مدیر")}


def open_queue(db_url, username):
    at = signed_in(db_url, username)
    at.switch_page("pages/queue.py").run()
    assert not at.exception, at.exception
    return at


def mine(db, actor):
    with session_scope(db) as s:
        return sf.list_filters(s, actor)


def test_a_saved_filter_comes_back_after_signing_out_and_in(db_url, db, people):
    at = open_queue(db_url, "t.expert")
    assert at.selectbox(key="queue-saved").disabled  # nothing saved yet
    at.selectbox(key="queue-sla").select("breached").run()
    at.toggle(key="queue-desc").set_value(True).run()
    at.text_input(key="queue-search").input("رضا").run()
    at.text_input(key="queue-saved-name").input("تأخیرهای من").run()
    at.button(key="queue-saved-save").click().run()
    assert "فیلتر «تأخیرهای من» ذخیره شد." in texts(at.success)
    assert at.text_input(key="queue-saved-name").value == ""

    again = open_queue(db_url, "t.expert")  # a new sign-in: a fresh session, nothing kept in it
    assert again.selectbox(key="queue-sla").value is None and again.text_input(key="queue-search").value == ""
    picker = again.selectbox(key="queue-saved")
    assert picker.options == ["تأخیرهای من"]
    picker.select(mine(db, people["a"])[0].id).run()
    assert again.selectbox(key="queue-sla").value == "breached"
    assert again.toggle(key="queue-desc").value is True
    assert again.text_input(key="queue-search").value == "رضا"
    assert again.selectbox(key="queue-saved").value == mine(db, people["a"])[0].id  # the one in force
    again.toggle(key="queue-desc").set_value(False).run()  # changed: no saved filter is in force any more
    assert again.selectbox(key="queue-saved").value is None
    again.selectbox(key="queue-saved").select(mine(db, people["a"])[0].id).run()  # so it can be applied again
    assert again.toggle(key="queue-desc").value is True
    assert [r["data"]["name"] for r in audit_rows(db, "queue_filter_saved")] == ["تأخیرهای من"]


def test_another_persons_filter_is_invisible_and_cannot_be_deleted_by_id(db_url, db, people):
    theirs = sf.save_filter(db, people["b"], "فیلتر دیگری", {"view": "group", "sla": "at_risk"})
    assert mine(db, people["a"]) == []
    at = open_queue(db_url, "t.expert")
    assert at.selectbox(key="queue-saved").options == []
    with pytest.raises(NotFound):
        sf.delete_filter(db, people["a"], theirs.id)
    assert [f.name for f in mine(db, people["b"])] == ["فیلتر دیگری"]  # still there
    assert sf.delete_filter(db, people["b"], theirs.id).message == "فیلتر «فیلتر دیگری» حذف شد."
    assert mine(db, people["b"]) == []
    assert len(audit_rows(db, "queue_filter_deleted")) == 1


def test_deleting_from_the_page(db_url, db, people):
    saved = sf.save_filter(db, people["a"], "گروه", {"view": "group"})
    at = open_queue(db_url, "t.expert")
    assert at.button(key="queue-saved-delete").disabled  # none chosen
    at.selectbox(key="queue-saved").select(saved.id).run()
    at.button(key="queue-saved-delete").click().run()
    assert "فیلتر «گروه» حذف شد." in texts(at.success)
    assert at.selectbox(key="queue-saved").options == [] and mine(db, people["a"]) == []


def test_names_are_checked_with_persian_messages(db, people):
    a = people["a"]
    with pytest.raises(ValidationError, match="نامی بنویسید"):
        sf.save_filter(db, a, "   ", {"view": "mine"})
    with pytest.raises(ValidationError, match="حداکثر ۶۰ نویسه"):
        sf.save_filter(db, a, "ن" * 61, {"view": "mine"})
    sf.save_filter(db, a, "كارهاي فوري", {"view": "mine"})  # Arabic kaf and yeh, as some keyboards type them
    assert [f.name for f in mine(db, a)] == ["کارهای فوری"]
    with pytest.raises(ValidationError, match="پیش‌تر ذخیره کرده‌اید"):
        sf.save_filter(db, a, "کارهای  فوری", {"view": "group"})  # the same name, Persian letters, two spaces
    # The other expert may use the same name for their own.
    sf.save_filter(db, people["b"], "کارهای فوری", {"view": "mine"})


def test_a_filter_the_queue_would_refuse_is_not_saved_and_roles_without_a_queue_have_none(db, people):
    with pytest.raises(ValidationError):
        sf.save_filter(db, people["a"], "همه", {"view": "all"})  # the whole province's list is a manager's
    with pytest.raises(ValidationError):
        sf.save_filter(db, people["a"], "استان", {"view": "mine", "province": TEHRAN_ID})  # central staff only
    board = make_staff(db, "t.board", ["board"], TEHRAN_ID)
    with pytest.raises(PermissionDenied):
        sf.save_filter(db, board, "هیأت", {})
    # A view the owner lost (a manager no longer) is left out when listed, the rest still applies.
    saved = sf.save_filter(db, people["manager"], "همه", {"view": "all", "sla": "breached"})
    with db.begin() as c:
        c.execute(sa.text("UPDATE staff_user SET roles = '{expert}' WHERE id = :i"), {"i": people["manager"].id})
    demoted = Actor(people["manager"].id, "t.manager", "مدیر", frozenset({"expert"}), TEHRAN_ID)
    assert mine(db, demoted)[0].filters == {"sla": "breached"} and mine(db, demoted)[0].id == saved.id
