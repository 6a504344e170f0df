"""The members directory and the member profile (issue 7/8).

Directory: one search box, filters, server-side paging (LIMIT/OFFSET and a count) and export of
the whole filtered set. Every query is limited by `province_clause`, so no search, filter, page or
export reaches another province's members; the profile answers another province's member with
the same "not found" as an unknown one.

The search is index-friendly:
- a number (Persian, Arabic-Indic or Latin digits, with spaces or dashes) is looked up by equality
  on the national ID (unique index; leading zeros people drop are put back), the membership number
  (unique index; "08-0000123" also when typed without its dash) and the contact mobile (partial
  index `ix_contact_mobile`, in its 09…, 9…, 98… and +98… forms), combined so that PostgreSQL can
  OR the three index scans;
- words are prefixes of the name's words: every word typed must begin a word of the name ("عل کری"
  finds «علی کریمی»). The words of a name are the lexemes of `db.models.member_name_words` (the name
  split at its ZWNJs and joined without them, so «علی‌اکبر» is found with or without the
  half-space; a ZWNJ typed inside a word is left out). The directory matches them with a prefix
  tsquery on the GIN index `ix_member_name_fts` (`name_condition`); the queue reads the same words
  from `member_name_word` (migration 0021) by range scans of its primary key (`name_member_ids`).
  Words are normalised (Arabic ي/ك typed become Persian ی/ک, and the Arabic spelling is searched
  too, for names stored from an Arabic keyboard) and reduced to letters and digits, so no tsquery
  operator typed can reach PostgreSQL.
"""
from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Session

from db.engine import session_scope
from db.models import (Address, Contact, Document, Education, FamilyMember, Member, RecordChange, Request,
                       MemberNameWord, ValidityChange, WorkLicence, member_name_words)
from domain import member_rules as rules
from domain import outcomes
from domain.actor import Actor
from domain.errors import NotFound, PermissionDenied, ValidationError
from domain.jalali import format_jalali_date, now_tehran
from domain.processes import STATUS_LABELS_FA, Status, process
from domain.reference import (COMPETENCIES_FA, CONTACT_KINDS_FA, DEGREE_LEVELS_FA, FIELDS_FA, GRADES_FA,
                             LICENCE_KINDS_FA, MEMBER_STATUSES_FA, PROVINCE_NAMES_FA, RESIDENCE_PROOFS_FA)
from domain.roles import Role
from domain.text import fa_code, normalize_text, search_key, to_persian_digits
from logic.audit import record as audit_record
from logic.audit import record_export
from logic.documents import DocumentInfo, info
from logic.export import CountedRows, export_csv, export_xlsx
from logic.scope import province_clause

NOT_FOUND = "عضو پیدا نشد."

# Who may open the directory and profiles (the same roles as the pages in ui/navigation.py).
VIEWER_ROLES = frozenset({Role.EXPERT, Role.FINAL_REVIEWER, Role.HEAD, Role.CENTRAL_EXPERT, Role.MANAGER,
                          Role.FINANCE})

VALIDITY_FILTERS_FA = {"ending": "رو به پایان", "lapsed": "منقضی‌شده"}
LICENCE_FILTERS_FA = {"valid": "پروانهٔ اشتغال معتبر دارد", "none": "پروانهٔ اشتغال معتبر ندارد"}
SORTS_FA = {"name": "نام خانوادگی", "valid_until": "پایان اعتبار"}
GENDERS_FA = {"m": "مرد", "f": "زن"}
RELATIONS_FA = {"spouse": "همسر", "child": "فرزند"}
DEFAULT_PAGE_SIZE = 25
MAX_PAGE_SIZE = 100
DEFAULT_WITHIN_DAYS = 30
MAX_WITHIN_DAYS = 3 * 366
EXPORT_LIMIT = 100_000
MAX_SEARCH_WORDS = 6

# A number typed into the search box: digits, maybe with a leading + and spaces, dashes or slashes.
_NUMBER = re.compile(r"\+?[0-9][0-9\-/ ]*")
_TO_ARABIC_LETTERS = str.maketrans({"ی": "ي", "ک": "ك"})


def require_viewer(actor: Actor) -> None:
    if not actor.has(*VIEWER_ROLES):
        raise PermissionDenied("دیدن اطلاعات اعضا برای نقش شما ممکن نیست.")


