"""Transparency releases: the board composes, another board member approves, and the numbers are
published frozen (seed 004: "آمار صدور پروانه اشتغال از اول فروردین ۱۴۰۱ لغایت پایان اردیبهشت").

The life of a release (`stat_release`):

1. **Compose** (`compose`, board role, own province; the central board also all provinces together):
   a title, a Jalali period and the tables to include. The figures are computed there and then,
   in SQL aggregates, small cells suppressed (`domain.disclosure`), and stored as the draft's
   `snapshot`: what the approver reviews is exactly what will be published.
2. **Approve and publish** (`approve_and_publish`): a board member other than the composer (the
   service checks it, and so does the table's CHECK) publishes the draft with the date. From then on
   a database trigger refuses any UPDATE or DELETE of the row, so the public numbers never change
   even when the data under them do.
3. **Correct**: a new release with `supersedes_id` and a note (the reason). The old one stays
   visible; "superseded by …" is computed from the newer row, since the old row cannot change.

Every write is audited in its own transaction. The snapshot holds aggregates only: labels, shown
counts, the suppression mark, totals; never a name, an ID, or the value of a hidden cell.

What is counted (also stored, in Persian, in each snapshot's methodology note):

* licences issued: `work_licence` rows of kind "work" issued in the period (by the licence's field
  and grade; province = the holder's membership province); a licence-issue request writes its row
  when it completes;
* licences renewed: work-licence renewals in the record's history (`record_change`) in the period,
  by the renewed licence's field and grade and the member's province at the time;
* members with and without a valid work licence at the end of the period: members holding a
  membership number who joined by then and have not left (transferred, resigned or expelled; the
  system keeps no exit date, so the current status decides); "valid" = a work licence issued on or
  before the period's last day that expires on or after it;
* new members / membership renewals: new-membership / membership-renewal requests completed in the
  period, by the member's field;
* services: per request type, requests received (submitted) in the period, finished (completed or
  rejected) in the period, the share of the finished ones that met the whole-process limit, and the
  median working days they used (`process_hours_used` / the province's office hours per day).
"""
from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

import sqlalchemy as sa
from openpyxl import Workbook
from sqlalchemy.orm import Session, aliased

from db.engine import session_scope
from db.models import Member, ProvinceSetting, RecordChange, Request, StaffUser, StatRelease, WorkLicence
from domain import disclosure
from domain.outcomes import LICENCE_RENEWED
from domain.actor import Actor
from domain.errors import Conflict, NotFound, PermissionDenied, ValidationError
from domain.jalali import format_jalali_date, format_jalali_datetime, now_tehran, to_jalali
from domain.periods import Period, range_period
from domain.processes import PROCESSES
from domain.reference import FIELDS_FA, GRADES_FA, PROVINCE_NAMES_FA
from domain.roles import Role
from domain.text import clean_reason, normalize_text
from domain.text import to_persian_digits as fa
from logic.audit import record
from logic.export import export_csv

SNAPSHOT_FORMAT = 1
TITLE_MAX = 300
NATIONAL_FA = "همهٔ استان‌ها"
# Shares and medians of fewer finished requests than this are not published (too few to mean much,
# and they would narrow down a small count).
MIN_FINISHED_FOR_RATES = 5


@dataclass(frozen=True)
class TableSpec:
    key: str
    title_fa: str
    sheet_fa: str          # an XLSX sheet name (at most 31 characters)
    counted_fa: str        # what is counted, for the methodology note


