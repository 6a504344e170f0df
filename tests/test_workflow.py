"""The workflow engine on a real database: every request type end to end, rejection, return and
resubmission, four eyes, province and role checks, and the SLA clocks at every step."""
from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal

import pytest
import sqlalchemy as sa

from domain.calendar import BusinessCalendar
from domain.errors import InvalidTransition, PermissionDenied, StaleRequest, ValidationError
from domain.jalali import TEHRAN
from domain.processes import INITIAL_REVIEW, PROCESSES, StageKind
from domain.reference import ISFAHAN_ID, TEHRAN_ID
from domain.roles import Role
from logic import workflow as wf
from tests.factories import (actor_for, add_licence, check_invariants, events, file_request, make_assessment,
                             make_member, make_staff, req_row, rows, step, validity_for)

CAL = BusinessCalendar()  # the default province calendar; the test database has no holidays
SAT_0800 = datetime(2026, 11, 21, 8, 0, tzinfo=TEHRAN)  # a Saturday


@pytest.fixture
def world(db):
    t = TEHRAN_ID
    staff = {
        "expert": make_staff(db, "t.expert", ["expert"], t, "کارشناس یکم"),
        "expert2": make_staff(db, "t.expert2", ["expert", "final_reviewer"], t, "کارشناس دوم"),
        "final": make_staff(db, "t.final", ["final_reviewer"], t, "بررسی نهایی"),
        "head": make_staff(db, "t.head", ["head"], t, "رییس"),
        "finance": make_staff(db, "t.finance", ["finance"], t, "مالی"),
        "committee": make_staff(db, "t.committee", ["committee"], t, "کمیته"),
        "rating": make_staff(db, "t.rating", ["rating_committee"], t, "کمیته تخصصی رتبه‌بندی"),
        "manager": make_staff(db, "t.manager", ["manager"], t, "مدیر"),
        "central": make_staff(db, "central.expert", ["central_expert"], None, "کارشناس مرکزی"),
        "isfahan": make_staff(db, "i.expert", ["expert", "final_reviewer", "head"], ISFAHAN_ID, "کارشناس اصفهان"),
    }
    return staff


# What each type's member declares at submission (`Process.data_fields`).
SUBMITTED = {
    "legacy_registration": {"old_membership_no": "08-1-012345", "old_valid_until": "2027-03-20"},
    "membership_renewal": {"renewal_years": 2},
    "transfer": {"destination_province": ISFAHAN_ID, "destination_address": "اصفهان، خیابان چهارباغ، پلاک ۱۲"},
    "rating": {"rating_kind": "contractor", "requested_rank": 2},
    "rating_registration": {"rank": 3, "licence_expiry": "2028-01-01"},
    "rating_correction": {"rating_kind": "contractor", "rank": 4, "licence_expiry": "2028-01-01"},
    "licence_issue": {"competencies": ["design", "supervision"]},
    "licence_renewal": {"renewal_years": 2},
    "article32_renewal": {"renewal_years": 1},
}
LICENCE_ISSUED = date(2022, 5, 1)  # the licence a renewal renews: expires 2027-04-30


def record(db, member: int) -> list:
    return rows(db, "SELECT kind, request_id, province_id, licence_id, details FROM record_change "
                    "WHERE member_id = :m ORDER BY id", m=member)


