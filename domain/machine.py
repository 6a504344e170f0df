"""The life of a request: its state, the actions on it, and `decide`, the one function that says
whether an action is allowed and what follows.

`decide(state, action, actor, facts, calendar, now)` checks the actor's province and role, the
stage's kind, four eyes, the checklist and the facts the rule needs, and returns a `Transition`:
the new state, the stage visit it closes and the one it opens, the event to write and the names of
the effects to run (`domain.processes`). It reads nothing and writes nothing: the services in
`logic/` load the state and the facts, call it and apply the transition in one transaction; the
demo loader replays it to build every history. A refusal is a typed error with a Persian message.
"""
from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import NamedTuple
from datetime import date
from functools import lru_cache, partial

from domain.actor import Actor
from domain.calendar import BusinessCalendar, Moment, tehran_day
from domain.clock import due, units_of_days, units_of_us
from domain.errors import InvalidTransition, PermissionDenied, ValidationError
from domain.outcomes import check_declared, granted_rank
from domain.reference import LICENCE_KINDS_FA
from domain.fees import renewal_window_check
from domain.processes import (ACTIONS_FA, CLOSED_STATUSES, STAFF_ACTIONS, STAGE_INDEX, Condition, Process, Stage,
                              StageKind, Status, done_action, process)
from domain.roles import REQUEST_VIEWERS, Role
from domain.text import clean_reason

# Action names (the event of a transition is usually the same word; `ACTIONS_FA` has the labels).
SUBMIT = "submit"
APPROVE = "approve"
REJECT = "reject"
RETURN = "return"
COMPLETE = "complete"
CLAIM = "claim"
UNCLAIM = "unclaim"
ASSIGN = "assign"
RESUBMIT = "resubmit"
MEMBER_COMPLETED = "member_completed"
PAYMENT_CONFIRMED = "payment_confirmed"
COMMENT = "comment"

DRAFT = "draft"  # the status of a request not yet submitted (never stored)

# Which facts each action's rule reads, so that a caller loads no more than the rule needs: the fee
# facts (finance setting, assessment, tariff) decide the next stage and the finance checks; the
# documents, an approval; who holds the task, a refused claim's message.
READS_FEES = frozenset({APPROVE, REJECT, COMPLETE, PAYMENT_CONFIRMED, MEMBER_COMPLETED})
READS_DOCUMENTS = frozenset({APPROVE})
READS_HOLDER = frozenset({CLAIM})

# Enum members as module names: reading an attribute of an Enum class costs several times a global
# read, and a bulk replay (the demo loader) passes these checks millions of times.
_OPEN, _RETURNED, _COMPLETED, _REJECTED = Status.OPEN, Status.RETURNED, Status.COMPLETED, Status.REJECTED
_FEE, _FINANCE, _COMMITTEE, _PAYMENT, _MEMBER = (StageKind.FEE, StageKind.FINANCE, StageKind.COMMITTEE,
                                                 StageKind.PAYMENT, StageKind.MEMBER)
_FINANCE_APPROVAL, _REFERRAL, _PAYABLE, _TOP_RANK = (Condition.FINANCE_APPROVAL, Condition.REFERRAL,
                                                     Condition.PAYABLE, Condition.TOP_RANK)


class RequestState(NamedTuple):
    """What the rules know of a request. Hours are clock units (`domain.clock`)."""

    type_code: str
    province_id: int
    stage_code: str
    status: str
    version: int
    stage_entered_at: Moment
    stage_hours_used: int = 0
    process_hours_used: int = 0
    assignee_id: int | None = None
    initial_reviewer_id: int | None = None
    referred: bool = False
    tracking_code: str = ""
    clock_started_at: Moment | None = None
    closed_at: Moment | None = None
    met_sla: bool | None = None

    @classmethod
    def draft(cls, type_code: str, province_id: int, at: Moment) -> RequestState:
        """A request about to be submitted."""
        process(type_code)  # an unknown type is refused here, not at the first stage
        return cls(type_code, province_id, "", DRAFT, 0, at)

    @property
    def clock_runs(self) -> bool:
        """Whether the SLA clocks run now (an open request at a staff stage)."""
        return self.status == _OPEN and STAGE_INDEX[(self.type_code, self.stage_code)][1].clock_runs