TABLES: dict[str, TableSpec] = {t.key: t for t in (
    TableSpec("licences_issued", "پروانه‌های اشتغال به کار صادرشده به تفکیک رشته و پایه", "پروانه‌های صادرشده",
              "پروانه‌های اشتغال به کاری که تاریخ صدورشان در دوره است، به تفکیک رشته و پایهٔ پروانه."),
    TableSpec("licences_renewed", "پروانه‌های اشتغال به کار تمدیدشده به تفکیک رشته و پایه", "پروانه‌های تمدیدشده",
              "تمدیدهای پروانهٔ اشتغال که در دوره در پروندهٔ اعضا ثبت شده‌اند (هر درخواست تمدید پایان‌یافته یک "
              "تمدید)، به تفکیک رشته و پایهٔ پروانهٔ تمدیدشده."),
    TableSpec("members_licence", "اعضای دارای و فاقد پروانهٔ اشتغال معتبر در پایان دوره، به تفکیک رشته",
              "اعضا و پروانه",
              "اعضای دارای شمارهٔ عضویت که تا پایان دوره عضو شده‌اند و انتقال، استعفا یا اخراج نداشته‌اند؛ "
              "«دارای پروانهٔ معتبر» یعنی پروانهٔ اشتغالی که تا آخرین روز دوره صادر شده و در آن روز منقضی "
              "نشده است."),
    TableSpec("new_members", "اعضای جدید به تفکیک رشته", "اعضای جدید",
              "درخواست‌های عضویت جدید که در دوره به پایان رسیده‌اند (پس از تأیید رییس سازمان)، به تفکیک رشته."),
    TableSpec("membership_renewals", "تمدید عضویت به تفکیک رشته", "تمدید عضویت",
              "درخواست‌های تمدید عضویت که در دوره با پرداخت به پایان رسیده‌اند، به تفکیک رشته."),
    TableSpec("services", "خدمات: درخواست‌های رسیده و رسیدگی‌شده، سهم رسیدگی در مهلت و میانهٔ زمان رسیدگی",
              "خدمات",
              "برای هر خدمت: درخواست‌هایی که در دوره ثبت شده‌اند، درخواست‌هایی که در دوره به پایان رسیده یا "
              "رد شده‌اند، درصدی از آن‌ها که در مهلت کل فرایند انجام شده‌اند، و میانهٔ روزهای کاری رسیدگی "
              "(مرحله‌های نوبت عضو، مانند پرداخت یا اصلاح، شمرده نمی‌شوند). درصد و میانه برای کمتر از "
              "۵ درخواست رسیدگی‌شده منتشر نمی‌شود."),
)}

FIELD_KEYS = tuple(FIELDS_FA)
GRADES = (1, 2, 3)
SERVICE_COLUMNS = ("درخواست‌های رسیده", "رسیدگی‌شده (پایان‌یافته یا ردشده)", "درصد رسیدگی در مهلت",
                   "میانهٔ روزهای کاری")

METHODOLOGY_FA = (
    "همهٔ تاریخ‌ها شمسی و به وقت تهران است؛ دوره هر دو روز آغاز و پایان را در بر می‌گیرد.",
    "عددها هنگام تهیهٔ انتشار از سامانه خوانده و با تأیید عضو دیگری از هیأت مدیره منتشر شده‌اند و پس از "
    "انتشار تغییر نمی‌کنند؛ اصلاح هر انتشار، انتشار تازه‌ای است که جای آن را می‌گیرد و هر دو دیده می‌شوند.",
    "روز کاری برابر ساعت‌های کاری اداری استان در یک روز است و تعطیلات رسمی شمرده نمی‌شود.",
)


def province_label(province_id: int | None) -> str:
    return NATIONAL_FA if province_id is None else PROVINCE_NAMES_FA[province_id]


def period_label(period_from: date, period_to: date) -> str:
    return f"از {format_jalali_date(period_from)} تا {format_jalali_date(period_to)}"


# --- the figures, in SQL aggregates -------------------------------------------------------------

@dataclass(frozen=True)
class ReleaseScope:
    """What a release covers: one province (None: national) over a period of whole days."""

    province_id: int | None
    period: Period

    @property
    def first(self) -> date:
        return self.period.first_day

    @property
    def last(self) -> date:
        return self.period.last_day

    @property
    def bounds(self) -> tuple[datetime, datetime]:
        """[start of the first day, start of the day after the last) in Tehran."""
        return self.period.start, self.period.end


def _in_province(column, province_id: int | None):
    return sa.true() if province_id is None else column == province_id


def _closed_in(p: ReleaseScope, req=Request):
    start, end = p.bounds
    return sa.and_(req.closed_at >= start, req.closed_at < end)


def _grid(rows: Sequence[tuple], row_keys: Sequence, col_keys: Sequence) -> list[list[int]]:
    ri = {k: i for i, k in enumerate(row_keys)}
    ci = {k: j for j, k in enumerate(col_keys)}
    cells = [[0] * len(col_keys) for _ in row_keys]
    for r, c, n in rows:
        if r in ri and c in ci:
            cells[ri[r]][ci[c]] += int(n)
    return cells


def raw_licences_issued(s: Session, p: ReleaseScope) -> list[list[int]]:
    """Fields × grades: work licences issued in the period."""
    wl = WorkLicence
    q = (sa.select(wl.field, wl.grade, sa.func.count())
         .join(Member, Member.id == wl.member_id)
         .where(wl.kind == "work", wl.issued_on.between(p.first, p.last),
                _in_province(Member.province_id, p.province_id))
         .group_by(wl.field, wl.grade))
    return _grid(s.execute(q).all(), FIELD_KEYS, GRADES)


