"""Server-side login sessions.

A login creates a `staff_session` row; the browser's cookie carries a random 256-bit token and the
row's id is that token's HMAC-SHA256 under COOKIE_KEY (a copy of the table, or of a backup, opens no
session; a new COOKIE_KEY ends them all). Every page run checks the row: revoked (logout, password
change or reset, deactivation), idle for 30 minutes or older than 10 hours ends it, whichever app
process serves the run."""
from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timezone

import sqlalchemy as sa
from sqlalchemy.orm import Session

from db.engine import session_scope
from db.models import StaffSession, StaffUser
from domain.actor import Actor
from domain.login_policy import session_end
from logic.audit import record
from logic.auth import account_usable, actor_from_row

SESSION_COOKIE = "nezam_backoffice_session"


def session_id(key: str, token: str) -> bytes:
    return hmac.new(key.encode(), token.encode(), hashlib.sha256).digest()


def start_session(s: Session, user_id: int, key: str, now: datetime) -> str:
    """A new session for this user in the caller's transaction; returns the cookie's token."""
    token = secrets.token_urlsafe(32)
    s.add(StaffSession(id=session_id(key, token), user_id=user_id, issued_at=now, last_seen_at=now))
    return token


@dataclass(frozen=True)
class SessionCheck:
    actor: Actor | None
    ended: str | None = None   # "idle" / "absolute": the session timed out on this run


def check_session(engine: sa.Engine, token: str | None, key: str, *, now: datetime | None = None) -> SessionCheck:
    """The signed-in actor of a page run, or why there is none. A valid session's last_seen_at moves
    to now; a timed-out one is revoked and audited (once, whichever process sees it first)."""
    if not token:
        return SessionCheck(None)
    now = now or datetime.now(timezone.utc)
    sid = session_id(key, token)
    with session_scope(engine) as s:
        # Losing the last few last_seen_at updates in a crash only shortens an idle session.
        s.execute(sa.text("SET LOCAL synchronous_commit = off"))
        row = s.execute(sa.select(StaffSession, StaffUser).join(StaffUser, StaffUser.id == StaffSession.user_id)
                        .where(StaffSession.id == sid)).one_or_none()
        if row is None or row.StaffSession.revoked_at is not None:
            return SessionCheck(None)
        session, user = row
        actor = actor_from_row(user)
        ended = session_end(now, session.issued_at, session.last_seen_at)
        if ended:
            revoked = s.execute(sa.update(StaffSession).where(StaffSession.id == sid, StaffSession.revoked_at.is_(None))
                                .values(revoked_at=now).returning(StaffSession.id)).first()
            if revoked:
                record(s, actor, "session_expired", "staff_user", user.id, province_id=user.province_id, at=now,
                       data={"reason": ended, "issued_at": session.issued_at.isoformat(),
                             "last_seen_at": session.last_seen_at.isoformat()})
            return SessionCheck(None, ended)
        if not account_usable(user, now):
            return SessionCheck(None)
        touched = s.execute(sa.update(StaffSession).where(StaffSession.id == sid, StaffSession.revoked_at.is_(None))
                            .values(last_seen_at=sa.func.greatest(StaffSession.last_seen_at, now))
                            .returning(StaffSession.id)).first()
        return SessionCheck(actor if touched else None)


def end_session(engine: sa.Engine, actor: Actor, token: str | None, key: str, *, now: datetime | None = None) -> None:
    """Logout: this browser's session ends server-side (a copy of its cookie stops working too)."""
    now = now or datetime.now(timezone.utc)
    with session_scope(engine) as s:
        if token:
            s.execute(sa.update(StaffSession).where(StaffSession.id == session_id(key, token),
                                                    StaffSession.user_id == actor.id,
                                                    StaffSession.revoked_at.is_(None)).values(revoked_at=now))
        record(s, actor, "logout", "staff_user", actor.id, province_id=actor.province_id, at=now)


def revoke_sessions(s: Session, user_id: int, now: datetime) -> int:
    """End every live session of a user, in the caller's transaction (password change or reset,
    deactivation). Returns how many ended."""
    return s.execute(sa.update(StaffSession).where(StaffSession.user_id == user_id, StaffSession.revoked_at.is_(None))
                     .values(revoked_at=now)).rowcount
