"""What a completed request writes on the member's record, computed from the request's data.

Every effect of `domain.processes` that changes the member's record leaves one row in the record's
history naming the request that made it: `validity_change` for the membership validity, and
`record_change` (append-only) for the rest, whose kinds and Persian labels are here. The values an effect writes (a licence's number and expiry, the years a
renewal adds, the rank, the destination province, the old membership) are computed here from the
request's own data (`Process.data_fields`) and the moment it completes, so that `logic.effects` and
the demo loader write the same thing.
"""
from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from functools import lru_cache
from typing import NamedTuple

import jdatetime

from domain import processes as p
from domain.errors import ValidationError
from domain.jalali import format_jalali_date
from domain.reference import COMPETENCIES_FA, FIELDS_FA, GRADES_FA, ISFAHAN_ID, PROVINCE_NAMES_FA, TEHRAN_ID
from domain.text import to_ascii_digits, to_persian_digits as fa

# Kinds of `record_change` rows, with the label the member page shows.
ADMITTED = "admitted"
OLD_MEMBERSHIP_REGISTERED = "old_membership_registered"
MOVED_PROVINCE = "moved_province"
CARD_ISSUED = "card_issued"
RANK_RECORDED = "rank_recorded"
LICENCE_ISSUED = "licence_issued"
LICENCE_RENEWED = "licence_renewed"
CHANGE_KINDS_FA: dict[str, str] = {
    ADMITTED: "پذیرش عضویت و اعطای شماره نظام مهندسی",
    OLD_MEMBERSHIP_REGISTERED: "ثبت عضویت قدیمی",
    MOVED_PROVINCE: "انتقال عضویت به استان دیگر",
    CARD_ISSUED: "صدور و ارسال کارت عضویت",
    RANK_RECORDED: "ثبت رتبه",
    LICENCE_ISSUED: "صدور پروانه",
    LICENCE_RENEWED: "تمدید پروانه",
}

# A new work licence is valid for five Jalali years from its issue (the product's choice: no seed
# gives the term; it is the usual term of a work licence).
WORK_LICENCE_YEARS = 5
RATING_KINDS_FA = {"consultant": "مشاور", "contractor": "پیمانکار"}
RANKS = range(1, 6)
MAX_RENEWAL_YEARS = 5
_LICENCE_PREFIX = {"work": "W", "article32": "A"}
FIELD_NUMBERS = {field: k + 1 for k, field in enumerate(FIELDS_FA)}  # the digit a licence number carries


@lru_cache(maxsize=16384)  # pure, and slow (two Jalali conversions); a bulk replay asks the same days again
def add_jalali_years(d: date, years: int) -> date:
    """The same Jalali day `years` later (Esfand 30 of a leap year becomes Esfand 29)."""
    j = jdatetime.date.fromgregorian(date=d)
    year = j.year + years
    day = min(j.day, 29) if j.month == 12 and not jdatetime.date(year, 1, 1).isleap() else j.day
    return jdatetime.date(year, j.month, day).togregorian()


def licence_number(kind: str, province_id: int, field: str, sequence: int) -> str:
    """W (work) or A (Article 32), the province, the field's digit, then a national sequence."""
    return f"{_LICENCE_PREFIX[kind]}{province_id:02d}{FIELD_NUMBERS[field]}{sequence:08d}"


def renewed_expiry(expires_on: date, years: int, today: date) -> date:
    """A licence renewed for `years`: from its expiry, or from today when it has already lapsed (the
    renewed years are years of validity, not years of arrears)."""
    if not isinstance(years, int) or isinstance(years, bool) or not 1 <= years <= MAX_RENEWAL_YEARS:
        raise ValidationError(f"تعداد سال‌های تمدید باید بین ۱ تا {fa(MAX_RENEWAL_YEARS)} باشد.")
    return add_jalali_years(max(expires_on, today), years)


