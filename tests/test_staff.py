"""Staff administration and own-password changes: scope, password rules, audit, and revocation of
existing sessions."""
from __future__ import annotations

from datetime import datetime, timezone

import pytest
import sqlalchemy as sa
from hypothesis import given, settings, strategies as st

from db.engine import session_scope
from domain.errors import Conflict, PermissionDenied, ValidationError
from domain.reference import ISFAHAN_ID, TEHRAN_ID
from logic import staff as svc
from tests.apptest import signed_in, texts
from tests.factories import PASSWORD, make_staff


@pytest.fixture
def admins(db):
    return {"central": make_staff(db, "admin", ["admin"], None),
            "tehran": make_staff(db, "t.admin", ["admin"], TEHRAN_ID),
            "expert": make_staff(db, "t.expert", ["expert"], TEHRAN_ID)}


def audit(engine):
    with engine.connect() as c:
        return [r[0] for r in c.execute(sa.text("SELECT action FROM audit_event ORDER BY id"))]


def test_provincial_admin_manages_only_own_province(db, admins):
    uid = svc.create_staff(db, admins["tehran"], username="t.new", full_name="کارمند تازه", roles=["expert"],
                           province_id=TEHRAN_ID, password="Tazeh@1405")
    with pytest.raises(PermissionDenied):
        svc.create_staff(db, admins["tehran"], username="i.new", full_name="کارمند", roles=["expert"],
                         province_id=ISFAHAN_ID, password="Tazeh@1405")
    with pytest.raises(PermissionDenied):
        svc.create_staff(db, admins["expert"], username="x.new", full_name="کارمند", roles=["expert"],
                         province_id=TEHRAN_ID, password="Tazeh@1405")
    with pytest.raises(Conflict):
        svc.create_staff(db, admins["central"], username="t.new", full_name="دوباره", roles=["expert"],
                         province_id=TEHRAN_ID, password="Tazeh@1405")
    with pytest.raises(ValidationError):
        svc.create_staff(db, admins["tehran"], username="t.central", full_name="کارمند", roles=["central_expert"],
                         province_id=TEHRAN_ID, password="Tazeh@1405")
    isfahan_user = make_staff(db, "i.expert", ["expert"], ISFAHAN_ID)
    with pytest.raises(PermissionDenied):
        svc.set_active(db, admins["tehran"], isfahan_user.id, False)
    svc.update_staff(db, admins["tehran"], uid, roles=["expert", "final_reviewer"], full_name="کارمند تازه")
    assert audit(db) == ["staff_created", "staff_updated"]


@pytest.mark.parametrize("bad", ["kootah", "", "a" * 73, "۱" * 40, "aaaaaaaaaa",
                                 "password", "12345678", "P@ssw0rd",          # on the common list
                                 "x.user2026!", " Tazeh@1405", "Tazeh@1405 "])  # the username; spaces
def test_password_rules(db, admins, bad):
    """At least 8 characters, at most 72 bytes (bcrypt's limit; 40 Persian digits are 80 bytes), not a
    common password, not containing the username, no surrounding spaces (never matched at login)."""
    with pytest.raises(ValidationError):
        svc.create_staff(db, admins["central"], username="x.user", full_name="کاربر", roles=["expert"],
                         province_id=TEHRAN_ID, password=bad)
    assert audit(db) == []


@settings(max_examples=50, deadline=None)
@given(st.text(min_size=0, max_size=100))
def test_any_password_is_either_refused_in_persian_or_fits_bcrypt(password):
    try:
        svc.validate_password(password)
    except ValidationError as exc:
        assert any("\u0600" <= ch <= "\u06ff" for ch in exc.message)
    else:
        assert len(password) >= 8 and len(password.encode()) <= 72


def test_deactivation_and_password_reset_end_existing_sessions(db, admins):
    from logic.sessions import check_session, start_session

    def new_session():
        with session_scope(db) as s:
            return start_session(s, target.id, "k" * 32, datetime.now(timezone.utc))

    target = make_staff(db, "t.target", ["expert"], TEHRAN_ID)
    before = new_session()
    svc.reset_password(db, admins["tehran"], target.id, "Tazeh@1405")
    assert check_session(db, before, "k" * 32).actor is None
    after = new_session()
    assert check_session(db, after, "k" * 32).actor == target
    svc.set_active(db, admins["tehran"], target.id, False)
    assert check_session(db, after, "k" * 32).actor is None
    assert audit(db) == ["password_reset", "staff_deactivated"]


def test_changing_own_password_needs_the_old_one(db, admins):
    me = admins["expert"]
    with pytest.raises(ValidationError, match="فعلی"):
        svc.change_own_password(db, me, "wrong-old", "Tazeh@1405")
    svc.change_own_password(db, me, PASSWORD, "Tazeh@1405")
    with db.connect() as c:
        h = c.execute(sa.text("SELECT password_hash FROM staff_user WHERE id = :i"), {"i": me.id}).scalar()
    import bcrypt
    assert bcrypt.checkpw(b"Tazeh@1405", h.encode())
    assert audit(db) == ["password_changed"]


def test_staff_page_creates_a_user(db_url, db, admins):
    at = signed_in(db_url, "t.admin").switch_page("pages/staff.py").run()
    assert "کاربران" in texts(at.title)
    at.text_input(key="staff-new-username").input("t.fresh")
    at.text_input(key="staff-new-name").input("کارمند تازه")
    at.multiselect(key="staff-new-roles").select("expert")
    at.text_input(key="staff-new-password").input("Tazeh@1405")
    at.run()
    at.button(key="staff-create").click().run()
    assert "کاربر ایجاد شد." in texts(at.success)
    with db.connect() as c:
        assert c.execute(sa.text("SELECT province_id FROM staff_user WHERE username = 't.fresh'")).scalar() == TEHRAN_ID


def test_staff_page_is_for_administrators_only(db_url, db, admins):
    at = signed_in(db_url, "t.expert")
    with pytest.raises(ValueError):
        at.switch_page("pages/staff.py")


def test_account_page_changes_the_password_and_ends_the_session(db_url, db, admins):
    at = signed_in(db_url, "t.expert").switch_page("pages/account.py").run()
    at.text_input(key="account-old").input(PASSWORD)
    at.text_input(key="account-new").input("Tazeh@1405")
    at.text_input(key="account-again").input("Tazeh@1406")
    at.run()
    at.button(key="account-change").click().run()
    assert any("یکسان نیست" in e for e in texts(at.error))
    at.text_input(key="account-again").input("Tazeh@1405").run()
    at.button(key="account-change").click().run()
    assert audit(db) == ["password_changed"]
