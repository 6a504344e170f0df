"""Small-cell suppression: every count from 1 to 4 is hidden, and for random tables no hidden cell can
be solved exactly from the shown cells and the published totals (checked here independently, by
matrix rank, and by the module's own exact check)."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from domain.disclosure import (HIDDEN_MARK, SMALL_MARK, Suppression, determined_cells, is_small, suppress_table,
                              suppress_vector, table_sums, vector_sums)

# Counts as they come in real tables: many zeros and small numbers, some large ones.
count = st.one_of(st.integers(0, 6), st.integers(0, 60), st.sampled_from([0, 0, 1, 4, 5]))


def tables(max_rows: int = 8, max_cols: int = 6):
    return st.integers(2, max_rows).flatmap(
        lambda m: st.integers(2, max_cols).flatmap(
            lambda n: st.lists(st.lists(count, min_size=n, max_size=n), min_size=m, max_size=m)))


def solvable_by_rank(sums, hidden) -> set:
    """Independent check: hidden cell h is determined by the published sums iff adding the unit
    vector e_h to the sums' equations (restricted to hidden cells) does not raise their rank."""
    cols = sorted(hidden)
    if not cols:
        return set()
    a = np.array([[1.0 if c in s else 0.0 for c in cols] for s in sums])
    rank = np.linalg.matrix_rank(a)
    out = set()
    for k, c in enumerate(cols):
        unit = np.zeros((1, len(cols)))
        unit[0, k] = 1.0
        if np.linalg.matrix_rank(np.vstack([a, unit])) == rank:
            out.add(c)
    return out


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(tables())
def test_no_hidden_cell_of_a_random_table_can_be_solved_from_the_totals(cells):
    m, n = len(cells), len(cells[0])
    sup = suppress_table(cells)
    # Every count from 1 to 4 is hidden (as "<5"); shown cells are 0 or at least 5.
    assert sup.primary == {(i, j) for i in range(m) for j in range(n) if 1 <= cells[i][j] <= 4}
    assert not sup.primary & sup.complementary
    for i in range(m):
        for j in range(n):
            if (i, j) not in sup.hidden:
                assert cells[i][j] == 0 or cells[i][j] >= 5
    # No hidden cell is determined by row totals, column totals and the grand total.
    assert solvable_by_rank(table_sums(m, n), sup.hidden) == set()
    assert determined_cells(table_sums(m, n), sup.hidden) == set()
    # Each row and column with a hidden cell has at least two (the obvious case of the above).
    for i in range(m):
        assert sum((i, j) in sup.hidden for j in range(n)) != 1
    for j in range(n):
        assert sum((i, j) in sup.hidden for i in range(m)) != 1
    # Nothing is hidden without a reason.
    if not sup.primary:
        assert not sup.complementary


@settings(max_examples=300, deadline=None)
@given(st.lists(count, min_size=2, max_size=10))
def test_no_hidden_category_can_be_solved_from_the_grand_total(values):
    sup = suppress_vector(values)
    hidden = {i for i, _ in sup.hidden}
    assert {i for i, v in enumerate(values) if is_small(v)} == {i for i, _ in sup.primary}
    assert len(hidden) != 1
    assert solvable_by_rank(vector_sums(len(values)), sup.hidden) == set()


def test_a_lone_small_cell_takes_complements_in_its_row_and_column():
    cells = [[3, 10, 20],
             [15, 8, 9],
             [0, 0, 6]]
    sup = suppress_table(cells)
    assert sup.primary == {(0, 0)}
    assert sup.mark((0, 0)) == SMALL_MARK
    # The cheapest cycle through (0, 0): the small non-zero cells 8 and 10 and 15 around it.
    assert sup.complementary == {(0, 1), (1, 0), (1, 1)}
    assert all(sup.mark(c) == HIDDEN_MARK for c in sup.complementary)


def test_zeros_are_shown_and_are_complements_only_when_nothing_else_closes_the_cycle():
    assert suppress_table([[0, 7], [9, 0]]) == Suppression(frozenset(), frozenset())
    # Row 0 holds only the small count: its partner in that row can only be a zero.
    sup = suppress_table([[2, 0], [30, 40]])
    assert sup.hidden == {(0, 0), (0, 1), (1, 0), (1, 1)}


def test_the_check_sees_what_a_naive_pattern_gives_away():
    sums = table_sums(3, 3)
    # Alone in its row, or two in a row but alone in their columns: the totals solve them.
    assert determined_cells(sums, {(0, 0)}) == {(0, 0)}
    assert determined_cells(sums, {(0, 0), (0, 1)}) == {(0, 0), (0, 1)}
    assert determined_cells(sums, {(0, 0), (0, 1), (1, 0), (1, 1)}) == set()
    # A 2×2 block is safe; a cell off the block (on no cycle) is solvable, even when its row and
    # column hold other hidden cells.
    assert determined_cells(sums, {(0, 0), (0, 1), (1, 0), (1, 1), (2, 2)}) == {(2, 2)}
    assert solvable_by_rank(sums, {(0, 0), (0, 1), (1, 0), (1, 1), (2, 2)}) == {(2, 2)}
    path = {(0, 0), (0, 1), (1, 1), (1, 2), (2, 2), (2, 0)}  # a 6-cycle: two per row and column
    assert determined_cells(sums, path) == set()
    # The subtle case: every row and column with a hidden cell has at least two, yet the cell
    # joining two separate 2×2 blocks lies on no cycle, and the totals give it away.
    blocks = {(0, 0), (0, 1), (1, 0), (1, 1), (2, 2), (2, 3), (3, 2), (3, 3), (0, 2)}
    assert determined_cells(table_sums(4, 4), blocks) == {(0, 2)}
    assert solvable_by_rank(table_sums(4, 4), blocks) == {(0, 2)}


def test_a_vector_with_one_small_cell_hides_the_smallest_non_zero_other():
    sup = suppress_vector([3, 0, 10, 0, 6])
    assert sup.primary == {(0, 0)} and sup.complementary == {(4, 0)}
    assert suppress_vector([3, 2, 10]).complementary == frozenset()
    assert suppress_vector([0, 10, 12]).hidden == frozenset()


@pytest.mark.parametrize("bad", [[[1, 2]], [[1], [2]], [[1, -1], [2, 3]], [[1, 2], [3]]])
def test_tables_that_cannot_be_protected_this_way_are_refused(bad):
    with pytest.raises(ValueError):
        suppress_table(bad)