class Action(NamedTuple):
    """What someone does. `reason` is a rejection or return reason, an approval note or a comment;
    `assignee` is whom a manager assigns; `data` is added to the event (a payment's reference)."""

    name: str
    reason: str | None = None
    checklist: Sequence[bool] | None = None
    refer: bool = False
    assignee: Actor | None = None
    data: Mapping | None = None


class Facts(NamedTuple):
    """What a rule needs beyond the request itself, read by the caller in the same transaction."""

    finance_approval_required: bool = True   # the province's setting
    assessment_total: int | None = None      # the current fee assessment's total, if there is one
    tariff_total: int | None = None          # this year's tariff fee of the type (None: no tariff item)
    rejected_required_documents: int = 0
    assignee_name: str | None = None         # who holds the task, for the refusal message
    # at submission
    open_same_type: bool = False             # the member already has one of this type in progress
    valid_until: date | None = None          # the member's membership validity
    renewal_window_days: int = 60
    licences_held: frozenset[str] = frozenset()  # kinds of licence the member holds (expired or not)
    top_rank: bool = False                   # a rating asks for one of the two top ranks (its data)


class Event(NamedTuple):
    action: str
    from_stage: str | None
    to_stage: str | None
    reason: str | None = None
    data: Mapping | None = None
    bump: bool = True   # a transition moves the version on; a note does not


class VisitClosed(NamedTuple):
    """The open stage visit ends: by whom, with what, the units it used and whether in time
    (`met` is None for a return: the stage is paused, not finished)."""

    outcome: str
    actor_id: int | None
    hours_used: int
    met: bool | None


class VisitOpened(NamedTuple):
    """A stage visit opened (`due_at` and `limit_hours` None at a stage without a limit)."""

    stage_code: str
    entered_at: Moment
    due_at: Moment | None
    limit_hours: int | None


class Transition(NamedTuple):
    """What follows an action. `effects` run as the request leaves its stage, before the event (a
    payment stage's fee is assessed as it is chosen, just before the approval lands);
    `effects_after_event` run once the event is written (the first stage of a new request)."""

    state: RequestState
    event: Event
    closed: VisitClosed | None = None
    opened: VisitOpened | None = None
    effects: tuple[str, ...] = ()
    message: str = ""
    effects_after_event: tuple[str, ...] = ()


# Positional constructors without the generated `__new__` of a NamedTuple (a Python function):
# `_state((...))` is `RequestState(...)`, and so on. A bulk replay builds millions of each.
_state = partial(tuple.__new__, RequestState)
_event = partial(tuple.__new__, Event)
_closed = partial(tuple.__new__, VisitClosed)
_opened = partial(tuple.__new__, VisitOpened)
_transition = partial(tuple.__new__, Transition)


# --- guards -------------------------------------------------------------------------------------

def stage_of(state: RequestState) -> tuple[Process, Stage, int]:
    try:
        return STAGE_INDEX[(state.type_code, state.stage_code)]
    except KeyError:
        raise KeyError(f"{state.type_code} has no stage {state.stage_code}") from None


def check_scope(actor: Actor, state: RequestState) -> None:
    if not actor.can_see_province(state.province_id):
        raise PermissionDenied("این درخواست به استان دیگری تعلق دارد و شما اجازهٔ اقدام روی آن را ندارید.")


def check_open(state: RequestState) -> None:
    if state.status in CLOSED_STATUSES:
        raise InvalidTransition("این درخواست بسته شده است و اقدامی روی آن ممکن نیست.")


def excluded_reviewer(stage: Stage, initial_reviewer_id: int | None) -> int | None:
    """Four eyes: who may not act at this stage of a request (its initial reviewer), if anyone."""
    return initial_reviewer_id if stage.four_eyes else None


