"""Walk the authorization matrix of docs/SECURITY.md through the service layer: every service that
reads or writes (each public function in logic/ that takes an `actor`) against every column (each
role in its province, the central organisation's manager, board and administrator, and a member of
staff with two roles), on the actor's own province and on another. The table is parsed from the
document, and a service missing from it fails the build, so the document and the code cannot drift.

A refusal must be exact: `PermissionDenied`, or `NotFound` while the record the walk named still
exists (so a walk that aims at nothing cannot pass as refused); a list may leave another province's
record out only where the cell is `own`.

Speed: the world (requests at every stage the rows need, in two provinces) is built once, inside
one database transaction that is never committed; every attempt runs between a savepoint and its
rollback, so an allowed write leaves nothing behind for the next cell and the next row. Services
must therefore use the engine or session they are given (they all do)."""
from __future__ import annotations

import ast
import importlib
import inspect
import pkgutil
import re
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, time, timedelta

import bcrypt
import psycopg
import pytest
import sqlalchemy as sa
from sqlalchemy.engine import make_url
from sqlalchemy.pool import StaticPool

import logic
from db.engine import session_scope
from domain import periods
from domain.actor import Actor
from domain.errors import DomainError, NotFound, PermissionDenied
from domain.jalali import now_tehran, to_jalali
from domain.processes import PROCESSES
from domain.reference import DOCUMENT_TYPES_FA, ISFAHAN_ID, TEHRAN_ID
from domain.roles import Role
from logic import (analytics, audit_view, auth, dashboard, documents, fees, holidays, kpi, member_changes, members,
                   payments, queue, releases, request_view, saved_filters, sessions, staff, tariffs,
                   uploads)
from logic import workflow as wf
from tests.conftest import ROOT, wipe
from tests.factories import (ALL_TABLES, FIRST, LAST, PASSWORD, SAT_0800, add_document, file_request,
                             add_member_document, insert, make_member, make_staff, step, tiny_png, validity_for)

ROLES = [r.value for r in Role]
PROVINCES = {TEHRAN_ID: "own", ISFAHAN_ID: "other"}  # provincial columns are Tehran staff
CELLS = {"own", "all", "-"}

# --- the table ------------------------------------------------------------------------------------

ROW_NAME = re.compile(r"`(?P<service>[a-z_]+\.[a-z_]+)`(?: \((?P<variant>[^)]+)\))?")


def _cells(line: str) -> list[str]:
    return [c.strip() for c in line.strip().strip("|").split("|")]


def parse_matrix() -> tuple[list[str], dict[str, dict[str, str]]]:
    text = (ROOT / "docs" / "SECURITY.md").read_text(encoding="utf-8")
    section = text.split("## Authorization matrix", 1)[1].split("\n## ", 1)[0]
    lines = [ln for ln in section.splitlines() if ln.startswith("| ")]
    header = _cells(lines[0])
    assert header[0] == "service", "the matrix's first column names the service"
    columns = header[1:]
    matrix = {}
    for line in lines[2:]:
        cells = _cells(line)
        assert ROW_NAME.fullmatch(cells[0]), f"a row is named `module.function` (variant): {cells[0]!r}"
        assert len(cells) == len(header), f"{cells[0]}: {len(cells) - 1} cells for {len(columns)} columns"
        assert set(cells[1:]) <= CELLS, f"{cells[0]}: a cell is one of {sorted(CELLS)}"
        name = cells[0].replace("`", "")
        assert name not in matrix, f"{name} twice"
        matrix[name] = dict(zip(columns, cells[1:]))
    return columns, matrix


COLUMNS, MATRIX = parse_matrix()


def column_actor(column: str) -> tuple[list[str], int | None]:
    """`expert` is Tehran staff, `central manager` central staff, `expert+finance` one person with both."""
    central = column.startswith("central ")
    roles = column.removeprefix("central ").split("+")
    assert set(roles) <= set(ROLES), f"unknown role in column {column!r}"
    return roles, None if central or roles == [Role.CENTRAL_EXPERT] else TEHRAN_ID


def test_the_columns_are_every_role_the_central_roles_and_two_roles():
    assert COLUMNS[:len(ROLES)] == ROLES, "the first columns are the roles, in domain.roles order"
    assert {"central manager", "central board", "central admin"} <= set(COLUMNS)
    assert any("+" in c for c in COLUMNS), "a column for a member of staff with two roles"
    for column in COLUMNS:
        roles, province = column_actor(column)
        if province is None:  # central staff have no "own" province
            assert all(MATRIX[row][column] != "own" for row in MATRIX), column

# --- the world: one transaction, never committed --------------------------------------------------


