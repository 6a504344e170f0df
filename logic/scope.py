"""Province scope: nobody sees or acts on another province's requests or members."""
from __future__ import annotations

import sqlalchemy as sa

from domain.actor import Actor
from domain.errors import PermissionDenied


def province_clause(actor: Actor, column) -> sa.ColumnElement[bool]:
    """SQL condition limiting `column` (a province id) to what `actor` may see."""
    return sa.true() if actor.province_id is None else column == actor.province_id


def require_province(actor: Actor, province_id: int) -> None:
    if not actor.can_see_province(province_id):
        raise PermissionDenied("این مورد به استان دیگری تعلق دارد و شما به آن دسترسی ندارید.")


def require_role(actor: Actor, *roles: str, message: str | None = None) -> None:
    if not actor.has(*roles):
        raise PermissionDenied(message)
