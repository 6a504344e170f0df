"""The demo loader: counts, coverage, integrity, and the workflow's SLA rules in the generated history.

One load of ~1,500 requests serves the whole module (the `db` fixture would wipe it between
tests); a second load into a fresh database, in parallel chunks with the indexes rebuilt, must
produce exactly the same rows.
"""
from __future__ import annotations

import random
import struct
import subprocess
import sys
import uuid
import zlib
from collections import Counter, defaultdict
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path

import bcrypt
import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

import demo
import demo.load as demo_load
import demo.people as people
import demo.rows as copy_text
from db.engine import make_engine
from db.migrate import upgrade
from db.models import Base, Request, StageVisit
from demo import DEMO_ACCOUNTS, DEMO_PASSWORD, load_demo
from demo.context import jalali_year
from demo.documents import DOCUMENT_REJECT_REASONS_FA
from demo.files import PNG_HEIGHT, PNG_WIDTH, demo_files
from demo.people import (ALLEYS_FA, CITIES_FA, DEGREE_FIELDS_FA, FEMALE_NAMES, LAST_NAMES, MALE_NAMES, STREETS_FA,
                         UNIVERSITIES)
from demo.plan import REJECT_REASONS_FA, RETURN_REASONS_FA
from domain import machine
from domain.actor import Actor
from domain.calendar import TEHRAN, from_wall, to_wall
from domain.clock import deadlines, hours_to_units, units_to_hours
from domain.fees import tariff_fee
from domain.identifiers import tracking_code
from domain.jalali import to_jalali
from domain.national_id import is_valid_national_id, make_national_id
from domain.outcomes import asks_top_rank
from domain.processes import ASSESS_FROM_TARIFF, NOTE_ACTIONS, PROCESSES, STAGE_INDEX
from domain.reference import RESIDENCE_PROOFS_FA
from logic import fees as fee_services
from logic import payments
from logic import workflow as wf
from logic.calendar import calendar_for
from logic.workflow import recompute_due_times
from tests.conftest import create_database, drop_database, wipe

NOW = datetime(2025, 11, 5, 10, 30, tzinfo=TEHRAN)  # a Wednesday in Aban 1404
REQUESTS, MEMBERS, SEED = 1500, 700, 7
CHUNK = 500  # three chunks, so the parallel path has something to split
# Actions that are not transitions: they carry the version they were written at.
NOT_TRANSITIONS = NOTE_ACTIONS | {"fee_assessed"}
# Moments things happened (deadlines may lie ahead of now; these may not).
HISTORY_TIMES = {
    "request": ("submitted_at", "clock_started_at", "stage_entered_at", "closed_at", "updated_at"),
    "request_event": ("at",),
    "stage_visit": ("entered_at", "left_at"),
    "payment": ("paid_at", "recorded_at"),
    "fee_assessment": ("created_at", "finance_at"),
    "document": ("uploaded_at", "verdict_at"),
    "validity_change": ("changed_at",),
    "member": ("created_at",),
    "staff_user": ("created_at", "password_changed_at"),
    "fee_tariff": ("updated_at",),
}


@pytest.fixture(scope="module")
def loaded(engine, owner_engine):
    """The demo loaded as the owner (it drops and rebuilds indexes), read as the app role."""
    wipe(owner_engine)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(demo_load, "CHUNK_REQUESTS", CHUNK)
        result = load_demo(owner_engine, requests=REQUESTS, members=MEMBERS, seed=SEED, now=NOW, workers=1)
    yield engine, result
    wipe(owner_engine)


def rows(engine, sql, **params):
    with engine.connect() as c:
        return c.execute(sa.text(sql), params).all()


def scalar(engine, sql, **params):
    with engine.connect() as c:
        return c.execute(sa.text(sql), params).scalar()


# --- counts and coverage ------------------------------------------------------------------------

def test_counts_are_as_asked(loaded):
    engine, result = loaded
    assert scalar(engine, "SELECT count(*) FROM request") == REQUESTS == result["request"]
    assert scalar(engine, "SELECT count(*) FROM member") == MEMBERS == result["member"]
    for table in ("request_event", "stage_visit", "document", "fee_assessment", "payment", "education",
                  "contact", "address", "validity_change"):
        assert scalar(engine, f"SELECT count(*) FROM {table}") == result[table] > 0, table
    assert scalar(engine, "SELECT count(*) FROM staff_user") == len(DEMO_ACCOUNTS) == result["staff_user"]
    assert scalar(engine, "SELECT count(*) FROM fee_tariff") == 31 * len(demo.TARIFF_YEARS)
    assert scalar(engine, "SELECT count(*) FROM blob") == len(demo_files())


def test_every_type_and_every_stage_has_open_requests(loaded):
    engine, _ = loaded
    open_at = {(t, s) for t, s in rows(engine, "SELECT DISTINCT type_code, stage_code FROM request "
                                               "WHERE status = 'open'")}
    wanted = {(code, stage.code) for code, proc in PROCESSES.items() for stage in proc.stages}
    assert wanted <= open_at


def test_status_mix_and_returned_requests(loaded):
    engine, _ = loaded
    mix = dict(rows(engine, "SELECT status, count(*) FROM request GROUP BY status"))
    assert 0.65 * REQUESTS < mix["completed"] < 0.85 * REQUESTS
    assert 0.04 * REQUESTS < mix["rejected"] < 0.12 * REQUESTS
    assert mix["returned"] > 10 and mix["open"] > len({(t, s.code) for t, p in PROCESSES.items() for s in p.stages})
    assert set(PROCESSES) == {t for (t,) in rows(engine, "SELECT DISTINCT type_code FROM request")}


def test_no_member_has_two_open_requests_of_one_type(loaded):
    """logic.workflow.submit refuses a second open request of the same type from a member."""
    engine, _ = loaded
    assert scalar(engine, "SELECT count(*) FROM (SELECT member_id, type_code FROM request WHERE status IN "
                          "('open', 'returned') GROUP BY 1, 2 HAVING count(*) > 1) twice") == 0


def test_submissions_spread_over_the_period_mostly_in_office_hours(loaded):
    engine, _ = loaded
    submitted = [s.astimezone(TEHRAN).replace(tzinfo=None) for (s,) in rows(engine, "SELECT submitted_at FROM request")]
    start = datetime(2024, 3, 20)  # 1 Farvardin 1403
    assert min(submitted) >= start - timedelta(days=2)
    assert {s.year for s in submitted} >= {2024, 2025}
    with Session(engine) as s:
        cal = calendar_for(s, 8)
    outside = sum(not cal.is_open(s) for s in submitted) / len(submitted)
    assert 0.08 < outside < 0.3
    # The queue is recent: most open requests came in within the last five weeks.
    recent = scalar(engine, "SELECT avg((submitted_at > :t)::int) FROM request WHERE status = 'open'",
                    t=NOW - timedelta(days=35))
    assert recent > 0.5


# --- members --------------------------------------------------------------------------------------

