"""Shapley values over channel sets: the worked example of docs/concepts/attribution.md, and
random small games against the permutation definition (average marginal contribution over
every order in which the channels could join)."""

from __future__ import annotations

import itertools
from math import factorial

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from leadfunnel.analytics.attribution_journeys import journeys
from leadfunnel.analytics.attribution_shapley import set_shapley, shapley_shares

CHANNELS = ["A", "B", "C", "D", "E"]


def mask(names):
    return sum(1 << CHANNELS.index(n) for n in names)


def test_worked_example():
    """{A} converts 1 in 10, {B} 2 in 10, {A, B} 5 in 10: A earns 0.4, B 0.6."""
    walks = [(["A"], i < 1) for i in range(10)]
    walks += [(["B"], i < 2) for i in range(10)]
    walks += [(["A", "B"], i < 5) for i in range(10)]
    journey, channel, converted = [], [], []
    for i, (names, won) in enumerate(walks):
        journey += [i] * len(names)
        channel += [CHANNELS.index(n) for n in names]
        converted.append(1.0 if won else None)
    j = journeys(
        journey=journey, at=[0.0] * len(journey), channel=channel, campaign=[0] * len(channel),
        channels=CHANNELS, campaigns=["(none)"], converted_at=converted,
    )  # fmt: skip
    shares = shapley_shares(j)
    both = [k for k in range(len(journey)) if journey[k] == 20]
    assert [shares[k] for k in both] == pytest.approx([0.4, 0.6])
    assert shares[0] == pytest.approx(1.0)  # a converted {A} journey


def brute_force(members, worth):
    """The permutation definition of the Shapley value."""
    values = dict.fromkeys(members, 0.0)
    for order in itertools.permutations(members):
        joined = 0
        for c in order:
            before = worth.get(joined, 0.0)
            joined |= 1 << c
            values[c] += worth.get(joined, 0.0) - before
    return [values[c] / factorial(len(members)) for c in members]


@settings(max_examples=60, deadline=None)
@given(
    members=st.lists(st.integers(0, 4), min_size=1, max_size=5, unique=True),
    worths=st.dictionaries(st.integers(1, 31), st.floats(0, 1), max_size=31),
)
def test_set_shapley_matches_the_permutation_definition(members, worths):
    members = sorted(members)
    assert set_shapley(members, worths) == pytest.approx(brute_force(members, worths), abs=1e-12)


def test_values_sum_to_the_worth_of_the_whole_set():
    worth = {mask("A"): 0.1, mask("B"): 0.3, mask("AB"): 0.2, mask("ABC"): 0.9}
    members = [0, 1, 2]
    assert sum(set_shapley(members, worth)) == pytest.approx(0.9)


def test_a_channel_that_lowers_the_rate_earns_nothing():
    """{A} 1 in 2, {A, B} 1 in 4: B's value is negative; A takes the whole conversion."""
    walks = [(["A"], True), (["A"], False)] + [(["A", "B"], i == 0) for i in range(4)]
    journey, channel, converted = [], [], []
    for i, (names, won) in enumerate(walks):
        journey += [i] * len(names)
        channel += [CHANNELS.index(n) for n in names]
        converted.append(1.0 if won else None)
    j = journeys(
        journey=journey, at=[0.0] * len(journey), channel=channel, campaign=[0] * len(channel),
        channels=CHANNELS, campaigns=["(none)"], converted_at=converted,
    )  # fmt: skip
    shares = shapley_shares(j)
    assert shares[2:4].tolist() == pytest.approx([1.0, 0.0])