def today_tehran() -> date:
    return now_tehran().date()


# --- search -------------------------------------------------------------------------------------

def _member_id_in(cond: sa.ColumnElement[bool]) -> sa.ColumnElement[bool]:
    """`member.id = ANY(ARRAY(ids of matching contacts))`: the ids are found once (an InitPlan over
    the contact index) and the member side is an index probe that can be OR-ed with the others."""
    ids = sa.select(sa.func.array_agg(Contact.member_id)).where(cond).scalar_subquery()
    return Member.id == sa.any_(sa.cast(ids, ARRAY(sa.BigInteger)))


def _number_condition(q: str) -> sa.ColumnElement[bool]:
    digits = re.sub(r"[^0-9]", "", q)
    numbers = {digits, q.replace(" ", "")}
    if len(digits) == 9:  # a membership number typed without its dashes: "08-0000123", "08-1-000123"
        numbers |= {f"{digits[:2]}-{digits[2:]}", f"{digits[:2]}-{digits[2]}-{digits[3:]}"}
    conds = [Member.membership_no.in_(sorted(numbers))]
    if 8 <= len(digits) <= 10:  # a national ID, maybe without the leading zeros a spreadsheet drops
        conds.append(Member.national_id == digits.zfill(10))
    mobile = rules.normalize_mobile(q)
    if mobile:
        conds.append(_member_id_in(sa.and_(Contact.kind == "mobile", Contact.value.in_(rules.mobile_forms(mobile)))))
    return sa.or_(*conds)


def _words(text: str) -> list[str]:
    """Runs of letters and digits. Marks are skipped, and so is a ZWNJ: the index holds every name's
    words also joined without it (db.models.member_name_words)."""
    words, current = [], []
    for ch in text + " ":
        if ch.isalnum():
            current.append(ch)
        elif ch != "\u200c" and not unicodedata.category(ch).startswith("M"):  # a separator
            if current:
                words.append("".join(current))
            current = []
    return words


def name_terms(text: str) -> list[tuple[str, ...]]:
    """The words typed, each with its spellings: ("علی", "علي") for «علی» (names stored from an Arabic
    keyboard are found too). Only letters and digits survive (see `_words`), at most MAX_SEARCH_WORDS."""
    terms = []
    for word in _words(search_key(text))[:MAX_SEARCH_WORDS]:
        arabic = word.translate(_TO_ARABIC_LETTERS)
        terms.append((word,) if arabic == word else (word, arabic))
    return terms


def name_tsquery(text: str) -> str | None:
    """The matching rule as a full-text query: "'علی':* & ('کریمی':* | 'كريمي':*)" against
    `db.models.member_name_words` (the directory's search). `name_member_ids` answers the same
    question from `member_name_word` (the queue's); the tests compare the two. Only letters and
    digits survive, so no tsquery operator or quote typed can reach PostgreSQL. Punctuation between
    letters separates words, as PostgreSQL's parser splits the stored names ("O'Brien" is the words
    o and brien); combining marks are dropped, as before."""
    terms = []
    for variants in name_terms(text):
        alternatives = " | ".join(f"'{v}':*" for v in variants)
        terms.append(f"({alternatives})" if len(variants) > 1 else alternatives)
    return " & ".join(terms) or None


# The largest code point: every word that begins with p sorts (in "C" order) from p up to p + this.
_LAST_CHAR = "\U0010ffff"


def _has_word_beginning(v: str) -> sa.Exists:
    return sa.exists().where(MemberNameWord.word >= v, MemberNameWord.word < v + _LAST_CHAR)


def spellings_in_use(session: Session, terms: list[tuple[str, ...]]) -> list[tuple[str, ...]]:
    """`terms` without the Arabic spellings no stored name has a word beginning with (one index probe
    each): the same matches, and a query of one range per word, whose row count the planner can
    estimate (it guesses 200 rows for a UNION, and then looked up member by member)."""
    others = sorted({v for variants in terms for v in variants[1:]})
    if not others:
        return terms
    row = session.execute(sa.select(*(_has_word_beginning(v) for v in others))).one()
    used = {v for v, present in zip(others, row) if present}
    return [(variants[0], *(v for v in variants[1:] if v in used)) for variants in terms]


