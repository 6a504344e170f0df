"""The load: reference rows, the chunks built by forked workers and written with COPY in one
transaction, the indexes rebuilt, and the command line (`python -m demo`).

* Reference-like rows (official holidays, staff accounts, fee tariffs, the demo files) go in with
  ordinary INSERTs; they are small and may partly exist already.
* Members and requests are generated in chunks of about 10,000 requests (`demo.chunk`).
* Rows are formatted as COPY text by the workers and written by one connection in chunk order, in
  one transaction: the load is all or nothing, and ids that the sequence assigns (events, visits,
  contacts...) come out the same on every run. Member, request, fee assessment and payment ids,
  which other rows point at, are assigned here; every sequence is moved past them at the end.
* Large loads drop the secondary indexes of the bulk tables inside the transaction and rebuild
  them (from their own `pg_get_indexdef`, so exactly as the migration made them) before commit;
  a superuser session also skips the foreign-key triggers (`session_replication_role = replica`,
  what pg_restore does). The generator keeps the references right by construction; the tests
  check them.
"""
from __future__ import annotations

import argparse
import ctypes
import math
import multiprocessing
import os
import random
import sys
import time
from datetime import date, datetime, timedelta

import bcrypt
import sqlalchemy as sa

from db.models import member_name_words
from db.roles import truncate_sql
from demo.chunk import ChunkBuilder
from demo.context import FIRST_JALALI_YEAR, JALALI, TARIFF_YEARS, Context, tariff_for
from demo.files import DemoFile, demo_files
from demo.people import DEMO_ACCOUNTS, DEMO_PASSWORD, FEMALE_NAMES, LAST_NAMES, MALE_NAMES
from demo.rows import BULK_TABLES, COPY_TABLES, DERIVED_TABLES, TABLE_OF
from domain.actor import Actor
from domain.calendar import TEHRAN, BusinessCalendar, to_tehran_naive
from domain.fees import TARIFF_ITEMS, DiscountRule
from domain.reference import PROVINCES

DEFAULT_SEED = 1404
DEFAULT_REQUESTS = 3000
MAX_MEMBERS = 2_000_000
SCALES: dict[str, tuple[int, int | None]] = {
    "small": (DEFAULT_REQUESTS, None),
    "million": (1_000_000, 400_000),
    "national": (5_000_000, 2_000_000),
}
CHUNK_REQUESTS = 10_000
CHUNK_MEMBERS = 4_000
# From this size on the load rebuilds secondary indexes instead of maintaining them row by row.
BULK_THRESHOLD = 100_000

_CTX: Context | None = None  # set before chunks are built; forked workers inherit it


def _build_chunk(c: int) -> tuple[dict[str, bytes], dict[str, int]]:
    assert _CTX is not None
    return ChunkBuilder(_CTX, c).build()


# --- reference-like rows ----------------------------------------------------------------------------

def _years_touched(start: datetime, now: datetime) -> list[int]:
    """Gregorian years of the request history plus the next year (deadlines run past now)."""
    return list(range(start.year, now.year + 2))


def _load_holidays(cur, years: list[int]) -> int:
    import holidays as holidays_pkg

    official = holidays_pkg.country_holidays("IR", years=years, language="fa_IR")
    cur.execute("SELECT day FROM holiday WHERE province_id IS NULL")
    present = {row[0] for row in cur.fetchall()}
    rows = [(day, name) for day, name in sorted(official.items()) if day not in present]
    cur.executemany("INSERT INTO holiday (day, province_id, name_fa, source) VALUES (%s, NULL, %s, 'official')", rows)
    return len(rows)


def _load_staff(cur, rng: random.Random, now: datetime) -> int:
    pw_hash = bcrypt.hashpw(DEMO_PASSWORD.encode(), bcrypt.gensalt(12)).decode()  # once: bcrypt is slow on purpose
    created = now - timedelta(days=400)
    rows = []
    for username, roles, pid in DEMO_ACCOUNTS:
        names = MALE_NAMES if rng.random() < 0.7 else FEMALE_NAMES
        full_name = f"{rng.choice(names)[0]} {rng.choice(LAST_NAMES)[0]}"
        rows.append((username, full_name, f"{username}@demo.nezam.ir", pw_hash, list(roles), pid, created, created))
    cur.executemany(
        "INSERT INTO staff_user (username, full_name, email, password_hash, roles, province_id, password_changed_at, "
        "created_at) VALUES (%s, %s, %s, %s, %s, %s, %s, %s) ON CONFLICT (username) DO NOTHING", rows)
    cur.execute("SELECT count(*) FROM staff_user WHERE username = ANY(%s)", ([a[0] for a in DEMO_ACCOUNTS],))
    return cur.fetchone()[0]


