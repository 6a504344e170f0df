"""Process definitions as data: every request type, its stages in order, who acts, the time limits,
the effects each stage has on the member's record, and the fees each type takes.

Source: seed 002 (the process charts), digested in shared/DOMAIN.md. `domain.machine.decide`, the
queue filters, the KPI queries, the documentation page and the database's `request_type` /
`request_stage` tables (synced by `db.reference`) all read this one module. Adding a request type is
adding an entry here (and, at most, one effect handler in `logic/effects.py`).

Limits are in working days, exactly as seed 002 gives them: a stage the chart gives no time has
none (`None`, shown «بدون مهلت مصوب»): its time is still measured, but it has no deadline and no
verdict, and a process without a total is not judged for SLA compliance. «کمتر از ۱ روز» is half a
working day on the clock (`LESS_THAN_A_DAY`), so that a total is never smaller than the sum of its
stage limits (the transfer: two such stages within «حداکثر ۱ روز»). Member stages (filling in,
paying) have no limit and stop the clock.

Effects are names. A stage names what happens when a request enters it (`on_enter`), leaves it
forward (`on_done`) or is rejected at it (`on_reject`); `logic.effects` maps each name to one
handler that writes it, in the transition's transaction.
"""
from __future__ import annotations

import functools
from dataclasses import dataclass, field
from enum import StrEnum
from decimal import Decimal
from fractions import Fraction

from domain.roles import Role
from domain.text import to_persian_digits

# Seed 002's «کمتر از ۱ روز»: half a working day on the clock, shown as the seed writes it.
LESS_THAN_A_DAY = Fraction(1, 2)
NO_LIMIT_FA = "بدون مهلت مصوب"
LESS_THAN_A_DAY_FA = "کمتر از ۱ روز"


def limit_decimal(days: int | Fraction | None) -> Decimal | None:
    """A limit in days as the exact decimal SQL stores and compares (0.5 for half a day)."""
    return None if days is None else Decimal(days.numerator) / Decimal(days.denominator)


def limit_fa(days: int | Fraction | None) -> str:
    """A time limit as a person reads it: working days, «کمتر از ۱ روز», or «بدون مهلت مصوب»."""
    if days is None:
        return NO_LIMIT_FA
    if days == LESS_THAN_A_DAY:
        return LESS_THAN_A_DAY_FA
    return f"{to_persian_digits(str(days))} روز کاری"


class StageKind(StrEnum):
    REVIEW = "review"          # approve / reject / return for correction
    FEE = "fee"                # an expert determines the fee, then approves
    FINANCE = "finance"        # finance confirms the assessed amount
    DECISION = "decision"      # the head approves or rejects
    COMMITTEE = "committee"    # the licence / specialised committee grants or refuses
    ISSUE = "issue"            # print, issue, ship: completes the stage
    MEMBER = "member"          # the member completes records: clock stopped
    PAYMENT = "payment"        # the member pays in the national gateway: clock stopped


MEMBER_KINDS = frozenset({StageKind.MEMBER, StageKind.PAYMENT})


class FeeRule(StrEnum):
    """What the expert sets at a fee stage."""

    MEMBERSHIP_YEARS = "membership_years"   # years of membership to renew, plus the prior debt
    LICENCE_YEARS = "licence_years"         # licence years to renew, each free or paid


class Condition(StrEnum):
    """Why an optional stage may be skipped."""

    FINANCE_APPROVAL = "finance_approval"   # the province requires finance to approve amounts
    REFERRAL = "referral"                   # the previous reviewer referred the request onward
    PAYABLE = "payable"                     # the current assessment is more than zero
    TOP_RANK = "top_rank"                   # a rating that asks for one of the two top ranks


