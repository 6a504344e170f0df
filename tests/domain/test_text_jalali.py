"""Tests for domain.text (input normalisation, amounts) and domain.jalali (dates in Tehran)."""
from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

import jdatetime
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from domain.errors import ValidationError
from domain.jalali import (
    JALALI_MONTHS_FA,
    TEHRAN,
    format_jalali_date,
    format_jalali_datetime,
    jalali_month_bounds,
    jalali_month_label,
    jalali_range_bounds,
    jalali_season_bounds,
    jalali_year_bounds,
    last_day_of_jalali_year,
    now_tehran,
    parse_jalali_date,
    to_gregorian,
    to_jalali,
)
from domain.text import (
    clean_reason,
    format_rial,
    format_rial_label,
    format_toman,
    normalize_digits_only,
    normalize_text,
    parse_amount_rial,
    search_key,
    to_ascii_digits,
    to_persian_digits,
)

FAST = settings(max_examples=200, deadline=None)
UTC = dt.timezone.utc
PERSIAN_LETTER = re.compile(r"[\u0621-\u063a\u0641-\u064a\u067e\u0686\u0698\u06a9\u06af\u06cc]")
BIDI = "\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
ZWNJ = "\u200c"
ASCII_LATIN_TO_PERSIAN = str.maketrans("0123456789", "۰۱۲۳۴۵۶۷۸۹")


def _persian_message(exc: pytest.ExceptionInfo) -> bool:
    return PERSIAN_LETTER.search(exc.value.message) is not None


# Text mixing everything that normalisation must deal with, plus arbitrary Unicode.
tricky_chars = st.sampled_from(
    list("يىكةکیـ \t\n\r\x00\x01\x1b\x7f\x85\xa0" + BIDI + ZWNJ + "۰۹٠٩0123abcAB،٬,")
)
tricky_text = st.text(alphabet=st.one_of(tricky_chars, st.characters()), max_size=60)


# --- domain.text ------------------------------------------------------------------------


def test_digit_conversion():
    assert to_ascii_digits("۱۴۰۴/٠٧/15") == "1404/07/15"
    assert to_persian_digits(1404) == "۱۴۰۴"
    assert to_persian_digits("ab12") == "ab۱۲"


def test_normalize_text_examples():
    assert normalize_text("  علي  كريمي\u200f ") == "علی کریمی"
    assert normalize_text("مصطفى") == "مصطفی"
    assert normalize_text("می\u200cخواهم") == "می\u200cخواهم"  # ZWNJ kept
    assert normalize_text("مهنـــدس") == "مهندس"  # tatweel removed
    assert normalize_text("مدرسة") == "مدرسة"  # ة is kept on purpose
    assert normalize_text("پلاک ۱۲\nواحد\t٣") == "پلاک 12 واحد 3"
    assert normalize_text("\u202babc\u202c\x00") == "abc"
    assert normalize_text(None) == ""


@FAST
@given(tricky_text)
def test_normalize_text_properties(s):
    out = normalize_text(s)
    assert normalize_text(out) == out  # idempotent
    assert not set(out) & set("يىكـ" + BIDI)
    assert not any(ord(c) < 32 or ord(c) == 127 for c in out)
    assert not set(out) & set("۰۱۲۳۴۵۶۷۸۹٠١٢٣٤٥٦٧٨٩")
    assert out == out.strip() and "  " not in out
    assert out.count(ZWNJ) == s.count(ZWNJ)  # ZWNJ is never removed


def test_search_key_lowercases_latin():
    assert search_key("  ALI  Karimi كريمي ") == "ali karimi کریمی"


@FAST
@given(st.integers(min_value=-(10**30), max_value=10**30))
def test_digit_roundtrip(n):
    fa = to_persian_digits(n)
    assert not set(fa) & set("0123456789")
    assert to_ascii_digits(fa) == str(n)
    assert int(to_ascii_digits(fa)) == n


