"""Request transitions. Every function here is one user action: it checks the actor's role and
province against the process definition, validates input, changes the request under optimistic
locking, writes exactly one event, keeps the SLA clocks, and commits once.

Clock bookkeeping (all in working hours of the province's calendar):
- `stage_entered_at` starts the current *segment* of the current stage (entry, or resubmission
  after a return);
- `stage_hours_used` is what the stage used before that segment (non-zero only after a return);
- `process_hours_used` sums the finished segments of clock-running stages;
so `stage_due_at = add(stage_entered_at, limit - stage_hours_used)` and
`due_at = add(stage_entered_at, total - process_hours_used)` can always be recomputed (for example
after a holiday is added). Member stages and returned requests stop both clocks (NULL due times).
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.orm import Session

from db.engine import session_scope
from db.models import (FeeAssessment, Member, ProvinceSetting, Request, RequestEvent, StaffUser, StageVisit,
                       ValidityChange)
from logic.auth import Actor
from logic.calendar import calendar_for
from logic.errors import InvalidTransition, NotFound, PermissionDenied, StaleRequest, ValidationError
from logic.jalali import format_jalali_datetime, now_tehran, to_jalali
from logic.processes import (ACTIONS_FA, INITIAL_REVIEW, CLOSED_STATUSES, Condition, Process, Stage,
                             StageKind, Status, process)
from logic.roles import REQUEST_VIEWERS, Role
from logic.sla import AT_RISK_FRACTION, BusinessCalendar
from logic.text import clean_reason

HOURS_PLACES = Decimal("0.0001")

# Which actions each kind of stage accepts from staff.
STAFF_ACTIONS: dict[StageKind, frozenset[str]] = {
    StageKind.REVIEW: frozenset({"approve", "reject", "return"}),
    StageKind.FEE: frozenset({"approve", "reject", "return"}),
    StageKind.FINANCE: frozenset({"approve", "reject"}),
    StageKind.DECISION: frozenset({"approve", "reject"}),
    StageKind.COMMITTEE: frozenset({"approve", "reject"}),
    StageKind.ISSUE: frozenset({"complete"}),
}


def _hours(value: float | Decimal) -> Decimal:
    return Decimal(str(value)).quantize(HOURS_PLACES)


@dataclass(frozen=True)
class Outcome:
    """What a transition did, for the screen's result message."""

    request_id: int
    tracking_code: str
    version: int
    status: str
    stage_code: str
    message: str


# --- loading and guards -------------------------------------------------------------------------

def load_for_update(s: Session, request_id: int) -> Request:
    req = s.scalar(sa.select(Request).where(Request.id == request_id).with_for_update())
    if req is None:
        raise NotFound("درخواست پیدا نشد.")
    return req


def check_version(s: Session, req: Request, version: int | None) -> None:
    if version is None or version == req.version:
        return
    last = s.execute(
        sa.select(RequestEvent.at, RequestEvent.action, StaffUser.full_name)
        .outerjoin(StaffUser, StaffUser.id == RequestEvent.actor_id)
        .where(RequestEvent.request_id == req.id, RequestEvent.version == req.version)
        .order_by(RequestEvent.id.desc()).limit(1)
    ).first()
    who = (last.full_name if last and last.full_name else "عضو یا سامانه") if last else "کاربر دیگری"
    when = format_jalali_datetime(last.at) if last else ""
    what = ACTIONS_FA.get(last.action, last.action) if last else ""
    raise StaleRequest(
        f"این درخواست پیش از شما تغییر کرده است: «{what}» توسط {who} در {when}. "
        "صفحه را دوباره بارگذاری کنید؛ هیچ تغییری از طرف شما ثبت نشد.",
        by=who, at=last.at if last else None, action=last.action if last else None,
    )


def check_scope(actor: Actor, req: Request) -> None:
    if not actor.can_see_province(req.province_id):
        raise PermissionDenied("این درخواست به استان دیگری تعلق دارد و شما اجازهٔ اقدام روی آن را ندارید.")


def check_open(req: Request) -> None:
    if req.status in CLOSED_STATUSES:
        raise InvalidTransition("این درخواست بسته شده است و اقدامی روی آن ممکن نیست.")