class HeldConnection(psycopg.Connection):
    """The module's one connection. A service's COMMIT keeps its work inside the outer transaction
    (a savepoint is released) and its ROLLBACK undoes only its own work; nothing reaches the database."""

    def commit(self) -> None:
        self.execute("RELEASE SAVEPOINT service")
        self.execute("SAVEPOINT service")

    def rollback(self) -> None:
        self.execute("ROLLBACK TO SAVEPOINT service")

    def close(self) -> None:  # the pool's; the fixture ends it
        pass


TARGETS = (  # (type, stage) of the requests the rows act on, one of each in each province
    ("transfer", "initial_review"), ("transfer", "final_review"), ("transfer", "head_approval"),
    ("card_reissue", "card_issue"), ("membership_renewal", "fee_determination"),
    ("membership_renewal", "finance_approval"), ("membership_renewal", "payment"),
    ("licence_renewal", "initial_review"), ("licence_issue", "licence_committee"), ("rating", "specialised_committee"),
)
# The stage each working role works, for "next task": a worker is given the request waiting there.
QUEUE_TARGET = {
    "expert": ("transfer", "initial_review"), "final_reviewer": ("transfer", "final_review"),
    "head": ("transfer", "head_approval"), "central_expert": ("card_reissue", "card_issue"),
    "finance": ("membership_renewal", "finance_approval"), "committee": ("licence_issue", "licence_committee"),
    "rating_committee": ("rating", "specialised_committee"),
}


class Hidden(Exception):
    """The service answered without the record: a list or count scoped to the actor's provinces."""


class World:
    def __init__(self, engine: sa.Engine, conn: HeldConnection):
        self.engine, self.conn = engine, conn
        self.targets: list[tuple[str, int]] = []
        self.drivers = {pid: self._drivers(pid) for pid in PROVINCES}
        for pid in PROVINCES:
            self._tariffs(pid)
        self.req = {(pid, t, s): self._request_at(pid, t, s) for pid in PROVINCES for t, s in TARGETS}
        self.doc = {pid: add_document(engine, self.req[(pid, "transfer", "initial_review")], tiny_png(), "image/png")
                    for pid in PROVINCES}
        self.member = {pid: self._member(pid) for pid in PROVINCES}
        self.archive = {pid: add_member_document(engine, self.member[pid]["id"], tiny_png(), "image/png", "degree")
                        for pid in PROVINCES}
        self.staff = {pid: make_staff(engine, f"target.{pid}", ["expert"], pid).id for pid in PROVINCES}
        self.closure = {pid: self.sql("INSERT INTO holiday (day, province_id, name_fa) VALUES (:d, :p, 'تعطیلی استان') "
                                      "RETURNING id", d=date(2026, 12, 30) + timedelta(days=pid), p=pid)
                        for pid in PROVINCES}
        self.rule = self.sql("INSERT INTO discount_rule (name_fa, valid_end_year_from, valid_end_year_to, percent, "
                             "is_active) VALUES ('قاعدهٔ آزمایشی', 1390, 1395, 10, true) RETURNING id")
        self.draft = {pid: releases.compose(engine, self.drivers[pid]["board"], title="آمار آزمایشی", province_id=pid,
                                            period_from=FIRST, period_to=LAST, tables=ALL_TABLES).release_id
                      for pid in PROVINCES}
        self.actors = {}
        for column in COLUMNS:
            roles, province = column_actor(column)
            self.actors[column] = make_staff(engine, "actor." + re.sub(r"[^a-z_]", ".", column), roles, province)

    def _drivers(self, pid: int) -> dict[str, Actor]:
        """Staff who bring requests to the stage under test (not the actors under test)."""
        p = "t" if pid == TEHRAN_ID else "i"
        made = {key: make_staff(self.engine, f"{p}.drv.{key}", roles, pid) for key, roles in (
            ("expert", ["expert"]), ("expert2", ["expert", "final_reviewer"]), ("final", ["final_reviewer"]),
            ("head", ["head"]), ("finance", ["finance"]), ("committee", ["committee"]),
            ("rating", ["rating_committee"]), ("board", ["board"]))}
        return made | {"central": make_staff(self.engine, f"{p}.drv.central", ["central_expert"], None)}

    def _member(self, pid: int) -> dict[str, int]:
        """A member with a degree, a contact switched off and an address that is not the legal one."""
        mid = make_member(self.engine, pid)
        return {"id": mid,
                "master": insert(self.engine, "education", member_id=mid, level="master", field="مهندسی عمران"),
                "old_mobile": insert(self.engine, "contact", member_id=mid, kind="mobile", value="09351112233",
                                     is_active=False),
                "home": insert(self.engine, "address", member_id=mid, province_id=pid, city="شهر", line="نشانی",
                               is_legal=False)}

    def _tariffs(self, pid: int) -> None:
        for year in (1404, 1405, 1406):
            self.sql("INSERT INTO fee_tariff (province_id, jalali_year, entrance_fee, annual_fee, card_fee, "
                     "licence_issue_fee, licence_renewal_fee, article32_renewal_fee, rating_fee) VALUES "
                     "(:p, :y, 5000000, 20000000, 1000000, 3000000, 2000000, 2500000, 4000000) RETURNING id",
                     p=pid, y=year)

    def _request_at(self, pid: int, type_code: str, stage_code: str) -> int:
        rid = file_request(self.engine, make_member(self.engine, pid, valid_until=validity_for(type_code)), type_code,
                           submitted_at=SAT_0800, province_id=pid).request_id
        now = SAT_0800
        while self.row(rid)["stage_code"] != stage_code:
            now += timedelta(minutes=20)
            # The rating's own committee sits only when a reviewer refers the request to it.
            step(self.engine, self.drivers[pid], rid, now, refer=stage_code == "specialised_committee")
        return rid

    # --- helpers for the walks

    def sql(self, statement: str, **params):
        with self.engine.begin() as c:
            return c.execute(sa.text(statement), params).scalar()

    def row(self, rid: int):
        with self.engine.connect() as c:
            return c.execute(sa.text("SELECT * FROM request WHERE id = :i"), {"i": rid}).mappings().one()

    def target(self, table: str, key: int) -> int:
        """The record a walk acts on: a NotFound is a refusal only while this record exists."""
        self.targets.append((table, key))
        return key

    def request(self, pid: int, type_code: str = "transfer", stage_code: str = "initial_review") -> int:
        return self.target("request", self.req[(pid, type_code, stage_code)])

    def version(self, rid: int) -> int:
        return self.row(rid)["version"]

    def code(self, rid: int) -> str:
        return self.row(rid)["tracking_code"]

    def exists(self, table: str, key: int) -> bool:
        return bool(self.sql(f"SELECT count(*) FROM {table} WHERE id = :k", k=key))

    @contextmanager
    def undone(self):
        """Whatever happens inside is rolled back; the world stays as built."""
        self.conn.execute("SAVEPOINT cell")
        self.conn.execute("SAVEPOINT service")
        try:
            yield
        finally:
            self.conn.execute("ROLLBACK TO SAVEPOINT cell")
            self.conn.execute("RELEASE SAVEPOINT cell")