@dataclass(frozen=True)
class Stage:
    code: str
    name_fa: str
    kind: StageKind
    role: Role | None = None
    limit_days: int | Fraction | None = None   # None: no limit in the seed (member stages never have one)
    checklist: tuple[str, ...] = ()
    optional: Condition | None = None
    # Stages whose actor must differ from this request's initial reviewer (four eyes).
    four_eyes: bool = False
    # The stage's approver becomes the request's initial reviewer (whom four-eyes stages exclude).
    records_reviewer: bool = False
    # Its time is not the province's: it does not count toward the process total, which waits
    # meanwhile (seed 002: the rating's 14 days exclude the central organisation's review).
    outside_total: bool = False
    # Its approval may grant a rank by the points earned instead of the one asked for (seed 002, note 2).
    grants_by_points: bool = False
    on_enter: tuple[str, ...] = ()
    on_done: tuple[str, ...] = ()
    on_reject: tuple[str, ...] = ()

    @functools.cached_property
    def clock_runs(self) -> bool:
        """Staff stages run the SLA clocks; the member's own stages stop them."""
        return self.kind not in MEMBER_KINDS


@dataclass(frozen=True)
class Process:
    code: str
    name_fa: str
    total_limit_days: int | None   # None: the seed gives no total (not judged for SLA compliance)
    stages: tuple[Stage, ...]
    description_fa: str = ""
    data_fields: tuple[tuple[str, str], ...] = field(default=())  # (key, Persian label) of the type's own data
    # Tariff items the payment stage charges when no expert determined the fee (FeeTariff columns).
    fee_items: tuple[str, ...] = ()
    # Years of membership validity the tariff payment buys (a new member pays this year's fee).
    validity_years: int = 0
    # How the expert determines the fee at the type's fee stage (domain.fees), if it has one.
    fee_rule: FeeRule | None = None
    # Submission only from the province's renewal window before the membership validity ends.
    renewal_window: bool = False
    # The kind of licence (`LICENCE_KINDS_FA`) the member must hold to file it: a renewal renews one.
    renews_licence: str | None = None
    # Seed 001: a service only for a member whose dues are paid (validity not lapsed); the membership
    # itself (joining, registering an old membership, renewing) stays open to everyone.
    needs_paid_dues: bool = True

    def stage(self, code: str) -> Stage:
        for s in self.stages:
            if s.code == code:
                return s
        raise KeyError(f"{self.code} has no stage {code}")

    def index(self, code: str) -> int:
        return [s.code for s in self.stages].index(code)

    @functools.cached_property
    def after(self) -> tuple[tuple[Stage, ...], ...]:
        """`after[i]`: the stages that follow stage i, in order."""
        return tuple(self.stages[i + 1:] for i in range(len(self.stages)))

    @functools.cached_property
    def takes_fees(self) -> bool:
        """Whether a fee is ever assessed, approved or paid in this process."""
        return any(s.kind in (StageKind.FEE, StageKind.FINANCE, StageKind.PAYMENT) for s in self.stages)

    @functools.cached_property
    def conditions(self) -> frozenset[Condition]:
        """The conditions its optional stages depend on."""
        return frozenset(s.optional for s in self.stages if s.optional is not None)

    def referral_after(self, index: int) -> Stage | None:
        """The stage a reviewer at stage `index` may refer the request to (one that only a referral
        opens), if one follows."""
        return next((s for s in self.after[index] if s.optional is Condition.REFERRAL), None)

    @functools.cached_property
    def effects(self) -> tuple[str, ...]:
        """Every effect its stages name, in stage order."""
        return tuple(e for s in self.stages for e in s.on_enter + s.on_done + s.on_reject)


INITIAL_REVIEW = "initial_review"
FINAL_REVIEW = "final_review"