def check_can_act(actor: Actor, state: RequestState, stage: Stage, action: str | None) -> None:
    """May `actor` take `action` here (None: any staff action of the stage)?"""
    check_scope(actor, state)
    check_open(state)
    if state.status == _RETURNED:
        raise InvalidTransition("این درخواست برای اصلاح نزد عضو است؛ تا ارسال دوباره، اقدامی ممکن نیست.")
    allowed = STAFF_ACTIONS.get(stage.kind, ())
    if stage.role is None or not allowed or (action is not None and action not in allowed):
        shown = action or APPROVE
        raise InvalidTransition(f"اقدام «{ACTIONS_FA.get(shown, shown)}» در مرحلهٔ «{stage.name_fa}» مجاز نیست.")
    if stage.role not in actor.roles:
        raise PermissionDenied(f"اقدام در مرحلهٔ «{stage.name_fa}» فقط با نقش مربوط به این مرحله ممکن است.")
    if excluded_reviewer(stage, state.initial_reviewer_id) == actor.id:
        raise PermissionDenied("بررسی‌کنندهٔ این مرحله نباید همان کارشناس بررسی اولیه باشد (اصل چهار چشم).")
    if state.assignee_id is not None and state.assignee_id != actor.id:
        raise InvalidTransition("این کار را همکار دیگری برداشته است؛ فقط او یا مدیر می‌تواند آن را جابه‌جا کند.")


def may_act(actor: Actor, state: RequestState) -> bool:
    """Whether `actor` may act at the request's current stage (the screen's buttons, the loader's
    choice of actor)."""
    try:
        check_can_act(actor, state, stage_of(state)[1], None)
    except (PermissionDenied, InvalidTransition):
        return False
    return True


def _checklist_complete(stage: Stage, checklist: Sequence[bool] | None) -> None:
    if not stage.checklist:
        return
    ticks = checklist or ()
    if len(ticks) != len(stage.checklist) or not all(ticks):
        raise ValidationError("برای تأیید، همهٔ موارد فهرست بررسی این مرحله باید تیک خورده باشد.")


# --- the path -----------------------------------------------------------------------------------

def condition_met(cond: Condition, referred: bool, facts: Facts) -> bool:
    if cond is _FINANCE_APPROVAL:
        return facts.finance_approval_required
    if cond is _REFERRAL:
        return referred
    if cond is _PAYABLE:
        return facts.assessment_total is not None and facts.assessment_total > 0
    if cond is _TOP_RANK:
        return facts.top_rank
    raise AssertionError(cond)


def next_stage(proc: Process, index: int, referred: bool, facts: Facts) -> tuple[Stage | None, tuple[str, ...]]:
    """The stage after `index` that a request (`referred` onward by its reviewer, or not) enters, and
    the effects of the stages it considers.

    An optional stage whose condition does not hold is skipped. A payment stage takes its fee from
    the tariff if nothing is assessed yet (its `on_enter` effects), and is passed by when there is
    nothing to pay: a gateway payment must be more than zero, so the request would wait for ever.
    """
    effects: tuple[str, ...] = ()
    for stage in proc.after[index]:
        if stage.optional is not None and not condition_met(stage.optional, referred, facts):
            continue
        if stage.kind is _PAYMENT:
            total = facts.assessment_total
            if total is None:
                effects += stage.on_enter
                total = facts.tariff_total
            if total == 0:
                continue
            return stage, effects
        return stage, effects + stage.on_enter
    return None, effects


def path(proc: Process, facts: Facts, *, referred: bool = False) -> tuple[Stage, ...]:
    """The stages a request of `proc` passes through when every step goes forward."""
    out = [proc.stages[0]]
    index = 0
    while True:
        stage, _ = next_stage(proc, index, referred, facts)
        if stage is None:
            return tuple(out)
        out.append(stage)
        index = proc.stages.index(stage)


# --- clocks -------------------------------------------------------------------------------------

def _open_visit(proc: Process, stage: Stage, cal: BusinessCalendar, start: Moment,
                used: int) -> VisitOpened | None:
    """The visit of a stage entered (or resumed) at `start`, with `used` of its units spent."""
    if not stage.clock_runs:
        return None
    if stage.limit_days is None:  # its time is measured, but it has no deadline
        return _opened((stage.code, start, None, None))
    limit = units_of_days(stage.limit_days, cal)
    return _opened((stage.code, start, due(cal, start, limit, used), limit))


