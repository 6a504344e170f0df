"""Who acts: a staff member as the rules see them (the login and its checks are `logic.auth`)."""
from __future__ import annotations

from dataclasses import dataclass

from domain.reference import PROVINCE_NAMES_FA
from domain.roles import role_label


@dataclass(frozen=True)
class Actor:
    """The signed-in staff member, as every rule and service sees them."""

    id: int
    username: str
    full_name: str
    roles: frozenset[str]
    province_id: int | None  # None: central organisation, all provinces

    @property
    def is_central(self) -> bool:
        return self.province_id is None

    def has(self, *roles: str) -> bool:
        return bool(self.roles.intersection(roles))

    def can_see_province(self, province_id: int) -> bool:
        return self.province_id is None or self.province_id == province_id

    @property
    def province_label(self) -> str:
        return "سازمان مرکزی (همهٔ استان‌ها)" if self.province_id is None else PROVINCE_NAMES_FA[self.province_id]

    @property
    def roles_label(self) -> str:
        return "، ".join(role_label(r) for r in sorted(self.roles))