def raw_licences_renewed(s: Session, p: ReleaseScope) -> list[list[int]]:
    """Fields × grades: work-licence renewals the record shows in the period (one `record_change`
    row each, written with the renewal's last step; by the renewed licence's field and grade)."""
    c, wl = RecordChange, WorkLicence
    start, end = p.bounds
    q = (sa.select(wl.field, wl.grade, sa.func.count()).select_from(c).join(wl, wl.id == c.licence_id)
         .where(c.kind == LICENCE_RENEWED, wl.kind == "work", c.at >= start, c.at < end,
                _in_province(c.province_id, p.province_id))
         .group_by(wl.field, wl.grade))
    return _grid(s.execute(q).all(), FIELD_KEYS, GRADES)


def raw_members_licence(s: Session, p: ReleaseScope) -> list[list[int]]:
    """Fields × (with a valid licence, without): members at the end of the period."""
    wl = WorkLicence
    has = sa.exists().where(wl.member_id == Member.id, wl.kind == "work", wl.issued_on <= p.last,
                            wl.expires_on >= p.last)
    inner = (sa.select(Member.field.label("field"), has.label("has"))
             .where(Member.status.in_(("active", "lapsed")), Member.membership_no.is_not(None),
                    sa.or_(Member.joined_on.is_(None), Member.joined_on <= p.last),
                    _in_province(Member.province_id, p.province_id))
             .subquery())
    q = sa.select(inner.c.field, inner.c.has, sa.func.count()).group_by(inner.c.field, inner.c.has)
    return _grid(s.execute(q).all(), FIELD_KEYS, (True, False))


def _completed_by_field(s: Session, p: ReleaseScope, type_code: str) -> list[int]:
    q = (sa.select(Member.field, sa.func.count())
         .select_from(Request).join(Member, Member.id == Request.member_id)
         .where(Request.type_code == type_code, Request.status == "completed", _closed_in(p),
                _in_province(Request.province_id, p.province_id))
         .group_by(Member.field))
    counts = dict(s.execute(q).all())
    return [int(counts.get(f, 0)) for f in FIELD_KEYS]


def raw_new_members(s: Session, p: ReleaseScope) -> list[int]:
    return _completed_by_field(s, p, "new_membership")


def raw_membership_renewals(s: Session, p: ReleaseScope) -> list[int]:
    return _completed_by_field(s, p, "membership_renewal")


@dataclass(frozen=True)
class ServiceFigures:
    type_code: str
    received: int
    finished: int
    met: int
    median_days: float | None


def raw_services(s: Session, p: ReleaseScope) -> list[ServiceFigures]:
    """Per request type: received and finished in the period, met the limit, median working days."""
    r, ps = Request, ProvinceSetting
    start, end = p.bounds
    received = sa.and_(r.submitted_at >= start, r.submitted_at < end)
    finished = sa.and_(r.status.in_(("completed", "rejected")), _closed_in(p))
    day_hours = sa.extract("epoch", ps.closes - ps.opens) / 3600
    q = (sa.select(r.type_code,
                   sa.func.count().filter(received),
                   sa.func.count().filter(finished),
                   sa.func.count().filter(sa.and_(finished, r.met_sla.is_(True))),
                   sa.func.percentile_cont(0.5).within_group(r.process_hours_used / day_hours).filter(finished))
         .join(ps, ps.province_id == r.province_id)
         .where(sa.or_(received, _closed_in(p)), _in_province(r.province_id, p.province_id))
         .group_by(r.type_code))
    found = {row[0]: row for row in s.execute(q).all()}
    out = []
    for code in PROCESSES:
        _, rec, fin, met, median = found.get(code, (code, 0, 0, 0, None))
        out.append(ServiceFigures(code, int(rec), int(fin), int(met), None if median is None else float(median)))
    return out


# --- from figures to publishable tables ---------------------------------------------------------

def _unprotected(spec: TableSpec) -> ValidationError:
    return ValidationError(f"بررسی محرمانگی نشان داد که از جدول «{spec.title_fa}» می‌توان عددی پنهان را به دست "
                           "آورد؛ انتشار تهیه نشد. این جدول را کنار بگذارید و موضوع را به پشتیبانی سامانه خبر دهید.")


