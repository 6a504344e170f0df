"""The renewal rule, as a pure function: years due, the central council's discount, rounding, leap
years, validation, and properties over many inputs."""
from __future__ import annotations

from datetime import date
from decimal import Decimal
from fractions import Fraction

import jdatetime
import pytest
from hypothesis import given, settings, strategies as st

from domain.errors import ValidationError
from domain.fees import (CENTRAL_COUNCIL_DISCOUNTS, DiscountRule, discount_amount, first_year_due, renewal_quote,
                         renewal_window_check)
from domain.jalali import last_day_of_jalali_year


def end(year: int) -> jdatetime.date:
    return last_day_of_jalali_year(year)


def fees(years, amount=1_000_000):
    return {y: amount for y in years}


def test_one_line_per_unrenewed_year_and_the_new_validity():
    q = renewal_quote(end(1400), 1403, {1401: 4_000_000, 1402: 5_000_000, 1403: 6_000_000}, prior_debt=750_000)
    assert [(l.year, l.fee, l.discount, l.amount) for l in q.lines] == [
        (1401, 4_000_000, 0, 4_000_000), (1402, 5_000_000, 0, 5_000_000), (1403, 6_000_000, 0, 6_000_000)]
    assert q.total == 15_750_000
    assert q.years == 3 and q.discount is None
    # 1403 is a leap year: its last day is Esfand 30.
    assert q.new_valid_until == jdatetime.date(1403, 12, 30)


def test_a_leap_year_validity_end_and_its_29th_are_both_accepted():
    q = renewal_quote(jdatetime.date(1403, 12, 30), 1404, {1404: 10})
    assert q.new_valid_until == jdatetime.date(1404, 12, 29)
    # Esfand 29 of a leap year is not its last day; the year 1403 still counts as paid.
    q = renewal_quote(jdatetime.date(1403, 12, 29), 1404, {1404: 10})
    assert [l.year for l in q.lines] == [1404] and q.new_valid_until == jdatetime.date(1404, 12, 29)


# --- validity ends that are not Esfand 29/30 (records kept before the national portal) ----------------

def test_a_mid_year_validity_end_is_accepted_and_years_count_from_the_next_jalali_year():
    q = renewal_quote(jdatetime.date(1385, 6, 15), 1388, fees(range(1386, 1389), 2_000_000))
    assert [l.year for l in q.lines] == [1386, 1387, 1388]
    assert q.valid_until == jdatetime.date(1385, 6, 15)
    assert q.new_valid_until == jdatetime.date(1388, 12, 29)
    assert first_year_due(jdatetime.date(1385, 6, 15)) == 1386
    assert first_year_due(jdatetime.date(1385, 1, 1)) == 1386
    # Gregorian input: 2006-09-06 is 1385/06/15.
    assert renewal_quote(date(2006, 9, 6), 1386, {1386: 1}).lines[0].year == 1386


def test_a_mid_year_end_may_renew_through_the_next_year_only_not_its_own():
    with pytest.raises(ValidationError, match="پس از سال پایان اعتبار"):
        renewal_quote(jdatetime.date(1385, 6, 15), 1385, fees(range(1380, 1400)))
    assert renewal_quote(jdatetime.date(1385, 6, 15), 1386, fees(range(1380, 1400))).years == 1


@pytest.mark.parametrize("valid_until,discounted", [
    (jdatetime.date(1380, 6, 15), False),
    (jdatetime.date(1380, 12, 29), False),
    (jdatetime.date(1381, 1, 1), True),    # the first day of 1381
    (jdatetime.date(1381, 7, 1), True),
    (jdatetime.date(1385, 6, 15), True),
    (jdatetime.date(1388, 12, 28), True),  # a day before the end of 1388
    (jdatetime.date(1388, 12, 29), True),
    (jdatetime.date(1389, 1, 1), False),
    (jdatetime.date(1389, 3, 10), False),
])
def test_the_discount_follows_the_jalali_year_of_a_mid_year_end(valid_until, discounted):
    through = valid_until.year + 3
    q = renewal_quote(valid_until, through, fees(range(valid_until.year + 1, through + 1), 2_000_000))
    assert (q.discount is not None) is discounted
    assert [l.discount for l in q.lines] == [100_000 if discounted else 0] * 3
    assert q.total == 3 * (2_000_000 - (100_000 if discounted else 0))


