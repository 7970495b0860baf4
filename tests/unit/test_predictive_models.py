"""The learners: the naive-Bayes baseline by hand, the logistic model's JSON round trip and
factors, the activation gate, the threshold suggestion."""

from __future__ import annotations

import json
import math
import random

import pytest

from leadfunnel.domain.errors import ValidationError
from leadfunnel.services.predictive.assessment import gate
from leadfunnel.services.predictive.evaluation import roc_auc
from leadfunnel.services.predictive.features import Encoder
from leadfunnel.services.predictive.learners import LogisticModel, fit_logistic
from leadfunnel.services.predictive.naive_bayes import FrequencyModel
from leadfunnel.services.predictive.spec import TrainingSpec
from leadfunnel.services.predictive.threshold import suggest

# --- naive Bayes ------------------------------------------------------------------------------

TRAIN = [["channel=web"], ["channel=web"], ["channel=event"], ["channel=event"]]
WON = [1, 0, 1, 1]


def test_naive_bayes_matches_the_hand_computed_odoo_frequencies():
    model = FrequencyModel.fit(TRAIN, WON)
    assert model.counts["channel"] == {"web": (1.1, 1.1), "event": (2.1, 0.1)}
    assert model.totals["channel"] == pytest.approx((3.2, 1.2))
    won, lost = 0.75 * 1.1 / 3.2, 0.25 * 1.1 / 1.2
    assert model.probability(["channel=web"]) == pytest.approx(won / (won + lost))
    assert round(model.probability(["channel=web"]), 3) == 0.529
    won, lost = 0.75 * 2.1 / 3.2, 0.25 * 0.1 / 1.2
    assert model.probability(["channel=event"]) == pytest.approx(won / (won + lost))


def test_naive_bayes_skips_unset_and_unseen_values_and_multiplies_fields():
    model = FrequencyModel.fit(
        [["a=x", "b=p"], ["a=x", "b=q"], ["a=y", "b=p"], ["a=y", "b=q"]], [1, 1, 0, 1]
    )
    prior = model.probability(["a=(missing)", "b=never-seen"])
    assert prior == pytest.approx(0.75)
    # a=x: won 2.1/3.2 vs lost 0.1/1.2; b=p: won 1.1/3.2 vs lost 1.1/1.2
    won = 0.75 * (2.1 / 3.2) * (1.1 / 3.2)
    lost = 0.25 * (0.1 / 1.2) * (1.1 / 1.2)
    assert model.probability(["a=x", "b=p"]) == pytest.approx(won / (won + lost))


def test_naive_bayes_probabilities_are_clamped_like_odoo():
    won, lost = ["a=x", "b=x", "c=x"], ["a=y", "b=y", "c=y"]
    model = FrequencyModel.fit([won] * 50 + [lost] * 50, [1] * 50 + [0] * 50)
    assert model.probability(won) == 0.9999
    assert model.probability(lost) == 0.0001


# --- the logistic model -----------------------------------------------------------------------


def _data(seed: int = 3, n: int = 600):
    """Leads whose channel and size drive conversion (webinar best, big companies better)."""
    rng = random.Random(seed)
    effect = {"webinar": 1.2, "paid_search": 0.0, "display": -1.2}
    raws, labels, truth = [], [], []
    for _ in range(n):
        channel = rng.choice(list(effect))
        size = rng.choice([5, 50, 500, 5000, None])
        z = effect[channel] + (0.8 if size and size >= 500 else -0.4) - 0.3
        raws.append({"channel": channel, "company_size": size})
        truth.append(1 / (1 + math.exp(-z)))
        labels.append(int(rng.random() < truth[-1]))
    return raws, labels, truth


@pytest.fixture(scope="module")
def fitted():
    raws, labels, _ = _data()
    spec = TrainingSpec.build(fields=["channel", "company_size"], behaviour=False)
    encoder = Encoder.fit(raws, spec)
    model = fit_logistic(encoder, [encoder.tokens(r) for r in raws], labels)
    return model, raws, labels


def test_the_model_learns_the_drivers_and_ranks_held_out_leads(fitted):
    model, _, _ = fitted
    w = model.weights
    assert w["channel=webinar"] > w["channel=paid_search"] > w["channel=display"]
    raws, labels, truth = _data(seed=9, n=2000)
    # nearly as well as the true probabilities that generated the outcomes
    assert roc_auc(labels, [model.probability(r) for r in raws]) > roc_auc(labels, truth) - 0.02


