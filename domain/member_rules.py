"""The membership rules (DOMAIN.md "Members", seed 000, seed 004 Article 45), as plain functions.

Every place that writes or judges a member uses these: the staff correction services
(`logic.member_changes`), the profile's "conditions" panel (`logic.members`) and the directory's
search box (national ID and mobile forms). Each `check_*` returns the clean value or raises
`ValidationError` with a Persian message; each `*_problem` returns that message or None, for
reports that list every unmet condition at once.

Rules:
1. National ID: ten digits with a valid mod-11 check digit, not one digit repeated
   (`domain.national_id`).
2. Article 45 (a): membership needs a degree of bachelor or higher (`MEMBERSHIP_DEGREE_LEVELS`) in
   one of the seven main fields or a field related to one of them. What a degree certificate says
   is free text ("مهندسی عمران - سازه", "عمران", "مهندسی حمل‌ونقل"), so a degree is matched by its
   field and its specialisation against `MAIN_FIELD_NAMES_FA` and `RELATED_FIELDS_FA` below: data,
   not code, so that the list the central council's equivalence rulings (seed 000: Article 7,
   note 2) keep adding to can be extended in one place.
3. Article 45 (b) and Article 6 note 1: a member born in another province (by national ID) proves
   at least six months' residence with one of the five accepted documents
   (`RESIDENCE_PROOFS_FA`).
4. Seed 000: exactly one address is the legal address (اقامتگاه قانونی) used for all
   correspondence. The database allows at most one; services keep it at exactly one.
5. Seed 000: the scan of every degree is compulsory.
6. DOMAIN.md: an Article 32 licence needs a valid work licence.
"""
from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

from domain.errors import ValidationError
from domain.national_id import is_valid_national_id, validate_national_id
from domain.reference import (DEGREE_LEVELS_FA, FIELDS_FA, MEMBERSHIP_DEGREE_LEVELS, PROVINCE_NAMES_FA,
                             RESIDENCE_PROOFS_FA)
from domain.text import normalize_text, to_ascii_digits

# --- 1. national ID ---------------------------------------------------------------------------


def check_national_id(value: str) -> str:
    """The ID as ten ASCII digits, or ValidationError (check digit, length, all-same digits)."""
    return validate_national_id(value)


def national_id_problem(value: str) -> str | None:
    try:
        check_national_id(value)
    except ValidationError as exc:
        return exc.message
    return None


# --- 2. degrees (Article 45) --------------------------------------------------------------------

# How a certificate names each main field (the field code's own label is added below).
MAIN_FIELD_NAMES_FA: dict[str, tuple[str, ...]] = {
    "civil": ("عمران", "مهندسی عمران"),
    "architecture": ("معماری", "مهندسی معماری"),
    "mechanical": ("تأسیسات مکانیکی", "مکانیک", "مهندسی مکانیک"),
    "electrical": ("تأسیسات برقی", "برق", "مهندسی برق"),
    "surveying": ("نقشه‌برداری", "مهندسی نقشه‌برداری"),
    "traffic": ("ترافیک", "مهندسی ترافیک"),
    "urban_planning": ("شهرسازی", "مهندسی شهرسازی"),
}

# Fields (or specialisations) related to each main field: a degree in one of these counts for
# membership. A small list of the usual ones; extend it as the central council rules on others.
RELATED_FIELDS_FA: dict[str, tuple[str, ...]] = {
    "civil": ("سازه", "ژئوتکنیک", "مکانیک خاک و پی", "راه و ترابری", "زلزله", "مهندسی زلزله",
              "مدیریت ساخت", "مهندسی و مدیریت ساخت", "آب و سازه‌های هیدرولیکی", "سازه‌های هیدرولیکی",
              "سازه‌های دریایی"),
    "architecture": ("معماری داخلی", "مرمت و احیای بناهای تاریخی", "مرمت بناهای تاریخی", "فناوری معماری",
                     "معماری منظر", "مهندسی معماری داخلی"),
    "mechanical": ("تأسیسات حرارتی و برودتی", "تبدیل انرژی", "طراحی کاربردی", "حرارت و سیالات",
                   "مهندسی تأسیسات", "مکانیک سیالات"),
    "electrical": ("قدرت", "سیستم‌های قدرت", "الکترونیک", "کنترل", "مهندسی برق قدرت", "تأسیسات الکتریکی"),
    "surveying": ("ژئوماتیک", "مهندسی ژئوماتیک", "ژئودزی", "سنجش از دور", "سیستم اطلاعات مکانی",
                  "فتوگرامتری", "هیدروگرافی"),
    "traffic": ("حمل‌ونقل", "مهندسی حمل‌ونقل", "برنامه‌ریزی حمل‌ونقل"),
    "urban_planning": ("برنامه‌ریزی شهری", "طراحی شهری", "برنامه‌ریزی منطقه‌ای", "برنامه‌ریزی شهری و منطقه‌ای"),
}