def test_national_ids_are_valid_and_unique(loaded):
    engine, _ = loaded
    ids = [n for (n,) in rows(engine, "SELECT national_id FROM member")]
    assert all(is_valid_national_id(n) for n in ids)
    assert len(set(ids)) == len(ids)
    family = [n for (n,) in rows(engine, "SELECT national_id FROM family_member")]
    assert family and all(is_valid_national_id(n) for n in family)


def test_members_are_consistent(loaded):
    engine, _ = loaded
    today = NOW.date()
    members = rows(engine, "SELECT id, status, membership_no, grade, valid_until, birth_province_id, province_id, "
                           "residence_proof FROM member")
    statuses = Counter(m.status for m in members)
    assert statuses["active"] > 1.5 * statuses["lapsed"] > 0 and statuses["applicant"] > 0
    for m in members:
        if m.status == "applicant":
            assert m.membership_no is None and m.grade is None and m.valid_until is None
        else:
            assert m.membership_no and m.grade in (1, 2, 3) and m.valid_until is not None
        if m.status == "active":
            assert m.valid_until >= today
        if m.status == "lapsed":
            assert m.valid_until < today
        if m.birth_province_id != m.province_id:
            assert m.residence_proof in RESIDENCE_PROOFS_FA
    numbers = [m.membership_no for m in members if m.membership_no]
    assert len(numbers) == len(set(numbers))
    # Validity ends on the last day of a Jalali year; some members are in the 1381-1388 discount range.
    ends = {demo.JALALI.ends[y] for y in range(1370, 1420)}
    assert all(m.valid_until in ends for m in members if m.valid_until)
    assert any(m.valid_until <= demo.JALALI.ends[1388] for m in members if m.valid_until)
    # Some of them are renewing right now: the discount rule is there to see at fee determination.
    assert scalar(engine, "SELECT count(*) FROM request r JOIN member m ON m.id = r.member_id WHERE r.status = 'open' "
                          "AND r.type_code = 'membership_renewal' AND m.valid_until <= :d",
                  d=demo.JALALI.ends[1388]) > 0


def test_each_member_has_exactly_one_legal_address_and_contacts(loaded):
    engine, _ = loaded
    assert scalar(engine, "SELECT count(*) FROM member m WHERE (SELECT count(*) FROM address a "
                          "WHERE a.member_id = m.id AND a.is_legal) <> 1") == 0
    assert scalar(engine, "SELECT count(*) FROM member m WHERE NOT EXISTS (SELECT 1 FROM contact c "
                          "WHERE c.member_id = m.id AND c.kind = 'mobile' AND c.is_active)") == 0
    assert scalar(engine, "SELECT count(*) FROM contact WHERE kind = 'mobile' AND value !~ '^09[0-9]{9}$'") == 0
    assert scalar(engine, "SELECT count(*) FROM member m WHERE NOT EXISTS "
                          "(SELECT 1 FROM education e WHERE e.member_id = m.id)") == 0
    assert scalar(engine, "SELECT count(DISTINCT member_id) FROM work_licence WHERE kind = 'article32'") > 0


# --- integrity --------------------------------------------------------------------------------------

def test_every_foreign_key_resolves(loaded):
    """The loader skips foreign-key triggers when it can; every reference must hold anyway."""
    engine, _ = loaded
    for table in Base.metadata.sorted_tables:
        for fk in table.foreign_key_constraints:
            cols = [c.name for c in fk.columns]
            ref = fk.referred_table.name
            ref_cols = [e.column.name for e in fk.elements]
            on = " AND ".join(f"p.{rc} = c.{cc}" for cc, rc in zip(cols, ref_cols))
            not_null = " AND ".join(f"c.{cc} IS NOT NULL" for cc in cols)
            missing = scalar(engine, f"SELECT count(*) FROM {table.name} c WHERE {not_null} "
                                     f"AND NOT EXISTS (SELECT 1 FROM {ref} p WHERE {on})")
            assert missing == 0, f"{table.name}.{cols} -> {ref}"


def test_no_text_column_says_none(loaded):
    """Rows are formatted by hand for COPY: a Python None must have become NULL, never the word."""
    engine, _ = loaded
    columns = rows(engine, "SELECT table_name, column_name FROM information_schema.columns WHERE table_schema = "
                           "'public' AND data_type IN ('text', 'character varying', 'jsonb') AND table_name = ANY(:t)",
                   t=list(demo.BULK_TABLES))
    assert len(columns) > 30
    for table, column in columns:
        assert scalar(engine, f"SELECT count(*) FROM {table} WHERE {column}::text ~ '(^|[^a-z])None([^a-z]|$)'") == 0, \
            (table, column)


def test_documents_fit_their_requests_and_files(loaded):
    engine, _ = loaded
    per_request = Counter(n for (n,) in rows(engine, "SELECT count(*) FROM document WHERE request_id IS NOT NULL "
                                                    "GROUP BY request_id"))
    assert set(per_request) <= {2, 3, 4}
    assert sum(per_request.values()) == REQUESTS
    mismatched = scalar(engine, "SELECT count(*) FROM document d JOIN blob b USING (sha256) WHERE "
                                "d.size_bytes <> b.size_bytes OR (d.mime = 'image/png') <> "
                                "(substring(b.content FROM 2 FOR 3) = 'PNG'::bytea)")
    assert mismatched == 0
    # Memberships carry identity documents and the degree, article 32 the old licence...
    kinds = defaultdict(set)
    for type_code, doc_type in rows(engine, "SELECT DISTINCT r.type_code, d.doc_type FROM document d "
                                            "JOIN request r ON r.id = d.request_id"):
        kinds[type_code].add(doc_type)
    assert {"national_card", "birth_certificate"} <= kinds["new_membership"]
    assert "old_licence" in kinds["article32_renewal"] and "rating_certificate" in kinds["rating_registration"]
    verdicts = dict(rows(engine, "SELECT verdict, count(*) FROM document GROUP BY verdict"))
    assert verdicts["pending"] and verdicts["accepted"] and verdicts["rejected"]
    assert scalar(engine, "SELECT count(*) FROM document d JOIN request r ON r.id = d.request_id "
                          "WHERE d.verdict = 'rejected' AND r.status NOT IN ('rejected', 'returned')") == 0
    # Members' own degree scans (small loads) are linked from their education rows.
    assert scalar(engine, "SELECT count(*) FROM education WHERE document_id IS NOT NULL") == MEMBERS


# --- SLA and events ---------------------------------------------------------------------------------

