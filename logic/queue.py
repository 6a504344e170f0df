"""The expert's queue (کارتابل): views, filters, search, paging, "next task", export.

Everything is filtered, counted, sorted and paged in SQL; Python only touches the ≤100 rows of a
page (to compute working hours left with the province's calendar) or streams the export. Every
query is limited by `province_clause`, so no view, filter or search reaches another province.

Views:
- mine: open requests I hold;
- group: open, unclaimed requests at stages my roles act on, except those I may not take because I
  did their initial review (four eyes): the same set `next_task` takes from;
- overdue / due_today / at_risk: within mine + group for staff, the whole province for managers;
- all: every open request of the province (managers only).
"""
from __future__ import annotations

import math
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Session

from db.engine import session_scope
from db.models import Member, Request, RequestStage, RequestType, StaffUser
from domain.actor import Actor
from domain.calendar import SLA_LABELS_FA, SlaStatus, working_days_left_fa
from domain.errors import DomainError, PermissionDenied, ValidationError
from domain.jalali import TEHRAN, format_jalali_date, format_jalali_datetime, now_tehran
from domain.processes import Status, process, stages_for_role
from domain.roles import REQUEST_VIEWERS, Role, role_label
from domain.text import fa_code, format_number, normalize_text, to_persian_digits
from logic import workflow as wf
from logic.audit import record_export
from logic.calendar import calendar_for
from logic.events import Outcome
from logic.export import CountedRows, export_csv, export_xlsx
from logic.members import name_member_ids, name_words_match
from logic.scope import province_clause
from logic.sla_sql import stage_status, status_filter

VIEWS_FA: dict[str, str] = {
    "mine": "کارهای من",
    "group": "کارتابل گروه",
    "overdue": "گذشته از مهلت",
    "due_today": "مهلت امروز",
    "at_risk": "در آستانهٔ تأخیر",
    "all": "همهٔ درخواست‌های باز",
}
SORTS_FA: dict[str, str] = {"due": "مهلت مرحله", "submitted": "تاریخ ثبت", "type": "نوع درخواست",
                            "stage": "مرحله", "code": "کد رهگیری", "member": "نام عضو", "assignee": "کارشناس",
                            "province": "استان"}
SLA_FILTERS = (SlaStatus.ON_TIME.value, SlaStatus.AT_RISK.value, SlaStatus.BREACHED.value, SlaStatus.PAUSED.value,
               SlaStatus.NO_LIMIT.value)
DEFAULT_PAGE_SIZE = 25
MAX_PAGE_SIZE = 100
# Counts stop here: past a thousand tasks nobody pages to the end (they narrow the filter or take the
# most urgent), and a bounded count keeps the queue as fast at national scale as in one small
# province. Exact backlog figures are the KPI page's (from its rollups); export takes every row.
COUNT_CAP = 1000

# An identifier typed into the search box: digits, maybe with the dashes of a membership number.
_IDENTIFIER = re.compile(r"[0-9][0-9\-/ ]*")


def is_manager(actor: Actor) -> bool:
    return actor.has(Role.MANAGER)


def takes_work(actor: Actor) -> bool:
    """Whether some stage's role is among the actor's: only they have a group and a "next task"."""
    return bool(_pairs(actor))


def available_views(actor: Actor) -> list[str]:
    return [v for v in VIEWS_FA if v != "all" or is_manager(actor)]


@dataclass(frozen=True)
class QueueFilter:
    view: str = "mine"
    type_code: str | None = None
    stage_code: str | None = None
    sla: str | None = None
    submitted_from: date | None = None  # Gregorian, inclusive (the page converts the Jalali input)
    submitted_to: date | None = None
    search: str = ""
    province_id: int | None = None  # central staff narrow to one province
    sort: str = "due"
    descending: bool = False
    page: int = 1
    page_size: int = DEFAULT_PAGE_SIZE


@dataclass(frozen=True)
class QueueRow:
    id: int
    tracking_code: str
    version: int
    province_id: int
    member_name: str
    national_id: str
    membership_no: str | None
    type_code: str
    type_name: str
    stage_code: str
    stage_name: str
    status: str
    submitted_at: datetime
    stage_due_at: datetime | None
    sla: str
    assignee_id: int | None
    assignee_name: str | None
    remaining_hours: float | None  # working hours to the stage deadline; negative once breached
    days_left: str | None = None  # «۳ روز کاری مانده» / «۲ روز کاری گذشته»; None without a deadline


