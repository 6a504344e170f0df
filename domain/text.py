"""Normalising what people type, and formatting numbers for display.

Persian users type on many keyboards: Arabic layouts produce ي and ك instead of
Persian ی and ک, phones produce Persian or Arabic-Indic digits, and text pasted
from Word or Excel carries invisible bidi controls. Every input field goes
through this module so that stored values, searches and comparisons agree.
"""
from __future__ import annotations

import re
import unicodedata
from decimal import Decimal

from domain.errors import ValidationError

# Both digit families map to ASCII: Persian (U+06F0..) and Arabic-Indic (U+0660..).
_TO_ASCII_DIGITS = str.maketrans(
    "۰۱۲۳۴۵۶۷۸۹٠١٢٣٤٥٦٧٨٩", "0123456789" * 2
)
_TO_PERSIAN_DIGITS = str.maketrans("0123456789", "۰۱۲۳۴۵۶۷۸۹")

# Invisible characters that only affect rendering direction (or are a stray BOM);
# they make two visually identical strings compare unequal, so they are dropped.
# ZWNJ (U+200C) is deliberately absent: it is part of correct Persian spelling.
_INVISIBLE = (
    "\u200e\u200f\u061c"  # LRM, RLM, Arabic letter mark
    "\u202a\u202b\u202c\u202d\u202e"  # embeddings and overrides
    "\u2066\u2067\u2068\u2069"  # isolates
    "\ufeff"  # BOM / zero width no-break space
)

_NORMALIZE_TABLE = {
    0x064A: "\u06cc",  # Arabic yeh -> Persian yeh
    0x0649: "\u06cc",  # Arabic alef maksura -> Persian yeh
    0x0643: "\u06a9",  # Arabic kaf -> Persian keheh
    0x0640: None,  # tatweel (kashida) is decoration only
    **{ord(c): None for c in _INVISIBLE},
    **_TO_ASCII_DIGITS,
}

# Thousands separators people use: Latin comma, Arabic thousands separator, Arabic comma.
_THOUSANDS_SEPARATORS = ",\u066c\u060c"
_DIGITS_ONLY_TABLE = {
    **{ord(c): None for c in _THOUSANDS_SEPARATORS + _INVISIBLE},
    **_TO_ASCII_DIGITS,
}

MAX_AMOUNT_RIAL = 10**15

_AMOUNT_GENERIC_MSG = "مبلغ باید عددی صحیح و نامنفی به ریال باشد."
_ASCII_INT = re.compile(r"[0-9]+")
# A minus sign may land on either side of the number when typed in an RTL field.
_NEGATIVE = re.compile(r"[-\u2212]\s*[0-9]+|[0-9]+\s*[-\u2212]")
_DECIMAL = re.compile(r"[0-9]*[.\u066b][0-9]+|[0-9]+[.\u066b]")


def _as_text(s: object) -> str:
    """None becomes empty text; anything else its str()."""
    if s is None:
        return ""
    return s if isinstance(s, str) else str(s)


def to_ascii_digits(s: str) -> str:
    """Persian (۰-۹) and Arabic-Indic (٠-٩) digits to ASCII 0-9; other characters unchanged."""
    return _as_text(s).translate(_TO_ASCII_DIGITS)


def to_persian_digits(x: object) -> str:
    """ASCII digits in str(x) to Persian digits (۰-۹), for display."""
    return _as_text(x).translate(_TO_PERSIAN_DIGITS)


def _is_control(ch: str) -> bool:
    # Whitespace controls (tab, newline, ...) are handled by the whitespace collapse instead,
    # so that "a\nb" becomes "a b" rather than "ab".
    return unicodedata.category(ch) == "Cc" and not ch.isspace()


def normalize_text(s: str) -> str:
    """Canonical form of free text typed by a user.

    Arabic ي/ى/ك become Persian ی/ک, digits become ASCII, tatweel, control and bidi
    characters are removed (ZWNJ is kept), whitespace runs collapse to one space and
    the ends are stripped. ة is left alone: it is correct in some Arabic-origin words.
    Idempotent: normalize_text(normalize_text(s)) == normalize_text(s).
    """
    text = _as_text(s).translate(_NORMALIZE_TABLE)
    if any(_is_control(ch) for ch in text):
        text = "".join(ch for ch in text if not _is_control(ch))
    return " ".join(text.split())


def normalize_digits_only(s: str) -> str:
    """For numeric fields: ASCII digits, no whitespace, no thousands separators.

    Other characters are kept so that the caller can still reject them.
    """
    text = _as_text(s).translate(_DIGITS_ONLY_TABLE)
    return "".join(text.split())


def _check_amount_range(n: int) -> int:
    if n < 0:
        raise ValidationError("مبلغ نمی‌تواند منفی باشد.")
    if n > MAX_AMOUNT_RIAL:
        raise ValidationError("مبلغ واردشده بیش از حد بزرگ است؛ لطفاً آن را بررسی کنید.")
    return n


