"""Backup and restore: a dump of a database with demo data, restored into a fresh database through
the documented commands, has every row of every table, the same sequences, and the append-only
triggers; a damaged dump or a non-empty target is refused before anything is touched."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import make_url

from db import backup
from db.engine import make_engine
from db.migrate import upgrade
from tests.conftest import ROOT, create_database, drop_database


def table_fingerprints(engine) -> dict[str, tuple[int, str]]:
    """Every table's row count and a checksum of its full content (rows sorted by their text)."""
    with engine.connect() as c:
        names = backup.list_tables(c)
        return {n: tuple(c.execute(sa.text(
            f"SELECT count(*), md5(coalesce(string_agg(t::text, E'\\n' ORDER BY t::text), '')) FROM {n} t")).one())
            for n in names}


def sequences(engine) -> dict[str, tuple[int, bool]]:
    """Each sequence's state: (last_value, is_called)."""
    with engine.connect() as c:
        names = c.execute(sa.text("SELECT quote_ident(schemaname) || '.' || quote_ident(sequencename) "
                                  "FROM pg_sequences")).scalars().all()
        return {n: tuple(c.execute(sa.text(f"SELECT last_value, is_called FROM {n}")).one()) for n in names}


def cli(*args: str, url: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "DATABASE_URL": url}
    return subprocess.run([sys.executable, "-m", "db.backup", *args], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=300)


@pytest.fixture(scope="module")
def databases(pg_server_url):
    """A source database with the demo data (300 requests) and a name for a fresh target."""
    from demo import load_demo

    src_name, dst_name = f"bk_src_{uuid.uuid4().hex[:8]}", f"bk_dst_{uuid.uuid4().hex[:8]}"
    src_url = create_database(pg_server_url, src_name)
    dst_url = make_url(src_url).set(database=dst_name).render_as_string(hide_password=False)
    engine = make_engine(src_url)
    try:
        upgrade(engine)
        load_demo(engine, requests=300)
        with engine.begin() as c:  # audited writes too, so the audit table is not empty
            c.execute(sa.text("INSERT INTO audit_event (action, entity, data) VALUES ('backup_test', 'x', '{}')"))
        yield src_url, dst_url, engine
    finally:
        engine.dispose()
        drop_database(pg_server_url, src_name)
        drop_database(pg_server_url, dst_name)


@pytest.fixture(scope="module")
def restored(databases, tmp_path_factory):
    src_url, dst_url, src = databases
    path = tmp_path_factory.mktemp("backup") / "nezam.dump"
    done = cli("dump", str(path), url=src_url)
    assert done.returncode == 0, done.stderr
    assert "dumped" in done.stdout
    done = cli("restore", str(path), "--create", url=dst_url)
    assert done.returncode == 0, done.stderr
    assert "every table's row count matches the dump" in done.stdout
    dst = make_engine(dst_url)
    yield src, dst, path
    dst.dispose()


def test_the_restored_database_has_every_row_of_every_table(restored):
    src, dst, _ = restored
    before, after = table_fingerprints(src), table_fingerprints(dst)
    assert set(before) == set(after) and len(before) >= 20
    assert after == before
    assert before["public.request"][0] == 300 and before["public.request_event"][0] > 300
    assert before["public.audit_event"][0] >= 1 and before["public.blob"][0] >= 1


def test_request_ids_and_versions_match(restored):
    src, dst, _ = restored
    sql = "SELECT count(*), md5(string_agg(id || ':' || version || ':' || stage_code, ',' ORDER BY id)) FROM request"
    with src.connect() as a, dst.connect() as b:
        assert a.execute(sa.text(sql)).one() == b.execute(sa.text(sql)).one()


def test_sequences_carry_on_where_they_were(restored):
    src, dst, _ = restored
    assert sequences(dst) == sequences(src) and len(sequences(src)) >= 15
    with dst.begin() as c:  # the next id handed out is past every restored row
        for table in ("request", "request_event", "member", "document", "audit_event", "stage_visit"):
            top = c.execute(sa.text(f"SELECT coalesce(max(id), 0) FROM {table}")).scalar()
            assert c.execute(sa.text(f"SELECT nextval(pg_get_serial_sequence('{table}', 'id'))")).scalar() > top


def test_the_append_only_triggers_survive_the_restore(restored):
    _, dst, _ = restored
    for stmt in ("UPDATE request_event SET reason = 'x' WHERE id = (SELECT min(id) FROM request_event)",
                 "DELETE FROM request_event WHERE id = (SELECT min(id) FROM request_event)",
                 "UPDATE audit_event SET action = 'x'", "TRUNCATE audit_event"):
        with pytest.raises(sa.exc.DBAPIError, match="append-only"):
            with dst.begin() as c:
                c.execute(sa.text(stmt))


def test_the_app_roles_grants_and_the_audit_chain_survive_the_restore(restored):
    """pg_restore leaves grants out (--no-privileges); the restore makes the app role's again."""
    from db.audit_chain import verify
    from db.engine import role_url
    from db.roles import APP_ROLE

    _, dst, _ = restored
    app = make_engine(role_url(dst.url.render_as_string(hide_password=False), APP_ROLE))
    try:
        with pytest.raises(sa.exc.DBAPIError, match="permission denied"), app.begin() as c:
            c.execute(sa.text("UPDATE audit_event SET action = 'x'"))
        assert verify(app).broken is None
        with app.begin() as c:
            c.execute(sa.text("INSERT INTO audit_event (action, entity) VALUES ('after_restore', 'x')"))
            assert c.execute(sa.text("SELECT count(*) FROM request")).scalar() == 300
        result = verify(app)
        assert result.broken is None and result.rows >= 2
    finally:
        app.dispose()