def publish_cross(spec: TableSpec, row_labels: Sequence[str], col_labels: Sequence[str],
                  cells: Sequence[Sequence[int]], row_header: str) -> dict:
    """A two-way table with its totals; small counts (totals too) and their complements replaced by
    the one mark."""
    try:
        sup = disclosure.suppress_table(cells)
    except disclosure.UnprotectedTable as exc:
        raise _unprotected(spec) from exc
    m, n = len(cells), len(col_labels)
    row_totals = [sum(row) for row in cells]
    column_totals = [sum(row[j] for row in cells) for j in range(n)]
    return {"key": spec.key, "kind": "cross", "title": spec.title_fa, "counted": spec.counted_fa,
            "row_header": row_header, "rows": list(row_labels), "columns": list(col_labels),
            "cells": [[sup.shown((i, j), v) for j, v in enumerate(row)] for i, row in enumerate(cells)],
            "row_totals": [sup.shown((i, n), v) for i, v in enumerate(row_totals)],
            "column_totals": [sup.shown((m, j), v) for j, v in enumerate(column_totals)],
            "total": sup.shown((m, n), sum(row_totals)),
            # how many entries carry the mark; never how many of them are small
            "hidden": len(sup.hidden)}


def publish_vector(spec: TableSpec, row_labels: Sequence[str], values: Sequence[int], row_header: str,
                   column: str = "تعداد") -> dict:
    try:
        sup = disclosure.suppress_vector(values)
    except disclosure.UnprotectedTable as exc:
        raise _unprotected(spec) from exc
    return {"key": spec.key, "kind": "vector", "title": spec.title_fa, "counted": spec.counted_fa,
            "row_header": row_header, "rows": list(row_labels), "columns": [column],
            "cells": [[sup.shown((i, 0), v)] for i, v in enumerate(values)],
            "total": sup.shown((len(values), 0), sum(values)),
            "hidden": len(sup.hidden)}


def publish_services(spec: TableSpec, figures: Sequence[ServiceFigures]) -> dict:
    """No totals are published across services, so nothing can be solved and hiding the small
    counts is enough; rates of fewer than MIN_FINISHED_FOR_RATES finished requests are left out."""
    rows, cells, hidden = [], [], 0
    for f in figures:
        rates = f.finished >= MIN_FINISHED_FOR_RATES
        received = disclosure.MARK if disclosure.is_small(f.received) else f.received
        finished = disclosure.MARK if disclosure.is_small(f.finished) else f.finished
        hidden += disclosure.is_small(f.received) + disclosure.is_small(f.finished)
        rows.append(PROCESSES[f.type_code].name_fa)
        cells.append([received, finished,
                      # a service the seed gives no total time is not judged against one
                      round(100 * f.met / f.finished, 1)
                      if rates and PROCESSES[f.type_code].total_limit_days is not None else None,
                      round(f.median_days, 1) if rates and f.median_days is not None else None])
    return {"key": spec.key, "kind": "services", "title": spec.title_fa, "counted": spec.counted_fa,
            "row_header": "خدمت", "rows": rows, "columns": list(SERVICE_COLUMNS), "cells": cells,
            "hidden": hidden}


FIELD_LABELS = [FIELDS_FA[f] for f in FIELD_KEYS]
GRADE_LABELS = [GRADES_FA[g] for g in GRADES]


def build_table(s: Session, p: ReleaseScope, key: str) -> dict:
    spec = TABLES[key]
    if key == "licences_issued":
        return publish_cross(spec, FIELD_LABELS, GRADE_LABELS, raw_licences_issued(s, p), "رشته")
    if key == "licences_renewed":
        return publish_cross(spec, FIELD_LABELS, GRADE_LABELS, raw_licences_renewed(s, p), "رشته")
    if key == "members_licence":
        return publish_cross(spec, FIELD_LABELS, ["دارای پروانهٔ معتبر", "فاقد پروانهٔ معتبر"],
                             raw_members_licence(s, p), "رشته")
    if key == "new_members":
        return publish_vector(spec, FIELD_LABELS, raw_new_members(s, p), "رشته", "اعضای جدید")
    if key == "membership_renewals":
        return publish_vector(spec, FIELD_LABELS, raw_membership_renewals(s, p), "رشته", "تمدید عضویت")
    if key == "services":
        return publish_services(spec, raw_services(s, p))
    raise KeyError(key)


