"""Routing decisions: rules in order, eligibility with reasons, the four strategies."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from leadfunnel.domain.errors import ValidationError
from leadfunnel.rules.business_time import parse_calendar
from leadfunnel.rules.routing import Rep, TeamState, parse_rules, route_lead

NOW = datetime(2026, 3, 4, 10, 0, tzinfo=UTC)  # a Wednesday
EAST_MANUFACTURING = {"all": [{"field": "region", "op": "eq", "value": "East"},
                              {"field": "industry", "op": "eq", "value": "manufacturing"}]}  # fmt: skip


def rules(*extra, strategy="round_robin", **options):
    doc = {"rule": [
        {"name": "big deals", "when": {"field": "company_size", "op": "ge", "value": 5000}, "team": "Enterprise"},
        {"name": "West", "when": {"field": "region", "op": "eq", "value": "West"}, "team": "West"},
        {"name": "East manufacturing", "when": EAST_MANUFACTURING, "team": "East", "strategy": strategy, **options},
        *extra,
    ]}  # fmt: skip
    return parse_rules(doc, teams=["East", "West", "Enterprise"])


def east(*reps):
    return {"East": list(reps), "West": [Rep("w1", "Wes", "West")], "Enterprise": []}


LEAD = {"region": "East", "industry": "manufacturing", "company_size": 300}


def test_worked_example_round_robin_skips_a_rep_at_capacity():
    roster = east(
        Rep("11", "Ann", "East"),
        Rep("12", "Bo", "East", max_open=40, open_leads=40),
        Rep("17", "Li", "East"),
    )
    decision = route_lead(LEAD, rules(), roster, {"East": TeamState(last_rep="11")}, now=NOW)
    assert (decision.team, decision.rep) == ("East", "17")
    assert decision.reason == (
        "rule 3 'East manufacturing' -> team East, round_robin -> rep 17; skipped: rep 12 at capacity (40/40 open)"
    )
    assert decision.state == TeamState(last_rep="17")


def test_first_matching_rule_wins_and_no_match_goes_to_the_pool():
    roster = east(Rep("11", "Ann", "East"))
    assert route_lead(
        {**LEAD, "company_size": 9000}, rules(), roster, {}, now=NOW
    ).reason.startswith(
        "rule 1 'big deals' -> team Enterprise, nobody available -> shared pool (waiting for team Enterprise)"
    )
    nothing = route_lead({"region": "North"}, rules(), roster, {}, now=NOW)
    assert (nothing.rule, nothing.rep, nothing.reason) == (
        None,
        None,
        "no rule matched -> shared pool",
    )


def test_every_kind_of_unavailability_is_named():
    office = parse_calendar(
        {"name": "night shift", "timezone": "UTC", "hours": {"wed": ["20:00-24:00"]}}
    )
    roster = east(
        Rep("a", "A", "East", active=False),
        Rep("b", "B", "East", away=((NOW - timedelta(days=1), NOW + timedelta(days=1)),)),
        Rep("c", "C", "East", calendar=office),
        Rep("d", "D", "East", max_new_per_day=5, new_today=5),
        Rep("e", "E", "East"),
        Rep("f", "F", "East", skills=frozenset({"german"})),
    )
    decision = route_lead(
        LEAD, rules(skills=["german"]), roster, {}, now=NOW, exclude=frozenset({"x"})
    )
    assert decision.rep == "f"
    assert dict(decision.skipped) == {"a": "inactive", "b": "away", "c": "outside working hours",
                                      "d": "daily limit reached (5/5 new today)", "e": "lacks skill german"}  # fmt: skip
    again = route_lead(
        LEAD, rules(skills=["german"]), roster, {}, now=NOW, exclude=frozenset({"f"})
    )
    assert again.rep is None and ("f", "excluded for this lead") in again.skipped


def test_product_lines_limit_who_may_take_the_lead_when_the_rule_asks():
    roster = east(
        Rep("a", "A", "East", product_lines=frozenset({"Data Platform"})), Rep("b", "B", "East")
    )
    lead = {**LEAD, "product_interest": "Analytics Suite"}
    decision = route_lead(lead, rules(match_product_line=True), roster, {}, now=NOW)
    assert decision.rep == "b" and decision.skipped == (("a", "does not sell Analytics Suite"),)


def assign_many(rule_set, roster, leads, state=None):
    state = dict(state or {})
    picks = []
    for lead in leads:
        decision = route_lead(lead, rule_set, roster, state, now=NOW)
        state[decision.team] = decision.state
        picks.append(decision.rep)
    return picks


def test_weighted_round_robin_gives_each_rep_its_share_exactly():
    roster = east(
        Rep("a", "A", "East", weight=1),
        Rep("b", "B", "East", weight=2),
        Rep("c", "C", "East", weight=3),
    )
    picks = assign_many(rules(strategy="weighted"), roster, [LEAD] * 60)
    assert Counter(picks) == {"a": 10, "b": 20, "c": 30}
    assert picks[:6].count("c") == 3  # smooth: never all of c's share in one run


def test_load_balanced_takes_the_least_loaded_rep():
    roster = east(
        Rep("a", "A", "East", open_leads=9),
        Rep("b", "B", "East", open_leads=3),
        Rep("c", "C", "East", open_leads=3, new_today=1),
    )
    assert route_lead(LEAD, rules(strategy="load_balanced"), roster, {}, now=NOW).rep == "b"


def test_score_tiered_sends_high_scores_to_senior_reps_and_falls_back_when_none_is_free():
    roster = east(
        Rep("jr", "Junior", "East", seniority=1), Rep("sr", "Senior", "East", seniority=3)
    )
    tiered = rules(strategy="score_tiered", senior_min_score=70, senior_level=2)
    assert route_lead({**LEAD, "score": 85}, tiered, roster, {}, now=NOW).rep == "sr"
    assert route_lead({**LEAD, "score": 20}, tiered, roster, {}, now=NOW).rep == "jr"
    busy = east(
        Rep("jr", "Junior", "East", seniority=1),
        Rep("sr", "Senior", "East", seniority=3, max_open=1, open_leads=1),
    )
    decision = route_lead({**LEAD, "score": 85}, tiered, busy, {}, now=NOW)
    assert decision.rep == "jr" and "none eligible in the tier: any rep" in decision.reason


@given(st.integers(min_value=1, max_value=7), st.integers(min_value=0, max_value=60))
def test_round_robin_is_fair(team_size, leads):
    roster = east(*(Rep(str(i), f"R{i}", "East") for i in range(team_size)))
    counts = Counter(assign_many(rules(), roster, [LEAD] * leads))
    assert sum(counts.values()) == leads
    assert (
        max(counts.values(), default=0) - min((counts[str(i)] for i in range(team_size)), default=0)
        <= 1
    )


@pytest.mark.parametrize(
    ("rule", "field", "words"),
    [
        ({"name": "x", "team": "North"}, "rule[3] 'x'.team", "unknown team 'North'"),
        ({"name": "x", "team": "East", "strategy": "random"}, "rule[3] 'x'.strategy", "not one of"),
        ({"name": "x", "team": "East", "when": {"field": "budget", "op": "gt", "value": 1}}, "rule[3] 'x'.when.field", "unknown field 'budget'"),
        ({"name": "West", "team": "East"}, "rule[3] 'West'.name", "used by two rules"),
        ({"team": "East"}, "rule[3].name", "needs a name"),
        ({"name": "x", "team": "East", "senior_level": 0}, "rule[3] 'x'.senior_level", "whole number"),
        ({"name": "x", "team": "East", "colour": "red"}, "rule[3] 'x'.colour", "not a rule setting"),
    ],
)  # fmt: skip
def test_bad_rules_are_refused_naming_rule_and_field(rule, field, words):
    with pytest.raises(ValidationError) as caught:
        rules(rule)
    assert caught.value.field == field and words in caught.value.reason
