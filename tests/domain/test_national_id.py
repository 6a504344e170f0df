"""Tests for domain.national_id (Iranian national ID, mod-11 check digit)."""
from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from domain.errors import ValidationError
from domain.national_id import (
    is_valid_national_id,
    make_national_id,
    national_id_check_digit,
    validate_national_id,
)

FAST = settings(max_examples=200, deadline=None)
PERSIAN_LETTER = re.compile(r"[\u0621-\u063a\u0641-\u064a\u067e\u0686\u0698\u06a9\u06af\u06cc]")

first9s = st.text(alphabet="0123456789", min_size=9, max_size=9).filter(
    lambda s: len(set(s)) > 1  # nine equal digits always yield an all-same ID
)


def _formula_ok(nid: str) -> bool:
    """The check-digit rule written out independently of the module."""
    s = sum(int(nid[i]) * (10 - i) for i in range(9))
    r = s % 11
    check = int(nid[9])
    return (r < 2 and check == r) or (r >= 2 and check == 11 - r)


def _assert_persian(exc: pytest.ExceptionInfo) -> None:
    assert PERSIAN_LETTER.search(exc.value.message), exc.value.message


# 0013542419: s = 0*10 + 0*9 + 1*8 + 3*7 + 5*6 + 4*5 + 2*4 + 4*3 + 1*2
#               = 0 + 0 + 8 + 21 + 30 + 20 + 8 + 12 + 2 = 101; 101 % 11 = 2 -> check 11 - 2 = 9. ✓
# 0499370899: s = 0*10 + 4*9 + 9*8 + 9*7 + 3*6 + 7*5 + 0*4 + 8*3 + 9*2
#               = 0 + 36 + 72 + 63 + 18 + 35 + 0 + 24 + 18 = 266; 266 % 11 = 2 -> check 9. ✓
# 1000000001:  s = 1*10 = 10; 10 % 11 = 10 -> check 11 - 10 = 1. ✓
# 0000000010:  s = 1*2 = 2;  2 % 11 = 2 -> check 9, so this one is INVALID (last digit 0).
HAND_CHECKED_VALID = ["0013542419", "0499370899", "1000000001"]


@pytest.mark.parametrize("nid", HAND_CHECKED_VALID)
def test_hand_checked_valid(nid):
    assert _formula_ok(nid)
    assert is_valid_national_id(nid)
    assert validate_national_id(nid) == nid
    assert make_national_id(nid[:9]) == nid


def test_persian_digits_and_spaces_are_normalised():
    assert validate_national_id("  ۰۰۱۳۵۴۲۴۱۹ ") == "0013542419"
    assert validate_national_id("٠٠١٣٥٤٢٤١٩") == "0013542419"
    assert is_valid_national_id("۰۰۱۳۵۴۲۴۱۹")


@pytest.mark.parametrize("nid", [str(d) * 10 for d in range(10)])
def test_all_same_digit_rejected(nid):
    # Every repeated-digit ID passes the checksum (9 * d summed with weights 10..2 = 54d,
    # 54d % 11 = 11 - d), which is exactly why the rule exists.
    assert _formula_ok(nid)
    assert not is_valid_national_id(nid)
    with pytest.raises(ValidationError) as exc:
        validate_national_id(nid)
    _assert_persian(exc)


@pytest.mark.parametrize("first9", [str(d) * 9 for d in range(10)])
def test_make_national_id_refuses_all_same(first9):
    with pytest.raises(ValidationError):
        make_national_id(first9)


def test_error_messages_are_distinct():
    cases = {
        "empty": "",
        "not_digits": "00135a2419",
        "length": "001354241",
        "same": "1111111111",
        "check": "0013542418",
    }
    messages = {}
    for name, value in cases.items():
        assert not is_valid_national_id(value)
        with pytest.raises(ValidationError) as exc:
            validate_national_id(value)
        _assert_persian(exc)
        messages[name] = exc.value.message
    assert len(set(messages.values())) == len(messages), messages


@pytest.mark.parametrize("value", [None, 13542419, "0013-542419", "00135424190", "۰۰۱۳۵۴۲۴۱"])
def test_garbage_is_invalid(value):
    assert not is_valid_national_id(value)
    with pytest.raises(ValidationError):
        validate_national_id(value)


@pytest.mark.parametrize("bad", ["", "12345678", "1234567890", "12345678a", None])
def test_check_digit_needs_nine_digits(bad):
    with pytest.raises(ValidationError):
        national_id_check_digit(bad)


@FAST
@given(first9s)
def test_make_national_id_always_validates(first9):
    nid = make_national_id(first9)
    assert nid[:9] == first9
    assert int(nid[9]) == national_id_check_digit(first9)
    assert _formula_ok(nid)
    assert is_valid_national_id(nid)
    assert validate_national_id(nid) == nid


@FAST
@given(st.text(alphabet="0123456789", min_size=10, max_size=10))
def test_validity_matches_formula(nid):
    assert is_valid_national_id(nid) == (_formula_ok(nid) and len(set(nid)) > 1)


# --- Single-digit errors -------------------------------------------------------------
# Changing digit i (weight w = 10 - i, 2..10) by delta changes s by w * delta, which is
# never 0 mod 11 (11 is prime, |delta| <= 9), so r always changes. But the map
# r -> check is 0->0, 1->1, 2..10 -> 9..1: remainders 1 and 10 BOTH give check digit 1.
# So the scheme detects every single-digit change EXCEPT when the check digit is 1 and
# the change moves r between 1 and 10. Changing the check digit itself is always caught.


def test_single_digit_detection_exhaustive_over_remainders():
    # Whether a change is caught depends only on (r, position, old digit, new digit),
    # so enumerating those is a full proof of the claim above.
    def check_of(r):
        return r if r < 2 else 11 - r

    undetected_remainders = set()
    for r in range(11):
        for i in range(9):
            for old in range(10):
                for new in range(10):
                    if new != old:
                        r2 = (r + (10 - i) * (new - old)) % 11
                        if check_of(r2) == check_of(r):
                            undetected_remainders.add(r)
    assert undetected_remainders == {1, 10}


def test_single_digit_change_can_go_unnoticed_when_check_digit_is_1():
    # 1000000001: s = 10, r = 10 -> check 1.
    # 1000000011: s = 10 + 1*2 = 12, r = 1 -> check 1. One digit apart, both valid.
    assert is_valid_national_id("1000000001")
    assert is_valid_national_id("1000000011")


@FAST
@given(first9s, st.integers(0, 9), st.integers(1, 9))
def test_single_digit_change_detected_unless_check_digit_is_1(first9, pos, shift):
    nid = make_national_id(first9)
    changed = nid[:pos] + str((int(nid[pos]) + shift) % 10) + nid[pos + 1 :]
    assert changed != nid
    if pos == 9 or nid[9] != "1":
        assert not is_valid_national_id(changed)
