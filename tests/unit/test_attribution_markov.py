"""Markov removal effects: the worked example of docs/concepts/attribution.md, and random
small graphs against a brute force that walks the chain until nothing is left to absorb."""

from __future__ import annotations

from collections import Counter, defaultdict

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from leadfunnel.analytics.attribution_journeys import journeys
from leadfunnel.analytics.attribution_markov import markov_shares
from leadfunnel.domain.errors import ValidationError

CHANNELS = ["A", "B", "C", "D"]


def paths(*walks):
    """Journeys from (channels, converted) pairs, e.g. (["A", "B"], True)."""
    journey, channel = [], []
    for i, (names, _) in enumerate(walks):
        journey += [i] * len(names)
        channel += [CHANNELS.index(name) for name in names]
    return journeys(
        journey=journey,
        at=[float(k) for k in range(len(journey))],
        channel=channel,
        campaign=[0] * len(channel),
        channels=CHANNELS,
        campaigns=["(none)"],
        converted_at=[1e9 if converted else None for _, converted in walks],
    )


def test_worked_example():
    """A -> B -> conversion, A -> null, B -> conversion: P = 2/3; without A 1/3, without B 0."""
    fit = markov_shares(paths((["A", "B"], True), (["A"], False), (["B"], True)))
    assert fit.conversion_probability == pytest.approx(2 / 3)
    assert fit.removal_effects == pytest.approx({"A": 0.5, "B": 1.0})
    assert fit.shares[:2] == pytest.approx([1 / 3, 2 / 3])  # the converted A -> B journey
    assert fit.shares[3] == pytest.approx(1.0)  # B alone


def test_a_channel_repeated_on_a_journey_earns_once_split_over_its_touches():
    fit = markov_shares(paths((["A", "B", "A"], True), (["B"], False)))
    a, b = fit.removal_effects["A"], fit.removal_effects["B"]
    assert fit.shares[:3] == pytest.approx([a / (a + b) / 2, b / (a + b), a / (a + b) / 2])


def test_no_conversion_means_no_effect_and_even_shares():
    fit = markov_shares(paths((["A", "B"], False), (["C"], False)))
    assert fit.conversion_probability == 0
    assert set(fit.removal_effects.values()) == {0.0}


def test_too_many_states_ask_for_a_lower_order(monkeypatch):
    monkeypatch.setattr("leadfunnel.analytics.attribution_markov.MAX_STATES", 3)
    with pytest.raises(ValidationError, match="lower order"):
        markov_shares(paths((["A", "B", "C", "D"], True)), order=2)


# -- brute force --------------------------------------------------------------------------


def brute_force_effects(walks, order):
    """States as tuples of the last ``order`` channels; P(conversion) by iterating
    x(s) = sum over moves of p * x(next) with x(conversion) = 1, x(null) = 0."""
    moves = defaultdict(Counter)
    for names, converted in walks:
        states = [tuple(names[max(0, i - order + 1) : i + 1]) for i in range(len(names))]
        for here, there in zip(["start", *states], [*states, "conv" if converted else "null"]):
            moves[here][there] += 1

    def probability(removed):
        x = defaultdict(float, {"conv": 1.0})
        for _ in range(5000):
            for state, out in moves.items():
                if state != "start" and removed in state:
                    continue  # leads to null
                total = sum(out.values())
                x[state] = sum(n / total * x[t] for t, n in out.items())
        return x["start"]

    full = probability(None)
    channels = {c for names, _ in walks for c in names}
    return full, {c: 1 - probability(c) / full if full else 0.0 for c in channels}


walk = st.tuples(st.lists(st.sampled_from(CHANNELS), min_size=1, max_size=5), st.booleans())


@settings(max_examples=40, deadline=None)
@given(walks=st.lists(walk, min_size=1, max_size=8), order=st.integers(1, 3))
def test_removal_effects_match_brute_force(walks, order):
    fit = markov_shares(paths(*walks), order=order)
    full, effects = brute_force_effects(walks, order)
    assert fit.conversion_probability == pytest.approx(full, abs=1e-9)
    assert fit.removal_effects == pytest.approx(effects, abs=1e-9)


def test_higher_order_tells_apart_what_came_before():
    """B converts after A, never after C. First order pools B's visits (half convert), so
    C seems to matter as much as A; second order knows B-after-C never converts."""
    walks = [(["A", "B"], True), (["C", "B"], False)] * 3
    first = markov_shares(paths(*walks), order=1).removal_effects
    second = markov_shares(paths(*walks), order=2).removal_effects
    assert first == pytest.approx({"A": 0.5, "B": 1.0, "C": 0.5})
    assert second == pytest.approx({"A": 1.0, "B": 1.0, "C": 0.0})
    assert np.isclose(brute_force_effects(walks, 2)[1]["A"], second["A"])