def _stop_clock(state: RequestState, stage: Stage, cal: BusinessCalendar, now: Moment, actor_id: int | None,
                outcome: str) -> tuple[VisitClosed | None, int, int]:
    """Close the running segment: the visit, and the stage's and process's units after it."""
    if not stage.clock_runs or state.status != _OPEN:
        return None, state.stage_hours_used, state.process_hours_used
    segment = units_of_us(cal.working_us_between(state.stage_entered_at, now))
    used = state.stage_hours_used + segment
    process_used = state.process_hours_used + (0 if stage.outside_total else segment)
    if outcome == RETURN:
        # A return pauses the stage: that segment is not a finished stage, so it has no verdict.
        return _closed((outcome, actor_id, segment, None)), used, process_used
    # A stage without a limit has no verdict either.
    met = None if stage.limit_days is None else used <= units_of_days(stage.limit_days, cal)
    return _closed((outcome, actor_id, used, met)), 0, process_used


def _met_sla(proc: Process, cal: BusinessCalendar, process_used: int) -> bool | None:
    """Whether the whole process kept its total (None: the seed gives it none, so it is not judged)."""
    if proc.total_limit_days is None:
        return None
    return process_used <= units_of_days(proc.total_limit_days, cal)


def _advance(state: RequestState, proc: Process, stage: Stage, index: int, cal: BusinessCalendar, now: Moment,
             actor_id: int | None, action: str, facts: Facts, message: str, done_message: str = "", *,
             reason: str | None = None, data: Mapping | None = None, referred: bool | None = None) -> Transition:
    """Leave the current stage forward: enter the next one (`message`), or complete the request
    (`done_message`, or `message` when it has none)."""
    (type_code, province_id, stage_code, _, version, entered_at, _, _, _, reviewer, was_referred, tracking,
     started_at, _, _) = state  # one unpacking instead of a dozen attribute reads
    closed, _, process_used = _stop_clock(state, stage, cal, now, actor_id, action)
    if stage.records_reviewer and actor_id is not None and action == APPROVE:
        reviewer = actor_id
    if referred is None:
        referred = was_referred
    nxt, entered = next_stage(proc, index, referred, facts)
    effects = stage.on_done + entered if entered else stage.on_done
    if nxt is None:
        new = _state((type_code, province_id, stage_code, _COMPLETED, version + 1, entered_at, 0, process_used,
                      None, reviewer, referred, tracking, started_at, now, _met_sla(proc, cal, process_used)))
        return _transition((new, _event((action, stage_code, None, reason, data, True)), closed, None, effects,
                            done_message or message, ()))
    new = _state((type_code, province_id, nxt.code, _OPEN, version + 1, now, 0, process_used, None, reviewer,
                  referred, tracking, started_at, None, None))
    return _transition((new, _event((action, stage_code, nxt.code, reason, data, True)), closed,
                        _open_visit(proc, nxt, cal, now, 0) if nxt.clock_runs else None, effects, message, ()))


def _close(state: RequestState, proc: Process, cal: BusinessCalendar, now: Moment, process_used: int,
           stage_used: int) -> RequestState:
    (type_code, province_id, stage_code, _, version, entered_at, _, _, _, reviewer, referred, tracking,
     started_at, _, _) = state
    return _state((type_code, province_id, stage_code, _REJECTED, version + 1, entered_at, stage_used, process_used,
                   None, reviewer, referred, tracking, started_at, now, _met_sla(proc, cal, process_used)))


# --- the actions --------------------------------------------------------------------------------

@lru_cache(maxsize=1024)
def _cleaned(text: str, field: str) -> str:
    """`clean_reason`, remembered for the reasons given most often (a bulk replay gives the same
    few thousands of times); a refusal is raised again each time."""
    return clean_reason(text, field=field)


@lru_cache(maxsize=4096)
def _renewal_window_check(valid_until: date, window_days: int, today: date) -> None:
    """`renewal_window_check` on the Tehran day (the same answer as on its Jalali date), remembered:
    its Jalali conversions are slow, and a bulk replay asks the same few questions many times.
    A refusal is raised again each time (an exception is not cached)."""
    renewal_window_check(valid_until, window_days, today)


