"""Staff roles. The codes are stored in the database; the labels are what people read."""
from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    EXPERT = "expert"
    FINAL_REVIEWER = "final_reviewer"
    HEAD = "head"
    CENTRAL_EXPERT = "central_expert"
    FINANCE = "finance"
    COMMITTEE = "committee"
    RATING_COMMITTEE = "rating_committee"
    MANAGER = "manager"
    BOARD = "board"
    ADMIN = "admin"


ROLE_LABELS_FA: dict[Role, str] = {
    Role.EXPERT: "کارشناس استان",
    Role.FINAL_REVIEWER: "کارشناس بررسی نهایی",
    Role.HEAD: "رییس سازمان استان",
    Role.CENTRAL_EXPERT: "کارشناس سازمان مرکزی",
    Role.FINANCE: "امور مالی",
    Role.COMMITTEE: "کمیته پروانه اشتغال استان",
    Role.RATING_COMMITTEE: "کمیته تخصصی رتبه‌بندی استان",
    Role.MANAGER: "مدیر",
    Role.BOARD: "هیأت مدیره",
    Role.ADMIN: "مدیر سامانه",
}

ALL_ROLES: tuple[str, ...] = tuple(r.value for r in Role)

# Roles whose holders act on requests at some stage (they see a queue).
WORKING_ROLES = frozenset(
    {Role.EXPERT, Role.FINAL_REVIEWER, Role.HEAD, Role.CENTRAL_EXPERT, Role.FINANCE, Role.COMMITTEE,
     Role.RATING_COMMITTEE}
)


def role_label(code: str) -> str:
    try:
        return ROLE_LABELS_FA[Role(code)]
    except ValueError:
        return code

# Roles that may open requests (queue, request screen, documents, comments).
REQUEST_VIEWERS = WORKING_ROLES | {Role.MANAGER}