def parse_amount_rial(s: str | int) -> int:
    """Parse an amount in rial typed by a user (Persian or Latin digits, separators allowed).

    Returns a non-negative int no larger than 10**15; anything else raises ValidationError.
    """
    # bool is an int subclass; True must not become 1 rial.
    if isinstance(s, bool):
        raise ValidationError(_AMOUNT_GENERIC_MSG)
    if isinstance(s, int):
        return _check_amount_range(s)
    if not isinstance(s, str):
        # Floats and Decimals would silently lose or hide fractions of a rial.
        raise ValidationError(_AMOUNT_GENERIC_MSG)

    text = normalize_digits_only(s)
    if not text:
        raise ValidationError("مبلغ وارد نشده است.")
    if _ASCII_INT.fullmatch(text) is None:
        if _NEGATIVE.fullmatch(text):
            raise ValidationError("مبلغ نمی‌تواند منفی باشد.")
        if _DECIMAL.fullmatch(text):
            raise ValidationError("مبلغ باید عدد صحیح به ریال و بدون اعشار باشد.")
        raise ValidationError(_AMOUNT_GENERIC_MSG)
    # Check the length first: int() on thousands of digits is slow and may raise.
    if len(text.lstrip("0")) > len(str(MAX_AMOUNT_RIAL)):
        return _check_amount_range(MAX_AMOUNT_RIAL + 1)
    return _check_amount_range(int(text))


def _as_int(n: object) -> int:
    """Accept ints and integral Decimals (as returned by SQL NUMERIC columns)."""
    if isinstance(n, bool):
        raise TypeError("amount must be an int, not bool")
    if isinstance(n, int):
        return n
    if isinstance(n, Decimal) and n == n.to_integral_value():
        return int(n)
    raise TypeError(f"amount must be an int, got {type(n).__name__}")


def format_rial(n: int) -> str:
    """1250000 -> "۱٬۲۵۰٬۰۰۰": Persian digits with the Arabic thousands separator (U+066C)."""
    value = _as_int(n)
    body = f"{abs(value):,}".replace(",", "\u066c")
    return ("-" if value < 0 else "") + to_persian_digits(body)


def format_toman(n_rial: int) -> str:
    """An amount held in rial, shown in toman (rial // 10): "۱۲۵٬۰۰۰ تومان"."""
    value = _as_int(n_rial)
    # Truncate toward zero so that -15 rial shows as -1 toman, like 15 shows as 1.
    toman = -(-value // 10) if value < 0 else value // 10
    return f"{format_rial(toman)} تومان"


def format_rial_label(n: int) -> str:
    """1250000 -> "۱٬۲۵۰٬۰۰۰ ریال"."""
    return f"{format_rial(n)} ریال"


def clean_reason(s: str, *, max_len: int = 2000, field: str = "دلیل") -> str:
    """Normalise a mandatory free-text field (rejection/return reason, comment).

    Raises ValidationError if nothing is left after normalising or if it is too long.
    """
    text = normalize_text(s)
    if not text:
        raise ValidationError(f"وارد کردن {field} الزامی است.")
    if len(text) > max_len:
        raise ValidationError(
            f"{field} نباید بیش از {to_persian_digits(max_len)} نویسه باشد "
            f"(اکنون {to_persian_digits(len(text))} نویسه است)."
        )
    return text


def search_key(s: str) -> str:
    """Key for search boxes: normalize_text plus lowercase Latin letters."""
    return normalize_text(s).lower()


def format_number(n: int) -> str:
    """A count for people: Persian digits with thousands separators."""
    return format_rial(n)


# Left-to-right isolate (LRI ... PDI). A code, a time or a number with separators set inside
# Persian text is reordered by the bidi algorithm: "۰۸-۲-۰۰۰۸۸۵" after a Persian word reads
# "۰۰۰۸۸۵-۲-۰۸", because a hyphen does not join Arabic-context digits. Inside an isolate the run
# keeps its own left-to-right order and does not disturb the words around it. normalize_text removes
# these marks again, so a code copied from the screen into a search box still matches.
LRI, PDI = "\u2066", "\u2069"


def ltr(text: object) -> str:
    """`text` as one left-to-right run inside right-to-left text (a file name, a username, an e-mail)."""
    value = _as_text(text)
    return f"{LRI}{value}{PDI}" if value else value


def fa_code(text: object) -> str:
    """A code for people: Persian digits, kept in its own order (a tracking code, a membership or
    licence number, a bank reference, a time such as ۰۲:۲۳)."""
    return ltr(to_persian_digits(text))


_ISOLATED = re.compile(f"({LRI}[^{PDI}]*{PDI})")


def fa_message(text: object) -> str:
    """A message for people: ASCII digits become Persian, except inside isolated runs (a username, a
    file name), which are shown as they are."""
    parts = _ISOLATED.split(_as_text(text))
    return "".join(p if p.startswith(LRI) else to_persian_digits(p) for p in parts)


_NAME_SEPARATORS = re.compile(r"\s*[;؛]\s*")


def tidy_title(text: object) -> str:
    """A name from a data source made readable: normalised letters, Persian digits, and the
    «a; b» / «a؛b» lists joined with the Persian semicolon and a space («قیام ۱۵ خرداد»,
    «جشن نوروز؛ عید سعید فطر»)."""
    parts = [p for p in _NAME_SEPARATORS.split(normalize_text(text)) if p]
    return to_persian_digits("؛ ".join(parts))
