"""Who is acting: staff identities, the mapping the login widget is built from, and the app's secret
settings. The login itself is `logic.login`, sessions are `logic.sessions`."""
from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from db.models import StaffUser
from domain.actor import Actor
from domain.errors import DomainError
from domain.text import to_persian_digits

DEMO_COOKIE_KEY = "demo-cookie-key-not-for-production"
MIN_COOKIE_KEY_LENGTH = 32
MIN_COOKIE_KEY_DISTINCT = 10   # a random key, even in hex, has far more different characters
# A well-formed bcrypt hash (cost 12, like the staff's) that no password matches. The login widget
# never sees a real hash: every user gets this one (the check is logic.login's), and an unknown
# username is checked against it so that its refusal costs the same bcrypt run as a wrong password.
NO_PASSWORD_HASH = "$2b$12$" + "." * 53


class ConfigError(DomainError):
    default_message = "پیکربندی سامانه کامل نیست."


def actor_from_row(user: StaffUser) -> Actor:
    return Actor(user.id, user.username, user.full_name, frozenset(user.roles), user.province_id)


def account_usable(user: StaffUser, now: datetime) -> bool:
    return user.is_active and not (user.locked_until is not None and user.locked_until > now)


def login_credentials(session: Session) -> dict:
    """The credentials mapping streamlit-authenticator expects, built from the staff table, without
    password hashes: the widget keeps its form, state keys and logout button, and its own password
    check is replaced by logic.login's (ui/login.py); were it ever called, it would match nothing."""
    rows = session.execute(sa.select(StaffUser.username, StaffUser.full_name, StaffUser.email, StaffUser.roles)).all()
    return {"usernames": {
        r.username: {"name": r.full_name, "email": r.email or "", "roles": list(r.roles),
                     "first_name": r.full_name, "last_name": "", "password": NO_PASSWORD_HASH}
        for r in rows
    }}


def cookie_key(mode: str | None, key: str | None) -> str:
    """The secret behind login sessions (their ids are HMACs under it). Outside demo mode a real key is
    required."""
    if (mode or "production") == "demo":
        return key or DEMO_COOKIE_KEY
    if (not key or key == DEMO_COOKIE_KEY or len(key) < MIN_COOKIE_KEY_LENGTH
            or len(set(key)) < MIN_COOKIE_KEY_DISTINCT):  # "a" * 32 is long, not random
        raise ConfigError(
            "کلید امضای کوکی ورود (COOKIE_KEY) تنظیم نشده یا پیش‌فرض است. "
            f"در حالت عملیاتی یک کلید تصادفی دست‌کم {to_persian_digits(MIN_COOKIE_KEY_LENGTH)} نویسه‌ای لازم است."
        )
    return key
