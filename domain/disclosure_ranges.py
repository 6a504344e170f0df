"""What a reader can work out from a published table, exactly: the attack the suppression must defeat.

A published table is its *entries* in extended coordinates: for an m×n two-way table the body cells
(i, j), the row totals (i, n), the column totals (m, j) and the grand total (m, n); for k categories
the cells (i, 0) and the total (k, 0). Each entry is either shown (an int) or hidden (one mark, so
the reader learns nothing about it but "hidden"). The reader knows the table's *equations* (every
line of the body adds up to its total, the totals add up to the grand total) and that every entry is
a non-negative whole number. `feasible_ranges` gives, for every hidden entry, the least and the
greatest value it takes over all tables the reader cannot tell from the true one: integer programs
solved by SciPy's `milp` (HiGHS), one minimisation and one maximisation per hidden entry.

The protection rule (`protected`) judges each hidden entry by that range [lo, hi]:

* a count from 1 to 4 (body cell or total) needs lo = 0 and hi ≥ 5: the published figures are
  consistent with the entry being empty and with it being 5 or more, so they say no more about it
  than the mark does (the mark stands for "0, 1–4 or 5 and over"; a narrower range would say
  "somebody is there" or "only a few are there");
* any other hidden entry needs lo < hi: it cannot be worked out exactly.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

import numpy as np
from scipy.optimize import Bounds, LinearConstraint, milp

SMALL_MIN, SMALL_MAX = 1, 4
SAFE_MIN = SMALL_MAX + 1

Cell = tuple[int, int]
# An equation of a published table: the parts add up to the whole.
Equation = tuple[tuple[Cell, ...], Cell]


def is_small(value: int) -> bool:
    return SMALL_MIN <= value <= SMALL_MAX


def table_equations(m: int, n: int) -> list[Equation]:
    """An m×n body with its row totals (column n), column totals (row m) and grand total (m, n)."""
    rows = [(tuple((i, j) for j in range(n)), (i, n)) for i in range(m + 1)]   # row m: column totals
    cols = [(tuple((i, j) for i in range(m)), (m, j)) for j in range(n + 1)]   # column n: row totals
    return rows + cols


def vector_equations(k: int) -> list[Equation]:
    """k categories (i, 0) with their total (k, 0)."""
    return [(tuple((i, 0) for i in range(k)), (k, 0))]


def protected(true_value: int, lo: int, hi: int | None) -> bool:
    """The rule for one hidden entry whose feasible range is [lo, hi] (hi None: unbounded)."""
    top = float("inf") if hi is None else hi
    if is_small(true_value):
        return lo == 0 and top >= SAFE_MIN
    return lo < top


class _Reader:
    """The integer program of a published table: variables are its hidden entries."""

    def __init__(self, published: Mapping[Cell, int | None], equations: Sequence[Equation]):
        self.hidden = sorted(c for c, v in published.items() if v is None)
        self.col = {c: k for k, c in enumerate(self.hidden)}
        a = np.zeros((len(equations), len(self.hidden)))
        b = np.zeros(len(equations))
        for r, (parts, whole) in enumerate(equations):
            for c, sign in [(p, 1.0) for p in parts] + [(whole, -1.0)]:
                if c in self.col:
                    a[r, self.col[c]] += sign
                else:
                    b[r] -= sign * published[c]
        # A box that any bounded maximum lies strictly inside: a bounded hidden entry never exceeds
        # the sum of the shown entries (the cut that bounds it is closed by shown entries alone).
        self.cap = sum(v for v in published.values() if v is not None) + SAFE_MIN + 1
        self.constraints = LinearConstraint(a, b, b)
        self.integrality = np.ones(len(self.hidden))
        self.bounds = Bounds(np.zeros(len(self.hidden)), np.full(len(self.hidden), self.cap))

    def least(self, c: Cell) -> int:
        return self._solve(c, 1.0)

    def greatest(self, c: Cell) -> int | None:
        top = self._solve(c, -1.0)
        return None if top >= self.cap else top

    def _solve(self, c: Cell, sign: float) -> int:
        objective = np.zeros(len(self.hidden))
        objective[self.col[c]] = sign
        res = milp(objective, constraints=self.constraints, integrality=self.integrality, bounds=self.bounds)
        if res.status != 0:
            raise RuntimeError(f"the published table has no solution ({res.message})")
        return round(res.x[self.col[c]])


def feasible_ranges(published: Mapping[Cell, int | None], equations: Sequence[Equation]
                    ) -> dict[Cell, tuple[int, int | None]]:
    """For each hidden entry (value None), its least and greatest value over all non-negative
    integer tables that satisfy the equations and agree with every shown entry. The greatest is
    None when nothing bounds it (a hidden grand total, say)."""
    reader = _Reader(published, equations)
    return {c: (reader.least(c), reader.greatest(c)) for c in reader.hidden}


def unprotected(values: Mapping[Cell, int], hidden: Iterable[Cell], equations: Sequence[Equation]
                ) -> dict[Cell, tuple[int, int | None]]:
    """Hidden entries the rule does not accept, with the range a reader can narrow each to. The
    true value lies in its range, so a count of 5 or more (or a zero) above its least value is
    not pinned and needs no maximisation."""
    hidden = set(hidden)
    reader = _Reader({c: (None if c in hidden else v) for c, v in values.items()}, equations)
    out = {}
    for c in reader.hidden:
        lo = reader.least(c)
        if not is_small(values[c]) and lo < values[c]:
            continue
        hi = reader.greatest(c)
        if not protected(values[c], lo, hi):
            out[c] = (lo, hi)
    return out