def test_open_closed_and_returned_requests_keep_the_clock_rules(loaded):
    engine, _ = loaded
    reqs = rows(engine, "SELECT r.*, s.clock_runs, s.limit_days, t.total_limit_days, (SELECT count(*) "
                        "FROM stage_visit v WHERE v.request_id = r.id AND v.left_at IS NULL) AS open_visits "
                        "FROM request r JOIN request_stage s ON s.type_code = r.type_code AND s.code = r.stage_code "
                        "JOIN request_type t ON t.code = r.type_code")
    for r in reqs:
        if r.status == "open" and r.clock_runs:
            # Due times only where the seed gives a limit (the stage's; the process total).
            assert (r.stage_due_at is not None) == (r.stage_risk_at is not None) == (r.limit_days is not None)
            waits = PROCESSES[r.type_code].stage(r.stage_code).outside_total  # the total waits there
            assert (r.due_at is not None) == (r.risk_at is not None) == (r.total_limit_days is not None and not waits)
            assert r.open_visits == 1
        else:
            assert r.stage_due_at is None and r.due_at is None and r.open_visits == 0
        if r.status in ("completed", "rejected"):
            assert r.closed_at is not None and r.assignee_id is None
            assert (r.met_sla is not None) == (r.total_limit_days is not None)
            assert r.stage_hours_used == 0
        else:
            assert r.closed_at is None and r.met_sla is None
        if r.status == "returned":
            assert r.assignee_id is None and r.stage_hours_used > 0
        assert r.clock_started_at >= r.submitted_at
        assert r.tracking_code == f"{demo.JALALI.year_of(r.submitted_at.astimezone(TEHRAN).date()) % 100:02d}" \
                                  f"{r.province_id:02d}{r.id:08d}"
    # A realistic queue: some deadlines passed, some not yet.
    with engine.connect() as c:
        breached = c.execute(sa.text("SELECT avg((stage_due_at < :now)::int) FROM request WHERE stage_due_at "
                                     "IS NOT NULL"), {"now": NOW}).scalar()
    assert 0.15 < breached < 0.85


def test_stored_deadlines_are_what_the_workflow_computes(loaded):
    """recompute_due_times finds nothing to change for any open request, nor for its open visit."""
    engine, _ = loaded
    with Session(engine) as s:
        reqs = s.scalars(sa.select(Request).where(Request.status == "open", sa.or_(Request.stage_due_at.is_not(None),
                                                                                   Request.due_at.is_not(None)))).all()
        assert reqs
        calendars = {}
        for req in reqs:
            cal = calendars.get(req.province_id) or calendars.setdefault(req.province_id,
                                                                           calendar_for(s, req.province_id))
            before = (req.stage_due_at, req.stage_risk_at, req.due_at, req.risk_at)
            assert not recompute_due_times(s, req, cal)
            assert (req.stage_due_at, req.stage_risk_at, req.due_at, req.risk_at) == before, req.id
            visit = s.scalar(sa.select(StageVisit).where(StageVisit.request_id == req.id, StageVisit.left_at.is_(None)))
            assert visit.due_at == req.stage_due_at and visit.entered_at == req.stage_entered_at
        s.rollback()


def _hours(value: float) -> Decimal:
    return Decimal(str(value)).quantize(Decimal("0.0001"))


def test_stage_visits_bank_hours_like_the_workflow(loaded):
    """Each segment's hours are office hours between entering and leaving; a return banks the segment
    without a verdict and the stage's later visit reports the stage's total against its limit."""
    engine, _ = loaded
    with Session(engine) as s:
        cal = calendar_for(s, 8)
        day = Decimal(str(cal.day_hours))
        visits = defaultdict(list)
        for v in s.execute(sa.text("SELECT * FROM stage_visit ORDER BY request_id, entered_at, id")):
            visits[v.request_id].append(v)
        reqs = {r.id: r for r in s.execute(sa.text("SELECT * FROM request"))}
        checked = 0
        for rid, vs in visits.items():
            r = reqs[rid]
            if r.province_id != 8:
                continue  # every province has the same calendar here; one is enough
            proc = PROCESSES[r.type_code]
            process_hours = Decimal(0)
            carried = defaultdict(lambda: Decimal(0))
            for v in vs:
                days = proc.stage(v.stage_code).limit_days
                limit = None if days is None else _hours(float(days) * cal.day_hours)
                assert v.limit_hours == limit
                if limit is not None:
                    left = max(Decimal(0), limit - carried[v.stage_code])
                    assert v.due_at == cal.add_working_hours(v.entered_at, float(left))
                else:  # «بدون مهلت مصوب»: no due time
                    assert v.due_at is None
                if v.left_at is None:
                    assert v.hours_used is None and v.met is None and v.outcome is None
                    continue
                segment = _hours(cal.working_hours_between(v.entered_at, v.left_at))
                if not proc.stage(v.stage_code).outside_total:  # the central review is not the province's time
                    process_hours += segment
                if v.outcome == "return":
                    assert v.hours_used == segment and v.met is None
                    carried[v.stage_code] += segment
                else:
                    used = carried.pop(v.stage_code, Decimal(0)) + segment
                    assert v.hours_used == used and v.met == (None if limit is None else used <= limit)
                checked += 1
            assert r.process_hours_used == process_hours, rid
            if r.status in ("completed", "rejected"):
                assert r.met_sla == (None if proc.total_limit_days is None
                                     else process_hours <= _hours(proc.total_limit_days * float(day)))
        assert checked > 500


def test_event_versions_run_one_to_version(loaded):
    engine, _ = loaded
    events = defaultdict(list)
    for e in rows(engine, "SELECT request_id, version, action, at, from_stage, to_stage, actor_id, reason "
                          "FROM request_event ORDER BY request_id, version, at, id"):
        events[e.request_id].append(e)
    for r in rows(engine, "SELECT id, version, status, stage_code, updated_at, submitted_at FROM request"):
        evs = events[r.id]
        transitions = [e for e in evs if e.action not in NOT_TRANSITIONS]
        assert [e.version for e in transitions] == list(range(1, r.version + 1)), r.id
        assert all(e.version <= r.version for e in evs)
        assert transitions[0].action == "submit" and transitions[0].at == r.submitted_at
        assert all(a.at <= b.at for a, b in zip(transitions, transitions[1:])), r.id
        assert max(e.at for e in evs) == r.updated_at
        # Each transition starts where the previous one left the request.
        stage = None
        for e in transitions:
            assert e.from_stage == stage, (r.id, e.action)
            stage = e.to_stage if e.to_stage is not None else e.from_stage
            if e.action in ("reject", "return"):
                assert e.reason
            if e.action in ("submit", "resubmit", "payment_confirmed", "member_completed"):
                assert e.actor_id is None
        assert stage == r.stage_code
        closing = transitions[-1]
        assert (closing.to_stage is None) == (r.status in ("completed", "rejected"))


