"""The state machine, by plain function calls: every request type's path, who may act at every stage,
four eyes, claims and assignment, returns and resubmission, and the SLA clocks at each step."""
from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime, timedelta

import pytest

from domain import outcomes as o
from domain import processes as p
from domain.actor import Actor
from domain.calendar import TEHRAN, BusinessCalendar
from domain.clock import HOUR_UNITS, deadlines, units_of_days
from domain.errors import InvalidTransition, PermissionDenied, ValidationError
from domain.machine import (APPROVE, ASSIGN, CLAIM, COMMENT, COMPLETE, MEMBER_COMPLETED, PAYMENT_CONFIRMED, REJECT,
                            RESUBMIT, RETURN, SUBMIT, UNCLAIM, Action, Facts, RequestState, Transition, decide,
                            may_act, path, stage_of)
from domain.outcomes import example_data
from domain.processes import INITIAL_REVIEW, PROCESSES, STAFF_ACTIONS, StageKind, Status
from domain.reference import ISFAHAN_ID, TEHRAN_ID
from domain.roles import Role

CAL = BusinessCalendar()  # the default office week and hours, no holidays
SAT_0800 = datetime(2026, 11, 21, 8, 0, tzinfo=TEHRAN)  # a Saturday
FACTS = Facts(finance_approval_required=True, tariff_total=1_500_000, licences_held=frozenset({"work", "article32"}))
PAID = Facts(finance_approval_required=True, assessment_total=1_500_000)


def staff(uid: int, *roles: str, province: int | None = TEHRAN_ID, name: str | None = None) -> Actor:
    return Actor(uid, f"user{uid}", name or f"کارمند {uid}", frozenset(roles), province)


EXPERT = staff(1, Role.EXPERT, name="کارشناس یکم")
EXPERT2 = staff(2, Role.EXPERT, Role.FINAL_REVIEWER, name="کارشناس دوم")
FINAL = staff(3, Role.FINAL_REVIEWER)
HEAD = staff(4, Role.HEAD)
FINANCE = staff(5, Role.FINANCE)
COMMITTEE = staff(6, Role.COMMITTEE)
RATING_COMMITTEE = staff(10, Role.RATING_COMMITTEE)
MANAGER = staff(7, Role.MANAGER)
CENTRAL = staff(8, Role.CENTRAL_EXPERT, province=None)
ISFAHAN = staff(9, *[r.value for r in Role], province=ISFAHAN_ID)
BY_ROLE = {Role.EXPERT: [EXPERT], Role.FINAL_REVIEWER: [FINAL, EXPERT2], Role.HEAD: [HEAD], Role.FINANCE: [FINANCE],
           Role.COMMITTEE: [COMMITTEE], Role.RATING_COMMITTEE: [RATING_COMMITTEE], Role.CENTRAL_EXPERT: [CENTRAL]}
ONE_ROLE_EACH = {role: staff(100 + i, role) for i, role in enumerate(Role)}


def submit(type_code: str, at: datetime = SAT_0800, facts: Facts = FACTS) -> Transition:
    declared = example_data(type_code, TEHRAN_ID, 1)
    return decide(RequestState.draft(type_code, TEHRAN_ID, at), Action(SUBMIT, data=declared), None, facts, CAL, at)


def actor_for(state: RequestState) -> Actor:
    _, stage, _ = stage_of(state)
    for actor in BY_ROLE[stage.role]:
        if may_act(actor, state._replace(assignee_id=None)):
            return actor
    raise AssertionError("no eligible actor")


def ticks(stage) -> tuple[bool, ...]:
    return (True,) * len(stage.checklist)


def forward(state: RequestState, now: datetime, *, refer: bool = False, facts: Facts = PAID) -> Transition:
    """Take the forward step at whatever stage the request is in."""
    _, stage, _ = stage_of(state)
    if stage.kind is StageKind.MEMBER:
        return decide(state, Action(MEMBER_COMPLETED), None, facts, CAL, now)
    if stage.kind is StageKind.PAYMENT:
        return decide(state, Action(PAYMENT_CONFIRMED, data={"bank_reference": "REF1"}), None, facts, CAL, now)
    action = COMPLETE if stage.kind is StageKind.ISSUE else APPROVE
    return decide(state, Action(action, checklist=ticks(stage), refer=refer), actor_for(state), facts, CAL, now)


def walk_to(type_code: str, stage_code: str, *, refer: bool = False) -> tuple[RequestState, datetime]:
    state, now = submit(type_code).state, SAT_0800
    facts = PAID._replace(top_rank=stage_code == "central_review")  # only a top rank goes there
    while state.stage_code != stage_code:
        now += timedelta(minutes=30)
        state = forward(state, now, refer=refer and state.stage_code == "supervisory_review", facts=facts).state
        assert state.status == Status.OPEN
    return state, now


# --- every type's path --------------------------------------------------------------------------

