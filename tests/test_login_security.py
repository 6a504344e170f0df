"""Login hardening: the lockout counter under concurrent attempts, one message and one bcrypt run for
every refusal, the shared throttles, server-side session timeouts, and cookies after a logout.
Time is injected (`now=`); nothing sleeps."""
from __future__ import annotations

import threading
from datetime import datetime, timedelta, timezone

import pytest
import sqlalchemy as sa

from db.engine import make_engine
from domain.login_policy import LOGIN_REFUSED, MAX_FAILED_LOGINS, SESSION_ENDED_FA
from domain.reference import TEHRAN_ID
from logic import login as lg
from logic.auth import NO_PASSWORD_HASH
from logic.sessions import check_session, end_session
from tests.apptest import app, texts
from tests.factories import PASSWORD, make_staff

KEY = "test-cookie-key-0123456789abcdefghij"
T0 = datetime(2026, 11, 1, 8, 0, tzinfo=timezone.utc)


def attempt(db, username, password, at, **kw):
    return lg.attempt_login(db, username, password, key=KEY, now=at, **kw)


def audit(db):
    with db.connect() as c:
        return [tuple(r) for r in c.execute(sa.text("SELECT action, data->>'reason' FROM audit_event ORDER BY id"))]


def account(db, username):
    with db.connect() as c:
        return c.execute(sa.text("SELECT failed_logins, locked_until FROM staff_user WHERE username = :u"),
                         {"u": username}).one()


@pytest.fixture
def checks(monkeypatch):
    """Every bcrypt comparison the login makes: (password, hash)."""
    calls = []
    real = lg.password_matches

    def spy(password, password_hash):
        calls.append((password, password_hash))
        return real(password, password_hash)

    monkeypatch.setattr(lg, "password_matches", spy)
    return calls


# --- the lockout counter under concurrency ----------------------------------------------------------

