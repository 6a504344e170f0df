"""Attack published tables the way a reader could: suppress seeded random tables, publish them with
the one mark, and solve each published grid exactly (SciPy's `milp`) for the least and greatest
value of every hidden entry. Counts the entries narrowed further than the rule allows.

    python -m bench.disclosure_attack [--tables 10000] [--seed 20261202] [--guard]

Without --guard the suppression skips its own exact check (the reader here is that check, done
independently); with it, the timing is what composing a release pays.

The reader here is written from the published grid alone (rows and columns add up to their last
entry, counts are whole and not negative), apart from the suppression's own check in
`domain.disclosure_ranges`. tests/domain/test_disclosure.py uses it on fewer tables.
"""
from __future__ import annotations

import argparse
import random
import sys
import time

import numpy as np
from scipy.optimize import Bounds, LinearConstraint, milp

from domain.disclosure import MARK, Suppression, is_mark, suppress_table, suppress_vector

# Shapes of the published tables (fields × grades, fields × with/without licence) and a little wider.
ROWS, COLS = (2, 8), (2, 4)


def random_counts(rng: random.Random, k: int) -> list[int]:
    """Counts as they come in provincial tables: many zeros and small numbers, some large ones."""
    kind = rng.random()
    if kind < 0.4:
        return [rng.choice([0, 0, 1, 1, 2, 3, 4, 5, 6, 8]) for _ in range(k)]
    if kind < 0.8:
        return [rng.choice([0, 1, 2, 3, 4, rng.randint(5, 60)]) for _ in range(k)]
    return [rng.randint(0, 200) if rng.random() < 0.7 else rng.randint(1, 4) for _ in range(k)]


def random_table(rng: random.Random) -> list[list[int]]:
    m, n = rng.randint(*ROWS), rng.randint(*COLS)
    flat = random_counts(rng, m * n)
    return [flat[i * n:(i + 1) * n] for i in range(m)]


def extended(cells):
    """The table with its row totals (last column), column totals and grand total (last row)."""
    n = len(cells[0])
    return ([list(r) + [sum(r)] for r in cells]
            + [[sum(r[j] for r in cells) for j in range(n)] + [sum(map(sum, cells))]])


def publish(cells, sup: Suppression):
    return [[MARK if (i, j) in sup.hidden else v for j, v in enumerate(row)]
            for i, row in enumerate(extended(cells))]


class Reader:
    """The integer program a reader of a published grid solves. lines="both": each row and each
    column adds up to its last entry (a two-way table); "columns": only the one column does
    (categories and their total)."""

    def __init__(self, grid, *, lines: str = "both"):
        rows, cols = len(grid), len(grid[0])
        self.hidden = [(i, j) for i in range(rows) for j in range(cols) if is_mark(grid[i][j])]
        self.var = {c: k for k, c in enumerate(self.hidden)}
        lines_ = [[(i, j) for j in range(cols)] for i in range(rows)] if lines == "both" else []
        lines_ += [[(i, j) for i in range(rows)] for j in range(cols)]
        a, b = [], []
        for line in lines_:  # the parts minus the whole (the line's last entry) are zero
            row, rhs = np.zeros(len(self.hidden)), 0.0
            for k, c in enumerate(line):
                sign = -1.0 if k == len(line) - 1 else 1.0
                if c in self.var:
                    row[self.var[c]] += sign
                else:
                    rhs -= sign * grid[c[0]][c[1]]
            a.append(row)
            b.append(rhs)
        self.cap = 10 * sum(v for r in grid for v in r if not is_mark(v)) + 100  # beyond any bounded maximum
        self.constraints = LinearConstraint(np.array(a), b, b) if a else None
        self.solves = 0

    def least(self, c) -> int:
        return self._solve(c, 1)

    def greatest(self, c) -> int | None:
        top = self._solve(c, -1)
        return None if top >= self.cap else top

    def _solve(self, c, sign) -> int:
        objective = np.zeros(len(self.hidden))
        objective[self.var[c]] = sign
        res = milp(objective, constraints=self.constraints, integrality=np.ones(len(self.hidden)),
                   bounds=Bounds(0, self.cap))
        self.solves += 1
        if res.status != 0:
            raise AssertionError(f"the published grid has no solution: {res.message}")
        return round(res.x[self.var[c]])


def reader_ranges(grid, **kw) -> dict[tuple[int, int], tuple[int, int | None]]:
    """What a reader narrows each hidden entry of a published grid to: (lo, hi), hi None when
    unbounded."""
    reader = Reader(grid, **kw)
    return {c: (reader.least(c), reader.greatest(c)) for c in reader.hidden}


def narrowed(truth, grid, **kw) -> dict:
    """Hidden entries narrowed too far: pinned to one value, or a count 1–4 whose range leaves out
    0 or leaves out 5. (The truth lies in its range: an entry that is not 1–4 and lies above its
    least value is not pinned, and needs no second solve.)"""
    reader = Reader(grid, **kw)
    bad = {}
    for (i, j) in reader.hidden:
        v = truth[i][j]
        lo = reader.least((i, j))
        if not 1 <= v <= 4 and lo < v:
            continue
        hi = reader.greatest((i, j))
        top = float("inf") if hi is None else hi
        if lo == top or (1 <= v <= 4 and (lo > 0 or top < 5)):
            bad[i, j] = (lo, hi)
    return bad


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tables", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=20261202)
    parser.add_argument("--guard", action="store_true", help="run the suppression's own milp check too")
    args = parser.parse_args()
    rng = random.Random(args.seed)
    entries = hidden = bad_tables = 0
    suppress_s = attack_s = 0.0
    for k in range(args.tables):
        vector = k % 5 == 4  # one table in five is a list of categories with its total
        cells = random_counts(rng, rng.randint(2, 10)) if vector else random_table(rng)
        t0 = time.perf_counter()
        sup = (suppress_vector if vector else suppress_table)(cells, guard=args.guard)
        t1 = time.perf_counter()
        if vector:
            truth = [[v] for v in cells] + [[sum(cells)]]
            grid = [[MARK if (i, 0) in sup.hidden else row[0]] for i, row in enumerate(truth)]
            bad = narrowed(truth, grid, lines="columns")
        else:
            truth, grid = extended(cells), publish(cells, sup)
            bad = narrowed(truth, grid)
        attack_s += time.perf_counter() - t1
        suppress_s += t1 - t0
        entries += sum(map(len, grid))
        hidden += len(sup.hidden)
        if bad:
            bad_tables += 1
            print("NARROWED", cells, bad)
        if (k + 1) % 1000 == 0:
            print(f"... {k + 1} tables, {bad_tables} narrowed", file=sys.stderr, flush=True)
    print(f"tables: {args.tables} (seed {args.seed}), entries: {entries}, hidden: {hidden} "
          f"({100 * hidden / max(entries, 1):.1f}%)")
    print(f"tables with a hidden entry narrowed beyond the rule: {bad_tables}")
    guard = "with" if args.guard else "without"
    print(f"suppression ({guard} its milp guard): {suppress_s:.1f} s, {1000 * suppress_s / args.tables:.1f} ms/table; "
          f"independent exact reader: {attack_s:.1f} s")


if __name__ == "__main__":
    main()
