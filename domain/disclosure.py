"""Small-cell suppression for published tables (statistical disclosure control).

The rule the board publishes with every release:

* a count from 1 to 4 is never shown, in the body or among the totals (*primary* suppression);
* every hidden entry carries the same mark, «×», so the mark does not say which hidden entries are
  small (a mark of their own would let the totals solve them: «<5» is 1–4, «×» is then 0 or ≥ 5);
* further entries are hidden (*complementary* suppression: cells first, zeros and totals only when
  nothing else does) until the protection rule of `domain.disclosure_ranges` holds: from the shown
  entries, the equations of the table and non-negativity, a reader can narrow no hidden count of
  1–4 to a range that leaves out 0 or leaves out 5, and no hidden entry at all to a single value;
* zeros are shown when they need not be hidden: a zero says nobody is in the cell.

How the complements are chosen. A table with its totals is a flow network: a source S feeds each
row node by the row total, row i sends cell (i, j) to column j, each column sends its total to a
sink K, and K returns the grand total to S (k categories: S sends each category to K, K returns the
total). Tables a reader cannot tell from the true one are exactly the circulations that keep every
shown entry and every entry non-negative. So lowering a hidden entry u→w by d is possible iff d
units can go from u to w through the other hidden entries, each of which may carry any amount more
than it does (forward) or give back up to its value (backward); raising it by d is the same from w
to u. The greedy loop asks these questions with SciPy's maximum flow (capacities clipped at 5, which
keeps every answer the rule needs exact). For the first unmet requirement it hides the cheapest
path of entries that meets it (Dijkstra: hidden entries free, a cell 1 + its value, a zero much
more, a total far more); hiding more never narrows a range, so a requirement once met stays met and
the loop ends. Last, `disclosure_ranges.unprotected` solves the published table exactly with
`milp`, and nothing is returned that it can narrow.
"""
from __future__ import annotations

import heapq
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import maximum_flow

from domain.disclosure_ranges import (SAFE_MIN, SMALL_MAX, SMALL_MIN, Cell, Equation, is_small, table_equations,
                                      unprotected, vector_equations)

__all__ = ["SMALL_MIN", "SMALL_MAX", "SAFE_MIN", "MARK", "LEGACY_SMALL_MARK", "MARK_LABEL_FA", "RULE_FA", "Cell",
           "is_small", "is_mark", "Suppression", "UnprotectedTable", "suppress_table", "suppress_vector"]

MARK = "×"               # every hidden entry, small or not
LEGACY_SMALL_MARK = "<5"  # written by releases published before the one-mark rule; read as MARK
MARK_LABEL_FA = "×"

RULE_FA = ("هیچ تعداد ۱ تا ۴، چه در خانه‌های جدول و چه در جمع‌ها، نشان داده نمی‌شود. همهٔ خانه‌های پنهان یک "
           "نشان دارند، «×»، که ممکن است صفر، ۱ تا ۴ یا ۵ و بیشتر باشد. خانه‌ها و در صورت نیاز جمع‌های دیگری هم "
           "پنهان می‌شوند تا از روی خانه‌های پیدا و جمع‌ها نتوان هیچ عدد پنهانی را دقیق به دست آورد و نتوان دربارهٔ "
           "هیچ تعداد ۱ تا ۴ نتیجه گرفت که صفر نیست یا کمتر از ۵ است. صفرها تا جای ممکن نشان داده می‌شوند. هیچ "
           "دادهٔ شخصی منتشر نمی‌شود.")

# Costs of hiding a shown entry as a complement: a cell 1 + its value; zeros and totals only when
# no path of non-zero cells does the job (a total is what readers use most).
_ZERO_COST = 10**4
_TOTAL_COST = 10**6
_GRAND_COST = 10**8


def is_mark(value) -> bool:
    return value == MARK or value == LEGACY_SMALL_MARK


class UnprotectedTable(RuntimeError):
    """The exact check could narrow a hidden entry: the table must not be published."""


@dataclass(frozen=True)
class Suppression:
    """Which entries to hide, in extended coordinates (totals in row m / column n; a vector's total
    at (k, 0)): `primary` the counts 1–4, `complementary` the entries hidden to protect them."""

    primary: frozenset[Cell]
    complementary: frozenset[Cell]

    @property
    def hidden(self) -> frozenset[Cell]:
        return self.primary | self.complementary

    def shown(self, cell: Cell, value: int) -> int | str:
        return MARK if cell in self.hidden else value


