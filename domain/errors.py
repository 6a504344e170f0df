"""Typed domain errors. Each carries a Persian message that a screen can show as it is."""
from __future__ import annotations


class DomainError(Exception):
    """Base of every error a user may see. `message` is Persian, ready for the screen."""

    default_message = "عملیات انجام نشد."

    def __init__(self, message: str | None = None, **details):
        self.message = message or self.default_message
        self.details = details
        super().__init__(self.message)


class ValidationError(DomainError):
    default_message = "مقدار واردشده معتبر نیست."


class PermissionDenied(DomainError):
    default_message = "شما اجازهٔ انجام این کار را ندارید."


class NotFound(DomainError):
    default_message = "مورد خواسته‌شده پیدا نشد."


class InvalidTransition(DomainError):
    default_message = "این اقدام در مرحلهٔ فعلی درخواست مجاز نیست."


class StaleRequest(DomainError):
    default_message = "این درخواست پیش از شما توسط شخص دیگری تغییر کرده است."


class Conflict(DomainError):
    default_message = "این عملیات با وضعیت فعلی داده‌ها تعارض دارد."


class ServiceUnavailable(DomainError):
    default_message = "ارتباط با پایگاه داده برقرار نیست. لطفاً چند لحظه بعد دوباره تلاش کنید."
