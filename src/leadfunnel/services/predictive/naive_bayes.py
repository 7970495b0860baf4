"""The naive-Bayes frequency baseline, after Odoo CRM's predictive lead scoring.

Odoo counts, for every field value, how many closed leads with that value were won and
lost, adding 0.1 to each count so no frequency is zero. A lead's probability is

    P(won)  * prod over its fields of won_count(value)  / won_total(field)
    ---------------------------------------------------------------------------------
    that  +  P(lost) * prod over its fields of lost_count(value) / lost_total(field)

where ``won_total(field)`` sums the (smoothed) won counts of the field's values, and the
priors are the shares of won and lost leads. Unset values and values never seen in training
are skipped, and the result is clamped to [0.0001, 0.9999] (Odoo shows 0.01 %-99.99 %).

Here it reads the same tokens as the learned model (``feature=value``), so the comparison
is about the learner, not the features.

Worked example: 4 training leads, ``channel=web`` won, ``channel=web`` lost,
``channel=event`` won, ``channel=event`` won. Counts: web 1.1 won / 1.1 lost,
event 2.1 / 0.1; totals 3.2 / 1.2; priors 3/4, 1/4. A web lead:
0.75 * 1.1/3.2 = 0.2578 against 0.25 * 1.1/1.2 = 0.2292, so P = 0.2578 / 0.4870 = 0.529.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from leadfunnel.services.predictive.features import MISSING

__all__ = ["FrequencyModel", "SMOOTHING"]

SMOOTHING = 0.1
_FLOOR, _CEILING = 0.0001, 0.9999


@dataclass(frozen=True)
class FrequencyModel:
    won: int
    lost: int
    #: feature -> value -> (smoothed won count, smoothed lost count)
    counts: dict[str, dict[str, tuple[float, float]]]
    #: feature -> (won total, lost total) over its values
    totals: dict[str, tuple[float, float]]

    @classmethod
    def fit(cls, rows: Sequence[Sequence[str]], labels: Sequence[int]) -> FrequencyModel:
        raw: dict[str, dict[str, list[int]]] = {}
        for tokens, label in zip(rows, labels, strict=True):
            for feature, value in _pairs(tokens):
                raw.setdefault(feature, {}).setdefault(value, [0, 0])[0 if label else 1] += 1
        counts = {
            f: {v: (w + SMOOTHING, n + SMOOTHING) for v, (w, n) in values.items()}
            for f, values in raw.items()
        }
        totals = {
            f: (sum(w for w, _ in values.values()), sum(n for _, n in values.values()))
            for f, values in counts.items()
        }
        won = sum(1 for label in labels if label)
        return cls(won, len(labels) - won, counts, totals)

    def probability(self, tokens: Sequence[str]) -> float:
        if not self.won or not self.lost:
            return self.won / max(1, self.won + self.lost)
        total = self.won + self.lost
        log_won, log_lost = math.log(self.won / total), math.log(self.lost / total)
        for feature, value in _pairs(tokens):
            found = self.counts.get(feature, {}).get(value)
            if found is None:
                continue
            won_total, lost_total = self.totals[feature]
            log_won += math.log(found[0] / won_total)
            log_lost += math.log(found[1] / lost_total)
        p = 1.0 / (1.0 + math.exp(log_lost - log_won))
        return min(max(p, _FLOOR), _CEILING)


def _pairs(tokens: Sequence[str]) -> list[tuple[str, str]]:
    """(feature, value) of each token whose field is set: Odoo skips unset fields."""
    pairs = []
    for token in tokens:
        feature, _, value = token.partition("=")
        if value != MISSING:
            pairs.append((feature, value))
    return pairs
