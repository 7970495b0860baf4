"""Features: what a lead looked like at its scoring moment, as one token per feature.

Every feature becomes exactly one categorical token ``"feature=value"``, so both the
logistic model and the naive-Bayes baseline read the same encoding, and a learned weight
reads as a sentence ("channel=webinar: +0.8").

* **Fields** (fit, source): the lead column or custom field, lower-cased and trimmed;
  an empty value is ``(missing)``; a value seen fewer than ``min_count`` times in training
  is ``(other)``.
* **Numeric fields** are binned at the training data's deciles (edges rounded to 3
  significant digits): ``company_size=200-1000`` means 200 <= size < 1000.
* **Behaviour**, from what happened up to the scoring moment only:
  ``touches`` (count, binned 0, 1, 2, 3-5, 6-10, 11+), ``touches.KIND`` per touchpoint
  kind (0, 1, 2, 3-5, 6+), ``last_touch`` (days between the last touch and the scoring
  moment) and ``first_response`` (hours from creation to the first sales activity, or
  ``none yet``).

>>> enc = Encoder(categorical={"channel": ["webinar"]}, numeric={"company_size": [50.0, 500.0]},
...               touch_kinds=[], behaviour=False)
>>> enc.tokens({"channel": "Webinar", "company_size": 120})
['channel=webinar', 'company_size=50-500']
>>> enc.tokens({"channel": "fax", "company_size": None})
['channel=(other)', 'company_size=(missing)']
"""

from __future__ import annotations

import bisect
import math
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from leadfunnel.services.predictive.history import LeadHistory
from leadfunnel.services.predictive.spec import TrainingSpec

__all__ = ["MISSING", "OTHER", "Encoder", "observe"]

MISSING = "(missing)"
OTHER = "(other)"
BEHAVIOUR = ("touches", "last_touch", "first_response")

_TOUCH_BINS = ((0, "0"), (1, "1"), (2, "2"), (3, "3-5"), (6, "6-10"), (11, "11+"))
_KIND_BINS = ((0, "0"), (1, "1"), (2, "2"), (3, "3-5"), (6, "6+"))
_DAY_BINS = ((0, "<1d"), (1, "1-2d"), (3, "3-6d"), (7, "7-29d"), (30, "30d+"))
_HOUR_BINS = ((0, "<1h"), (1, "1-4h"), (4, "4-24h"), (24, "1-3d"), (72, "3d+"))


def observe(history: LeadHistory, spec: TrainingSpec, as_of: datetime) -> dict[str, Any]:
    """The raw features of a lead as of ``as_of`` (nothing later is looked at)."""
    raw = {name: history.value(name) for name in spec.fields}
    if not spec.behaviour:
        return raw
    seen = [(at, kind) for at, kind in history.touches if at <= as_of]
    raw["touches"] = len(seen)
    for kind, count in Counter(kind for _, kind in seen).items():
        raw[f"touches.{kind}"] = count
    raw["last_touch"] = (as_of - seen[-1][0]).total_seconds() / 86400 if seen else None
    first = history.first_response_at
    raw["first_response"] = (
        (first - history.created_at).total_seconds() / 3600
        if first is not None and first <= as_of
        else None
    )
    return raw


def _bin(value: float, bins: Sequence[tuple[float, str]]) -> str:
    return next(label for low, label in reversed(bins) if value >= low)


def _number(value: Any) -> float | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        number = float(str(value).strip())
    except ValueError:
        return None
    return number if math.isfinite(number) else None


def _text(value: Any) -> str:
    if value is None:
        return MISSING
    text = str(value).strip().lower() if not isinstance(value, bool) else str(value).lower()
    return text or MISSING


def _round(value: float) -> float:
    return float(f"{value:.3g}")


def _fmt(value: float) -> str:
    return f"{value:g}"


@dataclass(frozen=True)
class Encoder:
    """Raw features -> tokens. Learned from training data; stored in the model as data."""

    categorical: dict[str, list[str]]
    numeric: dict[str, list[float]]
    touch_kinds: list[str]
    behaviour: bool
    _kept: dict[str, frozenset[str]] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        kept = {name: frozenset(values) for name, values in self.categorical.items()}
        object.__setattr__(self, "_kept", kept)

    @classmethod
    def fit(cls, raws: Sequence[Mapping[str, Any]], spec: TrainingSpec) -> Encoder:
        categorical: dict[str, list[str]] = {}
        numeric: dict[str, list[float]] = {}
        for name in spec.fields:
            if name in spec.numeric:
                values = sorted(v for r in raws if (v := _number(r.get(name))) is not None)
                numeric[name] = _decile_edges(values)
            else:
                counts = Counter(_text(r.get(name)) for r in raws)
                kept = sorted(v for v, n in counts.items() if n >= spec.min_count and v != MISSING)
                categorical[name] = kept
        kinds = Counter(k for r in raws for k in r if k.startswith("touches."))
        touch_kinds = sorted(
            k.removeprefix("touches.") for k, n in kinds.items() if n >= spec.min_count
        )
        return cls(categorical, numeric, touch_kinds, spec.behaviour)

    def tokens(self, raw: Mapping[str, Any]) -> list[str]:
        """One ``feature=value`` token per feature, in a fixed order."""
        out = []
        for name, kept in self._kept.items():
            value = _text(raw.get(name))
            out.append(f"{name}={value if value == MISSING or value in kept else OTHER}")
        for name, edges in self.numeric.items():
            out.append(f"{name}={self._numeric_label(_number(raw.get(name)), edges)}")
        if self.behaviour:
            out.append(f"touches={_bin(raw.get('touches') or 0, _TOUCH_BINS)}")
            out += [
                f"touches.{k}={_bin(raw.get(f'touches.{k}') or 0, _KIND_BINS)}"
                for k in self.touch_kinds
            ]
            days, hours = raw.get("last_touch"), raw.get("first_response")
            out.append(f"last_touch={'none' if days is None else _bin(days, _DAY_BINS)}")
            out.append(f"first_response={'none yet' if hours is None else _bin(hours, _HOUR_BINS)}")
        return out

    @staticmethod
    def _numeric_label(value: float | None, edges: list[float]) -> str:
        if value is None:
            return MISSING
        if not edges:
            return "any"
        i = bisect.bisect_right(edges, value)
        if i == 0:
            return f"<{_fmt(edges[0])}"
        if i == len(edges):
            return f">={_fmt(edges[-1])}"
        return f"{_fmt(edges[i - 1])}-{_fmt(edges[i])}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "categorical": self.categorical,
            "numeric": self.numeric,
            "touch_kinds": self.touch_kinds,
            "behaviour": self.behaviour,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Encoder:
        return cls(
            categorical={k: list(v) for k, v in data["categorical"].items()},
            numeric={k: [float(e) for e in v] for k, v in data["numeric"].items()},
            touch_kinds=list(data["touch_kinds"]),
            behaviour=bool(data["behaviour"]),
        )


def _decile_edges(values: Sequence[float]) -> list[float]:
    """Bin edges at the deciles of ``values`` (sorted), rounded and de-duplicated."""
    if not values:
        return []
    edges = {_round(values[min(len(values) - 1, (len(values) * q) // 10)]) for q in range(1, 10)}
    return sorted(e for e in edges if e > values[0])