def stage_of(req: Request) -> tuple[Process, Stage]:
    proc = process(req.type_code)
    return proc, proc.stage(req.stage_code)


def check_can_act(actor: Actor, req: Request, stage: Stage, action: str) -> None:
    check_scope(actor, req)
    check_open(req)
    if req.status == Status.RETURNED:
        raise InvalidTransition("این درخواست برای اصلاح نزد عضو است؛ تا ارسال دوباره، اقدامی ممکن نیست.")
    if stage.role is None or action not in STAFF_ACTIONS.get(stage.kind, ()):
        raise InvalidTransition(f"اقدام «{ACTIONS_FA.get(action, action)}» در مرحلهٔ «{stage.name_fa}» مجاز نیست.")
    if not actor.has(stage.role):
        raise PermissionDenied(f"اقدام در مرحلهٔ «{stage.name_fa}» فقط با نقش مربوط به این مرحله ممکن است.")
    if stage.four_eyes and req.initial_reviewer_id == actor.id:
        raise PermissionDenied("بررسی‌کنندهٔ این مرحله نباید همان کارشناس بررسی اولیه باشد (اصل چهار چشم).")
    if req.assignee_id is not None and req.assignee_id != actor.id:
        raise InvalidTransition("این کار را همکار دیگری برداشته است؛ فقط او یا مدیر می‌تواند آن را جابه‌جا کند.")


# --- clocks -------------------------------------------------------------------------------------

def _limit_hours(stage: Stage, cal: BusinessCalendar) -> Decimal:
    return _hours((stage.limit_days or 0) * cal.day_hours)


def _total_hours(proc: Process, cal: BusinessCalendar) -> Decimal:
    return _hours(proc.total_limit_days * cal.day_hours)


def _open_visit(s: Session, req: Request) -> StageVisit | None:
    return s.scalar(sa.select(StageVisit).where(StageVisit.request_id == req.id, StageVisit.left_at.is_(None)))


def _stop_clock(s: Session, req: Request, stage: Stage, cal: BusinessCalendar, now: datetime,
                actor_id: int | None, outcome: str) -> None:
    """Close the current segment of a clock-running stage and bank its hours."""
    if not stage.clock_runs or req.stage_due_at is None:
        return
    segment = _hours(max(0.0, cal.working_hours_between(req.stage_entered_at, now)))
    used = req.stage_hours_used + segment
    visit = _open_visit(s, req)
    if visit is not None:
        visit.left_at = now
        visit.actor_id = actor_id
        visit.outcome = outcome
        # A return pauses the stage: that segment is not a finished stage, so it has no verdict.
        visit.hours_used = segment if outcome == "return" else used
        visit.met = None if outcome == "return" else used <= visit.limit_hours
    req.process_hours_used += segment
    req.stage_hours_used = used if outcome == "return" else Decimal(0)
    _clear_due_times(req)


def _set_due_times(req: Request, proc: Process, stage: Stage, cal: BusinessCalendar) -> None:
    """Deadlines and at-risk moments of the running segment, from the clock fields alone."""
    start = req.stage_entered_at
    stage_left = _limit_hours(stage, cal) - req.stage_hours_used
    total_left = _total_hours(proc, cal) - req.process_hours_used
    risk = Decimal(str(1 - AT_RISK_FRACTION))

    def at(hours: Decimal) -> datetime:
        return cal.add_working_hours(start, float(max(Decimal(0), hours)))

    req.stage_due_at = at(stage_left)
    req.stage_risk_at = at(stage_left - _limit_hours(stage, cal) * (1 - risk))
    req.due_at = at(total_left)
    req.risk_at = at(total_left - _total_hours(proc, cal) * (1 - risk))


def _clear_due_times(req: Request) -> None:
    req.stage_due_at = req.stage_risk_at = req.due_at = req.risk_at = None


def _start_clock(s: Session, req: Request, proc: Process, stage: Stage, cal: BusinessCalendar,
                 start: datetime) -> None:
    """Start (or resume) the current stage's segment at `start`."""
    req.stage_entered_at = start
    if not stage.clock_runs:
        _clear_due_times(req)
        return
    _set_due_times(req, proc, stage, cal)
    s.add(StageVisit(request_id=req.id, province_id=req.province_id, type_code=req.type_code,
                     stage_code=stage.code, entered_at=start, due_at=req.stage_due_at,
                     limit_hours=_limit_hours(stage, cal)))


