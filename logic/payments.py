"""Confirmed payments from the national gateway. A bank reference pays once; replaying the same
confirmation changes nothing and says so.

Finance records a payment by hand or imports the gateway's CSV file; each row of a file is its own
transaction, so a bad row does not undo the good ones and importing the same file again changes
nothing. The finance screen's queries (amounts waiting for approval, requests waiting for payment,
recent payments) live here too.
"""
from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone

import sqlalchemy as sa
from sqlalchemy.orm import Session, aliased

from db.engine import session_scope
from db.models import FeeAssessment, Member, Payment, Request, StaffUser
from domain.actor import Actor
from domain.errors import Conflict, DomainError, NotFound, PermissionDenied, ValidationError
from domain.jalali import TEHRAN, now_tehran, parse_jalali_date, to_gregorian
from domain.machine import PAYMENT_CONFIRMED, Action, Transition, decide
from domain.processes import EXTEND_VALIDITY, PROCESSES, StageKind, Status, process
from domain.roles import Role
from domain.text import normalize_digits_only, normalize_text, parse_amount_rial, to_persian_digits
from logic.assessments import assess_from_tariff, current_assessment
from logic.calendar import calendar_for
from logic.scope import province_clause, require_province
from logic.workflow import apply, facts_for, state_of

# A payment time a little ahead of the server's clock is the bank's clock, not the future.
CLOCK_SKEW = timedelta(minutes=10)
MAX_IMPORT_ROWS = 5000


@dataclass(frozen=True)
class PaymentResult:
    payment_id: int
    request_id: int
    replayed: bool
    message: str


def _clean_reference(ref: str) -> str:
    ref = normalize_digits_only(ref or "").upper()
    if not (6 <= len(ref) <= 40) or not all(c.isascii() and (c.isalnum() or c == "-") for c in ref):
        raise ValidationError("شمارهٔ مرجع بانکی باید ۶ تا ۴۰ نویسهٔ لاتین یا رقم باشد.")
    return ref


def _require_finance(actor: Actor | None) -> None:
    if actor is not None and not actor.has(Role.FINANCE):
        raise PermissionDenied("ثبت پرداخت فقط برای امور مالی ممکن است.")


def _require_finance_reader(actor: Actor) -> None:
    # The payment screen's lists name members, amounts and bank references: finance's only.
    if not actor.has(Role.FINANCE):
        raise PermissionDenied("فهرست‌های پرداخت فقط برای امور مالی است.")