@dataclass(frozen=True)
class QueuePage:
    rows: list[QueueRow]
    total: int  # at most COUNT_CAP + 1, which means "more than COUNT_CAP" (see `capped`)
    page: int
    pages: int

    @property
    def capped(self) -> bool:
        return is_capped(self.total)


def is_capped(count: int) -> bool:
    """Whether a count from this module stopped at the cap (the true figure is larger)."""
    return count > COUNT_CAP


def count_label(count: int) -> str:
    """A count for people: "۱۲۳", or "بیش از ۱٬۰۰۰" once it reached the cap."""
    return f"بیش از {format_number(COUNT_CAP)}" if is_capped(count) else format_number(count)


@dataclass(frozen=True)
class StaffChoice:
    id: int
    full_name: str


@dataclass(frozen=True)
class BulkOutcome:
    """What a claim/unclaim of several selected rows did (each row is its own transaction)."""

    done: list[Outcome]
    failed: list[tuple[int, str]] = field(default_factory=list)  # (request id, Persian reason)
    message: str = ""


# --- conditions ---------------------------------------------------------------------------------

def _pairs(actor: Actor) -> list[tuple[str, str]]:
    return sorted({pair for role in actor.roles for pair in stages_for_role(role)})


def _stage_key(type_code: str, stage_code: str) -> str:
    return f"{type_code}/{stage_code}"


# "type/stage" of a row. Testing the stage pairs on this expression (not on the two columns) keeps
# the planner on ix_request_unclaimed, which holds both columns: the group's rows and counts are read
# from that index in due order, instead of from per-stage bitmaps that must visit the table.
_ROW_STAGE_KEY = Request.type_code + "/" + Request.stage_code


def _takeable(actor: Actor) -> sa.ColumnElement[bool]:
    """Unclaimed work at my roles' stages that four eyes lets me take (status and province apart)."""
    pairs = _pairs(actor)
    if not pairs:
        return sa.false()
    cond = sa.and_(Request.assignee_id.is_(None), _ROW_STAGE_KEY.in_([_stage_key(*p) for p in pairs]))
    four_eyes = [_stage_key(t, s) for t, s in pairs if process(t).stage(s).four_eyes]
    if four_eyes:
        # IS DISTINCT FROM: a NULL initial reviewer is no conflict (plain <> would drop the row).
        cond = sa.and_(cond, sa.or_(_ROW_STAGE_KEY.not_in(four_eyes),
                                    Request.initial_reviewer_id.is_distinct_from(actor.id)))
    return cond


def _end_of_day(now: datetime) -> datetime:
    local = now.astimezone(TEHRAN)
    return datetime.combine(local.date() + timedelta(days=1), time(0), tzinfo=TEHRAN)


def _view_parts(actor: Actor, now: datetime) -> dict[str, list[sa.ColumnElement[bool]]]:
    """Each available view's condition on open requests (province scope is added by the caller), as
    disjoint parts whose union is the view: a staff member's deadline views are their own work plus
    their group's, and each part is counted from its own index (an OR of the two would be read from
    the table)."""
    mine = Request.assignee_id == actor.id
    group = _takeable(actor)
    # Deadline views: staff see their own and their group's work, managers the whole province.
    bases = [sa.true()] if is_manager(actor) else [mine, group]
    deadlines = {
        "overdue": status_filter(now, SlaStatus.BREACHED),
        "due_today": sa.and_(Request.stage_due_at >= now, Request.stage_due_at < _end_of_day(now)),
        "at_risk": status_filter(now, SlaStatus.AT_RISK),
    }
    parts = {"mine": [mine], "group": [group],
             **{view: [sa.and_(base, cond) for base in bases] for view, cond in deadlines.items()}}
    if is_manager(actor):
        parts["all"] = [sa.true()]
    return parts


def _view_conditions(actor: Actor, now: datetime) -> dict[str, sa.ColumnElement[bool]]:
    return {view: sa.or_(*parts) for view, parts in _view_parts(actor, now).items()}


