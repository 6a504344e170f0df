"""Staff accounts: administrators create and change them; everyone changes their own password.
Deactivation and password changes end the account's existing sessions (server-side revocation)."""
from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timezone

import bcrypt
import sqlalchemy as sa
from sqlalchemy.orm import Session

from db.engine import session_scope
from db.models import StaffUser
from domain.actor import Actor
from domain.errors import Conflict, NotFound, PermissionDenied, ValidationError
from domain.roles import ALL_ROLES, Role
from domain.text import normalize_text, to_persian_digits
from logic.audit import record
from logic.common_passwords import COMMON_PASSWORDS
from logic.sessions import revoke_sessions

MIN_PASSWORD_CHARS = 8
MAX_PASSWORD_BYTES = 72  # bcrypt ignores everything after 72 bytes: refuse rather than truncate silently
USERNAME_RE = re.compile(r"^[a-z][a-z0-9._-]{2,63}$")
CENTRAL_ONLY_ROLES = frozenset({Role.CENTRAL_EXPERT})


def validate_password(password: str, username: str | None = None) -> str:
    if not isinstance(password, str) or len(password) < MIN_PASSWORD_CHARS:
        raise ValidationError(f"گذرواژه باید دست‌کم {to_persian_digits(MIN_PASSWORD_CHARS)} نویسه باشد.")
    if password != password.strip():  # the login form would never match it
        raise ValidationError("گذرواژه نباید با فاصله آغاز شود یا پایان یابد.")
    if username and username.strip().lower() in password.lower():
        raise ValidationError("گذرواژه نباید نام کاربری را در خود داشته باشد.")
    if password.lower() in COMMON_PASSWORDS:
        raise ValidationError("این گذرواژه در فهرست گذرواژه‌های رایج است؛ گذرواژهٔ دیگری برگزینید.")
    if len(password.encode("utf-8")) > MAX_PASSWORD_BYTES:
        raise ValidationError(f"گذرواژه بیش از حد بلند است (حداکثر {to_persian_digits(MAX_PASSWORD_BYTES)} بایت).")
    if len(set(password)) < 3:
        raise ValidationError("گذرواژه بیش از حد ساده است.")
    return password


def hash_password(password: str, username: str | None = None) -> str:
    return bcrypt.hashpw(validate_password(password, username).encode("utf-8"), bcrypt.gensalt(12)).decode()


def _clean_username(username: str) -> str:
    username = (username or "").strip().lower()
    if not USERNAME_RE.match(username):
        raise ValidationError("نام کاربری باید ۳ تا ۶۴ نویسهٔ لاتین کوچک، رقم، نقطه، خط تیره یا زیرخط باشد "
                              "و با حرف آغاز شود.")
    return username


def _clean_roles(actor: Actor, roles: Iterable[str], province_id: int | None) -> list[str]:
    roles = sorted(set(roles))
    if not roles:
        raise ValidationError("دست‌کم یک نقش باید انتخاب شود.")
    unknown = set(roles) - set(ALL_ROLES)
    if unknown:
        raise ValidationError("نقش ناشناخته انتخاب شده است.")
    if province_id is not None and CENTRAL_ONLY_ROLES & set(roles):
        raise ValidationError("نقش کارشناس سازمان مرکزی فقط برای کارکنان سازمان مرکزی است.")
    return roles


def _require_admin_over(actor: Actor, province_id: int | None) -> None:
    if not actor.has(Role.ADMIN):
        raise PermissionDenied("مدیریت کاربران فقط برای مدیر سامانه ممکن است.")
    if actor.province_id is not None and province_id != actor.province_id:
        raise PermissionDenied("مدیر سامانهٔ استان فقط کاربران استان خود را مدیریت می‌کند.")


def _load(s: Session, user_id: int) -> StaffUser:
    user = s.get(StaffUser, user_id, with_for_update=True)
    if user is None:
        raise NotFound("کاربر پیدا نشد.")
    return user


def _now() -> datetime:
    return datetime.now(timezone.utc)


def create_staff(engine: sa.Engine, actor: Actor, *, username: str, full_name: str, roles: Iterable[str],
                 province_id: int | None, password: str, email: str | None = None) -> int:
    _require_admin_over(actor, province_id)
    username = _clean_username(username)
    full_name = normalize_text(full_name)
    if not 2 <= len(full_name) <= 120:
        raise ValidationError("نام و نام خانوادگی را کامل وارد کنید.")
    roles = _clean_roles(actor, roles, province_id)
    password_hash = hash_password(password, username)
    with session_scope(engine) as s:
        if s.scalar(sa.select(StaffUser.id).where(StaffUser.username == username)):
            raise Conflict("این نام کاربری پیش‌تر ثبت شده است.")
        user = StaffUser(username=username, full_name=full_name, roles=roles, province_id=province_id,
                         password_hash=password_hash, email=(email or "").strip() or None)
        s.add(user)
        s.flush()
        record(s, actor, "staff_created", "staff_user", user.id, province_id=province_id,
               data={"username": username, "roles": roles})
        return user.id


