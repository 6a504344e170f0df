"""Concurrent decisions against real PostgreSQL: 32 workers, 2,000 decisions.

    python -m bench.load_bench [--database-url URL] [--workers 32] [--decisions 2000] [--requests 700]

Open requests of four types (new membership, legacy registration, transfer, rating registration)
are submitted in one province; each worker is its own staff account (experts, final reviewers,
heads) and repeats: pick a request at a stage of its role (often one of a small "hot" set, so that
workers collide on purpose), read its version, think for a moment, then claim, approve, return or
reject it with that version through the workflow services. A collision must come back as
`StaleRequest` (someone changed the request after it was read) or `InvalidTransition` (a colleague
holds it); a returned request is resubmitted by its member. The run stops at exactly `decisions`
successful staff decisions.

`run_load` returns the figures (decisions per second among them) and every attempt, so that
tests/test_load.py can check the database afterwards: no lost update, no duplicate event, and SLA
fields consistent. Without --database-url, the run uses a throwaway database on the benchmark
server (BENCH_DATABASE_URL, else the embedded server under .data/pg-bench).
"""
from __future__ import annotations

import argparse
import os
import random
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import bcrypt
import sqlalchemy as sa

from domain.outcomes import example_data
from logic import workflow as wf
from logic.auth import Actor
from domain.errors import DomainError, StaleRequest
from domain.jalali import now_tehran
from domain.national_id import make_national_id
from domain.processes import PROCESSES, STAFF_ACTIONS
from domain.reference import TEHRAN_ID

TYPES = ("new_membership", "legacy_registration", "transfer", "rating_registration")
# Worker roles for 32 workers, in proportion to the work waiting at their stages.
ROLE_SHARE = (("expert", 14), ("final_reviewer", 12), ("head", 6))
HOT_SET = 12              # requests every worker likes to pick: contention on purpose
HOT_SHARE = 0.35
THINK_S = (0.0, 0.004)    # between reading the version and acting on it
REFILL = 40               # requests submitted when a role finds nothing to do


@dataclass(frozen=True)
class Attempt:
    worker: int
    actor_id: int | None       # None: the member (resubmission)
    request_id: int
    version_read: int
    action: str                # claim / approve / return / reject / resubmit
    result: str                # ok / stale / refused / error
    version_after: int | None = None
    error: str = ""            # the exception's class name when not ok
    message: str = ""


@dataclass
class LoadResult:
    workers: int
    decisions: int                 # successful staff decisions (claim, approve, return, reject)
    seconds: float
    requests: int                  # requests submitted (initial and refills)
    attempts: list[Attempt] = field(default_factory=list)
    timed_out: bool = False

    @property
    def decisions_per_s(self) -> float:
        return round(self.decisions / self.seconds, 1) if self.seconds else 0.0

    def counts(self) -> dict[str, int]:
        c = Counter(f"{a.action}_{a.result}" for a in self.attempts)
        return dict(sorted(c.items()))

    def summary(self) -> dict:
        by_result = Counter(a.result for a in self.attempts)
        return {"workers": self.workers, "decisions": self.decisions, "seconds": round(self.seconds, 2),
                "decisions_per_s": self.decisions_per_s, "requests": self.requests,
                "stale": by_result["stale"], "refused": by_result["refused"], "errors": by_result["error"],
                "unavailable": sum(1 for a in self.attempts if a.error == "ServiceUnavailable"),
                "attempts": len(self.attempts), "timed_out": self.timed_out}


# --- setting up ---------------------------------------------------------------------------------

def _staff(engine: sa.Engine, workers: int, province_id: int) -> list[Actor]:
    """One account per worker, roles in ROLE_SHARE proportions."""
    total = sum(n for _, n in ROLE_SHARE)
    roles: list[str] = []
    for role, n in ROLE_SHARE:
        roles += [role] * max(1, round(workers * n / total))
    roles = (roles + [ROLE_SHARE[0][0]] * workers)[:workers]
    pw = bcrypt.hashpw(b"load-test-password", bcrypt.gensalt(4)).decode()
    actors = []
    with engine.begin() as c:
        for i, role in enumerate(roles):
            name = f"load.{role.replace('_', '')}.{i:02d}"
            uid = c.execute(sa.text(
                "INSERT INTO staff_user (username, full_name, password_hash, roles, province_id) "
                "VALUES (:u, :n, :h, :r, :p) RETURNING id"),
                {"u": name, "n": f"کارمند آزمون بار {i + 1}", "h": pw, "r": [role], "p": province_id}).scalar_one()
            actors.append(Actor(uid, name, f"کارمند آزمون بار {i + 1}", frozenset({role}), province_id))
    return actors