@pytest.mark.parametrize("type_code", list(PROCESSES))
def test_every_request_type_runs_its_full_path(type_code):
    proc = PROCESSES[type_code]
    t = submit(type_code)
    assert (t.state.version, t.event.action, t.event.to_stage, t.event.bump) == (1, "submit", proc.stages[0].code,
                                                                               False)
    state, now, visited, transitions = t.state, SAT_0800, [t.state.stage_code], [t]
    while state.status == Status.OPEN:
        now += timedelta(hours=2)
        t = forward(state, now)
        assert t.state.version == state.version + 1 and t.event.bump
        assert t.event.from_stage == state.stage_code
        transitions.append(t)
        state = t.state
        if state.status == Status.OPEN:
            visited.append(state.stage_code)
            assert t.event.to_stage == state.stage_code and state.stage_entered_at == now
    # Finance approval is required, every fee is payable, nobody referred the rating onward, and it asks
    # for no top rank.
    assert visited == [s.code for s in proc.stages if s.code not in ("specialised_committee", "central_review")]
    assert state.status == Status.COMPLETED and t.event.to_stage is None and state.closed_at == now
    opened = [x.opened for x in transitions if x.opened is not None]
    closed = [x.closed for x in transitions if x.closed is not None]
    assert [v.stage_code for v in opened] == [s for s in visited if proc.stage(s).clock_runs]
    # Two office hours a stage: in time, even for «کمتر از ۱ روز» (half a day); no verdict without a limit.
    assert len(closed) == len(opened)
    assert [v.met for v in closed] == [None if proc.stage(o.stage_code).limit_days is None else True for o in opened]
    assert state.process_hours_used == sum(v.hours_used for v in closed)
    assert state.met_sla is (None if proc.total_limit_days is None else True) and state.assignee_id is None
    effects = [e for x in transitions for e in x.effects + x.effects_after_event]
    # What the completed request leaves on the member's record, in the order it happens.
    outcomes = [e for e in effects if e not in (p.ASSESS_FROM_TARIFF, p.APPROVE_ASSESSMENT)]
    assert outcomes == OUTCOMES[type_code]


OUTCOMES = {
    "new_membership": [p.GRANT_MEMBERSHIP_NO, p.ACTIVATE_MEMBER, p.ISSUE_CARD],
    "legacy_registration": [p.REGISTER_OLD_MEMBERSHIP],
    "membership_renewal": [p.EXTEND_VALIDITY],
    "transfer": [p.MOVE_PROVINCE],
    "card_reissue": [p.ISSUE_CARD],
    "rating": [p.RECORD_RANK],
    "rating_registration": [p.RECORD_RANK],
    "rating_correction": [p.RECORD_RANK],
    "licence_issue": [p.ISSUE_WORK_LICENCE],
    "licence_renewal": [p.RENEW_WORK_LICENCE],
    "article32_renewal": [p.RENEW_ARTICLE32_LICENCE],
}


def test_every_request_type_names_what_it_leaves_on_the_record():
    assert set(OUTCOMES) == set(p.PROCESSES)


def test_the_initial_reviewer_is_who_approved_the_initial_review():
    state, now = walk_to("new_membership", INITIAL_REVIEW)
    t = decide(state, Action(APPROVE, checklist=(True,) * 4), EXPERT2, PAID, CAL, now)
    assert t.state.initial_reviewer_id == EXPERT2.id
    t2 = forward(t.state, now + timedelta(hours=1))
    assert t2.state.initial_reviewer_id == EXPERT2.id


def test_after_hours_submission_starts_the_clock_at_the_next_opening():
    wed_evening = datetime(2026, 11, 25, 16, 0, tzinfo=TEHRAN)  # Wednesday after closing
    t = submit("transfer", wed_evening)
    assert t.state.clock_started_at == datetime(2026, 11, 28, 7, 30, tzinfo=TEHRAN)  # Saturday
    # «کمتر از ۱ روز»: half of the 7-hour office day.
    assert t.opened.due_at == datetime(2026, 11, 28, 11, 0, tzinfo=TEHRAN)
    d = deadlines(CAL, PROCESSES["transfer"], stage_of(t.state)[1], t.state.stage_entered_at, 0, 0)
    assert d.stage_due_at == t.opened.due_at


def test_a_payment_first_type_is_assessed_after_its_submission():
    t = submit("card_reissue")
    assert t.effects == () and t.effects_after_event == (p.ASSESS_FROM_TARIFF,)
    assert t.opened is None  # the member's payment stops the clock


# --- paths and conditions -----------------------------------------------------------------------

def codes(stages) -> list[str]:
    return [s.code for s in stages]


def test_finance_approval_is_a_province_setting():
    proc = PROCESSES["membership_renewal"]
    assert codes(path(proc, PAID)) == ["fee_determination", "finance_approval", "payment"]
    assert codes(path(proc, PAID._replace(finance_approval_required=False))) == ["fee_determination", "payment"]


