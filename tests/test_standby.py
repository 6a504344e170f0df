"""The read standby: a primary and a streaming hot standby (bench.pg_pair, from the embedded
PostgreSQL's binaries) with a small demo world. The KPI service reads the standby, a decision on
the primary reaches the standby's KPIs once replayed, a standby that lags past READ_MAX_LAG_SECONDS
or is down sends the page to the primary, which says so; the standby never writes (stale rollups are
read on the primary, compaction is left to it). Marked `standby`; about 10 s on an idle machine."""
from __future__ import annotations

from datetime import datetime, timedelta
from types import SimpleNamespace

import pytest
import sqlalchemy as sa

from bench.load_bench import _Submitter
from bench.pg_pair import PgPair
from db import read_replica as rr
from db.engine import make_engine, session_scope
from db.migrate import upgrade
from domain import periods
from domain.errors import DomainError
from domain.jalali import TEHRAN, now_tehran
from domain.processes import PROCESSES
from domain.reference import TEHRAN_ID
from domain.text import format_number
from logic import analytics as an
from logic import kpi
from logic import releases as rel
from logic import workflow as wf
from db.models import StaffUser
from logic.auth import actor_from_row
from tests.apptest import app, texts, sign_in
from tests.factories import compose
from ui import freshness

pytestmark = pytest.mark.infra  # its own primary and standby: once per CI run

PORT = 55410  # the primary; the standby on PORT + 1


@pytest.fixture(scope="module")
def pair():
    from demo import load_demo

    with PgPair(PORT, durable=False) as p:
        p.engine = make_engine(p.primary_url)
        upgrade(p.engine)
        load_demo(p.engine, requests=300, workers=1)
        kpi.rebuild_rollups(p.engine)  # the loader bypasses the rollup triggers, as pg_restore does
        p.wait_for_replay()
        yield p
        p.engine.dispose()
        rr.read_engine_for(p.standby_url).dispose()
        rr.read_engine_for.cache_clear()


@pytest.fixture
def standby_env(pair, monkeypatch):
    monkeypatch.setenv("READ_DATABASE_URL", pair.standby_url)
    monkeypatch.delenv("READ_MAX_LAG_SECONDS", raising=False)
    return pair


def actor(engine, username):
    with session_scope(engine) as s:
        return actor_from_row(s.scalar(sa.select(StaffUser).where(StaffUser.username == username)))


def kpis(engine, who, now=None):
    now = now or now_tehran()
    with session_scope(engine) as s:
        in_recovery = s.execute(sa.text("SELECT pg_is_in_recovery()")).scalar()
        return in_recovery, kpi.kpi_report(s, who, periods.current_month(now), now)


def test_the_kpi_service_reads_the_standby(standby_env):
    pair = standby_env
    engine, fresh = rr.route_reads(pair.engine)
    assert fresh.on_standby and fresh.fallback is None
    assert engine.url.port == PORT + 1
    now = now_tehran()
    for username in ("tehran.manager", "central.manager"):  # all provinces: a second connection too
        who = actor(pair.engine, username)
        on_standby, report = kpis(engine, who, now)
        on_primary, expected = kpis(pair.engine, who, now)
        assert on_standby and not on_primary
        assert report.backlog == expected.backlog and report.stages == expected.stages
        assert sum(b.total for b in report.backlog) > 0
        with session_scope(engine) as s:
            assert an.analytics_report(s, who, periods.current_month(now), now) is not None


def _approve_one(engine, expert) -> tuple[str, str]:
    """An expert's approval of some open Tehran request at a stage of theirs: (type, stage) it left."""
    stages = sorted({s.code for p in PROCESSES.values() for s in p.stages if s.role == "expert"})
    with engine.connect() as c:
        rows = c.execute(sa.text(
            "SELECT id, version, type_code, stage_code FROM request WHERE province_id = :p AND status = 'open' "
            "AND stage_code = ANY(:st) AND (assignee_id IS NULL OR assignee_id = :me) ORDER BY id"),
            {"p": TEHRAN_ID, "st": stages, "me": expert.id}).all()
    for r in rows:
        ticks = [True] * len(PROCESSES[r.type_code].stage(r.stage_code).checklist)
        try:
            wf.approve(engine, expert, r.id, r.version, checklist=ticks)
        except DomainError:
            continue  # documents missing, someone else's group: the next one
        return r.type_code, r.stage_code
    raise AssertionError("no request for the expert to approve in the demo world")