def name_member_ids(text: str, session: Session | None = None) -> sa.Select | None:
    """Ids of the members every typed word begins a word of the name of (with either spelling):
    one index-only range scan of member_name_word's primary key per word, intersected. The words are
    the lexemes of the tsvector `name_tsquery` is matched against (migration 0021), so this finds
    exactly the members that query finds, without visiting the member table. With `session`, the
    spellings no name uses are left out first (`spellings_in_use`)."""
    terms = name_terms(text)
    if not terms:
        return None
    if session is not None:
        terms = spellings_in_use(session, terms)
    per_word = [_begins(variants) for variants in terms]
    return per_word[0] if len(per_word) == 1 else sa.intersect(*per_word)


def _begins(variants: tuple[str, ...]) -> sa.Select:
    """Members with a word beginning with one of the spellings: a UNION ALL of one range each (an OR
    of the ranges is read through a bitmap, which visits the table)."""
    ranges = [sa.select(MemberNameWord.member_id).where(MemberNameWord.word >= v, MemberNameWord.word < v + _LAST_CHAR)
              for v in variants]
    return ranges[0] if len(ranges) == 1 else sa.union_all(*ranges)


def name_words_match(member_id: sa.ColumnElement[int], text: str) -> sa.ColumnElement[bool]:
    """The same match tested for one row's member: for each typed word, an index-only probe of
    member_name_word (member_id, word). Written `EXISTS (…) IS TRUE` on purpose: PostgreSQL turns a
    bare EXISTS into a join, which loses the order the rows are read in; as a test on each row it
    keeps it, so a query walking an index in the page's order stops at the page. (The planner may
    still hash the words instead of probing, when they fit in memory.)"""
    terms = name_terms(text)
    if not terms:
        return sa.false()
    word = MemberNameWord.word
    return sa.and_(*(sa.exists().where(
        MemberNameWord.member_id == member_id,
        sa.or_(*(sa.and_(word >= v, word < v + _LAST_CHAR) for v in variants))).is_(sa.true())
        for variants in terms))


def name_condition(q: str) -> sa.ColumnElement[bool]:
    """The directory's name match: the full-text query over ix_member_name_fts (0012). The directory
    counts every match exactly and pages by name, and its plans over member_name_word were faster for
    a common name but slower for a single letter (docs/BENCHMARKS.md), so it keeps this one."""
    tsq = name_tsquery(q)
    if tsq is None:
        return sa.false()
    # Written out exactly as the index expression, so the planner matches ix_member_name_fts.
    return sa.text(f"{member_name_words('member.')} @@ to_tsquery('simple', :member_name_tsq)").bindparams(
        member_name_tsq=tsq)


def search_condition(text: str) -> sa.ColumnElement[bool] | None:
    """The directory's search box: a number, or words of the name (see the module's docstring)."""
    q = normalize_text(text)
    if not q:
        return None
    if _NUMBER.fullmatch(q):
        return _number_condition(q)
    cond = name_condition(q)
    if any(ch.isdigit() for ch in q) and " " not in q:  # a membership number with letters ("T-123")
        cond = sa.or_(cond, Member.membership_no.in_(sorted({q, q.upper()})))
    return cond


def search_hint(text: str) -> str | None:
    """A note for a ten-digit search that is not a valid national ID (a typo is the likely cause)."""
    q = normalize_text(text)
    if not q or not _NUMBER.fullmatch(q):
        return None
    digits = re.sub(r"[^0-9]", "", q)
    if len(digits) != 10 or digits.startswith("9"):  # 9xxxxxxxxx may be a mobile without its 0
        return None
    return rules.national_id_problem(digits)


# --- directory ----------------------------------------------------------------------------------

@dataclass(frozen=True)
class MemberFilter:
    search: str = ""
    field: str | None = None
    grade: int | None = None
    status: str | None = None
    validity: str | None = None          # "ending" (within `within_days`) or "lapsed"
    within_days: int = DEFAULT_WITHIN_DAYS
    licence: str | None = None           # "valid" or "none" (no valid work licence)
    sort: str = "name"
    page: int = 1
    page_size: int = DEFAULT_PAGE_SIZE


def expiring_filter(within_days: int = DEFAULT_WITHIN_DAYS, **kwargs) -> MemberFilter:
    """Active members whose validity ends within N days, soonest first: the outreach list."""
    return MemberFilter(validity="ending", within_days=within_days, status="active", sort="valid_until", **kwargs)