def test_four_eyes_and_actors_with_the_stage_role(loaded):
    engine, _ = loaded
    four_eyes = [(code, s.code) for code, p in PROCESSES.items() for s in p.stages if s.four_eyes]
    pairs = ", ".join(f"('{t}', '{s}')" for t, s in four_eyes)
    same = scalar(engine, f"SELECT count(*) FROM stage_visit v JOIN request r ON r.id = v.request_id "
                          f"WHERE (v.type_code, v.stage_code) IN ({pairs}) AND v.actor_id = r.initial_reviewer_id")
    assert same == 0
    assert scalar(engine, f"SELECT count(*) FROM stage_visit v JOIN request r ON r.id = v.request_id "
                          f"WHERE (v.type_code, v.stage_code) IN ({pairs}) AND v.actor_id IS NOT NULL") > 50
    assert scalar(engine, f"SELECT count(*) FROM request WHERE (type_code, stage_code) IN ({pairs}) "
                          f"AND assignee_id = initial_reviewer_id") == 0
    # Whoever acted had the stage's role, in the request's province (or is central staff).
    wrong = scalar(engine, "SELECT count(*) FROM stage_visit v JOIN request_stage s ON s.type_code = v.type_code "
                           "AND s.code = v.stage_code JOIN staff_user u ON u.id = v.actor_id "
                           "WHERE NOT (s.role = ANY(u.roles)) "
                           "OR coalesce(u.province_id, v.province_id) <> v.province_id")
    assert wrong == 0
    wrong = scalar(engine, "SELECT count(*) FROM request r JOIN request_stage s ON s.type_code = r.type_code "
                           "AND s.code = r.stage_code JOIN staff_user u ON u.id = r.assignee_id "
                           "WHERE NOT (s.role = ANY(u.roles)) "
                           "OR coalesce(u.province_id, r.province_id) <> r.province_id")
    assert wrong == 0
    assert scalar(engine, "SELECT count(*) FROM request WHERE assignee_id IS NOT NULL") > 0
    assert scalar(engine, "SELECT count(*) FROM request r WHERE initial_reviewer_id IS NOT NULL AND NOT EXISTS "
                          "(SELECT 1 FROM stage_visit v WHERE v.request_id = r.id AND v.stage_code = 'initial_review' "
                          "AND v.actor_id = r.initial_reviewer_id AND v.outcome = 'approve')") == 0


def test_nothing_happened_after_now(loaded):
    engine, _ = loaded
    for table, columns in HISTORY_TIMES.items():
        for column in columns:
            assert scalar(engine, f"SELECT count(*) FROM {table} WHERE {column} > :now", now=NOW) == 0, (table, column)
    today = NOW.astimezone(TEHRAN).date()
    for table, column in (("member", "joined_on"), ("member", "birth_date"), ("work_licence", "issued_on"),
                          ("education", "graduated_on"), ("family_member", "birth_date")):
        assert scalar(engine, f"SELECT count(*) FROM {table} WHERE {column} > :d", d=today) == 0, (table, column)


# --- the histories are what the rules and the services make ----------------------------------------

def _naive(moment):
    return None if moment is None else moment.astimezone(TEHRAN).replace(tzinfo=None)


def _actors(engine) -> dict[int, Actor]:
    return {r.id: Actor(r.id, r.username, r.full_name, frozenset(r.roles), r.province_id)
            for r in rows(engine, "SELECT id, username, full_name, roles, province_id FROM staff_user")}


def _ticks(type_code: str, stage_code: str) -> tuple[bool, ...] | None:
    stage = STAGE_INDEX[(type_code, stage_code)][1]
    return (True,) * len(stage.checklist) if stage.checklist else None


def _action_of(event, type_code: str) -> machine.Action:
    """The action whose event `event` is."""
    data, name = event.data or {}, event.action
    if name == "committee_decision":
        if data["granted"]:
            return machine.Action(machine.APPROVE, event.reason, _ticks(type_code, event.from_stage))
        return machine.Action(machine.REJECT, event.reason)
    if name == "approve":
        return machine.Action(machine.APPROVE, event.reason, _ticks(type_code, event.from_stage), bool(data.get("referred")))
    if name in (machine.REJECT, machine.RETURN):
        return machine.Action(name, event.reason)
    if name == machine.PAYMENT_CONFIRMED:
        return machine.Action(name, data=data)
    return machine.Action(name)