def test_the_model_round_trips_through_json_with_identical_probabilities(fitted):
    model, raws, _ = fitted
    document = json.loads(json.dumps(model.to_dict()))
    again = LogisticModel.from_dict(document)
    assert again == model
    assert [again.probability(r) for r in raws] == [model.probability(r) for r in raws]
    assert [again.factors(r) for r in raws[:20]] == [model.factors(r) for r in raws[:20]]


def test_a_stored_document_is_plain_data_and_names_its_format(fitted):
    model, _, _ = fitted
    document = model.to_dict()
    assert document["format"] == "leadfunnel.logistic/1"
    assert set(document["calibration"]) == {"method", "slope", "offset"}
    with pytest.raises(ValueError, match=r"not a leadfunnel\.logistic/1 model"):
        LogisticModel.from_dict({**document, "format": "pickle"})


def test_factors_add_up_to_the_lead_s_log_odds_against_an_average_lead(fitted):
    model, raws, _ = fitted
    average = model.slope * (model.intercept + sum(model.feature_means.values())) + model.offset
    for raw in raws[:10]:
        logit = math.log(model.probability(raw) / (1 - model.probability(raw)))
        effects = sum(f.effect for f in model.factors(raw, top=99))
        assert logit == pytest.approx(average + effects)


def test_factors_name_the_feature_value_and_are_largest_first(fitted):
    model, _, _ = fitted
    factors = model.factors({"channel": "webinar", "company_size": 5000}, top=2)
    assert [f.feature for f in factors] in (
        ["channel", "company_size"], ["company_size", "channel"]
    )  # fmt: skip
    assert abs(factors[0].effect) >= abs(factors[1].effect)
    assert next(f for f in factors if f.feature == "channel").value == "webinar"
    assert all(f.effect > 0 for f in factors)


def test_probabilities_are_calibrated_on_average(fitted):
    model, _, _ = fitted
    raws, labels, _ = _data(seed=11, n=2000)
    mean = sum(model.probability(r) for r in raws) / len(raws)
    assert mean == pytest.approx(sum(labels) / len(labels), abs=0.04)


# --- the gate ---------------------------------------------------------------------------------


def _report(model: float, naive: float, rule: float | None):
    return {
        "model": {"auc": model},
        "naive_bayes": {"auc": naive},
        "rule_score": {"available": False} if rule is None else {"available": True, "auc": rule},
    }


def test_the_gate_passes_a_model_that_beats_both_baselines_on_auc():
    assert gate(_report(0.80, 0.75, 0.70)) == {"metric": "auc", "passed": True, "reasons": []}


def test_the_gate_refuses_with_the_numbers_when_a_baseline_is_as_good():
    found = gate(_report(0.80, 0.75, 0.80))
    assert not found["passed"]
    assert found["reasons"] == ["validation AUC 0.8000 does not beat the rule score (0.8000)"]
    assert len(gate(_report(0.70, 0.75, 0.72))["reasons"]) == 2


def test_an_unavailable_rule_score_is_not_a_baseline_to_beat():
    assert gate(_report(0.80, 0.75, None))["passed"]


# --- the threshold ----------------------------------------------------------------------------

CURVE = [
    {"share": 0.25, "threshold": 0.9, "capture": 0.5, "precision": 0.8},
    {"share": 0.5, "threshold": 0.6, "capture": 0.8, "precision": 0.64},
    {"share": 0.75, "threshold": 0.3, "capture": 0.95, "precision": 0.5},
    {"share": 1.0, "threshold": 0.05, "capture": 1.0, "precision": 0.4},
]


def test_the_threshold_admits_the_share_of_leads_sales_can_work():
    found = suggest(CURVE, capacity_per_week=100, leads_per_week=200)  # half fits
    assert (found.share, found.threshold, found.capture) == (0.5, 0.6, 0.8)
    assert found.lift == pytest.approx(0.64 / 0.4)
    assert found.conversions_per_week == pytest.approx(0.64 * 100)


def test_a_capacity_between_points_takes_the_point_below_and_more_capacity_admits_all():
    assert suggest(CURVE, capacity_per_week=130, leads_per_week=200).threshold == 0.6
    assert suggest(CURVE, capacity_per_week=900, leads_per_week=200).threshold == 0.05
    assert suggest(CURVE, capacity_per_week=1, leads_per_week=200).threshold == 0.9


def test_no_inflow_is_refused():
    with pytest.raises(ValidationError, match="no leads arrive"):
        suggest(CURVE, capacity_per_week=10, leads_per_week=0)