def test_normalize_digits_only():
    assert normalize_digits_only(" ۱٬۲۵۰،۰۰۰ ") == "1250000"
    assert normalize_digits_only("1,250 000") == "1250000"


def test_format_amounts():
    assert format_rial(1250000) == "۱٬۲۵۰٬۰۰۰"
    assert format_rial(0) == "۰"
    assert format_rial(999) == "۹۹۹"
    assert format_rial(Decimal("1000")) == "۱٬۰۰۰"
    assert format_rial_label(1250000) == "۱٬۲۵۰٬۰۰۰ ریال"
    assert format_toman(1250000) == "۱۲۵٬۰۰۰ تومان"
    assert format_toman(15) == "۱ تومان"
    with pytest.raises(TypeError):
        format_rial(True)
    with pytest.raises(TypeError):
        format_rial(1.5)


@pytest.mark.parametrize(
    "text, expected",
    [
        ("1250000", 1250000),
        ("۱٬۲۵۰٬۰۰۰", 1250000),
        ("1,250,000", 1250000),
        (" ١٢٥٠٠٠٠ ", 1250000),
        ("۱۲۵۰ ۰۰۰", 1250000),
        ("0", 0),
        ("000123", 123),
        (str(10**15), 10**15),
        (1250000, 1250000),
        (0, 0),
    ],
)
def test_parse_amount_accepts(text, expected):
    assert parse_amount_rial(text) == expected


@FAST
@given(st.integers(min_value=0, max_value=10**14))
def test_parse_amount_roundtrip(n):
    assert parse_amount_rial(format_rial(n)) == n
    assert parse_amount_rial(f"{n:,}") == n
    assert parse_amount_rial(format_rial_label(n).removesuffix(" ریال")) == n


@pytest.mark.parametrize(
    "value",
    [
        "",
        "   ",
        None,
        "-5",
        "۵-",
        "−1000",
        "12.5",
        "۱۲٫۵",
        "1,250,000.00",
        "abc",
        "۱۲ هزار",
        "1e6",
        "0x10",
        "+5",
        "1" * 5000,
        "9" * 17,
        str(10**15 + 1),
        "x" * 100_000,
        "'; DROP TABLE payments; --",
        "1 OR 1=1",
        "1; DELETE FROM users",
        "١٢٣abc",
        "١٢٣\u0968",  # Devanagari digit: int() would accept it, we must not
        True,
        False,
        -1,
        10**15 + 1,
        1.0,
        Decimal("5"),
    ],
)
def test_parse_amount_rejects(value):
    with pytest.raises(ValidationError) as exc:
        parse_amount_rial(value)
    assert _persian_message(exc), exc.value.message


@FAST
@given(tricky_text)
def test_parse_amount_only_raises_validation_error(s):
    try:
        n = parse_amount_rial(s)
    except ValidationError as exc:
        assert PERSIAN_LETTER.search(exc.message)
    else:
        assert 0 <= n <= 10**15


def test_clean_reason():
    assert clean_reason("  مدارك  ناقص\u202e است ") == "مدارک ناقص است"
    with pytest.raises(ValidationError) as exc:
        clean_reason(" \u200f\t ")
    assert exc.value.message == "وارد کردن دلیل الزامی است."
    with pytest.raises(ValidationError) as exc:
        clean_reason("", field="توضیحات")
    assert exc.value.message == "وارد کردن توضیحات الزامی است."
    assert clean_reason("الف" * 10, max_len=30) == "الف" * 10
    with pytest.raises(ValidationError) as exc:
        clean_reason("الف" * 11, max_len=30)
    assert _persian_message(exc)


# --- domain.jalali ----------------------------------------------------------------------

# jdatetime's own idea of the valid range 1300/01/01 .. 1500 end of year.
jalali_dates = st.dates(
    min_value=jdatetime.date(1300, 1, 1).togregorian(),
    max_value=last_day_of_jalali_year(1500).togregorian(),
).map(lambda g: jdatetime.date.fromgregorian(date=g))