# Effect names (logic.effects has one handler for each).
ASSESS_FROM_TARIFF = "assess_from_tariff"       # the payment stage's fee from this year's tariff
APPROVE_ASSESSMENT = "approve_assessment"       # finance's approval mark on the current assessment
REJECT_ASSESSMENT = "reject_assessment"
EXTEND_VALIDITY = "extend_validity"             # a paid renewal moves the validity to the assessed end
GRANT_MEMBERSHIP_NO = "grant_membership_no"     # the head assigns the engineering-system number
ACTIVATE_MEMBER = "activate_member"             # active, joined, grade 3, validity from the payment
REGISTER_OLD_MEMBERSHIP = "register_old_membership"  # the old number and the validity the expert verified
MOVE_PROVINCE = "move_province"                 # the member moves to the destination province
ISSUE_CARD = "issue_card"                       # a membership card issued and shipped
RECORD_RANK = "record_rank"                     # the rank granted or declared, with its kind
ISSUE_WORK_LICENCE = "issue_work_licence"       # a new work licence
RENEW_WORK_LICENCE = "renew_work_licence"       # the work licence's expiry moves by the renewed years
RENEW_ARTICLE32_LICENCE = "renew_article32_licence"
EFFECTS = frozenset({ASSESS_FROM_TARIFF, APPROVE_ASSESSMENT, REJECT_ASSESSMENT, EXTEND_VALIDITY,
                     GRANT_MEMBERSHIP_NO, ACTIVATE_MEMBER, REGISTER_OLD_MEMBERSHIP, MOVE_PROVINCE, ISSUE_CARD,
                     RECORD_RANK, ISSUE_WORK_LICENCE, RENEW_WORK_LICENCE, RENEW_ARTICLE32_LICENCE})

_IDENTITY_CHECKS = (
    "صحت مدارک هویتی بارگذاری‌شده (شناسنامه، کارت ملی و عکس پرسنلی) بررسی شد",
    "اطلاعات هویتی با مدارک مربوطه مطابقت داده شد",
    "مدرک یا مدارک تحصیلی بررسی و اطلاعات ثبت‌شده با آن تطبیق داده شد",
    "اطلاعات پستی، شغلی، شماره حساب و شماره شبا ثبت و بررسی شد",
)
# «بررسی مجدد و تایید صحت عملکرد کارشناس بررسی اولیه» (seed 002); «رندوم» only where the chart says so.
_RECHECK = ("کار کارشناس بررسی اولیه بررسی مجدد و صحت عملکرد او تأیید شد",)


def _initial(name_fa: str, kind: StageKind, limit: int | Fraction, *checks: str) -> Stage:
    return Stage(INITIAL_REVIEW, name_fa, kind, Role.EXPERT, limit, checks, records_reviewer=True)


def _final(role: Role = Role.FINAL_REVIEWER, *checks: str, limit: int | Fraction = 1,
           on_done: tuple[str, ...] = ()) -> Stage:
    return Stage(FINAL_REVIEW, "بررسی نهایی", StageKind.REVIEW, role, limit, checks or _RECHECK, four_eyes=True,
                 on_done=on_done)


def _payment(name_fa: str = "پرداخت هزینه", optional: Condition | None = None,
             on_done: tuple[str, ...] = ()) -> Stage:
    # A payment stage opening with nothing assessed takes its fee from the province's tariff.
    return Stage("payment", name_fa, StageKind.PAYMENT, optional=optional, on_enter=(ASSESS_FROM_TARIFF,),
                 on_done=on_done)


def _committee() -> Stage:
    # «برگزاری جلسات کمیته پروانه اشتغال حداقل هر ۲ هفته یکبار»: a request waits at most two weeks,
    # ten working days (the chart's only figure for this stage).
    return Stage("licence_committee", "کمیته پروانه اشتغال استان", StageKind.COMMITTEE, Role.COMMITTEE, 10,
                 ("صلاحیت عضو بر مبنای سوابق کاری و تجربی و دوره‌های آموزشی بررسی شد",))


def _print_licence(effect: str) -> Stage:
    # «صدور و چاپ پروانه اشتغال (توسط استان)»: the chart gives it no time.
    return Stage("licence_print", "صدور و چاپ پروانه اشتغال", StageKind.ISSUE, Role.EXPERT, None, on_done=(effect,))


