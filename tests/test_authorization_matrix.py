"""Walk the authorization matrix of docs/SECURITY.md through the service layer: every role against
every action and query, on its own province and on another. The table is parsed from the document,
so the document and the code cannot drift apart."""
from __future__ import annotations

import itertools
import re
from datetime import date, datetime, timedelta

import pytest
import sqlalchemy as sa

from db.engine import session_scope
from domain import periods
from domain.errors import NotFound, PermissionDenied
from domain.jalali import TEHRAN, now_tehran
from domain.reference import DOCUMENT_TYPES_FA, ISFAHAN_ID, TEHRAN_ID
from domain.roles import Role
from logic import analytics, fees, holidays, kpi, members, payments, queue, staff, tariffs
from logic import workflow as wf
from logic.audit_view import AuditFilter, audit_page
from logic.auth import Actor
from logic.documents import read_document, set_verdict
from logic.request_view import load_request
from logic.uploads import store_document
from tests.conftest import ROOT
from tests.factories import (add_document, file_request, make_member, make_staff, req_row, step, tiny_png,
                             validity_for)

SAT_0800 = datetime(2026, 11, 21, 8, 0, tzinfo=TEHRAN)
ROLES = [r.value for r in Role]
_ids = itertools.count(1)
_tariff_years = itertools.count(1420)


def parse_matrix() -> dict[str, dict[str, str]]:
    text = (ROOT / "docs" / "SECURITY.md").read_text(encoding="utf-8")
    lines = [ln for ln in text.splitlines() if ln.startswith("| ")]
    header = [c.strip() for c in lines[0].strip("|").split("|")]
    assert header[1:] == ROLES, "the matrix columns must be the roles, in domain.roles order"
    matrix = {}
    for line in lines[2:]:
        cells = [c.strip() for c in line.strip("|").split("|")]
        if re.fullmatch(r"[a-z_]+", cells[0]):
            matrix[cells[0]] = dict(zip(ROLES, cells[1:]))
    return matrix


MATRIX = parse_matrix()


def drivers(engine, province_id: int) -> dict[str, Actor]:
    """Staff who move requests to the stage under test (not the actors under test)."""
    p = "t" if province_id == TEHRAN_ID else "i"
    return {
        "expert": make_staff(engine, f"{p}.drv.expert", ["expert"], province_id),
        "expert2": make_staff(engine, f"{p}.drv.expert2", ["expert", "final_reviewer"], province_id),
        "final": make_staff(engine, f"{p}.drv.final", ["final_reviewer"], province_id),
        "head": make_staff(engine, f"{p}.drv.head", ["head"], province_id),
        "finance": make_staff(engine, f"{p}.drv.finance", ["finance"], province_id),
        "committee": make_staff(engine, f"{p}.drv.committee", ["committee"], province_id),
        "central": make_staff(engine, f"{p}.drv.central", ["central_expert"], None),
    }


def add_tariffs(engine, province_id):
    with engine.begin() as c:
        for year in (1404, 1405, 1406):
            c.execute(sa.text(
                "INSERT INTO fee_tariff (province_id, jalali_year, entrance_fee, annual_fee, card_fee, "
                "licence_issue_fee, licence_renewal_fee, article32_renewal_fee, rating_fee) VALUES "
                "(:p, :y, 5000000, 20000000, 1000000, 3000000, 2000000, 2500000, 4000000) ON CONFLICT DO NOTHING"),
                {"p": province_id, "y": year})


class World:
    def __init__(self, engine):
        self.engine = engine
        self.drivers = {pid: drivers(engine, pid) for pid in (TEHRAN_ID, ISFAHAN_ID)}
        for pid in (TEHRAN_ID, ISFAHAN_ID):
            add_tariffs(engine, pid)
        self.actors = {r: make_staff(engine, f"actor.{r}", [r], None if r == "central_expert" else TEHRAN_ID)
                       for r in ROLES}

    def request_at(self, province_id: int, type_code: str, stage_code: str, **member) -> int:
        """A fresh request of that type, driven to that stage by the province's drivers."""
        member.setdefault("valid_until", validity_for(type_code))
        rid = file_request(self.engine, make_member(self.engine, province_id, **member), type_code,
                           submitted_at=SAT_0800, province_id=province_id).request_id
        now = SAT_0800
        while req_row(self.engine, rid)["stage_code"] != stage_code:
            now += timedelta(minutes=20)
            # The rating's own committee sits only when a reviewer refers the request to it.
            step(self.engine, self.drivers[province_id], rid, now, refer=stage_code == "specialised_committee")
        return rid

    def version(self, rid):
        return req_row(self.engine, rid)["version"]