def _staff(cur) -> tuple[dict[tuple[int | None, str], tuple[int, ...]], dict[int, Actor]]:
    """Who can act at each (province, role): demo accounts only, in a fixed order; and each of them
    as the rules see them."""
    cur.execute("SELECT id, username, full_name, roles, province_id FROM staff_user WHERE username = ANY(%s)",
                ([a[0] for a in DEMO_ACCOUNTS],))
    actors = {username: Actor(sid, username, full_name, frozenset(roles), pid)
              for sid, username, full_name, roles, pid in cur.fetchall()}
    pools: dict[tuple[int | None, str], list[int]] = {}
    for username, roles, pid in DEMO_ACCOUNTS:
        for role in roles:
            pools.setdefault((pid, role), []).append(actors[username].id)
    return {key: tuple(value) for key, value in pools.items()}, {a.id: a for a in actors.values()}


def _load_tariffs(cur, now: datetime) -> dict[tuple[int, int], dict[str, int]]:
    """Every province's tariff of every demo year; returns (province, year) -> its id and items."""
    rows = [(pid, year, *tariff_for(pid, year), now - timedelta(days=300))
            for pid, _, _ in PROVINCES for year in TARIFF_YEARS]
    cur.executemany(
        "INSERT INTO fee_tariff (province_id, jalali_year, entrance_fee, annual_fee, card_fee, licence_issue_fee, "
        "licence_renewal_fee, article32_renewal_fee, rating_fee, updated_at) "
        "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s) ON CONFLICT (province_id, jalali_year) DO NOTHING", rows)
    cur.execute(f"SELECT province_id, jalali_year, id, {', '.join(TARIFF_ITEMS)} FROM fee_tariff")
    return {(r[0], r[1]): dict(zip(("id",) + TARIFF_ITEMS, r[2:])) for r in cur.fetchall()}


def _load_blobs(cur) -> dict[str, DemoFile]:
    files = demo_files()
    cur.executemany("INSERT INTO blob (sha256, size_bytes, content) VALUES (%s, %s, %s) ON CONFLICT DO NOTHING",
                    [(f.sha256, len(f.content), f.content) for f in files])
    return {f.key: f for f in files}


def _province_calendars(cur) -> tuple[dict[int, BusinessCalendar], dict[int, bool]]:
    """Each province's calendar exactly as logic.calendar.calendar_for builds it: the province's
    working week and office hours, and every closed day in the holiday table (national ones and
    the province's own)."""
    cur.execute("SELECT province_id, workdays, opens, closes, finance_approval_required FROM province_setting")
    settings = {r[0]: r[1:] for r in cur.fetchall()}
    cur.execute("SELECT day, province_id FROM holiday")
    closed: dict[int | None, set[date]] = {}
    for day, pid in cur.fetchall():
        closed.setdefault(pid, set()).add(day)
    calendars: dict[int, BusinessCalendar] = {}
    shared: dict[tuple, BusinessCalendar] = {}  # provinces with the same calendar share one
    finance = {}
    for pid, _, _ in PROVINCES:
        setting = settings.get(pid)
        days = frozenset(closed.get(None, set()) | closed.get(pid, set()))
        key = (tuple(sorted(setting[0])), setting[1], setting[2], days) if setting else (None, days)
        if key not in shared:
            if setting:
                cal = BusinessCalendar(workdays=set(setting[0]), opens=setting[1], closes=setting[2], holidays=days)
            else:
                cal = BusinessCalendar(holidays=days)
            shared[key] = cal
        calendars[pid] = shared[key]
        finance[pid] = bool(setting[3]) if setting else True  # as logic.assessments reads it
    return calendars, finance


# --- bulk-load helpers ------------------------------------------------------------------------------

