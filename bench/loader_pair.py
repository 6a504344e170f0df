"""The demo loader side by side with an older one, in one sitting (issue #15 item 3): each into a new
database on one server, migrated by its own tree, timed as a separate process.

    python -m bench.loader_pair --server-url postgresql+psycopg://postgres@127.0.0.1:5432/postgres
                                [--old 0082c28] [--requests 1000000] [--members 400000] [--rounds 1]

The old commit is checked out in a temporary git worktree; its loader is `python -m demo`, or
`python -m db.demo` where the tree has no `demo/` package (before issue [1/6]). Both run with this
interpreter and `APP_MODE=demo`; each round runs old, then new. Prints per run the wall and CPU
(user) time of the loader's process and its workers, the loader's own phase lines (chunks written,
waiting for chunks, in COPY, indexes), and the median ratio new / old. The databases are dropped at
the end. Measure on a quiet machine: a second job on two cores moves the figure by a quarter.
"""
from __future__ import annotations

import argparse
import os
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.run import drop_database, throwaway_database

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_OLD = "0082c28"  # the last commit before issue [1/6]: the loader the issue compares with
_PHASES = re.compile(r"(\d+/\d+ chunks in .*|\d+ indexes rebuilt at .*)")


def _loader_module(tree: Path) -> str:
    return "demo" if (tree / "demo" / "__main__.py").exists() else "db.demo"


def _run(tree: Path, url: str, requests: int, members: int) -> dict:
    """Migrate a new database with `tree`'s migrations, then load it with `tree`'s loader; the
    loader's wall time and the CPU time of its process tree."""
    env = {**os.environ, "APP_MODE": "demo", "DATABASE_URL": url, "MIGRATION_DATABASE_URL": url}
    subprocess.run([sys.executable, "-m", "db.migrate", "upgrade"], cwd=tree, env=env, check=True,
                   stdout=subprocess.DEVNULL)
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", _loader_module(tree), "--requests", str(requests),
                           "--members", str(members), "--database-url", url],
                          cwd=tree, env=env, check=True, capture_output=True, text=True)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return {"wall_s": round(wall, 1), "user_s": round(after.ru_utime - before.ru_utime, 1),
            "phases": _PHASES.findall(done.stdout)[-2:]}


def _commit(tree: Path) -> str:
    return subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=tree, capture_output=True, text=True,
                          check=True).stdout.strip()


def pair(server_url: str, old: str, requests: int, members: int, rounds: int, say=print) -> float:
    """Run the pair `rounds` times; returns the median ratio of the new loader's wall time to the old's."""
    ratios = []
    with tempfile.TemporaryDirectory(prefix="loader-pair-") as tmp:
        old_tree = Path(tmp) / "old"
        subprocess.run(["git", "worktree", "add", "--detach", "-q", str(old_tree), old], cwd=ROOT, check=True)
        try:
            trees = {"old": old_tree, "new": ROOT}
            say(f"old {_commit(old_tree)} ({_loader_module(old_tree)}), new {_commit(ROOT)} "
                f"({_loader_module(ROOT)}, with the working tree's changes); {requests:,} requests, "
                f"{members:,} members")
            for k in range(rounds):
                walls = {}
                for which, tree in trees.items():
                    name, url = throwaway_database(server_url)
                    try:
                        result = _run(tree, url, requests, members)
                    finally:
                        drop_database(server_url, name)
                    walls[which] = result["wall_s"]
                    say(f"  round {k + 1} {which}: wall {result['wall_s']} s, user {result['user_s']} s; "
                        + "; ".join(result["phases"]))
                ratios.append(walls["new"] / walls["old"])
                say(f"  round {k + 1}: new / old = {ratios[-1]:.2f}")
        finally:
            subprocess.run(["git", "worktree", "remove", "--force", str(old_tree)], cwd=ROOT, check=False)
    median = statistics.median(ratios)
    say(f"median new / old over {rounds} round(s): {median:.2f}")
    return median


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.loader_pair", description=__doc__.split("\n")[0])
    parser.add_argument("--server-url", required=True,
                        help="a superuser connection to the server (its database only creates and drops others)")
    parser.add_argument("--old", default=DEFAULT_OLD, help=f"the commit to compare with (default {DEFAULT_OLD})")
    parser.add_argument("--requests", type=int, default=1_000_000)
    parser.add_argument("--members", type=int, default=400_000)
    parser.add_argument("--rounds", type=int, default=1)
    args = parser.parse_args(argv)
    pair(args.server_url, args.old, args.requests, args.members, args.rounds)
    return 0


if __name__ == "__main__":
    sys.exit(main())