def build_snapshot(s: Session, p: ReleaseScope, keys: Sequence[str], *, title: str, now: datetime) -> dict:
    """Everything a reader of the release sees, computed now: the publishable tables (aggregates
    after suppression) and the methodology note."""
    return {
        "format": SNAPSHOT_FORMAT,
        "title": title,
        "province_id": p.province_id,
        "province": province_label(p.province_id),
        "period": {"from": p.first.isoformat(), "to": p.last.isoformat(),
                   "from_fa": format_jalali_date(p.first), "to_fa": format_jalali_date(p.last),
                   "label": period_label(p.first, p.last)},
        "computed_at": now.isoformat(),
        "computed_at_fa": format_jalali_datetime(now),
        "methodology": list(METHODOLOGY_FA),
        "rule": disclosure.RULE_FA,
        "tables": [build_table(s, p, k) for k in keys],
    }


# --- checks -------------------------------------------------------------------------------------

def _require_board(actor: Actor) -> None:
    if not actor.has(Role.BOARD):
        raise PermissionDenied("تهیه، تأیید و انتشار آمار کار هیأت مدیره است.")


def _require_scope(actor: Actor, province_id: int | None) -> None:
    if province_id is None:
        if not actor.is_central:
            raise PermissionDenied("آمار همهٔ استان‌ها را فقط هیأت مدیرهٔ سازمان مرکزی تهیه و منتشر می‌کند.")
    elif not actor.can_see_province(province_id):
        raise PermissionDenied("این انتشار به استان دیگری تعلق دارد.")


def _clean_title(title: str) -> str:
    text = normalize_text(title)
    if not text:
        raise ValidationError("عنوان انتشار را بنویسید.")
    if len(text) > TITLE_MAX:
        raise ValidationError(f"عنوان نباید بیش از {fa(TITLE_MAX)} نویسه باشد.")
    return fa(text)  # normalising made the digits ASCII; readers see Persian ones


# The earliest day a period may start: 1 Farvardin 1300. Years far outside any record cannot even be
# written as Jalali dates.
EARLIEST_PERIOD_DAY = date(1921, 3, 21)


def _check_period(first: date | None, last: date | None, today: date) -> None:
    if first is None or last is None:
        raise ValidationError("تاریخ آغاز و پایان دوره را وارد کنید.")
    if first < EARLIEST_PERIOD_DAY or last < EARLIEST_PERIOD_DAY:
        raise ValidationError("دوره باید از ۱۳۰۰/۰۱/۰۱ به بعد باشد.")
    if last > today + timedelta(days=366):  # too far ahead even to be written as a Jalali date
        raise ValidationError("دوره هنوز نرسیده است؛ آمار دوره‌ای منتشر می‌شود که گذشته باشد.")
    if last < first:
        raise ValidationError(f"پایان دوره ({format_jalali_date(last)}) پیش از آغاز آن "
                              f"({format_jalali_date(first)}) است.")
    if last > today:
        raise ValidationError(f"پایان دوره ({format_jalali_date(last)}) هنوز نرسیده است؛ آمار دوره‌ای منتشر "
                              "می‌شود که گذشته باشد.")


def _check_tables(keys: Sequence[str]) -> list[str]:
    chosen = set(keys)
    unknown = chosen - set(TABLES)
    if unknown:
        raise ValidationError("جدول ناشناخته: " + "، ".join(sorted(unknown)))
    if not chosen:
        raise ValidationError("دست‌کم یک جدول را برای انتشار برگزینید.")
    return [k for k in TABLES if k in chosen]


def preview(s: Session, actor: Actor, *, title: str, province_id: int | None, period_from: date | None,
            period_to: date | None, tables: Sequence[str], now: datetime | None = None) -> dict:
    """The snapshot a release with these settings would publish now (nothing is written)."""
    _require_board(actor)
    _require_scope(actor, province_id)
    now = now or now_tehran()
    _check_period(period_from, period_to, to_jalali(now).togregorian())
    keys = _check_tables(tables)
    return build_snapshot(s, ReleaseScope(province_id, range_period(period_from, period_to)), keys, title=_clean_title(title), now=now)


# --- writes -------------------------------------------------------------------------------------

@dataclass(frozen=True)
class ReleaseOutcome:
    release_id: int
    message: str


def _superseded_by(s: Session, release_id: int, *, exclude: int | None = None) -> StatRelease | None:
    q = sa.select(StatRelease).where(StatRelease.supersedes_id == release_id, StatRelease.status == "published")
    if exclude is not None:
        q = q.where(StatRelease.id != exclude)
    return s.scalar(q.order_by(StatRelease.published_at).limit(1))