class _Submitter:
    """Members and their requests, as the national portal would send them."""

    def __init__(self, engine: sa.Engine, province_id: int, seed: int) -> None:
        self.engine, self.province_id = engine, province_id
        self.rng = random.Random(seed)
        self.lock = threading.Lock()
        self.count = 0
        self.next_nid = 100_000_000 + seed * 1000

    def _members(self, types: list[str]) -> list[int]:
        rows = []
        for t in types:
            self.next_nid += 7919
            nid = make_national_id(f"{self.next_nid % 1_000_000_000:09d}")
            applicant = t == "new_membership"
            rows.append({"nid": nid, "no": None if applicant else f"L-{nid}", "st": "applicant" if applicant else "active",
                         "g": None if applicant else 3, "p": self.province_id})
        with self.engine.begin() as c:
            return list(c.execute(sa.text(
                "INSERT INTO member (national_id, membership_no, first_name, last_name, gender, birth_province_id, "
                "province_id, field, grade, status) SELECT nid, no, 'عضو', 'آزمون بار', 'm', p, p, 'civil', g, st "
                "FROM jsonb_to_recordset(CAST(:rows AS jsonb)) AS x(nid text, no text, st text, g int, p int) "
                "RETURNING id"), {"rows": _json(rows)}).scalars())

    def submit(self, n: int, at: datetime, threads: int = 8) -> int:
        with self.lock:
            types = [self.rng.choice(TYPES) for _ in range(n)]
            members = self._members(types)
            with ThreadPoolExecutor(threads) as pool:
                list(pool.map(lambda mt: wf.submit(self.engine, mt[0], mt[1],
                                                   example_data(mt[1], self.province_id, mt[0]), submitted_at=at),
                              zip(members, types)))
            self.count += n
            return n


def _json(rows: list[dict]) -> str:
    import json
    return json.dumps(rows, ensure_ascii=False)


# --- the workers ----------------------------------------------------------------------------------

def _stages_of(role: str) -> list[str]:
    return sorted({s.code for t in TYPES for s in PROCESSES[t].stages if s.role == role})


ALL_STAFF_STAGES = sorted({code for role, _ in ROLE_SHARE for code in _stages_of(role)})


class _Run:
    def __init__(self, engine: sa.Engine, actors: list[Actor], decisions: int, submitter: _Submitter,
                 seed: int) -> None:
        self.engine, self.actors, self.submitter, self.seed = engine, actors, submitter, seed
        self.remaining, self.inflight = decisions, 0
        self.lock = threading.Lock()
        self.attempts: list[Attempt] = []
        self.refill_lock = threading.Lock()
        self.deadline: float | None = None
        self.timed_out = False

    # A ticket per decision: an attempt that fails gives its ticket back, so the run ends at exactly
    # `decisions` successes.
    def _take_ticket(self) -> bool:
        with self.lock:
            if self.remaining > 0:
                self.remaining -= 1
                self.inflight += 1
                return True
            return False

    def _return_ticket(self, success: bool) -> None:
        with self.lock:
            self.inflight -= 1
            if not success:
                self.remaining += 1

    def _candidates(self, c, actor: Actor, stages: list[str]) -> list[tuple]:
        return c.execute(sa.text(
            "SELECT id, version, stage_code, status, assignee_id, type_code FROM request "
            "WHERE province_id = :p AND status IN ('open', 'returned') AND stage_code = ANY(:st) "
            "AND (assignee_id IS NULL OR assignee_id = :me) ORDER BY id LIMIT 400"),
            {"p": actor.province_id, "st": stages, "me": actor.id}).all()

    def worker(self, i: int) -> None:
        actor = self.actors[i]
        stages = _stages_of(next(iter(actor.roles)))
        rng = random.Random(self.seed * 100 + i)
        mine: int | None = None   # a request this worker claimed and should decide next
        while not self._finished():
            with self.engine.connect() as c:
                rows = self._candidates(c, actor, stages)
            row = next((r for r in rows if r.id == mine), None) if mine is not None else None
            mine = None
            if row is None and rows:
                row = rng.choice(rows[:HOT_SET] if rng.random() < HOT_SHARE else rows)
            if row is None:
                self._refill(actor.province_id)
                continue
            # A ticket only for the attempt itself, so that idle roles never hold one.
            if not self._take_ticket():
                time.sleep(0.002)
                continue
            success = False
            try:
                success, mine = self._act(i, actor, rng, row)
            finally:
                self._return_ticket(success)

    def _finished(self) -> bool:
        if self.deadline is not None and time.monotonic() > self.deadline:
            self.timed_out = True
            return True
        with self.lock:
            return self.remaining == 0 and self.inflight == 0

    def _refill(self, province_id: int) -> None:
        """Nothing for this role: wait for colleagues to move work along, and if the whole province
        is running dry (few requests left at any staff stage), let the portal send more."""
        if not self.refill_lock.acquire(blocking=False):
            time.sleep(0.01)
            return
        try:
            with self.engine.connect() as c:
                waiting = c.execute(sa.text(
                    "SELECT count(*) FROM request WHERE province_id = :p AND status IN ('open', 'returned') "
                    "AND stage_code = ANY(:st)"), {"p": province_id, "st": ALL_STAFF_STAGES}).scalar()
            if waiting < 2 * len(self.actors):
                self.submitter.submit(REFILL, now_tehran() - timedelta(hours=1), threads=4)
            else:
                time.sleep(0.005)
        finally:
            self.refill_lock.release()

    def _act(self, i: int, actor: Actor, rng: random.Random, row) -> tuple[bool, int | None]:
        """One attempt at `row` with the version read. Returns (staff decision made, claimed id)."""
        rid, version = row.id, row.version
        time.sleep(rng.uniform(*THINK_S))
        if row.status == "returned":  # the member corrects and resubmits; not a staff decision
            self._record(i, None, rid, version, "resubmit", lambda: wf.resubmit(self.engine, rid, version))
            return False, None
        stage = PROCESSES[row.type_code].stage(row.stage_code)
        ticks = [True] * len(stage.checklist)
        p = rng.random()
        if row.assignee_id is None and p < 0.2:
            action, call = "claim", lambda: wf.claim(self.engine, actor, rid, version)
        elif p < 0.3 and "return" in STAFF_ACTIONS[stage.kind]:
            action, call = "return", lambda: wf.return_for_correction(self.engine, actor, rid, version,
                                                                        "مدارک ناخوانا است؛ دوباره بارگذاری شود")
        elif p < 0.33:
            action, call = "reject", lambda: wf.reject(self.engine, actor, rid, version, "شرایط احراز نشد")
        else:
            action, call = "approve", lambda: wf.approve(self.engine, actor, rid, version, checklist=ticks)
        ok = self._record(i, actor.id, rid, version, action, call)
        return ok, (rid if ok and action == "claim" else None)

    def _record(self, i, actor_id, rid, version, action, call) -> bool:
        try:
            out = call()
            attempt = Attempt(i, actor_id, rid, version, action, "ok", out.version)
        except StaleRequest as exc:
            attempt = Attempt(i, actor_id, rid, version, action, "stale", None, "StaleRequest", exc.message)
        except DomainError as exc:  # InvalidTransition: a colleague holds it, or it moved on meanwhile
            cause = f" ({exc.__cause__})" if exc.__cause__ is not None else ""
            attempt = Attempt(i, actor_id, rid, version, action, "refused", None, type(exc).__name__,
                              exc.message + cause)
        except Exception as exc:  # noqa: BLE001 - anything else is a failure the caller must see
            attempt = Attempt(i, actor_id, rid, version, action, "error", None, type(exc).__name__, str(exc))
        with self.lock:
            self.attempts.append(attempt)
        return attempt.result == "ok"