def decisions_at(report, type_code, stage_code) -> int:
    return sum(s.decisions for s in report.stages
               if (s.province_id, s.type_code, s.stage_code) == (TEHRAN_ID, type_code, stage_code))


def test_a_decision_on_the_primary_shows_in_the_standby_kpis_once_replayed(standby_env):
    pair = standby_env
    manager, expert = actor(pair.engine, "tehran.manager"), actor(pair.engine, "tehran.expert")
    _Submitter(pair.engine, TEHRAN_ID, seed=7).submit(3, now_tehran() - timedelta(hours=1), threads=1)
    pair.wait_for_replay()
    standby, _ = rr.route_reads(pair.engine)
    _, before = kpis(standby, manager)
    type_code, stage_code = _approve_one(pair.engine, expert)
    pair.wait_for_replay()
    on_standby, after = kpis(standby, manager)
    assert on_standby
    assert decisions_at(after, type_code, stage_code) == decisions_at(before, type_code, stage_code) + 1
    assert after.stages == kpis(pair.engine, manager)[1].stages


def _status(**row):
    defaults = {"in_recovery": True, "checked_at": datetime(2026, 12, 2, 12, 0, tzinfo=TEHRAN),
                "replayed_at": None, "caught_up": False, "streaming": True}
    values = SimpleNamespace(**{**defaults, **row})
    return SimpleNamespace(execute=lambda _: SimpleNamespace(one=lambda: values))


def test_freshness_against_the_lag_limit():
    noon = datetime(2026, 12, 2, 12, 0, tzinfo=TEHRAN)
    # An idle primary: nothing committed for hours, but all received WAL is replayed: current.
    idle = rr.standby_freshness(_status(replayed_at=noon - timedelta(hours=3), caught_up=True), 60)
    assert idle.on_standby and idle.lag_seconds == 0 and idle.as_of == noon
    behind = _status(replayed_at=noon - timedelta(seconds=90))
    assert rr.standby_freshness(behind, 120).on_standby
    late = rr.standby_freshness(behind, 60)
    assert late.fallback == rr.LAGGING and late.lag_seconds == 90 and not late.on_standby
    assert "۹۰ ثانیه" in freshness.text(late) and "۶۰ ثانیهٔ مجاز" in freshness.text(late)
    # Caught up with what it has, but the primary is not streaming to it: measured by replay time.
    cut_off = _status(replayed_at=noon - timedelta(seconds=90), caught_up=True, streaming=False)
    assert rr.standby_freshness(cut_off, 60).fallback == rr.LAGGING
    assert rr.standby_freshness(_status(in_recovery=False), 60).fallback == rr.NOT_STANDBY


def test_read_max_lag_seconds_setting(monkeypatch):
    monkeypatch.delenv("READ_MAX_LAG_SECONDS", raising=False)
    assert rr.max_lag_seconds() == 60
    monkeypatch.setenv("READ_MAX_LAG_SECONDS", "15")
    assert rr.max_lag_seconds() == 15
    monkeypatch.setenv("READ_MAX_LAG_SECONDS", "a minute")
    with pytest.raises(ValueError, match="READ_MAX_LAG_SECONDS"):
        rr.max_lag_seconds()


def test_a_standby_whose_replay_lags_past_the_limit_sends_reads_to_the_primary(standby_env, monkeypatch):
    pair = standby_env
    pair.standby_sql("SELECT pg_wal_replay_pause()")
    try:
        with pair.engine.begin() as c:  # WAL the standby receives but, paused, does not replay
            c.execute(sa.text("UPDATE province_setting SET renewal_window_days = renewal_window_days "
                              "WHERE province_id = :p"), {"p": TEHRAN_ID})
        pair.wait_for_replay(received_only=True)
        monkeypatch.setenv("READ_MAX_LAG_SECONDS", "0")
        engine, fresh = rr.route_reads(pair.engine)
        assert engine is pair.engine and fresh.fallback == rr.LAGGING and fresh.lag_seconds > 0
        monkeypatch.setenv("READ_MAX_LAG_SECONDS", "3600")
        engine, fresh = rr.route_reads(pair.engine)
        assert engine is not pair.engine and fresh.on_standby and fresh.lag_seconds > 0
    finally:
        pair.standby_sql("SELECT pg_wal_replay_resume()")
    pair.wait_for_replay()