def recompute_due_times(s: Session, req: Request, cal: BusinessCalendar) -> bool:
    """Recompute the stored due times of an open, running request from its clock fields."""
    if req.status != Status.OPEN or req.stage_due_at is None:
        return False
    proc, stage = stage_of(req)
    before = (req.stage_due_at, req.due_at)
    _set_due_times(req, proc, stage, cal)
    visit = _open_visit(s, req)
    if visit is not None:
        visit.due_at = req.stage_due_at
    return before != (req.stage_due_at, req.due_at)


# --- moving between stages ----------------------------------------------------------------------

def _condition_met(s: Session, req: Request, cond: Condition) -> bool:
    if cond is Condition.FINANCE_APPROVAL:
        setting = s.get(ProvinceSetting, req.province_id)
        return bool(setting and setting.finance_approval_required)
    if cond is Condition.REFERRAL:
        return bool(req.referred)
    if cond is Condition.PAYABLE:
        assessment = current_assessment(s, req.id)
        return assessment is not None and assessment.total > 0
    raise AssertionError(cond)


def _next_stage(s: Session, req: Request, proc: Process, now: datetime) -> Stage | None:
    for stage in proc.stages[proc.index(req.stage_code) + 1:]:
        if stage.optional is not None and not _condition_met(s, req, stage.optional):
            continue
        if stage.kind is StageKind.PAYMENT and _nothing_to_pay(s, req, now):
            continue
        return stage
    return None


def _nothing_to_pay(s: Session, req: Request, now: datetime) -> bool:
    """A payment stage whose fee is zero (an exempt or free tariff) is passed by: a gateway payment
    must be more than zero, so the request would otherwise wait for ever."""
    from logic.fees import assess_from_tariff
    assessment = current_assessment(s, req.id) or assess_from_tariff(s, req, now)
    return assessment is not None and assessment.total == 0


def current_assessment(s: Session, request_id: int) -> FeeAssessment | None:
    return s.scalar(sa.select(FeeAssessment).where(FeeAssessment.request_id == request_id)
                    .order_by(FeeAssessment.version.desc()).limit(1))


def write_event(s: Session, req: Request, actor_id: int | None, action: str, now: datetime, *,
                 from_stage: str | None, to_stage: str | None, reason: str | None = None,
                 data: dict | None = None, bump: bool = True) -> None:
    if bump:
        req.version += 1
    req.updated_at = now
    s.add(RequestEvent(request_id=req.id, at=now, actor_id=actor_id, action=action, from_stage=from_stage,
                       to_stage=to_stage, reason=reason, version=req.version, data=data or {}))


def _close(req: Request, proc: Process, cal: BusinessCalendar, status: Status, now: datetime) -> None:
    req.status = status
    req.closed_at = now
    req.assignee_id = None
    _clear_due_times(req)
    req.met_sla = req.process_hours_used <= _total_hours(proc, cal)


def _advance(s: Session, req: Request, proc: Process, stage: Stage, cal: BusinessCalendar, now: datetime,
             actor_id: int | None, action: str, *, reason: str | None = None, data: dict | None = None) -> None:
    """Leave the current stage forward: enter the next one, or complete the request."""
    _stop_clock(s, req, stage, cal, now, actor_id, action)
    if stage.code == INITIAL_REVIEW and actor_id is not None and action == "approve":
        req.initial_reviewer_id = actor_id
    _on_stage_done(s, req, stage, now, actor_id)
    nxt = _next_stage(s, req, proc, now)
    req.assignee_id = None
    if nxt is None:
        _close(req, proc, cal, Status.COMPLETED, now)
        write_event(s, req, actor_id, action, now, from_stage=stage.code, to_stage=None, reason=reason, data=data)
        return
    req.stage_code = nxt.code
    req.stage_hours_used = Decimal(0)
    _start_clock(s, req, proc, nxt, cal, now)
    write_event(s, req, actor_id, action, now, from_stage=stage.code, to_stage=nxt.code, reason=reason, data=data)
    _on_stage_entered(s, req, nxt, now)


