"""Reads that accept seconds of lag (the KPI, analytics and public statistics pages) on a hot standby.

`READ_DATABASE_URL` names a PostgreSQL hot standby of the primary (`DATABASE_URL`), kept by
streaming replication. `route_reads` hands out the standby while it is in recovery and has replayed
the primary's work up to at most `READ_MAX_LAG_SECONDS` (default 60) ago, else the primary, and says
which and why (`Freshness`). Writes never come here: every action keeps using the primary through
`db.engine.session_scope`. With no `READ_DATABASE_URL` every read goes to the primary, as before.

A read on the standby that needs the primary (rollups to rebuild) raises `NeedsPrimary`; a read may
also leave maintenance for the primary (`after_read_on_primary`), which the caller runs once the
read is done, since the standby itself cannot write.
"""
from __future__ import annotations

import functools
import logging
import math
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from db.engine import get_engine, make_engine, normalize_url, setting

log = logging.getLogger(__name__)

DEFAULT_MAX_LAG_SECONDS = 60.0
# A standby host that does not answer must not hold a page for long: the primary answers instead.
CONNECT_TIMEOUT_S = 3

# Why a read went to the primary although a standby is configured.
DOWN = "down"                  # no connection (stopped, unreachable, refused)
LAGGING = "lagging"            # replay is behind by more than the limit
NOT_STANDBY = "not_standby"    # the server is not in recovery (promoted, or the primary's own URL)
FAILED = "failed"              # the read itself failed on the standby (a recovery conflict, a lost connection)
NEEDS_PRIMARY = "needs_primary"  # what the read needs is only on the primary (rollups being rebuilt)


@dataclass(frozen=True)
class Freshness:
    """Where a read went and how current its data are."""
    configured: bool                  # a standby is configured at all
    on_standby: bool                  # the read went to the standby
    as_of: datetime | None = None     # the data hold everything the primary committed up to here
    lag_seconds: float | None = None  # how far replay was behind when checked (0: all received WAL replayed)
    fallback: str | None = None       # why the primary served it (DOWN, LAGGING, ...), else None
    max_lag_seconds: float = DEFAULT_MAX_LAG_SECONDS

    def fell_back(self, reason: str) -> Freshness:
        return replace(self, on_standby=False, fallback=reason)


PRIMARY_ONLY = Freshness(configured=False, on_standby=False)


class NeedsPrimary(Exception):
    """Raised by a read on the standby for something only the primary can give (the caller reads
    the primary instead)."""


def read_url() -> str | None:
    url = setting("READ_DATABASE_URL")
    return normalize_url(url) if url else None


def max_lag_seconds() -> float:
    raw = setting("READ_MAX_LAG_SECONDS")
    if raw is None:
        return DEFAULT_MAX_LAG_SECONDS
    try:
        value = float(raw)
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or value < 0:
        raise ValueError(f"READ_MAX_LAG_SECONDS must be a number of seconds, not {raw!r}")
    return value


@functools.cache
def read_engine_for(url: str) -> sa.Engine:
    """One engine per process and standby URL."""
    return make_engine(url, connect_args={"connect_timeout": CONNECT_TIMEOUT_S})


def read_engine() -> sa.Engine | None:
    """The standby's engine, or None when no READ_DATABASE_URL is set."""
    url = read_url()
    return read_engine_for(url) if url else None


# One round trip. The replay timestamp is the commit time of the last transaction replayed, so on an
# idle primary it stays put however current the standby is: when the WAL receiver is streaming and
# has replayed all it received, the standby is as current as the primary, whatever that timestamp.
# pg_stat_wal_receiver shows its row (the pid) to every role; its other columns need pg_read_all_stats.
_STATUS = sa.text(
    "SELECT pg_is_in_recovery() AS in_recovery, now() AS checked_at, "
    "pg_last_xact_replay_timestamp() AS replayed_at, "
    "coalesce(pg_last_wal_replay_lsn() >= pg_last_wal_receive_lsn(), false) AS caught_up, "
    "EXISTS (SELECT FROM pg_stat_wal_receiver) AS streaming")


def standby_freshness(conn: sa.Connection, max_lag: float) -> Freshness:
    """How current the standby behind `conn` is, and whether it is within `max_lag` seconds."""
    row = conn.execute(_STATUS).one()
    fresh = Freshness(configured=True, on_standby=True, max_lag_seconds=max_lag)
    if not row.in_recovery:
        return fresh.fell_back(NOT_STANDBY)
    if row.caught_up and row.streaming:
        return replace(fresh, as_of=row.checked_at, lag_seconds=0.0)
    if row.replayed_at is None:  # nothing replayed since it started, and not caught up
        return fresh.fell_back(LAGGING)
    # Clocks of two machines: a standby slightly behind the primary's clock must not show negative lag.
    lag = max(0.0, (row.checked_at - row.replayed_at).total_seconds())
    fresh = replace(fresh, as_of=row.replayed_at, lag_seconds=lag)
    return fresh if lag <= max_lag else fresh.fell_back(LAGGING)


def route_reads(primary: sa.Engine | None = None, *, max_lag: float | None = None) -> tuple[sa.Engine, Freshness]:
    """The engine for a read that accepts `max_lag` seconds of lag (READ_MAX_LAG_SECONDS by default):
    the standby when it is up, in recovery and current enough, else `primary` (default: the app's)."""
    primary = primary or get_engine()
    replica = read_engine()
    if replica is None:
        return primary, PRIMARY_ONLY
    max_lag = max_lag_seconds() if max_lag is None else max_lag
    try:
        with replica.connect() as conn:
            fresh = standby_freshness(conn, max_lag)
    except sa.exc.DBAPIError as exc:
        log.warning("read standby unavailable, reading the primary: %s", exc.orig or exc)
        return primary, Freshness(configured=True, on_standby=False, fallback=DOWN, max_lag_seconds=max_lag)
    if fresh.fallback:
        log.info("read standby not used (%s, lag %s s)", fresh.fallback, fresh.lag_seconds)
        return primary, fresh
    return replica, fresh


# --- maintenance a read on the standby leaves to the primary ---------------------------------------

_ON_PRIMARY = "read_replica.on_primary"


def after_read_on_primary(session: Session, work: Callable[[sa.Engine], None]) -> None:
    """Ask the caller of a read on the standby to run `work(primary_engine)` after it."""
    todo = session.info.setdefault(_ON_PRIMARY, [])
    if work not in todo:
        todo.append(work)


def left_for_primary(session: Session) -> list[Callable[[sa.Engine], None]]:
    return list(session.info.get(_ON_PRIMARY, ()))