@settings(max_examples=300, deadline=None)
@given(st.dates(min_value=date(1991, 3, 21), max_value=date(2091, 3, 20)), st.integers(min_value=1, max_value=20))
def test_any_day_of_a_year_quotes_like_the_last_day_of_that_year(day, k):
    """Whatever the day of the validity end, the quote is the one for Esfand 29/30 of its Jalali year."""
    year = jdatetime.date.fromgregorian(date=day).year
    annual = fees(range(year + 1, year + k + 1), 3_000_001)
    q = renewal_quote(day, year + k, annual)
    ref = renewal_quote(end(year), year + k, annual)
    assert q.lines == ref.lines and q.total == ref.total and q.discount == ref.discount
    assert q.new_valid_until == end(year + k)
    assert (q.discount is not None) is (1381 <= year <= 1388)


def test_gregorian_validity_dates_are_read_as_jalali():
    # 1402/12/29 is 2024-03-19.
    q = renewal_quote(date(2024, 3, 19), 1403, {1403: 10})
    assert q.lines[0].year == 1403


@pytest.mark.parametrize("year,discounted", [(1380, False), (1381, True), (1385, True), (1388, True),
                                             (1389, False)])
def test_the_central_council_discount_applies_to_validity_ended_1381_to_1388(year, discounted):
    q = renewal_quote(end(year), year + 2, fees(range(year + 1, year + 3), 2_000_000))
    expected = 100_000 if discounted else 0  # 5 % of 2,000,000
    assert [l.discount for l in q.lines] == [expected, expected]
    assert q.total == 2 * (2_000_000 - expected)


def test_every_unrenewed_year_gets_the_discount_even_those_after_1388():
    q = renewal_quote(end(1386), 1403, fees(range(1387, 1404), 1_000_000))
    assert len(q.lines) == 17
    assert all(l.discount == 50_000 and l.amount == 950_000 for l in q.lines)


@pytest.mark.parametrize("fee,discount", [
    (10, 1),          # 0.5 -> 1: half rounds up
    (30, 2),          # 1.5 -> 2
    (9, 0),           # 0.45 -> 0
    (50, 3),          # 2.5 -> 3
    (1_000_001, 50_000),   # 50,000.05 -> 50,000
    (1_000_010, 50_001),   # 50,000.5 -> 50,001
    (0, 0),
])
def test_discount_rounds_half_up_to_the_rial(fee, discount):
    q = renewal_quote(end(1384), 1385, {1385: fee})
    assert (q.lines[0].discount, q.lines[0].amount) == (discount, fee - discount)


def test_huge_amounts_stay_exact_integers():
    big = 10**13 + 7
    q = renewal_quote(end(1381), 1383, {1382: big, 1383: big}, prior_debt=10**13 + 3)
    assert all(type(v) is int for l in q.lines for v in (l.fee, l.discount, l.amount))
    assert q.lines[0].discount == (big * 5 + 50) // 100 == 500_000_000_000  # 500,000,000,000.35
    assert q.total == 2 * (big - 500_000_000_000) + 10**13 + 3


@pytest.mark.parametrize("through", [1402, 1401, 1300])
def test_an_empty_or_backward_range_is_refused(through):
    with pytest.raises(ValidationError, match="پس از سال پایان اعتبار"):
        renewal_quote(end(1402), through, fees(range(1390, 1410)))


def test_a_missing_tariff_year_is_named():
    with pytest.raises(ValidationError, match="۱۴۰۲"):
        renewal_quote(end(1400), 1403, {1401: 1, 1403: 1})


def test_negative_debt_and_bad_types_are_refused():
    with pytest.raises(ValidationError, match="منفی"):
        renewal_quote(end(1400), 1401, {1401: 1}, prior_debt=-1)
    with pytest.raises(ValidationError):
        renewal_quote(end(1400), 1401, {1401: 1}, prior_debt=1.5)
    with pytest.raises(ValidationError):
        renewal_quote(end(1400), 1401, {1401: 1}, prior_debt=True)
    with pytest.raises(ValidationError):
        renewal_quote(end(1400), "1401", {1401: 1})
    with pytest.raises(ValidationError):
        renewal_quote(end(1400), 1401, {1401: -5})
    with pytest.raises(ValidationError):
        renewal_quote("1400/12/29", 1401, {1401: 1})