def _on_stage_entered(s: Session, req: Request, stage: Stage, now: datetime) -> None:
    """A payment stage opening with nothing assessed takes its fee from the province's tariff."""
    if stage.kind is StageKind.PAYMENT and current_assessment(s, req.id) is None:
        from logic.fees import assess_from_tariff
        assess_from_tariff(s, req, now)


def _on_stage_done(s: Session, req: Request, stage: Stage, now: datetime, actor_id: int | None) -> None:
    """Effects of finishing particular stages on the member's record."""
    if stage.kind is StageKind.PAYMENT and req.type_code == "membership_renewal":
        _extend_validity(s, req, now)
    if stage.code != "head_approval":
        return
    member = s.get(Member, req.member_id, with_for_update=True)
    if req.type_code == "new_membership":
        if member.membership_no is None:
            seq = s.scalar(sa.text("SELECT nextval('membership_no_seq')"))
            member.membership_no = f"{req.province_id:02d}-{seq:07d}"
        member.status = "active"
        member.joined_on = member.joined_on or now.date()
        paid = current_assessment(s, req.id)
        if paid is not None and paid.new_valid_until is not None:
            member.valid_until = paid.new_valid_until
        member.grade = member.grade or 3
    elif req.type_code == "transfer":
        member.status = "transferred"


def _extend_validity(s: Session, req: Request, now: datetime) -> None:
    """A paid renewal moves the member's validity to the assessed new end date."""
    assessment = current_assessment(s, req.id)
    if assessment is None or assessment.new_valid_until is None:
        raise ValidationError("تاریخ پایان اعتبار جدید در مبلغ تعیین‌شده مشخص نیست.")
    member = s.get(Member, req.member_id, with_for_update=True)
    s.add(ValidityChange(member_id=member.id, old_valid_until=member.valid_until,
                         new_valid_until=assessment.new_valid_until, request_id=req.id, changed_at=now))
    member.valid_until = assessment.new_valid_until
    if member.status == "lapsed":
        member.status = "active"


def execute(engine: sa.Engine, request_id: int, body, *, now: datetime | None) -> Outcome:
    """Run `body(session, request, calendar, now)` in one transaction and report the result."""
    now = now or now_tehran()
    with session_scope(engine) as s:
        req = load_for_update(s, request_id)
        cal = calendar_for(s, req.province_id)
        message = body(s, req, cal, now)
        s.flush()
        return Outcome(req.id, req.tracking_code, req.version, req.status, req.stage_code, message)


# --- staff actions ------------------------------------------------------------------------------

def _checklist_complete(stage: Stage, checklist: Sequence[bool] | None) -> None:
    if not stage.checklist:
        return
    ticks = list(checklist or [])
    if len(ticks) != len(stage.checklist) or not all(ticks):
        raise ValidationError("برای تأیید، همهٔ موارد فهرست بررسی این مرحله باید تیک خورده باشد.")


def _no_rejected_required_documents(s: Session, req: Request) -> None:
    from db.models import Document
    rejected = s.scalar(sa.select(sa.func.count()).select_from(Document).where(
        Document.request_id == req.id, Document.required, Document.verdict == "rejected"))
    if rejected:
        raise ValidationError("یک یا چند مدرک الزامی این درخواست رد شده است؛ درخواست را برای اصلاح "
                              "به عضو بازگردانید یا رد کنید.")


def approve(engine: sa.Engine, actor: Actor, request_id: int, version: int, *,
            checklist: Sequence[bool] | None = None, refer: bool = False, note: str | None = None,
            now: datetime | None = None) -> Outcome:
    """Approve at a review, fee, finance, decision or committee stage: on to the next stage."""
    def body(s, req, cal, now):
        check_version(s, req, version)
        proc, stage = stage_of(req)
        check_can_act(actor, req, stage, "approve")
        _checklist_complete(stage, checklist)
        _no_rejected_required_documents(s, req)
        if stage.kind is StageKind.FEE and current_assessment(s, req.id) is None:
            raise ValidationError("پیش از تأیید، مبلغ قابل پرداخت را تعیین کنید.")
        if stage.kind is StageKind.FINANCE:
            _finance_mark(s, req, actor, now, "approved")
        if refer:
            req.referred = True
        reason = clean_reason(note, field="یادداشت") if note else None
        action = "committee_decision" if stage.kind is StageKind.COMMITTEE else "approve"
        _advance(s, req, proc, stage, cal, now, actor.id, action, reason=reason,
                 data={"granted": True} if stage.kind is StageKind.COMMITTEE else ({"referred": True} if refer else None))
        return "درخواست تأیید شد و به مرحلهٔ بعد رفت." if req.status == Status.OPEN else "درخواست تأیید و تکمیل شد."
    return execute(engine, request_id, body, now=now)


