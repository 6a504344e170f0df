"""The audit log's hash chain, and `python -m db.audit_chain verify`.

Each `audit_event` row holds `prev_hash`, the `row_hash` of the row before it (32 zero bytes for the
first), and its own `row_hash` = sha256(prev_hash || the row as canonical JSON text). A trigger
(migration 0016) computes both as the row is inserted, under the row lock of `audit_chain_head`, and
gives the row its id there too, so id order is chain order; the head keeps the last id and hash, so
rows removed from the end are noticed as well. The app role may only INSERT and SELECT; whoever
changes, removes or inserts a row afterwards (an owner, a superuser, someone with the files) breaks a
link that `verify` reports.

    python -m db.audit_chain verify [--database-url URL]

prints «ok, N rows» (exit 0) or the first broken link: the row's id, what was expected, what was found
(exit 1). It reads in batches of 10,000 rows by id, in one snapshot.
"""
from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass

import sqlalchemy as sa

GENESIS = bytes(32)
GENESIS_SQL = "decode(repeat('00', 32), 'hex')"
RESET_HEAD = f"UPDATE audit_chain_head SET last_id = 0, last_hash = {GENESIS_SQL}"

# The row as canonical text: a JSON array (jsonb renders `data` with sorted keys), the time in UTC
# with microseconds so the session's time zone does not change it.
HASH_FUNCTION = """
CREATE FUNCTION audit_event_hash(prev bytea, id bigint, at timestamptz, actor_id integer, province_id smallint,
                                 action text, entity text, entity_id text, data jsonb)
RETURNS bytea LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT sha256(prev || convert_to(jsonb_build_array(
        id, to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'), actor_id, province_id, action,
        entity, entity_id, data)::text, 'UTF8'))
$$"""
ROW_HASH = "audit_event_hash({p}prev_hash, {p}id, {p}at, {p}actor_id, {p}province_id, {p}action, {p}entity, " \
           "{p}entity_id, {p}data)"

BATCH = 10_000


@dataclass(frozen=True)
class Broken:
    id: int
    what: str      # "prev_hash", "row_hash" or "head"
    expected: str  # hex
    found: str

    def __str__(self) -> str:
        return f"broken at id {self.id}: {self.what} expected {self.expected}, found {self.found}"


@dataclass(frozen=True)
class Result:
    rows: int
    broken: Broken | None

    def __str__(self) -> str:
        return str(self.broken) if self.broken else f"ok, {self.rows:,} rows"


def verify(engine: sa.Engine, batch: int = BATCH) -> Result:
    """Walk the chain in id order and return the first broken link, if any."""
    with engine.connect().execution_options(isolation_level="REPEATABLE READ") as conn, conn.begin():
        conn.execute(sa.text("SET TRANSACTION READ ONLY"))
        head_id, head_hash = conn.execute(sa.text("SELECT last_id, last_hash FROM audit_chain_head")).one()
        prev, last_id, rows = GENESIS, 0, 0
        query = sa.text(f"SELECT id, prev_hash, row_hash, {ROW_HASH.format(p='')} AS computed FROM audit_event "
                        "WHERE id > :after ORDER BY id LIMIT :n")
        while True:
            chunk = conn.execute(query, {"after": last_id, "n": batch}).all()
            for r in chunk:
                if bytes(r.prev_hash) != prev:
                    return Result(rows, Broken(r.id, "prev_hash", prev.hex(), bytes(r.prev_hash).hex()))
                if bytes(r.row_hash) != bytes(r.computed):
                    return Result(rows, Broken(r.id, "row_hash", bytes(r.computed).hex(), bytes(r.row_hash).hex()))
                prev, last_id = bytes(r.row_hash), r.id
            rows += len(chunk)
            if len(chunk) < batch:
                break
        if (head_id, bytes(head_hash)) != (last_id, prev):
            # The last rows were removed (or the head was changed): the chain ends before its head.
            return Result(rows, Broken(head_id, "head", f"row {head_id} {bytes(head_hash).hex()}",
                                       f"row {last_id} {prev.hex()}"))
        return Result(rows, None)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m db.audit_chain", description="Check the audit log's hash chain.")
    sub = parser.add_subparsers(dest="command", required=True)
    p_verify = sub.add_parser("verify", help="walk the chain and report the first broken link")
    p_verify.add_argument("--database-url", help="default: DATABASE_URL, else the embedded server")
    args = parser.parse_args(argv)
    from db.engine import database_url, make_engine

    engine = make_engine(args.database_url or database_url(), pool_size=1, max_overflow=0)
    try:
        result = verify(engine)
    finally:
        engine.dispose()
    print(f"audit chain: {result}")
    return 1 if result.broken else 0


if __name__ == "__main__":
    sys.exit(main())