def _card_issue(limit: int = 2) -> Stage:
    return Stage("card_issue", "صدور و ارسال کارت عضویت", StageKind.ISSUE, Role.CENTRAL_EXPERT, limit,
                 on_done=(ISSUE_CARD,))


def _existing_rating(code: str, name_fa: str, description_fa: str) -> Process:
    return Process(
        code, name_fa, 1,
        (
            _initial("بررسی اولیه", StageKind.REVIEW, LESS_THAN_A_DAY,
                     "اطلاعات رتبه و پروانه با گواهینامه و پروانهٔ بارگذاری‌شده و سوابق استان مطابقت دارد"),
            _final(limit=LESS_THAN_A_DAY, on_done=(RECORD_RANK,)),
        ),
        description_fa,
        (("rating_kind", "نوع (مشاور/پیمانکار)"), ("rank", "رتبه"), ("licence_expiry", "پایان اعتبار پروانه")),
    )


PROCESSES: dict[str, Process] = {p.code: p for p in (
    Process(
        "new_membership", "عضویت جدید", 5,
        (
            _initial("بررسی اولیه", StageKind.REVIEW, 1, *_IDENTITY_CHECKS),
            _final(Role.FINAL_REVIEWER,
                   "مدرک تحصیلی و کد ملی متقاضی دوباره بررسی شد",
                   "کار کارشناس بررسی اولیه به‌صورت رندوم دوباره بررسی شد"),
            _payment("پرداخت هزینهٔ عضویت، اعتبار و کارت"),
            Stage("head_approval", "بررسی رییس سازمان استان (اعطای شماره نظام مهندسی)", StageKind.DECISION,
                  Role.HEAD, 1, ("شرایط عضویت (مادهٔ ۴۵) احراز شد",),
                  on_done=(GRANT_MEMBERSHIP_NO, ACTIVATE_MEMBER)),
            _card_issue(),
        ),
        "ثبت‌نام عضو جدید حقیقی در سازمان استان",
        needs_paid_dues=False,
        # The stage is "payment of membership fee, validity and card" (seed 002): the card is paid here too.
        fee_items=("entrance_fee", "annual_fee", "card_fee"),
        validity_years=1,
    ),
    Process(
        "legacy_registration", "ثبت عضویت اعضای قدیمی", 2,
        (
            _initial("بررسی اولیه", StageKind.REVIEW, 1,
                     "شماره نظام مهندسی و اعتبار عضویت قدیمی متقاضی درست است", *_IDENTITY_CHECKS[:3],
                     "اطلاعات پستی، شغلی، شماره حساب و شماره ثنا ثبت و بررسی شد"),
            _final(Role.FINAL_REVIEWER,
                   "شماره نظام مهندسی، اعتبار عضویت قدیمی، مدرک تحصیلی و کد ملی دوباره بررسی شد",
                   on_done=(REGISTER_OLD_MEMBERSHIP,)),
        ),
        "اعضای قدیمی فاقد عضویت الکترونیک",
        (("old_membership_no", "شماره عضویت قدیمی"), ("old_valid_until", "اعتبار عضویت قدیمی")),
        needs_paid_dues=False,
    ),
    Process(
        # «زمانبری این فرآیند صفر می باشد»: no total and no stage limits.
        "membership_renewal", "تمدید عضویت", None,
        (
            Stage("fee_determination", "تعیین مبلغ (بدهی پیشین و سال‌های تمدید)", StageKind.FEE,
                  Role.EXPERT, None, ("پرداخت‌های پیشین عضو بررسی و بدهی پیشین تعیین شد",)),
            Stage("finance_approval", "تأیید مبلغ توسط امور مالی", StageKind.FINANCE, Role.FINANCE, None,
                  ("مبلغ تعیین‌شده با تعرفهٔ مصوب مطابقت دارد",), optional=Condition.FINANCE_APPROVAL,
                  on_done=(APPROVE_ASSESSMENT,), on_reject=(REJECT_ASSESSMENT,)),
            _payment("پرداخت حق عضویت", on_done=(EXTEND_VALIDITY,)),
        ),
        "تمدید اعتبار عضویت؛ با پرداخت، فرایند خودکار پایان می‌یابد",
        (("renewal_years", "تعداد سال‌های تمدید"),),
        fee_rule=FeeRule.MEMBERSHIP_YEARS,
        renewal_window=True,
        needs_paid_dues=False,
    ),
    Process(
        "transfer", "انتقال عضویت", 1,
        (
            _initial("بررسی اولیه و تسویهٔ بدهی‌ها", StageKind.REVIEW, LESS_THAN_A_DAY,
                     "بدهی حق عضویت تسویه شده است",
                     "بدهی پروانهٔ اشتغال تسویه شده است",
                     "بدهی پروانهٔ کارشناسان مادهٔ ۳۲ تسویه شده است"),
            _final(limit=LESS_THAN_A_DAY),
            Stage("head_approval", "بررسی و تایید رییس سازمان استان", StageKind.DECISION, Role.HEAD, None,
                  ("انتقال به استان مقصد تأیید شد",), on_done=(MOVE_PROVINCE,)),
        ),
        "انتقال عضویت به استان دیگر",
        (("destination_province", "استان مقصد"), ("destination_address", "نشانی پستی در استان مقصد")),
    ),
    Process(
        "card_reissue", "صدور مجدد کارت عضویت", 2,
        (_payment("پرداخت هزینهٔ صدور کارت"), _card_issue()),
        "صدور دوبارهٔ کارت عضویت (پرداخت فقط برای اشخاص حقیقی)",
        fee_items=("card_fee",),
    ),
    Process(
        "rating", "رتبه‌بندی", 14,
        (
            Stage("complete_records", "تکمیل اطلاعات", StageKind.MEMBER),
            _payment("پرداخت هزینهٔ اولیه"),
            _initial("بررسی اولیه", StageKind.REVIEW, 3, "همهٔ مدارک و مستندات هر بخش بررسی و تأیید یا رد شد"),
            Stage("supervisory_review", "بررسی و تایید صحت عملکرد کارشناس بررسی اولیه", StageKind.REVIEW,
                  Role.FINAL_REVIEWER, 2, ("صحت عملکرد کارشناس بررسی اولیه تأیید شد",), four_eyes=True),
            # Seed 002, notes 1-2: the two top ranks are reviewed by the central organisation, which may
            # refer a request that does not meet their conditions to the provincial rating committee.
            # The chart gives it no time, and the province's 14 days do not count it.
            Stage("central_review", "کارشناسی سازمان مرکزی (دو رتبهٔ نهایی)", StageKind.REVIEW,
                  Role.CENTRAL_EXPERT, None, ("شرایط دو رتبهٔ نهایی بر اساس امتیاز کسب‌شده بررسی شد",),
                  optional=Condition.TOP_RANK, outside_total=True, grants_by_points=True),
            # The rating's own committee (seed 002: «کمیته تخصصی استان»), not the licence committee.
            Stage("specialised_committee", "کمیته تخصصی استان (در صورت نیاز)", StageKind.COMMITTEE,
                  Role.RATING_COMMITTEE, None,
                  ("مقالات و طرح‌های پژوهشی بررسی شد",), optional=Condition.REFERRAL),
            _final(on_done=(RECORD_RANK,)),
        ),
        "رتبه‌بندی مشاوران و پیمانکاران؛ دو رتبهٔ بالا به سازمان مرکزی می‌رود",
        (("rating_kind", "نوع (مشاور/پیمانکار)"), ("requested_rank", "رتبهٔ درخواستی")),
        fee_items=("rating_fee",),
    ),
    # Seed 002's two charts for a rank already held: one not yet in the system, and one the central
    # organisation registered, which the member corrects; the same two reviews.
    _existing_rating("rating_registration", "اعلام رتبه‌بندی قدیمی",
                     "ثبت رتبه و پروانهٔ اشتغالی که در سامانه ثبت نشده است"),
    _existing_rating("rating_correction", "ویرایش رتبه ثبت شده توسط سازمان",
                     "اعضایی که رتبهٔ آن‌ها در سامانه توسط سازمان مرکزی ثبت شده است"),
    Process(
        "licence_issue", "صدور پروانه اشتغال", 14,
        (
            _payment("پرداخت هزینهٔ صدور پروانه"),
            _initial("بررسی اولیه", StageKind.REVIEW, 1,
                     "مدارک و مستندات بارگذاری‌شده بررسی شد",
                     "نوع درخواست با اطلاعات رتبه‌ای عضو تطبیق داده شد"),
            _final(),
            _committee(),
            _print_licence(ISSUE_WORK_LICENCE),
        ),
        "صدور پروانهٔ اشتغال به کار با سوابق کاری و دوره‌های آموزشی",
        (("competencies", "صلاحیت‌های درخواستی"),),
        fee_items=("licence_issue_fee",),
    ),
    Process(
        "licence_renewal", "تمدید پروانه اشتغال", None,
        (
            _initial("بررسی اولیه و تعیین سال‌های تمدید", StageKind.FEE, LESS_THAN_A_DAY,
                     "سال یا سال‌های تمدید و رایگان یا پولی بودن هر سال تعیین شد"),
            _final(limit=LESS_THAN_A_DAY),
            _payment("پرداخت هزینهٔ تمدید پروانه", optional=Condition.PAYABLE),
            _committee(),
            _print_licence(RENEW_WORK_LICENCE),
        ),
        "تمدید پروانهٔ اشتغال؛ معافیت شورای مرکزی یا با پرداخت هزینه",
        (("renewal_years", "تعداد سال‌های تمدید"),),
        fee_rule=FeeRule.LICENCE_YEARS,
        renews_licence="work",
    ),
    Process(
        "article32_renewal", "تمدید پروانهٔ کارشناسان مادهٔ ۳۲", None,
        (
            _payment("پرداخت هزینهٔ تمدید پروانهٔ مادهٔ ۳۲"),
            _initial("بررسی اولیه", StageKind.REVIEW, LESS_THAN_A_DAY,
                     "پروانهٔ اشتغال معتبر عضو بررسی شد", "پروانهٔ قدیمی بارگذاری‌شده بررسی شد"),
            _final(Role.CENTRAL_EXPERT, "صحت عملکرد کارشناس استان تأیید شد", limit=LESS_THAN_A_DAY),
            Stage("card_issue", "صدور، چاپ و ارسال کارت و پروانهٔ کارشناسان مادهٔ ۳۲", StageKind.ISSUE,
                  Role.CENTRAL_EXPERT, LESS_THAN_A_DAY, on_done=(RENEW_ARTICLE32_LICENCE,)),
        ),
        "تمدید پروانهٔ کارشناسان مادهٔ ۳۲ (نیازمند پروانهٔ اشتغال معتبر)",
        (("renewal_years", "تعداد سال‌های تمدید"),),
        fee_items=("article32_renewal_fee",),
        renews_licence="article32",
    ),
)}


