"""Everything the request screen shows about one request, read in one session.

`load_request` is the only query the page makes. It refuses another province's request with the
same "not found" as an unknown code, so a URL never tells anyone that a request exists elsewhere.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from db.models import Member, Request, RequestEvent, StaffUser, StageVisit, WorkLicence
from domain.actor import Actor
from domain.calendar import SLA_LABELS_FA, BusinessCalendar, SlaStatus, closed_status, open_status, to_tehran_naive
from domain.errors import DomainError, NotFound
from domain.jalali import format_jalali_date, format_jalali_datetime
from domain.machine import check_can_act, stage_of
from domain.processes import (ACTIONS_FA, CLOSED_STATUSES, STATUS_LABELS_FA, Process, Stage, StageKind, Status,
                             process)
from domain.processes import STAFF_ACTIONS
from domain.reference import (COMPETENCIES_FA, DOCUMENT_TYPES_FA, FIELDS_FA, GRADES_FA, MEMBER_STATUSES_FA,
                             PROVINCE_NAMES_FA)
from domain.text import to_ascii_digits, to_persian_digits
from logic.calendar import calendar_for
from logic.documents import VERDICT_LABELS_FA, DocumentInfo, request_documents, require_viewer
from logic.workflow import state_of

NOT_FOUND = "درخواست پیدا نشد."
MEMBER_OR_SYSTEM = "عضو/سامانه"
# Values of the types' own data that are codes rather than text.
_VALUE_LABELS_FA = {**COMPETENCIES_FA, "consultant": "مشاور", "contractor": "پیمانکار"}
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
# The order in which the page offers a stage's actions.
_ACTION_ORDER = ("approve", "reject", "return", "complete")


def _fa_hours(hours: float) -> str:
    return to_persian_digits(f"{hours:.1f}").replace(".", "٫")


@dataclass(frozen=True)
class Sla:
    """One SLA clock (the stage's or the whole request's) at the moment the view was read."""

    status: SlaStatus
    remaining_hours: float | None   # working hours to the deadline; negative once overdue
    due_at: datetime | None
    limit_hours: float | None

    @property
    def label(self) -> str:
        return SLA_LABELS_FA[self.status]

    @property
    def remaining_label(self) -> str:
        if self.remaining_hours is None:
            return ""
        if self.remaining_hours < 0:
            return f"{_fa_hours(-self.remaining_hours)} ساعت کاری از مهلت گذشته"
        suffix = " (ساعت متوقف است)" if self.status is SlaStatus.PAUSED else ""
        return f"{_fa_hours(self.remaining_hours)} ساعت کاری باقی‌مانده{suffix}"


@dataclass(frozen=True)
class Header:
    tracking_code: str
    type_code: str
    type_name: str
    stage_code: str
    stage_name: str
    stage_kind: StageKind
    status: str
    status_label: str
    assignee_id: int | None
    assignee_name: str | None
    version: int
    submitted_at: datetime
    stage_sla: Sla
    request_sla: Sla


@dataclass(frozen=True)
class Licence:
    licence_no: str
    field_label: str
    grade_label: str
    competencies_label: str
    expires_on_fa: str

    @property
    def summary(self) -> str:
        parts = [f"شمارهٔ {to_persian_digits(self.licence_no)}", self.field_label, self.grade_label]
        if self.competencies_label:
            parts.append(self.competencies_label)
        return "، ".join(parts) + f" — معتبر تا {self.expires_on_fa}"


@dataclass(frozen=True)
class MemberCard:
    id: int
    full_name: str
    national_id: str
    membership_no: str | None
    field_label: str
    grade_label: str
    status_label: str
    valid_until_fa: str
    province_name: str
    licences: tuple[Licence, ...]   # valid work licences only
    status: str = "active"


@dataclass(frozen=True)
class Permission:
    """Whether the viewer may act on the request now, and if not, why (in Persian)."""

    may_act: bool
    reason: str | None
    actions: tuple[str, ...]        # staff actions this stage accepts, in the page's order
    may_claim: bool
    claimed_by: str | None          # who holds the request, when someone does
    refer_to: str | None = None     # the stage an approval here may refer the request to (its name)
    grants_by_points: bool = False  # an approval here may grant a rank by the points earned


@dataclass(frozen=True)
class TimelineEntry:
    at: datetime
    who: str
    action: str
    action_label: str
    from_stage: str | None
    to_stage: str | None
    reason: str | None
    detail: str | None

    @property
    def at_fa(self) -> str:
        return format_jalali_datetime(self.at)


@dataclass(frozen=True)
class RequestView:
    request_id: int
    version: int
    header: Header
    member: MemberCard
    data: tuple[tuple[str, str], ...]          # (Persian label, display value)
    documents: tuple[DocumentInfo, ...]
    checklist: tuple[str, ...]
    permission: Permission
    timeline: tuple[TimelineEntry, ...]

    @property
    def rejected_required_documents(self) -> tuple[DocumentInfo, ...]:
        return tuple(d for d in self.documents if d.required and d.verdict == "rejected")


# --- loading ------------------------------------------------------------------------------------

def _find(session: Session, key: str | int) -> Request | None:
    if isinstance(key, int):
        return session.get(Request, key)
    code = to_ascii_digits(str(key)).strip()
    if not code.isdigit():
        return None
    return session.scalar(sa.select(Request).where(Request.tracking_code == code))


def load_request(session: Session, actor: Actor, key: str | int, now: datetime) -> RequestView:
    """The request with this tracking code (str) or id (int), as `actor` may see it at `now`."""
    require_viewer(actor)
    req = _find(session, key)
    if req is None or not actor.can_see_province(req.province_id):
        raise NotFound(NOT_FOUND)
    proc = process(req.type_code)
    stage = proc.stage(req.stage_code)
    cal = calendar_for(session, req.province_id)
    names = _staff_names(session, req.assignee_id)
    return RequestView(
        request_id=req.id,
        version=req.version,
        header=_header(session, req, proc, stage, cal, now, names.get(req.assignee_id)),
        member=_member(session, req.member_id, now),
        data=_data(proc, req.data or {}),
        documents=tuple(request_documents(session, req.id)),
        checklist=stage.checklist,
        permission=_permission(actor, req, stage, names.get(req.assignee_id)),
        timeline=_timeline(session, req.id, proc),
    )


def _staff_names(session: Session, *ids: int | None) -> dict[int, str]:
    wanted = [i for i in ids if i is not None]
    if not wanted:
        return {}
    return dict(session.execute(sa.select(StaffUser.id, StaffUser.full_name).where(StaffUser.id.in_(wanted))).all())


# --- header and SLA -----------------------------------------------------------------------------

def _header(session: Session, req: Request, proc: Process, stage: Stage, cal: BusinessCalendar, now: datetime,
            assignee_name: str | None) -> Header:
    return Header(
        tracking_code=req.tracking_code, type_code=proc.code, type_name=proc.name_fa, stage_code=stage.code,
        stage_name=stage.name_fa, stage_kind=stage.kind, status=req.status,
        status_label=STATUS_LABELS_FA[Status(req.status)], assignee_id=req.assignee_id, assignee_name=assignee_name,
        version=req.version, submitted_at=req.submitted_at,
        stage_sla=_stage_sla(session, req, stage, cal, now),
        request_sla=_request_sla(req, proc, stage, cal, now),
    )


def _open_sla(cal: BusinessCalendar, now: datetime, due_at: datetime | None, limit_hours: float,
              used_hours: float) -> Sla:
    status = open_status(cal, now, due_at, limit_hours)
    if due_at is not None:
        remaining = cal.working_hours_between(now, due_at)
    else:
        # The clock is stopped: what is left is what the stopped clock still holds.
        remaining = max(0.0, limit_hours - used_hours)
    return Sla(status, remaining, due_at, limit_hours)


def _closed_verdict(met_sla: bool | None) -> SlaStatus:
    if met_sla is None:  # a process the seed gives no total: not judged
        return SlaStatus.NO_LIMIT
    return SlaStatus.MET if met_sla else SlaStatus.MISSED


def _stage_sla(session: Session, req: Request, stage: Stage, cal: BusinessCalendar, now: datetime) -> Sla:
    limit = float(stage.limit_days * cal.day_hours) if stage.limit_days is not None else None
    if req.status in CLOSED_STATUSES:
        # The cleared deadline lives on in the last stage visit; without one, the request's verdict.
        visit = session.execute(sa.select(StageVisit.left_at, StageVisit.due_at)
                                .where(StageVisit.request_id == req.id, StageVisit.left_at.is_not(None))
                                .order_by(StageVisit.left_at.desc(), StageVisit.id.desc()).limit(1)).first()
        if visit is not None:  # its verdict, or none at a stage without a limit
            status = closed_status(visit.left_at, visit.due_at) if visit.due_at is not None else SlaStatus.NO_LIMIT
            return Sla(status, None, visit.due_at, limit)
        return Sla(_closed_verdict(req.met_sla), None, None, limit)
    if not stage.clock_runs:  # a member stage: nothing for staff to be late on
        return Sla(SlaStatus.PAUSED, None, None, None)
    if limit is None:  # a staff stage the seed gives no time
        return Sla(SlaStatus.NO_LIMIT, None, None, None)
    return _open_sla(cal, now, req.stage_due_at, limit, float(req.stage_hours_used))


def _request_sla(req: Request, proc: Process, stage: Stage, cal: BusinessCalendar, now: datetime) -> Sla:
    if proc.total_limit_days is None:  # the seed gives the process no total
        return Sla(SlaStatus.NO_LIMIT, None, None, None)
    if req.status == "open" and stage.outside_total:  # the total waits while the central organisation reviews
        return Sla(SlaStatus.NO_LIMIT, None, None, None)
    limit = proc.total_limit_days * cal.day_hours
    if req.status in CLOSED_STATUSES:
        # The same stored verdict the SQL status uses (logic.sla_sql.request_status).
        return Sla(_closed_verdict(req.met_sla), None, None, limit)
    return _open_sla(cal, now, req.due_at, limit, float(req.process_hours_used))


# --- member and the type's own data -------------------------------------------------------------

def _member(session: Session, member_id: int, now: datetime) -> MemberCard:
    m = session.get(Member, member_id)
    today = to_tehran_naive(now).date()
    licences = session.scalars(
        sa.select(WorkLicence).where(WorkLicence.member_id == member_id, WorkLicence.kind == "work",
                                     WorkLicence.expires_on >= today)
        .order_by(WorkLicence.expires_on.desc())).all()
    return MemberCard(
        id=m.id, full_name=f"{m.first_name} {m.last_name}", national_id=m.national_id,
        membership_no=m.membership_no, field_label=FIELDS_FA.get(m.field, m.field),
        grade_label=GRADES_FA.get(m.grade, "—") if m.grade else "—",
        status_label=MEMBER_STATUSES_FA.get(m.status, m.status), valid_until_fa=format_jalali_date(m.valid_until),
        province_name=PROVINCE_NAMES_FA.get(m.province_id, str(m.province_id)), status=m.status,
        licences=tuple(Licence(w.licence_no, FIELDS_FA.get(w.field, w.field), GRADES_FA.get(w.grade, str(w.grade)),
                               "، ".join(COMPETENCIES_FA.get(c, c) for c in w.competencies),
                               format_jalali_date(w.expires_on)) for w in licences),
    )


def _display(key: str, value) -> str:
    """One value of a request's own data, readable: provinces by name, dates in Jalali, codes by label."""
    if value is None or value == "":
        return "—"
    if isinstance(value, bool):
        return "بله" if value else "خیر"
    if isinstance(value, list):
        return "، ".join(_display(key, v) for v in value)
    if key.endswith("province") or key.endswith("province_id"):
        try:
            return PROVINCE_NAMES_FA[int(value)]
        except (KeyError, TypeError, ValueError):
            pass
    if isinstance(value, str) and _ISO_DATE.match(value):
        try:
            return format_jalali_date(datetime.strptime(value, "%Y-%m-%d").date())
        except ValueError:
            pass
    if isinstance(value, str) and value in _VALUE_LABELS_FA:
        return _VALUE_LABELS_FA[value]
    return to_persian_digits(value)