# Seed 001, quoted: any service needs the overdue and yearly dues paid.
DUES_UNPAID = ("اعتبار عضویت این عضو به پایان رسیده است؛ «ارائه هر گونه خدمات مهندسی، رفاهی، تفریحی، شرکت در "
               "مجامع و انتخابات و سایر موارد منوط به پرداخت حق عضویت معوقه و سالانه می باشد.» "
               "نخست درخواست تمدید عضویت ثبت و پرداخت شود.")


def _submit(state, action, actor, facts, cal, now):
    if state.status != DRAFT:
        raise InvalidTransition("این درخواست پیش‌تر ثبت شده است.")
    proc = process(state.type_code)
    if facts.open_same_type:
        raise InvalidTransition(f"این عضو یک درخواست «{proc.name_fa}» در جریان دارد.")
    valid_until = facts.valid_until
    if valid_until is not None:
        if proc.renewal_window:
            _renewal_window_check(valid_until, facts.renewal_window_days, tehran_day(now))
        if proc.needs_paid_dues and valid_until < tehran_day(now):
            raise ValidationError(DUES_UNPAID)
    check_declared(proc.effects, action.data, state.province_id)
    if proc.renews_licence and proc.renews_licence not in facts.licences_held:
        raise ValidationError(f"برای «{proc.name_fa}» عضو باید {LICENCE_KINDS_FA[proc.renews_licence]} "
                              "ثبت‌شده‌ای داشته باشد؛ پروانه‌ای برای تمدید در پروندهٔ او نیست.")
    first = proc.stages[0]
    new = _state((state.type_code, state.province_id, first.code, _OPEN, 1, now, 0, 0, None, None, False,
                  state.tracking_code, cal.next_opening(now), None, None))
    return _transition((new, _event((SUBMIT, None, first.code, None, None, False)), None,
                        _open_visit(proc, first, cal, now, 0), (), "درخواست ثبت شد.",
                        first.on_enter if facts.assessment_total is None else ()))


def _approve(state, action, actor, facts, cal, now):
    proc, stage, index = STAGE_INDEX[(state.type_code, state.stage_code)]
    check_can_act(actor, state, stage, APPROVE)
    _checklist_complete(stage, action.checklist)
    if facts.rejected_required_documents:
        raise ValidationError("یک یا چند مدرک الزامی این درخواست رد شده است؛ درخواست را برای اصلاح "
                              "به عضو بازگردانید یا رد کنید.")
    if stage.kind is _FEE and facts.assessment_total is None:
        raise ValidationError("پیش از تأیید، مبلغ قابل پرداخت را تعیین کنید.")
    if stage.kind is _FINANCE and facts.assessment_total is None:
        raise ValidationError("مبلغی برای تأیید تعیین نشده است.")
    if action.refer and proc.referral_after(index) is None:
        raise ValidationError("از این مرحله ارجاعی به مرحلهٔ دیگری ممکن نیست.")
    granted = action.data.get("granted_rank") if action.data else None
    if granted is not None:
        if not stage.grants_by_points:
            raise ValidationError("در این مرحله رتبه‌ای بر اساس امتیاز اعطا نمی‌شود.")
        if action.refer:
            raise ValidationError("درخواست یا به کمیته ارجاع می‌شود یا رتبه بر اساس امتیاز اعطا می‌شود، نه هر دو.")
        granted = granted_rank(granted)
    note = _cleaned(action.reason, "یادداشت") if action.reason else None
    committee = stage.kind is _COMMITTEE
    data = ({"granted": True} if committee else {"referred": True} if action.refer
            else {"granted_rank": granted} if granted is not None else None)
    return _advance(state, proc, stage, index, cal, now, actor.id, done_action(stage), facts,
                    "درخواست تأیید شد و به مرحلهٔ بعد رفت.", "درخواست تأیید و تکمیل شد.", reason=note, data=data,
                    referred=True if action.refer else None)