def stage_action(type_code, stage_code, act):
    def setup(w: World, pid: int):
        rid = w.request_at(pid, type_code, stage_code)
        return lambda actor: act(w, actor, rid)
    return setup


QUEUE_TARGET = {  # a stage each role works, so a permitted role finds the request in its queue
    "expert": ("transfer", "initial_review"), "final_reviewer": ("transfer", "final_review"),
    "head": ("transfer", "head_approval"), "central_expert": ("card_reissue", "card_issue"),
    "finance": ("membership_renewal", "finance_approval"), "committee": ("licence_issue", "licence_committee"),
    "rating_committee": ("rating", "specialised_committee"),
}


def queue_setup(w: World, pid: int):
    def do(actor):
        role = next(iter(actor.roles))
        type_code, stage_code = QUEUE_TARGET.get(role, ("transfer", "initial_review"))
        code = req_row(w.engine, w.request_at(pid, type_code, stage_code))["tracking_code"]
        views = queue.available_views(actor)
        if not views:
            raise PermissionDenied()
        with session_scope(w.engine) as s:
            seen = {row.tracking_code for v in views
                    for row in queue.queue_page(s, actor, queue.QueueFilter(view=v, page_size=100), now_tehran()).rows}
        if code not in seen:
            raise NotFound()
    return do


def read_setup(fn):
    def setup(w: World, pid: int):
        rid = w.request_at(pid, "transfer", "initial_review")
        return lambda actor: fn(w, actor, rid)
    return setup


def request_view(w, actor, rid):
    with session_scope(w.engine) as s:
        load_request(s, actor, rid, now_tehran())


def document_read(w, actor, rid):
    doc = add_document(w.engine, rid, tiny_png(), "image/png")
    with session_scope(w.engine) as s:
        read_document(s, actor, doc)


def audit_read(w, actor, rid):
    code = req_row(w.engine, rid)["tracking_code"]
    with session_scope(w.engine) as s:
        rows, _ = audit_page(s, actor, AuditFilter(tracking_code=code))
    if not rows:
        raise NotFound()


def tariff_setup(w: World, pid: int):
    amounts = {k: 1_000_000 for k in ("entrance_fee", "annual_fee", "card_fee", "licence_issue_fee",
                                      "licence_renewal_fee", "article32_renewal_fee", "rating_fee")}
    year = next(_tariff_years)  # a year no other case saved, so `expect_new` holds
    return lambda actor: tariffs.save_tariff(w.engine, actor, pid, year, amounts, expect_new=True)


def closure_setup(w: World, pid: int):
    day = date(2027, 1, 2) + timedelta(days=next(_ids))
    return lambda actor: holidays.add_closure(w.engine, actor, day, "تعطیلی آزمایشی", province_id=pid)


def staff_setup(w: World, pid: int):
    return lambda actor: staff.create_staff(w.engine, actor, username=f"new.user{next(_ids)}",
                                            full_name="کارمند تازه", roles=["expert"], province_id=pid,
                                            password="Tazeh@1405")


def confirm(w, actor, rid):
    with w.engine.connect() as c:
        total = c.execute(sa.text("SELECT total FROM fee_assessment WHERE request_id = :r ORDER BY version DESC "
                                  "LIMIT 1"), {"r": rid}).scalar()
    payments.confirm_payment(w.engine, actor, rid, f"MX{rid:08d}", total)


def assign_setup(w: World, pid: int):
    rid = w.request_at(pid, "transfer", "initial_review")
    return lambda actor: wf.assign(w.engine, actor, [rid], w.drivers[pid]["expert"].id)


def report_setup(build):
    """A KPI or analytics report asked for province `pid`: a provincial manager asking for another
    province gets their own instead (the service narrows the scope), which counts as refused."""
    def setup(w: World, pid: int):
        def do(actor):
            now = now_tehran()
            with session_scope(w.engine) as s:
                report = build(s, actor, periods.current_month(now), now, province_id=pid)
            if pid not in report.provinces:
                raise NotFound()
        return do
    return setup