def test_the_manifest_describes_the_dump(restored):
    src, _, path = restored
    manifest = json.loads(backup.manifest_path(path).read_text())
    assert manifest["tables"] == {t: n for t, (n, _) in table_fingerprints(src).items()}
    assert manifest["server_major"] >= 15 and Path(manifest["pg_dump"]).name == "pg_dump"
    assert cli("verify", str(path), url="unused").returncode == 0
    # Every member's personal data is in there: only the owner may read the dump and its manifest.
    assert path.stat().st_mode & 0o777 == 0o600 and backup.manifest_path(path).stat().st_mode & 0o777 == 0o600


def test_a_damaged_dump_is_refused_before_anything_is_restored(restored, pg_server_url, tmp_path):
    _, _, path = restored
    broken = tmp_path / "broken.dump"
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    broken.write_bytes(bytes(data))
    backup.manifest_path(broken).write_text(backup.manifest_path(path).read_text())
    name = f"bk_bad_{uuid.uuid4().hex[:8]}"
    url = create_database(pg_server_url, name)
    try:
        done = cli("restore", str(broken), url=url)
        assert done.returncode == 1 and "damaged" in done.stderr
        engine = make_engine(url)
        with engine.connect() as c:
            assert backup.list_tables(c) == []
        engine.dispose()
    finally:
        drop_database(pg_server_url, name)


def test_a_target_that_is_not_empty_is_refused_unless_clean(restored, databases, pg_server_url):
    src, dst, path = restored
    _, dst_url, _ = databases
    with pytest.raises(backup.BackupError, match="already has"):
        backup.restore(path, dst_url)
    # --clean replaces the contents: a row added since the dump is gone, the rest is back.
    with dst.begin() as c:
        c.execute(sa.text("INSERT INTO audit_event (action, entity) VALUES ('after_dump', 'x')"))
    info = backup.restore(path, dst_url, clean=True)
    assert info.checked_against_manifest
    assert table_fingerprints(dst) == table_fingerprints(src)


def test_tools_are_chosen_for_the_server_version(databases):
    _, _, src = databases
    major = backup.server_major(src)
    tool = backup.find_tool("pg_dump", major)
    found = backup.available_tools("pg_dump")
    assert backup._major(tool) >= major
    assert all(v < major or v >= backup._major(tool) for v in found)  # the lowest usable one
    with pytest.raises(backup.BackupError, match="postgresql-client"):
        backup.find_tool("pg_dump", 99)


def test_connection_settings_reach_libpq_without_the_command_line():
    env = backup.libpq_env("postgresql://ops:s3cret@db.example:6543/nezam?sslmode=require")
    assert (env["PGHOST"], env["PGPORT"], env["PGUSER"], env["PGPASSWORD"], env["PGDATABASE"], env["PGSSLMODE"]) == \
        ("db.example", "6543", "ops", "s3cret", "nezam", "require")
    env = backup.libpq_env("postgresql+psycopg://postgres:@/postgres?host=/srv/pg")
    assert env["PGHOST"] == "/srv/pg" and "PGPASSWORD" not in env and "PGPORT" not in env


def _copy_with_manifest(path: Path, tmp_path: Path, manifest: dict) -> Path:
    copy = tmp_path / "copy.dump"
    copy.write_bytes(path.read_bytes())
    backup.manifest_path(copy).write_text(json.dumps(manifest))
    return copy


def test_a_signed_manifest_proves_its_origin_and_an_altered_one_is_refused(restored, tmp_path, monkeypatch):
    _, _, path = restored
    manifest = json.loads(backup.manifest_path(path).read_text())
    manifest["hmac"] = backup.manifest_hmac(manifest, b"k" * 8 + b"0123456789abcdef")
    monkeypatch.setenv("BACKUP_KEY", "kkkkkkkk0123456789abcdef")
    assert backup.verify(_copy_with_manifest(path, tmp_path, manifest))["hmac"] == manifest["hmac"]
    # Whoever can write the backup folder can rewrite the sha256 and the counts, but not the HMAC.
    forged = {**manifest, "tables": {**manifest["tables"], "public.audit_event": 0}}
    with pytest.raises(backup.BackupError, match="HMAC"):
        backup.verify(_copy_with_manifest(path, tmp_path, forged))
    monkeypatch.setenv("BACKUP_KEY", "another-key-0123456789")
    with pytest.raises(backup.BackupError, match="HMAC"):
        backup.verify(_copy_with_manifest(path, tmp_path, manifest))
    monkeypatch.delenv("BACKUP_KEY")
    with pytest.raises(backup.BackupError, match="BACKUP_KEY is not set"):
        backup.verify(_copy_with_manifest(path, tmp_path, manifest))


def test_with_a_key_set_an_unsigned_backup_is_refused(restored, monkeypatch):
    _, _, path = restored  # dumped without BACKUP_KEY
    monkeypatch.setenv("BACKUP_KEY", "kkkkkkkk0123456789abcdef")
    with pytest.raises(backup.BackupError, match="not signed"):
        backup.verify(path)


def test_a_dump_made_with_a_key_is_signed(databases, tmp_path, monkeypatch):
    src_url, _, _ = databases
    monkeypatch.setenv("BACKUP_KEY", "kkkkkkkk0123456789abcdef")
    info = backup.dump(src_url, tmp_path / "signed.dump")
    manifest = json.loads(backup.manifest_path(info.path).read_text())
    assert manifest["hmac"] == backup.manifest_hmac(manifest, b"kkkkkkkk0123456789abcdef")
    assert backup.verify(info.path)["sha256"] == info.sha256
