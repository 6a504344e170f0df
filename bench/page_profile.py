"""Where a page's server time goes: cProfile of one AppTest script run of a page (issue #18).

    python -m bench.page_profile --database-url URL --page kpi --user central.manager [--top 25]

The page is opened once (imports, caches), then the run that opens it in a new session is profiled;
the top functions by cumulative time are printed.
"""
from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import time

from bench.run import ROOT

FILES = {"home": "pages/home.py", "queue": "pages/queue.py", "request": "pages/request.py",
         "member": "pages/member.py", "kpi": "pages/kpi.py", "analytics": "pages/analytics.py",
         "public": "pages/public_stats.py"}


def _open(url: str, page: str, user: str | None, query: dict):
    from streamlit.testing.v1 import AppTest

    from tests.apptest import sign_in

    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=300)
    if user:
        sign_in(at, url, user)
    for k, v in query.items():
        at.query_params[k] = v
    at.run()
    at.switch_page(FILES[page])
    for k, v in query.items():
        at.query_params[k] = v
    return at


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.page_profile", description=__doc__.split("\n")[0])
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--page", choices=sorted(FILES), required=True)
    parser.add_argument("--user", default=None, help="a demo username (none: signed out, for the public page)")
    parser.add_argument("--query", action="append", default=[], metavar="K=V")
    parser.add_argument("--top", type=int, default=25)
    args = parser.parse_args(argv)
    os.environ.update(DATABASE_URL=args.database_url, APP_MODE="demo", APPTEST="1")
    query = dict(q.split("=", 1) for q in args.query)
    _open(args.database_url, args.page, args.user, query).run()  # warm: imports, engine, caches
    at = _open(args.database_url, args.page, args.user, query)
    profile = cProfile.Profile()
    # The script runs on AppTest's script thread: profile there.
    from streamlit.runtime.scriptrunner.script_runner import ScriptRunner

    original = ScriptRunner._run_script

    def profiled(self, *a, **kw):
        profile.enable()
        try:
            return original(self, *a, **kw)
        finally:
            profile.disable()

    ScriptRunner._run_script = profiled
    start = time.perf_counter()
    at.run()
    print(f"{args.page}: {(time.perf_counter() - start) * 1000:.0f} ms (one script run, profiled)")
    if at.exception:
        print("exception:", at.exception[0].message)
    pstats.Stats(profile).sort_stats("cumulative").print_stats(args.top)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