def test_every_history_is_a_replay_of_decide(loaded):
    """Running `domain.machine.decide` again over each request's stored events, with the facts the
    services read (the province's finance setting, the current assessment, this year's tariff),
    gives back every event (action, stages, version), every stage visit, the tariff fees where the
    effects write them, and the request row with its deadlines."""
    engine, _ = loaded
    actors = _actors(engine)
    events, visits = defaultdict(list), defaultdict(list)
    for e in rows(engine, "SELECT * FROM request_event ORDER BY id"):
        events[e.request_id].append(e)
    for v in rows(engine, "SELECT * FROM stage_visit ORDER BY id"):
        visits[v.request_id].append(v)
    tariffs = {(t.province_id, t.jalali_year): t for t in rows(engine, "SELECT * FROM fee_tariff")}
    finance = dict(rows(engine, "SELECT province_id, finance_approval_required FROM province_setting"))
    with Session(engine) as s:
        calendars = {pid: calendar_for(s, pid) for pid in finance}
    seen = Counter()
    for r in rows(engine, "SELECT * FROM request ORDER BY id"):
        proc, cal, evs = PROCESSES[r.type_code], calendars[r.province_id], events[r.id]
        state = machine.RequestState.draft(r.type_code, r.province_id, _naive(r.submitted_at))
        total = pending = visit = None  # the assessment's total; a tariff fee of the next step's effects
        stored_visits = iter(visits[r.id])
        k = 0
        while k < len(evs):
            e = evs[k]
            k += 1
            at = _naive(e.at)
            if e.action == "fee_assessed":
                if e.data.get("source") == "tariff":
                    pending = e
                else:  # the expert's determination: not a transition
                    assert (e.from_stage, e.to_stage, e.version) == (state.stage_code,) * 2 + (state.version,)
                    total = e.data["total"]
                continue
            tariff_total = None
            year = to_jalali(at).year
            if total is None and proc.fee_items and (r.province_id, year) in tariffs:
                tariff = tariffs[(r.province_id, year)]
                tariff_total = tariff_fee(proc, {i: getattr(tariff, i) for i in proc.fee_items}, year).total
            # Every renewer held the licence it renews (their licence rows say so; not what is replayed here).
            facts = machine.Facts(finance[r.province_id], total, tariff_total,
                                  licences_held=frozenset({"work", "article32"}),
                                  top_rank=r.type_code == "rating" and asks_top_rank(r.data))
            action = _action_of(e, r.type_code)
            if e.action == machine.SUBMIT:
                action = action._replace(data=r.data)  # what the member declared
            t = machine.decide(state, action, actors.get(e.actor_id), facts, cal, at)
            assert (e.action, e.from_stage, e.to_stage, e.version, e.reason) == \
                (t.event.action, t.event.from_stage, t.event.to_stage, t.state.version, t.event.reason), (r.id, e.id)
            assert (e.data or None) == (dict(t.event.data) if t.event.data else None), (r.id, e.id)
            if pending is not None:  # written by the effects of leaving the stage, before the event
                assert ASSESS_FROM_TARIFF in t.effects and total is None, (r.id, e.id)
                assert (pending.from_stage, pending.to_stage, pending.version, pending.at) == \
                    (state.stage_code, state.stage_code, state.version, e.at), (r.id, pending.id)
                total, pending = pending.data["total"], None
                seen["tariff fee before its transition"] += 1
            else:
                assert ASSESS_FROM_TARIFF not in t.effects or total is not None, (r.id, e.id)
            if ASSESS_FROM_TARIFF in t.effects_after_event:  # the first stage's fee, after the submission
                f = evs[k]
                k += 1
                assert (f.action, f.from_stage, f.to_stage, f.version, f.at, f.data.get("source")) == \
                    ("fee_assessed", t.state.stage_code, t.state.stage_code, 1, e.at, "tariff"), r.id
                total = f.data["total"]
                seen["tariff fee after the submission"] += 1
            if t.closed is not None:
                assert (visit.left_at, visit.actor_id, visit.outcome, hours_to_units(visit.hours_used), visit.met) == \
                    (e.at, t.closed.actor_id, t.closed.outcome, t.closed.hours_used, t.closed.met), (r.id, e.id)
                visit = None
                seen[f"visit closed: {t.closed.outcome}"] += 1
            if t.opened is not None:
                visit = next(stored_visits)
                assert (visit.stage_code, _naive(visit.entered_at), _naive(visit.due_at),
                        None if visit.limit_hours is None else hours_to_units(visit.limit_hours)) == \
                    (t.opened.stage_code, t.opened.entered_at, t.opened.due_at, t.opened.limit_hours), (r.id, e.id)
            state = t.state
            seen[e.action] += 1
        assert pending is None and next(stored_visits, None) is None, r.id
        assert visit is None or (visit.left_at is None and visit.outcome is None), r.id
        assert (r.stage_code, r.status, r.version, _naive(r.stage_entered_at), hours_to_units(r.stage_hours_used),
                hours_to_units(r.process_hours_used), r.assignee_id, r.initial_reviewer_id, r.referred,
                _naive(r.closed_at), r.met_sla, _naive(r.clock_started_at)) == \
            (state.stage_code, state.status, state.version, state.stage_entered_at, state.stage_hours_used,
             state.process_hours_used, state.assignee_id, state.initial_reviewer_id, state.referred,
             state.closed_at, state.met_sla, state.clock_started_at), r.id
        due = (None,) * 4
        if state.clock_runs:
            d = deadlines(cal, proc, STAGE_INDEX[(r.type_code, state.stage_code)][1], state.stage_entered_at,
                          state.stage_hours_used, state.process_hours_used)
            due = (d.stage_due_at, d.stage_risk_at, d.due_at, d.risk_at)
        assert tuple(map(_naive, (r.stage_due_at, r.stage_risk_at, r.due_at, r.risk_at))) == due, r.id
        assert r.tracking_code == tracking_code(to_jalali(r.submitted_at).year, r.province_id, r.id)
        assert r.updated_at == evs[-1].at
        seen["request"] += 1
    assert seen["request"] == REQUESTS
    for what in ("submit", "claim", "approve", "complete", "committee_decision", "payment_confirmed",
                 "member_completed", "reject", "return", "resubmit", "tariff fee before its transition",
                 "tariff fee after the submission", "visit closed: reject", "visit closed: return"):
        assert seen[what] > 0, what


def test_fee_events_and_committee_refusals_are_written_as_the_services_write_them(loaded):
    """A payment stage entered with nothing assessed takes its fee from the tariff as the request
    leaves the stage before: the `fee_assessed` event comes first, on that stage and at its version.
    A first stage that is a payment stage takes it after the submission, both at version 1. A
    committee's refusal closes its visit as a rejection."""
    engine, _ = loaded
    events = defaultdict(list)
    for e in rows(engine, "SELECT e.*, r.type_code FROM request_event e JOIN request r ON r.id = e.request_id "
                          "ORDER BY e.id"):
        events[e.request_id].append(e)
    before = after_submit = refusals = 0
    for evs in events.values():
        for a, b in zip(evs, evs[1:]):
            if b.action == "approve" and b.to_stage == "payment" and b.type_code == "new_membership":
                assert (a.action, a.from_stage, a.to_stage, a.version, a.at) == \
                    ("fee_assessed", b.from_stage, b.from_stage, b.version - 1, b.at)
                before += 1
            if a.action == "submit" and a.to_stage == "payment":
                assert (b.action, b.from_stage, b.to_stage, a.version, b.version, b.at) == \
                    ("fee_assessed", "payment", "payment", 1, 1, a.at)
                after_submit += 1
        for e in evs:
            if e.action == "committee_decision" and not e.data["granted"]:
                assert e.to_stage is None and e.reason
                outcome = scalar(engine, "SELECT outcome FROM stage_visit WHERE request_id = :r AND left_at = :t",
                                 r=e.request_id, t=e.at)
                assert outcome == "reject"
                refusals += 1
    assert before and after_submit and refusals
    assert scalar(engine, "SELECT count(*) FROM stage_visit WHERE outcome = 'committee_decision' AND NOT EXISTS "
                          "(SELECT 1 FROM request_event e WHERE e.request_id = stage_visit.request_id "
                          "AND e.at = stage_visit.left_at AND e.data @> '{\"granted\": true}')") == 0


def _history(engine, rid: int) -> dict:
    """What a request's history wrote, without its own ids and the payment's reference."""
    def data(e):
        d = dict(e.data or {})
        for key in ("assessment_id", "payment_id", "bank_reference"):
            d.pop(key, None)
        return d
    return {
        "request": [tuple(r)[2:] for r in rows(
            engine, "SELECT id, tracking_code, member_id, province_id, type_code, stage_code, status, assignee_id, "
                    "submitted_at, clock_started_at, stage_entered_at, stage_hours_used, stage_due_at, "
                    "stage_risk_at, process_hours_used, due_at, risk_at, closed_at, met_sla, initial_reviewer_id, "
                    "referred, version, updated_at, data FROM request WHERE id = :r", r=rid)],
        "events": [(e.at, e.actor_id, e.action, e.from_stage, e.to_stage, e.reason, e.version, data(e))
                   for e in rows(engine, "SELECT * FROM request_event WHERE request_id = :r ORDER BY id", r=rid)],
        "visits": [tuple(v) for v in rows(
            engine, "SELECT stage_code, entered_at, due_at, left_at, actor_id, outcome, hours_used, limit_hours, met "
                    "FROM stage_visit WHERE request_id = :r ORDER BY id", r=rid)],
        "assessments": [tuple(a) for a in rows(
            engine, "SELECT version, tariff_id, lines, prior_debt, total, years, new_valid_until, note, created_by, "
                    "created_at, finance_status, finance_by, finance_at FROM fee_assessment WHERE request_id = :r",
            r=rid)],
        "payments": [tuple(p) for p in rows(engine, "SELECT amount, paid_at, source, recorded_by, recorded_at "
                                                    "FROM payment WHERE request_id = :r", r=rid)],
        "validity": [tuple(v) for v in rows(engine, "SELECT member_id, old_valid_until, new_valid_until, changed_at "
                                                    "FROM validity_change WHERE request_id = :r", r=rid)],
        # The record's history, but for the number a new licence gets (from its id).
        "record": [(c.member_id, c.kind, c.at, c.province_id, c.licence_id is None,
                    {k: v for k, v in c.details.items() if k != "licence_no"}) for c in rows(
            engine, "SELECT * FROM record_change WHERE request_id = :r ORDER BY id", r=rid)],
        # (Its expiry as issued is in the record's row: a later renewal may have moved the licence's.)
        "licences": [tuple(w) for w in rows(engine, "SELECT member_id, kind, field, grade, competencies, issued_on "
                                                    "FROM work_licence WHERE request_id = :r", r=rid)],
    }