def test_a_referred_rating_goes_through_the_specialised_committee():
    proc = PROCESSES["rating"]
    assert "specialised_committee" not in codes(path(proc, PAID))
    assert "specialised_committee" in codes(path(proc, PAID, referred=True))
    state, now = walk_to("rating", "specialised_committee", refer=True)
    assert state.referred
    t = forward(state, now + timedelta(hours=1))
    assert t.event.action == "committee_decision" and t.event.data == {"granted": True}


TOP = PAID._replace(top_rank=True)


def test_the_two_top_ranks_go_through_the_central_organisation_which_may_refer_to_the_committee():
    proc = PROCESSES["rating"]
    assert "central_review" not in codes(path(proc, PAID))
    assert codes(path(proc, TOP))[-2:] == ["central_review", "final_review"]
    state, now = walk_to("rating", "central_review")
    assert stage_of(state)[1].role == Role.CENTRAL_EXPERT and not may_act(FINAL, state)
    # Seed 002, note 2: a request that does not meet the top ranks' conditions goes to the province's committee.
    t = decide(state, Action(APPROVE, checklist=(True,), refer=True), CENTRAL, TOP, CAL, now + timedelta(hours=3))
    assert t.state.stage_code == "specialised_committee" and t.event.data == {"referred": True}
    t = decide(state, Action(APPROVE, checklist=(True,)), CENTRAL, TOP, CAL, now + timedelta(hours=3))
    assert t.state.stage_code == "final_review"


def test_the_central_review_does_not_count_toward_the_provinces_fourteen_days():
    state, now = walk_to("rating", "central_review")
    opened = state.process_hours_used
    assert deadlines(CAL, PROCESSES["rating"], stage_of(state)[1], now, 0, opened).due_at is None  # the total waits
    weeks_later = now + timedelta(days=30)
    t = decide(state, Action(APPROVE, checklist=(True,)), CENTRAL, TOP, CAL, weeks_later)
    assert t.closed.met is None and t.closed.hours_used > 0          # measured, no limit, no verdict
    assert t.state.process_hours_used == opened                       # and not the province's time
    assert t.opened.due_at is not None


def test_an_approval_may_refer_only_where_a_referral_stage_follows():
    state, now = walk_to("rating", "final_review")
    with pytest.raises(ValidationError, match="ارجاع"):
        decide(state, Action(APPROVE, checklist=(True,), refer=True), FINAL, PAID, CAL, now)
    assert PROCESSES["rating"].referral_after(0).code == "specialised_committee"
    assert PROCESSES["transfer"].referral_after(0) is None


def test_the_referral_is_recorded_on_the_approval_event():
    state, now = walk_to("rating", "supervisory_review")
    t = decide(state, Action(APPROVE, checklist=(True,), refer=True), FINAL, PAID, CAL, now)
    assert t.event.data == {"referred": True} and t.state.stage_code == "specialised_committee"


def test_a_licence_renewal_with_every_year_free_skips_the_payment():
    proc = PROCESSES["licence_renewal"]
    assert "payment" in codes(path(proc, PAID))
    assert "payment" not in codes(path(proc, Facts(assessment_total=0)))


def test_a_zero_fee_payment_stage_is_passed_by_and_still_assessed():
    state, now = walk_to("new_membership", "final_review")
    t = decide(state, Action(APPROVE, checklist=(True, True)), FINAL, Facts(tariff_total=0), CAL, now)
    assert t.state.stage_code == "head_approval" and t.effects == (p.ASSESS_FROM_TARIFF,)
    # Without a tariff item the payment stage waits for a fee to be set; it is not passed by.
    t = decide(state, Action(APPROVE, checklist=(True, True)), FINAL, Facts(tariff_total=None), CAL, now)
    assert t.state.stage_code == "payment"


def test_the_fee_is_assessed_as_the_payment_stage_is_chosen():
    state, now = walk_to("new_membership", "final_review")
    t = decide(state, Action(APPROVE, checklist=(True, True)), FINAL, FACTS, CAL, now)
    assert t.state.stage_code == "payment" and t.effects == (p.ASSESS_FROM_TARIFF,)
    t = decide(state, Action(APPROVE, checklist=(True, True)), FINAL, PAID, CAL, now)
    assert t.effects == ()  # already assessed


@pytest.mark.parametrize("type_code", list(PROCESSES))
def test_every_path_starts_at_the_first_stage_and_keeps_the_order(type_code):
    proc = PROCESSES[type_code]
    for facts in (PAID, Facts(assessment_total=0), Facts(finance_approval_required=False, tariff_total=0)):
        for referred in (False, True):
            stages = path(proc, facts, referred=referred)
            assert stages[0] == proc.stages[0]
            order = [proc.index(s.code) for s in stages]
            assert order == sorted(order)
            # Only optional stages and payments with nothing to pay are ever left out.
            for s in proc.stages:
                if s not in stages:
                    assert s.optional is not None or s.kind is StageKind.PAYMENT


