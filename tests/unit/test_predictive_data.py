"""What a predictive model may learn from: leakage rules, labels, features at the scoring
moment, the time-based split."""

from __future__ import annotations

import uuid
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from leadfunnel.domain.errors import ValidationError
from leadfunnel.services.predictive.dataset import Example, split_by_time
from leadfunnel.services.predictive.features import Encoder, observe
from leadfunnel.services.predictive.history import LeadHistory, assemble, outcome
from leadfunnel.services.predictive.spec import POST_OUTCOME_COLUMNS, TrainingSpec, load_spec

ROOT = Path(__file__).resolve().parents[2]
T0 = datetime(2025, 1, 1, tzinfo=UTC)
NOW = datetime(2026, 1, 1, tzinfo=UTC)


def day(n: float) -> datetime:
    return T0 + timedelta(days=n)


def lead(created: float = 0, **entered: float) -> LeadHistory:
    return LeadHistory(
        id=uuid.uuid4(),
        created_at=day(created),
        stage="lead",
        fields={"channel": "webinar", "custom_fields": {}},
        entered={"lead": day(created), **{s: day(d) for s, d in entered.items()}},
    )


# --- leakage ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name", ["stage", "score", "grade", "owner_id", "last_touch_at", "last_utm_source"]
)
def test_a_lead_column_set_after_the_outcome_is_refused_with_the_reason(name):
    with pytest.raises(ValidationError) as refused:
        TrainingSpec.build(fields=["channel", name])
    assert refused.value.field == f"features.{name}"
    assert "set after the outcome" in refused.value.message
    assert POST_OUTCOME_COLUMNS[name] in refused.value.message


def test_a_custom_field_declared_post_outcome_is_refused_even_when_listed():
    with pytest.raises(ValidationError, match="sales sets it after the call"):
        TrainingSpec.build(
            fields=["channel", "custom_fields.tags"],
            post_outcome={"custom_fields.tags": "sales sets it after the call"},
        )


def test_custom_fields_are_features_only_when_named_and_unknown_fields_are_refused():
    spec = TrainingSpec.build(fields=["channel", "custom_fields.occupation"])
    assert spec.fields == ("channel", "custom_fields.occupation")
    with pytest.raises(ValidationError, match="is not a feature field"):
        TrainingSpec.build(fields=["email"])
    assert "custom_fields.occupation" not in TrainingSpec.build().fields


def test_the_x_education_spec_keeps_every_post_outcome_field_out():
    spec = load_spec(ROOT / "examples/x-education/predictive.toml")
    assert spec.target == "won" and spec.post_outcome
    assert not set(spec.fields) & set(spec.post_outcome)
    with pytest.raises(ValidationError, match=r"custom_fields\.tags: is set after the outcome"):
        load_spec(
            ROOT / "examples/x-education/predictive.toml",
            fields=[*spec.fields, "custom_fields.tags"],
        )


@pytest.mark.parametrize(
    ("given", "field"),
    [
        ({"observe_days": 30, "horizon_days": 30}, "observe_days"),
        ({"target": "lost"}, "target"),
        ({"numeric": ["industry"], "fields": ["channel"]}, "numeric.industry"),
        ({"validation_fraction": 0.9}, "validation_fraction"),
        ({"horizon": 3}, "horizon"),
    ],
)
def test_invalid_settings_are_refused_naming_the_setting(given, field):
    with pytest.raises(ValidationError) as refused:
        TrainingSpec.build(**given)
    assert refused.value.field == field


# --- labels -----------------------------------------------------------------------------------


def label(history: LeadHistory, target: str = "sql", horizon: int = 30, observe: int = 1):
    return outcome(history, target=target, horizon_days=horizon, observe_days=observe, now=NOW)


def test_reaching_a_later_stage_on_the_path_counts_as_reaching_the_target():
    found = label(lead(0, mql=2, won=10))  # mql -> won: the sql step was never logged
    assert (found.label, found.known_at) == ("positive", day(10))


def test_a_lead_that_reached_the_target_after_the_horizon_is_negative():
    assert label(lead(0, sql=45)).label == "negative"


def test_a_lead_whose_window_is_still_open_is_not_labelled():
    assert label(lead(350)).label == "open"  # created 16 Dec 2025, window ends 15 Jan 2026
    assert label(lead(320)).label == "negative"


def test_a_lead_decided_before_its_scoring_moment_is_neither_trained_nor_evaluated():
    assert label(lead(0, sql=0.5)).label == "decided"  # reached sql within the first day
    assert label(lead(0, disqualified=0.2)).label == "decided"
    assert label(lead(0, sql=0.5), observe=0).label == "positive"