def _check_correctable(s: Session, actor: Actor, old_id: int, province_id: int | None, *,
                       exclude: int | None = None) -> StatRelease:
    old = s.scalar(sa.select(StatRelease).where(StatRelease.id == old_id).with_for_update())
    if old is None or old.status != "published":
        raise NotFound("انتشاری که باید اصلاح شود پیدا نشد یا هنوز منتشر نشده است.")
    _require_scope(actor, old.province_id)
    if old.province_id != province_id:
        raise ValidationError("اصلاحیه باید برای همان استانِ انتشار اصلی باشد.")
    newer = _superseded_by(s, old.id, exclude=exclude)
    if newer is not None:
        raise Conflict(f"این انتشار پیش‌تر با انتشار شمارهٔ {fa(newer.id)} («{newer.title}») اصلاح شده است؛ "
                       "اگر باز هم اصلاحی لازم است، همان انتشار تازه‌تر را اصلاح کنید.")
    return old


def compose(engine: sa.Engine, actor: Actor, *, title: str, province_id: int | None, period_from: date | None,
            period_to: date | None, tables: Sequence[str], supersedes_id: int | None = None,
            note: str | None = None, now: datetime | None = None) -> ReleaseOutcome:
    """Compute the release's figures and keep them as a draft for another board member to approve."""
    _require_board(actor)
    _require_scope(actor, province_id)
    now = now or now_tehran()
    _check_period(period_from, period_to, to_jalali(now).togregorian())
    keys = _check_tables(tables)
    clean_title = _clean_title(title)
    if supersedes_id is not None:
        note = fa(clean_reason(note or "", field="دلیل اصلاح"))
    else:
        note = fa(normalize_text(note or "")) or None
        if note and len(note) > 2000:
            raise ValidationError("یادداشت نباید بیش از ۲۰۰۰ نویسه باشد.")
    with session_scope(engine) as s:
        if supersedes_id is not None:
            _check_correctable(s, actor, supersedes_id, province_id)
        snapshot = build_snapshot(s, ReleaseScope(province_id, range_period(period_from, period_to)), keys, title=clean_title, now=now)
        snapshot["supersedes_id"] = supersedes_id
        snapshot["note"] = note
        release = StatRelease(title=clean_title, province_id=province_id, period_from=period_from,
                              period_to=period_to, tables=keys, status="draft", composed_by=actor.id,
                              composed_at=now, supersedes_id=supersedes_id, note=note, snapshot=snapshot)
        s.add(release)
        s.flush()
        record(s, actor, "release_composed", "stat_release", release.id, province_id=province_id, at=now,
               data={"title": clean_title, "period_from": period_from.isoformat(),
                     "period_to": period_to.isoformat(), "tables": keys, "supersedes_id": supersedes_id})
        return ReleaseOutcome(release.id, f"پیش‌نویس انتشار شمارهٔ {fa(release.id)} ثبت شد؛ پس از تأیید عضو "
                                          "دیگری از هیأت مدیره منتشر می‌شود.")


def _load_draft(s: Session, actor: Actor, release_id: int) -> StatRelease:
    release = s.scalar(sa.select(StatRelease).where(StatRelease.id == release_id).with_for_update())
    if release is None:
        raise NotFound("این انتشار پیدا نشد.")
    _require_scope(actor, release.province_id)
    if release.status != "draft":
        raise Conflict("این انتشار پیش‌تر منتشر شده است و دیگر تغییر نمی‌کند.")
    return release


def approve_and_publish(engine: sa.Engine, actor: Actor, release_id: int, *,
                        now: datetime | None = None) -> ReleaseOutcome:
    """A second board member approves the draft; it is published now, frozen."""
    _require_board(actor)
    now = now or now_tehran()
    with session_scope(engine) as s:
        release = _load_draft(s, actor, release_id)
        if release.composed_by == actor.id:
            raise PermissionDenied("تهیه‌کنندهٔ انتشار نمی‌تواند خودش آن را تأیید کند؛ عضو دیگری از هیأت مدیره "
                                   "باید تأیید کند.")
        if release.supersedes_id is not None:
            _check_correctable(s, actor, release.supersedes_id, release.province_id, exclude=release.id)
        release.approved_by = actor.id
        release.published_at = now
        release.status = "published"
        s.flush()
        record(s, actor, "release_published", "stat_release", release.id, province_id=release.province_id, at=now,
               data={"title": release.title, "composed_by": release.composed_by,
                     "supersedes_id": release.supersedes_id})
        return ReleaseOutcome(release.id, f"انتشار شمارهٔ {fa(release.id)} تأیید و در "
                                          f"{format_jalali_datetime(now)} منتشر شد.")