def _is_open() -> sa.ColumnElement[bool]:
    return Request.status == Status.OPEN.value


def _member_is(cond: sa.ColumnElement[bool]) -> sa.ColumnElement[bool]:
    """`request.member_id = ANY(<ids of matching members>)`: the ids are found first (an InitPlan run
    once), so the request side is an index probe instead of a join filtered row by row."""
    ids = sa.select(sa.func.array_agg(Member.id)).where(cond).scalar_subquery()
    # The cast makes it an array expression: bare "= ANY (SELECT ...)" would compare with each row.
    return Request.member_id == sa.any_(sa.cast(ids, ARRAY(sa.BigInteger)))


# A partial code needs four digits (fewer would match a good part of the province); a tracking code
# has twelve (domain.identifiers), a national ID ten.
MIN_PARTIAL_DIGITS = 4
TRACKING_CODE_DIGITS = 12


def _starts_or_ends(column, digits: str) -> sa.ColumnElement[bool]:
    """Index-backed (0019): LIKE 'x%' on the value and on its reverse; the digits carry no wildcard."""
    return sa.or_(column.like(f"{digits}%"), sa.func.reverse(column).like(f"{digits[::-1]}%"))


def _name_query(text: str) -> str | None:
    """The normalised text when it is searched as a name (not as a number), else None."""
    q = normalize_text(text)  # Persian/Arabic digits to ASCII, ي/ك to ی/ک
    return q if q and not _IDENTIFIER.fullmatch(q) else None


def _search_condition(session: Session, text: str, *, walk: bool = False) -> sa.ColumnElement[bool] | None:
    """National ID, tracking code and membership number by equality (index lookups); else the name,
    as the member directory matches it: every word typed begins a word of the name (prefix ranges
    over member_name_word), so "رضا" finds رضا and رضایی at any table size. `walk`: see `_member_named`."""
    q = normalize_text(text)
    if not q:
        return None
    if _IDENTIFIER.fullmatch(q):
        digits = re.sub(r"[^0-9]", "", q)
        numbers = sorted({digits, q.replace(" ", "")})
        if MIN_PARTIAL_DIGITS <= len(digits) < TRACKING_CODE_DIGITS:
            # Part of a code or a national ID: its first or its last digits (what people read out).
            return sa.or_(_starts_or_ends(Request.tracking_code, digits),
                          _member_is(sa.or_(_starts_or_ends(Member.national_id, digits),
                                            Member.membership_no.in_(numbers))))
        return sa.or_(Request.tracking_code == digits,
                      _member_is(sa.or_(Member.national_id == digits, Member.membership_no.in_(numbers))))
    return _member_named(session, q, walk=walk)


def _member_named(session: Session, q: str, *, walk: bool = False) -> sa.ColumnElement[bool]:
    """The request's member is named so (every typed word begins a word of the name), or has this
    membership number (free text on legacy records, looked up first).

    By default `request.member_id IN (<ids>)`, the ids read from member_name_word's primary key alone
    (logic.members.name_member_ids): the planner hashes them and walks the view's index
    (ix_request_unclaimed carries member_id, 0021), or looks up the requests of a few members. The
    number's id is added to that list only when there is one: in every case it would hide the name
    side's row estimate from the planner, which then always looked up member by member.

    `walk`: a test on each request instead, which keeps the order of the index the view is read in,
    so a page stops after its rows (`queue_page` uses it when more than COUNT_CAP match)."""
    number_id = session.scalar(sa.select(Member.id).where(Member.membership_no == q))
    by_number = sa.false() if number_id is None else Request.member_id == number_id
    if walk:
        return sa.or_(name_words_match(Request.member_id, q), by_number)
    by_name = name_member_ids(q, session)
    if by_name is None:
        return by_number
    if number_id is not None:
        by_name = sa.union_all(by_name, sa.select(sa.literal(number_id, sa.BigInteger)))
    return Request.member_id.in_(by_name)


def _require_queue(actor: Actor) -> None:
    if not actor.has(*REQUEST_VIEWERS):
        raise PermissionDenied("کارتابل برای نقش شما نیست.")


