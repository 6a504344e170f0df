"""The audit log of writes that are not request transitions. Always called inside the writer's own
transaction, so the change and its record commit or fail together."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from db.models import AuditEvent
from domain.actor import Actor


def record_export(s: Session, actor: Actor, action: str, fmt: str, flt: object, rows: int) -> None:
    """A bulk export of personal data: who, the filter, how many rows, which format."""
    shown = {k: str(v) for k, v in vars(flt).items() if v not in (None, "") and k not in ("page", "page_size")}
    record(s, actor, action, "export", None, province_id=actor.province_id,
           data={"format": fmt, "rows": rows, "filter": shown})


def record(s: Session, actor: Actor | None, action: str, entity: str, entity_id: object = None, *,
           province_id: int | None = None, data: dict | None = None, at: datetime | None = None) -> None:
    event = AuditEvent(actor_id=actor.id if actor else None, province_id=province_id, action=action,
                       entity=entity, entity_id=None if entity_id is None else str(entity_id), data=data or {})
    if at is not None:
        event.at = at
    s.add(event)