def _through_the_services(engine, actors: dict[int, Actor], original) -> int:
    """File the member's request again through logic.workflow (and logic.fees, logic.payments)
    with the original's moments and decisions; returns the new request's id."""
    evs = rows(engine, "SELECT * FROM request_event WHERE request_id = :r ORDER BY id", r=original.id)
    with engine.begin() as c:
        # The member's validity when the original was filed (before the renewals that followed),
        # and the member's open requests of the type out of the way of the one-open-request rule.
        # So too its province, before the changes its requests made.
        later = {"m": original.member_id, "t": original.submitted_at}
        c.execute(sa.text(
            "UPDATE member SET valid_until = CASE WHEN v.id IS NULL THEN valid_until ELSE v.old_valid_until END "
            "FROM (SELECT NULL) x LEFT JOIN LATERAL (SELECT id, old_valid_until FROM validity_change v "
            "WHERE v.member_id = :m AND v.changed_at > :t ORDER BY v.changed_at, v.id LIMIT 1) v ON true "
            "WHERE member.id = :m"), later)
        c.execute(sa.text(
            "UPDATE member SET province_id = coalesce((SELECT (details->>'from_province')::int FROM record_change "
            "WHERE member_id = :m AND kind = 'moved_province' AND at > :t ORDER BY at, id LIMIT 1), province_id) "
            "WHERE id = :m"), later)
        # A renewed licence as the original found it when it renewed it (another renewal of the same
        # licence may have completed while the original was under way).
        c.execute(sa.text(
            "UPDATE work_licence w SET expires_on = (c.details->>'old_expires_on')::date FROM record_change c "
            "WHERE c.licence_id = w.id AND c.kind = 'licence_renewed' AND c.request_id = :r"), {"r": original.id})
        c.execute(sa.text("UPDATE request SET status = 'rejected', closed_at = updated_at, met_sla = false, "
                          "stage_due_at = NULL, stage_risk_at = NULL, due_at = NULL, risk_at = NULL "
                          "WHERE member_id = :m AND type_code = :t AND status IN ('open', 'returned')"),
                  {"m": original.member_id, "t": original.type_code})
    rid = wf.submit(engine, original.member_id, original.type_code, original.data,
                    submitted_at=original.submitted_at).request_id
    assessment = rows(engine, "SELECT * FROM fee_assessment WHERE request_id = :r", r=original.id)
    for e in evs[1:]:
        actor, now, data = actors.get(e.actor_id), e.at, e.data or {}
        if e.action == "fee_assessed":
            if data.get("source") == "tariff":
                continue  # the services' effects write it
            a = assessment[0]
            if "through_year" in data:
                fee_services.determine_renewal_fee(engine, actor, rid, None, data["through_year"], a.prior_debt,
                                                   a.note, now=now)
            else:
                fee_services.determine_licence_renewal_fee(engine, actor, rid, None,
                                                           [(line["year"], line["free"]) for line in a.lines],
                                                           a.note, now=now)
        elif e.action == "claim":
            wf.claim(engine, actor, rid, None, now=now)
        elif e.action == "approve":
            wf.approve(engine, actor, rid, None, checklist=_ticks(original.type_code, e.from_stage),
                       refer=bool(data.get("referred")), note=e.reason, now=now)
        elif e.action == "committee_decision":
            wf.committee_decision(engine, actor, rid, None, granted=data["granted"], reason=e.reason,
                                  checklist=_ticks(original.type_code, e.from_stage), now=now)
        elif e.action == "complete":
            wf.complete(engine, actor, rid, None, now=now)
        elif e.action == "reject":
            wf.reject(engine, actor, rid, None, e.reason, now=now)
        elif e.action == "return":
            wf.return_for_correction(engine, actor, rid, None, e.reason, now=now)
        elif e.action == "resubmit":
            wf.resubmit(engine, rid, None, now=now)
        elif e.action == "member_completed":
            wf.member_completed(engine, rid, None, now=now)
        elif e.action == "payment_confirmed":
            payments.confirm_payment(engine, None, rid, "T" + data["bank_reference"], data["amount"], paid_at=now,
                                     source="demo", now=now)
        else:  # pragma: no cover
            raise AssertionError(e.action)
    return rid


def test_the_services_write_the_same_histories(pg_server_url):
    """Requests of every type and ending, filed again through the services with the same moments and
    decisions, get the same events in the same order (fees included), stage visits, request row,
    assessment, payment and validity change as the loader wrote."""
    name = f"demo_{uuid.uuid4().hex[:8]}"
    engine = make_engine(create_database(pg_server_url, name))
    try:
        upgrade(engine)
        load_demo(engine, requests=400, members=200, seed=SEED + 1, now=NOW, workers=1)
        actors = _actors(engine)
        sample = rows(engine, "SELECT * FROM (SELECT r.*, row_number() OVER (PARTITION BY type_code, status "
                              "ORDER BY (SELECT count(*) FROM request_event e WHERE e.request_id = r.id) DESC, id) "
                              "AS k FROM request r) x WHERE k <= 3 ORDER BY submitted_at")
        assert {s.status for s in sample} == {"completed", "rejected", "open", "returned"}
        assert {s.type_code for s in sample} == set(PROCESSES)
        expected = {original.id: _history(engine, original.id) for original in sample}
        for original in sample:
            rid = _through_the_services(engine, actors, original)
            assert _history(engine, rid) == expected[original.id], (original.id, original.type_code, original.status)
    finally:
        engine.dispose()
        drop_database(pg_server_url, name)


# --- fees, payments, validity -------------------------------------------------------------------------