def _validate(actor: Actor, flt: QueueFilter) -> None:
    _require_queue(actor)
    if flt.view not in VIEWS_FA:
        raise ValidationError("نمای کارتابل شناخته‌شده نیست.")
    if flt.view == "all" and not is_manager(actor):
        raise PermissionDenied("فهرست همهٔ درخواست‌های استان فقط برای مدیر است.")
    if flt.sort not in SORTS_FA:
        raise ValidationError("ترتیب انتخاب‌شده شناخته‌شده نیست.")
    if flt.sla is not None and flt.sla not in SLA_FILTERS:
        raise ValidationError("وضعیت مهلت انتخاب‌شده شناخته‌شده نیست.")
    if flt.province_id is not None and not actor.can_see_province(flt.province_id):
        raise PermissionDenied("درخواست‌های استان دیگر در کارتابل شما نیست.")
    if flt.submitted_from and flt.submitted_to and flt.submitted_from > flt.submitted_to:
        raise ValidationError("تاریخ پایان بازهٔ ثبت نمی‌تواند پیش از تاریخ شروع آن باشد.")


def _where(session: Session, actor: Actor, flt: QueueFilter, now: datetime,
           view_part: sa.ColumnElement[bool] | None = None, *, ids: Sequence[int] | None = None,
           walk: bool = False) -> list[sa.ColumnElement[bool]]:
    """The filter's conditions; `view_part` replaces the view's condition by one of its parts. `ids`:
    the requests the filter was found to match a moment ago in this transaction (`queue_page`),
    which replace it (with the province scope kept); `walk`: see `_member_named`."""
    _validate(actor, flt)
    if ids is not None:
        # Only the ids: with the filter repeated, the planner expected one row of the 25 to 1,000 and
        # joined the staff table row by row. One array parameter, not up to 1,001 of them (binding and
        # planning those took longer than the query).
        return [province_clause(actor, Request.province_id),
                Request.id == sa.any_(sa.bindparam("match_ids", list(ids), type_=ARRAY(sa.BigInteger)))]
    view = _view_conditions(actor, now)[flt.view] if view_part is None else view_part
    conds = [province_clause(actor, Request.province_id), _is_open(), view]
    if flt.province_id is not None:
        conds.append(Request.province_id == flt.province_id)
    if flt.type_code:
        conds.append(Request.type_code == flt.type_code)
    if flt.stage_code:
        conds.append(Request.stage_code == flt.stage_code)
    if flt.sla:
        conds.append(status_filter(now, flt.sla))
    if flt.submitted_from:
        conds.append(Request.submitted_at >= datetime.combine(flt.submitted_from, time(0), tzinfo=TEHRAN))
    if flt.submitted_to:
        conds.append(Request.submitted_at < datetime.combine(flt.submitted_to + timedelta(days=1), time(0),
                                                             tzinfo=TEHRAN))
    search = _search_condition(session, flt.search, walk=walk)
    if search is not None:
        conds.append(search)
    return conds


def _order(sort: str, descending: bool = False) -> list:
    """Each sort by its column, then the most urgent first; `descending` turns the column around
    (requests without a deadline stay last either way)."""
    def way(col):
        return col.desc() if descending else col.asc()

    due = [Request.stage_due_at.asc().nulls_last(), Request.id]
    keys = {
        "due": [way(Request.stage_due_at).nulls_last(), way(Request.id)],
        "submitted": [way(Request.submitted_at), way(Request.id)],
        "type": [way(RequestType.sort_order), way(RequestStage.seq), *due],
        "stage": [way(RequestStage.name_fa), *due],
        "code": [way(Request.tracking_code)],
        "member": [way(Member.last_name), way(Member.first_name), *due],
        "assignee": [way(StaffUser.full_name).nulls_last(), *due],
        "province": [way(Request.province_id), *due],
    }
    return keys[sort]