def discard_draft(engine: sa.Engine, actor: Actor, release_id: int, *, now: datetime | None = None) -> ReleaseOutcome:
    """Drop a draft (a published release cannot be removed: correct it with a new one instead)."""
    _require_board(actor)
    now = now or now_tehran()
    with session_scope(engine) as s:
        release = _load_draft(s, actor, release_id)
        record(s, actor, "release_discarded", "stat_release", release.id, province_id=release.province_id, at=now,
               data={"title": release.title, "composed_by": release.composed_by})
        s.delete(release)
        return ReleaseOutcome(release_id, f"پیش‌نویس شمارهٔ {fa(release_id)} کنار گذاشته شد.")


# --- reading ------------------------------------------------------------------------------------

@dataclass(frozen=True)
class ReleaseSummary:
    id: int
    title: str
    province_id: int | None
    period_from: date
    period_to: date
    status: str
    composed_by: int
    composed_by_name: str
    composed_at: datetime
    approved_by_name: str | None
    published_at: datetime | None
    supersedes_id: int | None
    supersedes_title: str | None
    note: str | None
    superseded_by_id: int | None
    superseded_by_title: str | None
    superseded_at: datetime | None

    @property
    def province(self) -> str:
        return province_label(self.province_id)

    @property
    def period(self) -> str:
        return period_label(self.period_from, self.period_to)

    @property
    def status_fa(self) -> str:
        """Whether a published release stands, was corrected, or corrects another (the public lists)."""
        if self.superseded_by_id is not None:
            return f"اصلاح‌شده با انتشار شمارهٔ {fa(self.superseded_by_id)}"
        if self.supersedes_id is not None:
            return f"اصلاحیهٔ انتشار شمارهٔ {fa(self.supersedes_id)}"
        return "جاری"

    @property
    def label(self) -> str:
        return f"{fa(self.id)}. {self.title} — {self.province}، {self.period}"


def _summaries(s: Session, where) -> list[ReleaseSummary]:
    rel, composer, approver = StatRelease, aliased(StaffUser), aliased(StaffUser)
    old, newer = aliased(StatRelease), aliased(StatRelease)
    q = (sa.select(rel.id, rel.title, rel.province_id, rel.period_from, rel.period_to, rel.status, rel.composed_by,
                   composer.full_name, rel.composed_at, approver.full_name, rel.published_at, rel.supersedes_id,
                   old.title, rel.note, newer.id, newer.title, newer.published_at)
         .join(composer, composer.id == rel.composed_by)
         .outerjoin(approver, approver.id == rel.approved_by)
         .outerjoin(old, old.id == rel.supersedes_id)
         .outerjoin(newer, sa.and_(newer.supersedes_id == rel.id, newer.status == "published"))
         .where(where)
         .order_by(rel.published_at.desc().nulls_first(), rel.id.desc()))
    seen, out = set(), []
    for row in s.execute(q).all():
        if row[0] in seen:  # at most one published correction per release (the services ensure it)
            continue
        seen.add(row[0])
        out.append(ReleaseSummary(*row))
    return out


NATIONAL = "national"


def published_releases(s: Session, province: int | str | None = None) -> list[ReleaseSummary]:
    """Published releases for the public, newest first: all (None), all-province ones
    (`NATIONAL`), or one province's."""
    where = StatRelease.status == "published"
    if province == NATIONAL:
        where = sa.and_(where, StatRelease.province_id.is_(None))
    elif province is not None:
        where = sa.and_(where, StatRelease.province_id == province)
    return _summaries(s, where)


def published_summary(s: Session, release_id: int) -> ReleaseSummary:
    """One published release's summary (drafts are never shown to the public)."""
    found = _summaries(s, sa.and_(StatRelease.status == "published", StatRelease.id == release_id))
    if not found:
        raise NotFound("این انتشار پیدا نشد.")
    return found[0]


def published_provinces(s: Session) -> list[int | None]:
    """Provinces (None: all provinces) that have published releases, for the public filter."""
    rows = s.scalars(sa.select(StatRelease.province_id).where(StatRelease.status == "published").distinct()).all()
    return sorted(rows, key=lambda p: -1 if p is None else p)