@pytest.fixture(scope="module")
def world(engine, owner_engine, db_url):
    wipe(owner_engine)  # what other modules left; this module then writes nothing that lasts
    url = make_url(db_url)
    conn = HeldConnection.connect(url.set(drivername="postgresql").render_as_string(hide_password=False),
                                  options="-c timezone=Asia/Tehran")
    conn.execute("SAVEPOINT service")
    held = sa.create_engine(url, creator=lambda: conn, poolclass=StaticPool)
    real_gensalt = bcrypt.gensalt
    with pytest.MonkeyPatch.context() as mp:
        # Password hashing at the production cost would be most of this module's time; the cost is
        # not what is tested here.
        mp.setattr(bcrypt, "gensalt", lambda rounds=12, prefix=b"2b": real_gensalt(4, prefix))
        try:
            yield World(held, conn)
        finally:
            held.dispose()
            psycopg.Connection.rollback(conn)
            psycopg.Connection.close(conn)

# --- the walks: one per row; each acts on a record of province `pid` as `a` ---------------------------


def read(w: World, fn: Callable):
    with session_scope(w.engine) as s:
        return fn(s)


def seen(found: bool) -> None:
    if not found:
        raise Hidden()


def hold(w: World, rid: int, actor: Actor) -> None:
    """The request in `actor`'s hands ("my work"), for the queue's and the dashboard's lists."""
    w.sql("UPDATE request SET assignee_id = :a WHERE id = :r RETURNING id", a=actor.id, r=rid)


def ticks(w: World, rid: int) -> list[bool]:
    r = w.row(rid)
    return [True] * len(PROCESSES[r["type_code"]].stage(r["stage_code"]).checklist)


def report(build):
    def walk(w, a, pid):
        now = now_tehran()
        seen(pid in read(w, lambda s: build(s, a, periods.current_month(now), now, province_id=pid)).provinces)
    return walk


def approve_at(type_code, stage_code):
    def walk(w, a, pid):
        rid = w.request(pid, type_code, stage_code)
        wf.approve(w.engine, a, rid, w.version(rid), checklist=ticks(w, rid))
    return walk


def decide_at(type_code, stage_code):
    def walk(w, a, pid):
        rid = w.request(pid, type_code, stage_code)
        wf.committee_decision(w.engine, a, rid, w.version(rid), granted=True, checklist=ticks(w, rid))
    return walk


def someone_elses(w, pid) -> int:
    rid = w.request(pid)
    wf.claim(w.engine, w.drivers[pid]["expert"], rid, w.version(rid))
    return rid


def member_search(w, pid) -> members.MemberFilter:
    mid = w.target("member", w.member[pid]["id"])
    return members.MemberFilter(search=w.sql("SELECT national_id FROM member WHERE id = :m", m=mid))