# --- who may act --------------------------------------------------------------------------------

ROLE_STAGES = [(proc.code, s) for proc in PROCESSES.values() for s in proc.stages if s.role is not None]
STAFF_STEPS = (APPROVE, REJECT, RETURN, COMPLETE)


@pytest.mark.parametrize("role", list(Role))
@pytest.mark.parametrize("type_code,stage", ROLE_STAGES, ids=[f"{t}-{s.code}" for t, s in ROLE_STAGES])
def test_only_the_stage_role_may_take_the_stage_actions(type_code, stage, role):
    state, now = walk_to(type_code, stage.code, refer=stage.code == "specialised_committee")
    actor = ONE_ROLE_EACH[role]
    if role == Role.CENTRAL_EXPERT:
        actor = replace(actor, province_id=None)
    for name in STAFF_STEPS:
        action = Action(name, reason="دلیل آزمون", checklist=ticks(stage))
        if name not in STAFF_ACTIONS[stage.kind]:
            with pytest.raises(InvalidTransition):
                decide(state, action, actor, PAID, CAL, now)
        elif role != stage.role:
            with pytest.raises(PermissionDenied):
                decide(state, action, actor, PAID, CAL, now)
        else:
            t = decide(state, action, actor, PAID, CAL, now)
            assert t.state.version == state.version + 1


@pytest.mark.parametrize("type_code,stage", ROLE_STAGES, ids=[f"{t}-{s.code}" for t, s in ROLE_STAGES])
def test_another_provinces_staff_may_not_act_even_with_the_role(type_code, stage):
    state, now = walk_to(type_code, stage.code, refer=stage.code == "specialised_committee")
    name = COMPLETE if stage.kind is StageKind.ISSUE else APPROVE
    with pytest.raises(PermissionDenied, match="استان"):
        decide(state, Action(name, checklist=ticks(stage)), ISFAHAN, PAID, CAL, now)
    t = decide(state, Action(name, checklist=ticks(stage)), actor_for(state), PAID, CAL, now)
    assert t.state.version == state.version + 1


@pytest.mark.parametrize("type_code", list(PROCESSES))
def test_nobody_acts_for_the_member_or_on_a_closed_request(type_code):
    proc = PROCESSES[type_code]
    for stage in proc.stages:
        if stage.role is not None:
            continue
        state = submit(type_code).state._replace(stage_code=stage.code)
        for actor in ONE_ROLE_EACH.values():
            assert not may_act(actor, state)
            with pytest.raises(InvalidTransition):
                decide(state, Action(APPROVE), actor, PAID, CAL, SAT_0800)
    closed = submit(type_code).state._replace(status=Status.COMPLETED)
    for actor in ONE_ROLE_EACH.values():
        with pytest.raises(InvalidTransition, match="بسته"):
            decide(closed, Action(APPROVE), actor, PAID, CAL, SAT_0800)


def test_staff_actions_need_a_staff_member():
    state = submit("transfer").state
    for name in (APPROVE, REJECT, RETURN, COMPLETE, CLAIM, UNCLAIM, ASSIGN, COMMENT):
        with pytest.raises(PermissionDenied):
            decide(state, Action(name, reason="x"), None, PAID, CAL, SAT_0800)
    with pytest.raises(InvalidTransition):
        decide(state, Action("publish"), EXPERT, PAID, CAL, SAT_0800)


FOUR_EYES = [(proc.code, s.code) for proc in PROCESSES.values() for s in proc.stages if s.four_eyes]


@pytest.mark.parametrize("type_code,stage_code", FOUR_EYES)
def test_four_eyes_at_every_later_review_stage(type_code, stage_code):
    """The person who did the initial review cannot do the final or supervisory review."""
    state, now = walk_to(type_code, INITIAL_REVIEW)
    initial = PROCESSES[type_code].stage(INITIAL_REVIEW)
    # EXPERT2 holds both roles, so only the four-eyes rule can stop them.
    state = decide(state, Action(APPROVE, checklist=ticks(initial)), EXPERT2, PAID, CAL, now).state
    while state.stage_code != stage_code:
        now += timedelta(minutes=30)
        state = forward(state, now).state
    target = PROCESSES[type_code].stage(stage_code)
    if target.role == Role.FINAL_REVIEWER:
        with pytest.raises(PermissionDenied, match="چهار چشم"):
            decide(state, Action(APPROVE, checklist=ticks(target)), EXPERT2, PAID, CAL, now)
        with pytest.raises(ValidationError):
            decide(state, Action(ASSIGN, assignee=EXPERT2), MANAGER, PAID, CAL, now)
        assert not may_act(EXPERT2, state)
    t = decide(state, Action(APPROVE, checklist=ticks(target)), actor_for(state), PAID, CAL, now)
    assert t.state.version == state.version + 1