def _finance_mark(s: Session, req: Request, actor: Actor, now: datetime, status: str) -> None:
    assessment = current_assessment(s, req.id)
    if assessment is None:
        raise ValidationError("مبلغی برای تأیید تعیین نشده است.")
    assessment.finance_status = status
    assessment.finance_by = actor.id
    assessment.finance_at = now


def reject(engine: sa.Engine, actor: Actor, request_id: int, version: int, reason: str, *,
           now: datetime | None = None) -> Outcome:
    """Reject with a reason: the request ends."""
    reason = clean_reason(reason, field="دلیل رد")

    def body(s, req, cal, now):
        check_version(s, req, version)
        proc, stage = stage_of(req)
        check_can_act(actor, req, stage, "reject")
        if stage.kind is StageKind.FINANCE:
            _finance_mark(s, req, actor, now, "rejected")
        _stop_clock(s, req, stage, cal, now, actor.id, "reject")
        _close(req, proc, cal, Status.REJECTED, now)
        action = "committee_decision" if stage.kind is StageKind.COMMITTEE else "reject"
        write_event(s, req, actor.id, action, now, from_stage=stage.code, to_stage=None, reason=reason,
                     data={"granted": False} if stage.kind is StageKind.COMMITTEE else None)
        return "درخواست رد شد."
    return execute(engine, request_id, body, now=now)


def return_for_correction(engine: sa.Engine, actor: Actor, request_id: int, version: int, reason: str, *,
                          now: datetime | None = None) -> Outcome:
    """Return to the member with a reason: the clock stops until the member resubmits."""
    reason = clean_reason(reason, field="دلیل بازگشت")

    def body(s, req, cal, now):
        check_version(s, req, version)
        proc, stage = stage_of(req)
        check_can_act(actor, req, stage, "return")
        _stop_clock(s, req, stage, cal, now, actor.id, "return")
        req.status = Status.RETURNED
        req.assignee_id = None
        write_event(s, req, actor.id, "return", now, from_stage=stage.code, to_stage=stage.code, reason=reason)
        return "درخواست برای اصلاح به عضو بازگردانده شد."
    return execute(engine, request_id, body, now=now)


def complete(engine: sa.Engine, actor: Actor, request_id: int, version: int, *,
             now: datetime | None = None) -> Outcome:
    """Finish an issue stage (card shipped, licence printed)."""
    def body(s, req, cal, now):
        check_version(s, req, version)
        proc, stage = stage_of(req)
        check_can_act(actor, req, stage, "complete")
        _advance(s, req, proc, stage, cal, now, actor.id, "complete")
        return "صدور انجام شد."
    return execute(engine, request_id, body, now=now)


def committee_decision(engine: sa.Engine, actor: Actor, request_id: int, version: int, *, granted: bool,
                       reason: str | None = None, checklist: Sequence[bool] | None = None,
                       now: datetime | None = None) -> Outcome:
    """The committee grants (on to the next stage) or refuses (the request ends, reason required)."""
    if granted:
        return approve(engine, actor, request_id, version, checklist=checklist, note=reason, now=now)
    return reject(engine, actor, request_id, version, reason or "", now=now)


def claim(engine: sa.Engine, actor: Actor, request_id: int, version: int | None = None, *,
          now: datetime | None = None) -> Outcome:
    def body(s, req, cal, now):
        check_version(s, req, version)
        claim_in(s, req, actor, now)
        return "کار برداشته شد."
    return execute(engine, request_id, body, now=now)