@dataclass(frozen=True)
class MemberRow:
    id: int
    national_id: str
    membership_no: str | None
    first_name: str
    last_name: str
    field: str
    grade: int | None
    status: str
    valid_until: date | None
    province_id: int
    mobile: str | None
    email: str | None
    has_valid_licence: bool

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}"

    @property
    def field_label(self) -> str:
        return FIELDS_FA.get(self.field, self.field)

    @property
    def grade_label(self) -> str:
        return GRADES_FA.get(self.grade, "—") if self.grade else "—"

    @property
    def status_label(self) -> str:
        return MEMBER_STATUSES_FA.get(self.status, self.status)

    def days_left(self, today: date) -> int | None:
        return None if self.valid_until is None else (self.valid_until - today).days


@dataclass(frozen=True)
class MemberPage:
    rows: list[MemberRow]
    total: int
    page: int
    pages: int


def _validate(flt: MemberFilter) -> None:
    if flt.field is not None and flt.field not in FIELDS_FA:
        raise ValidationError("رشتهٔ انتخاب‌شده شناخته‌شده نیست.")
    if flt.grade is not None and flt.grade not in GRADES_FA:
        raise ValidationError("پایهٔ انتخاب‌شده شناخته‌شده نیست.")
    if flt.status is not None and flt.status not in MEMBER_STATUSES_FA:
        raise ValidationError("وضعیت انتخاب‌شده شناخته‌شده نیست.")
    if flt.validity is not None and flt.validity not in VALIDITY_FILTERS_FA:
        raise ValidationError("فیلتر اعتبار عضویت شناخته‌شده نیست.")
    if flt.licence is not None and flt.licence not in LICENCE_FILTERS_FA:
        raise ValidationError("فیلتر پروانه شناخته‌شده نیست.")
    if flt.sort not in SORTS_FA:
        raise ValidationError("ترتیب انتخاب‌شده شناخته‌شده نیست.")
    if not isinstance(flt.within_days, int) or not 1 <= flt.within_days <= MAX_WITHIN_DAYS:
        raise ValidationError(f"تعداد روز باید عددی از ۱ تا {to_persian_digits(MAX_WITHIN_DAYS)} باشد.")


def _valid_licence(today: date) -> sa.Exists:
    return sa.exists().where(WorkLicence.member_id == Member.id, WorkLicence.kind == "work",
                             WorkLicence.expires_on >= today)


def _where(actor: Actor, flt: MemberFilter, today: date) -> list[sa.ColumnElement[bool]]:
    require_viewer(actor)
    _validate(flt)
    conds = [province_clause(actor, Member.province_id)]
    if flt.field:
        conds.append(Member.field == flt.field)
    if flt.grade:
        conds.append(Member.grade == flt.grade)
    if flt.status:
        conds.append(Member.status == flt.status)
    if flt.validity == "ending":
        conds += [Member.valid_until >= today, Member.valid_until <= today + timedelta(days=flt.within_days)]
    elif flt.validity == "lapsed":
        conds.append(Member.valid_until < today)
    if flt.licence == "valid":
        conds.append(_valid_licence(today))
    elif flt.licence == "none":
        conds.append(~_valid_licence(today))
    search = search_condition(flt.search)
    if search is not None:
        conds.append(search)
    return conds


def _order(sort: str) -> list:
    by_name = [Member.last_name, Member.first_name, Member.id]
    if sort == "valid_until":
        return [Member.valid_until.asc().nulls_last(), *by_name]
    return by_name


def _contact(kind: str) -> sa.ScalarSelect:
    return (sa.select(Contact.value)
            .where(Contact.member_id == Member.id, Contact.kind == kind, Contact.is_active)
            .order_by(Contact.id).limit(1).scalar_subquery())


def _rows_select(actor: Actor, flt: MemberFilter, today: date) -> sa.Select:
    return (sa.select(Member.id, Member.national_id, Member.membership_no, Member.first_name, Member.last_name,
                      Member.field, Member.grade, Member.status, Member.valid_until, Member.province_id,
                      _contact("mobile").label("mobile"), _contact("email").label("email"),
                      _valid_licence(today).label("has_valid_licence"))
            .where(*_where(actor, flt, today))
            .order_by(*_order(flt.sort)))