def _data(proc: Process, data: dict) -> tuple[tuple[str, str], ...]:
    labels = dict(proc.data_fields)
    # Declared fields first, in the process's order; anything else the portal sent after them.
    keys = [k for k, _ in proc.data_fields if k in data] + [k for k in data if k not in labels]
    return tuple((labels.get(k, k), _display(k, data[k])) for k in keys)


# --- who may act --------------------------------------------------------------------------------

def _permission(actor: Actor, req: Request, stage: Stage, holder: str | None) -> Permission:
    actions = tuple(a for a in _ACTION_ORDER if stage.role is not None and a in STAFF_ACTIONS.get(stage.kind, ()))
    if not actions:
        reason = ("این درخواست بسته شده است و اقدامی روی آن ممکن نیست." if req.status in CLOSED_STATUSES
                  else f"درخواست در مرحلهٔ «{stage.name_fa}» نزد عضو است؛ اقدامی از سوی کارکنان لازم نیست.")
        return Permission(False, reason, (), False, holder)
    # Every rule but the claim is the workflow's own; the claim is checked here to name the holder.
    probe = state_of(req)._replace(assignee_id=None)
    try:
        check_can_act(actor, probe, stage, actions[0])
    except DomainError as exc:
        return Permission(False, exc.message, actions, False, holder)
    if req.assignee_id is not None and req.assignee_id != actor.id:
        return Permission(False, f"این کار را {holder} برداشته است؛ فقط او یا مدیر می‌تواند آن را جابه‌جا کند.",
                          actions, False, holder)
    referral = process(req.type_code).referral_after(stage_of(probe)[2]) if "approve" in actions else None
    return Permission(True, None, actions, req.assignee_id is None, holder,
                      referral.name_fa if referral is not None and not req.referred else None,
                      stage.grants_by_points and "approve" in actions)


