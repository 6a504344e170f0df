"""Who is acting: staff identities, credentials for the login form, and the app's secret settings."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import sqlalchemy as sa
from sqlalchemy.orm import Session

from db.engine import session_scope
from db.models import StaffUser
from domain.actor import Actor
from domain.errors import DomainError
from domain.text import to_persian_digits
from logic.audit import record

DEMO_COOKIE_KEY = "demo-cookie-key-not-for-production"
MIN_COOKIE_KEY_LENGTH = 32
MIN_COOKIE_KEY_DISTINCT = 10   # a random key, even in hex, has far more different characters


class ConfigError(DomainError):
    default_message = "پیکربندی سامانه کامل نیست."


def actor_from_row(user: StaffUser) -> Actor:
    return Actor(user.id, user.username, user.full_name, frozenset(user.roles), user.province_id)


def load_actor(session: Session, username: str, *, now: datetime | None = None,
               signed_in_at: datetime | None = None) -> Actor | None:
    """The active, unlocked staff member with this username, or None. With `signed_in_at` (when the
    login or its cookie was issued), None too if the user's sessions were revoked after it."""
    user = session.scalar(sa.select(StaffUser).where(StaffUser.username == username))
    if user is None or not user.is_active:
        return None
    if user.locked_until is not None and now is not None and user.locked_until > now:
        return None
    if signed_in_at is not None and user.sessions_revoked_at is not None and signed_in_at <= user.sessions_revoked_at:
        return None
    return actor_from_row(user)


def cookie_issued_at(token: object, expiry_days: float) -> datetime | None:
    """When a login cookie was issued, from its expiry stamp (the token carries no issue time)."""
    if not isinstance(token, dict) or not isinstance(token.get("exp_date"), (int, float)):
        return None
    return datetime.fromtimestamp(token["exp_date"] - expiry_days * 86400, tz=timezone.utc)


def logout(engine: sa.Engine, actor: Actor, *, now: datetime | None = None) -> None:
    """End every session of this user: login cookies issued until now stop working, server-side."""

    now = now or datetime.now(timezone.utc)
    with session_scope(engine) as s:
        s.execute(sa.update(StaffUser).where(StaffUser.id == actor.id).values(sessions_revoked_at=now))
        record(s, actor, "logout", "staff_user", actor.id, province_id=actor.province_id, at=now)


# A well-formed bcrypt hash that no password matches: locked and inactive accounts get it, so the
# login form fails for them like for a wrong password (the account stays known, so its failures are
# counted and an old cookie for it is refused rather than crashing the authenticator).
NO_PASSWORD_HASH = "$2b$12$" + "." * 53
MAX_FAILED_LOGINS = 5
LOCK_MINUTES = 15


def login_credentials(session: Session, now: datetime | None = None) -> dict:
    """The credentials mapping streamlit-authenticator expects, built from the staff table.

    Password hashes stay in memory only; nothing is written to disk (no YAML)."""
    now = now or datetime.now(timezone.utc)
    rows = session.execute(
        sa.select(StaffUser.username, StaffUser.full_name, StaffUser.password_hash, StaffUser.email,
                  StaffUser.roles, StaffUser.is_active, StaffUser.locked_until)
    ).all()
    return {"usernames": {
        r.username: {"name": r.full_name, "email": r.email or "", "roles": list(r.roles),
                     "first_name": r.full_name, "last_name": "",
                     "password": r.password_hash if r.is_active and not (r.locked_until and r.locked_until > now)
                     else NO_PASSWORD_HASH}
        for r in rows
    }}


def failed_username(credentials: dict) -> str | None:
    """The account whose password the login form just refused (the authenticator counts it in the
    credentials mapping it was given, which is rebuilt on every run)."""
    for username, user in credentials["usernames"].items():
        if user.get("failed_login_attempts"):
            return username
    return None


def record_login_failure(engine: sa.Engine, username: str, *, now: datetime | None = None) -> str:
    """Count a refused login in the database (across sessions and restarts); the fifth in a row
    locks the account for 15 minutes. Returns the message for the login form."""
    from domain.jalali import format_jalali_datetime

    now = now or datetime.now(timezone.utc)
    with session_scope(engine) as s:
        user = s.scalar(sa.select(StaffUser).where(StaffUser.username == username).with_for_update())
        if user is None:
            return "نام کاربری یا گذرواژه نادرست است."
        actor = actor_from_row(user)
        if user.locked_until is not None and user.locked_until > now:
            record(s, actor, "login_refused_locked", "staff_user", user.id, province_id=user.province_id, at=now)
            return f"این حساب به دلیل ورودهای نادرست پیاپی تا {format_jalali_datetime(user.locked_until)} قفل است."
        user.failed_logins += 1
        if user.failed_logins >= MAX_FAILED_LOGINS:
            user.locked_until = now + timedelta(minutes=LOCK_MINUTES)
            user.failed_logins = 0
            record(s, actor, "account_locked", "staff_user", user.id, province_id=user.province_id, at=now,
                   data={"until": user.locked_until.isoformat()})
            return (f"پس از {to_persian_digits(MAX_FAILED_LOGINS)} ورود نادرست پیاپی، این حساب تا "
                    f"{format_jalali_datetime(user.locked_until)} قفل شد.")
        record(s, actor, "login_failed", "staff_user", user.id, province_id=user.province_id, at=now,
               data={"consecutive": user.failed_logins})
        return "نام کاربری یا گذرواژه نادرست است."


def record_login_success(engine: sa.Engine, username: str, *, now: datetime | None = None) -> None:

    now = now or datetime.now(timezone.utc)
    with session_scope(engine) as s:
        user = s.scalar(sa.select(StaffUser).where(StaffUser.username == username).with_for_update())
        if user is None:
            return
        user.failed_logins = 0
        record(s, actor_from_row(user), "login", "staff_user", user.id, province_id=user.province_id, at=now)


def cookie_key(mode: str | None, key: str | None) -> str:
    """The secret that signs login cookies. Outside demo mode a real key is required."""
    if (mode or "production") == "demo":
        return key or DEMO_COOKIE_KEY
    if (not key or key == DEMO_COOKIE_KEY or len(key) < MIN_COOKIE_KEY_LENGTH
            or len(set(key)) < MIN_COOKIE_KEY_DISTINCT):  # "a" * 32 is long, not random
        raise ConfigError(
            "کلید امضای کوکی ورود (COOKIE_KEY) تنظیم نشده یا پیش‌فرض است. "
            f"در حالت عملیاتی یک کلید تصادفی دست‌کم {to_persian_digits(MIN_COOKIE_KEY_LENGTH)} نویسه‌ای لازم است."
        )
    return key