@dataclass(frozen=True)
class _Network:
    values: dict[Cell, int]
    arcs: dict[Cell, tuple[int, int]]   # entry -> (tail, head)
    nodes: int
    cost: dict[Cell, int]
    equations: list[Equation]


def _check_counts(values: Iterable[int]) -> None:
    for v in values:
        if isinstance(v, bool) or not isinstance(v, int) or v < 0:
            raise ValueError(f"counts must be non-negative ints, got {v!r}")


def _cell_cost(value: int) -> int:
    return _ZERO_COST if value == 0 else 1 + value


def _table_network(cells: Sequence[Sequence[int]]) -> _Network:
    m, n = len(cells), len(cells[0])
    source, sink = 0, 1 + m + n
    row, col = (lambda i: 1 + i), (lambda j: 1 + m + j)
    values, arcs, cost = {}, {}, {}
    for i in range(m):
        for j in range(n):
            values[i, j], arcs[i, j], cost[i, j] = cells[i][j], (row(i), col(j)), _cell_cost(cells[i][j])
        values[i, n], arcs[i, n], cost[i, n] = sum(cells[i]), (source, row(i)), _TOTAL_COST
    for j in range(n):
        values[m, j], arcs[m, j], cost[m, j] = sum(r[j] for r in cells), (col(j), sink), _TOTAL_COST
    values[m, n], arcs[m, n], cost[m, n] = sum(map(sum, cells)), (sink, source), _GRAND_COST
    return _Network(values, arcs, m + n + 2, cost, table_equations(m, n))


def _vector_network(counts: Sequence[int]) -> _Network:
    k = len(counts)
    values = {(i, 0): v for i, v in enumerate(counts)} | {(k, 0): sum(counts)}
    arcs = {(i, 0): (0, 1) for i in range(k)} | {(k, 0): (1, 0)}
    cost = {(i, 0): _cell_cost(v) for i, v in enumerate(counts)} | {(k, 0): _GRAND_COST}
    return _Network(values, arcs, 2, cost, vector_equations(k))


def _can_move(net: _Network, hidden: set[Cell], entry: Cell, start: int, end: int, need: int) -> bool:
    """Can `need` units go from `start` to `end` through the hidden entries other than `entry`?"""
    if need <= 0:
        return True
    if start == end:
        return True
    tails, heads, caps = [], [], []
    for c in hidden:
        if c == entry:
            continue
        t, h = net.arcs[c]
        tails += [t, h]
        heads += [h, t]
        # Forward: any amount more; backward: at most the value. Clipping at SAFE_MIN keeps every
        # answer for need ≤ SAFE_MIN exact (a cut of clipped capacities falls short of `need` only
        # if every arc in it already did) and the sums far from int32 limits.
        caps += [SAFE_MIN, min(net.values[c], SAFE_MIN)]
    if not tails:
        return False
    graph = csr_matrix((np.array(caps, dtype=np.int32), (tails, heads)), shape=(net.nodes, net.nodes))
    return maximum_flow(graph, start, end).flow_value >= need


def _requirements(net: _Network, entry: Cell, primary: frozenset[Cell]) -> list[list[tuple[int, int, int]]]:
    """What the rule asks of a hidden entry, as alternatives of moves (start, end, units) that must
    all be possible: a small count must be able to fall to 0 and rise to 5; any other must be able
    to move at all (rise by one, or fall by one)."""
    t, h = net.arcs[entry]
    v = net.values[entry]
    if entry in primary:
        return [[(t, h, v), (h, t, SAFE_MIN - v)]]
    return [[(h, t, 1)], [(t, h, 1)]] if v else [[(h, t, 1)]]


def _met(net: _Network, hidden: set[Cell], entry: Cell, primary: frozenset[Cell]) -> bool:
    return any(all(_can_move(net, hidden, entry, s, e, d) for s, e, d in moves)
               for moves in _requirements(net, entry, primary))