def test_an_incomplete_checklist_blocks_approval():
    state = submit("new_membership").state
    with pytest.raises(ValidationError, match="فهرست بررسی"):
        decide(state, Action(APPROVE, checklist=(True, True, False, True)), EXPERT, PAID, CAL, SAT_0800)
    with pytest.raises(ValidationError, match="فهرست بررسی"):
        decide(state, Action(APPROVE, checklist=(True,) * 3), EXPERT, PAID, CAL, SAT_0800)


def test_a_rejected_required_document_blocks_approval():
    state = submit("transfer").state
    with pytest.raises(ValidationError, match="مدرک"):
        decide(state, Action(APPROVE, checklist=(True,) * 3), EXPERT, Facts(rejected_required_documents=1), CAL,
               SAT_0800)


def test_a_fee_stage_is_approved_only_once_the_fee_is_set():
    state = submit("membership_renewal").state
    with pytest.raises(ValidationError, match="مبلغ"):
        decide(state, Action(APPROVE, checklist=(True,)), EXPERT, Facts(), CAL, SAT_0800)
    t = decide(state, Action(APPROVE, checklist=(True,)), EXPERT, PAID, CAL, SAT_0800)
    assert t.state.stage_code == "finance_approval"
    with pytest.raises(ValidationError, match="مبلغی"):
        decide(t.state, Action(APPROVE, checklist=(True,)), FINANCE, Facts(), CAL, SAT_0800)
    with pytest.raises(ValidationError, match="مبلغی"):
        decide(t.state, Action(REJECT, reason="مبلغ نادرست"), FINANCE, Facts(), CAL, SAT_0800)
    approved = decide(t.state, Action(APPROVE, checklist=(True,)), FINANCE, PAID, CAL, SAT_0800)
    assert approved.effects == (p.APPROVE_ASSESSMENT,)
    refused = decide(t.state, Action(REJECT, reason="مبلغ نادرست"), FINANCE, PAID, CAL, SAT_0800)
    assert refused.effects == (p.REJECT_ASSESSMENT,) and refused.state.status == Status.REJECTED


# --- claims, assignment, comments -----------------------------------------------------------------

def test_claim_unclaim_and_manager_assignment():
    state = submit("transfer").state
    t = decide(state, Action(CLAIM), EXPERT, PAID, CAL, SAT_0800)
    claimed = t.state
    assert claimed.assignee_id == EXPERT.id and claimed.version == 2 and t.event.action == CLAIM
    with pytest.raises(InvalidTransition, match="پیش‌تر"):
        decide(claimed, Action(CLAIM), EXPERT, PAID, CAL, SAT_0800)
    with pytest.raises(InvalidTransition, match="کارشناس یکم"):
        decide(claimed, Action(CLAIM), EXPERT2, Facts(assignee_name="کارشناس یکم"), CAL, SAT_0800)
    with pytest.raises(InvalidTransition):
        decide(claimed, Action(APPROVE, checklist=(True,) * 3), EXPERT2, PAID, CAL, SAT_0800)
    with pytest.raises(PermissionDenied):
        decide(claimed, Action(UNCLAIM), EXPERT2, PAID, CAL, SAT_0800)
    released = decide(claimed, Action(UNCLAIM), MANAGER, PAID, CAL, SAT_0800).state
    assert released.assignee_id is None and released.version == 3
    with pytest.raises(InvalidTransition, match="دست کسی نیست"):
        decide(released, Action(UNCLAIM), EXPERT, PAID, CAL, SAT_0800)
    with pytest.raises(PermissionDenied):
        decide(released, Action(ASSIGN, assignee=EXPERT2), EXPERT, PAID, CAL, SAT_0800)
    with pytest.raises(ValidationError, match="استان"):
        decide(released, Action(ASSIGN, assignee=ISFAHAN), MANAGER, PAID, CAL, SAT_0800)
    with pytest.raises(ValidationError, match="نقش"):
        decide(released, Action(ASSIGN, assignee=HEAD), MANAGER, PAID, CAL, SAT_0800)
    t = decide(released, Action(ASSIGN, assignee=EXPERT2), MANAGER, PAID, CAL, SAT_0800)
    assert t.state.assignee_id == EXPERT2.id and t.event.data == {"assignee_id": EXPERT2.id}


def test_a_claim_is_only_for_who_may_act_at_the_stage():
    state = submit("transfer").state
    with pytest.raises(PermissionDenied):
        decide(state, Action(CLAIM), HEAD, PAID, CAL, SAT_0800)
    with pytest.raises(PermissionDenied):
        decide(state, Action(CLAIM), ISFAHAN, PAID, CAL, SAT_0800)
    paying = submit("card_reissue").state
    with pytest.raises(InvalidTransition):
        decide(paying, Action(CLAIM), CENTRAL, PAID, CAL, SAT_0800)


