"""Confirmed payments from the national gateway. A bank reference pays once; replaying the same
confirmation changes nothing and says so."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa

from db.engine import session_scope
from db.models import Payment, Request
from logic.auth import Actor
from logic.calendar import calendar_for
from logic.errors import Conflict, NotFound, PermissionDenied, ValidationError
from logic.jalali import now_tehran
from logic.roles import Role
from logic.scope import require_province
from logic.text import normalize_digits_only, parse_amount_rial
from logic.workflow import advance_after_payment, current_assessment


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


def confirm_payment(engine: sa.Engine, actor: Actor | None, request_id: int, bank_reference: str,
                    amount: int | str, *, paid_at: datetime | None = None, source: str = "manual",
                    now: datetime | None = None) -> PaymentResult:
    """Record a confirmed payment (finance, or the gateway import when `actor` is None) and move the
    request past its payment stage, in one transaction."""
    if actor is not None and not actor.has(Role.FINANCE):
        raise PermissionDenied("ثبت پرداخت فقط برای امور مالی ممکن است.")
    ref = _clean_reference(bank_reference)
    amount = parse_amount_rial(amount)
    if amount <= 0:
        raise ValidationError("مبلغ پرداخت باید بیشتر از صفر باشد.")
    now = now or now_tehran()
    paid_at = paid_at or now
    with session_scope(engine) as s:
        # Serialise confirmations of the same reference so two arriving at once cannot both pass.
        s.execute(sa.text("SELECT pg_advisory_xact_lock(hashtext(:r))"), {"r": ref})
        existing = s.scalar(sa.select(Payment).where(Payment.bank_reference == ref))
        if existing is not None:
            if existing.request_id == request_id and existing.amount == amount:
                return PaymentResult(existing.id, request_id, True,
                                     "این پرداخت پیش‌تر ثبت شده است؛ تغییری داده نشد.")
            raise Conflict("این شمارهٔ مرجع بانکی پیش‌تر برای پرداخت دیگری ثبت شده است.")
        req = s.scalar(sa.select(Request).where(Request.id == request_id).with_for_update())
        if req is None:
            raise NotFound("درخواست پیدا نشد.")
        if actor is not None:
            require_province(actor, req.province_id)
        assessment = current_assessment(s, req.id)
        if assessment is None:
            raise ValidationError("برای این درخواست مبلغی تعیین نشده است.")
        if assessment.finance_status in ("pending", "rejected"):
            raise ValidationError("مبلغ این درخواست هنوز توسط امور مالی تأیید نشده است.")
        if amount != assessment.total:
            raise ValidationError("مبلغ پرداخت با مبلغ تعیین‌شده برابر نیست.")
        payment = Payment(request_id=req.id, assessment_id=assessment.id, bank_reference=ref, amount=amount,
                          paid_at=paid_at, source=source, recorded_by=actor.id if actor else None,
                          recorded_at=now)
        s.add(payment)
        s.flush()
        cal = calendar_for(s, req.province_id)
        advance_after_payment(s, req, cal, now, actor.id if actor else None,
                              {"bank_reference": ref, "amount": amount, "payment_id": payment.id})
        return PaymentResult(payment.id, req.id, False, "پرداخت ثبت شد.")