def requested_years(data: Mapping | None, default: int = 1) -> int:
    """The renewal years the member asked for (`renewal_years`), or `default`."""
    value = (data or {}).get("renewal_years", default)
    try:
        years = int(to_ascii_digits(str(value)))
    except ValueError:
        raise ValidationError("تعداد سال‌های تمدید باید عدد باشد.") from None
    if not 1 <= years <= MAX_RENEWAL_YEARS:
        raise ValidationError(f"تعداد سال‌های تمدید باید بین ۱ تا {fa(MAX_RENEWAL_YEARS)} باشد.")
    return years


def requested_competencies(data: Mapping | None) -> tuple[str, ...]:
    """The competencies a licence request asks for (design and supervision by default, seed 004)."""
    asked = (data or {}).get("competencies") or ("design", "supervision")
    if isinstance(asked, str):
        asked = (asked,)
    unknown = [c for c in asked if c not in COMPETENCIES_FA]
    if unknown:
        raise ValidationError("صلاحیت درخواستی شناخته‌شده نیست: " + "، ".join(map(str, unknown)))
    return tuple(c for c in COMPETENCIES_FA if c in asked)  # in the reference order, once each


class Rank(NamedTuple):
    kind: str   # RATING_KINDS_FA
    rank: int


TOP_RANKS = (1, 2)   # «دو رتبه نهایی» (seed 002): rank 1 is the highest
GRANTABLE_RANKS = tuple(r for r in RANKS if r not in TOP_RANKS)   # what the points may give instead


def asks_top_rank(data: Mapping | None) -> bool:
    """Whether a rating asks for one of the two top ranks, which the central organisation reviews."""
    return requested_rank(data).rank in TOP_RANKS


def granted_rank(value) -> int:
    """A rank the central review grants by the points earned instead of a top rank (seed 002, note 2):
    one of the ranks below the top two."""
    try:
        rank = int(to_ascii_digits(str(value)))
    except ValueError:
        rank = 0
    if rank not in GRANTABLE_RANKS:
        raise ValidationError("رتبهٔ اعطایی بر اساس امتیاز باید یکی از رتبه‌های ۳ تا ۵ باشد.")
    return rank


def recorded_rank(data: Mapping | None, granted: int | None = None) -> Rank:
    """The rank a completed rating records: the one granted by points, if any, else the one asked for."""
    rank = requested_rank(data)
    return Rank(rank.kind, granted) if granted is not None else rank


def requested_rank(data: Mapping | None) -> Rank:
    """The rank a rating request records: the requested one (`rating_kind`, `requested_rank`), or the
    one an existing rating declares (`rank`, kind by default consultant)."""
    data = data or {}
    kind = data.get("rating_kind") or "consultant"
    value = data.get("requested_rank", data.get("rank"))
    if kind not in RATING_KINDS_FA:
        raise ValidationError("نوع رتبه‌بندی باید مشاور یا پیمانکار باشد.")
    try:
        rank = int(to_ascii_digits(str(value)))
    except ValueError:
        raise ValidationError("رتبه باید عددی از ۱ تا ۵ باشد.") from None
    if rank not in RANKS:
        raise ValidationError("رتبه باید عددی از ۱ تا ۵ باشد.")
    return Rank(kind, rank)


def destination_province(data: Mapping | None, origin: int) -> int:
    """The province a transfer moves the member to."""
    value = (data or {}).get("destination_province")
    try:
        dest = int(to_ascii_digits(str(value)))
    except ValueError:
        dest = None
    if dest not in PROVINCE_NAMES_FA:
        raise ValidationError("استان مقصد انتقال مشخص نیست.")
    if dest == origin:
        raise ValidationError("استان مقصد باید با استان فعلی عضو متفاوت باشد.")
    return dest


class OldMembership(NamedTuple):
    membership_no: str
    valid_until: date


def declared_old_membership(data: Mapping | None) -> OldMembership:
    """The old engineering-system number and validity a pre-electronic member declared (seed 002),
    which the expert verified at the initial review."""
    data = data or {}
    number = to_ascii_digits(str(data.get("old_membership_no") or "")).strip()
    if not number:
        raise ValidationError("شمارهٔ نظام مهندسی قدیمی عضو ثبت نشده است.")
    raw = data.get("old_valid_until")
    try:
        valid = date.fromisoformat(to_ascii_digits(str(raw)))
    except ValueError:
        raise ValidationError("اعتبار عضویت قدیمی عضو تاریخ درستی نیست.") from None
    return OldMembership(number, valid)