def test_a_comment_changes_nothing_and_needs_a_reviewer_of_the_province():
    state = submit("transfer").state
    t = decide(state, Action(COMMENT, "  با عضو تماس گرفته شد "), EXPERT, PAID, CAL, SAT_0800)
    assert t.state == state and not t.event.bump and t.event.reason == "با عضو تماس گرفته شد"
    with pytest.raises(PermissionDenied):
        decide(state, Action(COMMENT, "یادداشت"), ISFAHAN, PAID, CAL, SAT_0800)
    with pytest.raises(PermissionDenied):
        decide(state, Action(COMMENT, "یادداشت"), ONE_ROLE_EACH[Role.BOARD], PAID, CAL, SAT_0800)
    with pytest.raises(ValidationError):
        decide(state, Action(COMMENT, "   "), EXPERT, PAID, CAL, SAT_0800)


# --- rejection, return, resubmission ------------------------------------------------------------

def test_rejection_ends_the_request_with_its_reason():
    state = submit("legacy_registration").state
    with pytest.raises(ValidationError):
        decide(state, Action(REJECT, reason="   "), EXPERT, PAID, CAL, SAT_0800 + timedelta(hours=1))
    t = decide(state, Action(REJECT, reason="شمارهٔ عضویت قدیمی با سوابق نمی‌خواند"), EXPERT, PAID, CAL,
               SAT_0800 + timedelta(hours=1))
    assert (t.state.status, t.state.met_sla, t.event.reason, t.event.to_stage) == (
        Status.REJECTED, True, "شمارهٔ عضویت قدیمی با سوابق نمی‌خواند", None)
    assert (t.closed.outcome, t.closed.hours_used, t.closed.met) == (REJECT, HOUR_UNITS, True)
    assert t.state.closed_at == SAT_0800 + timedelta(hours=1) and t.opened is None
    with pytest.raises(InvalidTransition):
        decide(t.state, Action(APPROVE, checklist=(True,) * 5), EXPERT, PAID, CAL, SAT_0800)


def test_a_committee_refusal_needs_a_reason_and_ends_the_request():
    state, now = walk_to("licence_issue", "licence_committee")
    with pytest.raises(ValidationError):
        decide(state, Action(REJECT, reason=""), COMMITTEE, PAID, CAL, now)
    t = decide(state, Action(REJECT, reason="سوابق کاری کافی نیست"), COMMITTEE, PAID, CAL, now)
    assert t.state.status == Status.REJECTED
    assert (t.event.action, t.event.data, t.closed.outcome) == ("committee_decision", {"granted": False}, REJECT)


def test_return_stops_the_clock_and_resubmission_resumes_it():
    state = submit("new_membership").state
    # Three office hours pass, then the expert returns it.
    t = decide(state, Action(RETURN, reason="تصویر کارت ملی خوانا نیست"), EXPERT, PAID, CAL,
               SAT_0800 + timedelta(hours=3))
    returned = t.state
    assert returned.status == Status.RETURNED and returned.stage_hours_used == 3 * HOUR_UNITS
    assert (t.closed.outcome, t.closed.hours_used, t.closed.met) == (RETURN, 3 * HOUR_UNITS, None)
    assert not returned.clock_runs and t.event.to_stage == t.event.from_stage == INITIAL_REVIEW
    with pytest.raises(InvalidTransition):
        decide(returned, Action(APPROVE, checklist=(True,) * 4), EXPERT, PAID, CAL, SAT_0800)
    with pytest.raises(ValidationError):
        decide(state, Action(RETURN, reason=""), EXPERT, PAID, CAL, SAT_0800)
    # The member takes four days; those days do not count.
    back = SAT_0800 + timedelta(days=4)  # Wednesday 08:00
    t = decide(returned, Action(RESUBMIT), None, PAID, CAL, back)
    resumed = t.state
    assert resumed.status == Status.OPEN and t.opened.due_at == back + timedelta(hours=4)  # 7 h limit - 3 h used
    d = deadlines(CAL, PROCESSES["new_membership"], stage_of(resumed)[1], resumed.stage_entered_at,
                  resumed.stage_hours_used, resumed.process_hours_used)
    assert d.stage_due_at == back + timedelta(hours=4)
    assert d.due_at == CAL.add_working_hours(back, 5 * 7 - 3)
    t = decide(resumed, Action(APPROVE, checklist=(True,) * 4), EXPERT, PAID, CAL, back + timedelta(hours=1))
    assert (t.closed.outcome, t.closed.hours_used, t.closed.met) == (APPROVE, 4 * HOUR_UNITS, True)
    assert t.state.process_hours_used == 4 * HOUR_UNITS and t.state.stage_hours_used == 0


def test_only_a_returned_request_is_resubmitted():
    state = submit("transfer").state
    with pytest.raises(InvalidTransition):
        decide(state, Action(RESUBMIT), None, PAID, CAL, SAT_0800)