@pytest.mark.parametrize("type_code", list(PROCESSES))
def test_every_request_type_runs_its_full_path(db, world, type_code):
    member = make_member(db, TEHRAN_ID, status="applicant" if type_code == "new_membership" else "active",
                         valid_until=validity_for(type_code))
    add_licence(db, member, "civil", 2, LICENCE_ISSUED)
    add_licence(db, member, "civil", 2, LICENCE_ISSUED, kind="article32", years=3)
    out = wf.submit(db, member, type_code, {"note": "آزمون", **SUBMITTED.get(type_code, {})}, submitted_at=SAT_0800)
    r = check_invariants(db, out.request_id)
    assert r["version"] == 1 and events(db, out.request_id)[0]["action"] == "submit"
    visited = [r["stage_code"]]
    now = SAT_0800
    for _ in range(20):
        if r["status"] != "open":
            break
        now += timedelta(hours=2)
        step(db, world, out.request_id, now)
        r = check_invariants(db, out.request_id)
        if r["status"] == "open":
            visited.append(r["stage_code"])
    assert r["status"] == "completed"
    proc = PROCESSES[type_code]
    # Finance approval is on in every province by default and the test fees are payable;
    # nobody referred the rating to the specialised committee (it asks for rank 2: the central review).
    expected = [s.code for s in proc.stages if s.code != "specialised_committee"]
    assert visited == expected
    evs = events(db, out.request_id)
    assert evs[-1]["to_stage"] is None and evs[-1]["at"] == r["closed_at"]
    with db.connect() as c:
        visits = c.execute(sa.text("SELECT stage_code, met, hours_used, limit_hours FROM stage_visit "
                                   "WHERE request_id = :i ORDER BY id"), {"i": out.request_id}).all()
    assert [v.stage_code for v in visits] == [s for s in expected if proc.stage(s).clock_runs]
    # Two office hours per stage: every stage within its limit (half a day for «کمتر از ۱ روز»), and no
    # verdict at a stage the seed gives no time, whose visit has no limit.
    assert [(v.met, v.limit_hours is None) for v in visits] == \
        [(True, False) if proc.stage(v.stage_code).limit_days is not None else (None, True) for v in visits]
    assert r["met_sla"] is (None if proc.total_limit_days is None else True)
    assert r["process_hours_used"] == sum(v.hours_used for v in visits)
    check_record(db, type_code, member, out.request_id, r["closed_at"])


def check_record(db, type_code: str, member: int, rid: int, closed_at: datetime) -> None:
    """What the completed request left on the member's record, each change naming the request."""
    m = rows(db, "SELECT * FROM member WHERE id = :m", m=member)[0]
    changes = record(db, member)
    validity = rows(db, "SELECT old_valid_until, new_valid_until, request_id FROM validity_change "
                        "WHERE member_id = :m ORDER BY id", m=member)
    licences = {w.kind: w for w in rows(db, "SELECT * FROM work_licence WHERE member_id = :m ORDER BY id", m=member)}
    assert all(c.request_id == rid for c in changes) and all(v.request_id == rid for v in validity)
    kinds = [c.kind for c in changes]
    if type_code == "new_membership":
        assert m.status == "active" and m.membership_no and m.grade == 3
        assert kinds == ["admitted", "card_issued"]
        assert changes[0].details == {"membership_no": m.membership_no, "grade": 3}
        # The test's payment stage has no tariff: its fee buys no validity, so nothing changed it.
        assert validity == [] and m.valid_until == date(2026, 3, 20)
    elif type_code == "legacy_registration":
        assert (m.membership_no, m.valid_until, m.status) == ("08-1-012345", date(2027, 3, 20), "active")
        assert kinds == ["old_membership_registered"]
        assert [(v.old_valid_until, v.new_valid_until) for v in validity] == [(date(2026, 3, 20), date(2027, 3, 20))]
    elif type_code == "membership_renewal":
        assert m.valid_until == date(2028, 3, 19) and kinds == []
        assert [(v.old_valid_until, v.new_valid_until) for v in validity] == [(date(2026, 3, 20), date(2028, 3, 19))]
    elif type_code == "transfer":
        assert m.province_id == ISFAHAN_ID and m.status == "active"
        assert kinds == ["moved_province"] and changes[0].province_id == ISFAHAN_ID
        assert changes[0].details["from_province"] == TEHRAN_ID and changes[0].details["to_province"] == ISFAHAN_ID
    elif type_code == "card_reissue":
        assert kinds == ["card_issued"]
    elif type_code in ("rating", "rating_registration", "rating_correction"):
        expected = {"rating": {"rating_kind": "contractor", "rank": 2},
                    "rating_registration": {"rating_kind": "consultant", "rank": 3},
                    "rating_correction": {"rating_kind": "contractor", "rank": 4}}[type_code]
        assert kinds == ["rank_recorded"] and changes[0].details == expected
    elif type_code == "licence_issue":
        new = rows(db, "SELECT * FROM work_licence WHERE request_id = :r", r=rid)
        assert len(new) == 1 and new[0].kind == "work" and new[0].member_id == member
        assert new[0].issued_on == closed_at.astimezone(TEHRAN).date() and new[0].expires_on > new[0].issued_on
        assert list(new[0].competencies) == ["design", "supervision"] and new[0].field == m.field
        assert kinds == ["licence_issued"] and changes[0].licence_id == new[0].id
        assert changes[0].details["licence_no"] == new[0].licence_no
    elif type_code in ("licence_renewal", "article32_renewal"):
        kind = "work" if type_code == "licence_renewal" else "article32"
        old = date(2027, 4, 30) if kind == "work" else date(2025, 4, 30)
        years = SUBMITTED[type_code]["renewal_years"]
        assert kinds == ["licence_renewed"] and changes[0].licence_id == licences[kind].id
        # A lapsed licence is renewed from the day of renewal, a valid one from its expiry.
        start = old if kind == "work" else closed_at.astimezone(TEHRAN).date()
        assert changes[0].details["old_expires_on"] == old.isoformat() and changes[0].details["years"] == years
        assert licences[kind].expires_on.isoformat() == changes[0].details["new_expires_on"]
        assert (licences[kind].expires_on - start).days in range(365 * years - 1, 365 * years + 2)
    else:
        raise AssertionError(f"no record check for {type_code}")