def mine(w, a, pid) -> tuple[int, queue.QueueFilter]:
    rid = w.request(pid)
    hold(w, rid, a)
    return rid, queue.QueueFilter(view="mine", search=w.code(rid))


def own_filter(w, a) -> int:
    """A saved queue filter of the actor's own (inserted directly: the walk is of the other service)."""
    return w.sql("INSERT INTO saved_queue_filter (staff_user_id, name, filters) VALUES (:a, 'فیلتر من', "
                 "'{\"view\": \"mine\"}') RETURNING id", a=a.id)


def payment_csv(w, a, pid):
    rid = w.request(pid, "membership_renewal", "payment")
    total = w.sql("SELECT total FROM fee_assessment WHERE request_id = :r ORDER BY version DESC LIMIT 1", r=rid)
    paid = (now_tehran() - timedelta(minutes=5)).isoformat()
    [row] = payments.import_gateway_csv(
        w.engine, a, f"tracking_code,bank_reference,amount,paid_at\n{w.code(rid)},MX{rid:08d},{total},{paid}\n")
    if row.status == "error" and "پیدا نشد" in row.message:
        raise NotFound(row.message)  # the file's row names a request the actor may not see
    assert row.status == "recorded", row.message


def confirm(by_code: bool):
    def walk(w, a, pid):
        rid = w.request(pid, "membership_renewal", "payment")
        total = w.sql("SELECT total FROM fee_assessment WHERE request_id = :r ORDER BY version DESC LIMIT 1", r=rid)
        if by_code:
            payments.confirm_by_tracking_code(w.engine, a, w.code(rid), f"MX{rid:08d}", total)
        else:
            payments.confirm_payment(w.engine, a, rid, f"MX{rid:08d}", total)
    return walk


def next_task(w, a, pid, service=None):
    stage = next((QUEUE_TARGET[r] for r in ROLES if r in a.roles and r in QUEUE_TARGET), TARGETS[0])
    rid = w.request(pid, *stage)
    # The most urgent, so "next task" takes it if the actor may take it at all.
    w.sql("UPDATE request SET stage_risk_at = '2000-01-01', stage_due_at = '2000-01-02' WHERE id = :r RETURNING id",
          r=rid)
    taken = (service or queue.next_task)(w.engine, a)
    seen(taken is not None and taken.request_id == rid)


def release_args(pid):
    return {"title": "آمار آزمایشی", "province_id": pid, "period_from": FIRST, "period_to": LAST,
            "tables": ALL_TABLES}


TARIFF = {f: 1_000_000 for f in tariffs.FIELD_NAMES}
REASON = "اصلاح آزمایشی"
NEW_PASSWORD = "Tazeh@1405x"


@dataclass(frozen=True)
class Walk:
    run: Callable[[World, Actor, int | None], None]
    neutral: bool = False  # no province in it (the actor's own account, the whole organisation)


def _profile(w, a, pid):
    read(w, lambda s: members.load_profile(s, a, w.target("member", w.member[pid]["id"])))