def test_leap_years_per_jdatetime():
    # The expectations below rely on jdatetime's leap-year arithmetic.
    assert jdatetime.date(1403, 1, 1).isleap()
    assert not jdatetime.date(1404, 1, 1).isleap()
    assert last_day_of_jalali_year(1403) == jdatetime.date(1403, 12, 30)
    assert last_day_of_jalali_year(1404) == jdatetime.date(1404, 12, 29)


@FAST
@given(jalali_dates, st.sampled_from(["/", "-"]), st.booleans(), st.booleans())
def test_parse_format_roundtrip(d, sep, persian, padded):
    assert parse_jalali_date(format_jalali_date(d)) == d
    text = f"{d.year}{sep}{d.month:02d}{sep}{d.day:02d}" if padded else f"{d.year}{sep}{d.month}{sep}{d.day}"
    if persian:
        text = text.translate(ASCII_LATIN_TO_PERSIAN)
    assert parse_jalali_date(f"  {text} ") == d


@FAST
@given(st.integers(1300, 1500), st.integers(-1, 14), st.integers(-1, 33))
def test_parse_agrees_with_jdatetime(y, m, d):
    try:
        expected = jdatetime.date(y, m, d)
    except ValueError:
        expected = None
    text = f"{y}/{m:02d}/{d:02d}"
    if expected is None:
        with pytest.raises(ValidationError):
            parse_jalali_date(text)
    else:
        assert parse_jalali_date(text) == expected


def test_parse_jalali_date_examples():
    assert parse_jalali_date("1404/07/15") == jdatetime.date(1404, 7, 15)
    assert parse_jalali_date("1404-7-15") == jdatetime.date(1404, 7, 15)
    assert parse_jalali_date(" ۱۴۰۴/۰۷/۱۵ ") == jdatetime.date(1404, 7, 15)
    assert parse_jalali_date("١٤٠٤/٠٧/١٥") == jdatetime.date(1404, 7, 15)
    assert parse_jalali_date("1403/12/30") == jdatetime.date(1403, 12, 30)  # 1403 is leap
    assert parse_jalali_date("1404/06/31") == jdatetime.date(1404, 6, 31)


@pytest.mark.parametrize(
    "text",
    [
        "1404/12/30",
        "1404/07/31",
        "1404/13/01",
        "1404/00/10",
        "1404/01/00",
        "1404/01/32",
        "",
        "   ",
        "abc",
        "1404/07",
        "15/07/1404",
        "1299/01/01",
        "1501/01/01",
        "1404/07/15 extra",
        "'; DROP TABLE x; --",
    ],
)
def test_parse_jalali_date_rejects(text):
    with pytest.raises(ValidationError) as exc:
        parse_jalali_date(text)
    assert _persian_message(exc), exc.value.message


def test_impossible_date_message_names_the_date():
    with pytest.raises(ValidationError) as exc:
        parse_jalali_date("1404/12/30")
    assert "۱۴۰۴/۱۲/۳۰" in exc.value.message and "وجود ندارد" in exc.value.message


def test_format_examples():
    assert format_jalali_date(jdatetime.date(1404, 7, 15)) == "۱۴۰۴/۰۷/۱۵"
    assert format_jalali_date(dt.date(2025, 10, 7)) == "۱۴۰۴/۰۷/۱۵"
    assert format_jalali_date(None) == "—"
    assert format_jalali_datetime(None) == "—"
    assert format_jalali_datetime(dt.datetime(2025, 10, 7, 9, 30)) == "۱۴۰۴/۰۷/۱۵ ۰۹:۳۰"


def test_aware_utc_is_shown_in_tehran():
    moment = dt.datetime(2026, 3, 20, 21, 0, tzinfo=UTC)
    # jdatetime confirms Nowruz 1405 is 2026-03-21; Tehran is UTC+03:30, so 21:00 UTC = 00:30.
    assert jdatetime.date(1405, 1, 1).togregorian() == dt.date(2026, 3, 21)
    assert format_jalali_datetime(moment) == "۱۴۰۵/۰۱/۰۱ ۰۰:۳۰"
    assert format_jalali_date(moment) == "۱۴۰۵/۰۱/۰۱"
    assert to_jalali(moment) == jdatetime.date(1405, 1, 1)
    # The same instant read naively (as if it were Tehran time) is still the previous year.
    assert format_jalali_date(moment.replace(tzinfo=None)) == "۱۴۰۴/۱۲/۲۹"