# A certificate's text is split at these before matching: "مهندسی عمران - سازه", "عمران (سازه)".
_PARTS = re.compile(r"\s*[-–—/\\()،,:]+\s*")
_HAMZA = str.maketrans({"أ": "ا", "إ": "ا", "آ": "ا", "ؤ": "و", "ئ": "ی", "ة": "ه"})
_ENGINEERING = "مهندسی"


def _field_key(text: str) -> str:
    """Spelling-insensitive key: Arabic letters, hamza forms, ZWNJ and spaces, a leading «مهندسی»."""
    key = normalize_text(text).translate(_HAMZA).replace("\u200c", "").replace(" ", "")
    if key.startswith(_ENGINEERING) and len(key) > len(_ENGINEERING):
        key = key[len(_ENGINEERING):]
    return key


def _index(table: dict[str, tuple[str, ...]]) -> dict[str, str]:
    return {_field_key(name): code for code, names in table.items() for name in names}


_MAIN_INDEX = _index({code: (*names, FIELDS_FA[code]) for code, names in MAIN_FIELD_NAMES_FA.items()})
_RELATED_INDEX = _index(RELATED_FIELDS_FA)


@dataclass(frozen=True)
class FieldMatch:
    """Which main field a degree counts for, and whether as the field itself or a related one."""

    field: str     # one of FIELDS_FA
    related: bool

    @property
    def label(self) -> str:
        name = FIELDS_FA[self.field]
        return f"مرتبط با {name}" if self.related else f"رشتهٔ اصلی {name}"


def _candidates(*texts: str | None) -> list[str]:
    out = []
    for text in texts:
        if not text or not normalize_text(text):
            continue
        out.append(text)
        out.extend(p for p in _PARTS.split(normalize_text(text)) if p)
    return out


def match_degree_field(field: str | None, specialisation: str | None = None) -> FieldMatch | None:
    """The main field a degree's field (and specialisation) counts for, or None.

    The whole text first, then its parts; a main field wins over a related one. A field code
    ("civil") is accepted too."""
    if field in FIELDS_FA:
        return FieldMatch(field, False)
    keys = [k for k in (_field_key(c) for c in _candidates(field, specialisation)) if k]
    main = next((_MAIN_INDEX[k] for k in keys if k in _MAIN_INDEX), None)
    if main is not None:
        return FieldMatch(main, False)
    related = next((_RELATED_INDEX[k] for k in keys if k in _RELATED_INDEX), None)
    return None if related is None else FieldMatch(related, True)


def degree_qualifies(level: str, field: str | None, specialisation: str | None = None) -> bool:
    """Article 45 (a) for one degree: bachelor or higher, in a main or related field."""
    return level in MEMBERSHIP_DEGREE_LEVELS and match_degree_field(field, specialisation) is not None


@dataclass(frozen=True)
class Degree:
    level: str
    field: str | None
    specialisation: str | None = None
    has_scan: bool = True