def process(code: str) -> Process:
    try:
        return PROCESSES[code]
    except KeyError:
        raise KeyError(f"unknown request type {code}") from None


def stages_for_role(role: str) -> list[tuple[str, str]]:
    """(type code, stage code) pairs at which `role` acts: the queue's 'my group' filter."""
    return [(p.code, s.code) for p in PROCESSES.values() for s in p.stages if s.role == role]


# Request lifecycle states (stored in request.status).
class Status(StrEnum):
    OPEN = "open"              # at a stage, waiting for staff or for the member's payment
    RETURNED = "returned"      # returned to the member for correction: clock stopped
    COMPLETED = "completed"
    REJECTED = "rejected"


STATUS_LABELS_FA = {
    Status.OPEN: "در جریان",
    Status.RETURNED: "بازگشت به عضو برای اصلاح",
    Status.COMPLETED: "پایان‌یافته",
    Status.REJECTED: "ردشده",
}
CLOSED_STATUSES = frozenset({Status.COMPLETED, Status.REJECTED})


# Actions written to the request event log, with the Persian label the timeline shows.
ACTIONS_FA: dict[str, str] = {
    "submit": "ثبت درخواست",
    "claim": "برداشتن کار",
    "unclaim": "رها کردن کار",
    "assign": "ارجاع به کارشناس",
    "approve": "تأیید",
    "reject": "رد",
    "return": "بازگشت به عضو برای اصلاح",
    "resubmit": "ارسال دوباره توسط عضو",
    "member_completed": "تکمیل اطلاعات توسط عضو",
    "fee_assessed": "تعیین مبلغ",
    "finance_approved": "تأیید مبلغ توسط امور مالی",
    "payment_confirmed": "پرداخت تأییدشده",
    "committee_decision": "تصمیم کمیته",
    "complete": "صدور و پایان",
    "comment": "یادداشت",
    "document_verdict": "نظر دربارهٔ مدرک",
    "deadline_recomputed": "محاسبهٔ دوبارهٔ مهلت",
    "document_uploaded": "بارگذاری مدرک",
}
# Actions that do not change the request's state: they do not bump its version.
NOTE_ACTIONS = frozenset({"comment", "document_verdict", "deadline_recomputed", "fee_assessed"})