def _rows_select(session: Session, actor: Actor, flt: QueueFilter, now: datetime, *,
                 ids: Sequence[int] | None = None, walk: bool = False) -> sa.Select:
    return (
        sa.select(
            Request.id, Request.tracking_code, Request.version, Request.province_id,
            (Member.first_name + " " + Member.last_name).label("member_name"), Member.national_id,
            Member.membership_no, Request.type_code, RequestType.name_fa.label("type_name"), Request.stage_code,
            RequestStage.name_fa.label("stage_name"), Request.status, Request.submitted_at, Request.stage_due_at,
            stage_status(now).label("sla"), Request.assignee_id, StaffUser.full_name.label("assignee_name"),
        )
        .select_from(Request)
        .join(Member, Member.id == Request.member_id)
        .join(RequestType, RequestType.code == Request.type_code)
        .join(RequestStage, sa.and_(RequestStage.type_code == Request.type_code,
                                    RequestStage.code == Request.stage_code))
        .outerjoin(StaffUser, StaffUser.id == Request.assignee_id)
        .where(*_where(session, actor, flt, now, ids=ids, walk=walk))
        .order_by(*_order(flt.sort, flt.descending))
    )


class _Clock:
    """Working time left per row, with one calendar per province met (usually one)."""

    def __init__(self, session: Session, now: datetime):
        self.session, self.now, self.calendars = session, now, {}

    def _calendar(self, province_id: int):
        cal = self.calendars.get(province_id)
        if cal is None:
            cal = self.calendars[province_id] = calendar_for(self.session, province_id)
        return cal

    def remaining(self, province_id: int, due: datetime | None) -> float | None:
        if due is None:
            return None
        return round(self._calendar(province_id).working_hours_between(self.now, due), 2)

    def days_left(self, province_id: int, due: datetime | None) -> str | None:
        return None if due is None else working_days_left_fa(self._calendar(province_id), self.now, due)


# --- queries ------------------------------------------------------------------------------------

def _capped_count(where: Sequence[sa.ColumnElement[bool]]) -> sa.ScalarSelect:
    """count(*) of the matching rows, stopping at COUNT_CAP + 1 (the LIMIT ends the scan there)."""
    rows = sa.select(sa.literal(1)).select_from(Request).where(*where).limit(COUNT_CAP + 1).subquery()
    return sa.select(sa.func.count()).select_from(rows).scalar_subquery()


def _sum_capped(counts: Sequence[sa.ScalarSelect]) -> sa.ColumnElement[int]:
    total = counts[0]
    for more in counts[1:]:
        total = total + more
    return sa.func.least(total, COUNT_CAP + 1)


def view_counts(session: Session, actor: Actor, now: datetime) -> dict[str, int]:
    """The count of each view available to the actor (capped, see COUNT_CAP), in one statement."""
    _require_queue(actor)
    scope = [province_clause(actor, Request.province_id), _is_open()]
    parts = _view_parts(actor, now)
    row = session.execute(sa.select(*(_sum_capped([_capped_count([*scope, c]) for c in conds]).label(v)
                                      for v, conds in parts.items()))).one()
    return {v: int(row._mapping[v]) for v in parts}


def count_matching(session: Session, actor: Actor, flt: QueueFilter, now: datetime) -> int:
    """How many requests match, capped at COUNT_CAP + 1."""
    _validate(actor, flt)
    parts = _view_parts(actor, now)[flt.view]
    counts = [_capped_count(_where(session, actor, flt, now, part)) for part in parts]
    return int(session.scalar(sa.select(_sum_capped(counts))) or 0)


def _matching_ids(session: Session, actor: Actor, flt: QueueFilter, now: datetime) -> list[int]:
    """The ids of the matching requests, up to COUNT_CAP + 1 per part of the view: the count's own
    scan, returning what it found instead of only how many."""
    _validate(actor, flt)
    found = [sa.select(Request.id).where(*_where(session, actor, flt, now, part)).limit(COUNT_CAP + 1)
             for part in _view_parts(actor, now)[flt.view]]
    return list(session.scalars(found[0] if len(found) == 1 else sa.union_all(*found)))


