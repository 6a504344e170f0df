"""The audit page's query: request events and other audited writes, in one time-ordered list,
filtered in SQL and paged; managers see their province, administrators their scope."""
from __future__ import annotations

from dataclasses import dataclass
import json
import re
from datetime import date, datetime, time, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session

from db.models import AuditEvent, Request, RequestEvent, StaffUser
from domain.actor import Actor
from domain.errors import PermissionDenied
from domain.jalali import TEHRAN, format_jalali_date, format_jalali_datetime
from domain.processes import ACTIONS_FA
from domain.roles import Role
from domain.text import fa_code, ltr, to_ascii_digits, to_persian_digits

AUDIT_ACTIONS_FA = {
    "login": "ورود", "login_failed": "ورود نادرست", "account_locked": "قفل شدن حساب",
    "login_refused_locked": "تلاش ورود به حساب قفل", "login_refused_disabled": "تلاش ورود به حساب غیرفعال",
    "login_refused_unknown": "تلاش ورود با نام کاربری ناشناخته", "login_throttled": "ورود محدودشده (تلاش زیاد)",
    "session_expired": "پایان نشست (بی‌کاری یا سقف زمان)", "logout": "خروج",
    "staff_created": "ایجاد کاربر", "staff_updated": "ویرایش کاربر", "staff_activated": "فعال‌سازی کاربر",
    "staff_deactivated": "غیرفعال‌سازی کاربر", "password_reset": "بازنشانی گذرواژه",
    "password_changed": "تغییر گذرواژه", "holiday_added": "افزودن تعطیلی", "holiday_removed": "حذف تعطیلی",
    "official_holidays_loaded": "بارگذاری تعطیلات رسمی", "office_hours_changed": "تغییر ساعات کاری",
    "members_exported": "خروجی فهرست اعضا", "queue_exported": "خروجی کارتابل",
    "queue_filter_saved": "ذخیرهٔ فیلتر کارتابل", "queue_filter_deleted": "حذف فیلتر کارتابل",
    "member_viewed": "مشاهدهٔ پروندهٔ عضو", "document_viewed": "مشاهده یا دریافت مدرک",
    "release_composed": "تهیهٔ انتشار آمار", "release_published": "انتشار آمار", "release_discarded": "کنار گذاشتن انتشار",
    "tariff_created": "ثبت تعرفه", "tariff_changed": "تغییر تعرفه", "discount_rule_added": "افزودن قاعدهٔ تخفیف",
    "discount_rule_activated": "تغییر وضعیت قاعدهٔ تخفیف", "document_uploaded": "بارگذاری مدرک",
}
from logic.member_changes import AUDIT_ACTIONS_FA as _MEMBER_ACTIONS_FA  # noqa: E402

AUDIT_ACTIONS_FA.update(_MEMBER_ACTIONS_FA)
PAGE_SIZE = 50


@dataclass(frozen=True)
class AuditFilter:
    actor_id: int | None = None
    action: str | None = None
    tracking_code: str | None = None
    date_from: date | None = None
    date_to: date | None = None
    page: int = 1


def _events(actor: Actor) -> sa.Select:
    scope_req = sa.true() if actor.province_id is None else Request.province_id == actor.province_id
    scope_audit = sa.true() if actor.province_id is None else AuditEvent.province_id == actor.province_id
    requests = (sa.select(RequestEvent.at.label("at"), RequestEvent.actor_id.label("actor_id"),
                          RequestEvent.action.label("action"), Request.tracking_code.label("tracking_code"),
                          sa.literal("request").label("entity"), RequestEvent.reason.label("detail"))
                .join(Request, Request.id == RequestEvent.request_id).where(scope_req))
    others = sa.select(AuditEvent.at, AuditEvent.actor_id, AuditEvent.action, sa.null(),
                       AuditEvent.entity, sa.cast(AuditEvent.data, sa.Text)).where(scope_audit)
    return sa.union_all(requests, others).subquery("e")


# The audited facts' names as people read them; a fact without a label here is shown by its value.
DATA_LABELS_FA = {
    "day": "روز", "name": "عنوان", "recomputed": "مهلت‌های دوباره محاسبه‌شده", "years": "سال‌ها", "added": "افزوده",
    "before": "پیش از تغییر", "after": "پس از تغییر", "workdays": "روزهای کاری", "opens": "آغاز", "closes": "پایان",
    "title": "عنوان", "period_from": "از", "period_to": "تا", "tables": "جدول‌ها", "supersedes_id": "اصلاحیهٔ انتشار",
    "composed_by": "تهیه‌کننده", "reason": "دلیل", "year": "سال", "roles": "نقش‌ها", "member_id": "عضو",
    "verdict": "نظر", "username": "نام کاربری", "used": "به کار رفته", "until": "تا", "total": "جمع",
    "to": "به", "from": "از", "through_year": "تا پایان سال", "source": "منبع", "rows": "ردیف‌ها",
    "percent": "درصد", "national_id": "کد ملی", "granted_rank": "رتبهٔ اعطایی", "full_name": "نام",
    "free_years": "سال‌های رایگان", "format": "قالب", "filter": "فیلتر", "document_id": "مدرک",
    "doc_type": "نوع مدرک", "consecutive": "پیاپی", "changes": "تغییرها", "assessment_version": "نسخهٔ مبلغ",
    "assessment_id": "مبلغ", "province_id": "استان", "is_active": "فعال", "active": "فعال", "amount": "مبلغ",
    "reference": "مرجع", "field": "رشته", "fields": "فیلدها", "count": "تعداد",
}
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_TIME = re.compile(r"(\d{2}:\d{2})(:\d{2})?")