def describe(kind: str, details: Mapping) -> str:
    """One line of Persian for a record change, as the member page lists it."""
    d = details or {}

    def day(key: str) -> str:
        value = d.get(key)
        return format_jalali_date(date.fromisoformat(value)) if value else "—"

    if kind == ADMITTED:
        return f"شمارهٔ نظام مهندسی {fa(d.get('membership_no') or '—')}، {GRADES_FA.get(d.get('grade'), '—')}"
    if kind == OLD_MEMBERSHIP_REGISTERED:
        return f"شمارهٔ نظام مهندسی {fa(d.get('membership_no') or '—')}، اعتبار تا {day('valid_until')}"
    if kind == MOVED_PROVINCE:
        return (f"از استان {PROVINCE_NAMES_FA.get(d.get('from_province'), '—')} "
                f"به استان {PROVINCE_NAMES_FA.get(d.get('to_province'), '—')}")
    if kind == CARD_ISSUED:
        return "کارت عضویت صادر و ارسال شد"
    if kind == RANK_RECORDED:
        return f"رتبهٔ {fa(d.get('rank', '—'))} {RATING_KINDS_FA.get(d.get('rating_kind'), '')}".strip()
    if kind == LICENCE_ISSUED:
        return f"پروانهٔ شمارهٔ {fa(d.get('licence_no') or '—')}، معتبر تا {day('expires_on')}"
    if kind == LICENCE_RENEWED:
        return (f"پروانهٔ شمارهٔ {fa(d.get('licence_no') or '—')}، {fa(d.get('years', '—'))} سال: "
                f"از {day('old_expires_on')} تا {day('new_expires_on')}")
    return CHANGE_KINDS_FA.get(kind, kind)


# What each effect reads from the request's data (by effect name, `domain.processes`), checked when
# the request is submitted: a request the record could not take is refused at the door, not at its
# last step.
DATA_READERS = {
    p.REGISTER_OLD_MEMBERSHIP: lambda data, province_id: declared_old_membership(data),
    p.MOVE_PROVINCE: lambda data, province_id: destination_province(data, province_id),
    p.RECORD_RANK: lambda data, province_id: requested_rank(data),
    p.ISSUE_WORK_LICENCE: lambda data, province_id: requested_competencies(data),
    p.RENEW_WORK_LICENCE: lambda data, province_id: requested_years(data),
    p.RENEW_ARTICLE32_LICENCE: lambda data, province_id: requested_years(data),
}


def declares(effects) -> bool:
    """Whether a request with these effects must declare data they read."""
    return any(effect in DATA_READERS for effect in effects)


def check_declared(effects, data: Mapping | None, province_id: int) -> None:
    """Refuse (ValidationError, in Persian) data that an effect of the request could not write."""
    for effect in effects:
        reader = DATA_READERS.get(effect)
        if reader is not None:
            reader(data, province_id)


def example_data(type_code: str, province_id: int, member_id: int) -> dict:
    """A valid declaration for a request of the type by a member of `province_id` (a transfer goes to
    another province): what the benchmarks, the tests and the demo accounts file."""
    return {
        "legacy_registration": {"old_membership_no": f"{province_id:02d}-0-{member_id:06d}",
                                "old_valid_until": "2027-03-20"},
        "membership_renewal": {"renewal_years": 1},
        "transfer": {"destination_province": ISFAHAN_ID if province_id != ISFAHAN_ID else TEHRAN_ID,
                     "destination_address": "خیابان آزادی، پلاک ۱۲"},
        "rating": {"rating_kind": "consultant", "requested_rank": 3},
        "rating_registration": {"rank": 3, "licence_expiry": "2028-01-01"},
        "rating_correction": {"rating_kind": "contractor", "rank": 4, "licence_expiry": "2028-01-01"},
        "licence_issue": {"competencies": ["design", "supervision"]},
        "licence_renewal": {"renewal_years": 1},
        "article32_renewal": {"renewal_years": 1},
    }.get(type_code, {})
