"""Primary and secondary suppression: no hidden cell can be recovered from the margins."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from crimeprev.indicators.disclosure import suppress_small, suppress_table


def test_primary_suppression_keeps_zeros():
    result = suppress_small([0, 1, 4, 5, 30], threshold=5)
    assert result.values == [0, None, None, 5, 30]
    assert result.suppressed == [False, True, True, False, False]


def test_threshold_zero_turns_suppression_off():
    assert suppress_small([1, 2], threshold=0).values == [1, 2]


@settings(max_examples=60, deadline=None)
@given(
    arrays(np.int64, st.tuples(st.integers(2, 5), st.integers(2, 5)), elements=st.integers(0, 20))
)
def test_no_line_has_exactly_one_hidden_cell(table):
    result = suppress_table(table, threshold=5)
    hidden = result.primary | result.secondary
    assert np.array_equal(result.primary, (table > 0) & (table < 5))
    for line in (*hidden, *hidden.T):
        assert line.sum() != 1
    assert np.all(np.isnan(result.values[hidden]))
    assert np.array_equal(result.values[~hidden], table[~hidden])
