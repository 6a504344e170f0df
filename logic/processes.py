"""Process definitions as data: every request type, its stages in order, who acts, the time limits.

Source: seed 002 (the process charts), digested in shared/DOMAIN.md. The workflow engine, the
queue filters, the KPI queries and the database's `request_type` / `request_stage` tables all read
this one module (the tables are synced from it by `db.reference`). Adding a request type is adding
an entry here and a migration that syncs it.

Limits are in working days; "less than one day" in the seed counts as 1. Member stages (filling
in, paying) have no limit and stop the clock.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from logic.roles import Role


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


class Condition(StrEnum):
    """Why an optional stage may be skipped."""

    FINANCE_APPROVAL = "finance_approval"   # the province requires finance to approve amounts
    REFERRAL = "referral"                   # the previous reviewer referred the request onward
    PAYABLE = "payable"                     # the current assessment is more than zero


@dataclass(frozen=True)
class Stage:
    code: str
    name_fa: str
    kind: StageKind
    role: Role | None = None
    limit_days: int | None = None
    checklist: tuple[str, ...] = ()
    optional: Condition | None = None
    # Stages whose actor must differ from this request's initial reviewer (four eyes).
    four_eyes: bool = False

    @property
    def clock_runs(self) -> bool:
        return self.kind not in MEMBER_KINDS


@dataclass(frozen=True)
class Process:
    code: str
    name_fa: str
    total_limit_days: int
    stages: tuple[Stage, ...]
    description_fa: str = ""
    data_fields: tuple[tuple[str, str], ...] = field(default=())  # (key, Persian label) of the type's own data

    def stage(self, code: str) -> Stage:
        for s in self.stages:
            if s.code == code:
                return s
        raise KeyError(f"{self.code} has no stage {code}")

    def index(self, code: str) -> int:
        return [s.code for s in self.stages].index(code)


INITIAL_REVIEW = "initial_review"
FINAL_REVIEW = "final_review"

_IDENTITY_CHECKS = (
    "صحت مدارک هویتی بارگذاری‌شده (شناسنامه، کارت ملی و عکس پرسنلی) بررسی شد",
    "اطلاعات هویتی با مدارک مربوطه مطابقت داده شد",
    "مدرک یا مدارک تحصیلی بررسی و اطلاعات ثبت‌شده با آن تطبیق داده شد",
    "اطلاعات پستی، شغلی، شماره حساب و شماره شبا ثبت و بررسی شد",
)
_RECHECK = ("کار کارشناس بررسی اولیه به‌صورت نمونه‌ای دوباره بررسی شد",)


def _final(role: Role = Role.FINAL_REVIEWER, *checks: str) -> Stage:
    return Stage(FINAL_REVIEW, "بررسی نهایی", StageKind.REVIEW, role, 1, checks or _RECHECK, four_eyes=True)


def _payment(name_fa: str = "پرداخت هزینه", optional: Condition | None = None) -> Stage:
    return Stage("payment", name_fa, StageKind.PAYMENT, optional=optional)


def _committee() -> Stage:
    # The committee meets at least every two weeks: ten working days.
    return Stage("licence_committee", "کمیته پروانه اشتغال استان", StageKind.COMMITTEE, Role.COMMITTEE, 10,
                 ("صلاحیت عضو بر مبنای سوابق کاری و تجربی و دوره‌های آموزشی بررسی شد",))


def _print_licence() -> Stage:
    return Stage("licence_print", "صدور و چاپ پروانه اشتغال", StageKind.ISSUE, Role.EXPERT, 1)


def _card_issue(limit: int = 2) -> Stage:
    return Stage("card_issue", "صدور و ارسال کارت عضویت", StageKind.ISSUE, Role.CENTRAL_EXPERT, limit)


PROCESSES: dict[str, Process] = {p.code: p for p in (
    Process(
        "new_membership", "عضویت جدید", 5,
        (
            Stage(INITIAL_REVIEW, "بررسی اولیه", StageKind.REVIEW, Role.EXPERT, 1, _IDENTITY_CHECKS),
            _final(Role.FINAL_REVIEWER,
                   "مدرک تحصیلی و کد ملی متقاضی دوباره بررسی شد",
                   "کار کارشناس بررسی اولیه به‌صورت نمونه‌ای دوباره بررسی شد"),
            _payment("پرداخت هزینهٔ عضویت، اعتبار و کارت"),
            Stage("head_approval", "تأیید رییس سازمان و اعطای شماره نظام مهندسی", StageKind.DECISION,
                  Role.HEAD, 1, ("شرایط عضویت (مادهٔ ۴۵) احراز شد",)),
            _card_issue(),
        ),
        "ثبت‌نام عضو جدید حقیقی در سازمان استان",
    ),
    Process(
        "legacy_registration", "ثبت عضویت اعضای قدیمی", 2,
        (
            Stage(INITIAL_REVIEW, "بررسی اولیه", StageKind.REVIEW, Role.EXPERT, 1,
                  ("شماره نظام مهندسی و اعتبار عضویت قدیمی متقاضی درست است",) + _IDENTITY_CHECKS),
            _final(Role.FINAL_REVIEWER,
                   "شماره نظام مهندسی، اعتبار عضویت قدیمی، مدرک تحصیلی و کد ملی دوباره بررسی شد"),
        ),
        "اعضای قدیمی فاقد عضویت الکترونیک",
        (("old_membership_no", "شماره عضویت قدیمی"), ("old_valid_until", "اعتبار عضویت قدیمی")),
    ),
    Process(
        "membership_renewal", "تمدید عضویت", 2,
        (
            Stage("fee_determination", "تعیین مبلغ (بدهی پیشین و سال‌های تمدید)", StageKind.FEE,
                  Role.EXPERT, 1, ("پرداخت‌های پیشین عضو بررسی و بدهی پیشین تعیین شد",)),
            Stage("finance_approval", "تأیید مبلغ توسط امور مالی", StageKind.FINANCE, Role.FINANCE, 1,
                  ("مبلغ تعیین‌شده با تعرفهٔ مصوب مطابقت دارد",), optional=Condition.FINANCE_APPROVAL),
            _payment("پرداخت حق عضویت"),
        ),
        "تمدید اعتبار عضویت؛ با پرداخت، فرایند خودکار پایان می‌یابد",
        (("renewal_years", "تعداد سال‌های تمدید"),),
    ),
    Process(
        "transfer", "انتقال عضویت", 1,
        (
            Stage(INITIAL_REVIEW, "بررسی اولیه و تسویهٔ بدهی‌ها", StageKind.REVIEW, Role.EXPERT, 1,
                  ("بدهی حق عضویت تسویه شده است",
                   "بدهی پروانهٔ اشتغال تسویه شده است",
                   "بدهی پروانهٔ کارشناسان مادهٔ ۳۲ تسویه شده است")),
            _final(),
            Stage("head_approval", "تأیید رییس سازمان استان", StageKind.DECISION, Role.HEAD, 1,
                  ("انتقال به استان مقصد تأیید شد",)),
        ),
        "انتقال عضویت به استان دیگر",
        (("destination_province", "استان مقصد"), ("destination_address", "نشانی پستی در استان مقصد")),
    ),
    Process(
        "card_reissue", "صدور مجدد کارت عضویت", 2,
        (_payment("پرداخت هزینهٔ صدور کارت"), _card_issue()),
        "صدور دوبارهٔ کارت عضویت (پرداخت فقط برای اشخاص حقیقی)",
    ),
    Process(
        "rating", "رتبه‌بندی", 14,
        (
            Stage("complete_records", "تکمیل سوابق و مدارک", StageKind.MEMBER),
            _payment("پرداخت هزینهٔ اولیه"),
            Stage(INITIAL_REVIEW, "بررسی اولیه", StageKind.REVIEW, Role.EXPERT, 3,
                  ("همهٔ مدارک و مستندات هر بخش بررسی و تأیید یا رد شد",)),
            Stage("supervisory_review", "بررسی نظارتی کار کارشناس اولیه", StageKind.REVIEW,
                  Role.FINAL_REVIEWER, 2, ("صحت عملکرد کارشناس بررسی اولیه تأیید شد",), four_eyes=True),
            Stage("specialised_committee", "کمیتهٔ تخصصی استان", StageKind.COMMITTEE, Role.COMMITTEE, 5,
                  ("مقالات و طرح‌های پژوهشی بررسی شد",), optional=Condition.REFERRAL),
            _final(),
        ),
        "رتبه‌بندی مشاوران و پیمانکاران؛ دو رتبهٔ بالا به سازمان مرکزی می‌رود",
        (("rating_kind", "نوع (مشاور/پیمانکار)"), ("requested_rank", "رتبهٔ درخواستی")),
    ),
    Process(
        "rating_registration", "ثبت رتبهٔ موجود", 1,
        (
            Stage(INITIAL_REVIEW, "بررسی اولیه", StageKind.REVIEW, Role.EXPERT, 1,
                  ("اطلاعات رتبه و پروانه با گواهینامه و پروانهٔ بارگذاری‌شده و سوابق استان مطابقت دارد",)),
            _final(),
        ),
        "ثبت رتبه و پروانهٔ اشتغالی که در سامانه ثبت نشده است",
        (("rank", "رتبه"), ("licence_expiry", "پایان اعتبار پروانه")),
    ),
    Process(
        "licence_issue", "صدور پروانه اشتغال", 14,
        (
            _payment("پرداخت هزینهٔ صدور پروانه"),
            Stage(INITIAL_REVIEW, "بررسی اولیه", StageKind.REVIEW, Role.EXPERT, 1,
                  ("مدارک و مستندات بارگذاری‌شده بررسی شد",
                   "نوع درخواست با اطلاعات رتبه‌ای عضو تطبیق داده شد")),
            _final(),
            _committee(),
            _print_licence(),
        ),
        "صدور پروانهٔ اشتغال به کار با سوابق کاری و دوره‌های آموزشی",
        (("competencies", "صلاحیت‌های درخواستی"),),
    ),
    Process(
        "licence_renewal", "تمدید پروانه اشتغال", 14,
        (
            Stage(INITIAL_REVIEW, "بررسی اولیه و تعیین سال‌های تمدید", StageKind.FEE, Role.EXPERT, 1,
                  ("سال یا سال‌های تمدید و رایگان یا پولی بودن هر سال تعیین شد",)),
            _final(),
            _payment("پرداخت هزینهٔ تمدید پروانه", optional=Condition.PAYABLE),
            _committee(),
            _print_licence(),
        ),
        "تمدید پروانهٔ اشتغال؛ معافیت شورای مرکزی یا با پرداخت هزینه",
        (("renewal_years", "تعداد سال‌های تمدید"),),
    ),
    Process(
        "article32_renewal", "تمدید پروانهٔ کارشناسان مادهٔ ۳۲", 3,
        (
            _payment("پرداخت هزینهٔ تمدید پروانهٔ مادهٔ ۳۲"),
            Stage(INITIAL_REVIEW, "بررسی اولیه", StageKind.REVIEW, Role.EXPERT, 1,
                  ("پروانهٔ اشتغال معتبر عضو بررسی شد", "پروانهٔ قدیمی بارگذاری‌شده بررسی شد")),
            _final(Role.CENTRAL_EXPERT, "صحت عملکرد کارشناس استان تأیید شد"),
            Stage("card_issue", "صدور، چاپ و ارسال کارت و پروانهٔ مادهٔ ۳۲", StageKind.ISSUE,
                  Role.CENTRAL_EXPERT, 1),
        ),
        "تمدید پروانهٔ کارشناسان مادهٔ ۳۲ (نیازمند پروانهٔ اشتغال معتبر)",
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
