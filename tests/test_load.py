"""32 concurrent workers make 2,000 decisions against real PostgreSQL (the workload of
bench/load_bench.py), then the database is checked: no lost update, no duplicate event, every
collision reported as StaleRequest, and every request's SLA fields consistent."""
from __future__ import annotations

from collections import Counter

import pytest
import sqlalchemy as sa

from bench.load_bench import run_load
from domain.processes import NOTE_ACTIONS
from tests.factories import check_invariants

pytestmark = pytest.mark.slow

WORKERS, DECISIONS, REQUESTS = 32, 1200, 420  # enough collisions to check; make bench runs 2,000
TIME_LIMIT_S = 900  # generous: this checks correctness under contention; speed is `make bench`'s job
NOTES = tuple(sorted(NOTE_ACTIONS))


@pytest.fixture(scope="module")
def loaded(engine, owner_engine):
    from tests.conftest import wipe
    wipe(owner_engine)
    result = run_load(engine, workers=WORKERS, decisions=DECISIONS, requests=REQUESTS, time_limit_s=TIME_LIMIT_S)
    print(f"\nload: {result.summary()}\n{result.counts()}")
    yield engine, result
    wipe(owner_engine)


def rows(engine, sql, **params):
    with engine.connect() as c:
        return c.execute(sa.text(sql), params).all()


def test_every_decision_was_made_and_nothing_failed_unexpectedly(loaded):
    engine, result = loaded
    assert not result.timed_out, f"only {result.decisions} decisions in {TIME_LIMIT_S} s"
    assert result.decisions == DECISIONS
    failures = Counter((a.result, a.error) for a in result.attempts if a.result in ("error", "refused"))
    # A colleague holding the request is the only refusal a worker may meet; a deadlock, a lost
    # connection or any other error under load is a failure.
    assert set(failures) <= {("refused", "InvalidTransition")}, [
        a.message[:300] for a in result.attempts if a.result in ("error", "refused")][:5]
    assert result.decisions_per_s > 0


def test_no_lost_update_each_version_is_exactly_one_transition(loaded):
    engine, _ = loaded
    bad = rows(engine, """
        SELECT r.id, r.version, e.n, e.lo, e.hi, e.distinct_versions FROM request r
        LEFT JOIN (SELECT request_id, count(*) AS n, min(version) AS lo, max(version) AS hi,
                          count(DISTINCT version) AS distinct_versions
                   FROM request_event WHERE action <> ALL(:notes) GROUP BY request_id) e ON e.request_id = r.id
        WHERE e.n IS DISTINCT FROM r.version OR e.lo <> 1 OR e.hi <> r.version OR e.distinct_versions <> e.n""",
                 notes=list(NOTES))
    assert bad == []


def test_no_duplicate_event(loaded):
    engine, _ = loaded
    assert rows(engine, "SELECT request_id, version, count(*) FROM request_event WHERE action <> ALL(:notes) "
                        "GROUP BY 1, 2 HAVING count(*) > 1", notes=list(NOTES)) == []
    assert rows(engine, "SELECT count(*) FROM pg_indexes WHERE indexname = 'uq_request_event_transition'")[0][0] == 1


def test_every_success_is_in_the_log_once_and_every_collision_was_reported(loaded):
    engine, result = loaded
    events = {(r.request_id, r.version): r for r in rows(
        engine, "SELECT request_id, version, action, actor_id FROM request_event WHERE action <> ALL(:notes)",
        notes=list(NOTES))}
    ok = [a for a in result.attempts if a.result == "ok"]
    # Two successes from the same version read would be a lost update.
    assert len({(a.request_id, a.version_read) for a in ok}) == len(ok)
    for a in ok:
        assert a.version_after == a.version_read + 1
        ev = events[(a.request_id, a.version_after)]
        assert (ev.action, ev.actor_id) == (a.action, a.actor_id)
    # Nothing in the log that nobody asked for: every transition after submission is one success.
    submitted = rows(engine, "SELECT count(*) FROM request")[0][0]
    assert len(events) == len(ok) + submitted
    # A collision came back as StaleRequest, and someone else's transition really was in between.
    stale = [a for a in result.attempts if a.result == "stale"]
    assert stale, "the workload should collide on purpose"
    winners = {(a.request_id, a.version_read): a for a in ok}
    for a in stale:
        assert (a.request_id, a.version_read + 1) in events
        winner = winners.get((a.request_id, a.version_read))
        assert winner is not None and winner is not a
        assert "تغییر کرده است" in a.message


def test_every_sla_field_is_consistent(loaded):
    engine, _ = loaded
    ids = [r.id for r in rows(engine, "SELECT id FROM request ORDER BY id")]
    assert len(ids) >= REQUESTS
    statuses = Counter(check_invariants(engine, rid)["status"] for rid in ids)
    assert statuses["completed"] and statuses["open"] and statuses["rejected"]
    # Stage visits are well formed and times never run backwards along a request's versions.
    assert rows(engine, "SELECT id FROM stage_visit WHERE left_at < entered_at OR (left_at IS NULL) <> "
                        "(outcome IS NULL) OR (left_at IS NOT NULL AND hours_used IS NULL)") == []
    assert rows(engine, """
        SELECT request_id FROM (SELECT request_id, at, lag(at) OVER (PARTITION BY request_id ORDER BY version) AS prev
                                FROM request_event WHERE action <> ALL(:notes)) x WHERE at < prev""",
                notes=list(NOTES)) == []
