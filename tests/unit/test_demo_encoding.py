"""Ids and times of simulated rows: the same bits and text as the one-at-a-time paths."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy.dialects import sqlite

from leadfunnel.adapters.sql.bulk import format_times
from leadfunnel.adapters.sql.types import UTCDateTime
from leadfunnel.domain.ids import RANDOM_BITS, id_at, id_time_ms
from leadfunnel.services.demo.ids import hex_ids

MS = st.integers(0, (1 << 48) - 1)
RAND = st.integers(0, (1 << RANDOM_BITS) - 1)


@given(MS, RAND)
def test_id_at_is_a_version_7_id_carrying_its_time(ms, rand):
    value = id_at(ms, rand)
    assert (value.version, value.variant) == (7, "specified in RFC 4122")
    assert id_time_ms(value) == ms


@given(MS, MS, RAND, RAND)
def test_ids_at_different_times_sort_by_time(a, b, rand_a, rand_b):
    if a != b:
        assert (id_at(a, rand_a) < id_at(b, rand_b)) == (a < b)


@pytest.mark.parametrize(("ms", "rand"), [(-1, 0), (1 << 48, 0), (0, 1 << RANDOM_BITS), (0, -1)])
def test_id_at_refuses_values_that_do_not_fit(ms, rand):
    with pytest.raises(ValueError):
        id_at(ms, rand)


@given(st.lists(st.tuples(MS, RAND), min_size=1, max_size=50))
def test_vectorised_ids_equal_the_scalar_ones(pairs):
    ms = np.array([m for m, _ in pairs], dtype=np.uint64)
    rand_a = np.array([r >> 62 for _, r in pairs], dtype=np.uint64)
    rand_b = np.array([r & ((1 << 62) - 1) for _, r in pairs], dtype=np.uint64)
    assert list(hex_ids(ms, rand_a, rand_b)) == [id_at(m, r).hex for m, r in pairs]


TIMES = st.datetimes(
    min_value=datetime(1971, 1, 1), max_value=datetime(2200, 1, 1), timezones=st.just(UTC)
)


# No deadline: the vectorised formatter builds a calendar spanning the dates it is given,
# so two centuries apart take a moment (real batches span the simulated two years).
@settings(deadline=None)
@given(st.lists(TIMES, min_size=1, max_size=50))
def test_times_are_stored_as_sqlalchemy_stores_them_on_sqlite(times):
    dialect = sqlite.dialect()
    column = UTCDateTime()
    bind = column.dialect_impl(dialect).impl_instance.bind_processor(dialect)  # DATETIME's
    expected = [bind(column.process_bind_param(t, dialect)) for t in times]
    values = np.array([t.replace(tzinfo=None) for t in times], dtype="datetime64[us]")
    assert format_times(values) == expected
    assert format_times(values, "+00") == [e + "+00" for e in expected]


def test_missing_times_are_null():
    values = np.array(["NaT", "2025-01-31T23:59:59.999999"], dtype="datetime64[us]")
    assert format_times(values) == [None, "2025-01-31 23:59:59.999999"]
    assert format_times(values[:0]) == []