def test_payments_match_their_assessments(loaded):
    engine, _ = loaded
    assert scalar(engine, "SELECT count(*) FROM payment p JOIN fee_assessment a ON a.id = p.assessment_id "
                          "WHERE p.amount <> a.total OR a.request_id <> p.request_id OR a.total <= 0 "
                          "OR a.finance_status IN ('pending', 'rejected')") == 0
    assert scalar(engine, "SELECT count(*) FROM payment WHERE source <> 'demo'") == 0
    # Every passed payment stage has its payment; totals are the lines plus the prior debt.
    assert scalar(engine, "SELECT count(*) FROM request_event e WHERE e.action = 'payment_confirmed' AND NOT EXISTS "
                          "(SELECT 1 FROM payment p WHERE p.request_id = e.request_id "
                          "AND p.bank_reference = e.data->>'bank_reference')") == 0
    assert scalar(engine, "SELECT count(*) FROM fee_assessment a WHERE a.total <> a.prior_debt + "
                          "(SELECT coalesce(sum((l->>'amount')::bigint), 0) FROM jsonb_array_elements(a.lines) l)") == 0
    statuses = dict(rows(engine, "SELECT finance_status, count(*) FROM fee_assessment a JOIN request r "
                                 "ON r.id = a.request_id WHERE r.type_code = 'membership_renewal' GROUP BY 1"))
    assert statuses.get("approved") and statuses.get("pending")
    # The 1381-1388 rule: those members' lines carry a 5 % discount.
    discounted = rows(engine, "SELECT l FROM fee_assessment a, jsonb_array_elements(a.lines) l "
                              "WHERE (l->>'discount')::bigint > 0 AND a.lines @> '[{\"year\": 1389}]'")
    assert all(int(l["discount"]) == (int(l["fee"]) * 500 + 5000) // 10000 for (l,) in discounted)


def test_renewals_extend_validity(loaded):
    engine, _ = loaded
    renewals = rows(engine, "SELECT r.member_id, a.new_valid_until, r.closed_at, m.valid_until, "
                            "(SELECT new_valid_until FROM validity_change v WHERE v.request_id = r.id) AS changed "
                            "FROM request r JOIN fee_assessment a ON a.request_id = r.id JOIN member m "
                            "ON m.id = r.member_id WHERE r.type_code = 'membership_renewal' AND r.status = 'completed'")
    assert renewals
    for member_id, new_valid, _, valid_until, changed in renewals:
        assert changed == new_valid and valid_until >= new_valid, member_id
    # The renewal window: nobody renewed more than 60 days before their validity ended.
    early = scalar(engine, "SELECT count(*) FROM request r JOIN validity_change v ON v.request_id = r.id "
                           "WHERE r.type_code = 'membership_renewal' AND v.old_valid_until - 60 > "
                           "(r.submitted_at AT TIME ZONE 'Asia/Tehran')::date")
    assert early == 0
    admitted = rows(engine, "SELECT m.status, m.membership_no, m.joined_on FROM request r JOIN member m "
                            "ON m.id = r.member_id WHERE r.type_code = 'new_membership' AND r.status = 'completed'")
    assert admitted and all(status in ("active", "lapsed") and number for status, number, _ in admitted)


# --- accounts and re-runs -------------------------------------------------------------------------------

def test_demo_accounts_log_in_with_their_roles(loaded):
    engine, _ = loaded
    staff = {r.username: r for r in rows(engine, "SELECT username, roles, province_id, password_hash FROM staff_user")}
    for username, roles, province_id in DEMO_ACCOUNTS:
        assert sorted(staff[username].roles) == sorted(roles) and staff[username].province_id == province_id
    assert staff["tehran.expert2"].roles == ["expert", "final_reviewer"]
    assert staff["central.expert"].province_id is None and staff["admin"].roles == ["admin"]
    assert len({s.password_hash for s in staff.values()}) == 1  # hashed once
    assert bcrypt.checkpw(DEMO_PASSWORD.encode(), staff["isfahan.head"].password_hash.encode())
    assert {p for _, _, p in DEMO_ACCOUNTS if p} == set(range(1, 32))


def test_the_command_loads_nothing_outside_demo_mode(loaded, db_url, capsys, monkeypatch):
    engine, _ = loaded
    tables = ("member", "request", "staff_user", "holiday")
    before = [scalar(engine, f"SELECT count(*) FROM {t}") for t in tables]
    monkeypatch.setenv("APP_MODE", "production")
    # Refused before it reads the database (a loaded one would be refused later, with exit code 1).
    assert demo.main(["--if-empty", "--requests", "20", "--database-url", db_url]) == 2
    assert "APP_MODE=demo" in capsys.readouterr().err
    assert [scalar(engine, f"SELECT count(*) FROM {t}") for t in tables] == before


def test_if_empty_adds_nothing_and_a_plain_rerun_refuses(loaded, db_url, capsys, monkeypatch):
    monkeypatch.setenv("APP_MODE", "demo")
    engine, _ = loaded
    before = [scalar(engine, f"SELECT count(*) FROM {t}") for t in ("member", "request", "staff_user", "holiday")]
    assert demo.main(["--if-empty", "--requests", "50", "--database-url", db_url]) == 0
    assert "nothing loaded" in capsys.readouterr().out
    with pytest.raises(RuntimeError):
        load_demo(engine, requests=10, now=NOW)
    after = [scalar(engine, f"SELECT count(*) FROM {t}") for t in ("member", "request", "staff_user", "holiday")]
    assert before == after


def _digest(engine, table: str, exclude: tuple[str, ...] = ()) -> str:
    cols = [c["name"] for c in sa.inspect(engine).get_columns(table) if c["name"] not in exclude]
    order = "id" if "id" in cols else ", ".join(cols)
    return scalar(engine, f"SELECT md5(string_agg(({', '.join(cols)})::text, '|' ORDER BY {order})) FROM {table}")


def _indexes(engine) -> set[tuple[str, str]]:
    return set(rows(engine, "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = 'public'"))


def test_same_seed_same_data_in_parallel_with_rebuilt_indexes(loaded, pg_server_url):
    """A second load with two worker processes, the drop-and-rebuild of indexes and the foreign-key
    triggers left on (as for a non-superuser) writes exactly the same rows, and leaves exactly the
    indexes the migrations made."""
    engine, _ = loaded
    name = f"demo_{uuid.uuid4().hex[:8]}"
    other = make_engine(create_database(pg_server_url, name))
    try:
        upgrade(other)
        indexes = _indexes(other)
        with pytest.MonkeyPatch.context() as mp:
            mp.setattr(demo_load, "CHUNK_REQUESTS", CHUNK)
            result = load_demo(other, requests=REQUESTS, members=MEMBERS, seed=SEED, now=NOW, workers=2, bulk=True,
                               skip_fk_triggers=False)
        assert result["workers"] == 2
        assert _indexes(other) == indexes == _indexes(engine)
        for table in ("member", "education", "contact", "address", "family_member", "work_licence", "request",
                      "document", "stage_visit", "request_event", "fee_assessment", "payment", "validity_change",
                      "fee_tariff", "holiday", "blob", "member_name_word"):
            assert _digest(other, table) == _digest(engine, table), table
        assert _digest(other, "staff_user", ("password_hash",)) == _digest(engine, "staff_user", ("password_hash",))
        # Later inserts do not collide with the ids the loader chose.
        with other.begin() as c:
            for table in ("member", "request", "fee_assessment", "payment", "document", "request_event"):
                nxt = c.execute(sa.text(f"SELECT nextval(pg_get_serial_sequence('{table}', 'id'))")).scalar()
                assert nxt > c.execute(sa.text(f"SELECT max(id) FROM {table}")).scalar(), table
    finally:
        other.dispose()
        drop_database(pg_server_url, name)


# --- pieces that need no database ---------------------------------------------------------------------

def test_integer_shortcuts_match_what_they_replace():
    """The generator's integer arithmetic gives exactly what the Decimal, timedelta, datetime and
    domain.national_id code it replaces gives (the generated rows depend on every digit)."""
    rng = random.Random(11)
    one_us = timedelta(microseconds=1)
    # Clock units as text: what str() of the Decimal hours writes.
    for units in [rng.randrange(10**9) for _ in range(20_000)] + [0, 1, 9_999, 10_000, 70_000]:
        assert copy_text.units_text(units) == str(units_to_hours(units)), units
    # Float days -> microseconds, as timedelta(days=...) rounds them (ties included).
    days = [rng.random() * 14 for _ in range(50_000)] + [j / 2**14 + k for j in range(1, 2**14, 7) for k in (0, 3)]
    for d in days + [0, 0.0, 2, 1e-12, -0.5]:
        assert copy_text.days_us(d) == timedelta(days=d) // one_us, d
    # National IDs: the check digit, and the repeated-digit prefixes that must be skipped.
    inverse = pow(people._NID_MULTIPLIER, -1, 10**9)
    indexes = [rng.randrange(10**9) for _ in range(20_000)]
    indexes += [(111_111_111 * digit - SEED * 7919) * inverse % 10**9 for digit in range(10)]
    for index in indexes:
        prefix = (people._NID_MULTIPLIER * index + SEED * 7919) % 10**9
        national_id = demo.national_id_for(index, SEED)
        assert is_valid_national_id(national_id), index
        if len(set(f"{prefix:09d}")) > 1:
            assert national_id == make_national_id(f"{prefix:09d}"), index
    # Wall times -> COPY text, and back to the moment; Jalali years by table.
    for _ in range(20_000):
        moment = datetime(2020, 1, 1) + timedelta(microseconds=rng.randrange(10 * 365 * 86400 * 10**6))
        if rng.random() < 0.5:
            moment = moment.replace(microsecond=0)
        wall = to_wall(moment)
        assert copy_text.ts_us(wall) == copy_text.ts(moment) == moment.isoformat(" ")
        assert from_wall(wall) == moment and copy_text.wall_date(wall) == moment.date()
        assert jalali_year(wall) == to_jalali(moment).year == demo.JALALI.year_of(moment.date())


def test_generated_text_needs_no_escaping():
    """Rows and JSON are written by hand: none of the text the generator draws from may contain
    a character COPY or JSON would need escaped."""
    texts = [name for pair in MALE_NAMES + FEMALE_NAMES + LAST_NAMES for name in pair]
    texts += list(UNIVERSITIES + STREETS_FA + ALLEYS_FA + REJECT_REASONS_FA + RETURN_REASONS_FA
                  + DOCUMENT_REJECT_REASONS_FA)
    texts += [c for cities, _ in CITIES_FA.values() for c in cities]
    texts += [label for label, specs in DEGREE_FIELDS_FA.values() for label in (label, *specs)]
    assert texts and not [t for t in texts if set(t) & set('\\\t\n\r"')]


def test_national_ids_are_a_permutation():
    ids = [demo.national_id_for(i, SEED) for i in range(20_000)]
    assert len(set(ids)) == len(ids) and all(is_valid_national_id(n) for n in ids)


def test_tariffs_rise_and_round_to_ten_thousands():
    tehran_1405 = demo.tariff_for(8, 1405)
    assert 20_000_000 <= tehran_1405[1] <= 30_000_000
    assert 200_000 <= demo.tariff_for(8, 1381)[1] <= 400_000
    assert demo.tariff_for(17, 1405)[1] < tehran_1405[1]
    for pid in (8, 4, 16):
        for year in demo.TARIFF_YEARS:
            fees = demo.tariff_for(pid, year)
            assert all(f > 0 and f % 10_000 == 0 for f in fees)
            if year > demo.TARIFF_YEARS.start:
                assert fees[1] >= demo.tariff_for(pid, year - 1)[1]


def _png_chunks(data: bytes):
    pos = 8
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos:pos + 4])
        kind, body = data[pos + 4:pos + 8], data[pos + 8:pos + 8 + length]
        (crc,) = struct.unpack(">I", data[pos + 8 + length:pos + 12 + length])
        assert crc == zlib.crc32(kind + body) & 0xFFFFFFFF
        yield kind, body
        pos += 12 + length


