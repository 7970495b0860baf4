"""Rule-based scoring: fit, decayed and capped behaviour, grades, priority, qualification."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from leadfunnel.domain.errors import ValidationError
from leadfunnel.domain.lifecycle import Stage
from leadfunnel.rules.scoring import qualification_for, score_lead
from leadfunnel.rules.scoring_model import parse_model

NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
PRICING = {"all": [{"field": "kind", "op": "eq", "value": "page_view"},
                   {"field": "url", "op": "contains", "value": "/pricing"}]}  # fmt: skip


def model(**extra):
    doc = {
        "name": "default",
        "half_life_days": 30,
        "fit": [
            {"name": "enterprise", "points": 10, "when": {"field": "company_size", "op": "gt", "value": 500}},
            {"name": "executive", "points": 20, "when": {"field": "title", "op": "regex", "value": r"(?i)\b(ceo|vp)\b"}},
            {"name": "free mail", "points": -10, "when": {"field": "email_is_free_mail", "op": "eq", "value": True}},
        ],
        "behaviour": [
            {"name": "pricing page", "points": 15, "per_period": {"points": 15, "days": 1}, "when": PRICING},
            {"name": "whitepaper", "points": 10, "max_points": 15, "when": {"field": "kind", "op": "eq", "value": "download"}},
            {"name": "unsubscribe", "points": -20, "when": {"field": "kind", "op": "eq", "value": "unsubscribe"}},
        ],
        "qualify": [{"name": "MQL threshold", "to": "mql", "when": {"all": [
            {"field": "score", "op": "ge", "value": 40}, {"field": "fit_grade", "op": "in", "value": ["A", "B"]}]}}],
    }  # fmt: skip
    return parse_model({**doc, **extra})


def touch(kind, days_ago, url=None):
    return {"kind": kind, "url": url, "at": NOW - timedelta(days=days_ago)}


def test_worked_example_from_the_docstring():
    old_day = 30
    touches = [
        touch("page_view", old_day, "https://x.io/pricing"),
        touch("page_view", old_day - 0.01, "https://x.io/pricing"),  # same day: cap spent
        touch("page_view", 0, "https://x.io/pricing"),
    ]
    result = score_lead({}, touches, model(), now=NOW)
    (hit,) = result.hits
    assert (hit.rule, hit.events, hit.before_decay, hit.capped) == ("pricing page", 3, 30.0, True)
    assert hit.points == pytest.approx(15 * 0.5 + 15, abs=0.01)
    assert result.engagement == pytest.approx(22.5, abs=0.01) and result.score == 22
    assert result.grade == "D2"  # docs/concepts/scoring.md


def test_fit_rules_add_once_and_grades_follow_the_bands():
    lead = {"company_size": 800, "title": "CEO", "email_is_free_mail": False}
    result = score_lead(lead, [], model(), now=NOW)
    assert result.fit == 30 and result.fit_grade == "B"  # 25 <= 30 < 40
    assert result.engagement == 0 and result.engagement_tier == 4 and result.grade == "B4"
    assert [h.rule for h in result.hits] == ["enterprise", "executive"]


def test_a_rule_cap_limits_the_total_and_negative_rules_subtract():
    touches = [
        touch("download", 0),
        touch("download", 0),
        touch("download", 0),
        touch("unsubscribe", 0),
    ]
    result = score_lead({}, touches, model(half_life_days=None), now=NOW)
    by_rule = {h.rule: h for h in result.hits}
    assert by_rule["whitepaper"].points == 15 and by_rule["whitepaper"].capped
    assert by_rule["unsubscribe"].points == -20
    assert result.engagement == -5


def test_future_touches_do_not_count():
    result = score_lead({}, [touch("download", -1)], model(), now=NOW)
    assert result.hits == () and result.score == 0


def test_priority_is_the_first_tier_that_holds():
    lead = {"company_size": 800, "title": "CEO"}
    touches = [touch("page_view", 0, "/pricing"), touch("page_view", 1, "/pricing"),
               touch("page_view", 2, "/pricing"), touch("download", 0)]  # fmt: skip
    result = score_lead(lead, touches, model(half_life_days=None), now=NOW)
    assert result.score == 30 + 45 + 10 and result.priority == "A"
    assert score_lead({}, [], model(), now=NOW).priority == "C"


def test_qualification_moves_only_from_its_source_stages():
    rules = model()
    lead = {"company_size": 800, "title": "VP Sales", "stage": "lead"}
    result = score_lead(lead, [touch("page_view", 0, "/pricing")], rules, now=NOW)
    assert result.score == 45
    rule = qualification_for(rules, lead, result)
    assert rule is not None and rule.to is Stage.MQL
    assert qualification_for(rules, {**lead, "stage": "sql"}, result) is None


@given(st.lists(st.tuples(st.sampled_from(["page_view", "download", "unsubscribe"]),
                          st.floats(min_value=0, max_value=400)), max_size=30))  # fmt: skip
def test_decay_never_raises_a_score_and_caps_always_hold(events):
    touches = [touch(kind, age, "/pricing") for kind, age in events]
    decayed = score_lead({}, touches, model(), now=NOW)
    flat = score_lead({}, touches, model(half_life_days=None), now=NOW)
    positive = [h for h in decayed.hits if h.points > 0]
    assert (
        sum(h.points for h in positive) <= sum(h.points for h in flat.hits if h.points > 0) + 1e-9
    )
    assert all(h.points <= 15 + 1e-9 for h in decayed.hits if h.rule == "whitepaper")


@pytest.mark.parametrize(
    ("change", "field", "words"),
    [
        ({"half_life_days": -5}, "model.half_life_days", "must be above 0"),
        ({"fit": [{"name": "x", "points": 5, "when": {"field": "revenue", "op": "gt", "value": 1}}]},
         "fit[0] 'x'.when.field", "unknown field 'revenue'"),
        ({"behaviour": [{"name": "y", "points": 5, "when": {"field": "kind", "op": "regex", "value": "(("}}]},
         "behaviour[0] 'y'.when.value", "bad regular expression"),
        ({"behaviour": [{"name": "y", "points": "ten", "when": {"all": []}}]}, "behaviour[0] 'y'.points", "not a number"),
        ({"behaviour": [{"name": "y", "points": 1, "per_period": {"points": 1}, "when": {"all": []}}]},
         "behaviour[0] 'y'.per_period", "must be {points = N, days = D}"),
        ({"fit": [{"points": 5, "when": {"all": []}}]}, "fit[0].name", "needs a name"),
        ({"fit": [{"name": "a", "points": 1, "when": {"all": []}}, {"name": "a", "points": 1, "when": {"all": []}}]},
         "fit[1] 'a'.name", "used by two rules"),
        ({"grades": {"fit": {"A": 10, "B": 20, "C": 5}}}, "grades.fit", "must fall from A to C"),
        ({"qualify": [{"name": "q", "to": "won", "from": ["lead"], "when": {"all": []}}]},
         "qualify[0] 'q'.from", "does not move 'lead' to 'won'"),
        ({"priority": [{"tier": "A"}, {"tier": "C"}]}, "priority[0].when", "only the last tier"),
        ({"colour": "red"}, "colour", "not a model setting"),
    ],
)  # fmt: skip
def test_a_bad_model_is_refused_naming_the_rule_and_field(change, field, words):
    with pytest.raises(ValidationError) as caught:
        model(**change)
    assert caught.value.field == field and words in caught.value.reason