def count_members(session: Session, actor: Actor, flt: MemberFilter, today: date | None = None) -> int:
    today = today or today_tehran()
    return int(session.scalar(sa.select(sa.func.count()).select_from(Member).where(*_where(actor, flt, today))) or 0)


def member_page(session: Session, actor: Actor, flt: MemberFilter, today: date | None = None) -> MemberPage:
    """One page of the filtered, sorted members, and the count of all of them."""
    today = today or today_tehran()
    size = min(max(1, int(flt.page_size)), MAX_PAGE_SIZE)
    total = count_members(session, actor, flt, today)
    pages = max(1, math.ceil(total / size))
    page = min(max(1, int(flt.page)), pages)  # a narrower filter must not leave the user on an empty page
    result = session.execute(_rows_select(actor, flt, today).limit(size).offset((page - 1) * size)).all()
    return MemberPage([MemberRow(**r._mapping) for r in result], total, page, pages)


EXPORT_COLUMNS: list[tuple[str, str]] = [
    ("membership_no", "شمارهٔ عضویت"),
    ("national_id", "کد ملی"),
    ("first_name", "نام"),
    ("last_name", "نام خانوادگی"),
    ("field", "رشته"),
    ("grade", "پایه"),
    ("status", "وضعیت"),
    ("valid_until", "اعتبار عضویت تا"),
    ("days_left", "روز باقی‌مانده"),
    ("licence", "پروانهٔ اشتغال معتبر"),
    ("mobile", CONTACT_KINDS_FA["mobile"]),
    ("email", CONTACT_KINDS_FA["email"]),
    ("province", "استان"),
]


def export_rows(session: Session, actor: Actor, flt: MemberFilter, today: date | None = None,
                limit: int = EXPORT_LIMIT) -> Iterator[dict]:
    """The whole filtered set (not one page) as display rows, streamed with a server-side cursor."""
    today = today or today_tehran()
    stmt = _rows_select(actor, flt, today).limit(limit)
    for r in session.execute(stmt, execution_options={"yield_per": 2000}):
        row = MemberRow(**r._mapping)
        yield {
            "membership_no": row.membership_no or "", "national_id": row.national_id, "first_name": row.first_name,
            "last_name": row.last_name, "field": row.field_label, "grade": row.grade_label,
            "status": row.status_label, "valid_until": format_jalali_date(row.valid_until),
            "days_left": row.days_left(today), "licence": "دارد" if row.has_valid_licence else "ندارد",
            "mobile": row.mobile or "", "email": row.email or "",
            "province": PROVINCE_NAMES_FA.get(row.province_id, ""),
        }


def export_file(engine: sa.Engine, actor: Actor, flt: MemberFilter, fmt: str, today: date | None = None) -> bytes:
    """The filtered set as CSV (UTF-8 with a BOM) or XLSX, read in its own transaction."""
    if fmt not in ("csv", "xlsx"):
        raise ValidationError("قالب خروجی باید CSV یا XLSX باشد.")
    with session_scope(engine) as s:
        rows = CountedRows(export_rows(s, actor, flt, today))
        data = export_csv(rows, EXPORT_COLUMNS) if fmt == "csv" else export_xlsx(rows, EXPORT_COLUMNS, "اعضا")
        record_export(s, actor, "members_exported", fmt, flt, rows.count)  # names, national IDs, contacts
        return data


# --- profile ------------------------------------------------------------------------------------

@dataclass(frozen=True)
class MainInfo:
    id: int
    national_id: str
    membership_no: str | None
    first_name: str
    last_name: str
    father_name: str | None
    gender: str
    birth_date: date | None
    birth_province_id: int
    province_id: int
    field: str
    grade: int | None
    status: str
    joined_on: date | None
    valid_until: date | None
    residence_proof: str | None

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}"

    @property
    def born_elsewhere(self) -> bool:
        return self.birth_province_id != self.province_id

    def rows(self) -> list[tuple[str, str]]:
        """(label, display value) for the main-information section."""
        fa = to_persian_digits
        return [
            ("نام", self.first_name), ("نام خانوادگی", self.last_name), ("نام پدر", self.father_name or "—"),
            ("کد ملی", fa(self.national_id)), ("شمارهٔ عضویت", fa_code(self.membership_no) if self.membership_no else "—"),
            ("جنسیت", GENDERS_FA.get(self.gender, self.gender)), ("تاریخ تولد", format_jalali_date(self.birth_date)),
            ("استان محل تولد", PROVINCE_NAMES_FA.get(self.birth_province_id, "—")),
            ("استان عضویت", PROVINCE_NAMES_FA.get(self.province_id, "—")),
            ("رشته", FIELDS_FA.get(self.field, self.field)),
            ("پایه", GRADES_FA.get(self.grade, "—") if self.grade else "—"),
            ("وضعیت", MEMBER_STATUSES_FA.get(self.status, self.status)),
            ("تاریخ عضویت", format_jalali_date(self.joined_on)),
            ("اعتبار عضویت تا", format_jalali_date(self.valid_until)),
            ("مدرک سکونت", RESIDENCE_PROOFS_FA.get(self.residence_proof, "—") if self.residence_proof
             else ("لازم نیست (متولد همین استان)" if not self.born_elsewhere else "—")),
        ]