def _cheapest_path(net: _Network, hidden: set[Cell], entry: Cell, start: int, end: int, need: int,
                   *, must_add: bool = False) -> list[Cell] | None:
    """The cheapest set of shown entries whose hiding opens a route of `need` units from start to
    end (each backward step through an entry holding at least `need`). With `must_add`, the route
    must use at least one shown entry (the hidden ones already give what they can)."""
    steps: dict[int, list[tuple[int, Cell]]] = {v: [] for v in range(net.nodes)}
    for c, (t, h) in net.arcs.items():
        if c == entry:
            continue
        steps[t].append((h, c))
        if net.values[c] >= need:
            steps[h].append((t, c))
    goal = (end, must_add)
    first = (start, False)
    dist = {first: 0}
    back: dict[tuple[int, bool], tuple[tuple[int, bool], Cell]] = {}
    heap = [(0, first)]
    while heap:
        d, state = heapq.heappop(heap)
        if state == goal:
            break
        if d > dist[state]:
            continue
        node, added = state
        for nxt, c in steps[node]:
            fresh = c not in hidden
            nstate = (nxt, must_add and (added or fresh))
            nd = d + (net.cost[c] if fresh else 0)
            if nd < dist.get(nstate, nd + 1):
                dist[nstate] = nd
                back[nstate] = (state, c)
                heapq.heappush(heap, (nd, nstate))
    if goal not in dist:
        return None
    path, state = [], goal
    while state != first:
        state, c = back[state]
        path.append(c)
    return [c for c in path if c not in hidden]


def _fix(net: _Network, hidden: set[Cell], entry: Cell, primary: frozenset[Cell]) -> set[Cell]:
    """Shown entries to hide so that the entry's first unmet move becomes possible."""
    options = []
    for moves in _requirements(net, entry, primary):
        added: set[Cell] = set()
        for s, e, d in moves:
            if _can_move(net, hidden | added, entry, s, e, d):
                continue
            path = _cheapest_path(net, hidden | added, entry, s, e, d)
            if path is None:  # no single route carries it all: open one more route and ask again
                path = _cheapest_path(net, hidden | added, entry, s, e, 1, must_add=True)
            if path is None:
                added = set(net.values) - hidden
                break
            added |= set(path)
            break  # one step at a time: the loop asks again
        options.append(added)
    return min(options, key=lambda a: (sum(net.cost[c] for c in a), sorted(a)))


def _suppress(net: _Network, *, guard: bool = True) -> Suppression:
    primary = frozenset(c for c, v in net.values.items() if is_small(v))
    hidden = set(primary)
    met: set[Cell] = set()
    while True:
        order = sorted(hidden - met, key=lambda c: (c not in primary, c))
        pending = next((c for c in order if not _met(net, hidden, c, primary)), None)
        met |= set(order[:order.index(pending)] if pending is not None else order)
        if pending is None:
            break
        added = _fix(net, hidden, pending, primary)
        if not added:  # cannot happen: an unmet move always has a route through shown entries
            raise UnprotectedTable(f"no complement found for {pending}")
        hidden |= added
    result = Suppression(primary, frozenset(hidden - primary))
    # The guard: solve the published table exactly and refuse anything it can narrow.
    if guard and (failures := unprotected(net.values, result.hidden, net.equations)):
        raise UnprotectedTable(f"suppression left entries a reader can narrow: {failures}")
    return result


def suppress_table(cells: Sequence[Sequence[int]], *, guard: bool = True) -> Suppression:
    """Entries to hide in an m×n table (m, n ≥ 2) of non-negative counts published with its row,
    column and grand totals: every count 1–4 and enough complements that the rule holds. Without
    `guard` the exact check is left to the caller (the attack bench runs its own)."""
    m = len(cells)
    n = len(cells[0]) if m else 0
    if m < 2 or n < 2 or any(len(row) != n for row in cells):
        raise ValueError("a two-way table needs at least 2 rows and 2 columns of equal length "
                         "(a single row's column totals would be its cells)")
    _check_counts(v for row in cells for v in row)
    return _suppress(_table_network(cells), guard=guard)


def suppress_vector(values: Sequence[int], *, guard: bool = True) -> Suppression:
    """Entries (i, 0) to hide among k categories published with their total (k, 0)."""
    if len(values) < 2:
        raise ValueError("a one-way table needs at least 2 categories (the total would be its only cell)")
    _check_counts(values)
    return _suppress(_vector_network(values), guard=guard)