def _secondary_indexes(cur) -> list[tuple[str, str]]:
    """(name, definition) of the bulk tables' indexes that back no constraint.

    A large load drops them and rebuilds them from their own definitions: building an index once
    from sorted data is much cheaper than maintaining it row by row for millions of rows whose
    keys (times, actors, provinces) arrive in random order. Primary keys and unique constraints
    stay: they check the load as it goes.
    """
    cur.execute(
        "SELECT i.relname, pg_get_indexdef(x.indexrelid) FROM pg_index x "
        "JOIN pg_class i ON i.oid = x.indexrelid JOIN pg_class t ON t.oid = x.indrelid "
        "JOIN pg_namespace n ON n.oid = t.relnamespace "
        "WHERE n.nspname = current_schema() AND t.relname = ANY(%s) AND NOT x.indisprimary "
        "AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = x.indexrelid) ORDER BY i.relname",
        (list(BULK_TABLES),))
    return cur.fetchall()


def _leaf_keys(cur) -> list[tuple[str, str, str]]:
    """(table, name, definition) of the primary keys and unique constraints of the bulk tables that
    no foreign key points at (events, visits, contacts...). A large load drops them and adds them
    back after the COPYs: one sorted build instead of millions of index insertions, and adding them
    back still refuses the load if a key repeats. Keys that foreign keys rely on stay."""
    cur.execute(
        "SELECT c.conrelid::regclass::text, c.conname, pg_get_constraintdef(c.oid) FROM pg_constraint c "
        "WHERE c.contype IN ('p', 'u') AND c.conrelid::regclass::text = ANY(%s) "
        "AND NOT EXISTS (SELECT 1 FROM pg_constraint f WHERE f.contype = 'f' AND f.confrelid = c.conrelid) "
        "ORDER BY 1, 2", (list(BULK_TABLES),))
    return cur.fetchall()


def _fix_sequences(cur, tables) -> None:
    """Move every id sequence past the ids written here, so later INSERTs don't collide."""
    for table in tables:
        cur.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), coalesce(max(id), 0) + 1, false) "
                    f"FROM {table}")


def _pick_workers(n_chunks: int, workers: int | None) -> int:
    if workers is not None:
        return max(1, min(workers, n_chunks))
    return 1 if n_chunks < 3 else max(1, min(os.cpu_count() or 1, 4, n_chunks))


def _chunk_results(n_chunks: int, workers: int):
    """Chunk results in chunk order; built by forked workers, a few chunks ahead of the writer."""
    if workers <= 1:
        for c in range(n_chunks):
            yield _build_chunk(c)
        return
    ctx = multiprocessing.get_context("fork")
    with ctx.Pool(workers) as pool:
        pending = []
        next_chunk = 0
        window = workers + 2  # bounded: results are tens of megabytes each
        while next_chunk < n_chunks or pending:
            while next_chunk < n_chunks and len(pending) < window:
                pending.append(pool.apply_async(_build_chunk, (next_chunk,)))
                next_chunk += 1
            yield pending.pop(0).get()


# --- entry points -----------------------------------------------------------------------------------

def _session_settings(cur, skip_fk_triggers: bool | None) -> bool:
    cur.execute("SET LOCAL TIME ZONE 'Asia/Tehran'")  # the COPY text carries naive Tehran times
    cur.execute("SET LOCAL synchronous_commit = off")
    # Index rebuilds sort in memory: the largest (events by person and time) needs about 1 GB at a
    # million requests, shared by the build's parallel workers. Only a build takes it, and only as needed.
    cur.execute("SET LOCAL maintenance_work_mem = '2GB'")
    if skip_fk_triggers is None:
        cur.execute("SELECT current_setting('is_superuser') = 'on'")
        skip_fk_triggers = cur.fetchone()[0]
    if skip_fk_triggers:
        # No foreign-key triggers for this transaction, as pg_restore does; only a superuser may.
        cur.execute("SET LOCAL session_replication_role = replica")
    return skip_fk_triggers