@dataclass(frozen=True)
class EducationItem:
    id: int
    level: str
    field: str
    specialisation: str | None
    university: str | None
    graduated_on: date | None
    verification_code: str | None
    document_id: int | None

    @property
    def level_label(self) -> str:
        return DEGREE_LEVELS_FA.get(self.level, self.level)

    @property
    def match(self) -> rules.FieldMatch | None:
        return rules.match_degree_field(self.field, self.specialisation)

    @property
    def qualifies(self) -> bool:
        return rules.degree_qualifies(self.level, self.field, self.specialisation)

    @property
    def condition_label(self) -> str:
        match = self.match
        if self.qualifies:
            return f"دارد ({match.label})"
        if match is None:
            return "ندارد (رشتهٔ غیرمرتبط)"
        return "ندارد (مقطع پایین‌تر از کارشناسی)"


@dataclass(frozen=True)
class ContactItem:
    id: int
    kind: str
    value: str
    is_active: bool

    @property
    def kind_label(self) -> str:
        return CONTACT_KINDS_FA.get(self.kind, self.kind)


@dataclass(frozen=True)
class AddressItem:
    id: int
    province_id: int
    city: str
    line: str
    postal_code: str | None
    is_legal: bool

    @property
    def label(self) -> str:
        province = PROVINCE_NAMES_FA.get(self.province_id, "")
        return f"{province}، {self.city}، {self.line}"


@dataclass(frozen=True)
class FamilyItem:
    relation: str
    first_name: str
    last_name: str
    national_id: str | None
    birth_date: date | None

    @property
    def relation_label(self) -> str:
        return RELATIONS_FA.get(self.relation, self.relation)


@dataclass(frozen=True)
class LicenceItem:
    id: int
    kind: str
    licence_no: str
    field: str
    grade: int
    competencies: tuple[str, ...]
    issued_on: date
    expires_on: date
    valid: bool
    tracking_code: str | None = None   # the request that issued it

    @property
    def kind_label(self) -> str:
        return LICENCE_KINDS_FA.get(self.kind, self.kind)

    @property
    def link(self) -> str | None:
        return request_link(self.tracking_code)

    @property
    def competencies_label(self) -> str:
        return "، ".join(COMPETENCIES_FA.get(c, c) for c in self.competencies) or "—"


def request_link(tracking_code: str | None) -> str | None:
    """The request screen's address of a request, for a link in a table."""
    return f"/request?code={tracking_code}" if tracking_code else None


@dataclass(frozen=True)
class RecordItem:
    """One change a request made to the member's record (`record_change`)."""
    at: datetime
    kind: str
    details: dict
    tracking_code: str | None

    @property
    def label(self) -> str:
        return outcomes.CHANGE_KINDS_FA.get(self.kind, self.kind)

    @property
    def summary(self) -> str:
        return outcomes.describe(self.kind, self.details)

    @property
    def link(self) -> str | None:
        return request_link(self.tracking_code)


@dataclass(frozen=True)
class ValidityItem:
    changed_at: datetime
    old_valid_until: date | None
    new_valid_until: date
    tracking_code: str | None


@dataclass(frozen=True)
class RequestItem:
    tracking_code: str
    type_code: str
    stage_code: str
    status: str
    submitted_at: datetime
    closed_at: datetime | None

    @property
    def type_name(self) -> str:
        return process(self.type_code).name_fa

    @property
    def stage_name(self) -> str:
        try:
            return process(self.type_code).stage(self.stage_code).name_fa
        except KeyError:
            return self.stage_code

    @property
    def status_label(self) -> str:
        return STATUS_LABELS_FA.get(Status(self.status), self.status)

    @property
    def link(self) -> str:
        return f"/request?code={self.tracking_code}"