def queue_page(session: Session, actor: Actor, flt: QueueFilter, now: datetime) -> QueuePage:
    """One page of the filter's rows and their (capped) count.

    A name search (a common first name matches a fortieth of the country) is counted by collecting
    the matching ids, at most COUNT_CAP + 1: up to the cap the page is then those rows, read by
    primary key and sorted, so the matches are looked for once; past it they are dense enough that
    walking the view in the page's order, testing each request's member, reaches the page soon."""
    size = min(max(1, int(flt.page_size)), MAX_PAGE_SIZE)
    ids: list[int] | None = None
    if _name_query(flt.search) is not None:
        ids = _matching_ids(session, actor, flt, now)
        total = min(len(ids), COUNT_CAP + 1)
    else:
        total = count_matching(session, actor, flt, now)
    pages = max(1, math.ceil(total / size))
    page = min(max(1, int(flt.page)), pages)  # a narrower filter must not leave the user on an empty page
    rows_select = _rows_select(session, actor, flt, now, ids=None if ids is None or is_capped(total) else ids,
                               walk=ids is not None)
    result = session.execute(rows_select.limit(size).offset((page - 1) * size)).all()
    clock = _Clock(session, now)
    # Only the page's rows (at most MAX_PAGE_SIZE) meet the calendar.
    rows = [QueueRow(**r._mapping, remaining_hours=clock.remaining(r.province_id, r.stage_due_at),
                     days_left=clock.days_left(r.province_id, r.stage_due_at)) for r in result]
    return QueuePage(rows, total, page, pages)


# --- actions ------------------------------------------------------------------------------------

def next_task(engine: sa.Engine, actor: Actor, now: datetime | None = None) -> Outcome | None:
    """Claim the most urgent request of my group, or None when there is none.

    SKIP LOCKED: experts pressing at the same moment each lock a different row instead of queueing
    on the same one; a row claimed meanwhile fails the re-check of the WHERE clause and is passed over."""
    if not takes_work(actor):
        raise PermissionDenied("«کار بعدی» برای نقش‌هایی است که در مرحله‌ای از درخواست‌ها کار می‌کنند.")
    now = now or now_tehran()
    with session_scope(engine) as s:
        req = s.scalar(
            sa.select(Request)
            .where(province_clause(actor, Request.province_id), _is_open(), _takeable(actor))
            .order_by(*_order("due")).limit(1)
            .with_for_update(skip_locked=True)
        )
        if req is None:
            return None
        wf.claim_in(s, req, actor, now)  # the workflow's own checks, event and version bump
        s.flush()
        return Outcome(req.id, req.tracking_code, req.version, req.status, req.stage_code,
                       f"کار {to_persian_digits(req.tracking_code)} برداشته شد.")


def next_after(engine: sa.Engine, actor: Actor, *, done: int | None = None,
               now: datetime | None = None) -> Outcome | None:
    """The task to open after a decision («ثبت و کار بعدی»): the most urgent request I already hold
    (other than `done`, the one just decided), else the most urgent of my group, claimed for me as
    "next task" does. None when there is no work left."""
    if not takes_work(actor):
        raise PermissionDenied("«کار بعدی» برای نقش‌هایی است که در مرحله‌ای از درخواست‌ها کار می‌کنند.")
    with session_scope(engine) as s:
        row = s.execute(
            sa.select(Request.id, Request.tracking_code, Request.version, Request.status, Request.stage_code)
            .where(province_clause(actor, Request.province_id), _is_open(), Request.assignee_id == actor.id,
                   Request.id != (done or 0))
            .order_by(*_order("due")).limit(1)
        ).first()
    if row is not None:
        return Outcome(row.id, row.tracking_code, row.version, row.status, row.stage_code,
                       f"کار بعدی: {to_persian_digits(row.tracking_code)}")
    return next_task(engine, actor, now)


def _bulk(fn, engine: sa.Engine, actor: Actor, picks: Sequence[tuple[int, int]], verb: str,
          now: datetime | None) -> BulkOutcome:
    """Apply a one-request service to each (id, version) picked. Each is its own transaction, so a
    row someone else took meanwhile does not undo the others; the message says what was skipped."""
    if not picks:
        raise ValidationError("هیچ ردیفی انتخاب نشده است.")
    done, failed = [], []
    for request_id, version in picks:
        try:
            done.append(fn(engine, actor, request_id, version, now=now))
        except DomainError as exc:
            failed.append((request_id, exc))
    if not done:
        raise failed[0][1]
    message = f"{to_persian_digits(len(done))} کار {verb}."
    if failed:
        message += f" {to_persian_digits(len(failed))} مورد انجام نشد: {failed[0][1].message}"
    return BulkOutcome(done, [(rid, exc.message) for rid, exc in failed], message)