def test_the_member_and_the_gateway_act_only_at_their_stages():
    state = submit("transfer").state
    with pytest.raises(InvalidTransition):
        decide(state, Action(MEMBER_COMPLETED), None, PAID, CAL, SAT_0800)
    with pytest.raises(InvalidTransition):
        decide(state, Action(PAYMENT_CONFIRMED), None, PAID, CAL, SAT_0800)
    rating = submit("rating").state
    assert rating.stage_code == "complete_records"
    t = decide(rating, Action(MEMBER_COMPLETED), None, FACTS, CAL, SAT_0800 + timedelta(days=2))
    assert t.state.stage_code == "payment" and t.effects == (p.ASSESS_FROM_TARIFF,) and t.closed is None


def test_a_late_stage_is_recorded_as_missed():
    state = submit("transfer").state
    late = SAT_0800 + timedelta(days=2)  # Monday: two working days on a one-day stage
    t = decide(state, Action(APPROVE, checklist=(True,) * 3), EXPERT, PAID, CAL, late)
    assert t.closed.met is False and t.closed.hours_used == 14 * HOUR_UNITS  # Sat 6.5 h + Sun 7 h + Mon 0.5 h


def test_a_process_over_its_total_limit_misses_its_sla():
    state = submit("transfer").state
    now = SAT_0800
    while state.status == Status.OPEN:
        now += timedelta(days=1)
        state = forward(state, now).state
    assert state.met_sla is False
    assert state.process_hours_used > units_of_days(PROCESSES["transfer"].total_limit_days, CAL)


# --- submission ---------------------------------------------------------------------------------

def test_one_open_request_per_type_per_member():
    with pytest.raises(InvalidTransition, match="در جریان"):
        submit("card_reissue", facts=Facts(open_same_type=True))


def test_a_renewal_is_accepted_only_within_the_window_before_the_validity_ends():
    far = Facts(valid_until=date(2028, 3, 19), renewal_window_days=60)
    with pytest.raises(ValidationError, match="۶۰ روز"):
        submit("membership_renewal", facts=far)
    near = Facts(valid_until=SAT_0800.date() + timedelta(days=30), renewal_window_days=60)
    assert submit("membership_renewal", facts=near).state.stage_code == "fee_determination"
    # Other types have no window.
    assert submit("card_reissue", facts=far).state.status == Status.OPEN


def test_an_unknown_type_is_refused():
    with pytest.raises(KeyError):
        RequestState.draft("membership_gift", TEHRAN_ID, SAT_0800)


def test_a_request_is_submitted_once():
    state = submit("transfer").state
    with pytest.raises(InvalidTransition):
        decide(state, Action(SUBMIT), None, PAID, CAL, SAT_0800)


# --- what each rule reads ---------------------------------------------------------------------

@pytest.mark.parametrize("type_code,stage", ROLE_STAGES, ids=[f"{t}-{s.code}" for t, s in ROLE_STAGES])
def test_a_rule_reads_only_the_facts_it_declares(type_code, stage):
    """The services load only the facts an action's rule reads (READS_FEES, READS_DOCUMENTS,
    READS_HOLDER): for any other action, different facts must not change what follows."""
    from domain.machine import READS_DOCUMENTS, READS_FEES
    state, now = walk_to(type_code, stage.code, refer=stage.code == "specialised_committee")
    actor = actor_for(state)
    rich = Facts(finance_approval_required=False, assessment_total=0, tariff_total=0, rejected_required_documents=2,
                 assignee_name="کسی")
    cases = [(Action(CLAIM), actor), (Action(RETURN, reason="اصلاح"), actor), (Action(COMMENT, "یادداشت"), actor),
             (Action(ASSIGN, assignee=actor), MANAGER)]
    for action, who in cases:
        assert action.name not in READS_FEES | READS_DOCUMENTS  # (a claim reads the holder: there is none)
        try:
            plain = decide(state, action, who, Facts(), CAL, now)
        except (InvalidTransition, PermissionDenied, ValidationError) as exc:
            with pytest.raises(type(exc)):
                decide(state, action, who, rich, CAL, now)
            continue
        assert decide(state, action, who, rich, CAL, now) == plain
    claimed = decide(state, Action(CLAIM), actor, PAID, CAL, now).state
    assert decide(claimed, Action(UNCLAIM), MANAGER, rich, CAL, now) == decide(claimed, Action(UNCLAIM), MANAGER,
                                                                               Facts(), CAL, now)


@pytest.mark.parametrize("type_code, kind", [("licence_renewal", "work"), ("article32_renewal", "article32")])
def test_a_licence_renewal_needs_a_licence_of_its_kind_at_submission(type_code, kind):
    with pytest.raises(ValidationError, match="پروانه‌ای برای تمدید در پروندهٔ او نیست"):
        submit(type_code, facts=FACTS._replace(licences_held=frozenset({"work", "article32"} - {kind})))
    assert submit(type_code, facts=FACTS._replace(licences_held=frozenset({kind}))).state.status == Status.OPEN