def page_read(pair, monkeypatch, who):
    """What the KPI page's head does (ui.charts.period_report): the report through ui.session.read."""
    from ui.session import read

    monkeypatch.setenv("DATABASE_URL", pair.primary_url)
    now = now_tehran()
    return read(lambda s: kpi.kpi_report(s, who, periods.current_month(now), now))


def primary_scalar(pair, sql):
    with pair.engine.connect() as c:
        return c.execute(sa.text(sql)).scalar()


def test_stale_rollups_are_read_on_the_primary_which_rebuilds_them(standby_env, monkeypatch):
    pair = standby_env
    manager = actor(pair.engine, "tehran.manager")
    with pair.engine.begin() as c:  # what a bulk load leaves behind
        c.execute(sa.text("UPDATE kpi_state SET dirty = true WHERE id = 1"))
    pair.wait_for_replay()
    _, fresh = page_read(pair, monkeypatch, manager)
    assert fresh.fallback == rr.NEEDS_PRIMARY and not fresh.on_standby
    assert primary_scalar(pair, "SELECT NOT dirty FROM kpi_state")
    pair.wait_for_replay()
    _, fresh = page_read(pair, monkeypatch, manager)
    assert fresh.on_standby


def test_a_read_on_the_standby_leaves_compaction_to_the_primary(standby_env, monkeypatch):
    pair = standby_env
    monkeypatch.setattr(kpi, "COMPACT_AFTER", 0)
    _Submitter(pair.engine, TEHRAN_ID, seed=8).submit(2, now_tehran() - timedelta(hours=1), threads=1)
    pair.wait_for_replay()
    assert primary_scalar(pair, "SELECT last_value FROM kpi_delta_seq") > primary_scalar(
        pair, "SELECT compacted_upto FROM kpi_state")
    _, fresh = page_read(pair, monkeypatch, actor(pair.engine, "tehran.manager"))
    assert fresh.on_standby
    assert primary_scalar(pair, "SELECT last_value FROM kpi_delta_seq") == primary_scalar(
        pair, "SELECT compacted_upto FROM kpi_state")


def open_kpi(pair, monkeypatch, username="tehran.manager"):
    monkeypatch.setenv("DATABASE_URL", pair.primary_url)  # restored after the test
    at = sign_in(app(pair.primary_url), pair.primary_url, username)
    at.run()
    at.switch_page("pages/kpi.py").run()
    assert not at.exception, at.exception
    return at


def test_the_public_page_shows_a_release_from_the_standby_with_its_freshness(standby_env, monkeypatch):
    pair = standby_env
    out = compose(pair.engine, actor(pair.engine, "tehran.board"), title="آمار آزمون نسخهٔ فقط‌خواندنی")
    rel.approve_and_publish(pair.engine, actor(pair.engine, "tehran.board2"), out.release_id)
    pair.wait_for_replay()
    monkeypatch.setenv("DATABASE_URL", pair.primary_url)
    at = app(pair.primary_url)
    at.run()
    at.switch_page("pages/public_stats.py").run()
    assert not at.exception, at.exception
    assert any("به‌روز تا ۱۴" in c for c in texts(at.caption)) and not at.warning
    assert "آمار آزمون نسخهٔ فقط‌خواندنی" in texts(at.header)


def test_the_kpi_page_says_how_current_and_falls_back_when_the_standby_stops(standby_env, monkeypatch):
    pair = standby_env
    at = open_kpi(pair, monkeypatch)
    assert any("به‌روز تا ۱۴" in c for c in texts(at.caption))  # a Jalali date-time, Persian digits
    assert not at.warning
    pair.stop_standby()
    at = open_kpi(pair, monkeypatch)  # a new browser session: no cached report
    assert any("در دسترس نیست" in w and "پایگاه دادهٔ اصلی" in w for w in texts(at.warning))
    _, expected = kpis(pair.engine, actor(pair.engine, "tehran.manager"))
    shown = next(m.value for m in at.metric if m.label == "کارهای باز")
    assert shown == format_number(sum(b.total for b in expected.backlog))