def test_now_tehran_is_aware():
    now = now_tehran()
    assert now.tzinfo is not None
    assert abs(now - dt.datetime.now(UTC)) < dt.timedelta(minutes=1)


@FAST
@given(jalali_dates)
def test_gregorian_roundtrip(d):
    g = to_gregorian(d)
    assert isinstance(g, dt.date)
    assert to_jalali(g) == d


def test_month_names_and_label():
    assert len(JALALI_MONTHS_FA) == 12
    assert JALALI_MONTHS_FA[0] == "فروردین" and JALALI_MONTHS_FA[-1] == "اسفند"
    assert jalali_month_label(1404, 7) == "مهر ۱۴۰۴"
    with pytest.raises(ValidationError):
        jalali_month_label(1404, 13)


def test_nowruz_1405_bounds():
    start = dt.datetime(2026, 3, 21, 0, 0, tzinfo=TEHRAN)
    assert jalali_month_bounds(1405, 1)[0] == start
    assert jalali_month_bounds(1404, 12)[1] == start
    assert jalali_year_bounds(1405)[0] == start
    assert jalali_season_bounds(1404, 4)[1] == start
    assert start.astimezone(UTC) == dt.datetime(2026, 3, 20, 20, 30, tzinfo=UTC)


@FAST
@given(st.integers(1300, 1499), st.integers(1, 12))
def test_consecutive_months_abut(year, month):
    start, end = jalali_month_bounds(year, month)
    nxt = jalali_month_bounds(year + month // 12, month % 12 + 1)
    assert end == nxt[0]
    assert start.tzinfo is not None and end.tzinfo is not None
    assert to_jalali(start) == jdatetime.date(year, month, 1)
    assert to_jalali(end - dt.timedelta(seconds=1)).month == month


@FAST
@given(st.integers(1300, 1499))
def test_year_and_seasons_tile_the_year(year):
    y_start, y_end = jalali_year_bounds(year)
    seasons = [jalali_season_bounds(year, s) for s in range(1, 5)]
    assert seasons[0][0] == y_start and seasons[-1][1] == y_end
    for (_, end), (start, _) in zip(seasons, seasons[1:]):
        assert end == start
    assert jalali_month_bounds(year, 1)[0] == y_start
    assert jalali_month_bounds(year, 12)[1] == y_end
    assert to_jalali(y_end - dt.timedelta(seconds=1)) == last_day_of_jalali_year(year)


def test_bad_period_arguments():
    for call in (
        lambda: jalali_month_bounds(1404, 0),
        lambda: jalali_month_bounds(1404, 13),
        lambda: jalali_season_bounds(1404, 5),
        lambda: jalali_year_bounds(1200),
    ):
        with pytest.raises(ValidationError):
            call()


@FAST
@given(jalali_dates, st.integers(0, 400))
def test_range_bounds(d1, days):
    d2 = d1 + dt.timedelta(days=days)
    start, end = jalali_range_bounds(d1, d2)
    assert to_jalali(start) == d1
    assert to_jalali(end) == d2 + dt.timedelta(days=1)
    assert to_jalali(end - dt.timedelta(seconds=1)) == d2


def test_range_bounds_rejects_reversed():
    with pytest.raises(ValidationError) as exc:
        jalali_range_bounds(jdatetime.date(1404, 7, 15), jdatetime.date(1404, 7, 14))
    assert _persian_message(exc)
    start, end = jalali_range_bounds(jdatetime.date(1404, 7, 15), jdatetime.date(1404, 7, 15))
    assert end - start == dt.timedelta(days=1)
