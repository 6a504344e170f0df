"""Small-cell suppression for published tables (statistical disclosure control).

The rule the board publishes with every release:

* a count from 1 to 4 (`is_small`) is never shown; it reads "<5" (*primary* suppression);
* where the table's totals are published, enough further cells are hidden (*complementary*
  suppression, shown as "×") that no hidden cell can be worked out exactly from the cells that
  are shown and the totals;
* zeros are shown: a zero says nobody is in the cell, which tells nothing about a person (and a
  published total already says when a whole row is empty). Zeros may still be hidden as
  complements, but only when no non-zero cell can do the job.

**Two-way tables** (`suppress_table`): an m×n table (m, n ≥ 2) whose row totals, column totals
and grand total are all published. Write the hidden cells as edges of a bipartite graph between
rows and columns. Knowing the shown cells and the totals is knowing, for every row and every
column, the sum of its hidden cells; the hidden values solving those equations differ from the
true ones exactly by the graph's *circulations* (alternating +t/−t around even cycles). So a
hidden cell is determined exactly by the totals if and only if its edge lies on no cycle, that is
if it is a *bridge* of the graph. (A hidden cell alone in its row or column is the simplest bridge;
the condition also catches the subtler linear combinations.) The algorithm: hide the small cells;
while some hidden cell is a bridge, hide the cheapest path of further cells that closes a cycle
through it (Dijkstra over the complete bipartite graph, hidden cells free, a non-zero cell costing
1 + its value so few and small cells are preferred, a zero cell costing far more). Each round
puts at least one more hidden cell on a cycle and adding cells never takes one off, so it ends,
and when it ends no hidden cell can be solved.

**One-way tables** (`suppress_vector`): categories with only the grand total published: a hidden
cell can be solved exactly if and only if it is the only hidden one, so a lone small cell gets one
partner (the smallest non-zero other cell).

`determined_cells` is the independent check (exact Gaussian elimination over the rationals): a
hidden cell is determined iff its unit vector lies in the row space of the published-sum
equations restricted to the hidden cells. The suppression functions run it before returning.
"""
from __future__ import annotations

import heapq
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from fractions import Fraction

SMALL_MIN, SMALL_MAX = 1, 4
SMALL_MARK = "<5"        # a count from 1 to 4
HIDDEN_MARK = "×"        # a cell hidden so that the totals cannot reveal a small one

Cell = tuple[int, int]

# Cost of hiding a zero as a complement: only when no path of non-zero cells exists.
_ZERO_COST = 10**12

SMALL_LABEL_FA = "کمتر از ۵"  # how a small count reads on screen ("<" would mirror in right-to-left text)
HIDDEN_LABEL_FA = "×"

RULE_FA = ("هر تعداد از ۱ تا ۴ نشان داده نمی‌شود و به جای آن «کمتر از ۵» (در فایل‌ها `<5`) می‌آید. در جدول‌هایی "
           "که جمع سطرها و ستون‌ها منتشر می‌شود، خانه‌های دیگری هم با نشان «×» پنهان می‌شوند تا هیچ عدد پنهانی "
           "را نتوان از روی خانه‌های پیدا و جمع‌ها به دست آورد. صفر نشان داده می‌شود، چون دربارهٔ هیچ کسی "
           "چیزی نمی‌گوید. جمع‌ها همان جمع واقعی‌اند. هیچ دادهٔ شخصی منتشر نمی‌شود.")


def is_small(value: int) -> bool:
    return SMALL_MIN <= value <= SMALL_MAX


@dataclass(frozen=True)
class Suppression:
    """Which cells to hide: `primary` are the small counts, `complementary` the cells hidden to
    protect them. Vectors use (i, 0)."""

    primary: frozenset[Cell]
    complementary: frozenset[Cell]

    @property
    def hidden(self) -> frozenset[Cell]:
        return self.primary | self.complementary

    def mark(self, cell: Cell) -> str | None:
        if cell in self.primary:
            return SMALL_MARK
        if cell in self.complementary:
            return HIDDEN_MARK
        return None


def _check_counts(values: Iterable[int]) -> None:
    for v in values:
        if isinstance(v, bool) or not isinstance(v, int) or v < 0:
            raise ValueError(f"counts must be non-negative ints, got {v!r}")


def _cost(value: int) -> int:
    return _ZERO_COST if value == 0 else 1 + value


# --- two-way tables -----------------------------------------------------------------------------

def _bridges(hidden: set[Cell], m: int, n: int) -> list[Cell]:
    """Hidden cells lying on no cycle of the rows–columns graph (Tarjan's bridge finding)."""
    adj: dict[int, list[tuple[int, Cell]]] = {v: [] for v in range(m + n)}
    for (i, j) in hidden:
        adj[i].append((m + j, (i, j)))
        adj[m + j].append((i, (i, j)))
    order: dict[int, int] = {}
    low: dict[int, int] = {}
    found: list[Cell] = []
    counter = 0
    for root in range(m + n):
        if root in order:
            continue
        order[root] = low[root] = counter
        counter += 1
        stack = [(root, None, iter(adj[root]))]
        while stack:
            v, via, it = stack[-1]
            advanced = False
            for w, edge in it:
                if edge == via:
                    continue
                if w in order:
                    low[v] = min(low[v], order[w])
                else:
                    order[w] = low[w] = counter
                    counter += 1
                    stack.append((w, edge, iter(adj[w])))
                    advanced = True
                    break
            if not advanced:
                stack.pop()
                if stack:
                    parent = stack[-1][0]
                    low[parent] = min(low[parent], low[v])
                    if low[v] > order[parent]:
                        found.append(via)
    return sorted(found)


