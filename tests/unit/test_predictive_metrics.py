"""Evaluation metrics: hand-worked examples, and equal to scikit-learn's own functions."""

from __future__ import annotations

import math
import random

import pytest
from sklearn import metrics as skm
from sklearn.calibration import calibration_curve

from leadfunnel.services.predictive.evaluation import (
    brier_score,
    calibration_table,
    capture_curve,
    lift_table,
    log_loss,
    roc_auc,
)

LABELS = [1, 0, 1, 0]
PROBS = [0.9, 0.8, 0.3, 0.1]


def _random_case(seed: int, n: int = 300, ties: bool = False):
    rng = random.Random(seed)
    probs = [rng.random() for _ in range(n)]
    if ties:
        probs = [round(p, 1) for p in probs]
    labels = [int(rng.random() < p) for p in probs]
    return labels, probs


def test_auc_of_the_worked_example_counts_correctly_ordered_pairs():
    # (0.9, 0.8), (0.9, 0.1), (0.3, 0.1) ordered; (0.3, 0.8) not: 3 of 4 pairs.
    assert roc_auc(LABELS, PROBS) == 0.75


def test_auc_counts_a_tie_between_a_positive_and_a_negative_as_half():
    assert roc_auc([1, 0], [0.5, 0.5]) == 0.5
    assert roc_auc([1, 0, 0], [0.7, 0.7, 0.1]) == 0.75


def test_auc_without_both_classes_is_undefined():
    assert roc_auc([1, 1], [0.2, 0.3]) is None


@pytest.mark.parametrize(("seed", "ties"), [(1, False), (2, True), (3, True)])
def test_auc_log_loss_and_brier_equal_scikit_learn(seed, ties):
    labels, probs = _random_case(seed, ties=ties)
    assert roc_auc(labels, probs) == pytest.approx(skm.roc_auc_score(labels, probs), abs=1e-12)
    clipped = [min(max(p, 1e-15), 1 - 1e-15) for p in probs]
    assert log_loss(labels, probs) == pytest.approx(skm.log_loss(labels, clipped), abs=1e-12)
    assert brier_score(labels, probs) == pytest.approx(skm.brier_score_loss(labels, probs))


def test_log_loss_of_the_worked_example():
    expected = -(math.log(0.9) + math.log(0.2) + math.log(0.3) + math.log(0.9)) / 4
    assert log_loss(LABELS, PROBS) == pytest.approx(expected)
    assert round(log_loss(LABELS, PROBS), 3) == 0.756


def test_lift_and_capture_of_the_worked_example_in_halves():
    top, bottom = lift_table(LABELS, PROBS, groups=2)
    assert (top["leads"], top["positives"], top["rate"], top["lift"], top["capture"]) == (
        2, 1.0, 0.5, 1.0, 0.5
    )  # fmt: skip
    assert (bottom["positives"], bottom["capture"]) == (1.0, 1.0)


def test_lift_by_decile_ranks_the_best_leads_first():
    labels = [1] * 10 + [0] * 90
    scores = [1.0 - i / 100 for i in range(100)]  # the 10 positives score highest
    rows = lift_table(labels, scores)
    assert [r["group"] for r in rows] == list(range(1, 11))
    assert rows[0]["rate"] == 1.0 and rows[0]["lift"] == 10.0 and rows[0]["capture"] == 1.0
    assert all(r["positives"] == 0 for r in rows[1:])


def test_tied_scores_spread_their_positives_over_the_groups_they_span():
    # Four leads with one score, two positives: each half holds two of them, so one positive
    # each - whatever the row order.
    for labels in ([1, 1, 0, 0], [0, 0, 1, 1], [1, 0, 1, 0]):
        top, bottom = lift_table(labels, [5, 5, 5, 5], groups=2)
        assert top["positives"] == bottom["positives"] == 1.0


def test_capture_curve_reads_threshold_capture_and_precision_at_each_share():
    curve = capture_curve(LABELS, PROBS, points=4)
    assert [c["share"] for c in curve] == [0.25, 0.5, 0.75, 1.0]
    assert [c["threshold"] for c in curve] == [0.9, 0.8, 0.3, 0.1]
    assert [c["capture"] for c in curve] == [0.5, 0.5, 1.0, 1.0]
    assert [c["precision"] for c in curve] == [1.0, 0.5, 2 / 3, 0.5]


def test_calibration_table_equals_scikit_learn_uniform_bins():
    labels, probs = _random_case(4, n=500)
    observed, predicted = calibration_curve(labels, probs, n_bins=10, strategy="uniform")
    table = calibration_table(labels, probs)
    assert [r["observed"] for r in table] == pytest.approx(list(observed))
    assert [r["predicted"] for r in table] == pytest.approx(list(predicted))
    assert sum(r["leads"] for r in table) == 500


def test_calibration_table_of_a_small_example():
    table = calibration_table([1, 0, 1], [0.05, 0.15, 0.95])
    assert [(r["low"], r["leads"], r["observed"]) for r in table] == [
        (0.0, 1, 1.0), (0.1, 1, 0.0), (0.9, 1, 1.0)
    ]  # fmt: skip