# --- timeline -----------------------------------------------------------------------------------

def _stage_name(proc: Process, code: str | None) -> str | None:
    if code is None:
        return None
    try:
        return proc.stage(code).name_fa
    except KeyError:
        return code


def _detail(action: str, data: dict) -> str | None:
    if action == "document_verdict" and data:
        doc = DOCUMENT_TYPES_FA.get(data.get("doc_type"), data.get("doc_type") or "")
        return f"{doc}: {VERDICT_LABELS_FA.get(data.get('verdict'), data.get('verdict'))}"
    if action == "committee_decision" and "granted" in data:
        return "صلاحیت اعطا شد" if data["granted"] else "صلاحیت اعطا نشد"
    if data.get("referred"):
        return "ارجاع به کمیتهٔ تخصصی"
    if data.get("granted_rank"):
        return f"رتبهٔ {to_persian_digits(data['granted_rank'])} بر اساس امتیاز کسب‌شده"
    return None


def _timeline(session: Session, request_id: int, proc: Process) -> tuple[TimelineEntry, ...]:
    rows = session.execute(
        sa.select(RequestEvent.at, RequestEvent.action, RequestEvent.from_stage, RequestEvent.to_stage,
                  RequestEvent.reason, RequestEvent.data, StaffUser.full_name)
        .outerjoin(StaffUser, StaffUser.id == RequestEvent.actor_id)
        .where(RequestEvent.request_id == request_id)
        .order_by(RequestEvent.at, RequestEvent.id)
    ).all()
    return tuple(TimelineEntry(r.at, r.full_name or MEMBER_OR_SYSTEM, r.action, ACTIONS_FA.get(r.action, r.action),
                               _stage_name(proc, r.from_stage), _stage_name(proc, r.to_stage), r.reason,
                               _detail(r.action, r.data or {}))
                 for r in rows)