def member_setup(w: World, pid: int):
    mid = make_member(w.engine, pid)

    def do(actor):
        with session_scope(w.engine) as s:
            members.load_profile(s, actor, mid)
    return do


def upload(w, actor, rid):
    store_document(w.engine, actor, request_id=rid, doc_type=next(iter(DOCUMENT_TYPES_FA)), file_name="scan.png",
                   data=tiny_png())


ACTIONS = {
    "queue_read": queue_setup,
    "request_view": read_setup(request_view),
    "document_read": read_setup(document_read),
    "comment": read_setup(lambda w, a, rid: wf.comment(w.engine, a, rid, "یادداشت آزمایشی")),
    "claim_initial_review": read_setup(lambda w, a, rid: wf.claim(w.engine, a, rid, w.version(rid))),
    "approve_initial_review": read_setup(
        lambda w, a, rid: wf.approve(w.engine, a, rid, w.version(rid), checklist=[True] * 3)),
    "document_verdict_initial_review": read_setup(
        lambda w, a, rid: set_verdict(w.engine, a, add_document(w.engine, rid, tiny_png(), "image/png"), "accepted")),
    "approve_final_review": stage_action("transfer", "final_review",
                                         lambda w, a, rid: wf.approve(w.engine, a, rid, w.version(rid), checklist=[True])),
    "approve_head": stage_action("transfer", "head_approval",
                                 lambda w, a, rid: wf.approve(w.engine, a, rid, w.version(rid), checklist=[True])),
    "complete_card_issue": stage_action("card_reissue", "card_issue",
                                        lambda w, a, rid: wf.complete(w.engine, a, rid, w.version(rid))),
    "determine_renewal_fee": stage_action(
        "membership_renewal", "fee_determination",
        lambda w, a, rid: fees.determine_renewal_fee(w.engine, a, rid, w.version(rid), 1405, 0)),
    "finance_approve": stage_action("membership_renewal", "finance_approval",
                                    lambda w, a, rid: wf.approve(w.engine, a, rid, w.version(rid), checklist=[True])),
    "confirm_payment": stage_action("membership_renewal", "payment", confirm),
    "committee_decide": stage_action("licence_issue", "licence_committee",
                                     lambda w, a, rid: wf.committee_decision(w.engine, a, rid, w.version(rid),
                                                                             granted=True, checklist=[True])),
    "rating_committee_decide": stage_action("rating", "specialised_committee",
                                            lambda w, a, rid: wf.committee_decision(w.engine, a, rid, w.version(rid),
                                                                                    granted=True, checklist=[True])),
    "assign": assign_setup,
    "save_tariff": tariff_setup,
    "add_closure": closure_setup,
    "create_staff": staff_setup,
    "audit_read": read_setup(audit_read),
    "kpi_read": report_setup(kpi.kpi_report),
    "analytics_read": report_setup(analytics.analytics_report),
    "member_read": member_setup,
    "upload_document": read_setup(upload),
}


def test_every_matrix_row_has_a_walk_and_every_walk_a_row():
    assert set(MATRIX) == set(ACTIONS)


def outcome(fn, actor) -> bool:
    try:
        fn(actor)
    except (PermissionDenied, NotFound):
        return False
    return True


@pytest.mark.parametrize("action", list(ACTIONS))
def test_matrix(db, action):
    w = World(db)
    differences = []
    for pid, where in ((TEHRAN_ID, "own"), (ISFAHAN_ID, "other")):
        # A refusal changes nothing, so the roles refused in turn all try the same prepared case; a
        # new one is prepared after each role that was let through.
        attempt = None
        for role in ROLES:
            expected = MATRIX[action][role]
            attempt = attempt or ACTIONS[action](w, pid)
            allowed = outcome(attempt, w.actors[role])
            if allowed:
                attempt = None
            want = expected == "all" or (expected == "own" and where == "own")
            if allowed != want:
                differences.append(f"{role} on {where} province: {'allowed' if allowed else 'refused'}, "
                                   f"SECURITY.md says {expected}")
    assert not differences, f"{action}: " + "; ".join(differences)