WALKS: dict[str, Walk] = {
    "analytics.analytics_report": Walk(report(analytics.analytics_report)),
    "audit_view.audit_page": Walk(lambda w, a, pid: seen(read(w, lambda s: audit_view.audit_page(
        s, a, audit_view.AuditFilter(tracking_code=w.code(w.request(pid))))[0]))),
    "audit_view.audit_people": Walk(lambda w, a, pid: seen(w.drivers[pid]["expert"].id in dict(read(
        w, lambda s: audit_view.audit_people(s, a))))),
    "sessions.end_session": Walk(lambda w, a, pid: sessions.end_session(w.engine, a, None, "k" * 32), neutral=True),
    "dashboard.summary": Walk(lambda w, a, pid: (hold(w, w.request(pid), a), seen(read(
        w, lambda s: dashboard.summary(s, a, now_tehran())).mine == 1))),
    "documents.read_document": Walk(lambda w, a, pid: read(
        w, lambda s: documents.read_document(s, a, w.target("document", w.doc[pid])))),
    "documents.read_document (member archive)": Walk(lambda w, a, pid: read(
        w, lambda s: documents.read_document(s, a, w.target("document", w.archive[pid])))),
    "documents.set_verdict (initial_review)": Walk(lambda w, a, pid: documents.set_verdict(
        w.engine, a, w.target("document", w.doc[pid]), "accepted")),
    "fees.determine_licence_renewal_fee": Walk(lambda w, a, pid: fees.determine_licence_renewal_fee(
        w.engine, a, (rid := w.request(pid, "licence_renewal", "initial_review")), w.version(rid), [(1405, False)])),
    "fees.determine_renewal_fee": Walk(lambda w, a, pid: fees.determine_renewal_fee(
        w.engine, a, (rid := w.request(pid, "membership_renewal", "fee_determination")), w.version(rid), 1405, 0)),
    "fees.fee_view": Walk(lambda w, a, pid: read(
        w, lambda s: fees.fee_view(s, a, w.request(pid, "membership_renewal", "fee_determination")))),
    "holidays.add_closure": Walk(lambda w, a, pid: holidays.add_closure(
        w.engine, a, date(2027, 1, 9), "تعطیلی آزمایشی", province_id=pid)),
    "holidays.add_closure (every province)": Walk(lambda w, a, pid: holidays.add_closure(
        w.engine, a, date(2027, 1, 9), "تعطیلی آزمایشی", province_id=None), neutral=True),
    "holidays.list_holidays": Walk(lambda w, a, pid: seen(w.closure[pid] in {h.id for h in read(
        w, lambda s: holidays.list_holidays(s, a, to_jalali(date(2027, 1, 2)).year))})),
    "holidays.load_official_holidays": Walk(lambda w, a, pid: holidays.load_official_holidays(
        w.engine, a, [2031]), neutral=True),
    "holidays.remove_closure": Walk(lambda w, a, pid: holidays.remove_closure(
        w.engine, a, w.target("holiday", w.closure[pid]))),
    "holidays.update_office_hours": Walk(lambda w, a, pid: holidays.update_office_hours(
        w.engine, a, pid, workdays=[5, 6, 0, 1, 2], opens=time(8), closes=time(14))),
    "kpi.kpi_report": Walk(report(kpi.kpi_report)),
    "member_changes.correct_education": Walk(lambda w, a, pid: member_changes.correct_education(
        w.engine, a, w.target("education", w.member[pid]["master"]), {"university": "دانشگاه اصفهان"}, REASON)),
    "member_changes.correct_main_info": Walk(lambda w, a, pid: member_changes.correct_main_info(
        w.engine, a, w.target("member", w.member[pid]["id"]), {"father_name": "محمود"}, REASON)),
    "member_changes.set_contact_active": Walk(lambda w, a, pid: member_changes.set_contact_active(
        w.engine, a, w.target("contact", w.member[pid]["old_mobile"]), True, REASON)),
    "member_changes.set_legal_address": Walk(lambda w, a, pid: member_changes.set_legal_address(
        w.engine, a, w.target("address", w.member[pid]["home"]), REASON)),
    "members.count_members": Walk(lambda w, a, pid: seen(read(
        w, lambda s: members.count_members(s, a, member_search(w, pid))) == 1)),
    "members.export_file": Walk(lambda w, a, pid: seen((flt := member_search(w, pid)).search in members.export_file(
        w.engine, a, flt, "csv").decode("utf-8-sig"))),
    "members.export_rows": Walk(lambda w, a, pid: seen(read(
        w, lambda s: list(members.export_rows(s, a, member_search(w, pid)))))),
    "members.find_member_id": Walk(lambda w, a, pid: read(
        w, lambda s: members.find_member_id(s, a, w.target("member", w.member[pid]["id"])))),
    "members.load_profile": Walk(_profile),
    "members.member_page": Walk(lambda w, a, pid: seen(read(
        w, lambda s: members.member_page(s, a, member_search(w, pid))).rows)),
    "payments.awaiting_payment": Walk(lambda w, a, pid: seen(w.request(pid, "membership_renewal", "payment") in {
        p.request_id for p in read(w, lambda s: payments.awaiting_payment(s, a))})),
    "payments.confirm_by_tracking_code": Walk(confirm(by_code=True)),
    "payments.confirm_payment": Walk(confirm(by_code=False)),
    "payments.import_gateway_csv": Walk(payment_csv),
    "payments.lookup_for_payment": Walk(lambda w, a, pid: read(w, lambda s: payments.lookup_for_payment(
        s, a, w.code(w.request(pid, "membership_renewal", "payment"))))),
    "payments.pending_finance_approvals": Walk(lambda w, a, pid: seen(
        w.request(pid, "membership_renewal", "finance_approval") in {
            p.request_id for p in read(w, lambda s: payments.pending_finance_approvals(s, a))})),
    "payments.recent_payments": Walk(lambda w, a, pid: seen(w.code(w.request(pid, "card_reissue", "card_issue")) in {
        p.tracking_code for p in read(w, lambda s: payments.recent_payments(s, a))})),
    "payments.request_for_code": Walk(lambda w, a, pid: read(w, lambda s: payments.request_for_code(
        s, a, w.code(w.request(pid, "membership_renewal", "payment"))))),
    "queue.assignable_staff": Walk(lambda w, a, pid: seen(read(
        w, lambda s: queue.assignable_staff(s, a, [w.request(pid)])))),
    "queue.claim_selected": Walk(lambda w, a, pid: queue.claim_selected(
        w.engine, a, [((rid := w.request(pid)), w.version(rid))])),
    "queue.count_matching": Walk(lambda w, a, pid: seen(read(
        w, lambda s: queue.count_matching(s, a, mine(w, a, pid)[1], now_tehran())) == 1)),
    "queue.export_file": Walk(lambda w, a, pid: seen(w.code((m := mine(w, a, pid))[0]) in queue.export_file(
        w.engine, a, m[1], "csv").decode("utf-8-sig"))),
    "queue.export_rows": Walk(lambda w, a, pid: seen(read(
        w, lambda s: list(queue.export_rows(s, a, mine(w, a, pid)[1], now_tehran()))))),
    "queue.next_task": Walk(next_task),
    "queue.next_after": Walk(lambda w, a, pid: next_task(w, a, pid, queue.next_after)),
    "queue.queue_page": Walk(lambda w, a, pid: seen(read(
        w, lambda s: queue.queue_page(s, a, mine(w, a, pid)[1], now_tehran())).rows)),
    "queue.unclaim_selected": Walk(lambda w, a, pid: queue.unclaim_selected(
        w.engine, a, [((rid := someone_elses(w, pid)), w.version(rid))])),
    "queue.view_counts": Walk(lambda w, a, pid: (mine(w, a, pid), seen(read(
        w, lambda s: queue.view_counts(s, a, now_tehran()))["mine"] == 1))),
    "releases.approve_and_publish": Walk(lambda w, a, pid: releases.approve_and_publish(
        w.engine, a, w.target("stat_release", w.draft[pid]))),
    "releases.board_releases": Walk(lambda w, a, pid: seen(w.draft[pid] in {
        r.id for r in read(w, lambda s: releases.board_releases(s, a))})),
    "releases.board_snapshot": Walk(lambda w, a, pid: read(
        w, lambda s: releases.board_snapshot(s, a, w.target("stat_release", w.draft[pid])))),
    "releases.compose": Walk(lambda w, a, pid: releases.compose(w.engine, a, **release_args(pid))),
    "releases.compose (every province)": Walk(lambda w, a, pid: releases.compose(
        w.engine, a, **release_args(None)), neutral=True),
    "releases.discard_draft": Walk(lambda w, a, pid: releases.discard_draft(
        w.engine, a, w.target("stat_release", w.draft[pid]))),
    "releases.preview": Walk(lambda w, a, pid: read(w, lambda s: releases.preview(s, a, **release_args(pid)))),
    "request_view.load_request": Walk(lambda w, a, pid: read(
        w, lambda s: request_view.load_request(s, a, w.request(pid), now_tehran()))),
    "saved_filters.delete_filter": Walk(lambda w, a, pid: saved_filters.delete_filter(
        w.engine, a, w.target("saved_queue_filter", own_filter(w, a))), neutral=True),
    "saved_filters.list_filters": Walk(lambda w, a, pid: seen(own_filter(w, a) in {
        f.id for f in read(w, lambda s: saved_filters.list_filters(s, a))}), neutral=True),
    "saved_filters.save_filter": Walk(lambda w, a, pid: saved_filters.save_filter(
        w.engine, a, "فیلتر آزمایشی", {"view": "mine", "sla": "breached"}), neutral=True),
    "staff.change_own_password": Walk(lambda w, a, pid: staff.change_own_password(
        w.engine, a, PASSWORD, NEW_PASSWORD), neutral=True),
    "staff.create_staff": Walk(lambda w, a, pid: staff.create_staff(
        w.engine, a, username="new.user", full_name="کارمند تازه", roles=["expert"], province_id=pid,
        password=NEW_PASSWORD)),
    "staff.list_staff": Walk(lambda w, a, pid: seen(w.staff[pid] in {
        r.id for r in read(w, lambda s: staff.list_staff(s, a))})),
    "staff.reset_password": Walk(lambda w, a, pid: staff.reset_password(
        w.engine, a, w.target("staff_user", w.staff[pid]), NEW_PASSWORD)),
    "staff.set_active": Walk(lambda w, a, pid: staff.set_active(
        w.engine, a, w.target("staff_user", w.staff[pid]), False)),
    "staff.update_staff": Walk(lambda w, a, pid: staff.update_staff(
        w.engine, a, w.target("staff_user", w.staff[pid]), roles=["expert", "head"], full_name="نام تازه")),
    "tariffs.add_discount_rule": Walk(lambda w, a, pid: tariffs.add_discount_rule(
        w.engine, a, "تخفیف آزمایشی", 1396, 1398, 10), neutral=True),
    "tariffs.list_tariffs": Walk(lambda w, a, pid: seen(read(w, lambda s: tariffs.list_tariffs(s, a, pid)))),
    "tariffs.save_tariff": Walk(lambda w, a, pid: tariffs.save_tariff(w.engine, a, pid, 1420, TARIFF, expect_new=True)),
    "tariffs.set_discount_rule_active": Walk(lambda w, a, pid: tariffs.set_discount_rule_active(
        w.engine, a, w.target("discount_rule", w.rule), False, REASON), neutral=True),
    "uploads.store_document": Walk(lambda w, a, pid: uploads.store_document(
        w.engine, a, request_id=w.request(pid), doc_type=next(iter(DOCUMENT_TYPES_FA)), file_name="scan.png",
        data=tiny_png())),
    "uploads.store_document (member archive)": Walk(lambda w, a, pid: uploads.store_document(
        w.engine, a, member_id=w.target("member", w.member[pid]["id"]), doc_type="degree", file_name="scan.png",
        data=tiny_png())),
    "workflow.approve (initial_review)": Walk(approve_at("transfer", "initial_review")),
    "workflow.approve (final_review)": Walk(approve_at("transfer", "final_review")),
    "workflow.approve (head_approval)": Walk(approve_at("transfer", "head_approval")),
    "workflow.approve (finance_approval)": Walk(approve_at("membership_renewal", "finance_approval")),
    "workflow.assign": Walk(lambda w, a, pid: wf.assign(w.engine, a, [w.request(pid)], w.drivers[pid]["expert"].id)),
    "workflow.claim": Walk(lambda w, a, pid: wf.claim(w.engine, a, (rid := w.request(pid)), w.version(rid))),
    "workflow.comment": Walk(lambda w, a, pid: wf.comment(w.engine, a, w.request(pid), "یادداشت آزمایشی")),
    "workflow.committee_decision (licence_committee)": Walk(decide_at("licence_issue", "licence_committee")),
    "workflow.committee_decision (specialised_committee)": Walk(decide_at("rating", "specialised_committee")),
    "workflow.complete (card_issue)": Walk(lambda w, a, pid: wf.complete(
        w.engine, a, (rid := w.request(pid, "card_reissue", "card_issue")), w.version(rid))),
    "workflow.reject": Walk(lambda w, a, pid: wf.reject(
        w.engine, a, (rid := w.request(pid)), w.version(rid), "دلیل رد آزمایشی")),
    "workflow.return_for_correction": Walk(lambda w, a, pid: wf.return_for_correction(
        w.engine, a, (rid := w.request(pid)), w.version(rid), "دلیل بازگشت آزمایشی")),
    "workflow.unclaim (someone else's claim)": Walk(lambda w, a, pid: wf.unclaim(
        w.engine, a, (rid := someone_elses(w, pid)), w.version(rid))),
}