def test_the_record_history_cannot_be_rewritten(db, owner_engine, world):
    member = make_member(db, TEHRAN_ID)
    rid = file_request(db, member, "card_reissue", submitted_at=SAT_0800).request_id
    now = SAT_0800
    while req_row(db, rid)["status"] == "open":
        now += timedelta(hours=2)
        step(db, world, rid, now)
    assert [c.kind for c in record(db, member)] == ["card_issued"]
    # The app role has no such privilege; the trigger stops even the owner.
    for engine, refusal in ((db, "permission denied"), (owner_engine, "append-only")):
        for sql in ("UPDATE record_change SET kind = 'admitted'", "DELETE FROM record_change"):
            with pytest.raises(sa.exc.DBAPIError, match=refusal), engine.begin() as c:
                c.execute(sa.text(sql))
    assert [c.kind for c in record(db, member)] == ["card_issued"]


def test_after_hours_submission_starts_the_clock_at_the_next_opening(db, world):
    member = make_member(db, TEHRAN_ID)
    wed_evening = datetime(2026, 11, 25, 16, 0, tzinfo=TEHRAN)  # Wednesday after closing
    out = file_request(db, member, "transfer", submitted_at=wed_evening)
    r = check_invariants(db, out.request_id)
    assert r["clock_started_at"] == datetime(2026, 11, 28, 7, 30, tzinfo=TEHRAN)  # Saturday
    assert r["stage_due_at"] == datetime(2026, 11, 28, 11, 0, tzinfo=TEHRAN)  # «کمتر از ۱ روز»: half a day


def test_rejection_ends_the_request_with_its_reason(db, world):
    out = file_request(db, make_member(db, TEHRAN_ID), "legacy_registration", submitted_at=SAT_0800)
    with pytest.raises(ValidationError):
        wf.reject(db, world["expert"], out.request_id, 1, "   ", now=SAT_0800 + timedelta(hours=1))
    res = wf.reject(db, world["expert"], out.request_id, 1, "شمارهٔ عضویت قدیمی با سوابق نمی‌خواند",
                    now=SAT_0800 + timedelta(hours=1))
    r = check_invariants(db, out.request_id)
    assert (res.status, r["status"], r["met_sla"]) == ("rejected", "rejected", True)
    assert events(db, out.request_id)[-1]["reason"] == "شمارهٔ عضویت قدیمی با سوابق نمی‌خواند"
    with pytest.raises(InvalidTransition):
        wf.approve(db, world["expert"], out.request_id, r["version"], checklist=[True] * 5)