def run_load(engine: sa.Engine, *, workers: int = 32, decisions: int = 2000, requests: int = 700,
             province_id: int = TEHRAN_ID, seed: int = 1405, time_limit_s: float | None = None) -> LoadResult:
    """Set up staff and open requests in a migrated database without them, then run the workers.
    Only the decision phase is timed; past `time_limit_s` the workers stop where they are (the
    result then has fewer decisions and `timed_out`)."""
    actors = _staff(engine, workers, province_id)
    submitter = _Submitter(engine, province_id, seed)
    submitter.submit(requests, now_tehran() - timedelta(hours=3))
    run = _Run(engine, actors, decisions, submitter, seed)
    if time_limit_s is not None:
        run.deadline = time.monotonic() + time_limit_s
    start = time.perf_counter()
    with ThreadPoolExecutor(workers) as pool:
        list(pool.map(run.worker, range(workers)))
    seconds = time.perf_counter() - start
    made = sum(1 for a in run.attempts if a.result == "ok" and a.actor_id is not None)
    return LoadResult(workers, made, seconds, submitter.count, run.attempts, run.timed_out)


def measure_load(server_url: str, **kwargs) -> dict:
    """The load run in a throwaway database on `server_url` (what `make bench` calls)."""
    from bench.run import drop_database, throwaway_database
    from db.engine import make_engine
    from db.migrate import upgrade

    name, url = throwaway_database(server_url)
    workers = kwargs.get("workers", 32)
    engine = make_engine(url, pool_size=workers + 4, max_overflow=4)
    try:
        upgrade(engine)
        result = run_load(engine, **kwargs)
        errors = [a for a in result.attempts if a.result == "error"]
        if errors:
            raise RuntimeError(f"{len(errors)} attempts failed unexpectedly, e.g. {errors[0].message}")
        return result.summary()
    finally:
        engine.dispose()
        drop_database(server_url, name)


def main(argv: list[str] | None = None) -> int:
    from bench.run import DATA_DIR, embedded_url, normalize_url

    parser = argparse.ArgumentParser(prog="python -m bench.load_bench", description=__doc__.split("\n")[0])
    parser.add_argument("--database-url", default=os.environ.get("BENCH_DATABASE_URL"),
                        help="the server (a throwaway database is created on it)")
    parser.add_argument("--workers", type=int, default=32)
    parser.add_argument("--decisions", type=int, default=2000)
    parser.add_argument("--requests", type=int, default=700)
    args = parser.parse_args(argv)
    server = normalize_url(args.database_url) if args.database_url else embedded_url(DATA_DIR / "pg-bench")
    figures = measure_load(server, workers=args.workers, decisions=args.decisions, requests=args.requests)
    width = max(map(len, figures))
    for k, v in figures.items():
        print(f"  {k:<{width}}  {str(v):>10}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