def _context(cur, *, seed: int, now: datetime, start: datetime, requests: int, members: int) -> Context:
    """Everything the chunk builders read: calendars, staff, tariffs, rules, files."""
    years = _years_touched(start, now)
    _load_holidays(cur, years)
    _load_staff(cur, random.Random(seed), now)
    tariffs = _load_tariffs(cur, now)
    files = _load_blobs(cur)
    calendars, finance = _province_calendars(cur)
    pools, actors = _staff(cur)
    cur.execute("SELECT count(*) = 2 FROM information_schema.columns WHERE table_schema = current_schema() "
                "AND table_name = 'request' AND column_name IN ('stage_risk_at', 'risk_at')")
    risk_columns = cur.fetchone()[0]
    cur.execute("SELECT valid_end_year_from, valid_end_year_to, percent FROM discount_rule WHERE is_active "
                "ORDER BY id")
    discounts = tuple(DiscountRule.from_percent(int(a), int(b), p) for a, b, p in cur.fetchall())
    cur.execute("SELECT province_id, renewal_window_days FROM province_setting")
    renewal_window = dict(cur.fetchall())
    n_chunks = max(1, math.ceil(requests / CHUNK_REQUESTS), math.ceil(members / CHUNK_MEMBERS))
    if requests:
        n_chunks = min(n_chunks, members)  # every chunk needs members to file its requests
    small = members <= 200_000
    return Context(seed=seed, now=now, start=start, n_members=members, n_requests=requests, n_chunks=n_chunks,
                   calendars=calendars, finance_required=finance, pools=pools, actors=actors, tariffs=tariffs,
                   discounts=discounts, renewal_window=renewal_window, files=files, member_documents=small,
                   family_share=1.0 if small else 0.2, risk_columns=risk_columns)