def confirm_payment(engine: sa.Engine, actor: Actor | None, request_id: int, bank_reference: str,
                    amount: int | str, *, paid_at: datetime | None = None, source: str = "manual",
                    now: datetime | None = None) -> PaymentResult:
    """Record a confirmed payment (finance, or the gateway import when `actor` is None) and move the
    request past its payment stage, in one transaction."""
    _require_finance(actor)
    ref = _clean_reference(bank_reference)
    amount = parse_amount_rial(amount)
    if amount <= 0:
        raise ValidationError("مبلغ پرداخت باید بیشتر از صفر باشد.")
    now = now or now_tehran()
    paid_at = paid_at or now
    if paid_at.tzinfo is None:
        paid_at = paid_at.replace(tzinfo=TEHRAN)
    if paid_at > now + CLOCK_SKEW:
        raise ValidationError("زمان پرداخت در آینده است؛ تاریخ و ساعت پرداخت را بررسی کنید.")
    with session_scope(engine) as s:
        # Serialise confirmations of the same reference so two arriving at once cannot both pass.
        s.execute(sa.text("SELECT pg_advisory_xact_lock(hashtext(:r))"), {"r": ref})
        req = s.scalar(sa.select(Request).where(Request.id == request_id).with_for_update())
        if req is None:
            raise NotFound("درخواست پیدا نشد.")
        if actor is not None:  # before anything about the payment is told: another province's is not ours
            require_province(actor, req.province_id)
        existing = s.scalar(sa.select(Payment).where(Payment.bank_reference == ref))
        if existing is not None:
            if existing.request_id == request_id and existing.amount == amount:
                return PaymentResult(existing.id, request_id, True,
                                     "این پرداخت پیش‌تر ثبت شده است؛ تغییری داده نشد.")
            raise Conflict("این شمارهٔ مرجع بانکی پیش‌تر برای پرداخت دیگری ثبت شده است.")
        if paid_at < req.submitted_at:
            raise ValidationError("زمان پرداخت پیش از ثبت درخواست است؛ کد رهگیری یا تاریخ پرداخت را بررسی کنید.")
        assessment = current_assessment(s, req.id)
        if assessment is None and req.status == Status.OPEN \
                and process(req.type_code).stage(req.stage_code).kind is StageKind.PAYMENT:
            # The tariff may have been entered after the payment stage opened.
            assessment = assess_from_tariff(s, req, now)
        if assessment is None:
            raise ValidationError("برای این درخواست مبلغی تعیین نشده است (یا تعرفهٔ سال جاری استان ثبت نشده است).")
        if assessment.finance_status in ("pending", "rejected"):
            raise ValidationError("مبلغ این درخواست هنوز توسط امور مالی تأیید نشده است.")
        if amount != assessment.total:
            raise ValidationError("مبلغ پرداخت با مبلغ تعیین‌شده برابر نیست.")
        payment = Payment(request_id=req.id, assessment_id=assessment.id, bank_reference=ref, amount=amount,
                          paid_at=paid_at, source=source, recorded_by=actor.id if actor else None,
                          recorded_at=now)
        s.add(payment)
        s.flush()
        t = _leave_payment_stage(s, req, actor, paid_at, now,
                                 {"bank_reference": ref, "amount": amount, "payment_id": payment.id})
        if EXTEND_VALIDITY in t.effects:
            return PaymentResult(payment.id, req.id, False, "پرداخت ثبت شد و اعتبار عضویت تمدید شد.")
        return PaymentResult(payment.id, req.id, False, "پرداخت ثبت شد.")


def _leave_payment_stage(s: Session, req: Request, actor: Actor | None, paid_at: datetime, now: datetime,
                         data: dict) -> Transition:
    """Leave the payment stage as of the payment's time, not the moment finance records it: the next
    stage's clock starts at the first opening after `paid_at` (a payment made at 22:00 on a Wednesday
    starts it on Saturday morning, even when finance records it on Saturday at noon). Seed 003:
    «در صورتی که درخواست شما خارج از وقت اداری برای مدیر پورتال ارسال شده باشد می بایست تا شروع روز کاری بعدی منتظر تأیید بمانید.»
    The rule decides at that moment (never before the payment stage opened, never after now); the
    event and the effects are written at `now`, when finance records the payment."""
    at = min(max(paid_at, req.stage_entered_at), now)
    cal = calendar_for(s, req.province_id)
    t = decide(state_of(req), Action(PAYMENT_CONFIRMED, data=data), actor,
               facts_for(s, req, at, PAYMENT_CONFIRMED), cal, at)
    apply(s, req, t, actor, cal, now)
    return t


def _clean_tracking_code(code: str) -> str:
    text = normalize_digits_only(code or "")
    if not re.fullmatch(r"[0-9]{10,14}", text):
        raise ValidationError("کد رهگیری درخواست باید ۱۰ تا ۱۴ رقم باشد.")
    return text


def request_for_code(s: Session, actor: Actor, tracking_code: str) -> Request:
    """The request with this tracking code in the actor's provinces (another province's is 'not found')."""
    _require_finance_reader(actor)
    code = _clean_tracking_code(tracking_code)
    req = s.scalar(sa.select(Request).where(Request.tracking_code == code,
                                            province_clause(actor, Request.province_id)))
    if req is None:
        raise NotFound(f"درخواستی با کد رهگیری {code} در استان شما پیدا نشد.")
    return req