def update_staff(engine: sa.Engine, actor: Actor, user_id: int, *, roles: Iterable[str], full_name: str) -> None:
    with session_scope(engine) as s:
        user = _load(s, user_id)
        _require_admin_over(actor, user.province_id)
        new_roles = _clean_roles(actor, roles, user.province_id)
        if user.id == actor.id and Role.ADMIN not in new_roles:
            raise ValidationError("نقش مدیر سامانه را از خودتان نمی‌توانید بگیرید.")
        before = {"roles": list(user.roles), "full_name": user.full_name}
        user.roles, user.full_name = new_roles, normalize_text(full_name) or user.full_name
        record(s, actor, "staff_updated", "staff_user", user.id, province_id=user.province_id,
               data={"before": before, "after": {"roles": new_roles, "full_name": user.full_name}})


def set_active(engine: sa.Engine, actor: Actor, user_id: int, active: bool) -> None:
    with session_scope(engine) as s:
        user = _load(s, user_id)
        _require_admin_over(actor, user.province_id)
        if user.id == actor.id and not active:
            raise ValidationError("حساب خودتان را نمی‌توانید غیرفعال کنید.")
        user.is_active = active
        if not active:
            revoke_sessions(s, user.id, _now())
        record(s, actor, "staff_activated" if active else "staff_deactivated", "staff_user", user.id,
               province_id=user.province_id)


def reset_password(engine: sa.Engine, actor: Actor, user_id: int, new_password: str) -> None:
    validate_password(new_password)  # a bad password is refused before anything is read
    with session_scope(engine) as s:
        user = _load(s, user_id)
        _require_admin_over(actor, user.province_id)
        password_hash = hash_password(new_password, user.username)
        user.password_hash = password_hash
        revoke_sessions(s, user.id, _now())
        user.failed_logins, user.locked_until = 0, None
        user.password_changed_at = _now()
        record(s, actor, "password_reset", "staff_user", user.id, province_id=user.province_id)


def change_own_password(engine: sa.Engine, actor: Actor, old_password: str, new_password: str) -> None:
    """Every session of the account ends, this one included: the user signs in again."""
    if old_password == new_password:
        raise ValidationError("گذرواژهٔ تازه باید با گذرواژهٔ فعلی فرق داشته باشد.")
    password_hash = hash_password(new_password, actor.username)
    with session_scope(engine) as s:
        user = _load(s, actor.id)
        if not bcrypt.checkpw((old_password or "").encode("utf-8")[:MAX_PASSWORD_BYTES],
                              user.password_hash.encode()):
            raise ValidationError("گذرواژهٔ فعلی درست نیست.")
        user.password_hash = password_hash
        revoke_sessions(s, user.id, _now())
        user.password_changed_at = _now()
        record(s, actor, "password_changed", "staff_user", user.id, province_id=user.province_id)


@dataclass(frozen=True)
class StaffRow:
    id: int
    username: str
    full_name: str
    roles: list[str]
    province_id: int | None
    is_active: bool
    locked_until: datetime | None


def list_staff(session: Session, actor: Actor) -> list[StaffRow]:
    if not actor.has(Role.ADMIN):
        raise PermissionDenied("مدیریت کاربران فقط برای مدیر سامانه ممکن است.")
    stmt = sa.select(StaffUser.id, StaffUser.username, StaffUser.full_name, StaffUser.roles, StaffUser.province_id,
                     StaffUser.is_active, StaffUser.locked_until).order_by(StaffUser.province_id.nulls_first(),
                                                                           StaffUser.username)
    if actor.province_id is not None:
        stmt = stmt.where(StaffUser.province_id == actor.province_id)
    return [StaffRow(*r) for r in session.execute(stmt)]


def create_first_admin(engine: sa.Engine, *, username: str, full_name: str, password: str) -> int:
    """The organisation's first central administrator, made from the operator's console (deploy.admin)
    on a production database that has none; every later account is made by an administrator."""
    username = _clean_username(username)
    full_name = normalize_text(full_name)
    if not 2 <= len(full_name) <= 120:
        raise ValidationError("نام و نام خانوادگی را کامل وارد کنید.")
    password_hash = hash_password(password, username)
    with session_scope(engine) as s:
        # One at a time: two consoles racing must not both find "no administrator" and both create one.
        s.execute(sa.text("LOCK TABLE staff_user IN SHARE ROW EXCLUSIVE MODE"))
        if s.scalar(sa.select(StaffUser.id).where(StaffUser.roles.any(Role.ADMIN.value))):
            raise Conflict("سامانه مدیر دارد؛ حساب‌های تازه را مدیر سامانه از صفحهٔ «کاربران» می‌سازد.")
        if s.scalar(sa.select(StaffUser.id).where(StaffUser.username == username)):
            raise Conflict("این نام کاربری پیش‌تر ثبت شده است.")
        user = StaffUser(username=username, full_name=full_name, roles=[Role.ADMIN.value], province_id=None,
                         password_hash=password_hash)
        s.add(user)
        s.flush()
        record(s, None, "first_admin_created", "staff_user", user.id, data={"username": username})
        return user.id
