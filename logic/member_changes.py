"""Staff corrections to a member's record, each with a reason and an audit event.

Seed 000: members cannot change their degrees themselves; a discrepancy is put right by the
province's experts. Every correction here:

1. checks the actor's role (expert, final reviewer or head of the province; central staff: the
   central expert) and province (another province's member is "not found", as on the profile),
2. locks the member row (`SELECT … FOR UPDATE`), so corrections of one member never interleave,
3. checks, when the form says what it showed (`seen`), that nobody changed those values since
   (otherwise `Conflict`, and nothing is written),
4. validates the result with `domain.member_rules`,
5. writes the change and one `audit_event` with the old and new values and the reason, and commits
   once. Any error rolls everything back: nothing changes on bad input.

Membership status, validity, grade and number are not corrected here: they change through requests
(renewal, the head's approval, licences) and Article 46, which have their own services.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import sqlalchemy as sa
from sqlalchemy.orm import Session

from db.engine import session_scope
from db.models import Address, Contact, Education, Member
from domain import member_rules as rules
from domain.actor import Actor
from domain.errors import Conflict, NotFound, PermissionDenied, ValidationError
from domain.jalali import now_tehran
from domain.national_id import birth_province
from domain.reference import DEGREE_LEVELS_FA, PROVINCE_NAMES_FA, RESIDENCE_PROOFS_FA
from domain.roles import Role
from domain.text import clean_reason, normalize_text, to_persian_digits
from logic.audit import record
from logic.members import NOT_FOUND

# Provincial staff who review members' records, and the central expert for central staff.
PROVINCE_CORRECTORS = frozenset({Role.EXPERT, Role.FINAL_REVIEWER, Role.HEAD})
CENTRAL_CORRECTORS = frozenset({Role.CENTRAL_EXPERT})

MAIN_FIELDS_FA = {
    "first_name": "نام", "last_name": "نام خانوادگی", "father_name": "نام پدر", "national_id": "کد ملی",
    "gender": "جنسیت", "birth_date": "تاریخ تولد", "birth_province_id": "استان محل تولد",
    "residence_proof": "مدرک سکونت",
}
EDUCATION_FIELDS_FA = {
    "level": "مقطع", "field": "رشته", "specialisation": "گرایش", "university": "دانشگاه",
    "graduated_on": "تاریخ دانش‌آموختگی", "verification_code": "کد استعلام / تأییدیه",
}
# Members in good standing must keep a qualifying degree (Article 45); an applicant's record is
# judged at the head's approval, and a former member's is history.
_HOLDING_STATUSES = ("active", "lapsed")

AUDIT_ACTIONS_FA = {
    "member_corrected": "اصلاح اطلاعات اصلی عضو",
    "education_corrected": "اصلاح اطلاعات تحصیلی عضو",
    "legal_address_set": "تعیین اقامتگاه قانونی عضو",
    "contact_activated": "فعال‌سازی اطلاعات تماس عضو",
    "contact_deactivated": "غیرفعال‌سازی اطلاعات تماس عضو",
}

_STALE = "اطلاعات این عضو پس از باز شدن فرم تغییر کرده است ({what})؛ صفحه را دوباره بارگذاری کنید."
_NO_CHANGE = "تغییری داده نشده است؛ مقدار تازه با مقدار فعلی یکسان است."
_EARLIEST = date(1900, 1, 1)


@dataclass(frozen=True)
class ChangeOutcome:
    member_id: int
    changed: tuple[str, ...]
    message: str


def may_correct(actor: Actor) -> bool:
    roles = CENTRAL_CORRECTORS if actor.is_central else PROVINCE_CORRECTORS | CENTRAL_CORRECTORS
    return actor.has(*roles)


def _require_corrector(actor: Actor) -> None:
    if not may_correct(actor):
        raise PermissionDenied("اصلاح اطلاعات اعضا فقط با کارشناس، کارشناس بررسی نهایی یا رییس سازمان استان "
                               "(و در سازمان مرکزی با کارشناس سازمان مرکزی) است.")


def _lock_member(s: Session, actor: Actor, member_id: int | None) -> Member:
    member = None if member_id is None else s.get(Member, member_id, with_for_update=True)
    if member is None or not actor.can_see_province(member.province_id):
        raise NotFound(NOT_FOUND)
    return member


def _json(value):
    return value.isoformat() if isinstance(value, date) else value


def _check_seen(current: dict, seen: dict | None, keys) -> None:
    if not seen:
        return
    changed = [k for k in keys if k in seen and _json(seen[k]) != _json(current[k])]
    if changed:
        what = "، ".join(MAIN_FIELDS_FA.get(k) or EDUCATION_FIELDS_FA.get(k, k) for k in changed)
        raise Conflict(_STALE.format(what=what))


def _diff(current: dict, wanted: dict) -> dict:
    changed = {k: v for k, v in wanted.items() if _json(v) != _json(current[k])}
    if not changed:
        raise ValidationError(_NO_CHANGE)
    return changed


def _audit(s: Session, actor: Actor, member: Member, action: str, entity: str, entity_id, reason: str,
           old: dict, new: dict) -> None:
    record(s, actor, action, entity, entity_id, province_id=member.province_id,
           data={"member_id": member.id, "national_id": member.national_id, "reason": reason,
                 "old": {k: _json(v) for k, v in old.items()}, "new": {k: _json(v) for k, v in new.items()}})


def _unknown_keys(changes: dict, allowed: dict) -> None:
    unknown = sorted(set(changes) - set(allowed))
    if unknown:
        raise ValidationError("این اطلاعات از این راه اصلاح‌شدنی نیست: " + "، ".join(unknown))


def _check_date(value, label: str) -> date | None:
    if value is None:
        return None
    if not isinstance(value, date):
        raise ValidationError(f"{label} معتبر نیست.")
    if value > now_tehran().date() or value < _EARLIEST:
        raise ValidationError(f"{label} نمی‌تواند در آینده یا پیش از ۱۲۷۹ باشد.")
    return value


# --- main information -----------------------------------------------------------------------------

def _clean_main(key: str, value):
    if key in ("first_name", "last_name"):
        return rules.clean_name(value, MAIN_FIELDS_FA[key])
    if key == "father_name":
        return rules.clean_name(value, MAIN_FIELDS_FA[key], required=False)
    if key == "national_id":
        return rules.check_national_id(value)
    if key == "gender":
        if value not in ("m", "f"):
            raise ValidationError("جنسیت باید «زن» یا «مرد» باشد.")
        return value
    if key == "birth_date":
        return _check_date(value, "تاریخ تولد")
    if key == "birth_province_id":
        if value not in PROVINCE_NAMES_FA:
            raise ValidationError("استان محل تولد شناخته‌شده نیست.")
        return value
    if key == "residence_proof":
        value = value or None
        if value is not None and value not in RESIDENCE_PROOFS_FA:
            raise ValidationError("مدرک سکونت انتخاب‌شده از مدارک پذیرفته‌شده نیست.")
        return value
    raise ValidationError("این اطلاعات از این راه اصلاح‌شدنی نیست.")


def _birth_province_from_id(current: dict, wanted: dict) -> dict:
    """Where the national ID's prefix names its issuing province, that is the birth province: derived
    when the ID changes alone, and a submitted birth province that contradicts it is refused."""
    if "national_id" not in wanted and "birth_province_id" not in wanted:
        return wanted
    national_id = wanted.get("national_id", current["national_id"])
    known = birth_province(national_id)
    if known is None:
        return wanted
    if "birth_province_id" not in wanted:
        return {**wanted, "birth_province_id": known}
    if wanted["birth_province_id"] != known:
        raise ValidationError(
            f"استان محل تولد با کد ملی نمی‌خواند: کد ملی {to_persian_digits(national_id)} را ثبت احوال "
            f"{PROVINCE_NAMES_FA[known]} صادر کرده است؛ استان محل تولد از کد ملی گرفته می‌شود "
            f"({PROVINCE_NAMES_FA[known]}).")
    return wanted


def correct_main_info(engine: sa.Engine, actor: Actor, member_id: int, changes: dict, reason: str, *,
                      seen: dict | None = None) -> ChangeOutcome:
    """Correct the member's identity data (names, national ID, gender, birth date and province,
    residence proof). `changes` maps field names of `MAIN_FIELDS_FA` to their new values. Where the
    national ID's first three digits name a known registry office, the birth province is that office's
    province (`domain.national_id.birth_province`): it follows a corrected ID, and a birth province
    that contradicts the ID is refused."""
    _require_corrector(actor)
    reason = clean_reason(reason, field="دلیل اصلاح")
    _unknown_keys(changes, MAIN_FIELDS_FA)
    wanted = {k: _clean_main(k, v) for k, v in changes.items()}
    with session_scope(engine) as s:
        member = _lock_member(s, actor, member_id)
        current = {k: getattr(member, k) for k in MAIN_FIELDS_FA}
        _check_seen(current, seen, wanted)
        wanted = _birth_province_from_id(current, wanted)
        changed = _diff(current, wanted)
        after = {**current, **changed}
        rules.check_residence(after["birth_province_id"], member.province_id, after["residence_proof"])
        if "national_id" in changed and s.scalar(sa.select(sa.func.count()).select_from(Member).where(
                Member.national_id == changed["national_id"], Member.id != member.id)):
            raise Conflict("این کد ملی برای عضو دیگری ثبت شده است.")
        for k, v in changed.items():
            setattr(member, k, v)
        _audit(s, actor, member, "member_corrected", "member", member.id, reason,
               {k: current[k] for k in changed}, changed)
        s.flush()
        names = "، ".join(MAIN_FIELDS_FA[k] for k in changed)
        return ChangeOutcome(member.id, tuple(changed), f"اطلاعات اصلی عضو اصلاح شد ({names}).")


# --- education ------------------------------------------------------------------------------------

def _clean_education(key: str, value):
    if key == "level":
        if value not in DEGREE_LEVELS_FA:
            raise ValidationError("مقطع تحصیلی شناخته‌شده نیست.")
        return value
    if key == "field":
        text = normalize_text(value or "")
        if not text:
            raise ValidationError("رشتهٔ تحصیلی نمی‌تواند خالی باشد.")
        if len(text) > 200:
            raise ValidationError("رشتهٔ تحصیلی بیش از اندازه بلند است.")
        return text
    if key in ("specialisation", "university"):
        text = normalize_text(value or "")
        if len(text) > 200:
            raise ValidationError(f"{EDUCATION_FIELDS_FA[key]} بیش از اندازه بلند است.")
        return text or None
    if key == "graduated_on":
        return _check_date(value, "تاریخ دانش‌آموختگی")
    if key == "verification_code":
        text = normalize_text(value or "").replace(" ", "")
        if not text:
            return None
        if not text.replace("-", "").isascii() or not text.replace("-", "").isalnum() or not 4 <= len(text) <= 40:
            raise ValidationError("کد استعلام باید ۴ تا ۴۰ رقم یا حرف لاتین باشد.")
        return text
    raise ValidationError("این اطلاعات از این راه اصلاح‌شدنی نیست.")


def correct_education(engine: sa.Engine, actor: Actor, education_id: int, changes: dict, reason: str, *,
                      seen: dict | None = None) -> ChangeOutcome:
    """Correct one degree (level, field, specialisation, university, graduation date, verification
    code). A member in good standing must still hold a qualifying degree afterwards (Article 45)."""
    _require_corrector(actor)
    reason = clean_reason(reason, field="دلیل اصلاح")
    _unknown_keys(changes, EDUCATION_FIELDS_FA)
    wanted = {k: _clean_education(k, v) for k, v in changes.items()}
    with session_scope(engine) as s:
        member = _lock_member(s, actor, s.scalar(sa.select(Education.member_id).where(Education.id == education_id)))
        edu = s.get(Education, education_id)
        current = {k: getattr(edu, k) for k in EDUCATION_FIELDS_FA}
        _check_seen(current, seen, wanted)
        changed = _diff(current, wanted)
        after = {**current, **changed}
        if member.status in _HOLDING_STATUSES:
            degrees = [rules.Degree(e.level, e.field, e.specialisation) for e in
                       s.scalars(sa.select(Education).where(Education.member_id == member.id,
                                                            Education.id != edu.id))]
            degrees.append(rules.Degree(after["level"], after["field"], after["specialisation"]))
            problem = rules.membership_degree_problem(degrees)
            if problem:
                raise ValidationError(problem + " پایان عضویت به دلیل از دست رفتن شرط، روند جداگانهٔ مادهٔ ۴۶ را دارد.")
        for k, v in changed.items():
            setattr(edu, k, v)
        _audit(s, actor, member, "education_corrected", "education", edu.id, reason,
               {k: current[k] for k in changed}, changed)
        s.flush()
        names = "، ".join(EDUCATION_FIELDS_FA[k] for k in changed)
        return ChangeOutcome(member.id, tuple(changed),
                             f"مدرک «{DEGREE_LEVELS_FA[after['level']]}» عضو اصلاح شد ({names}).")


# --- addresses and contacts -------------------------------------------------------------------------

def set_legal_address(engine: sa.Engine, actor: Actor, address_id: int, reason: str) -> ChangeOutcome:
    """Make this address the member's legal address (اقامتگاه قانونی) and no other, in one
    transaction: afterwards the member has exactly one."""
    _require_corrector(actor)
    reason = clean_reason(reason, field="دلیل تغییر")
    with session_scope(engine) as s:
        member = _lock_member(s, actor, s.scalar(sa.select(Address.member_id).where(Address.id == address_id)))
        addresses = s.scalars(sa.select(Address).where(Address.member_id == member.id).order_by(Address.id)
                              .with_for_update()).all()
        old = [a.id for a in addresses if a.is_legal]
        if old == [address_id]:
            raise ValidationError("این نشانی هم‌اکنون اقامتگاه قانونی عضو است.")
        # Two statements: the partial unique index is checked row by row, so the old legal address
        # is cleared before the new one is set.
        s.execute(sa.update(Address).where(Address.member_id == member.id, Address.is_legal)
                  .values(is_legal=False))
        s.execute(sa.update(Address).where(Address.id == address_id).values(is_legal=True))
        s.expire_all()
        flags = s.scalars(sa.select(Address.is_legal).where(Address.member_id == member.id)).all()
        rules.check_one_legal_address(flags)
        _audit(s, actor, member, "legal_address_set", "address", address_id, reason,
               {"legal_address_id": old[0] if old else None}, {"legal_address_id": address_id})
        return ChangeOutcome(member.id, ("is_legal",), "اقامتگاه قانونی عضو تعیین شد.")


def set_contact_active(engine: sa.Engine, actor: Actor, contact_id: int, active: bool, reason: str) -> ChangeOutcome:
    """Switch one contact (phone, mobile, e-mail) on or off; it is kept either way (seed 000)."""
    _require_corrector(actor)
    if not isinstance(active, bool):
        raise ValidationError("وضعیت اطلاعات تماس باید فعال یا غیرفعال باشد.")
    reason = clean_reason(reason, field="دلیل تغییر")
    with session_scope(engine) as s:
        member = _lock_member(s, actor, s.scalar(sa.select(Contact.member_id).where(Contact.id == contact_id)))
        contact = s.get(Contact, contact_id, with_for_update=True)
        if contact.is_active == active:
            raise ValidationError("این اطلاعات تماس هم‌اکنون " + ("فعال" if active else "غیرفعال") + " است.")
        contact.is_active = active
        _audit(s, actor, member, "contact_activated" if active else "contact_deactivated", "contact", contact.id,
               reason, {"is_active": not active, "value": contact.value}, {"is_active": active})
        s.flush()
        state = "فعال" if active else "غیرفعال"
        return ChangeOutcome(member.id, ("is_active",), f"اطلاعات تماس {to_persian_digits(contact.value)} {state} شد.")