def membership_degree_problem(degrees: Iterable[Degree]) -> str | None:
    degrees = list(degrees)
    if any(degree_qualifies(d.level, d.field, d.specialisation) for d in degrees):
        return None
    if not degrees:
        return "هیچ مدرک تحصیلی‌ای برای عضو ثبت نشده است؛ عضویت دست‌کم مدرک کارشناسی لازم دارد (مادهٔ ۴۵)."
    return ("عضویت مدرک کارشناسی یا بالاتر در یکی از رشته‌های اصلی هفتگانه یا رشته‌های مرتبط لازم دارد "
            "(مادهٔ ۴۵) و هیچ‌یک از مدارک ثبت‌شده این شرط را ندارد.")


def check_membership_degree(degrees: Iterable[Degree]) -> None:
    problem = membership_degree_problem(degrees)
    if problem:
        raise ValidationError(problem)


def degree_scan_problem(degrees: Iterable[Degree]) -> str | None:
    missing = [d for d in degrees if not d.has_scan]
    if not missing:
        return None
    names = "، ".join(DEGREE_LEVELS_FA.get(d.level, d.level) for d in missing)
    return f"تصویر مدرک تحصیلی بارگذاری نشده است ({names})؛ بارگذاری تصویر هر مدرک الزامی است."


# --- 3. residence -------------------------------------------------------------------------------


def residence_problem(birth_province_id: int, province_id: int, residence_proof: str | None) -> str | None:
    if residence_proof is not None and residence_proof not in RESIDENCE_PROOFS_FA:
        return "مدرک سکونت انتخاب‌شده از مدارک پذیرفته‌شده نیست."
    if birth_province_id == province_id or residence_proof is not None:
        return None
    born = PROVINCE_NAMES_FA.get(birth_province_id, str(birth_province_id))
    proofs = "، ".join(RESIDENCE_PROOFS_FA.values())
    return (f"عضو متولد استان {born} است؛ برای عضویت در این استان یکی از مدارک سکونت دست‌کم شش‌ماهه لازم است: "
            f"{proofs}.")


def check_residence(birth_province_id: int, province_id: int, residence_proof: str | None) -> None:
    problem = residence_problem(birth_province_id, province_id, residence_proof)
    if problem:
        raise ValidationError(problem)


# --- 4. the legal address -------------------------------------------------------------------------


def legal_address_problem(legal_flags: Iterable[bool]) -> str | None:
    flags = list(legal_flags)
    legal = sum(1 for f in flags if f)
    if legal == 1:
        return None
    if not flags:
        return "هیچ نشانی‌ای برای عضو ثبت نشده است؛ یک نشانی باید اقامتگاه قانونی باشد."
    if legal == 0:
        return "هیچ‌یک از نشانی‌های عضو اقامتگاه قانونی تعیین نشده است؛ دقیقاً یک نشانی باید اقامتگاه قانونی باشد."
    return "بیش از یک نشانی اقامتگاه قانونی تعیین شده است؛ دقیقاً یک نشانی باید اقامتگاه قانونی باشد."


def check_one_legal_address(legal_flags: Iterable[bool]) -> None:
    problem = legal_address_problem(legal_flags)
    if problem:
        raise ValidationError(problem)


# --- 6. Article 32 --------------------------------------------------------------------------------


def article32_problem(licences: Iterable[tuple[str, date]], today: date) -> str | None:
    """`licences`: (kind, expires_on) pairs. A valid Article 32 licence needs a valid work licence."""
    licences = list(licences)
    valid = {kind for kind, expires in licences if expires >= today}
    if "article32" in valid and "work" not in valid:
        return "پروانهٔ کارشناسی مادهٔ ۳۲ معتبر است اما پروانهٔ اشتغال به کار معتبر ندارد."
    return None


# --- contacts and other fields ---------------------------------------------------------------------

_MOBILE = re.compile(r"9[0-9]{9}")


def normalize_mobile(value: str) -> str | None:
    """An Iranian mobile number in its 09xxxxxxxxx form, from 0912…, 912…, +98912…, 0098912…, with
    Persian or Latin digits and any spaces or dashes; None when it is not a mobile number."""
    digits = re.sub(r"[^0-9]", "", to_ascii_digits(value or ""))
    for prefix in ("0098", "98", "0"):
        if digits.startswith(prefix) and len(digits) == len(prefix) + 10:
            digits = digits[len(prefix):]
            break
    return "0" + digits if _MOBILE.fullmatch(digits) else None