def confirm_by_tracking_code(engine: sa.Engine, actor: Actor, tracking_code: str, bank_reference: str,
                             amount: int | str, *, paid_at: datetime | None = None, source: str = "manual",
                             now: datetime | None = None) -> PaymentResult:
    """Finance's form and the gateway file name the request by its tracking code."""
    _require_finance(actor)
    with session_scope(engine) as s:
        request_id = request_for_code(s, actor, tracking_code).id
    return confirm_payment(engine, actor, request_id, bank_reference, amount, paid_at=paid_at, source=source,
                           now=now)


# --- the gateway's CSV file ---------------------------------------------------------------------

CSV_COLUMNS = ("tracking_code", "bank_reference", "amount", "paid_at")
CSV_HELP_FA = (
    "فایل CSV با کدگذاری `UTF-8` و جداکنندهٔ ویرگول، با سطر عنوان دقیقاً این ستون‌ها: "
    "`tracking_code,bank_reference,amount,paid_at`.\n\n"
    "- `tracking_code`: کد رهگیری درخواست (۱۰ تا ۱۴ رقم)\n"
    "- `bank_reference`: شمارهٔ مرجع بانکی (۶ تا ۴۰ حرف لاتین، رقم یا خط تیره)؛ هر مرجع فقط یک بار پرداخت می‌کند\n"
    "- `amount`: مبلغ به ریال، عدد صحیح (رقم فارسی یا لاتین؛ اگر جداکنندهٔ هزارگان دارد، مقدار را در گیومه بگذارید)\n"
    "- `paid_at`: زمان پرداخت، شمسی مانند `1404/07/15 10:30` (ساعت اختیاری، به وقت تهران) یا `ISO 8601` میلادی "
    "مانند `2025-10-07T10:30:00+03:30` (بدون منطقهٔ زمانی یعنی وقت تهران)\n\n"
    "هر سطر جداگانه ثبت می‌شود؛ بارگذاری دوبارهٔ همان فایل چیزی را تغییر نمی‌دهد."
)

_DATETIME_RE = re.compile(
    r"([0-9]{4})\s*[-/.]\s*([0-9]{1,2})\s*[-/.]\s*([0-9]{1,2})"
    r"(?:(?:\s+|T)([0-9]{1,2}):([0-9]{2})(?::([0-9]{2})(?:\.[0-9]{1,6})?)?)?"
    r"\s*(Z|[+-][0-9]{2}:?[0-9]{2})?")


def parse_paid_at(text: str) -> datetime:
    """A payment time: Jalali ("1404/07/15 10:30", digits Persian or Latin) or ISO 8601 Gregorian
    ("2025-10-07T10:30:00+03:30"). Without a zone it is Tehran time."""
    value = normalize_text(text)
    m = _DATETIME_RE.fullmatch(value)
    if m is None:
        raise ValidationError("زمان پرداخت باید مانند 1404/07/15 10:30 (شمسی) یا 2025-10-07T10:30:00 (میلادی) باشد.")
    y, mo, d, hh, mi, ss, zone = m.groups()
    year = int(y)
    try:
        if year >= 1700:
            day = date(year, int(mo), int(d))
        else:
            day = to_gregorian(parse_jalali_date(f"{y}/{mo}/{d}"))
        tz = TEHRAN
        if zone:
            if zone == "Z":
                tz = timezone.utc
            else:
                sign = 1 if zone[0] == "+" else -1
                digits = zone[1:].replace(":", "")
                tz = timezone(sign * timedelta(hours=int(digits[:2]), minutes=int(digits[2:])))
        return datetime(day.year, day.month, day.day, int(hh or 0), int(mi or 0), int(ss or 0), tzinfo=tz)
    except ValueError:
        raise ValidationError(f"زمان پرداخت «{value}» وجود ندارد.") from None


@dataclass(frozen=True)
class ImportRow:
    line: int
    tracking_code: str
    bank_reference: str
    amount: str
    status: str     # recorded / replayed / error
    message: str


IMPORT_STATUS_FA = {"recorded": "ثبت شد", "replayed": "پیش‌تر ثبت شده بود", "error": "خطا"}