def _reject(state, action, actor, facts, cal, now):
    reason = _cleaned(action.reason or "", "دلیل رد")
    proc, stage, _ = stage_of(state)
    check_can_act(actor, state, stage, REJECT)
    if stage.kind is _FINANCE and facts.assessment_total is None:
        raise ValidationError("مبلغی برای تأیید تعیین نشده است.")
    closed, stage_used, process_used = _stop_clock(state, stage, cal, now, actor.id, REJECT)
    committee = stage.kind is _COMMITTEE
    event = _event(("committee_decision" if committee else REJECT, stage.code, None, reason,
                    {"granted": False} if committee else None, True))
    return _transition((_close(state, proc, cal, now, process_used, stage_used), event, closed, None,
                        stage.on_reject, "درخواست رد شد.", ()))


def _return(state, action, actor, facts, cal, now):
    reason = _cleaned(action.reason or "", "دلیل بازگشت")
    _, stage, _ = stage_of(state)
    check_can_act(actor, state, stage, RETURN)
    closed, stage_used, process_used = _stop_clock(state, stage, cal, now, actor.id, RETURN)
    (type_code, province_id, stage_code, _, version, entered_at, _, _, _, reviewer, referred, tracking, started_at,
     closed_at, met) = state
    new = _state((type_code, province_id, stage_code, _RETURNED, version + 1, entered_at, stage_used, process_used,
                  None, reviewer, referred, tracking, started_at, closed_at, met))
    return _transition((new, _event((RETURN, stage.code, stage.code, reason, None, True)), closed, None, (),
                        "درخواست برای اصلاح به عضو بازگردانده شد.", ()))


def _complete(state, action, actor, facts, cal, now):
    proc, stage, index = stage_of(state)
    check_can_act(actor, state, stage, COMPLETE)
    return _advance(state, proc, stage, index, cal, now, actor.id, COMPLETE, facts, "صدور انجام شد.")


def _claim(state, action, actor, facts, cal, now):
    _, stage, _ = stage_of(state)
    if state.assignee_id == actor.id:
        raise InvalidTransition("این کار را پیش‌تر برداشته‌اید.")
    if state.assignee_id is not None:
        raise InvalidTransition(f"این کار را {facts.assignee_name or 'همکار دیگری'} برداشته است.")
    check_can_act(actor, state, stage, None)
    (type_code, province_id, stage_code, status, version, entered_at, stage_used, process_used, _, reviewer, referred,
     tracking, started_at, closed_at, met) = state
    new = _state((type_code, province_id, stage_code, status, version + 1, entered_at, stage_used, process_used,
                  actor.id, reviewer, referred, tracking, started_at, closed_at, met))
    return _transition((new, _event((CLAIM, stage.code, stage.code, None, None, True)), None, None, (),
                        "کار برداشته شد.", ()))


def _unclaim(state, action, actor, facts, cal, now):
    check_scope(actor, state)
    check_open(state)
    if state.assignee_id is None:
        raise InvalidTransition("این کار در دست کسی نیست.")
    if state.assignee_id != actor.id and not actor.has(Role.MANAGER):
        raise PermissionDenied("فقط کسی که کار را برداشته یا مدیر می‌تواند آن را رها کند.")
    new = state._replace(assignee_id=None, version=state.version + 1)
    return Transition(new, Event(UNCLAIM, state.stage_code, state.stage_code),
                      message="کار رها شد و به کارتابل گروه بازگشت.")


def _assign(state, action, actor, facts, cal, now):
    if not actor.has(Role.MANAGER):
        raise PermissionDenied("ارجاع کار فقط برای مدیر ممکن است.")
    target = action.assignee
    if target is None:
        raise ValidationError("کارشناس انتخاب‌شده پیدا نشد یا غیرفعال است.")
    check_scope(actor, state)
    check_open(state)
    _, stage, _ = stage_of(state)
    if target.province_id is not None and target.province_id != state.province_id:
        raise ValidationError(f"{target.full_name} کارمند استان این درخواست نیست.")
    if stage.role is None or stage.role not in target.roles:
        raise ValidationError(f"{target.full_name} نقش لازم برای مرحلهٔ «{stage.name_fa}» را ندارد.")
    if excluded_reviewer(stage, state.initial_reviewer_id) == target.id:
        raise ValidationError(f"{target.full_name} بررسی اولیهٔ درخواست {state.tracking_code} را انجام داده "
                              "است و نمی‌تواند بررسی بعدی را هم انجام دهد.")
    new = state._replace(assignee_id=target.id, version=state.version + 1)
    return Transition(new, Event(ASSIGN, stage.code, stage.code, data={"assignee_id": target.id}),
                      message="کار ارجاع شد.")