def published_snapshot(s: Session, release_id: int) -> dict:
    """A published release's frozen numbers (drafts are never shown to the public)."""
    snapshot = s.scalar(sa.select(StatRelease.snapshot).where(StatRelease.id == release_id,
                                                              StatRelease.status == "published"))
    if snapshot is None:
        raise NotFound("این انتشار پیدا نشد.")
    return snapshot


def board_releases(s: Session, actor: Actor) -> list[ReleaseSummary]:
    """Drafts and published releases the board member may see (own province; central: all)."""
    _require_board(actor)
    where = sa.true() if actor.is_central else StatRelease.province_id == actor.province_id
    return _summaries(s, where)


def board_snapshot(s: Session, actor: Actor, release_id: int) -> dict:
    _require_board(actor)
    row = s.execute(sa.select(StatRelease.province_id, StatRelease.snapshot)
                    .where(StatRelease.id == release_id)).first()
    if row is None:
        raise NotFound("این انتشار پیدا نشد.")
    _require_scope(actor, row.province_id)
    return row.snapshot


# --- files --------------------------------------------------------------------------------------

def table_rows(table: dict) -> tuple[list[tuple[str, str]], list[dict]]:
    """A published table as (columns, rows) for `logic.export`: counts stay numbers, hidden entries
    the one mark (also the «<5» that releases published before it stored), with a total row and
    column where the table publishes them."""
    headers = [table["row_header"], *table["columns"]]
    cross = table["kind"] == "cross"
    if cross:
        headers.append("جمع")
    columns = [(f"c{k}", h) for k, h in enumerate(headers)]
    rows = []

    def add(values):
        rows.append({f"c{k}": disclosure.MARK if disclosure.is_mark(v) else v for k, v in enumerate(values)})

    for i, label in enumerate(table["rows"]):
        add([label, *table["cells"][i], *([table["row_totals"][i]] if cross else [])])
    if cross:
        add(["جمع", *table["column_totals"], table["total"]])
    elif table["kind"] == "vector":
        add(["جمع", table["total"]])
    return columns, rows


def table_csv(table: dict) -> bytes:
    columns, rows = table_rows(table)
    return export_csv(rows, columns)


def release_csv(snapshot: dict) -> bytes:
    """All tables of a release in one CSV (one line per cell: table, row, column, value)."""
    columns = [("table", "جدول"), ("row", "سطر"), ("column", "ستون"), ("value", "مقدار")]

    def rows():
        for table in snapshot["tables"]:
            cols, body = table_rows(table)
            for line in body:
                for key, header in cols[1:]:
                    yield {"table": table["title"], "row": line["c0"], "column": header, "value": line.get(key)}

    return export_csv(rows(), columns)


def note_label(snapshot: dict) -> str:
    return "دلیل اصلاح" if snapshot.get("supersedes_id") else "یادداشت"


def methodology_lines(snapshot: dict) -> list[str]:
    lines = [f"دوره: {snapshot['period']['label']}", f"استان: {snapshot['province']}",
             f"زمان خواندن داده‌ها: {snapshot['computed_at_fa']}"]
    if snapshot.get("note"):
        lines.append(f"{note_label(snapshot)}: {snapshot['note']}")
    lines += snapshot["methodology"]
    lines.append(f"قاعدهٔ محرمانگی: {snapshot['rule']}")
    if snapshot["rule"] != disclosure.RULE_FA:  # published under an earlier rule, shown with today's mark
        lines.append(f"نشان همهٔ خانه‌های پنهان اکنون «{disclosure.MARK_LABEL_FA}» است؛ در این انتشار هم "
                     "خانه‌هایی که پیش‌تر «کمتر از ۵» خوانده می‌شدند با همین نشان آمده‌اند.")
    lines += [f"{t['title']}: {t['counted']}" for t in snapshot["tables"]]
    return lines


def release_xlsx(snapshot: dict) -> bytes:
    """A workbook: the methodology note, then one right-to-left sheet per table."""
    wb = Workbook(write_only=True)
    ws = wb.create_sheet("روش‌شناسی")
    ws.sheet_view.rightToLeft = True
    ws.append([snapshot["title"]])
    for line in methodology_lines(snapshot):
        ws.append([line])
    sheet_names = {t.key: t.sheet_fa for t in TABLES.values()}
    for table in snapshot["tables"]:
        ws = wb.create_sheet(sheet_names.get(table["key"], table["key"])[:31])
        ws.sheet_view.rightToLeft = True
        ws.append([table["title"]])
        columns, rows = table_rows(table)
        ws.append([h for _, h in columns])
        for row in rows:
            ws.append([row.get(k) for k, _ in columns])
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()