def _decode(data: bytes | str) -> str:
    if isinstance(data, str):
        return data.lstrip("\ufeff")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ValidationError("فایل باید با کدگذاری UTF-8 ذخیره شده باشد.") from None


def import_gateway_csv(engine: sa.Engine, actor: Actor, data: bytes | str, *,
                       now: datetime | None = None) -> list[ImportRow]:
    """Record every row of the gateway's file, each in its own transaction, and say what happened to it."""
    if actor is None or not actor.has(Role.FINANCE):
        raise PermissionDenied("بارگذاری فایل درگاه فقط برای امور مالی ممکن است.")
    try:
        # newline="" lets the csv module see the file's own line ends (a bare \r inside a cell).
        table = list(csv.reader(io.StringIO(_decode(data), newline="")))
    except csv.Error:
        raise ValidationError("فایل CSV خوانا نیست؛ قالب آن را بررسی کنید.") from None
    if not table:
        raise ValidationError("فایل خالی است.")
    header, body = table[0], table[1:]
    names = [normalize_text(h).lower() for h in header]
    missing = [c for c in CSV_COLUMNS if c not in names]
    if missing:
        raise ValidationError(f"ستون‌های لازم در سطر عنوان نیست: {', '.join(missing)}.")
    index = {c: names.index(c) for c in CSV_COLUMNS}
    rows = [(n, r) for n, r in enumerate(body, start=2) if any(cell.strip() for cell in r)]
    if len(rows) > MAX_IMPORT_ROWS:
        raise ValidationError(f"هر فایل حداکثر {to_persian_digits(MAX_IMPORT_ROWS)} سطر دارد؛ فایل را چند بخش کنید.")
    results = []
    for line, row in rows:
        cell = {c: (row[i].strip() if i < len(row) else "") for c, i in index.items()}
        try:
            result = confirm_by_tracking_code(engine, actor, cell["tracking_code"], cell["bank_reference"],
                                              cell["amount"], paid_at=parse_paid_at(cell["paid_at"]),
                                              source="gateway_csv", now=now)
            status, message = ("replayed" if result.replayed else "recorded"), result.message
        except DomainError as exc:
            status, message = "error", exc.message
        except sa.exc.SQLAlchemyError:
            status, message = "error", "خطای پایگاه داده؛ این سطر ثبت نشد. دوباره تلاش کنید."
        results.append(ImportRow(line, cell["tracking_code"], cell["bank_reference"], cell["amount"], status, message))
    return results


# --- what the finance screen lists --------------------------------------------------------------

@dataclass(frozen=True)
class PendingApproval:
    request_id: int
    tracking_code: str
    type_code: str
    stage_code: str
    version: int
    member_name: str
    national_id: str
    assessment_version: int
    lines: list
    prior_debt: int
    total: int
    new_valid_until: date | None
    note: str | None
    assessed_by: str | None
    assessed_at: datetime
    stage_due_at: datetime | None


def pending_finance_approvals(s: Session, actor: Actor, limit: int = 200) -> list[PendingApproval]:
    """Open requests at a finance-approval stage whose current assessment waits for finance."""
    _require_finance_reader(actor)
    finance_stages = [(p.code, st.code) for p in PROCESSES.values() for st in p.stages
                      if st.kind is StageKind.FINANCE]
    stage_match = sa.or_(*[sa.and_(Request.type_code == t, Request.stage_code == c) for t, c in finance_stages])
    newer = aliased(FeeAssessment)
    rows = s.execute(
        sa.select(Request, Member, FeeAssessment, StaffUser.full_name)
        .join(Member, Member.id == Request.member_id)
        .join(FeeAssessment, FeeAssessment.request_id == Request.id)
        .outerjoin(StaffUser, StaffUser.id == FeeAssessment.created_by)
        .where(Request.status == Status.OPEN, stage_match, province_clause(actor, Request.province_id),
               FeeAssessment.finance_status == "pending",
               FeeAssessment.version == sa.select(sa.func.max(newer.version))
               .where(newer.request_id == Request.id).correlate(Request).scalar_subquery())
        .order_by(Request.stage_due_at.asc().nulls_last(), Request.id).limit(limit)).all()
    return [PendingApproval(r.id, r.tracking_code, r.type_code, r.stage_code, r.version,
                            f"{m.first_name} {m.last_name}", m.national_id,
                            a.version, a.lines, a.prior_debt, a.total, a.new_valid_until, a.note, who, a.created_at,
                            r.stage_due_at) for r, m, a, who in rows]


