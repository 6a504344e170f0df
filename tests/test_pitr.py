"""Point-in-time recovery on the embedded server as production runs it (APP_MODE=production: WAL
archived into WAL_ARCHIVE_DIR): a base backup, decisions made through the services, a moment noted,
more decisions; `python -m db.backup restore-to` that moment into a new data directory, started on
its own port, has exactly the decisions made before the moment. A moment the backups cannot reach
is refused before anything is written.

The server is started from the embedded binaries in a temporary directory (its own socket), so this
module needs no TEST_DATABASE_URL and never touches .data/."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path

import jdatetime
import pytest
import sqlalchemy as sa

from db import engine as db_engine
from db import pitr
from db.backup import BackupError
from db.engine import make_engine
from db.migrate import upgrade
from domain.jalali import TEHRAN
from domain.processes import PROCESSES
from domain.reference import TEHRAN_ID
from logic import workflow as wf
from logic.login import attempt_login
from tests.conftest import ROOT
from tests.factories import PASSWORD, file_request, make_member, make_staff, req_row

RESTORED_PORT = 55421

KEY = "pitr-test-cookie-key-0123456789abcdef"
pytestmark = pytest.mark.infra  # its own servers: once per CI run, whatever TEST_DATABASE_URL says


def wait_for(what: str, check, timeout: float = 30.0):
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def pg_ctl(pgdata, *args: str) -> None:
    major = int((pgdata / "PG_VERSION").read_text())
    subprocess.run([str(pitr.server_bin_dir(major) / "pg_ctl"), "-D", str(pgdata), "-w", *args], check=True,
                   capture_output=True, user=pitr.server_user(), timeout=120)


def cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "db.backup", *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=300, env={**os.environ, "DATABASE_URL": "postgresql://unused@127.0.0.1:1/none"})


def history(engine) -> dict[str, list[tuple]]:
    """What a user would see of the decisions: every event with its version, every request's
    version and stage, every audit record."""
    with engine.connect() as c:
        return {
            "events": c.execute(sa.text("SELECT id, request_id, version, action, actor_id FROM request_event "
                                        "ORDER BY id")).all(),
            "requests": c.execute(sa.text("SELECT id, version, stage_code, status FROM request ORDER BY id")).all(),
            "audit": c.execute(sa.text("SELECT id, action, actor_id FROM audit_event ORDER BY id")).all(),
        }


def approve(engine, actor, rid):
    r = req_row(engine, rid)
    ticks = [True] * len(PROCESSES[r["type_code"]].stage(r["stage_code"]).checklist)
    return wf.approve(engine, actor, rid, r["version"], checklist=ticks)


@pytest.fixture(scope="module")
def workdir():
    """The servers' own temporary directory. Not pytest's: the server runs as another user when the
    tests run as root, and every pytest session makes /tmp/pytest-of-<user> private again."""
    path = Path(tempfile.mkdtemp(prefix="nezam-pitr-test-"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture(scope="module")
def production(workdir):
    """An embedded server started the way `make serve` starts it (APP_MODE=production), with its
    archive and base backups in a temporary directory; migrated, three requests submitted."""
    pgdata, archive, backups = workdir / "pg", workdir / "wal", workdir / "base"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("APP_MODE", "production")
        mp.setenv("WAL_ARCHIVE_DIR", str(archive))
        url = db_engine.embedded_url(pgdata)
    engine = make_engine(url)
    try:
        upgrade(engine)
        staff = {"expert": make_staff(engine, "t.expert", ["expert"], TEHRAN_ID),
                 "final": make_staff(engine, "t.final", ["expert", "final_reviewer"], TEHRAN_ID)}
        rids = [file_request(engine, make_member(engine, TEHRAN_ID, status="applicant"), "new_membership").request_id
                for _ in range(3)]
        yield {"url": url, "engine": engine, "pgdata": pgdata, "archive": archive, "backups": backups,
               "staff": staff, "rids": rids}
    finally:
        engine.dispose()
        pg_ctl(pgdata, "-m", "fast", "stop")


@pytest.fixture(scope="module")
def drill(production, workdir):
    """Base backup, decisions, the moment, more decisions, WAL switched; restore-to the moment and
    start the copy on its own port."""
    p, e = production, production["engine"]
    expert, final = p["staff"]["expert"], p["staff"]["final"]
    r1, r2, r3 = p["rids"]
    took = {}
    t = time.monotonic()
    done = cli("basebackup", "--dir", str(p["backups"]), "--database-url", p["url"])
    took["basebackup"] = time.monotonic() - t
    assert done.returncode == 0, done.stderr
    # Before the moment: a login (audited) and two approvals.
    assert attempt_login(e, expert.username, PASSWORD, key=KEY).ok
    approve(e, expert, r1)
    approve(e, expert, r2)
    with e.connect() as c:
        moment = c.execute(sa.text("SELECT now()")).scalar()
    before = history(e)
    with e.connect() as c:
        wait_for("the clock to pass the moment",
                 lambda: c.execute(sa.text("SELECT clock_timestamp() > :m"), {"m": moment}).scalar())
    # After it: another login, an approval, and a rejection at the final review.
    assert attempt_login(e, final.username, PASSWORD, key=KEY).ok
    approve(e, expert, r3)
    wf.reject(e, final, r1, req_row(e, r1)["version"], "مدارک ناقص است")
    after = history(e)
    t = time.monotonic()
    done = cli("switch-wal", "--database-url", p["url"])
    took["switch_wal"] = time.monotonic() - t
    assert done.returncode == 0 and "is in the WAL archive" in done.stdout, done.stderr
    target = workdir / "restored"
    t = time.monotonic()
    done = cli("restore-to", "--moment", moment.isoformat(), "--target", str(target), "--dir", str(p["backups"]),
               "--wal-archive", str(p["archive"]))
    took["restore_to"] = time.monotonic() - t
    assert done.returncode == 0, done.stderr
    sockets = workdir / "sock"
    sockets.mkdir()
    os.chmod(sockets, 0o777)  # the server's own user writes its lock file there
    t = time.monotonic()
    pg_ctl(target, "-l", str(target / "log"), "-o", f"-h 127.0.0.1 -p {RESTORED_PORT} -k {sockets}", "start")
    took["start_restored"] = time.monotonic() - t
    restored = make_engine(f"postgresql+psycopg://postgres@127.0.0.1:{RESTORED_PORT}/postgres")
    print(f"\npitr drill timings: {', '.join(f'{k} {v:.2f} s' for k, v in took.items())}")
    try:
        yield {"before": before, "after": after, "restored": restored, "target": target, "out": done.stdout,
               "moment": moment}
    finally:
        restored.dispose()
        pg_ctl(target, "-m", "fast", "stop")


def test_the_restored_copy_has_exactly_the_decisions_before_the_moment(drill):
    before, after = drill["before"], drill["after"]
    # The test means something only if decisions happened on both sides of the moment.
    assert len(after["events"]) == len(before["events"]) + 2 and len(after["audit"]) == len(before["audit"]) + 1
    assert history(drill["restored"]) == before
    versions = {rid: version for rid, version, _, _ in history(drill["restored"])["requests"]}
    assert sorted(versions.values()) == [1, 2, 2]


def test_the_restored_copy_is_a_promoted_writable_server_that_does_not_archive(drill):
    with drill["restored"].begin() as c:
        assert c.execute(sa.text("SELECT pg_is_in_recovery()")).scalar() is False
        assert c.execute(sa.text("SHOW archive_mode")).scalar() == "off"
        c.execute(sa.text("INSERT INTO audit_event (action, entity) VALUES ('after_restore', 'x')"))
    assert "restored to" in drill["out"] and "last transaction replayed at" in drill["out"]
    assert not (drill["target"] / "recovery.signal").exists()
    assert drill["target"].stat().st_mode & 0o777 == 0o700


def test_backups_and_the_archive_are_readable_by_their_owner_only(production, drill):
    backups = pitr.base_backups(production["backups"])
    assert len(backups) == 1
    files = list(backups[0].path.iterdir()) + [p for p in production["archive"].iterdir()]
    assert {"base.tar.gz", "pg_wal.tar.gz", "backup_manifest", pitr.MANIFEST} <= {f.name for f in files}
    assert all(f.stat().st_mode & 0o777 == 0o600 for f in files)
    assert all(d.stat().st_mode & 0o777 == 0o700 for d in (backups[0].path, production["archive"]))
    assert not [f for f in production["archive"].iterdir() if f.name.endswith(".part")]


def test_a_moment_before_the_oldest_base_backup_is_refused_and_nothing_is_written(production, drill, tmp_path):
    oldest = pitr.base_backups(production["backups"])[0].consistent_at.astimezone(TEHRAN) - timedelta(minutes=1)
    jalali = jdatetime.datetime.fromgregorian(datetime=oldest.replace(tzinfo=None)).strftime("%Y-%m-%d %H:%M")
    listing = sorted(p.name for p in production["backups"].rglob("*"))
    target = tmp_path / "never"
    done = cli("restore-to", "--moment", jalali, "--target", str(target), "--dir", str(production["backups"]),
               "--wal-archive", str(production["archive"]))
    assert done.returncode == 1
    assert "is before the oldest base backup" in done.stderr and "Nothing was restored" in done.stderr
    assert not target.exists()
    assert sorted(p.name for p in production["backups"].rglob("*")) == listing


def test_a_moment_in_the_future_or_an_occupied_target_is_refused(production, tmp_path):
    occupied = tmp_path / "occupied"
    occupied.mkdir()
    (occupied / "keep.txt").write_text("x")
    with pytest.raises(BackupError, match="not empty"):
        pitr.restore_to(datetime.now(TEHRAN), occupied, root=production["backups"], archive=production["archive"])
    assert [p.name for p in occupied.iterdir()] == ["keep.txt"]
    with pytest.raises(BackupError, match="in the future"):
        pitr.restore_to(datetime.now(TEHRAN) + timedelta(hours=1), tmp_path / "new", root=production["backups"])
    assert not (tmp_path / "new").exists()


def test_a_process_without_app_mode_leaves_archiving_on(production):
    """A migration or a backup run without APP_MODE must not break the archive production relies on."""
    db_engine._TUNED.discard(production["pgdata"].resolve())
    with pytest.MonkeyPatch.context() as mp:
        mp.delenv("APP_MODE", raising=False)
        url = db_engine.embedded_url(production["pgdata"])
    e = make_engine(url)
    with e.connect() as c:
        assert c.execute(sa.text("SHOW archive_mode")).scalar() == "on"
        assert c.execute(sa.text("SHOW wal_level")).scalar() == "replica"
    e.dispose()


def test_the_demo_keeps_minimal_wal_and_production_archives_into_its_folder(tmp_path):
    demo = db_engine.embedded_settings("demo")
    assert (demo["wal_level"], demo["archive_mode"], demo["max_wal_senders"]) == ("minimal", "off", "0")
    prod = db_engine.embedded_settings("production", tmp_path / "my wal")
    assert (prod["wal_level"], prod["archive_mode"]) == ("replica", "on")
    assert f"'{tmp_path}/my wal'/%f" in prod["archive_command"]
    with pytest.raises(ValueError, match="WAL_ARCHIVE_DIR"):
        db_engine.embedded_settings("production", tmp_path / "100%")


def test_a_base_backup_of_a_server_that_does_not_archive_is_refused(pg_server_url, tmp_path):
    e = make_engine(pg_server_url)
    with e.connect() as c:
        archiving = c.execute(sa.text("SHOW archive_mode")).scalar() != "off"
    e.dispose()
    if archiving:
        pytest.skip("the test server archives its WAL")
    with pytest.raises(BackupError, match="does not archive its WAL"):
        pitr.basebackup(pg_server_url, tmp_path / "base")
    assert not (tmp_path / "base").exists()


@pytest.mark.parametrize("text, expected", [
    ("1405-09-11 10:30", datetime(2026, 12, 2, 10, 30, tzinfo=TEHRAN)),
    ("۱۴۰۵/۰۹/۱۱ ۱۰:۳۰:۱۵ تهران", datetime(2026, 12, 2, 10, 30, 15, tzinfo=TEHRAN)),
    ("1405-09-11T10:30:15.25", datetime(2026, 12, 2, 10, 30, 15, 250000, tzinfo=TEHRAN)),
    ("2026-12-02T07:00:00Z", datetime(2026, 12, 2, 10, 30, tzinfo=TEHRAN)),
    ("2026-12-02 10:30", datetime(2026, 12, 2, 10, 30, tzinfo=TEHRAN)),
])
def test_moments_are_read_in_jalali_or_iso_and_tehran_by_default(text, expected):
    assert pitr.parse_moment(text) == expected


@pytest.mark.parametrize("text", ["", "yesterday", "1405-13-01 10:00", "1405-09-11 25:00", "2026-02-30T10:00"])
def test_an_unreadable_moment_is_refused_with_the_forms_to_use(text):
    with pytest.raises(BackupError, match="cannot read the moment"):
        pitr.parse_moment(text)


def test_the_restored_copy_made_production_archives_its_new_timeline(production, drill):
    """Adopted as production (APP_MODE=production), the copy archives its timeline's history first:
    a later recovery through this restore needs it to leave the abandoned WAL of the old timeline."""
    drill["restored"].dispose()
    pg_ctl(drill["target"], "-m", "fast", "stop")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("APP_MODE", "production")
        mp.setenv("WAL_ARCHIVE_DIR", str(production["archive"]))
        url = db_engine.embedded_url(drill["target"])
    e = make_engine(url)
    try:
        with e.connect() as c:
            assert c.execute(sa.text("SHOW archive_mode")).scalar() == "on"
            timeline = c.execute(sa.text("SELECT timeline_id FROM pg_control_checkpoint()")).scalar()
        assert timeline == 2
        wait_for("the history file in the archive", lambda: (production["archive"] / "00000002.history").is_file())
    finally:
        e.dispose()


def test_pruning_keeps_the_newest_backups_and_the_wal_they_need(production, drill):
    p = production
    with p["engine"].connect().execution_options(isolation_level="AUTOCOMMIT") as c:
        c.execute(sa.text("SELECT pg_switch_wal()"))  # a segment that only the first backup needs
    done = cli("basebackup", "--dir", str(p["backups"]), "--database-url", p["url"])
    assert done.returncode == 0, done.stderr
    first, second = pitr.base_backups(p["backups"])
    needed = second.manifest["start_wal_file"]
    assert any(f.name < needed for f in p["archive"].iterdir() if f.name.startswith("00000001"))
    done = cli("prune-basebackups", "--keep", "1", "--dir", str(p["backups"]), "--wal-archive", str(p["archive"]))
    assert done.returncode == 0, done.stderr
    assert [b.path.name for b in pitr.base_backups(p["backups"])] == [second.path.name]
    left = sorted(f.name for f in p["archive"].iterdir())
    assert not [n for n in left if len(n) == 24 and n[8:] < needed[8:]]
    assert needed in left and "00000002.history" in left


def test_a_damaged_base_backup_is_refused_before_the_target_is_made(production, drill, tmp_path):
    newest = pitr.base_backups(production["backups"])[-1]
    copy = tmp_path / "base" / newest.path.name
    shutil.copytree(newest.path, copy)
    wal = copy / "pg_wal.tar.gz"
    data = bytearray(wal.read_bytes())
    data[len(data) // 2] ^= 0xFF
    wal.write_bytes(bytes(data))
    with pytest.raises(BackupError, match="damaged"):
        pitr.restore_to(datetime.now(TEHRAN), tmp_path / "target", root=tmp_path / "base",
                        archive=production["archive"])
    assert not (tmp_path / "target").exists()