def test_demo_files_are_valid_pngs_and_pdfs():
    files = demo_files()
    assert len({f.sha256 for f in files}) == len(files) == 18
    for f in files:
        if f.mime == "image/png":
            assert f.content.startswith(b"\x89PNG\r\n\x1a\n")
            chunks = dict(_png_chunks(f.content))
            width, height = struct.unpack(">II", chunks[b"IHDR"][:8])
            assert (width, height) == (PNG_WIDTH, PNG_HEIGHT) and b"IEND" in chunks
            assert len(zlib.decompress(chunks[b"IDAT"])) == height * (1 + 3 * width)
        else:
            assert f.mime == "application/pdf" and f.content.startswith(b"%PDF-1.4")
            text = f.content
            startxref = int(text.rsplit(b"startxref\n", 1)[1].split(b"\n")[0])
            assert text[startxref:].startswith(b"xref\n0 6\n")
            offsets = [int(line[:10]) for line in text[startxref:].split(b"\n")[3:8]]
            for number, offset in enumerate(offsets, start=1):
                assert text[offset:].startswith(b"%d 0 obj" % number)
            assert b"Demo " in text and text.rstrip().endswith(b"%%EOF")


_RSS_AFTER_FREE = """
import sys
import demo
if sys.argv[1] == "keep":
    assert demo.keep_freed_memory()
def rss_mb():
    return int(open("/proc/self/statm").read().split()[1]) * 4096 / 2**20
blocks = [b"x" * (20 << 20) for _ in range(10)]  # like a chunk's joined and encoded tables
before = rss_mb()
del blocks
print(round(before - rss_mb()))
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's allocator")
def test_the_loader_keeps_freed_chunk_buffers_for_the_next_chunk():
    """Without the setting, glibc hands each freed 20 MB buffer back to the kernel (the next chunk
    touches new pages); with it, the process keeps them."""
    def released(mode: str) -> int:
        done = subprocess.run([sys.executable, "-c", _RSS_AFTER_FREE, mode], capture_output=True, text=True,
                              check=True, cwd=Path(__file__).resolve().parent.parent)
        return int(done.stdout)
    assert released("default") >= 150
    assert released("keep") <= 10
