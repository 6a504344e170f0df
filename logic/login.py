"""The password check behind the login form: throttle, lockout counter, bcrypt, session, audit.

Order matters. (1) The throttle is read first: a throttled attempt checks no password. (2) The
attempt is counted before its password is checked, in one `UPDATE … RETURNING` that commits at once,
so concurrent attempts each get their own number: only attempts within the allowance reach bcrypt,
and an attempt past it locks the account on the spot. (3) bcrypt runs outside any transaction, against
the real hash or, for an unknown, disabled, locked or over-the-limit account, against a dummy hash of
the same cost. (4) A right password signs in only if the account is still usable: if concurrent wrong
attempts locked it meanwhile, the right one loses too. Every refusal gives the same message and is
audited with its real reason."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone

import bcrypt
import sqlalchemy as sa

from db.engine import session_scope, setting
from db.models import LoginThrottle, StaffUser
from domain.actor import Actor
from domain.login_policy import (GLOBAL_FAILURES_PER_MINUTE, GLOBAL_WINDOW, LOCK_TIME, LOGIN_REFUSED,
                                 MAX_FAILED_LOGINS, USER_FAILURE_MEMORY, global_wait, throttle_message,
                                 user_wait)
from logic.audit import record
from logic.auth import NO_PASSWORD_HASH, actor_from_row
from logic.sessions import start_session

BCRYPT_MAX_BYTES = 72
GLOBAL_SCOPE = "all"


@dataclass(frozen=True)
class LoginResult:
    username: str | None = None        # signed in as
    session_token: str | None = None   # for the cookie
    message: str | None = None         # the Persian refusal

    @property
    def ok(self) -> bool:
        return self.session_token is not None


def password_matches(password: str, password_hash: str) -> bool:
    data = password.encode("utf-8")
    # bcrypt reads at most 72 bytes and no stored password is longer (logic.staff refuses them), so a
    # longer one is wrong; it still costs one full bcrypt run.
    return bcrypt.checkpw(data[:BCRYPT_MAX_BYTES], password_hash.encode()) and len(data) <= BCRYPT_MAX_BYTES


def global_cap() -> int:
    return int(setting("LOGIN_FAILURES_PER_MINUTE") or GLOBAL_FAILURES_PER_MINUTE)


_COUNT_ATTEMPT = sa.text("""
UPDATE staff_user SET
    failed_logins = CASE WHEN failed_logins + 1 > :max THEN 0 ELSE failed_logins + 1 END,
    locked_until = CASE WHEN failed_logins + 1 > :max THEN CAST(:until AS timestamptz) ELSE locked_until END