@dataclass(frozen=True)
class ArchiveDocument:
    info: DocumentInfo
    description: str | None
    tracking_code: str | None   # the request it came with, or None for the member's own archive


@dataclass(frozen=True)
class MemberProfile:
    main: MainInfo
    educations: tuple[EducationItem, ...]
    contacts: tuple[ContactItem, ...]
    addresses: tuple[AddressItem, ...]
    documents: tuple[ArchiveDocument, ...]
    family: tuple[FamilyItem, ...]
    licences: tuple[LicenceItem, ...]
    validity: tuple[ValidityItem, ...]
    requests: tuple[RequestItem, ...]
    rules: tuple[rules.RuleResult, ...]
    record: tuple[RecordItem, ...] = ()

    @property
    def ranks(self) -> dict[str, RecordItem]:
        """The member's current rank of each kind (consultant, contractor): the latest recorded."""
        out: dict[str, RecordItem] = {}
        for item in self.record:  # newest first
            if item.kind == outcomes.RANK_RECORDED:
                out.setdefault(item.details.get("rating_kind", ""), item)
        return out

    @property
    def work_licences(self) -> tuple[LicenceItem, ...]:
        return tuple(x for x in self.licences if x.kind == "work")

    @property
    def article32_licences(self) -> tuple[LicenceItem, ...]:
        return tuple(x for x in self.licences if x.kind == "article32")

    @property
    def spouses(self) -> tuple[FamilyItem, ...]:
        return tuple(f for f in self.family if f.relation == "spouse")

    @property
    def children(self) -> tuple[FamilyItem, ...]:
        return tuple(f for f in self.family if f.relation == "child")


def find_member_id(session: Session, actor: Actor, key: str | int) -> int:
    """The id of the member with this id (int), or national ID or membership number (text), whom
    `actor` may see; NotFound otherwise, the same for another province's member as for nobody."""
    require_viewer(actor)
    if isinstance(key, int):
        cond = Member.id == key
    else:
        q = normalize_text(str(key)).replace(" ", "")
        if not q:
            raise NotFound(NOT_FOUND)
        digits = re.sub(r"[^0-9]", "", q)
        by_number = Member.membership_no.in_(sorted({q, q.upper()}))
        cond = sa.or_(Member.national_id == digits.zfill(10), by_number) if q.isdigit() and len(q) <= 10 \
            else by_number
    mid = session.scalar(sa.select(Member.id).where(cond, province_clause(actor, Member.province_id)).limit(1))
    if mid is None:
        raise NotFound(NOT_FOUND)
    return mid


