"""What production refuses to start with (`make serve`, deploy/serve.py): each check returns the
problems it found, in Persian for the operator, and the launcher stops on any."""
from __future__ import annotations

import bcrypt
import sqlalchemy as sa

from db.engine import session_scope
from db.models import StaffUser
from domain.roles import Role
from logic.auth import ConfigError, cookie_key

# The demo loader's shared password (demo/people.py; a test keeps the two equal). An account that
# still opens with it was copied from a demo database.
KNOWN_DEMO_PASSWORDS = ("Demo@1404",)


def config_problems(mode: str | None, key: str | None) -> list[str]:
    problems = []
    if (mode or "production") != "production":
        problems.append(f"حالت اجرا «{mode}» است؛ اجرای عملیاتی فقط با APP_MODE=production.")
    try:
        cookie_key("production", key)
    except ConfigError as exc:
        problems.append(exc.message)
    return problems


def demo_password_accounts(engine: sa.Engine) -> list[str]:
    """Active accounts whose password is a demo password. The demo gives every account one hash,
    so each distinct hash is tried once (bcrypt is slow on purpose)."""
    with session_scope(engine) as s:
        rows = s.execute(sa.select(StaffUser.username, StaffUser.password_hash)
                         .where(StaffUser.is_active)).all()
    by_hash: dict[str, list[str]] = {}
    for username, password_hash in rows:
        by_hash.setdefault(password_hash, []).append(username)
    found = []
    for password_hash, usernames in by_hash.items():
        try:
            if any(bcrypt.checkpw(p.encode(), password_hash.encode()) for p in KNOWN_DEMO_PASSWORDS):
                found += usernames
        except ValueError:  # a placeholder that is no bcrypt hash opens nothing
            continue
    return sorted(found)


def database_problems(engine: sa.Engine) -> list[str]:
    problems = []
    demo = demo_password_accounts(engine)
    if demo:
        shown = "، ".join(demo[:5]) + (f" و {len(demo) - 5} حساب دیگر" if len(demo) > 5 else "")
        problems.append(f"{len(demo)} حساب هنوز گذرواژهٔ نمونهٔ نسخهٔ آزمایشی را دارد ({shown}). این پایگاه داده "
                        "از نسخهٔ آزمایشی آمده است یا گذرواژه‌ها باید عوض شوند.")
    with session_scope(engine) as s:
        has_admin = s.scalar(sa.select(sa.exists().where(StaffUser.roles.any(Role.ADMIN.value), StaffUser.is_active)))
    if not has_admin:
        problems.append("سامانه هنوز مدیری ندارد: نخستین مدیر را با «python -m deploy.admin» بسازید.")
    return problems