def claim_in(s: Session, req: Request, actor: Actor, now: datetime) -> None:
    proc, stage = stage_of(req)
    if req.assignee_id == actor.id:
        raise InvalidTransition("این کار را پیش‌تر برداشته‌اید.")
    if req.assignee_id is not None:
        holder = s.get(StaffUser, req.assignee_id)
        raise InvalidTransition(f"این کار را {holder.full_name} برداشته است.")
    check_can_act(actor, req, stage, next(iter(STAFF_ACTIONS.get(stage.kind, {"approve"}))))
    req.assignee_id = actor.id
    write_event(s, req, actor.id, "claim", now, from_stage=stage.code, to_stage=stage.code)


def unclaim(engine: sa.Engine, actor: Actor, request_id: int, version: int | None = None, *,
            now: datetime | None = None) -> Outcome:
    def body(s, req, cal, now):
        check_version(s, req, version)
        check_scope(actor, req)
        check_open(req)
        if req.assignee_id is None:
            raise InvalidTransition("این کار در دست کسی نیست.")
        if req.assignee_id != actor.id and not actor.has(Role.MANAGER):
            raise PermissionDenied("فقط کسی که کار را برداشته یا مدیر می‌تواند آن را رها کند.")
        req.assignee_id = None
        write_event(s, req, actor.id, "unclaim", now, from_stage=req.stage_code, to_stage=req.stage_code)
        return "کار رها شد و به کارتابل گروه بازگشت."
    return execute(engine, request_id, body, now=now)


def assign(engine: sa.Engine, actor: Actor, request_ids: Sequence[int], assignee_id: int, *,
           now: datetime | None = None) -> int:
    """A manager hands one or many open requests of the province to an expert who may act on them.
    All or nothing: one unsuitable request refuses the whole assignment."""
    if not actor.has(Role.MANAGER):
        raise PermissionDenied("ارجاع کار فقط برای مدیر ممکن است.")
    if not request_ids:
        raise ValidationError("هیچ درخواستی انتخاب نشده است.")
    now = now or now_tehran()
    with session_scope(engine) as s:
        target = s.get(StaffUser, assignee_id)
        if target is None or not target.is_active:
            raise ValidationError("کارشناس انتخاب‌شده پیدا نشد یا غیرفعال است.")
        reqs = s.scalars(sa.select(Request).where(Request.id.in_(request_ids)).order_by(Request.id)
                         .with_for_update()).all()
        if len(reqs) != len(set(request_ids)):
            raise NotFound("یک یا چند درخواست پیدا نشد.")
        for req in reqs:
            check_scope(actor, req)
            check_open(req)
            _, stage = stage_of(req)
            if target.province_id is not None and target.province_id != req.province_id:
                raise ValidationError(f"{target.full_name} کارمند استان این درخواست نیست.")
            if stage.role is None or stage.role not in target.roles:
                raise ValidationError(f"{target.full_name} نقش لازم برای مرحلهٔ «{stage.name_fa}» را ندارد.")
            if stage.four_eyes and req.initial_reviewer_id == target.id:
                raise ValidationError(f"{target.full_name} بررسی اولیهٔ درخواست {req.tracking_code} را انجام داده "
                                      "است و نمی‌تواند بررسی بعدی را هم انجام دهد.")
            req.assignee_id = target.id
            write_event(s, req, actor.id, "assign", now, from_stage=stage.code, to_stage=stage.code,
                         data={"assignee_id": target.id})
        return len(reqs)


def comment(engine: sa.Engine, actor: Actor, request_id: int, text: str, *, now: datetime | None = None) -> None:
    """A note on the timeline. It changes nothing else, so it does not make open forms stale."""
    text = clean_reason(text, field="متن یادداشت")
    now = now or now_tehran()
    with session_scope(engine) as s:
        req = s.get(Request, request_id)
        if req is None:
            raise NotFound("درخواست پیدا نشد.")
        check_scope(actor, req)
        if not actor.has(*REQUEST_VIEWERS):
            raise PermissionDenied("یادداشت روی پرونده فقط برای کارکنانی است که درخواست‌ها را بررسی می‌کنند.")
        write_event(s, req, actor.id, "comment", now, from_stage=req.stage_code, to_stage=req.stage_code,
                     reason=text, bump=False)