def claim_selected(engine: sa.Engine, actor: Actor, picks: Sequence[tuple[int, int]], *,
                   now: datetime | None = None) -> BulkOutcome:
    return _bulk(wf.claim, engine, actor, picks, "برداشته شد", now)


def unclaim_selected(engine: sa.Engine, actor: Actor, picks: Sequence[tuple[int, int]], *,
                     now: datetime | None = None) -> BulkOutcome:
    return _bulk(wf.unclaim, engine, actor, picks, "رها شد", now)


def assignable_staff(session: Session, actor: Actor, request_ids: Sequence[int]) -> list[StaffChoice]:
    """Active staff who may take all these requests: the stages' roles, the province (or central
    staff), and not the initial reviewer of a four-eyes stage. The manager's reassign picker."""
    if not is_manager(actor):
        raise PermissionDenied("ارجاع کار فقط برای مدیر ممکن است.")
    if not request_ids:
        return []
    reqs = session.execute(
        sa.select(Request.province_id, Request.type_code, Request.stage_code, Request.initial_reviewer_id)
        .where(Request.id.in_(request_ids), province_clause(actor, Request.province_id), _is_open())
    ).all()
    if len(reqs) != len(set(request_ids)):
        return []
    stages = [process(r.type_code).stage(r.stage_code) for r in reqs]
    roles = {st.role for st in stages}
    if None in roles:  # a member's stage (payment): nobody on staff acts there
        return []
    provinces = {r.province_id for r in reqs}
    conflicts = {r.initial_reviewer_id for r, st in zip(reqs, stages) if st.four_eyes and r.initial_reviewer_id}
    where = [StaffUser.is_active, StaffUser.roles.contains(sorted(str(r) for r in roles)),
             sa.or_(StaffUser.province_id.is_(None), StaffUser.province_id == provinces.pop())
             if len(provinces) == 1 else StaffUser.province_id.is_(None)]
    if conflicts:
        where.append(StaffUser.id.not_in(conflicts))
    rows = session.execute(sa.select(StaffUser.id, StaffUser.full_name).where(*where)
                           .order_by(StaffUser.full_name, StaffUser.id)).all()
    return [StaffChoice(r.id, r.full_name) for r in rows]


# --- display and export -------------------------------------------------------------------------

def format_due(row: QueueRow) -> str:
    """The «مهلت» cell: the stage deadline's Jalali date and the whole working days to it or past it
    («۱۴۰۵/۰۹/۱۱ — ۲ روز کاری مانده»), or why there is none (paused, no limit)."""
    if row.stage_due_at is None or row.days_left is None:
        return SLA_LABELS_FA[SlaStatus(row.sla)]
    return f"{format_jalali_date(row.stage_due_at)} — {row.days_left}"


def _codes(rows: Sequence[QueueRow], most: int = 3) -> str:
    shown = "، ".join(fa_code(r.tracking_code) for r in rows[:most])
    return shown + (f" و {to_persian_digits(len(rows) - most)} ردیف دیگر" if len(rows) > most else "")


NOTHING_SELECTED = "نخست یک یا چند ردیف را در جدول تیک بزنید."


def claim_blocker(actor: Actor, rows: Sequence[QueueRow]) -> str | None:
    """Why «برداشتن» cannot take the selected rows (the button's help), or None when it can."""
    if not rows:
        return NOTHING_SELECTED
    others = [r for r in rows if r.assignee_id not in (None, actor.id)]
    if others:
        names = "، ".join(sorted({r.assignee_name or "همکار دیگری" for r in others}))
        return (f"ردیف‌های {_codes(others)} را {names} برداشته است؛ کار دیگران را فقط مدیر می‌تواند "
                "ارجاع کند. آن ردیف‌ها را از انتخاب بردارید.")
    if all(r.assignee_id == actor.id for r in rows):
        return "همهٔ ردیف‌های انتخاب‌شده از پیش در دست شماست."
    return None