def test_return_stops_the_clock_and_resubmission_resumes_it(db, world):
    out = file_request(db, make_member(db, TEHRAN_ID), "new_membership", submitted_at=SAT_0800)
    rid = out.request_id
    # Three office hours pass, then the expert returns it.
    wf.return_for_correction(db, world["expert"], rid, 1, "تصویر کارت ملی خوانا نیست",
                             now=SAT_0800 + timedelta(hours=3))
    r = check_invariants(db, rid)
    assert r["status"] == "returned" and r["stage_hours_used"] == Decimal("3.0000")
    with pytest.raises(InvalidTransition):
        wf.approve(db, world["expert"], rid, r["version"], checklist=[True] * 4)
    # The member takes four days; those days do not count.
    back = SAT_0800 + timedelta(days=4)  # Wednesday 08:00
    wf.resubmit(db, rid, r["version"], now=back)
    r = check_invariants(db, rid)
    assert r["status"] == "open"
    assert r["stage_due_at"] == back + timedelta(hours=4)  # 7 h limit - 3 h used
    assert r["due_at"] == CAL.add_working_hours(back, 5 * 7 - 3)
    wf.approve(db, world["expert"], rid, r["version"], checklist=[True] * 4, now=back + timedelta(hours=1))
    with db.connect() as c:
        visits = c.execute(sa.text("SELECT outcome, hours_used, met FROM stage_visit WHERE request_id = :i "
                                   "ORDER BY id"), {"i": rid}).all()
    assert [(v.outcome, v.hours_used, v.met) for v in visits[:2]] == [
        ("return", Decimal("3.0000"), None), ("approve", Decimal("4.0000"), True)]


def test_a_late_stage_is_recorded_as_missed(db, world):
    out = file_request(db, make_member(db, TEHRAN_ID), "transfer", submitted_at=SAT_0800)
    late = SAT_0800 + timedelta(days=2)  # Monday: two working days on a one-day stage
    wf.approve(db, world["expert"], out.request_id, 1, checklist=[True] * 3, now=late)
    with db.connect() as c:
        v = c.execute(sa.text("SELECT met, hours_used FROM stage_visit WHERE request_id = :i ORDER BY id LIMIT 1"),
                      {"i": out.request_id}).one()
    assert v.met is False and v.hours_used == Decimal("14.0000")  # Sat 6.5 h + Sun 7 h + Mon 0.5 h


def test_incomplete_checklist_blocks_approval(db, world):
    out = file_request(db, make_member(db, TEHRAN_ID), "new_membership", submitted_at=SAT_0800)
    with pytest.raises(ValidationError, match="فهرست بررسی"):
        wf.approve(db, world["expert"], out.request_id, 1, checklist=[True, True, False, True])
    assert req_row(db, out.request_id)["version"] == 1


# Every four-eyes stage and every role x stage x action are rule tests in tests/domain/test_machine.py;
# here one case of each goes through the services and the database.
@pytest.mark.parametrize("type_code,stage_code", [("new_membership", "final_review")])
def test_four_eyes_at_a_later_review_stage(db, world, type_code, stage_code):
    """The person who did the initial review cannot do the final or supervisory review."""
    rid = file_request(db, make_member(db, TEHRAN_ID), type_code, submitted_at=SAT_0800).request_id
    now = SAT_0800
    while req_row(db, rid)["stage_code"] != INITIAL_REVIEW:
        now += timedelta(minutes=30)
        step(db, world, rid, now)
    r = req_row(db, rid)
    stage = PROCESSES[type_code].stage(INITIAL_REVIEW)
    if stage.kind is StageKind.FEE:
        make_assessment(db, rid, 0)
    # expert2 holds both roles, so only the four-eyes rule can stop them.
    wf.approve(db, world["expert2"], rid, r["version"], checklist=[True] * len(stage.checklist), now=now)
    while req_row(db, rid)["stage_code"] != stage_code:
        now += timedelta(minutes=30)
        step(db, world, rid, now)
    r = req_row(db, rid)
    target = PROCESSES[type_code].stage(stage_code)
    if target.role == Role.FINAL_REVIEWER:
        with pytest.raises(PermissionDenied, match="چهار چشم"):
            wf.approve(db, world["expert2"], rid, r["version"], checklist=[True] * len(target.checklist))
        with pytest.raises(ValidationError):
            wf.assign(db, world["manager"], [rid], world["expert2"].id)
    assert req_row(db, rid)["version"] == r["version"]
    wf.approve(db, actor_for(world, target, r), rid, r["version"], checklist=[True] * len(target.checklist))


REVIEW_STAGES = [(p.code, s) for p in PROCESSES.values() for s in p.stages
                 if (p.code, s.code) in {("transfer", "head_approval"), ("licence_issue", "licence_print")}]


