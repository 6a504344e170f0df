"""Request transitions: one function per user action.

Each loads the request under `FOR UPDATE` with the facts the rules need, refuses a stale form,
asks `domain.machine.decide`, and applies the transition it returns: the request row and its
deadlines, the stage visit closed and the one opened, the one event, then the named effects
(`logic.effects`), all in one transaction. No rule lives here: who may act, what comes next and
what a step does to the clocks are the domain's.
"""
from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from db.engine import session_scope
from db.models import Document, Member, ProvinceSetting, Request, StaffUser, StageVisit, WorkLicence
from domain.actor import Actor
from domain.calendar import BusinessCalendar
from domain.clock import deadlines, hours_to_units, units_to_hours
from domain.errors import NotFound, PermissionDenied, ValidationError
from domain.identifiers import tracking_code
from domain.jalali import now_tehran, to_jalali
from domain.machine import (APPROVE, ASSIGN, CLAIM, COMMENT, COMPLETE, MEMBER_COMPLETED,
                            READS_DOCUMENTS, READS_FEES, READS_HOLDER, REJECT, RESUBMIT, RETURN, SUBMIT, UNCLAIM,
                            Action, Facts, RequestState, Transition, decide, stage_of)
from domain.outcomes import asks_top_rank
from domain.processes import Condition, Status, process
from domain.roles import Role
from domain.text import clean_reason
from logic import effects
from logic.assessments import current_assessment, finance_approval_required, tariff_of_year
from logic.calendar import calendar_for
from logic.events import Outcome, check_version, load_for_update, outcome, write_event

# --- the request as the rules see it ------------------------------------------------------------

def state_of(req: Request) -> RequestState:
    return RequestState(
        req.type_code, req.province_id, req.stage_code, req.status, req.version, req.stage_entered_at,
        hours_to_units(req.stage_hours_used or 0), hours_to_units(req.process_hours_used or 0), req.assignee_id,
        req.initial_reviewer_id, bool(req.referred), req.tracking_code, req.clock_started_at, req.closed_at,
        req.met_sla)


def facts_for(s: Session, req: Request, now: datetime, action: str) -> Facts:
    """What the rule of `action` may ask about a request beyond its own row (and its process can
    use)."""
    finance, total, tariff_total, rejected, holder, top_rank = True, None, None, 0, None, False
    if action in READS_FEES:  # the actions that choose the next stage
        proc = process(req.type_code)
        if Condition.FINANCE_APPROVAL in proc.conditions:
            finance = finance_approval_required(s, req.province_id)
        if Condition.TOP_RANK in proc.conditions:
            top_rank = asks_top_rank(req.data)
        assessment = current_assessment(s, req.id) if proc.takes_fees else None
        if assessment is not None:
            total = assessment.total
        else:
            tariff = tariff_of_year(s, req, now)
            tariff_total = tariff[1].total if tariff is not None else None
    if action in READS_DOCUMENTS:
        rejected = s.scalar(sa.select(sa.func.count()).select_from(Document).where(
            Document.request_id == req.id, Document.required, Document.verdict == "rejected"))
    if action in READS_HOLDER and req.assignee_id is not None:
        holder = s.scalar(sa.select(StaffUser.full_name).where(StaffUser.id == req.assignee_id))
    return Facts(finance, total, tariff_total, rejected, holder, top_rank=top_rank)


# --- applying a transition ----------------------------------------------------------------------

def _set_deadlines(req: Request, state: RequestState, cal: BusinessCalendar) -> None:
    if not state.clock_runs:
        req.stage_due_at = req.stage_risk_at = req.due_at = req.risk_at = None
        return
    proc, stage, _ = stage_of(state)
    d = deadlines(cal, proc, stage, state.stage_entered_at, state.stage_hours_used, state.process_hours_used)
    req.stage_due_at, req.stage_risk_at, req.due_at, req.risk_at = d.stage_due_at, d.stage_risk_at, d.due_at, d.risk_at


def _open_visit(s: Session, req: Request) -> StageVisit | None:
    return s.scalar(sa.select(StageVisit).where(StageVisit.request_id == req.id, StageVisit.left_at.is_(None)))