# --- the member's side (national portal) and the payment gateway ---------------------------------

def submit(engine: sa.Engine, member_id: int, type_code: str, data: dict | None = None, *,
           submitted_at: datetime | None = None) -> Outcome:
    """A member's request arrives from the national portal. Its clock starts at the next opening."""
    proc = process(type_code)
    submitted_at = submitted_at or now_tehran()
    with session_scope(engine) as s:
        member = s.get(Member, member_id)
        if member is None:
            raise NotFound("عضو پیدا نشد.")
        open_same = s.scalar(sa.select(sa.func.count()).select_from(Request).where(
            Request.member_id == member_id, Request.type_code == type_code,
            Request.status.in_([Status.OPEN, Status.RETURNED])))
        if open_same:
            raise InvalidTransition(f"این عضو یک درخواست «{proc.name_fa}» در جریان دارد.")
        if type_code == "membership_renewal":
            from logic.fees import renewal_window_check
            setting = s.get(ProvinceSetting, member.province_id)
            renewal_window_check(member.valid_until, setting.renewal_window_days if setting else 60,
                                 to_jalali(submitted_at))
        cal = calendar_for(s, member.province_id)
        first = proc.stages[0]
        rid = s.scalar(sa.text("SELECT nextval(pg_get_serial_sequence('request', 'id'))"))
        req = Request(
            id=rid, tracking_code=f"{to_jalali(submitted_at).year % 100:02d}{member.province_id:02d}{rid:08d}",
            member_id=member_id, province_id=member.province_id, type_code=type_code, stage_code=first.code,
            status=Status.OPEN, submitted_at=submitted_at, clock_started_at=cal.next_opening(submitted_at),
            stage_entered_at=submitted_at, version=1, data=data or {},
            stage_hours_used=Decimal(0), process_hours_used=Decimal(0), referred=False,
        )
        s.add(req)
        s.flush()
        _start_clock(s, req, proc, first, cal, submitted_at)
        write_event(s, req, None, "submit", submitted_at, from_stage=None, to_stage=first.code, bump=False)
        _on_stage_entered(s, req, first, submitted_at)
        s.flush()
        return Outcome(req.id, req.tracking_code, req.version, req.status, req.stage_code, "درخواست ثبت شد.")


def resubmit(engine: sa.Engine, request_id: int, version: int | None = None, *,
             now: datetime | None = None) -> Outcome:
    """The member sends a returned request back: the stopped clock resumes where it stopped."""
    def body(s, req, cal, now):
        check_version(s, req, version)
        if req.status != Status.RETURNED:
            raise InvalidTransition("فقط درخواستی که برای اصلاح بازگشته است دوباره ارسال می‌شود.")
        proc, stage = stage_of(req)
        req.status = Status.OPEN
        _start_clock(s, req, proc, stage, cal, now)
        write_event(s, req, None, "resubmit", now, from_stage=stage.code, to_stage=stage.code)
        return "درخواست دوباره ارسال شد."
    return execute(engine, request_id, body, now=now)


def member_completed(engine: sa.Engine, request_id: int, version: int | None = None, *,
                     now: datetime | None = None) -> Outcome:
    """The member finished a records stage in the portal."""
    def body(s, req, cal, now):
        check_version(s, req, version)
        check_open(req)
        proc, stage = stage_of(req)
        if stage.kind is not StageKind.MEMBER:
            raise InvalidTransition("درخواست در مرحلهٔ تکمیل اطلاعات توسط عضو نیست.")
        _advance(s, req, proc, stage, cal, now, None, "member_completed")
        return "اطلاعات تکمیل شد."
    return execute(engine, request_id, body, now=now)


def advance_after_payment(s: Session, req: Request, cal: BusinessCalendar, now: datetime, actor_id: int | None,
                          data: dict) -> None:
    """Used by the payment service inside its own transaction: leave the payment stage."""
    proc, stage = stage_of(req)
    if req.status != Status.OPEN or stage.kind is not StageKind.PAYMENT:
        raise InvalidTransition("این درخواست در انتظار پرداخت نیست.")
    _advance(s, req, proc, stage, cal, now, actor_id, "payment_confirmed", data=data)
