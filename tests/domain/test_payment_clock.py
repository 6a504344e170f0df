"""A payment made outside office hours: the next stage's clock starts at the next working opening
after the payment's time (seed 003: a request sent outside office hours waits for the start of the
next working day), by plain calls of `decide`."""
from __future__ import annotations

from datetime import date, datetime, time, timedelta

from hypothesis import given, settings, strategies as st

from domain.calendar import IRAN_OPENS, TEHRAN, BusinessCalendar
from domain.clock import deadlines, due, units_of_days
from domain.machine import PAYMENT_CONFIRMED, SUBMIT, Action, Facts, RequestState, decide, stage_of
from domain.processes import PROCESSES, Status
from domain.reference import TEHRAN_ID

CAL = BusinessCalendar()  # Saturday to Wednesday, 07:30-14:30, no holidays
PAID = Facts(finance_approval_required=True, assessment_total=1_500_000)
SAT_0800 = datetime(2026, 11, 21, 8, 0, tzinfo=TEHRAN)        # a Saturday
WED_2200 = datetime(2026, 11, 25, 22, 0, tzinfo=TEHRAN)       # Wednesday night, after hours
NEXT_SAT_OPENING = datetime.combine(date(2026, 11, 28), IRAN_OPENS, tzinfo=TEHRAN)
PAY = Action(PAYMENT_CONFIRMED, data={"bank_reference": "REF1", "amount": 1_500_000})


def at_payment(submitted: datetime = SAT_0800) -> RequestState:
    """A card reissue waiting for its payment (its first stage; the member's stage stops the clock)."""
    state = decide(RequestState.draft("card_reissue", TEHRAN_ID, submitted), Action(SUBMIT), None, PAID, CAL,
                   submitted).state
    assert stage_of(state)[1].code == "payment"
    return state


def issue_limit() -> int:
    return units_of_days(PROCESSES["card_reissue"].stage("card_issue").limit_days, CAL)


def test_a_payment_on_wednesday_night_starts_the_next_stage_on_saturday_morning():
    assert CAL.next_opening(WED_2200) == NEXT_SAT_OPENING
    t = decide(at_payment(), PAY, None, PAID, CAL, WED_2200)
    assert t.state.stage_code == "card_issue" and t.state.status == Status.OPEN
    assert t.state.stage_entered_at == WED_2200 and t.opened.entered_at == WED_2200
    # Two working days from Saturday 07:30: Sunday 14:30, not counted from Wednesday night.
    expected = due(CAL, NEXT_SAT_OPENING, issue_limit(), 0)
    assert expected == datetime(2026, 11, 29, 14, 30, tzinfo=TEHRAN)
    assert t.opened.due_at == expected
    proc, stage, _ = stage_of(t.state)
    d = deadlines(CAL, proc, stage, t.state.stage_entered_at, t.state.stage_hours_used, t.state.process_hours_used)
    assert d.stage_due_at == expected
    # Nothing of the weekend counts: by Saturday's opening the stage has used no time.
    assert CAL.working_us_between(t.state.stage_entered_at, NEXT_SAT_OPENING) == 0


def test_the_same_payment_decided_at_the_opening_gives_the_same_deadline():
    night = decide(at_payment(), PAY, None, PAID, CAL, WED_2200)
    opening = decide(at_payment(), PAY, None, PAID, CAL, NEXT_SAT_OPENING)
    assert night.opened.due_at == opening.opened.due_at


def test_recorded_later_the_clock_would_start_later_so_the_payment_time_is_the_one_to_decide_at():
    """Finance records Wednesday night's payment on Saturday at 11:00: deciding at the recording time
    would give the stage 3.5 more working hours; `logic.payments` decides at the payment's time."""
    recorded = NEXT_SAT_OPENING + timedelta(hours=3, minutes=30)
    late = decide(at_payment(), PAY, None, PAID, CAL, recorded)
    paid = decide(at_payment(), PAY, None, PAID, CAL, WED_2200)
    assert CAL.working_hours_between(paid.opened.due_at, late.opened.due_at) == 3.5


def test_a_holiday_after_the_weekend_moves_the_start_to_the_next_working_day():
    cal = BusinessCalendar(holidays=[date(2026, 11, 28)])  # that Saturday closed
    t = decide(at_payment(), PAY, None, PAID, cal, WED_2200)
    sunday_opening = datetime.combine(date(2026, 11, 29), IRAN_OPENS, tzinfo=TEHRAN)
    assert cal.next_opening(WED_2200) == sunday_opening
    assert t.opened.due_at == due(cal, sunday_opening, units_of_days(2, cal), 0)
    assert t.opened.due_at == datetime(2026, 11, 30, 14, 30, tzinfo=TEHRAN)


def test_a_renewal_completes_at_the_payment_time():
    state = RequestState("membership_renewal", TEHRAN_ID, "payment", Status.OPEN, 4, SAT_0800)
    t = decide(state, PAY, None, PAID, CAL, WED_2200)
    assert t.state.status == Status.COMPLETED and t.state.closed_at == WED_2200


after_hours = st.builds(
    lambda day, minute: datetime.combine(date(2026, 11, 21) + timedelta(days=day), time(0), tzinfo=TEHRAN)
    + timedelta(minutes=minute),
    st.integers(min_value=0, max_value=60), st.integers(min_value=0, max_value=24 * 60 - 1),
).filter(lambda m: not CAL.is_open(m))


@settings(max_examples=200, deadline=None)
@given(after_hours)
def test_any_payment_outside_office_hours_counts_from_the_next_opening(paid):
    t = decide(at_payment(), PAY, None, PAID, CAL, paid)
    opening = CAL.next_opening(paid)
    assert opening > paid and CAL.is_open(opening)
    assert t.opened.due_at == due(CAL, opening, issue_limit(), 0)
    assert t.opened.due_at == decide(at_payment(), PAY, None, PAID, CAL, opening).opened.due_at