def _comment(state, action, actor, facts, cal, now):
    text = _cleaned(action.reason or "", "متن یادداشت")
    check_scope(actor, state)
    if not actor.has(*REQUEST_VIEWERS):
        raise PermissionDenied("یادداشت روی پرونده فقط برای کارکنانی است که درخواست‌ها را بررسی می‌کنند.")
    return Transition(state, Event(COMMENT, state.stage_code, state.stage_code, text, bump=False),
                      message="یادداشت ثبت شد.")


def _resubmit(state, action, actor, facts, cal, now):
    if state.status != _RETURNED:
        raise InvalidTransition("فقط درخواستی که برای اصلاح بازگشته است دوباره ارسال می‌شود.")
    proc, stage, _ = stage_of(state)
    (type_code, province_id, stage_code, _, version, _, stage_used, process_used, assignee, reviewer, referred,
     tracking, started_at, closed_at, met) = state
    new = _state((type_code, province_id, stage_code, _OPEN, version + 1, now, stage_used, process_used, assignee,
                  reviewer, referred, tracking, started_at, closed_at, met))
    return _transition((new, _event((RESUBMIT, stage.code, stage.code, None, None, True)), None,
                        _open_visit(proc, stage, cal, now, stage_used), (), "درخواست دوباره ارسال شد.", ()))


def _member_completed(state, action, actor, facts, cal, now):
    check_open(state)
    proc, stage, index = stage_of(state)
    if stage.kind is not _MEMBER:
        raise InvalidTransition("درخواست در مرحلهٔ تکمیل اطلاعات توسط عضو نیست.")
    return _advance(state, proc, stage, index, cal, now, None, MEMBER_COMPLETED, facts, "اطلاعات تکمیل شد.")


def _payment_confirmed(state, action, actor, facts, cal, now):
    proc, stage, index = stage_of(state)
    if state.status != _OPEN or stage.kind is not _PAYMENT:
        raise InvalidTransition("این درخواست در انتظار پرداخت نیست.")
    return _advance(state, proc, stage, index, cal, now, actor.id if actor else None, PAYMENT_CONFIRMED, facts,
                    "پرداخت ثبت شد.", data=action.data)


_RULES: dict[str, Callable[..., Transition]] = {
    SUBMIT: _submit, APPROVE: _approve, REJECT: _reject, RETURN: _return, COMPLETE: _complete,
    CLAIM: _claim, UNCLAIM: _unclaim, ASSIGN: _assign, COMMENT: _comment, RESUBMIT: _resubmit,
    MEMBER_COMPLETED: _member_completed, PAYMENT_CONFIRMED: _payment_confirmed,
}
# Actions only a staff member takes (the others come from the member, the portal or the gateway).
STAFF_ONLY = frozenset({APPROVE, REJECT, RETURN, COMPLETE, CLAIM, UNCLAIM, ASSIGN, COMMENT})


def decide(state: RequestState, action: Action, actor: Actor | None, facts: Facts, calendar: BusinessCalendar,
           now: Moment) -> Transition:
    """Whether `actor` may take `action` on a request in `state` at `now`, and what follows.

    Raises `PermissionDenied`, `InvalidTransition` or `ValidationError` with the Persian message a
    screen shows; returns the `Transition` otherwise. `actor` is None for what the member, the
    portal or the payment gateway does.
    """
    rule = _RULES.get(action.name)
    if rule is None:
        raise InvalidTransition(f"اقدام «{action.name}» شناخته‌شده نیست.")
    if actor is None and action.name in STAFF_ONLY:
        raise PermissionDenied("این اقدام فقط برای کارکنان سازمان است.")
    return rule(state, action, actor, facts, calendar, now)
