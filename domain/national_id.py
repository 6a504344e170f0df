"""The Iranian national ID (کد ملی): ten digits, the last one a mod-11 check digit.

Check digit: s = sum(d[i] * (10 - i) for i in 0..8), r = s % 11;
check = r if r < 2 else 11 - r.
IDs made of one repeated digit ("1111111111") satisfy that formula for every digit,
so they are rejected separately; they are a classic placeholder typed to get past a form.

The first three digits name the registry office that issued the ID, and so a province
(`domain.national_id_prefixes`); `birth_province` reads it.
"""
from __future__ import annotations

import re

from domain.errors import ValidationError
from domain.national_id_prefixes import PREFIXES_BY_PROVINCE
from domain.text import to_ascii_digits

_TEN_DIGITS = re.compile(r"[0-9]{10}")
_NINE_DIGITS = re.compile(r"[0-9]{9}")
_ASCII_DIGITS = re.compile(r"[0-9]+")


def _normalise(s: object) -> str:
    return to_ascii_digits(s).strip() if isinstance(s, str) else ""


def _check_digit(first9: str) -> int:
    total = sum(int(first9[i]) * (10 - i) for i in range(9))
    r = total % 11
    return r if r < 2 else 11 - r


def _is_repeated_digit(digits: str) -> bool:
    return len(set(digits)) == 1


def is_valid_national_id(s: str) -> bool:
    """True iff s (Persian or Latin digits, surrounding spaces allowed) is a valid national ID."""
    digits = _normalise(s)
    return (
        _TEN_DIGITS.fullmatch(digits) is not None
        and not _is_repeated_digit(digits)
        and _check_digit(digits[:9]) == int(digits[9])
    )


def validate_national_id(s: str) -> str:
    """Return the ID as 10 ASCII digits, or raise ValidationError saying what is wrong."""
    digits = _normalise(s)
    if not digits:
        raise ValidationError("کد ملی وارد نشده است.")
    if _ASCII_DIGITS.fullmatch(digits) is None:
        raise ValidationError("کد ملی فقط باید از رقم تشکیل شده باشد.")
    if len(digits) != 10:
        raise ValidationError("کد ملی باید دقیقاً ۱۰ رقم باشد.")
    if _is_repeated_digit(digits):
        raise ValidationError("کد ملی نمی‌تواند از تکرار یک رقم تشکیل شده باشد.")
    if _check_digit(digits[:9]) != int(digits[9]):
        raise ValidationError("کد ملی معتبر نیست؛ رقم کنترل آن نادرست است. لطفاً آن را دوباره بررسی کنید.")
    return digits


def national_id_check_digit(first9: str) -> int:
    """The check digit (tenth digit) for the first nine digits of a national ID."""
    digits = _normalise(first9)
    if _NINE_DIGITS.fullmatch(digits) is None:
        raise ValidationError("برای محاسبهٔ رقم کنترل، ۹ رقم نخست کد ملی لازم است.")
    return _check_digit(digits)


def make_national_id(first9: str) -> str:
    """A valid national ID from its first nine digits (used to generate demo data)."""
    digits = _normalise(first9)
    national_id = digits + str(national_id_check_digit(digits))
    if _is_repeated_digit(national_id):
        raise ValidationError("کد ملی حاصل از تکرار یک رقم تشکیل می‌شود و معتبر نیست.")
    return national_id


# --- the issuing office's province --------------------------------------------------------------

# prefix -> province id, and province id -> its prefixes in order
_PROVINCE_OF_PREFIX: dict[str, int] = {prefix: pid for pid, prefixes in PREFIXES_BY_PROVINCE.items()
                                       for prefix in prefixes.split()}
_PREFIXES_OF: dict[int, tuple[str, ...]] = {pid: tuple(sorted(prefixes.split()))
                                            for pid, prefixes in PREFIXES_BY_PROVINCE.items()}
_SERIALS = 999_999  # serials 000000..999998 per prefix; 999999 stands in for a repeated-digit ID


def birth_province(national_id: str) -> int | None:
    """The province (`domain.reference.PROVINCES` id) of the registry office that issued `national_id`,
    read from its first three digits; None when the ID is not a valid national ID or its prefix is
    not in the table (unknown or ambiguous): then the birth province is whatever the record says."""
    if not is_valid_national_id(national_id):
        return None
    return _PROVINCE_OF_PREFIX.get(_normalise(national_id)[:3])


def province_prefixes(province_id: int) -> tuple[str, ...]:
    """The known three-digit prefixes of a province's registry offices (empty for an unknown id)."""
    return _PREFIXES_OF.get(province_id, ())


def national_id_in_province(province_id: int, n: int) -> str:
    """The n-th valid national ID issued in `province_id` (for generated data): distinct n give
    distinct IDs, and `birth_province` of each is `province_id`. n runs over the province's prefixes
    first (n = 0, 1, ... take its first, second, ... prefix), then over the six serial digits; there
    are `len(province_prefixes(province_id)) * 999_999` of them."""
    prefixes = _PREFIXES_OF.get(province_id)
    if not prefixes:
        raise ValidationError("برای این استان پیشوند کد ملی شناخته‌شده‌ای نیست.")
    if isinstance(n, bool) or not isinstance(n, int) or not 0 <= n < len(prefixes) * _SERIALS:
        raise ValidationError("شمارهٔ ترتیبی کد ملی خارج از بازه است.")
    serial, k = divmod(n, len(prefixes))
    first9 = f"{prefixes[k]}{serial:06d}"
    national_id = first9 + str(_check_digit(first9))
    if _is_repeated_digit(national_id):  # "111" + "111111" + "1": take the serial no other n uses
        first9 = f"{prefixes[k]}{_SERIALS:06d}"
        national_id = first9 + str(_check_digit(first9))
    return national_id
