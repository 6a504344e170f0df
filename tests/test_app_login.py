"""Login and role-based navigation, driven through the real app script."""
from __future__ import annotations

import pytest

from domain.login_policy import LOGIN_REFUSED
from domain.reference import TEHRAN_ID
from domain.roles import Role
from tests.apptest import app, sign_in, signed_in, texts
from tests.conftest import ROOT
from tests.factories import PASSWORD, make_staff
from ui.navigation import PAGES

ROLE_USERS = [(f"tehran.{r.value}", r.value, TEHRAN_ID) for r in Role] + [("central.expert", "central_expert", None)]


@pytest.fixture
def staff(db):
    return {u: make_staff(db, u, [role], prov, full_name=f"کارمند {role}") for u, role, prov in ROLE_USERS}


def login(at, username, password):
    inputs = at.text_input
    inputs[0].input(username)
    inputs[1].input(password)
    at.button[0].click()
    return at.run()


def test_logged_out_sees_only_the_persian_login_form(db_url, staff):
    at = app(db_url).run()
    assert not at.exception
    assert [t.label for t in at.text_input] == ["نام کاربری", "گذرواژه"]
    assert "پیشخوان" not in texts(at.title)


def test_wrong_password_is_refused_in_persian(db_url, staff):
    at = login(app(db_url).run(), "tehran.expert", "wrong-password")
    assert texts(at.error) == [LOGIN_REFUSED]
    assert "پیشخوان" not in texts(at.title)


def test_the_form_and_a_refusal_come_without_a_deliberate_wait(db_url, staff, monkeypatch):
    """The widget's own pause (0.7 s on every signed-out run, for a cookie component this app does not
    use) is off: guessing is slowed by the throttles, which refuse, not by making everyone wait."""
    import time
    waits, real_sleep = [], time.sleep

    def sleep(seconds):
        if seconds >= 0.1:  # the test harness polls in steps of a millisecond
            waits.append(seconds)
        real_sleep(seconds)
    monkeypatch.setattr(time, "sleep", sleep)
    at = login(app(db_url).run(), "tehran.expert", "wrong-password")
    assert texts(at.error) == [LOGIN_REFUSED]
    assert waits == []


@pytest.mark.parametrize("username,role,province", ROLE_USERS)
def test_each_role_logs_in_and_sees_exactly_its_pages(db_url, staff, username, role, province):
    at = login(app(db_url).run(), username, PASSWORD)
    assert not at.exception
    assert texts(at.title) == ["پیشخوان"]
    sidebar = " ".join(texts(at.sidebar.markdown))
    assert f"کارمند {role}" in sidebar
    assert ("تهران" if province else "سازمان مرکزی") in sidebar
    registered = {i.get("script_path") for i in at._registered_pages.values()}
    allowed = [spec for spec in PAGES if role in {str(r) for r in spec.roles}]
    # The navigation built for this login holds exactly the role's pages.
    assert {str(ROOT / "pages" / s.file) for s in allowed} == registered - {None}
    for spec in allowed:
        at.switch_page(f"pages/{spec.file}").run()
        assert not at.exception, spec.file
        assert spec.title in texts(at.title), spec.file


@pytest.mark.parametrize("spec", [p for p in PAGES if "expert" not in {str(r) for r in p.roles}],
                         ids=lambda p: p.file)
def test_a_page_run_directly_by_url_still_refuses_a_role_it_is_not_for(db_url, staff, spec):
    at = app(db_url, page=f"pages/{spec.file}")
    sign_in(at, db_url, "tehran.expert")
    at.run()
    assert "شما به این صفحه دسترسی ندارید." in texts(at.error)
    assert spec.title not in texts(at.title)


def test_a_deactivated_account_loses_access_on_its_next_run(db_url, db, staff):
    import sqlalchemy as sa
    at = signed_in(db_url, "tehran.manager")
    assert texts(at.title) == ["پیشخوان"]
    with db.begin() as conn:
        conn.execute(sa.text("UPDATE staff_user SET is_active = false WHERE username = 'tehran.manager'"))
    at.run()
    assert "پیشخوان" not in texts(at.title)
    assert not at.metric
    # A fresh visit (new session, same browser) gets the login form, not the app.
    fresh = signed_in(db_url, "tehran.manager")
    assert [t.label for t in fresh.text_input] == ["نام کاربری", "گذرواژه"]
    assert "پیشخوان" not in texts(fresh.title)




def audit_actions(engine):
    import sqlalchemy as sa
    with engine.connect() as c:
        return [r[0] for r in c.execute(sa.text("SELECT action FROM audit_event ORDER BY id"))]


def wait_out_the_throttle(engine):
    """As if the per-username wait after a failure had passed (the throttle has tests of its own)."""
    import sqlalchemy as sa
    with engine.begin() as c:
        c.execute(sa.text("DELETE FROM login_throttle"))


def test_five_failures_lock_the_account_for_fifteen_minutes_across_sessions(db_url, db, staff):
    import sqlalchemy as sa
    for attempt in range(5):
        # A new app session each time: the count lives in the database, not in the browser session.
        at = login(app(db_url).run(), "tehran.expert", f"wrong-{attempt}")
        assert texts(at.error) == [LOGIN_REFUSED]
        wait_out_the_throttle(db)
    # The right password is refused now, with the same message as a wrong one or an unknown user.
    at = login(app(db_url).run(), "tehran.expert", PASSWORD)
    assert texts(at.error) == [LOGIN_REFUSED]
    assert "پیشخوان" not in texts(at.title)
    assert audit_actions(db) == ["login_failed"] * 4 + ["account_locked", "login_refused_locked"]
    with db.begin() as c:  # fifteen minutes later
        c.execute(sa.text("UPDATE staff_user SET locked_until = now() - interval '1 second' "
                          "WHERE username = 'tehran.expert'"))
    wait_out_the_throttle(db)  # long over by then
    at = login(app(db_url).run(), "tehran.expert", PASSWORD)
    assert texts(at.title) == ["پیشخوان"]
    assert audit_actions(db)[-1] == "login"


def test_a_success_resets_the_failure_count(db_url, db, staff):
    import sqlalchemy as sa
    for attempt in range(4):
        login(app(db_url).run(), "tehran.expert", "wrong")
        wait_out_the_throttle(db)
    login(app(db_url).run(), "tehran.expert", PASSWORD)
    login(app(db_url).run(), "tehran.expert", "wrong")
    with db.connect() as c:
        row = c.execute(sa.text("SELECT failed_logins, locked_until FROM staff_user "
                                "WHERE username = 'tehran.expert'")).one()
    assert (row.failed_logins, row.locked_until) == (1, None)