def unclaim_blocker(actor: Actor, rows: Sequence[QueueRow]) -> str | None:
    """Why «رها کردن» cannot release the selected rows, or None when it can."""
    if not rows:
        return NOTHING_SELECTED
    free = [r for r in rows if r.assignee_id is None]
    if free:
        return f"ردیف‌های {_codes(free)} در دست کسی نیست؛ آن‌ها را از انتخاب بردارید."
    if not is_manager(actor):
        others = [r for r in rows if r.assignee_id != actor.id]
        if others:
            return (f"ردیف‌های {_codes(others)} را همکار دیگری برداشته است؛ رها کردن کار دیگران با مدیر "
                    "است.")
    return None


def assign_blocker(rows: Sequence[QueueRow], choices: int) -> str | None:
    """Why nobody can be picked to take all the selected rows (`choices` is how many can), or None.
    The roles come from the stages, as `assignable_staff` reads them."""
    if not rows:
        return NOTHING_SELECTED
    stages = [(r, process(r.type_code).stage(r.stage_code)) for r in rows]
    members = [r for r, st in stages if st.role is None]
    if members:
        return f"ردیف‌های {_codes(members)} در نوبت عضو است و به کارمندی ارجاع نمی‌شود."
    if choices:
        return None
    by_role: dict[str, list[QueueRow]] = {}
    for r, st in stages:
        by_role.setdefault(str(st.role), []).append(r)
    if len(by_role) > 1:
        parts = "؛ ".join(f"{role_label(role)} برای {_codes(rs)}" for role, rs in by_role.items())
        return (f"ردیف‌های انتخاب‌شده نقش‌های گوناگونی می‌خواهند ({parts}) و هیچ کارمند فعالی همهٔ این "
                "نقش‌ها را ندارد؛ ردیف‌های هر نقش را جداگانه ارجاع کنید.")
    role = role_label(next(iter(by_role)))
    return (f"کارمند فعالی با نقش «{role}» که بتواند این ردیف‌ها را بگیرد نیست (یا بررسی اولیهٔ آن‌ها با "
            "خود او بوده است).")


EXPORT_COLUMNS: list[tuple[str, str]] = [
    ("tracking_code", "کد رهگیری"),
    ("member_name", "عضو"),
    ("national_id", "کد ملی"),
    ("membership_no", "شماره عضویت"),
    ("type_name", "نوع درخواست"),
    ("stage_name", "مرحله"),
    ("sla", "وضعیت مهلت"),
    ("submitted_at", "تاریخ ثبت"),
    ("stage_due_at", "مهلت مرحله"),
    ("remaining_hours", "ساعت کاری باقی‌مانده"),
    ("assignee_name", "کارشناس"),
]


def export_rows(session: Session, actor: Actor, flt: QueueFilter, now: datetime,
                limit: int = 100_000) -> Iterator[dict]:
    """The whole filtered set (not one page) as display rows, streamed with a server-side cursor."""
    stmt = _rows_select(session, actor, flt, now).limit(limit)
    clock = _Clock(session, now)
    for r in session.execute(stmt, execution_options={"yield_per": 2000}):
        hours = clock.remaining(r.province_id, r.stage_due_at)
        yield {
            "tracking_code": r.tracking_code, "member_name": r.member_name, "national_id": r.national_id,
            "membership_no": r.membership_no or "", "type_name": r.type_name, "stage_name": r.stage_name,
            "sla": SLA_LABELS_FA[SlaStatus(r.sla)], "submitted_at": format_jalali_datetime(r.submitted_at),
            "stage_due_at": format_jalali_datetime(r.stage_due_at),
            "remaining_hours": None if hours is None else round(hours, 1),
            "assignee_name": r.assignee_name or "",
        }



def export_file(engine: sa.Engine, actor: Actor, flt: QueueFilter, fmt: str, now: datetime | None = None) -> bytes:
    """The filtered set as a CSV or XLSX file, read in its own transaction (the page calls this
    only when the download button is pressed)."""
    writer = {"csv": export_csv, "xlsx": export_xlsx}[fmt]
    with session_scope(engine) as s:
        rows = CountedRows(export_rows(s, actor, flt, now or now_tehran()))
        data = writer(rows, EXPORT_COLUMNS)
        record_export(s, actor, "queue_exported", fmt, flt, rows.count)  # members' names and national IDs
        return data