@pytest.mark.parametrize("type_code,stage", REVIEW_STAGES, ids=[f"{t}-{s.code}" for t, s in REVIEW_STAGES])
def test_only_the_stage_role_in_the_province_may_act(db, world, type_code, stage):
    rid = file_request(db, make_member(db, TEHRAN_ID), type_code, SUBMITTED.get(type_code), submitted_at=SAT_0800).request_id
    now = SAT_0800
    while req_row(db, rid)["stage_code"] != stage.code:
        now += timedelta(minutes=30)
        step(db, world, rid, now, refer=stage.code == "specialised_committee")
    r = req_row(db, rid)
    action = "complete" if stage.kind is StageKind.ISSUE else "approve"
    ticks = [True] * len(stage.checklist)

    def act(actor):
        if action == "complete":
            return wf.complete(db, actor, rid, r["version"])
        return wf.approve(db, actor, rid, r["version"], checklist=ticks)

    wrong_roles = [k for k in ("expert", "final", "head", "finance", "committee", "manager", "central")
                   if stage.role not in world[k].roles]
    for key in wrong_roles:
        with pytest.raises(PermissionDenied):
            act(world[key])
    if stage.role != Role.CENTRAL_EXPERT:
        with pytest.raises(PermissionDenied, match="استان"):
            act(world["isfahan"])  # holds the roles, but of another province
    assert req_row(db, rid)["version"] == r["version"]
    if stage.kind is StageKind.FEE:
        make_assessment(db, rid, 0, finance_status="pending")
    act(actor_for(world, stage, r))
    assert req_row(db, rid)["version"] == r["version"] + 1


def test_stale_version_names_who_acted_and_changes_nothing(db, world):
    rid = file_request(db, make_member(db, TEHRAN_ID), "transfer", submitted_at=SAT_0800).request_id
    wf.claim(db, world["expert"], rid, 1, now=SAT_0800 + timedelta(minutes=5))
    with pytest.raises(StaleRequest, match="کارشناس یکم") as err:
        wf.return_for_correction(db, world["expert"], rid, 1, "نیاز به اصلاح")
    assert "برداشتن کار" in err.value.message
    r = req_row(db, rid)
    assert (r["version"], r["status"]) == (2, "open")


def test_claim_unclaim_and_manager_assignment(db, world):
    rid = file_request(db, make_member(db, TEHRAN_ID), "transfer", submitted_at=SAT_0800).request_id
    wf.claim(db, world["expert"], rid)
    with pytest.raises(InvalidTransition, match="کارشناس یکم"):
        wf.claim(db, world["expert2"], rid)
    with pytest.raises(InvalidTransition):
        wf.approve(db, world["expert2"], rid, 2, checklist=[True] * 3)
    with pytest.raises(PermissionDenied):
        wf.unclaim(db, world["expert2"], rid)
    wf.unclaim(db, world["manager"], rid)
    assert req_row(db, rid)["assignee_id"] is None
    with pytest.raises(PermissionDenied):
        wf.assign(db, world["expert"], [rid], world["expert2"].id)
    with pytest.raises(ValidationError):
        wf.assign(db, world["manager"], [rid], world["isfahan"].id)  # another province
    with pytest.raises(ValidationError):
        wf.assign(db, world["manager"], [rid], world["head"].id)  # lacks the stage's role
    rid2 = file_request(db, make_member(db, TEHRAN_ID), "transfer", submitted_at=SAT_0800).request_id
    assert wf.assign(db, world["manager"], [rid, rid2], world["expert2"].id) == 2
    assert req_row(db, rid)["assignee_id"] == req_row(db, rid2)["assignee_id"] == world["expert2"].id
    check_invariants(db, rid)


def test_comment_is_logged_without_making_forms_stale(db, world):
    rid = file_request(db, make_member(db, TEHRAN_ID), "transfer", submitted_at=SAT_0800).request_id
    wf.comment(db, world["expert"], rid, "با عضو تماس گرفته شد")
    with pytest.raises(PermissionDenied):
        wf.comment(db, world["isfahan"], rid, "یادداشت")
    wf.approve(db, world["expert"], rid, 1, checklist=[True] * 3)
    assert [e["action"] for e in events(db, rid)] == ["submit", "comment", "approve"]