def mobile_forms(mobile: str) -> list[str]:
    """The ways a stored mobile may be written, for an equality lookup: 0912…, +98912…, 98912…, 912…"""
    core = mobile[1:]
    return [mobile, "+98" + core, "98" + core, core]


_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
_PHONE = re.compile(r"0[0-9]{9,10}")


def check_contact(kind: str, value: str) -> str:
    """A contact's value in its stored form, per kind."""
    text = normalize_text(value)
    if kind == "mobile":
        mobile = normalize_mobile(text)
        if mobile is None:
            raise ValidationError("شمارهٔ همراه باید ۱۱ رقم و به شکل ۰۹۱۲۳۴۵۶۷۸۹ باشد.")
        return mobile
    if kind == "email":
        if not _EMAIL.fullmatch(text):
            raise ValidationError("نشانی پست الکترونیک معتبر نیست.")
        return text.lower()
    if kind in ("landline", "work_phone"):
        digits = re.sub(r"[\s\-]", "", text)
        if not _PHONE.fullmatch(digits):
            raise ValidationError("شمارهٔ تلفن ثابت باید با پیش‌شمارهٔ شهر و فقط از رقم باشد (مانند ۰۲۱۸۸۷۷۶۶۵۵).")
        return digits
    raise ValidationError("نوع اطلاعات تماس شناخته‌شده نیست.")


def clean_name(value: str, label: str, *, required: bool = True, max_len: int = 100) -> str | None:
    """A person's name: normalised, letters (no digits), at most `max_len` characters."""
    text = normalize_text(value or "")
    if not text:
        if required:
            raise ValidationError(f"{label} نمی‌تواند خالی باشد.")
        return None
    if len(text) > max_len:
        raise ValidationError(f"{label} بیش از اندازه بلند است.")
    if any(ch.isdigit() for ch in text) or not any(ch.isalpha() for ch in text):
        raise ValidationError(f"{label} باید از حروف تشکیل شده باشد.")
    return text


# --- one report for the profile ---------------------------------------------------------------------


@dataclass(frozen=True)
class RuleResult:
    code: str
    title: str
    problem: str | None

    @property
    def ok(self) -> bool:
        return self.problem is None


RULE_TITLES_FA = {
    "national_id": "کد ملی معتبر",
    "degree": "مدرک کارشناسی یا بالاتر در رشتهٔ اصلی یا مرتبط (مادهٔ ۴۵)",
    "degree_scan": "تصویر همهٔ مدارک تحصیلی",
    "residence": "مدرک سکونت برای متولدان استان دیگر",
    "legal_address": "دقیقاً یک اقامتگاه قانونی",
    "article32": "پروانهٔ اشتغال معتبر برای پروانهٔ مادهٔ ۳۲",
}


def rule_report(*, national_id: str, degrees: Iterable[Degree], birth_province_id: int, province_id: int,
                residence_proof: str | None, legal_flags: Iterable[bool],
                licences: Iterable[tuple[str, date]], today: date) -> list[RuleResult]:
    degrees = list(degrees)
    problems = {
        "national_id": national_id_problem(national_id),
        "degree": membership_degree_problem(degrees),
        "degree_scan": degree_scan_problem(degrees),
        "residence": residence_problem(birth_province_id, province_id, residence_proof),
        "legal_address": legal_address_problem(legal_flags),
        "article32": article32_problem(licences, today),
    }
    return [RuleResult(code, RULE_TITLES_FA[code], problem) for code, problem in problems.items()]


__all__ = [
    "Degree", "FieldMatch", "MAIN_FIELD_NAMES_FA", "RELATED_FIELDS_FA", "RuleResult", "article32_problem",
    "check_contact", "check_membership_degree", "check_national_id", "check_one_legal_address",
    "check_residence", "clean_name", "degree_qualifies", "degree_scan_problem", "is_valid_national_id",
    "legal_address_problem", "match_degree_field", "membership_degree_problem", "mobile_forms",
    "national_id_problem", "normalize_mobile", "residence_problem", "rule_report",
]