def _write_chunks(cur, ctx: Context, workers: int, say, freeze: bool = False) -> dict[str, int]:
    """COPY every chunk, in chunk order, as the workers finish them. `freeze` (tables emptied in this
    transaction) writes the rows already frozen, so nothing later has to set their hint bits."""
    options = " (FREEZE)" if freeze else ""
    t0 = time.perf_counter()
    totals: dict[str, int] = {}
    waited = copying = 0.0  # where the writer's time goes: waiting for chunks, or in COPY
    results = _chunk_results(ctx.n_chunks, workers)
    for c in range(ctx.n_chunks):
        t1 = time.perf_counter()
        data, chunk_counts = next(results)
        t2 = time.perf_counter()
        waited += t2 - t1
        for table, columns in COPY_TABLES:
            payload = data.get(table)
            if not payload:
                continue
            if table == "request" and ctx.risk_columns:
                columns += ", stage_risk_at, risk_at"
            with cur.copy(f"COPY {TABLE_OF.get(table, table)} ({columns}) FROM STDIN{options}") as copy:
                copy.write(payload)
        copying += time.perf_counter() - t2
        for table, n in chunk_counts.items():
            name = TABLE_OF.get(table, table)
            totals[name] = totals.get(name, 0) + n
        if (c + 1) % max(1, ctx.n_chunks // 5) == 0 or c + 1 == ctx.n_chunks:
            say(f"  {c + 1}/{ctx.n_chunks} chunks in {time.perf_counter() - t0:.1f}s "
                f"(waiting for chunks {waited:.1f}s, in COPY {copying:.1f}s)")
    return totals


def _fill_derived(cur) -> dict[str, int]:
    """The rows the member triggers would have written, had they fired: the words of every name for
    the name search (migration 0021), from the same expression as the trigger's."""
    cur.execute("INSERT INTO member_name_word (word, member_id) "
                f"SELECT unnest(tsvector_to_array({member_name_words()})), id FROM member")
    return {"member_name_word": cur.rowcount}


def _count(cur, tables) -> dict[str, int]:
    counts = {}
    for table in tables:
        cur.execute(f"SELECT count(*) FROM {table}")
        counts[table] = cur.fetchone()[0]
    return counts


def _analyze(engine: sa.Engine, tables: tuple[str, ...]) -> None:
    """Planner statistics for the loaded tables, on two connections at once (ANALYZE of one table
    uses one core; the tables split about evenly by size)."""
    from concurrent.futures import ThreadPoolExecutor

    def run(names: tuple[str, ...]) -> None:
        raw = engine.raw_connection()
        try:
            raw.driver_connection.autocommit = True  # ANALYZE outside a transaction block
            raw.driver_connection.execute("ANALYZE " + ", ".join(names))
        finally:
            raw.driver_connection.autocommit = False  # back to the pool as the pool lent it
            raw.close()
    largest = ("request_event", "document", "fee_assessment")  # about half the rows
    with ThreadPoolExecutor(max_workers=2) as pool:
        for done in [pool.submit(run, largest), pool.submit(run, tuple(t for t in tables if t not in largest))]:
            done.result()


def load_demo(engine: sa.Engine, requests: int = DEFAULT_REQUESTS, members: int | None = None,
              seed: int = DEFAULT_SEED, now: datetime | None = None, *, if_empty: bool = False,
              workers: int | None = None, bulk: bool | None = None, skip_fk_triggers: bool | None = None,
              progress=None) -> dict:
    """Load the demo data into a migrated database without members, in one transaction.

    Returns row counts per table (`skipped` instead when `if_empty` and members exist), the number
    of worker processes and the elapsed seconds. `now` (default: the current time in Tehran)
    bounds every generated time. `bulk` forces or forbids dropping and rebuilding the secondary
    indexes (default: for large loads); `skip_fk_triggers` likewise (default: when superuser).
    """
    global _CTX
    t0 = time.perf_counter()
    if members is None:
        members = min(MAX_MEMBERS, max(1, requests // 2))
    if requests < 0 or members < 0 or (requests > 0 and members < 1):
        raise ValueError("requests need at least one member")
    now = to_tehran_naive(now) if now is not None else datetime.now(TEHRAN).replace(tzinfo=None)
    now = now.replace(microsecond=0)
    start = datetime.combine(JALALI.start_of(FIRST_JALALI_YEAR), datetime.min.time())
    if bulk is None:
        bulk = requests >= BULK_THRESHOLD or members >= BULK_THRESHOLD
    say = progress or (lambda message: None)

    raw = engine.raw_connection()
    conn = raw.driver_connection
    try:
        cur = conn.cursor()
        cur.execute("SELECT count(*) FROM member")
        existing = cur.fetchone()[0]
        if existing:
            conn.rollback()
            if if_empty:
                return {"skipped": True, "existing_members": existing, "elapsed": time.perf_counter() - t0}
            raise RuntimeError(f"the database already has {existing} members; load the demo into an empty one "
                               "(or pass --if-empty)")
        replica = _session_settings(cur, skip_fk_triggers)
        ctx = _CTX = _context(cur, seed=seed, now=now, start=start, requests=requests, members=members)
        if ctx.member_documents:
            # Members' degree scans take ids 1..members (id = member id); request documents follow.
            cur.execute("SELECT setval(pg_get_serial_sequence('document', 'id'), %s)", (max(members, 1),))
        indexes = _secondary_indexes(cur) if bulk else []
        for name, _ in indexes:
            cur.execute(f'DROP INDEX "{name}"')
        keys = _leaf_keys(cur) if bulk else []
        for table, name, _ in keys:
            cur.execute(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"')
        if bulk and replica:
            # The tables are empty (no members, so nothing that hangs off one). Emptied in this
            # transaction, they get new files that need no WAL on a wal_level=minimal server (the
            # embedded one): the COPYs and index builds below write none, and commit syncs the files.
            # The append-only tables' TRUNCATE guards are ENABLE ALWAYS: the owner turns them off for
            # this statement only (db.roles.truncate_sql).
            for statement in truncate_sql(BULK_TABLES, options=""):
                cur.execute(statement)
        say(f"reference rows ready in {time.perf_counter() - t0:.1f}s; {requests:,} requests and {members:,} "
            f"members in {ctx.n_chunks} chunk(s)")
        workers = _pick_workers(ctx.n_chunks, workers)
        totals = _write_chunks(cur, ctx, workers, say, freeze=bulk and replica)
        if replica:  # else the triggers wrote them row by row
            totals.update(_fill_derived(cur))
        for table, name, definition in keys:
            cur.execute(f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {definition}')
        for _, definition in indexes:
            cur.execute(definition)
        if indexes:
            say(f"{len(indexes)} indexes rebuilt at {time.perf_counter() - t0:.1f}s")
        _fix_sequences(cur, ("holiday", "staff_user", "fee_tariff")
                       + tuple(t for t in BULK_TABLES if t not in DERIVED_TABLES))
        cur.execute("SELECT to_regclass('membership_no_seq') IS NOT NULL")
        if cur.fetchone()[0] and members:
            # Admissions here number members like the workflow does ("PP-NNNNNNN", from the member
            # id); the workflow's next number must come after them.
            cur.execute("SELECT setval('membership_no_seq', greatest(%s, (SELECT last_value FROM membership_no_seq)))",
                        (members,))
        counts = _count(cur, ("holiday", "staff_user", "fee_tariff", "blob"))
        conn.commit()
        say(f"committed at {time.perf_counter() - t0:.1f}s")
        _analyze(engine, ("holiday", "staff_user", "fee_tariff", "blob") + BULK_TABLES)
    except BaseException:
        conn.rollback()
        raise
    finally:
        _CTX = None
        raw.close()
    counts.update(totals)
    counts["workers"] = workers
    counts["elapsed"] = round(time.perf_counter() - t0, 2)
    return counts


def keep_freed_memory() -> bool:
    """Let this process (and the workers it forks) reuse the memory it frees instead of handing it back
    to the kernel: glibc only; False elsewhere.

    Each chunk allocates and frees a few hundred megabytes of strings and buffers, and glibc hands large
    freed blocks (by default over 128 kB) and a free top of its heap back to the kernel. On a VM whose
    kernel reports free pages to its host (free page reporting, as on the Firecracker machines here) a
    page touched again after that costs a host fault: touching 2 GB of new memory took 6.8 s the first
    time and 1.2 s the next. At a million requests this took the loader's Python processes from
    10.0–10.8 to 7.0–9.5 s of system time in an hour when the machine was slow, and made no difference
    in one when it was fast.
    """
    try:
        libc = ctypes.CDLL("libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False
    m_trim_threshold, m_mmap_threshold = -1, -3
    ok = mallopt(m_mmap_threshold, 32 << 20)     # the largest glibc allows: chunks' buffers come from the heap
    ok &= mallopt(m_trim_threshold, 1 << 30)     # and freeing them leaves the heap's top in place
    return bool(ok)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m demo", description="Load demo data into an empty database.")
    parser.add_argument("--scale", choices=sorted(SCALES), default="small",
                        help="small: 3,000 requests; million: 1,000,000 requests and 400,000 members; "
                             "national: 5,000,000 requests and 2,000,000 members")
    parser.add_argument("--requests", type=int, help="number of requests (overrides --scale)")
    parser.add_argument("--members", type=int, help="number of members (default: about requests / 2)")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED, help="random seed (same seed, same data)")
    parser.add_argument("--if-empty", action="store_true", help="do nothing when members already exist")
    parser.add_argument("--database-url", help="default: MIGRATION_DATABASE_URL (the owner role: the load drops and "
                                               "rebuilds indexes), else DATABASE_URL, else the embedded server")
    parser.add_argument("--workers", type=int, help="generator processes (default: by CPU count)")
    args = parser.parse_args(argv)

    from db.engine import make_engine, migration_database_url, setting

    if setting("APP_MODE") != "demo":
        # The demo brings ~200 staff accounts with one published password: never into a real database.
        print("demo: refused: the demo data and its accounts load only with APP_MODE=demo "
              "(make run sets it); nothing loaded.", file=sys.stderr)
        return 2

    scale_requests, scale_members = SCALES[args.scale]
    requests = args.requests if args.requests is not None else scale_requests
    members = args.members if args.members is not None else (
        scale_members if args.requests is None else None)
    if members is not None:
        members = min(members, MAX_MEMBERS)
    engine = make_engine(args.database_url or migration_database_url())
    keep_freed_memory()  # a short-lived process: what it keeps is returned when it exits
    try:
        result = load_demo(engine, requests=requests, members=members, seed=args.seed, if_empty=args.if_empty,
                           workers=args.workers, progress=print)
    except RuntimeError as exc:
        print(f"demo: {exc}", file=sys.stderr)
        return 1
    finally:
        engine.dispose()
    if result.get("skipped"):
        print(f"demo: the database already has {result['existing_members']} members; nothing loaded.")
        return 0
    shown = ("member", "request", "request_event", "stage_visit", "document", "fee_assessment", "payment",
             "staff_user", "holiday")
    print("demo: loaded " + ", ".join(f"{result.get(t, 0):,} {t}" for t in shown))
    print(f"demo: {result['elapsed']:.1f}s with {result['workers']} worker(s); "
          f"demo password for every account: {DEMO_PASSWORD}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