def _cheapest_cycle_path(cells: Sequence[Sequence[int]], hidden: set[Cell], bridge: Cell) -> list[Cell]:
    """The cheapest set of cells joining the bridge's row to its column without the bridge itself."""
    m, n = len(cells), len(cells[0])
    source, target = bridge[0], m + bridge[1]
    dist = {source: 0}
    back: dict[int, tuple[int, Cell]] = {}
    heap = [(0, source)]
    while heap:
        d, v = heapq.heappop(heap)
        if v == target:
            break
        if d > dist.get(v, d):
            continue
        if v < m:  # a row: step to any column
            steps = [(m + j, (v, j)) for j in range(n)]
        else:      # a column: step to any row
            steps = [(i, (i, v - m)) for i in range(m)]
        for w, cell in steps:
            if cell == bridge:
                continue
            nd = d + (0 if cell in hidden else _cost(cells[cell[0]][cell[1]]))
            if nd < dist.get(w, nd + 1):
                dist[w] = nd
                back[w] = (v, cell)
                heapq.heappush(heap, (nd, w))
    path = []
    v = target
    while v != source:
        v, cell = back[v]
        path.append(cell)
    return path


def suppress_table(cells: Sequence[Sequence[int]]) -> Suppression:
    """Cells to hide in an m×n table (m, n ≥ 2) of non-negative counts whose row, column and grand
    totals are published: every small count, and complements so that none is solvable."""
    m = len(cells)
    n = len(cells[0]) if m else 0
    if m < 2 or n < 2 or any(len(row) != n for row in cells):
        raise ValueError("a two-way table needs at least 2 rows and 2 columns of equal length "
                         "(a single row's column totals would be its cells)")
    _check_counts(v for row in cells for v in row)
    primary = {(i, j) for i in range(m) for j in range(n) if is_small(cells[i][j])}
    hidden = set(primary)
    while bridges := _bridges(hidden, m, n):
        # Primary cells first, then complements left as bridges by earlier rounds (none, in fact:
        # every path closes a cycle through all its cells).
        bridge = min(bridges, key=lambda c: (c not in primary, c))
        hidden.update(_cheapest_cycle_path(cells, hidden, bridge))
    return _checked(Suppression(frozenset(primary), frozenset(hidden - primary)), table_sums(m, n))


# --- one-way tables -----------------------------------------------------------------------------

def suppress_vector(values: Sequence[int]) -> Suppression:
    """Cells (i, 0) to hide among categories whose grand total is published."""
    if len(values) < 2:
        raise ValueError("a one-way table needs at least 2 categories (the total would be its only cell)")
    _check_counts(values)
    primary = {(i, 0) for i, v in enumerate(values) if is_small(v)}
    complementary: set[Cell] = set()
    if len(primary) == 1:
        (only,) = primary
        partner = min((i for i in range(len(values)) if (i, 0) != only),
                      key=lambda i: (_cost(values[i]), i))
        complementary.add((partner, 0))
    return _checked(Suppression(frozenset(primary), frozenset(complementary)), vector_sums(len(values)))


# --- the check ----------------------------------------------------------------------------------

def _checked(result: Suppression, sums: Sequence[frozenset[Cell]]) -> Suppression:
    """Never publish a pattern the independent check can solve (kept even under python -O)."""
    if determined_cells(sums, result.hidden):
        raise RuntimeError("small-cell suppression left a cell that the totals determine")
    return result


def table_sums(m: int, n: int) -> list[frozenset[Cell]]:
    """The published sums of a two-way table: each row, each column, and the grand total."""
    rows = [frozenset((i, j) for j in range(n)) for i in range(m)]
    cols = [frozenset((i, j) for i in range(m)) for j in range(n)]
    return rows + cols + [frozenset((i, j) for i in range(m) for j in range(n))]


def vector_sums(k: int) -> list[frozenset[Cell]]:
    """The one published sum of a one-way table: its grand total."""
    return [frozenset((i, 0) for i in range(k))]


def determined_cells(sums: Sequence[frozenset[Cell]], hidden: Iterable[Cell]) -> set[Cell]:
    """Hidden cells whose value follows exactly from the published sums and the shown cells.

    Each published sum, minus the shown cells in it, is a linear equation over the hidden cells.
    A hidden cell is determined iff its unit vector is in the row space of those equations: reduce
    the equations to echelon form (exact fractions) and reduce each unit vector against them."""
    cols = sorted(set(hidden))
    index = {c: k for k, c in enumerate(cols)}
    rows = []
    for s in sums:
        row = [Fraction(0)] * len(cols)
        for c in s:
            if c in index:
                row[index[c]] = Fraction(1)
        if any(row):
            rows.append(row)
    basis: list[tuple[int, list[Fraction]]] = []  # (pivot column, row with 1 at the pivot)
    for row in rows:
        row = _reduce(row, basis)
        pivot = next((k for k, x in enumerate(row) if x), None)
        if pivot is None:
            continue
        row = [x / row[pivot] for x in row]
        basis.append((pivot, row))
    solved = set()
    for c, k in index.items():
        unit = [Fraction(0)] * len(cols)
        unit[k] = Fraction(1)
        if not any(_reduce(unit, basis)):
            solved.add(c)
    return solved


def _reduce(row: list[Fraction], basis: list[tuple[int, list[Fraction]]]) -> list[Fraction]:
    row = list(row)
    for pivot, b in basis:
        if row[pivot]:
            factor = row[pivot]
            row = [x - factor * y for x, y in zip(row, b)]
    return row