@pytest.mark.parametrize("type_code, data, message", [
    ("transfer", {}, "استان مقصد انتقال مشخص نیست"),
    ("transfer", {"destination_province": TEHRAN_ID}, "باید با استان فعلی عضو متفاوت باشد"),
    ("legacy_registration", {"old_valid_until": "2027-03-20"}, "شمارهٔ نظام مهندسی قدیمی"),
    ("legacy_registration", {"old_membership_no": "۰۸-۱-۱۲", "old_valid_until": "1406/01/01"}, "تاریخ درستی نیست"),
    ("rating", {"rating_kind": "consultant", "requested_rank": 9}, "رتبه باید عددی از ۱ تا ۵ باشد"),
    ("rating_registration", {"rank": 3, "rating_kind": "architect"}, "مشاور یا پیمانکار"),
    ("licence_issue", {"competencies": ["flying"]}, "صلاحیت درخواستی شناخته‌شده نیست"),
    ("licence_renewal", {"renewal_years": 9}, "بین ۱ تا ۵"),
])
def test_data_an_outcome_could_not_write_is_refused_at_submission(type_code, data, message):
    with pytest.raises(ValidationError, match=message):
        decide(RequestState.draft(type_code, TEHRAN_ID, SAT_0800), Action(SUBMIT, data=data), None, FACTS, CAL,
               SAT_0800)


def test_what_each_type_declares_is_checked_with_the_reader_of_its_outcome():
    from domain.outcomes import DATA_READERS, declares
    assert set(DATA_READERS) <= p.EFFECTS
    assert {code for code, proc in p.PROCESSES.items() if declares(proc.effects)} == {
        "legacy_registration", "transfer", "rating", "rating_registration", "rating_correction", "licence_issue",
        "licence_renewal",
        "article32_renewal"}


LAPSED = FACTS._replace(valid_until=date(2026, 3, 20))   # 1404/12/29, before SAT_0800 (1405/08/30)


@pytest.mark.parametrize("type_code", [t for t, proc in PROCESSES.items() if proc.needs_paid_dues])
def test_a_lapsed_member_is_refused_every_service_quoting_seed_001(type_code):
    with pytest.raises(ValidationError, match="منوط به پرداخت حق عضویت معوقه و سالانه"):
        submit(type_code, facts=LAPSED)
    assert submit(type_code, facts=LAPSED._replace(valid_until=date(2027, 3, 20))).state.status == Status.OPEN


def test_joining_registering_and_renewing_stay_open_to_a_lapsed_member():
    assert {t for t, proc in PROCESSES.items() if not proc.needs_paid_dues} == {
        "new_membership", "legacy_registration", "membership_renewal"}
    for type_code in ("new_membership", "legacy_registration", "membership_renewal"):
        assert submit(type_code, facts=LAPSED).state.status == Status.OPEN


@pytest.mark.parametrize("rank, top", [(1, True), ("۲", True), (3, False), (5, False)])
def test_ranks_one_and_two_are_the_two_top_ranks(rank, top):
    assert o.asks_top_rank({"rating_kind": "contractor", "requested_rank": rank}) is top


def test_the_central_review_may_grant_a_lower_rank_by_points_and_nowhere_else():
    state, now = walk_to("rating", "central_review")
    later = now + timedelta(hours=1)
    t = decide(state, Action(APPROVE, checklist=(True,), data={"granted_rank": "۴"}), CENTRAL, TOP, CAL, later)
    assert t.event.data == {"granted_rank": 4} and t.state.stage_code == "final_review"
    for bad in ({"granted_rank": 2}, {"granted_rank": 6}, {"granted_rank": "x"}):
        with pytest.raises(ValidationError, match="۳ تا ۵"):
            decide(state, Action(APPROVE, checklist=(True,), data=bad), CENTRAL, TOP, CAL, later)
    with pytest.raises(ValidationError, match="نه هر دو"):
        decide(state, Action(APPROVE, checklist=(True,), refer=True, data={"granted_rank": 4}), CENTRAL, TOP, CAL,
               later)
    supervisory, at = walk_to("rating", "supervisory_review")
    with pytest.raises(ValidationError, match="امتیاز"):
        decide(supervisory, Action(APPROVE, checklist=(True,), data={"granted_rank": 4}), FINAL, TOP, CAL, at)
    # The record takes the rank granted, in the kind asked for.
    assert o.recorded_rank({"rating_kind": "contractor", "requested_rank": 1}, 4) == o.Rank("contractor", 4)
    assert o.recorded_rank({"rating_kind": "contractor", "requested_rank": 1}) == o.Rank("contractor", 1)