def test_one_open_request_per_type_per_member(db, world):
    member = make_member(db, TEHRAN_ID)
    file_request(db, member, "card_reissue")
    with pytest.raises(InvalidTransition):
        file_request(db, member, "card_reissue")


def test_sixteen_concurrent_approvals_exactly_one_wins(db, world):
    from concurrent.futures import ThreadPoolExecutor
    rid = file_request(db, make_member(db, TEHRAN_ID), "transfer", submitted_at=SAT_0800).request_id

    def attempt(_):
        try:
            wf.approve(db, world["expert"], rid, 1, checklist=[True] * 3)
            return "ok"
        except StaleRequest:
            return "stale"

    with ThreadPoolExecutor(16) as pool:
        results = list(pool.map(attempt, range(16)))
    assert results.count("ok") == 1 and results.count("stale") == 15
    assert [e["action"] for e in events(db, rid)] == ["submit", "approve"]
    check_invariants(db, rid)


def test_referral_routes_a_rating_through_the_specialised_committee(db, world):
    rid = file_request(db, make_member(db, TEHRAN_ID), "rating", SUBMITTED["rating"], submitted_at=SAT_0800).request_id
    now = SAT_0800
    seen = []
    while req_row(db, rid)["status"] == "open":
        now += timedelta(minutes=30)
        step(db, world, rid, now, refer=req_row(db, rid)["stage_code"] == "supervisory_review")
        seen.append(req_row(db, rid)["stage_code"])
    assert "specialised_committee" in seen
    assert any(e["action"] == "committee_decision" for e in events(db, rid))


def test_the_two_top_ranks_go_to_the_central_expert_who_may_refer_to_the_provinces_committee(db, world):
    def walk(rank: int, refer_at: str | None = None) -> tuple[int, list[str]]:
        data = {"rating_kind": "contractor", "requested_rank": rank}
        rid = file_request(db, make_member(db, TEHRAN_ID), "rating", data, submitted_at=SAT_0800).request_id
        now, seen = SAT_0800, []
        while req_row(db, rid)["status"] == "open":
            stage = req_row(db, rid)["stage_code"]
            if stage == "central_review":  # a province's staff may not act there
                with pytest.raises(PermissionDenied):
                    wf.approve(db, world["final"], rid, req_row(db, rid)["version"], checklist=[True], now=now)
                now += timedelta(days=20)  # the central organisation takes its time: not the province's
            else:
                now += timedelta(minutes=30)
            step(db, world, rid, now, refer=stage == refer_at)
            seen.append(stage)
        return rid, seen
    _, seen = walk(4)
    assert "central_review" not in seen and "specialised_committee" not in seen
    rid, seen = walk(1, refer_at="central_review")
    assert seen.index("central_review") + 1 == seen.index("specialised_committee")
    r = check_invariants(db, rid)
    with db.connect() as c:
        visits = c.execute(sa.text("SELECT stage_code, hours_used, met FROM stage_visit WHERE request_id = :i"),
                           {"i": rid}).all()
    central = [v for v in visits if v.stage_code == "central_review"]
    assert len(central) == 1 and central[0].hours_used > 0 and central[0].met is None
    # The 14 days are the province's: the central review's weeks are not in them, and the request met them.
    assert r["process_hours_used"] == sum(v.hours_used for v in visits if v.stage_code != "central_review")
    assert r["met_sla"] is True
    assert [c.details["rank"] for c in record(db, r["member_id"])] == [1]


def test_the_central_review_grants_the_rank_the_points_give_and_the_record_takes_it(db, world):
    member = make_member(db, TEHRAN_ID)
    data = {"rating_kind": "consultant", "requested_rank": 2}
    rid = file_request(db, member, "rating", data, submitted_at=SAT_0800).request_id
    now = SAT_0800
    while req_row(db, rid)["stage_code"] != "central_review":
        now += timedelta(minutes=30)
        step(db, world, rid, now)
    r = req_row(db, rid)
    with pytest.raises(ValidationError):  # a top rank cannot be "granted by points"
        wf.approve(db, world["central"], rid, r["version"], checklist=[True], granted_rank=1, now=now)
    wf.approve(db, world["central"], rid, r["version"], checklist=[True], granted_rank=4, now=now + timedelta(hours=1))
    assert events(db, rid)[-1]["data"] == {"granted_rank": 4}
    while req_row(db, rid)["status"] == "open":
        now += timedelta(hours=2)
        step(db, world, rid, now)
    assert [(c.kind, c.details) for c in record(db, member)] == [("rank_recorded", {"rating_kind": "consultant",
                                                                                    "rank": 4})]