# Which actions each kind of stage accepts from staff.
STAFF_ACTIONS: dict[StageKind, frozenset[str]] = {
    StageKind.REVIEW: frozenset({"approve", "reject", "return"}),
    StageKind.FEE: frozenset({"approve", "reject", "return"}),
    StageKind.FINANCE: frozenset({"approve", "reject"}),
    StageKind.DECISION: frozenset({"approve", "reject"}),
    StageKind.COMMITTEE: frozenset({"approve", "reject"}),
    StageKind.ISSUE: frozenset({"complete"}),
}

# The event (and stage-visit outcome) that records leaving a stage of each kind forward.
DONE_ACTIONS: dict[StageKind, str] = {
    StageKind.COMMITTEE: "committee_decision",
    StageKind.ISSUE: "complete",
    StageKind.PAYMENT: "payment_confirmed",
    StageKind.MEMBER: "member_completed",
}


def done_action(stage: Stage) -> str:
    return DONE_ACTIONS.get(stage.kind, "approve")


# (type code, stage code) -> (process, stage, its index): the state machine's look-up.
STAGE_INDEX: dict[tuple[str, str], tuple[Process, Stage, int]] = {
    (p.code, s.code): (p, s, i) for p in PROCESSES.values() for i, s in enumerate(p.stages)}

# Derived from the definitions above, for the SQL that needs them as lists: staff stages the seed
# gives no time (open there is «بدون مهلت مصوب», not paused), stages the process total leaves out,
# and the types whose closed requests are judged against a total.
NO_LIMIT_STAGES: tuple[tuple[str, str], ...] = tuple(
    (p.code, s.code) for p in PROCESSES.values() for s in p.stages if s.clock_runs and s.limit_days is None)
OUTSIDE_TOTAL_STAGES: tuple[tuple[str, str], ...] = tuple(
    (p.code, s.code) for p in PROCESSES.values() for s in p.stages if s.outside_total)
JUDGED_TYPES: tuple[str, ...] = tuple(p.code for p in PROCESSES.values() if p.total_limit_days is not None)