# --- every service is in the table ------------------------------------------------------------------

# Functions of logic/ that take an actor but are not a service a screen calls: the checks themselves,
# and steps that run inside a service's own transaction after its checks.
NOT_SERVICES = {
    "dashboard.role_figures": "the home page's figures, composed only from services that have rows here and "
                              "check role and province themselves (queue.view_counts, "
                              "payments.pending_finance_approvals, payments.awaiting_payment, "
                              "releases.board_releases), each called only for a role it allows",
    "assessments.save_assessment": "a fee determination's write, inside fees.determine_*",
    "audit.record": "the audit row, inside the caller's transaction",
    "audit.record_export": "the export's audit row, inside export_file",
    "documents.require_viewer": "a check",
    "effects.run": "a transition's effects, inside the workflow's transaction",
    "kpi.require_kpi_role": "a check",
    "kpi.scope_provinces": "a check",
    "member_changes.may_correct": "a check (the profile's edit buttons)",
    "members.require_viewer": "a check",
    "queue.available_views": "the views' names, no data",
    "queue.claim_blocker": "why the claim button is disabled, from rows the page already read; no data",
    "queue.unclaim_blocker": "why the release button is disabled, from rows the page already read; no data",
    "queue.is_manager": "a check",
    "queue.takes_work": "a check",
    "scope.province_clause": "a check",
    "scope.require_province": "a check",
    "scope.require_role": "a check",
    "workflow.apply": "writes a decided transition, inside a service's transaction",
    "workflow.claim_in": "queue.next_task's claim, on the request it locked",
    "workflow.transition": "decides and writes, inside a service's transaction",
}
# Functions of logic/ without an actor that screens, the app or the console call: each is open to
# whoever reaches it on purpose.
NO_ACTOR = {
    "login.attempt_login": "the login itself",
    "sessions.check_session": "the login itself: which session the cookie names",
    "documents.screen_copy": "the screen copy of a document the caller has just read with read_document "
                             "(province checked, the read audited)",
    "auth.login_credentials": "the login form's credentials, built in memory",
    "production.database_problems": "the operator's console (deploy.serve)",
    "releases.published_provinces": "published statistics are public",
    "releases.published_releases": "published statistics are public",
    "releases.published_snapshot": "published statistics are public",
    "releases.published_summary": "published statistics are public",
    "settings.office_hours": "a province's opening hours (public)",
    "staff.create_first_admin": "the operator's console (deploy.admin), refused once an administrator exists",
    "tariffs.list_discount_rules": "the central council's published discounts",
}