def load_profile(session: Session, actor: Actor, key: str | int, today: date | None = None, *,
                 audit: bool = True) -> MemberProfile:
    """Everything the profile shows about one member, read in one session. With `audit`, the view
    is an audit event in the same transaction (a screen passes False when it only shows again what
    this session has already opened)."""
    today = today or today_tehran()
    mid = find_member_id(session, actor, key)
    m = session.get(Member, mid)
    if audit:
        audit_record(session, actor, "member_viewed", "member", mid, province_id=m.province_id)
    main = MainInfo(m.id, m.national_id, m.membership_no, m.first_name, m.last_name, m.father_name, m.gender,
                    m.birth_date, m.birth_province_id, m.province_id, m.field, m.grade, m.status, m.joined_on,
                    m.valid_until, m.residence_proof)
    educations = tuple(EducationItem(e.id, e.level, e.field, e.specialisation, e.university, e.graduated_on,
                                     e.verification_code, e.document_id)
                       for e in session.scalars(sa.select(Education).where(Education.member_id == mid)
                                                .order_by(Education.graduated_on.nulls_last(), Education.id)))
    contacts = tuple(ContactItem(c.id, c.kind, c.value, c.is_active)
                     for c in session.scalars(sa.select(Contact).where(Contact.member_id == mid)
                                              .order_by(Contact.is_active.desc(), Contact.kind, Contact.id)))
    addresses = tuple(AddressItem(a.id, a.province_id, a.city, a.line, a.postal_code, a.is_legal)
                      for a in session.scalars(sa.select(Address).where(Address.member_id == mid)
                                               .order_by(Address.is_legal.desc(), Address.id)))
    family = tuple(FamilyItem(f.relation, f.first_name, f.last_name, f.national_id, f.birth_date)
                   for f in session.scalars(sa.select(FamilyMember).where(FamilyMember.member_id == mid)
                                            .order_by(FamilyMember.relation.desc(), FamilyMember.birth_date,
                                                      FamilyMember.id)))
    licences = tuple(LicenceItem(w.id, w.kind, w.licence_no, w.field, w.grade, tuple(w.competencies or ()),
                                 w.issued_on, w.expires_on, w.expires_on >= today, code)
                     for w, code in session.execute(
                         sa.select(WorkLicence, Request.tracking_code)
                         .outerjoin(Request, Request.id == WorkLicence.request_id)
                         .where(WorkLicence.member_id == mid)
                         .order_by(WorkLicence.kind.desc(), WorkLicence.expires_on.desc())))
    record = tuple(RecordItem(c.at, c.kind, dict(c.details or {}), code)
                   for c, code in session.execute(
                       sa.select(RecordChange, Request.tracking_code)
                       .outerjoin(Request, Request.id == RecordChange.request_id)
                       .where(RecordChange.member_id == mid)
                       .order_by(RecordChange.at.desc(), RecordChange.id.desc())))
    validity = tuple(ValidityItem(r.changed_at, r.old_valid_until, r.new_valid_until, r.tracking_code)
                     for r in session.execute(
                         sa.select(ValidityChange.changed_at, ValidityChange.old_valid_until,
                                   ValidityChange.new_valid_until, Request.tracking_code)
                         .outerjoin(Request, Request.id == ValidityChange.request_id)
                         .where(ValidityChange.member_id == mid)
                         .order_by(ValidityChange.changed_at.desc(), ValidityChange.id.desc())))
    requests = tuple(RequestItem(r.tracking_code, r.type_code, r.stage_code, r.status, r.submitted_at, r.closed_at)
                     for r in session.execute(
                         sa.select(Request.tracking_code, Request.type_code, Request.stage_code, Request.status,
                                   Request.submitted_at, Request.closed_at)
                         .where(Request.member_id == mid, province_clause(actor, Request.province_id))
                         .order_by(Request.submitted_at.desc(), Request.id.desc())))
    documents = _documents(session, actor, mid)
    report = rules.rule_report(
        national_id=m.national_id,
        degrees=[rules.Degree(e.level, e.field, e.specialisation, e.document_id is not None) for e in educations],
        birth_province_id=m.birth_province_id, province_id=m.province_id, residence_proof=m.residence_proof,
        legal_flags=[a.is_legal for a in addresses], licences=[(w.kind, w.expires_on) for w in licences],
        today=today)
    return MemberProfile(main, educations, contacts, addresses, documents, family, licences, validity, requests,
                         tuple(report), record)


def _documents(session: Session, actor: Actor, member_id: int) -> tuple[ArchiveDocument, ...]:
    """The member's archive (documents of no request) first, then the documents that came with the
    requests this actor may see; each read later through logic.documents.read_document."""
    rows = session.execute(
        sa.select(Document, Request.tracking_code)
        .outerjoin(Request, Request.id == Document.request_id)
        .where(Document.member_id == member_id,
               sa.or_(Document.request_id.is_(None), province_clause(actor, Request.province_id)))
        .order_by(Document.request_id.is_not(None), Document.uploaded_at, Document.id)
    ).all()
    return tuple(ArchiveDocument(info(d), d.description, code) for d, code in rows)


def format_days_left(days: int | None) -> str:
    if days is None:
        return "—"
    if days < 0:
        return f"{to_persian_digits(-days)} روز گذشته"
    if days == 0:
        return "امروز"
    return f"{to_persian_digits(days)} روز"


__all__ = [
    "ArchiveDocument", "MemberFilter", "MemberPage", "MemberProfile", "MemberRow", "NOT_FOUND", "VIEWER_ROLES",
    "count_members", "expiring_filter", "export_file", "export_rows", "find_member_id", "format_days_left",
    "load_profile", "member_page", "name_condition", "name_member_ids", "name_terms", "name_tsquery",
    "name_words_match", "search_condition", "search_hint",
]