def apply(s: Session, req: Request, t: Transition, actor: Actor | None, cal: BusinessCalendar,
          now: datetime) -> None:
    """Write a transition: the effects of leaving the stage, the row, the visits, the event, then the
    effects that follow the event."""
    effects.run(s, req, t.effects, actor, now)
    # The open visit is read before the row changes, so that one flush writes the row once.
    visit = _open_visit(s, req) if t.closed is not None else None
    st = t.state
    req.stage_code, req.status, req.version = st.stage_code, st.status, st.version
    req.stage_entered_at = st.stage_entered_at
    req.stage_hours_used = units_to_hours(st.stage_hours_used)
    req.process_hours_used = units_to_hours(st.process_hours_used)
    req.assignee_id, req.initial_reviewer_id, req.referred = st.assignee_id, st.initial_reviewer_id, st.referred
    req.closed_at, req.met_sla = st.closed_at, st.met_sla
    _set_deadlines(req, st, cal)
    if t.closed is not None:
        if visit is not None:
            visit.left_at, visit.actor_id, visit.outcome = now, t.closed.actor_id, t.closed.outcome
            visit.hours_used, visit.met = units_to_hours(t.closed.hours_used), t.closed.met
    if t.opened is not None:
        s.add(StageVisit(request_id=req.id, province_id=req.province_id, type_code=req.type_code,
                         stage_code=t.opened.stage_code, entered_at=t.opened.entered_at, due_at=t.opened.due_at,
                         limit_hours=None if t.opened.limit_hours is None else units_to_hours(t.opened.limit_hours)))
    e = t.event
    write_event(s, req, actor.id if actor else None, e.action, now, from_stage=e.from_stage, to_stage=e.to_stage,
                reason=e.reason, data=dict(e.data) if e.data else None, bump=False)
    effects.run(s, req, t.effects_after_event, actor, now)


def transition(s: Session, req: Request, action: Action, actor: Actor | None, now: datetime) -> Transition:
    """Decide and apply one action on a request loaded for update, inside the caller's transaction."""
    cal = calendar_for(s, req.province_id)
    t = decide(state_of(req), action, actor, facts_for(s, req, now, action.name), cal, now)
    apply(s, req, t, actor, cal, now)
    return t


def execute(engine: sa.Engine, request_id: int, body, *, now: datetime | None) -> Outcome:
    """Run `body(session, request, now)` on the request loaded for update, in one transaction; its
    return value is the result's message."""
    now = now or now_tehran()
    with session_scope(engine) as s:
        req = load_for_update(s, request_id)
        message = body(s, req, now)
        s.flush()
        return outcome(req, message)


def _act(engine: sa.Engine, actor: Actor | None, request_id: int, version: int | None, action: Action, *,
         now: datetime | None) -> Outcome:
    def body(s: Session, req: Request, now: datetime) -> str:
        check_version(s, req, version)
        return transition(s, req, action, actor, now).message
    return execute(engine, request_id, body, now=now)


# --- staff actions ------------------------------------------------------------------------------

def approve(engine: sa.Engine, actor: Actor, request_id: int, version: int, *,
            checklist: Sequence[bool] | None = None, refer: bool = False, note: str | None = None,
            granted_rank: int | None = None, now: datetime | None = None) -> Outcome:
    """Approve at a review, fee, finance, decision or committee stage: on to the next stage (at the
    central review of a rating, optionally granting a rank by the points earned)."""
    action = Action(APPROVE, note, tuple(checklist) if checklist is not None else None, refer,
                    data={"granted_rank": granted_rank} if granted_rank is not None else None)
    return _act(engine, actor, request_id, version, action, now=now)


def reject(engine: sa.Engine, actor: Actor, request_id: int, version: int, reason: str, *,
           now: datetime | None = None) -> Outcome:
    """Reject with a reason: the request ends."""
    reason = clean_reason(reason, field="دلیل رد")
    return _act(engine, actor, request_id, version, Action(REJECT, reason), now=now)


def return_for_correction(engine: sa.Engine, actor: Actor, request_id: int, version: int, reason: str, *,
                          now: datetime | None = None) -> Outcome:
    """Return to the member with a reason: the clock stops until the member resubmits."""
    reason = clean_reason(reason, field="دلیل بازگشت")
    return _act(engine, actor, request_id, version, Action(RETURN, reason), now=now)


def complete(engine: sa.Engine, actor: Actor, request_id: int, version: int, *,
             now: datetime | None = None) -> Outcome:
    """Finish an issue stage (card shipped, licence printed)."""
    return _act(engine, actor, request_id, version, Action(COMPLETE), now=now)


def committee_decision(engine: sa.Engine, actor: Actor, request_id: int, version: int, *, granted: bool,
                       reason: str | None = None, checklist: Sequence[bool] | None = None,
                       now: datetime | None = None) -> Outcome:
    """The committee grants (on to the next stage) or refuses (the request ends, reason required)."""
    if granted:
        return approve(engine, actor, request_id, version, checklist=checklist, note=reason, now=now)
    return reject(engine, actor, request_id, version, reason or "", now=now)