def test_discount_rules_are_data():
    none = renewal_quote(end(1385), 1386, {1386: 1000}, discounts=())
    assert none.total == 1000 and none.discount is None
    custom = (DiscountRule.from_percent(1390, 1395, Decimal("12.5")),)
    q = renewal_quote(end(1392), 1393, {1393: 1000}, discounts=custom)
    assert (q.lines[0].discount, q.total) == (125, 875)
    # Overlapping rules do not stack: the most generous one applies.
    both = CENTRAL_COUNCIL_DISCOUNTS + (DiscountRule(1385, 1385, 1000),)
    assert renewal_quote(end(1385), 1386, {1386: 1000}, discounts=both).lines[0].discount == 100
    with pytest.raises(ValidationError):
        DiscountRule.from_percent(1381, 1388, "5.125")
    with pytest.raises(ValidationError):
        DiscountRule.from_percent(1381, 1388, 5.0)
    with pytest.raises(ValidationError):
        DiscountRule(1388, 1381, 500)
    with pytest.raises(ValidationError):
        DiscountRule(1381, 1388, 0)


# --- the renewal window -----------------------------------------------------------------------------

def test_the_window_opens_n_days_before_the_end_and_stays_open_after_it():
    vu = jdatetime.date(1404, 12, 29)
    opens = vu - jdatetime.timedelta(days=60)
    assert renewal_window_check(vu, 60, opens) is not None
    assert renewal_window_check(vu, 60, vu) is not None
    assert renewal_window_check(vu, 60, vu + jdatetime.timedelta(days=400)) is not None
    with pytest.raises(ValidationError) as err:
        renewal_window_check(vu, 60, opens - jdatetime.timedelta(days=1))
    assert "۱۴۰۴/۱۰/۲۹" in err.value.message  # the Jalali day it opens, in Persian digits
    assert "۶۰" in err.value.message


def test_the_window_accepts_gregorian_dates_and_no_validity():
    assert renewal_window_check(date(2026, 3, 20), 0, date(2026, 3, 20)) == date(2026, 3, 20)
    with pytest.raises(ValidationError):
        renewal_window_check(date(2026, 3, 20), 0, date(2026, 3, 19))
    assert renewal_window_check(None, 60, date(2026, 3, 19)) is None


# --- properties -----------------------------------------------------------------------------------

years = st.integers(min_value=1370, max_value=1470)
amounts = st.integers(min_value=0, max_value=10**13)


@st.composite
def quotes(draw):
    valid_year = draw(years)
    k = draw(st.integers(min_value=1, max_value=25))
    fee_list = draw(st.lists(amounts, min_size=k, max_size=k))
    debt = draw(amounts)
    bp = draw(st.integers(min_value=1, max_value=10_000))
    lo = draw(st.integers(min_value=1370, max_value=1470))
    hi = draw(st.integers(min_value=lo, max_value=1480))
    rules = draw(st.sampled_from([(), CENTRAL_COUNCIL_DISCOUNTS, (DiscountRule(lo, hi, bp),)]))
    annual = {valid_year + 1 + i: f for i, f in enumerate(fee_list)}
    return valid_year, valid_year + k, annual, debt, rules


@settings(max_examples=300, deadline=None)
@given(quotes())
def test_quote_properties(case):
    valid_year, through, annual, debt, rules = case
    q = renewal_quote(end(valid_year), through, annual, debt, rules)
    assert [l.year for l in q.lines] == list(range(valid_year + 1, through + 1))
    assert q.total == sum(l.amount for l in q.lines) + debt
    assert q.new_valid_until == end(through)
    assert (q.new_valid_until + jdatetime.timedelta(days=1)) == jdatetime.date(through + 1, 1, 1)
    applicable = [r for r in rules if r.year_from <= valid_year <= r.year_to]
    bp = max((r.basis_points for r in applicable), default=0)
    for line in q.lines:
        assert type(line.amount) is int and type(line.discount) is int
        assert line.fee == annual[line.year]
        assert line.amount == line.fee - line.discount and 0 <= line.discount <= line.fee
        exact = Fraction(line.fee * bp, 10_000)
        # Half up: within half a Rial of the exact discount, and a tie goes up.
        assert abs(line.discount - exact) <= Fraction(1, 2)
        if exact - int(exact) == Fraction(1, 2):
            assert line.discount == int(exact) + 1


@settings(max_examples=200, deadline=None)
@given(st.integers(min_value=0, max_value=10**15), st.integers(min_value=0, max_value=10_000))
def test_discount_amount_is_round_half_up(fee, bp):
    exact = Fraction(fee * bp, 10_000)
    assert discount_amount(fee, bp) == int(exact + Fraction(1, 2))  # floor(x + 1/2) for x >= 0


@settings(max_examples=200, deadline=None)
@given(years, st.integers(min_value=-5, max_value=0))
def test_through_year_not_after_the_validity_year_is_refused(valid_year, delta):
    with pytest.raises(ValidationError):
        renewal_quote(end(valid_year), valid_year + delta, fees(range(1300, 1500)))