WHERE username = :username AND is_active AND (locked_until IS NULL OR locked_until <= :now)
RETURNING id, username, full_name, roles, province_id, password_hash, failed_logins, locked_until
""")


def attempt_login(engine: sa.Engine, username: str | None, password: str | None, *, key: str,
                  now: datetime | None = None, cap: int | None = None) -> LoginResult:
    now = now or datetime.now(timezone.utc)
    name = (username or "").strip().lower()[:200]
    password = password or ""
    user_scope = f"user:{name}"
    cap = global_cap() if cap is None else cap

    if refusal := _throttled(engine, name, user_scope, now, cap):
        return refusal

    with session_scope(engine) as s:
        row = s.execute(_COUNT_ATTEMPT, {"max": MAX_FAILED_LOGINS, "until": now + LOCK_TIME, "now": now,
                                         "username": name}).one_or_none()
    locked_now = row is not None and row.locked_until is not None and row.locked_until > now
    checked = row is not None and not locked_now
    matches = password_matches(password, row.password_hash if checked else NO_PASSWORD_HASH)

    with session_scope(engine) as s:
        actor = Actor(row.id, row.username, row.full_name, frozenset(row.roles), row.province_id) if row else None
        if checked and matches:
            still_usable = s.execute(
                sa.update(StaffUser).where(StaffUser.id == row.id, StaffUser.is_active,
                                           sa.or_(StaffUser.locked_until.is_(None), StaffUser.locked_until <= now))
                .values(failed_logins=0).returning(StaffUser.id)).first()
            if still_usable:
                token = start_session(s, row.id, key, now)
                s.execute(sa.delete(LoginThrottle).where(LoginThrottle.scope == user_scope))
                record(s, actor, "login", "staff_user", row.id, province_id=row.province_id, at=now)
                return LoginResult(username=row.username, session_token=token)
            _audit(s, actor, "login_refused_locked", now, reason="locked while the password was checked")
        elif checked and row.failed_logins >= MAX_FAILED_LOGINS:
            locked = s.execute(
                sa.update(StaffUser).where(StaffUser.id == row.id,
                                           sa.or_(StaffUser.locked_until.is_(None), StaffUser.locked_until <= now))
                .values(failed_logins=0, locked_until=now + LOCK_TIME).returning(StaffUser.locked_until)).first()
            if locked:
                _audit(s, actor, "account_locked", now, until=locked.locked_until.isoformat(), reason="failures")
            else:
                _audit(s, actor, "login_refused_locked", now)
        elif checked:
            _audit(s, actor, "login_failed", now, consecutive=row.failed_logins)
        elif locked_now:
            _audit(s, actor, "account_locked", now, until=row.locked_until.isoformat(), reason="concurrent attempts")
        else:
            _audit_not_counted(s, name, now)
        _count_failure(s, user_scope, now)
    return LoginResult(message=LOGIN_REFUSED)


def _throttled(engine: sa.Engine, name: str, user_scope: str, now: datetime, cap: int) -> LoginResult | None:
    """The refusal of an attempt that must wait (audited), or None."""
    with session_scope(engine) as s:
        rows = {r.scope: r for r in s.scalars(sa.select(LoginThrottle)
                                              .where(LoginThrottle.scope.in_([user_scope, GLOBAL_SCOPE])))}
        mine, everyone = rows.get(user_scope), rows.get(GLOBAL_SCOPE)
        waits = {"user": mine and user_wait(now, mine.failures, mine.last_failed_at),
                 "all": everyone and global_wait(now, everyone.failures, everyone.window_started_at, cap)}
        scope, wait = max(((k, w) for k, w in waits.items() if w), key=lambda kw: kw[1], default=(None, None))
        if not wait:
            return None
        record(s, None, "login_throttled", "login", None, at=now,
               data={"username": name[:64], "scope": scope, "wait_seconds": round(wait.total_seconds(), 1)})
        return LoginResult(message=throttle_message(wait))


def _audit(s, actor: Actor, action: str, now: datetime, **data) -> None:
    record(s, actor, action, "staff_user", actor.id, province_id=actor.province_id, at=now, data=data)


def _audit_not_counted(s, name: str, now: datetime) -> None:
    """An attempt the counter did not take: unknown, deactivated or locked account."""
    user = s.scalar(sa.select(StaffUser).where(StaffUser.username == name))
    if user is None:
        record(s, None, "login_refused_unknown", "login", None, at=now, data={"username": name[:64]})
        return
    actor = actor_from_row(user)
    if not user.is_active:
        _audit(s, actor, "login_refused_disabled", now)
    else:
        _audit(s, actor, "login_refused_locked", now,
               until=user.locked_until.isoformat() if user.locked_until else None)


def _count_failure(s, user_scope: str, now: datetime) -> None:
    """Count a failed login for the typed username and for everyone, in the shared table."""
    s.execute(sa.text("""
        INSERT INTO login_throttle AS t (scope, failures, window_started_at, last_failed_at)
        VALUES (:scope, 1, :now, :now)
        ON CONFLICT (scope) DO UPDATE SET
            failures = CASE WHEN t.last_failed_at > :since THEN t.failures + 1 ELSE 1 END,
            window_started_at = CASE WHEN t.last_failed_at > :since THEN t.window_started_at ELSE :now END,
            last_failed_at = :now"""), {"scope": user_scope, "now": now, "since": now - USER_FAILURE_MEMORY})
    failures = s.execute(sa.text("""
        INSERT INTO login_throttle AS t (scope, failures, window_started_at, last_failed_at)
        VALUES (:scope, 1, :now, :now)
        ON CONFLICT (scope) DO UPDATE SET
            failures = CASE WHEN t.window_started_at > :since THEN t.failures + 1 ELSE 1 END,
            window_started_at = CASE WHEN t.window_started_at > :since THEN t.window_started_at ELSE :now END,
            last_failed_at = :now
        RETURNING failures"""), {"scope": GLOBAL_SCOPE, "now": now, "since": now - GLOBAL_WINDOW}).scalar_one()
    if failures == 1:
        # A new minute: forget usernames whose failures no longer count (at most once a minute). Rows
        # another login holds are skipped, not waited for: that login may be waiting for this one's
        # lock on the global row.
        s.execute(sa.text("""
            DELETE FROM login_throttle WHERE scope IN (
                SELECT scope FROM login_throttle WHERE scope <> :all AND last_failed_at <= :old
                FOR UPDATE SKIP LOCKED)"""), {"all": GLOBAL_SCOPE, "old": now - USER_FAILURE_MEMORY})