def claim(engine: sa.Engine, actor: Actor, request_id: int, version: int | None = None, *,
          now: datetime | None = None) -> Outcome:
    return _act(engine, actor, request_id, version, Action(CLAIM), now=now)


def claim_in(s: Session, req: Request, actor: Actor, now: datetime) -> Transition:
    """Claim a request already locked by the caller (the queue's 'next task')."""
    return transition(s, req, Action(CLAIM), actor, now)


def unclaim(engine: sa.Engine, actor: Actor, request_id: int, version: int | None = None, *,
            now: datetime | None = None) -> Outcome:
    return _act(engine, actor, request_id, version, Action(UNCLAIM), now=now)


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
        target_actor = Actor(target.id, target.username, target.full_name, frozenset(target.roles),
                             target.province_id)
        reqs = s.scalars(sa.select(Request).where(Request.id.in_(request_ids)).order_by(Request.id)
                         .with_for_update()).all()
        if len(reqs) != len(set(request_ids)):
            raise NotFound("یک یا چند درخواست پیدا نشد.")
        for req in reqs:
            transition(s, req, Action(ASSIGN, assignee=target_actor), actor, now)
        return len(reqs)


def comment(engine: sa.Engine, actor: Actor, request_id: int, text: str, *, now: datetime | None = None) -> None:
    """A note on the timeline. It changes nothing else, so it does not make open forms stale."""
    text = clean_reason(text, field="متن یادداشت")
    now = now or now_tehran()
    with session_scope(engine) as s:
        req = s.get(Request, request_id)
        if req is None:
            raise NotFound("درخواست پیدا نشد.")
        transition(s, req, Action(COMMENT, text), actor, now)


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
        setting = s.get(ProvinceSetting, member.province_id)
        held = frozenset(s.scalars(sa.select(WorkLicence.kind).where(WorkLicence.member_id == member_id)
                                   .distinct())) if proc.renews_licence else frozenset()
        facts = Facts(finance_approval_required(s, member.province_id), open_same_type=bool(open_same),
                      valid_until=member.valid_until,
                      renewal_window_days=setting.renewal_window_days if setting else 60, licences_held=held)
        cal = calendar_for(s, member.province_id)
        t = decide(RequestState.draft(proc.code, member.province_id, submitted_at), Action(SUBMIT, data=data or {}),
                   None, facts, cal, submitted_at)
        rid = s.scalar(sa.text("SELECT nextval(pg_get_serial_sequence('request', 'id'))"))
        st = t.state
        req = Request(
            id=rid, tracking_code=tracking_code(to_jalali(submitted_at).year, member.province_id, rid),
            member_id=member_id,
            province_id=member.province_id, type_code=type_code, stage_code=st.stage_code, status=st.status,
            submitted_at=submitted_at, clock_started_at=st.clock_started_at, stage_entered_at=st.stage_entered_at,
            version=st.version, data=data or {}, stage_hours_used=units_to_hours(0),
            process_hours_used=units_to_hours(0), referred=False,
        )
        s.add(req)
        s.flush()
        apply(s, req, t, None, cal, submitted_at)
        s.flush()
        return outcome(req, t.message)


def resubmit(engine: sa.Engine, request_id: int, version: int | None = None, *,
             now: datetime | None = None) -> Outcome:
    """The member sends a returned request back: the stopped clock resumes where it stopped."""
    return _act(engine, None, request_id, version, Action(RESUBMIT), now=now)


def member_completed(engine: sa.Engine, request_id: int, version: int | None = None, *,
                     now: datetime | None = None) -> Outcome:
    """The member finished a records stage in the portal."""
    return _act(engine, None, request_id, version, Action(MEMBER_COMPLETED), now=now)


# --- deadlines after a calendar change ------------------------------------------------------------

def recompute_due_times(s: Session, req: Request, cal: BusinessCalendar) -> bool:
    """Recompute the stored due times of an open, running request from its clock fields."""
    state = state_of(req)
    if not state.clock_runs or (req.stage_due_at is None and req.due_at is None):
        return False  # nothing is due: the clock is stopped, or neither the stage nor the process has a limit
    before = (req.stage_due_at, req.due_at)
    _set_deadlines(req, state, cal)
    visit = _open_visit(s, req)
    if visit is not None:
        visit.due_at = req.stage_due_at
    return before != (req.stage_due_at, req.due_at)

