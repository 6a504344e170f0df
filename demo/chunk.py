"""One chunk of the load: a range of members and the requests of exactly those members, as COPY
text. A chunk is self-contained (a renewal can update its member's validity before the member row
is written) and seeded from (seed, chunk number), so the output does not depend on how many worker
processes built the chunks.
"""
from __future__ import annotations

import gc
import random

import jdatetime

from demo.context import Context, chunk_bounds
from demo.documents import RequestContents
from demo.histories import Histories
from demo.people import MemberRows, generate_members
from demo.plan import Planner
from demo.rows import COPY_TABLES
from domain.calendar import to_wall


class ChunkBuilder(Planner, Histories, RequestContents, MemberRows):
    """Builds all rows of one chunk as COPY text: `ChunkBuilder(ctx, c).build()`."""

    def __init__(self, ctx: Context, c: int) -> None:
        self.ctx = ctx
        self.c = c
        self.rng = random.Random(ctx.seed * 1_000_003 + c)
        self.m_lo, self.m_hi = chunk_bounds(ctx.n_members, ctx.n_chunks, c)
        self.r_lo, self.r_hi = chunk_bounds(ctx.n_requests, ctx.n_chunks, c)
        self.out: dict[str, list[str]] = {table: [] for table, _ in COPY_TABLES}
        self._random = self.rng.random
        self._now = to_wall(ctx.now)
        self._start = to_wall(ctx.start)
        # the plan's caches
        self._paths: dict[tuple, object] = ctx.cache("paths")
        self._actor_pools: dict[tuple, tuple[int, ...]] = ctx.cache("actor_pools")
        self._spans: dict[int, tuple[float, float]] = {}
        self._anchors: dict[int, int] = {}
        self._doc_columns: dict[str, tuple] = {}
        self._held: dict[tuple[int, str], list] = {}   # (member, licence kind) -> its licences (demo.people)
        self._init_histories()

    # Faster than random.choice / randrange / randint, which the generator calls millions of times.
    def pick(self, seq):
        return seq[int(self._random() * len(seq))]

    def below(self, n: int) -> int:
        return int(self._random() * n)

    def between(self, a: int, b: int) -> int:
        """An integer in [a, b]."""
        return a + int(self._random() * (b - a + 1))

    # ---- entry point
    def build(self) -> tuple[dict[str, bytes], dict[str, int]]:
        # A chunk is millions of small tuples and strings, none of them in a reference cycle: the
        # cyclic garbage collector would only rescan the growing lists again and again (about 8 %
        # of the time). Reference counting still frees everything.
        collecting = gc.isenabled()
        gc.disable()
        # jdatetime asks the C library for the current locale on every date it makes, unless its
        # own (thread-local) locale is set; the Jalali dates the rules make (a tracking code, a
        # renewal window) are the same either way.
        locale = jdatetime.set_locale(jdatetime.FA_LOCALE)
        try:
            return self._build()
        finally:
            jdatetime.set_locale(locale)
            if collecting:
                gc.enable()

    def _build(self) -> tuple[dict[str, bytes], dict[str, int]]:
        ctx, rng = self.ctx, self.rng
        n_req = self.r_hi - self.r_lo
        specs = self._specs(n_req)
        n_new = sum(1 for s in specs if s.type_code == "new_membership")
        count = self.m_hi - self.m_lo
        pool = min(n_new, count // 2)
        self.members = generate_members(ctx, rng, self.m_lo, self.m_hi, pool)
        self._assign_members(specs)
        for spec in specs:
            self._plan(spec)
        # Requests are numbered and run in submission order, so a member's later renewal starts
        # from the validity the earlier one gave.
        specs.sort(key=lambda s: s.start_hint)
        # Each phase runs over every request before the next starts: the replay is long enough that
        # its code and data would push the timeline's out of the processor's caches.
        calendars, pids = ctx.calendars, self.members.pid
        timelines = [self._fit_timeline(spec, calendars[pids[spec.member]]) for spec in specs]
        for k, (spec, timeline) in enumerate(zip(specs, timelines)):
            self._emit_request(self.r_lo + k + 1, spec, timeline)  # the request table starts empty
        self.emit_members()
        data = {table: "".join(lines).encode() for table, lines in self.out.items() if lines}
        return data, {table: len(lines) for table, lines in self.out.items()}