def test_assemble_keeps_first_entries_sorted_touches_and_the_first_response_by_a_user():
    lead_id, rep = uuid.uuid4(), uuid.uuid4()
    row = {"id": lead_id, "created_at": day(0), "stage": "sql", "score": 40, "channel": "webinar"}
    (history,) = assemble(
        [row],
        [(lead_id, "lead", day(0)), (lead_id, "mql", day(3)), (lead_id, "mql", day(1))],
        [(lead_id, "page_view", day(2)), (lead_id, "form_submit", day(0))],
        [(lead_id, None, day(0.1)), (lead_id, rep, day(0.5)), (lead_id, rep, day(0.3))],
    )
    assert history.entered["mql"] == day(1) and history.score == 40
    assert history.touches == [(day(0), "form_submit"), (day(2), "page_view")]
    assert history.first_response_at == day(0.3)  # the automated activity (no user) is not one


# --- features ---------------------------------------------------------------------------------


def test_features_see_nothing_after_the_scoring_moment():
    history = lead(0)
    history.touches = [(day(0), "form_submit"), (day(0.5), "page_view"), (day(3), "webinar")]
    history.first_response_at = day(2)
    raw = observe(history, TrainingSpec.build(), day(1))
    assert raw["touches"] == 2 and "touches.webinar" not in raw
    assert raw["last_touch"] == pytest.approx(0.5)
    assert raw["first_response"] is None  # the response came after the scoring moment
    raw = observe(history, TrainingSpec.build(), day(3))
    assert raw["first_response"] == pytest.approx(48.0)


def test_encoder_bins_numbers_at_deciles_and_groups_rare_values():
    spec = TrainingSpec.build(fields=["channel", "company_size"], behaviour=False, min_count=2)
    raws = [{"channel": "Webinar" if i % 2 else "fax" if i == 0 else "ads", "company_size": i}
            for i in range(100)]  # fmt: skip
    encoder = Encoder.fit(raws, spec)
    assert encoder.categorical == {"channel": ["ads", "webinar"]}
    assert encoder.numeric["company_size"] == [10.0, 20.0, 30.0, 40.0, 50.0, 60.0, 70.0, 80.0, 90.0]
    assert encoder.tokens({"channel": "fax", "company_size": 5}) == [
        "channel=(other)", "company_size=<10"
    ]  # fmt: skip
    assert encoder.tokens({"channel": " ADS ", "company_size": 95})[1] == "company_size=>=90"
    assert Encoder.from_dict(encoder.to_dict()) == encoder


def test_behaviour_tokens_bin_counts_recency_and_first_response():
    encoder = Encoder({}, {}, ["page_view"], behaviour=True)
    raw = {"touches": 4, "touches.page_view": 3, "last_touch": 0.2, "first_response": 2.5}
    assert encoder.tokens(raw) == [
        "touches=3-5", "touches.page_view=3-5", "last_touch=<1d", "first_response=1-4h"
    ]  # fmt: skip
    assert encoder.tokens({"touches": 0, "last_touch": None, "first_response": None}) == [
        "touches=0", "touches.page_view=0", "last_touch=none", "first_response=none yet"
    ]  # fmt: skip


# --- the time split ---------------------------------------------------------------------------


def _examples(days: int) -> list[Example]:
    return [Example(lead(d), {}, d % 2) for d in range(days)]


def test_the_split_validates_on_the_newest_leads_and_trains_only_on_closed_windows():
    # 200 leads, one a day; the newest 20 % (days 160-199) validate: cutoff day 160. Training
    # needs the 30-day window closed by then: days 0-130. Days 131-159 are the gap.
    spec = TrainingSpec.build(horizon_days=30)
    split = split_by_time(_examples(200), spec, Counter(leads=200))
    assert split.cutoff == day(160)
    assert [e.history.created_at for e in split.validation] == [day(d) for d in range(160, 200)]
    assert [e.history.created_at for e in split.train] == [day(d) for d in range(131)]
    assert (split.counts["train"], split.counts["gap"], split.counts["validation"]) == (131, 29, 40)


def test_a_split_without_enough_of_each_class_is_refused_with_the_counts():
    examples = [Example(lead(d), {}, 0) for d in range(200)]
    with pytest.raises(ValidationError, match="the train split has 0 leads that reached sql"):
        split_by_time(examples, TrainingSpec.build(), Counter(leads=200, negative=200))
