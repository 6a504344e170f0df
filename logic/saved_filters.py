"""Saved queue filters: a member of staff keeps the queue's view, filters and sort under names of
their own, and gets them back at every sign-in (table `saved_queue_filter`, migration 0020).

Only their owner lists, applies or deletes them: another person's filter is not found, whatever its
id. A filter is stored as the page's widgets hold it (`FIELDS`); what the owner may no longer use (a
view or province that a change of roles took away) is left out when the filters are listed, so the
queue's own checks never meet it."""
from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import Session

from db.engine import session_scope
from db.models import SavedQueueFilter
from domain.actor import Actor
from domain.errors import NotFound, PermissionDenied, ValidationError
from domain.processes import PROCESSES
from domain.reference import PROVINCE_NAMES_FA
from domain.roles import REQUEST_VIEWERS
from domain.text import normalize_text
from domain.text import to_persian_digits as fa
from logic.audit import record
from logic.queue import SLA_FILTERS, SORTS_FA, available_views

NAME_LIMIT = 60  # the column's check (0020)
PER_PERSON = 30  # a list longer than this is no longer a quick choice
PAGE_SIZES = (25, 50, 100)
TEXT_LIMIT = 100  # the search box's and a date box's length on the page

# The fields kept, named as the queue page's widget keys without their "queue-" prefix.
FIELDS = ("view", "type", "stage", "sla", "search", "from", "to", "sort", "desc", "page-size", "province")


@dataclass(frozen=True)
class SavedFilter:
    id: int
    name: str
    filters: dict


@dataclass(frozen=True)
class SavedOutcome:
    id: int
    name: str
    message: str


def _require_queue(actor: Actor) -> None:
    if not actor.has(*REQUEST_VIEWERS):
        raise PermissionDenied("کارتابل و فیلترهای آن برای نقش شما نیست.")


def _usable(actor: Actor, filters: dict) -> dict:
    """The fields of `filters` this actor may use now, each of a value the queue page offers."""
    views = available_views(actor)
    type_code = filters.get("type")
    stages = ({s.code for s in PROCESSES[type_code].stages} if type_code in PROCESSES
              else {s.code for p in PROCESSES.values() for s in p.stages})
    checks = {
        "view": lambda v: v in views,
        "type": lambda v: v is None or v in PROCESSES,
        "stage": lambda v: v is None or v in stages,
        "sla": lambda v: v is None or v in SLA_FILTERS,
        "search": lambda v: isinstance(v, str) and len(v) <= TEXT_LIMIT,
        "from": lambda v: isinstance(v, str) and len(v) <= TEXT_LIMIT,
        "to": lambda v: isinstance(v, str) and len(v) <= TEXT_LIMIT,
        "sort": lambda v: v in SORTS_FA,
        "desc": lambda v: isinstance(v, bool),
        "page-size": lambda v: v in PAGE_SIZES and not isinstance(v, bool),
        "province": lambda v: v is None or (actor.is_central and v in PROVINCE_NAMES_FA and not isinstance(v, bool)),
    }
    return {k: v for k, v in filters.items() if k in checks and checks[k](v)}


def _clean_name(name: str) -> str:
    cleaned = " ".join(normalize_text(name or "").split())  # ي/ك to ی/ک, bidi controls out, spaces folded
    if not cleaned:
        raise ValidationError("برای فیلتر نامی بنویسید.")
    if len(cleaned) > NAME_LIMIT:
        raise ValidationError(f"نام فیلتر حداکثر {fa(NAME_LIMIT)} نویسه است؛ "
                              f"نام واردشده {fa(len(cleaned))} نویسه دارد.")
    return cleaned


def list_filters(session: Session, actor: Actor) -> list[SavedFilter]:
    """The actor's own saved filters, by name."""
    _require_queue(actor)
    rows = session.execute(sa.select(SavedQueueFilter.id, SavedQueueFilter.name, SavedQueueFilter.filters)
                           .where(SavedQueueFilter.staff_user_id == actor.id)
                           .order_by(SavedQueueFilter.name, SavedQueueFilter.id)).all()
    return [SavedFilter(r.id, r.name, _usable(actor, r.filters or {})) for r in rows]


def save_filter(engine: sa.Engine, actor: Actor, name: str, filters: dict) -> SavedOutcome:
    """Keep `filters` under `name` for the actor. A name already used is refused (not overwritten):
    two screens' worth of filters are not lost to a slip of the keyboard."""
    _require_queue(actor)
    name = _clean_name(name)
    unknown = set(filters) - set(FIELDS)
    usable = _usable(actor, filters)
    if unknown or set(usable) != set(filters):
        raise ValidationError("این فیلتر مقداری دارد که کارتابل شما نمی‌پذیرد.")
    with session_scope(engine) as s:
        # Serialise one person's saves, so the count and the name check below hold until commit.
        s.execute(sa.select(sa.func.pg_advisory_xact_lock(0x5F17, actor.id)))
        mine = s.execute(sa.select(SavedQueueFilter.name).where(SavedQueueFilter.staff_user_id == actor.id)
                         ).scalars().all()
        if name in mine:
            raise ValidationError(f"فیلتری به نام «{name}» پیش‌تر ذخیره کرده‌اید؛ نام دیگری برگزینید یا آن را "
                                  "نخست حذف کنید.")
        if len(mine) >= PER_PERSON:
            raise ValidationError(f"بیش از {fa(PER_PERSON)} فیلتر نمی‌توان ذخیره کرد؛ فیلتری را که دیگر به کار "
                                  "نمی‌آید حذف کنید.")
        row = SavedQueueFilter(staff_user_id=actor.id, name=name, filters=usable)
        s.add(row)
        s.flush()
        record(s, actor, "queue_filter_saved", "saved_queue_filter", row.id, province_id=actor.province_id,
               data={"name": name})
        return SavedOutcome(row.id, name, f"فیلتر «{name}» ذخیره شد.")


def delete_filter(engine: sa.Engine, actor: Actor, filter_id: int) -> SavedOutcome:
    """Delete one of the actor's own filters; another person's is not found."""
    _require_queue(actor)
    with session_scope(engine) as s:
        name = s.scalar(sa.delete(SavedQueueFilter)
                        .where(SavedQueueFilter.id == filter_id, SavedQueueFilter.staff_user_id == actor.id)
                        .returning(SavedQueueFilter.name))
        if name is None:
            raise NotFound("این فیلتر در فیلترهای ذخیره‌شدهٔ شما نیست.")
        record(s, actor, "queue_filter_deleted", "saved_queue_filter", filter_id, province_id=actor.province_id,
               data={"name": name})
        return SavedOutcome(filter_id, name, f"فیلتر «{name}» حذف شد.")