def _value_fa(value) -> str:
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "بله" if value else "خیر"
    if isinstance(value, (int, float)):
        return to_persian_digits(value)
    if isinstance(value, list):
        return "، ".join(_value_fa(v) for v in value) or "—"
    if isinstance(value, dict):
        return "(" + describe_data(value) + ")"
    text = str(value)
    if _ISO_DATE.fullmatch(text):
        return fa_code(format_jalali_date(date.fromisoformat(text)))
    if m := _TIME.fullmatch(text):
        return fa_code(m.group(1))
    if re.search("[A-Za-z]", text):  # a code (a username, a format, a table key)
        return ltr(text)
    return to_persian_digits(text)


def describe_data(data: dict) -> str:
    """An audited event's facts in Persian: «روز: ۱۴۰۵/۰۹/۱۱؛ عنوان: …» (the raw JSON stays in the export)."""
    parts = []
    for key, value in data.items():
        label = DATA_LABELS_FA.get(key)
        parts.append(f"{label}: {_value_fa(value)}" if label else _value_fa(value))
    return "؛ ".join(parts)


def _detail_fa(detail: str | None) -> str:
    if not detail:
        return ""
    if detail.startswith("{"):
        try:
            data = json.loads(detail)
        except ValueError:
            data = None
        if isinstance(data, dict):
            return describe_data(data)[:300]
    return to_persian_digits(detail[:300])


def for_screen(rows: list[dict]) -> list[dict]:
    """The page's rows for people: the code in Persian digits kept in its order, the facts in Persian."""
    return [{**r, "درخواست": fa_code(r["درخواست"]) if r["درخواست"] else "", "شرح": _detail_fa(r["شرح"])}
            for r in rows]


EXPORT_LIMIT = 100_000
COLUMNS = [(k, k) for k in ("زمان", "شخص", "اقدام", "درخواست", "شرح")]


def audit_page(session: Session, actor: Actor, flt: AuditFilter, *, everything: bool = False
               ) -> tuple[list[dict], int]:
    """One page of the filtered events (or, with `everything`, the whole filtered set for export)."""
    if not actor.has(Role.ADMIN, Role.MANAGER):
        raise PermissionDenied("گزارش رویدادها برای مدیر و مدیر سامانه است.")
    e = _events(actor)
    conds = []
    if flt.actor_id:
        conds.append(e.c.actor_id == flt.actor_id)
    if flt.action:
        conds.append(e.c.action == flt.action)
    if flt.tracking_code:
        conds.append(e.c.tracking_code == to_ascii_digits(flt.tracking_code).strip())
    if flt.date_from:
        conds.append(e.c.at >= datetime.combine(flt.date_from, time(0), TEHRAN))
    if flt.date_to:
        conds.append(e.c.at < datetime.combine(flt.date_to + timedelta(days=1), time(0), TEHRAN))
    where = sa.and_(sa.true(), *conds)
    total = session.scalar(sa.select(sa.func.count()).select_from(e).where(where))
    rows = session.execute(
        sa.select(e, StaffUser.full_name).outerjoin(StaffUser, StaffUser.id == e.c.actor_id).where(where)
        .order_by(e.c.at.desc())
        .limit(EXPORT_LIMIT if everything else PAGE_SIZE)
        .offset(0 if everything else (max(flt.page, 1) - 1) * PAGE_SIZE)
    ).all()
    return [{
        "زمان": format_jalali_datetime(r.at), "شخص": r.full_name or "عضو / سامانه",
        "اقدام": ACTIONS_FA.get(r.action) or AUDIT_ACTIONS_FA.get(r.action, r.action),
        "درخواست": r.tracking_code or "", "شرح": (r.detail or "")[:300],
    } for r in rows], total or 0


def audit_people(session: Session, actor: Actor) -> list[tuple[int, str]]:
    if not actor.has(Role.ADMIN, Role.MANAGER):
        raise PermissionDenied("گزارش رویدادها برای مدیر و مدیر سامانه است.")
    stmt = sa.select(StaffUser.id, StaffUser.full_name).order_by(StaffUser.full_name)
    if actor.province_id is not None:
        stmt = stmt.where(StaffUser.province_id == actor.province_id)
    return [tuple(r) for r in session.execute(stmt)]