def logic_functions() -> dict[str, inspect.Signature]:
    found = {}
    for info in pkgutil.iter_modules(logic.__path__):
        module = importlib.import_module(f"logic.{info.name}")
        for name, fn in inspect.getmembers(module, inspect.isfunction):
            if fn.__module__ == module.__name__ and not name.startswith("_"):
                found[f"{info.name}.{name}"] = inspect.signature(fn)
    return found


def services() -> set[str]:
    return {name for name, sig in logic_functions().items() if "actor" in sig.parameters}


def test_every_service_is_in_the_matrix():
    named = {ROW_NAME.fullmatch(f"`{row.split(' ')[0]}`")["service"] for row in MATRIX}
    missing = services() - named - set(NOT_SERVICES)
    assert not missing, ("services without a row in docs/SECURITY.md's matrix (add one, and its walk in "
                         f"tests/test_authorization_matrix.py): {sorted(missing)}")
    assert not (named | set(NOT_SERVICES)) - services(), "rows or exceptions for functions that no longer exist"
    assert set(MATRIX) == set(WALKS), (f"rows without a walk: {sorted(set(MATRIX) - set(WALKS))}; "
                                       f"walks without a row: {sorted(set(WALKS) - set(MATRIX))}")
    for row, walk in WALKS.items():
        if walk.neutral:
            assert "own" not in MATRIX[row].values(), f"{row} concerns no province: its cells are all or -"