@pytest.mark.parametrize("order", ["together", "right_password_counted_first"])
def test_eight_simultaneous_logins_after_four_failures_never_get_in_and_lock_the_account(db, monkeypatch, order):
    make_staff(db, "t.user", ["expert"], TEHRAN_ID)
    for i in range(MAX_FAILED_LOGINS - 1):
        assert not attempt(db, "t.user", "wrong-guess", T0 + timedelta(minutes=i)).ok
    race_at = T0 + timedelta(minutes=10)

    # Every attempt reaches its password comparison only once all eight have been counted, so the one
    # right password (whichever number it drew) is still being checked when the others lock the account.
    real, arrived, lock = lg.password_matches, [], threading.Condition()
    right_counted = threading.Event()

    def check_after_all_counted(password, password_hash):
        with lock:
            arrived.append(password_hash)
            lock.notify_all()
            if password == PASSWORD:
                right_counted.set()
            assert lock.wait_for(lambda: len(arrived) == 8, timeout=30)
        return real(password, password_hash)

    monkeypatch.setattr(lg, "password_matches", check_after_all_counted)
    barrier, results = threading.Barrier(8), [None] * 8

    def one(i):
        password = PASSWORD if i == 0 else f"guess-{i}"
        barrier.wait(timeout=30)
        if order == "right_password_counted_first" and i:
            assert right_counted.wait(timeout=30)
        results[i] = attempt(db, "t.user", password, race_at)

    threads = [threading.Thread(target=one, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert all(r is not None for r in results)
    assert not any(r.ok for r in results)
    assert {r.message for r in results} == {LOGIN_REFUSED}
    # Only the attempt within the allowance compared against the real hash; the rest ran the dummy.
    assert sum(h != NO_PASSWORD_HASH for h in arrived) == 1
    assert account(db, "t.user").locked_until > race_at
    assert ("account_locked", "concurrent attempts") in audit(db)
    with db.connect() as c:
        assert c.execute(sa.text("SELECT count(*) FROM staff_session")).scalar() == 0


def test_the_fifth_failure_locks_and_a_right_password_after_four_resets_the_count(db):
    make_staff(db, "t.user", ["expert"], TEHRAN_ID)
    for i in range(4):
        attempt(db, "t.user", "wrong-guess", T0 + timedelta(minutes=i))
    assert attempt(db, "t.user", PASSWORD, T0 + timedelta(minutes=5)).ok
    assert account(db, "t.user").failed_logins == 0
    for i in range(5):
        attempt(db, "t.user", "wrong-guess", T0 + timedelta(minutes=6 + i))
    assert account(db, "t.user").locked_until == T0 + timedelta(minutes=10 + 15)
    assert not attempt(db, "t.user", PASSWORD, T0 + timedelta(minutes=20)).ok
    assert attempt(db, "t.user", PASSWORD, T0 + timedelta(minutes=26)).ok


# --- one message, one bcrypt run --------------------------------------------------------------------

def test_every_refusal_says_the_same_and_costs_the_same_bcrypt_run(db, checks):
    user = make_staff(db, "t.user", ["expert"], TEHRAN_ID)
    make_staff(db, "t.gone", ["expert"], TEHRAN_ID)
    make_staff(db, "t.locked", ["expert"], TEHRAN_ID)
    with db.begin() as c:
        c.execute(sa.text("UPDATE staff_user SET is_active = false WHERE username = 't.gone'"))
        c.execute(sa.text("UPDATE staff_user SET locked_until = :t WHERE username = 't.locked'"),
                  {"t": T0 + timedelta(hours=1)})
    with db.connect() as c:
        real_hash = c.execute(sa.text("SELECT password_hash FROM staff_user WHERE id = :i"), {"i": user.id}).scalar()

    results = {name: attempt(db, name, pw, T0 + timedelta(minutes=i))
               for i, (name, pw) in enumerate([("t.nobody", PASSWORD), ("t.user", "wrong-guess"),
                                              ("t.gone", PASSWORD), ("t.locked", PASSWORD)])}
    assert {r.message for r in results.values()} == {LOGIN_REFUSED}
    assert not any(r.ok for r in results.values())
    # A wrong password is compared with the account's hash; an unknown, deactivated or locked account
    # with the dummy hash, so each refusal costs one bcrypt run.
    assert [h for _, h in checks] == [NO_PASSWORD_HASH, real_hash, NO_PASSWORD_HASH, NO_PASSWORD_HASH]
    # In production both are cost 12: the dummy costs what a real staff hash costs.
    from logic.staff import hash_password
    assert NO_PASSWORD_HASH[:7] == hash_password("Tazeh@1405")[:7] == "$2b$12$"
    assert [a for a, _ in audit(db)] == ["login_refused_unknown", "login_failed", "login_refused_disabled",
                                         "login_refused_locked"]


def test_a_password_longer_than_bcrypt_reads_is_refused_after_a_full_check(db, checks):
    make_staff(db, "t.user", ["expert"], TEHRAN_ID)
    assert not attempt(db, "t.user", PASSWORD + "x" * 80, T0).ok
    assert len(checks) == 1


# --- the throttles ----------------------------------------------------------------------------------

def test_a_username_must_wait_after_a_failure_known_or_not(db, checks):
    make_staff(db, "t.user", ["expert"], TEHRAN_ID)
    for name in ("t.user", "t.nobody"):  # the same for an account that does not exist: nothing to learn
        attempt(db, name, "wrong-guess", T0)
        attempt(db, name, "wrong-guess", T0 + timedelta(seconds=2))   # second failure: 2 s to wait
        checks.clear()
        refused = attempt(db, name, PASSWORD, T0 + timedelta(seconds=3))
        assert refused.message == "تلاش‌های ورود بیش از حد مجاز بوده است؛ ۱ ثانیهٔ دیگر دوباره تلاش کنید."
        assert checks == []   # no password was compared
    assert ("login_throttled", None) in audit(db)
    assert attempt(db, "t.user", PASSWORD, T0 + timedelta(seconds=4)).ok


def test_too_many_failures_a_minute_hold_every_login_in_every_process(db, db_url, checks):
    make_staff(db, "t.user", ["expert"], TEHRAN_ID)
    for i in range(3):
        attempt(db, f"t.sprayed{i}", "wrong-guess", T0 + timedelta(seconds=i), cap=3)
    other_process = make_engine(db_url)  # another app process behind the load balancer
    try:
        checks.clear()
        held = lg.attempt_login(other_process, "t.user", PASSWORD, key=KEY, now=T0 + timedelta(seconds=20), cap=3)
        assert held.message == "تلاش‌های ورود بیش از حد مجاز بوده است؛ ۴۰ ثانیهٔ دیگر دوباره تلاش کنید."
        assert checks == []
        assert lg.attempt_login(other_process, "t.user", PASSWORD, key=KEY, now=T0 + timedelta(seconds=61), cap=3).ok
    finally:
        other_process.dispose()


# --- sessions ---------------------------------------------------------------------------------------

def test_a_session_ends_after_thirty_idle_minutes(db):
    me = make_staff(db, "t.user", ["expert"], TEHRAN_ID)
    token = attempt(db, "t.user", PASSWORD, T0).session_token
    assert check_session(db, token, KEY, now=T0 + timedelta(minutes=29)).actor == me
    assert check_session(db, token, KEY, now=T0 + timedelta(minutes=58)).actor == me  # 29 min after the last run
    ended = check_session(db, token, KEY, now=T0 + timedelta(minutes=88))
    assert (ended.actor, ended.ended) == (None, "idle")
    assert check_session(db, token, KEY, now=T0 + timedelta(minutes=89)).actor is None  # and stays ended
    assert audit(db)[-1] == ("session_expired", "idle")


def test_a_session_ends_ten_hours_after_login_however_busy(db):
    me = make_staff(db, "t.user", ["expert"], TEHRAN_ID)
    token = attempt(db, "t.user", PASSWORD, T0).session_token
    for minutes in range(20, 600, 20):
        assert check_session(db, token, KEY, now=T0 + timedelta(minutes=minutes)).actor == me
    ended = check_session(db, token, KEY, now=T0 + timedelta(hours=10))
    assert (ended.actor, ended.ended) == (None, "absolute")
    assert audit(db)[-1] == ("session_expired", "absolute")


def test_a_session_from_a_stolen_table_row_or_another_key_opens_nothing(db):
    make_staff(db, "t.user", ["expert"], TEHRAN_ID)
    token = attempt(db, "t.user", PASSWORD, T0).session_token
    with db.connect() as c:
        stored = c.execute(sa.text("SELECT id FROM staff_session")).scalar()
    assert token.encode() not in stored
    assert check_session(db, token, "another-key-0123456789abcdefghijklmn", now=T0).actor is None


def test_a_login_after_a_logout_gets_a_working_session(db):
    me = make_staff(db, "t.user", ["expert"], TEHRAN_ID)
    first = attempt(db, "t.user", PASSWORD, T0).session_token
    end_session(db, me, first, KEY, now=T0 + timedelta(minutes=1))
    assert check_session(db, first, KEY, now=T0 + timedelta(minutes=2)).actor is None
    second = attempt(db, "t.user", PASSWORD, T0 + timedelta(minutes=3)).session_token
    assert check_session(db, second, KEY, now=T0 + timedelta(minutes=4)).actor == me


# --- through the app --------------------------------------------------------------------------------

def app_key():
    from db.engine import setting
    from logic.auth import cookie_key
    return cookie_key("demo", setting("COOKIE_KEY"))


def visit_with_cookie(db_url, monkeypatch, token):
    """A new browser session whose browser sends this session cookie."""
    import ui.session
    monkeypatch.setattr(ui.session, "request_cookie", lambda name: token)
    return app(db_url).run()


def test_a_cookie_issued_after_a_logout_signs_a_new_visit_in(db_url, db, monkeypatch):
    # The old bug: after a user's first logout, every cookie issued later was refused too.
    me = make_staff(db, "t.user", ["expert"], TEHRAN_ID)
    first = lg.attempt_login(db, "t.user", PASSWORD, key=app_key()).session_token
    end_session(db, me, first, app_key())
    second = lg.attempt_login(db, "t.user", PASSWORD, key=app_key()).session_token
    assert texts(visit_with_cookie(db_url, monkeypatch, second).title) == ["پیشخوان"]
    old = visit_with_cookie(db_url, monkeypatch, first)
    assert "پیشخوان" not in texts(old.title)
    assert [t.label for t in old.text_input] == ["نام کاربری", "گذرواژه"]


def test_an_idle_session_shows_the_login_form_with_the_reason(db_url, db, monkeypatch):
    make_staff(db, "t.user", ["expert"], TEHRAN_ID)
    token = lg.attempt_login(db, "t.user", PASSWORD, key=app_key()).session_token
    at = visit_with_cookie(db_url, monkeypatch, token)
    assert texts(at.title) == ["پیشخوان"]
    with db.begin() as c:  # the user went away for 31 minutes
        c.execute(sa.text("UPDATE staff_session SET last_seen_at = now() - interval '31 minutes'"))
    at.run()  # AppTest reruns the page itself: its own check refuses, with the reason
    assert "پیشخوان" not in texts(at.title)
    assert texts(at.warning) == [SESSION_ENDED_FA["idle"]]
    with db.begin() as c:  # through app.py: the tab reloaded after 31 idle minutes
        c.execute(sa.text("UPDATE staff_session SET last_seen_at = now() - interval '31 minutes', revoked_at = NULL"))
    at = visit_with_cookie(db_url, monkeypatch, token)
    assert texts(at.warning) == [SESSION_ENDED_FA["idle"]]
    assert [t.label for t in at.text_input] == ["نام کاربری", "گذرواژه"]



def test_usernames_whose_failures_no_longer_count_are_forgotten(db):
    for i in range(3):
        attempt(db, f"t.typo{i}", "wrong-guess", T0)
    attempt(db, "t.recent", "wrong-guess", T0 + timedelta(minutes=14))
    attempt(db, "t.later", "wrong-guess", T0 + timedelta(minutes=16))  # a new minute sweeps the table
    with db.connect() as c:
        scopes = set(c.scalars(sa.text("SELECT scope FROM login_throttle")))
    assert scopes == {"all", "user:t.recent", "user:t.later"}
