"""Rule-based attribution on hand-worked paths (docs/concepts/attribution.md), and the
property every model keeps: a conversion's credits sum to 1, or to its revenue."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from leadfunnel.analytics.attribution import (
    credit_by_group,
    first_touch_shares,
    last_non_direct_shares,
    last_touch_shares,
    position_shares,
    time_decay_shares,
    touch_shares,
)
from leadfunnel.analytics.attribution_journeys import (
    by_account,
    converted_only,
    journeys,
    window,
)
from leadfunnel.analytics.attribution_spec import (
    MODELS,
    POSITION_WEIGHTS,
    PositionWeights,
    attribution_spec,
    parse_weights,
)
from leadfunnel.domain.errors import ValidationError

DAY = 86_400.0
CHANNELS = ["ads", "search", "email", "direct"]


def one_path(channels, *, at=None, converted=10.0, lead=None, opportunity=None, value=1.0):
    """One journey over ``channels`` (names), touches one second apart by default."""
    n = len(channels)
    return journeys(
        journey=[0] * n,
        at=at if at is not None else [float(i) for i in range(n)],
        channel=[CHANNELS.index(c) for c in channels],
        campaign=[0] * n,
        channels=CHANNELS,
        campaigns=["(none)"],
        converted_at=[converted],
        value=[value],
        lead_at=[lead],
        opportunity_at=[opportunity],
    )


def rounded(shares):
    return [round(float(s), 6) for s in shares]


# -- single touch -------------------------------------------------------------------------


def test_first_and_last_touch_take_everything():
    j = one_path(["ads", "search", "email"])
    assert rounded(first_touch_shares(j)) == [1, 0, 0]
    assert rounded(last_touch_shares(j)) == [0, 0, 1]


def test_last_non_direct_passes_over_direct_visits():
    assert rounded(last_non_direct_shares(one_path(["ads", "search", "direct", "direct"]))) == [
        0,
        1,
        0,
        0,
    ]


def test_last_non_direct_falls_back_to_the_last_touch_when_all_are_direct():
    assert rounded(last_non_direct_shares(one_path(["direct", "direct"]))) == [0, 1]


# -- position-based -----------------------------------------------------------------------


def test_w_shaped_worked_example():
    """A first, B created the lead, C, D, E created the opportunity, F: 30/30/30 and 10/3."""
    j = one_path(["ads"] * 6, lead=1.5, opportunity=4.5)
    third = round(0.1 / 3, 6)
    assert rounded(position_shares(j, POSITION_WEIGHTS["w_shaped"])) == [
        0.3,
        0.3,
        third,
        third,
        0.3,
        third,
    ]


def test_w_shaped_coinciding_anchors_add_and_a_missing_middle_is_spread():
    """A is first and created the lead (0.6), E created the opportunity (0.3): 2/3 and 1/3."""
    j = one_path(["ads", "email"], lead=0.0, opportunity=1.0)
    assert rounded(position_shares(j, POSITION_WEIGHTS["w_shaped"])) == [
        round(2 / 3, 6),
        round(1 / 3, 6),
    ]


def test_u_shaped_two_touches_split_evenly():
    j = one_path(["ads", "search"], lead=1.0)
    assert rounded(position_shares(j, POSITION_WEIGHTS["u_shaped"])) == [0.5, 0.5]


def test_u_shaped_with_middle_touches():
    j = one_path(["ads", "search", "email", "direct"], lead=1.0)
    assert rounded(position_shares(j, POSITION_WEIGHTS["u_shaped"])) == [0.4, 0.4, 0.1, 0.1]


def test_full_path_four_anchors_and_a_middle():
    j = one_path(["ads", "search", "email", "direct", "ads"], lead=1.0, opportunity=3.0)
    assert rounded(position_shares(j, POSITION_WEIGHTS["full_path"])) == [
        0.225,
        0.225,
        0.1,
        0.225,
        0.225,
    ]


def test_an_opportunity_not_yet_created_gives_its_share_to_the_others():
    """W-shaped without an opportunity: 0.3, 0.3 and 0.1 over 0.7."""
    j = one_path(["ads", "search", "email"], lead=1.0)
    assert rounded(position_shares(j, POSITION_WEIGHTS["w_shaped"])) == [
        round(3 / 7, 6),
        round(3 / 7, 6),
        round(1 / 7, 6),
    ]


def test_j_shaped_and_inverse_j():
    j = one_path(["ads", "search", "email"])
    assert rounded(position_shares(j, POSITION_WEIGHTS["j_shaped"])) == [0.2, 0.2, 0.6]
    assert rounded(position_shares(j, POSITION_WEIGHTS["inverse_j"])) == [0.6, 0.2, 0.2]


def test_linear_shares_evenly():
    j = one_path(["ads", "search", "email", "ads"])
    assert rounded(position_shares(j, POSITION_WEIGHTS["linear"])) == [0.25] * 4


@pytest.mark.parametrize("model", [*POSITION_WEIGHTS, "first_touch", "last_touch", "time_decay"])
def test_a_lone_touch_gets_everything(model):
    j = one_path(["search"], lead=0.0, opportunity=0.0)
    assert rounded(touch_shares(j, attribution_spec(model=model))) == [1.0]


def test_custom_weights_on_absent_roles_only_share_evenly():
    j = one_path(["ads", "search"])
    weights = parse_weights("opportunity=1")
    assert rounded(position_shares(j, weights)) == [0.5, 0.5]


def test_custom_weights_must_sum_to_one():
    with pytest.raises(ValidationError, match="sum to 1"):
        parse_weights("first=0.5,last=0.4")
    with pytest.raises(ValidationError, match="NAME=SHARE"):
        parse_weights("start=1")
    with pytest.raises(ValidationError, match="needs weights"):
        attribution_spec(model="custom")


# -- time decay ---------------------------------------------------------------------------


def test_time_decay_halves_every_half_life():
    j = one_path(["ads", "search", "email"], at=[0.0, 7 * DAY, 14 * DAY], converted=14 * DAY)
    assert rounded(time_decay_shares(j, 7.0)) == [
        round(1 / 7, 6),
        round(2 / 7, 6),
        round(4 / 7, 6),
    ]


def test_time_decay_does_not_underflow_on_old_journeys():
    j = one_path(["ads", "search"], at=[0.0, 7000 * DAY], converted=7007 * DAY)
    assert rounded(time_decay_shares(j, 7.0)) == [0.0, 1.0]


# -- windows, accounts, groups ------------------------------------------------------------


def test_window_drops_touches_after_the_conversion_and_before_the_lookback():
    j = journeys(
        journey=[0, 0, 0, 1, 2],
        at=[0.0, 5 * DAY, 11 * DAY, 3 * DAY, 1.0],
        channel=[0, 1, 2, 0, 1],
        campaign=[0] * 5,
        channels=CHANNELS,
        campaigns=["(none)"],
        converted_at=[10 * DAY, None, 0.0],
        value=[100.0, 1.0, 40.0],
    )
    kept, unattributed = window(j, lookback_seconds=7 * DAY)
    assert kept.touch_channel.tolist() == [1, 0]  # search for journey 0; journey 1 open
    assert kept.converted.tolist() == [True, False]
    assert unattributed == (1, 40.0)  # journey 2 converted before its only touch


def test_accounts_pool_their_leads_touches_and_revenue():
    j = journeys(
        journey=[0, 1, 2],
        at=[1.0, 2.0, 3.0],
        channel=[0, 1, 2],
        campaign=[0, 0, 0],
        channels=CHANNELS,
        campaigns=["(none)"],
        converted_at=[None, 5.0, 9.0],
        value=[0.0, 300.0, 200.0],
        lead_at=[1.0, 2.0, 3.0],
    )
    account = by_account(j, ["acme", "acme", "solo"], add_values=True)
    assert account.size == 2
    assert account.conversion_at.tolist() == [5.0, 9.0]
    assert account.value.tolist() == [300.0, 200.0]
    assert account.counts.tolist() == [2, 1]
    shares = touch_shares(converted_only(account), attribution_spec(model="linear"))
    credit = credit_by_group(account, shares, "channel")
    assert sorted((c.group, c.conversions, c.revenue) for c in credit) == [
        ("ads", 0.5, 150.0),
        ("email", 1.0, 200.0),
        ("search", 0.5, 150.0),
    ]


# -- every model: credits sum to one, or to the revenue ----------------------------------


@st.composite
def random_journeys(draw):
    n = draw(st.integers(1, 8))
    sizes = draw(st.lists(st.integers(1, 6), min_size=n, max_size=n))
    m = sum(sizes)
    at = draw(st.lists(st.floats(0, 60 * DAY), min_size=m, max_size=m))
    channel = draw(st.lists(st.integers(0, len(CHANNELS) - 1), min_size=m, max_size=m))
    converted = draw(st.lists(st.one_of(st.none(), st.floats(0, 70 * DAY)), min_size=n, max_size=n))
    anchors = st.lists(st.one_of(st.none(), st.floats(0, 60 * DAY)), min_size=n, max_size=n)
    return journeys(
        journey=np.repeat(np.arange(n), sizes),
        at=at,
        channel=channel,
        campaign=[c % 2 for c in channel],
        channels=CHANNELS,
        campaigns=["spring", "autumn"],
        converted_at=converted,
        value=draw(st.lists(st.floats(0, 1e6), min_size=n, max_size=n)),
        lead_at=draw(anchors),
        opportunity_at=draw(anchors),
    )


@pytest.mark.parametrize("model", [m for m in MODELS if m != "custom"] + ["custom"])
@settings(max_examples=60, deadline=None)
@given(j=random_journeys(), lookback=st.one_of(st.none(), st.floats(1, 30)))
def test_each_conversion_shares_exactly_one_under_every_model(model, j, lookback):
    spec = attribution_spec(
        model=model,
        weights="first=0.1,lead=0.2,opportunity=0.3,last=0.15,middle=0.25"
        if model == "custom"
        else None,
        order=2 if model == "markov" else None,
    )
    kept, (lost, lost_value) = window(
        j, lookback_seconds=None if lookback is None else lookback * DAY
    )
    data = kept if model in ("markov", "shapley") else converted_only(kept)
    shares = touch_shares(data, spec)
    assert np.all(shares >= 0)
    per_journey = np.bincount(data.touch_journey, weights=shares, minlength=data.size)
    assert per_journey[data.converted] == pytest.approx(1.0, abs=1e-9)
    for by in ("channel", "campaign"):
        credit = credit_by_group(data, shares, by)
        assert sum(c.conversions for c in credit) == pytest.approx(data.converted.sum(), abs=1e-9)
        revenue = data.value[data.converted].sum()
        assert sum(c.revenue for c in credit) == pytest.approx(revenue, rel=1e-9, abs=1e-6)
    assert lost + data.converted.sum() == j.converted.sum()
    assert lost_value == pytest.approx(
        j.value[j.converted].sum() - data.value[data.converted].sum(), abs=1e-3
    )


def test_position_weights_of_every_named_model_sum_to_one():
    for weights in POSITION_WEIGHTS.values():
        assert sum(weights.anchors().values()) + weights.middle == pytest.approx(1.0)
    assert PositionWeights(middle=1.0) == POSITION_WEIGHTS["linear"]