@dataclass(frozen=True)
class AwaitingPayment:
    request_id: int
    tracking_code: str
    type_code: str
    member_name: str
    total: int | None
    since: datetime


def awaiting_payment(s: Session, actor: Actor, limit: int = 200) -> list[AwaitingPayment]:
    """Open requests at a payment stage, oldest first, with the amount to pay (None: not assessed yet)."""
    _require_finance_reader(actor)
    pay_stages = [(p.code, st.code) for p in PROCESSES.values() for st in p.stages if st.kind is StageKind.PAYMENT]
    stage_match = sa.or_(*[sa.and_(Request.type_code == t, Request.stage_code == c) for t, c in pay_stages])
    total = (sa.select(FeeAssessment.total).where(FeeAssessment.request_id == Request.id)
             .order_by(FeeAssessment.version.desc()).limit(1).scalar_subquery())
    rows = s.execute(
        sa.select(Request.id, Request.tracking_code, Request.type_code, Member.first_name, Member.last_name,
                  total.label("total"), Request.stage_entered_at)
        .join(Member, Member.id == Request.member_id)
        .where(Request.status == Status.OPEN, stage_match, province_clause(actor, Request.province_id))
        .order_by(Request.stage_entered_at, Request.id).limit(limit)).all()
    return [AwaitingPayment(r.id, r.tracking_code, r.type_code, f"{r.first_name} {r.last_name}", r.total,
                            r.stage_entered_at) for r in rows]


@dataclass(frozen=True)
class PaymentRow:
    id: int
    tracking_code: str
    member_name: str
    bank_reference: str
    amount: int
    paid_at: datetime
    source: str
    recorded_by: str | None


SOURCE_FA = {"manual": "ثبت دستی", "gateway_csv": "فایل درگاه", "demo": "داده‌ٔ نمایشی"}


def recent_payments(s: Session, actor: Actor, limit: int = 50) -> list[PaymentRow]:
    """The latest payments by payment time (walks ix_payment_paid_at backwards)."""
    _require_finance_reader(actor)
    rows = s.execute(
        sa.select(Payment, Request.tracking_code, Member.first_name, Member.last_name, StaffUser.full_name)
        .join(Request, Request.id == Payment.request_id).join(Member, Member.id == Request.member_id)
        .outerjoin(StaffUser, StaffUser.id == Payment.recorded_by)
        .where(province_clause(actor, Request.province_id))
        .order_by(Payment.paid_at.desc(), Payment.id.desc()).limit(limit)).all()
    return [PaymentRow(p.id, code, f"{fn} {ln}", p.bank_reference, p.amount, p.paid_at, p.source, who)
            for p, code, fn, ln, who in rows]


@dataclass(frozen=True)
class CodeLookup:
    request_id: int
    tracking_code: str
    type_code: str
    stage_code: str
    status: str
    member_name: str
    total: int | None
    finance_status: str | None


def lookup_for_payment(s: Session, actor: Actor, tracking_code: str) -> CodeLookup:
    """What finance sees beside the payment form once the tracking code is typed."""
    req = request_for_code(s, actor, tracking_code)
    member = s.get(Member, req.member_id)
    a = current_assessment(s, req.id)
    return CodeLookup(req.id, req.tracking_code, req.type_code, req.stage_code, req.status,
                      f"{member.first_name} {member.last_name}", a.total if a else None,
                      a.finance_status if a else None)
