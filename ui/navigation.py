"""Which screens each role gets. A page a role may not use is never registered for it, so its URL
leads nowhere; the services in logic/ check permissions again on every action and query."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import streamlit as st

from domain.actor import Actor
from domain.roles import Role

PAGES_DIR = Path(__file__).resolve().parent.parent / "pages"

ALL = frozenset(Role)
WORKERS = frozenset({Role.EXPERT, Role.FINAL_REVIEWER, Role.HEAD, Role.CENTRAL_EXPERT, Role.FINANCE,
                     Role.COMMITTEE, Role.RATING_COMMITTEE, Role.MANAGER})


@dataclass(frozen=True)
class PageSpec:
    file: str
    title: str
    icon: str
    section: str
    roles: frozenset[str]
    url_path: str


PAGES: tuple[PageSpec, ...] = (
    PageSpec("home.py", "پیشخوان", ":material/home:", "کار روزانه", ALL, "home"),
    PageSpec("queue.py", "کارتابل", ":material/inbox:", "کار روزانه", WORKERS, "queue"),
    PageSpec("request.py", "پروندهٔ درخواست", ":material/description:", "کار روزانه", WORKERS, "request"),
    PageSpec("members.py", "اعضا", ":material/groups:", "کار روزانه",
             frozenset({Role.EXPERT, Role.FINAL_REVIEWER, Role.HEAD, Role.CENTRAL_EXPERT, Role.MANAGER,
                        Role.FINANCE}), "members"),
    PageSpec("member.py", "پروندهٔ عضو", ":material/badge:", "کار روزانه",
             frozenset({Role.EXPERT, Role.FINAL_REVIEWER, Role.HEAD, Role.CENTRAL_EXPERT, Role.MANAGER,
                        Role.FINANCE}), "member"),
    PageSpec("payments.py", "پرداخت‌ها", ":material/payments:", "مالی", frozenset({Role.FINANCE}), "payments"),
    PageSpec("tariffs.py", "تعرفه‌ها", ":material/request_quote:", "مالی",
             frozenset({Role.FINANCE, Role.ADMIN}), "tariffs"),
    PageSpec("kpi.py", "شاخص‌های عملکرد", ":material/speed:", "گزارش‌ها", frozenset({Role.MANAGER}), "kpi"),
    PageSpec("analytics.py", "تحلیل‌ها", ":material/insights:", "گزارش‌ها",
             frozenset({Role.MANAGER, Role.BOARD}), "analytics"),
    PageSpec("releases.py", "انتشار آمار", ":material/publish:", "گزارش‌ها", frozenset({Role.BOARD}), "releases"),
    PageSpec("processes.py", "فرایندها و مهلت‌ها", ":material/account_tree:", "راهنما", ALL, "processes"),
    PageSpec("account.py", "حساب کاربری", ":material/person:", "راهنما", ALL, "account"),
    PageSpec("holidays.py", "تقویم کاری و تعطیلات", ":material/event:", "مدیریت سامانه",
             frozenset({Role.ADMIN}), "holidays"),
    PageSpec("staff.py", "کاربران", ":material/manage_accounts:", "مدیریت سامانه",
             frozenset({Role.ADMIN}), "staff"),
    PageSpec("audit.py", "گزارش رویدادها", ":material/history:", "مدیریت سامانه",
             frozenset({Role.ADMIN, Role.MANAGER}), "audit"),
)


def spec_for_file(page_file: str) -> PageSpec | None:
    name = Path(page_file).name
    return next((p for p in PAGES if p.file == name), None)


def pages_for(actor: Actor) -> list[PageSpec]:
    return [p for p in PAGES if actor.roles & {r.value for r in p.roles}]


def build_navigation(actor: Actor):
    """The navigation for this actor, and its pages by URL path."""
    sections: dict[str, list] = {}
    by_path: dict[str, st.Page] = {}
    for spec in pages_for(actor):
        page = st.Page(str(PAGES_DIR / spec.file), title=spec.title, icon=spec.icon, url_path=spec.url_path,
                       default=spec.url_path == "home")
        sections.setdefault(spec.section, []).append(page)
        by_path[spec.url_path] = page
    return st.navigation(sections), by_path