def _used_by_screens() -> set[str]:
    """`module.function` of logic/ named in pages/, ui/, app.py and deploy/ (calls and callbacks)."""
    files = [*ROOT.glob("pages/*.py"), *ROOT.glob("ui/*.py"), *ROOT.glob("deploy/*.py"), ROOT / "app.py"]
    used = set()
    for path in files:
        tree = ast.parse(path.read_text(encoding="utf-8"))
        aliases = {}
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module == "logic":
                aliases |= {(a.asname or a.name): a.name for a in node.names}
            elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("logic."):
                used |= {f"{node.module.removeprefix('logic.')}.{a.name}" for a in node.names}
            elif isinstance(node, ast.Import):
                aliases |= {a.asname: a.name.removeprefix("logic.") for a in node.names
                            if a.name.startswith("logic.") and a.asname}
        for node in ast.walk(tree):
            if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id in aliases:
                used.add(f"{aliases[node.value.id]}.{node.attr}")
    return used


def test_screens_call_no_unchecked_reader_or_writer():
    """A function of logic/ that touches the database without an actor, called from a screen, is
    either listed here as open on purpose, or a hole."""
    functions = logic_functions()
    unchecked = {name for name in _used_by_screens() & set(functions)
                 if "actor" not in functions[name].parameters
                 and next(iter(functions[name].parameters), None) in ("engine", "session", "s")}
    assert not unchecked - set(NO_ACTOR), f"screens call these without an actor: {sorted(unchecked - set(NO_ACTOR))}"
    assert set(NO_ACTOR) <= set(functions), f"listed but gone: {sorted(set(NO_ACTOR) - set(functions))}"

# --- the walk -----------------------------------------------------------------------------------------


def attempt(w: World, walk: Walk, actor: Actor, pid: int | None) -> str:
    """allowed, refused (PermissionDenied, or NotFound of a record that exists), hidden, or what went wrong."""
    w.targets = []
    with w.undone():
        try:
            walk.run(w, actor, pid if pid is not None else TEHRAN_ID)
            return "allowed"
        except PermissionDenied:
            return "refused"
        except NotFound as exc:
            gone = [t for t in w.targets if not w.exists(*t)]
            if not w.targets or gone:
                return f"NotFound ({exc.message}) with its record missing: {gone or 'none named'}"
            return "refused"
        except Hidden:
            return "hidden"
        except DomainError as exc:
            return f"{type(exc).__name__}: {exc.message}"


@pytest.mark.parametrize("row", list(MATRIX))
def test_matrix(world, row):
    walk = WALKS[row]
    differences = []
    for column in COLUMNS:
        cell = MATRIX[row][column]
        for pid, where in ({None: "no"} if walk.neutral else PROVINCES).items():
            got = attempt(world, walk, world.actors[column], pid)
            if cell == "all" or (cell == "own" and where == "own"):
                ok = got == "allowed"
            else:  # a list that leaves out another province's record is that province's refusal
                ok = got == "refused" or (got == "hidden" and cell == "own")
            if not ok:
                differences.append(f"{column} on {where} province: {got}; SECURITY.md says {cell}")
    assert not differences, f"{row}: " + "; ".join(differences)