def test_a_province_without_finance_approval_skips_that_stage(db, world):
    with db.begin() as c:
        c.execute(sa.text("UPDATE province_setting SET finance_approval_required = false WHERE province_id = 8"))
    rid = file_request(db, make_member(db, TEHRAN_ID), "membership_renewal", submitted_at=SAT_0800).request_id
    make_assessment(db, rid, 2_000_000, new_valid_until=date(2027, 3, 20))
    wf.approve(db, world["expert"], rid, 1, checklist=[True])
    assert req_row(db, rid)["stage_code"] == "payment"


def test_committee_refusal_needs_a_reason_and_ends_the_request(db, world):
    rid = file_request(db, make_member(db, TEHRAN_ID), "licence_issue", submitted_at=SAT_0800).request_id
    now = SAT_0800
    while req_row(db, rid)["stage_code"] != "licence_committee":
        now += timedelta(minutes=30)
        step(db, world, rid, now)
    v = req_row(db, rid)["version"]
    with pytest.raises(ValidationError):
        wf.committee_decision(db, world["committee"], rid, v, granted=False, reason="")
    wf.committee_decision(db, world["committee"], rid, v, granted=False, reason="سوابق کاری کافی نیست")
    r = check_invariants(db, rid)
    assert r["status"] == "rejected"
    assert events(db, rid)[-1]["data"] == {"granted": False}


def test_a_zero_fee_payment_stage_is_passed_by(db, world):
    with db.begin() as c:
        c.execute(sa.text(
            "INSERT INTO fee_tariff (province_id, jalali_year, entrance_fee, annual_fee, card_fee, licence_issue_fee, "
            "licence_renewal_fee, article32_renewal_fee, rating_fee) VALUES (8, 1405, 0, 0, 0, 0, 0, 0, 0)"))
    rid = file_request(db, make_member(db, TEHRAN_ID, status="applicant"), "new_membership",
                    submitted_at=SAT_0800).request_id
    wf.approve(db, world["expert"], rid, 1, checklist=[True] * 4, now=SAT_0800 + timedelta(hours=1))
    wf.approve(db, world["final"], rid, 2, checklist=[True] * 2, now=SAT_0800 + timedelta(hours=2))
    assert req_row(db, rid)["stage_code"] == "head_approval"
    check_invariants(db, rid)


def test_a_lapsed_member_is_refused_a_service_and_nothing_is_written_but_may_renew(db, world):
    member = make_member(db, TEHRAN_ID, valid_until=date(2026, 3, 20))  # lapsed at the end of 1404
    with pytest.raises(ValidationError, match="منوط به پرداخت حق عضویت معوقه و سالانه"):
        file_request(db, member, "card_reissue", submitted_at=SAT_0800)
    assert rows(db, "SELECT count(*) AS n FROM request WHERE member_id = :m", m=member)[0]["n"] == 0
    assert rows(db, "SELECT count(*) AS n FROM request_event")[0]["n"] == 0
    renewal = file_request(db, member, "membership_renewal", submitted_at=SAT_0800)
    assert req_row(db, renewal.request_id)["status"] == "open"


def test_declared_data_the_record_could_not_take_is_refused_at_submission(db, world):
    member = make_member(db, TEHRAN_ID, valid_until=date(2027, 3, 20))
    with pytest.raises(ValidationError, match="استان مقصد باید با استان فعلی عضو متفاوت باشد"):
        wf.submit(db, member, "transfer", {"destination_province": TEHRAN_ID}, submitted_at=SAT_0800)
    with pytest.raises(ValidationError, match="پروانه‌ای برای تمدید در پروندهٔ او نیست"):
        wf.submit(db, member, "licence_renewal", {"renewal_years": 1}, submitted_at=SAT_0800)
    assert rows(db, "SELECT count(*) AS n FROM request WHERE member_id = :m", m=member)[0]["n"] == 0
