"""The learner: L2-regularised logistic regression over feature tokens, Platt-calibrated,
stored as plain data.

**Fit** (:func:`fit_logistic`, scikit-learn): one-hot tokens; the regularisation strength C
is chosen from :data:`C_GRID` by 5-fold out-of-fold log loss on the training leads; the
final weights are fit on all of them.

**Calibration** (Platt scaling): the out-of-fold scores of the chosen C are mapped to
probabilities by a one-variable logistic fit, ``p = 1 / (1 + exp(-(slope * z + offset)))``,
so the probability of a lead is fitted on leads its weights never saw.

**Storage.** A model is JSON (:meth:`LogisticModel.to_dict`): the encoder, the intercept, one
weight per token, the calibration's two numbers. Never a pickle: loading one from a
database runs code. Prediction is plain Python over the stored numbers, so a model read
back gives bit-for-bit the probabilities it gave when it was evaluated.

**Factors.** A token's weight minus the average weight of its feature over the training
leads, times the calibration slope: how much this value moves the lead's log-odds away
from an average lead's. Example: weights ``channel=webinar`` +0.9, ``channel=paid_search``
-0.1, average over training leads +0.2 -> a webinar lead's channel factor is +0.7.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from leadfunnel.services.predictive.features import Encoder

__all__ = ["C_GRID", "FORMAT", "Factor", "LogisticModel", "fit_logistic"]

FORMAT = "leadfunnel.logistic/1"
C_GRID = (0.01, 0.03, 0.1, 0.3, 1.0)
FOLDS = 5
#: Newton-CG: exact on a few hundred one-hot columns, and several times faster than L-BFGS.
SOLVER = "newton-cg"


def _sigmoid(z: float) -> float:
    if z >= 0:
        return 1.0 / (1.0 + math.exp(-z))
    e = math.exp(z)
    return e / (1.0 + e)


@dataclass(frozen=True)
class Factor:
    """One feature's push on a lead's probability, in (calibrated) log-odds."""

    feature: str
    value: str
    effect: float

    def to_dict(self) -> dict[str, Any]:
        return {"feature": self.feature, "value": self.value, "effect": round(self.effect, 4)}


@dataclass(frozen=True)
class LogisticModel:
    encoder: Encoder
    intercept: float
    weights: dict[str, float]
    #: Per feature: the average weight of its tokens over the training leads.
    feature_means: dict[str, float]
    slope: float
    offset: float
    C: float

    def score(self, tokens: Sequence[str]) -> float:
        """The uncalibrated log-odds."""
        z = self.intercept
        for token in tokens:
            z += self.weights.get(token, 0.0)
        return z

    def probability_of(self, tokens: Sequence[str]) -> float:
        """The calibrated probability of a lead with these tokens."""
        return _sigmoid(self.slope * self.score(tokens) + self.offset)

    def probability(self, raw: Mapping[str, Any]) -> float:
        return self.probability_of(self.encoder.tokens(raw))

    def factors(self, raw: Mapping[str, Any], top: int = 3) -> list[Factor]:
        """The ``top`` features that move this lead furthest from an average lead."""
        found = []
        for token in self.encoder.tokens(raw):
            feature, _, value = token.partition("=")
            effect = self.slope * (
                self.weights.get(token, 0.0) - self.feature_means.get(feature, 0.0)
            )
            found.append(Factor(feature, value, effect))
        found.sort(key=lambda f: (-abs(f.effect), f.feature))
        return found[:top]

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "encoder": self.encoder.to_dict(),
            "intercept": self.intercept,
            "weights": self.weights,
            "feature_means": self.feature_means,
            "calibration": {"method": "sigmoid", "slope": self.slope, "offset": self.offset},
            "regularisation": {"penalty": "l2", "C": self.C},
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> LogisticModel:
        if data.get("format") != FORMAT:
            raise ValueError(f"not a {FORMAT} model: {data.get('format')!r}")
        calibration = data["calibration"]
        return cls(
            encoder=Encoder.from_dict(data["encoder"]),
            intercept=float(data["intercept"]),
            weights={k: float(v) for k, v in data["weights"].items()},
            feature_means={k: float(v) for k, v in data["feature_means"].items()},
            slope=float(calibration["slope"]),
            offset=float(calibration["offset"]),
            C=float(data["regularisation"]["C"]),
        )


def fit_logistic(
    encoder: Encoder, rows: Sequence[Sequence[str]], labels: Sequence[int]
) -> LogisticModel:
    """Fit, choose C and calibrate on the training leads' tokens (``encoder.tokens``; see
    the module docstring). Deterministic."""
    import numpy as np
    from scipy.sparse import csr_matrix
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import log_loss
    from sklearn.model_selection import StratifiedKFold

    vocabulary = sorted({t for tokens in rows for t in tokens})
    index = {t: i for i, t in enumerate(vocabulary)}
    cols = [index[t] for tokens in rows for t in tokens]
    ptr = np.cumsum([0, *(len(tokens) for tokens in rows)])
    x = csr_matrix((np.ones(len(cols)), cols, ptr), shape=(len(rows), len(vocabulary)))
    y = np.asarray(labels)
    folds = list(StratifiedKFold(FOLDS, shuffle=True, random_state=0).split(x, y))

    def out_of_fold(c: float) -> Any:
        scores = np.zeros(len(y))
        for fit_idx, held_idx in folds:
            model = LogisticRegression(C=c, solver=SOLVER, max_iter=1000).fit(
                x[fit_idx], y[fit_idx]
            )
            scores[held_idx] = model.decision_function(x[held_idx])
        return scores

    candidates = [(c, out_of_fold(c)) for c in C_GRID]
    best_c, scores = min(
        candidates, key=lambda cand: log_loss(y, 1 / (1 + np.exp(-cand[1])), labels=[0, 1])
    )
    platt = LogisticRegression(C=1e6, max_iter=2000).fit(scores.reshape(-1, 1), y)
    final = LogisticRegression(C=best_c, solver=SOLVER, max_iter=1000).fit(x, y)
    weights = {t: float(w) for t, w in zip(vocabulary, final.coef_[0], strict=True)}
    sums: dict[str, float] = {}
    for tokens in rows:
        for token in tokens:
            feature = token.partition("=")[0]
            sums[feature] = sums.get(feature, 0.0) + weights[token]
    return LogisticModel(
        encoder=encoder,
        intercept=float(final.intercept_[0]),
        weights=weights,
        feature_means={f: s / len(rows) for f, s in sums.items()},
        slope=float(platt.coef_[0][0]),
        offset=float(platt.intercept_[0]),
        C=best_c,
    )
