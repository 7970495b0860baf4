"""What an attribution question is: a frozen, validated spec, normalised once.

A question names a **model** (:data:`MODELS`), the **conversion** it explains (reaching
``mql``, ``sql``, ``opportunity`` or ``won``; ``won`` is weighted by the won revenue), the
**level** (``lead``: each lead's own touches; ``account``: the touches of every lead of an
account explain the account's conversion), a **lookback** window (touches more than that
before the conversion do not count), the touchpoint **kinds** to include, the **period**
(leads created from ``period_from`` to ``period_to``, inclusive UTC days, as for KPIs and
their spend) and the breakdown ``by`` channel or campaign.

Position-based models are one weighting function over four **anchors** (the first touch,
the lead-creation touch, the opportunity-creation touch, the last touch before the
conversion) and the **middle** (every other touch); see :mod:`.attribution`.

>>> spec = attribution_spec(model="w_shaped", conversion="won", lookback="90d")
>>> spec.weights.first, spec.weights.lead, spec.weights.opportunity, spec.weights.middle
(0.3, 0.3, 0.3, 0.1)
>>> attribution_spec(model="custom", weights="first=0.5,last=0.5").weights.last
0.5
"""

from __future__ import annotations

import math
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, fields
from datetime import date
from enum import StrEnum

from leadfunnel.analytics.funnel_spec import parse_window
from leadfunnel.domain.errors import ValidationError

__all__ = [
    "DATA_DRIVEN",
    "MODELS",
    "POSITION_WEIGHTS",
    "AttributionSpec",
    "Conversion",
    "Level",
    "PositionWeights",
    "attribution_spec",
    "parse_weights",
]


class Conversion(StrEnum):
    MQL = "mql"
    SQL = "sql"
    OPPORTUNITY = "opportunity"
    #: Revenue-weighted: a won journey's credits sum to its won revenue.
    WON = "won"


class Level(StrEnum):
    LEAD = "lead"
    #: The leads of one account (or a lead without one, alone) form one journey.
    ACCOUNT = "account"


@dataclass(frozen=True)
class PositionWeights:
    """Shares of the four anchors and of the middle touches; they sum to 1."""

    first: float = 0.0
    lead: float = 0.0
    opportunity: float = 0.0
    last: float = 0.0
    middle: float = 0.0

    def anchors(self) -> dict[str, float]:
        return {"first": self.first, "lead": self.lead, "opportunity": self.opportunity,
                "last": self.last}  # fmt: skip


#: The named position-based models.
POSITION_WEIGHTS: dict[str, PositionWeights] = {
    "linear": PositionWeights(middle=1.0),
    "u_shaped": PositionWeights(first=0.4, lead=0.4, middle=0.2),
    "w_shaped": PositionWeights(first=0.3, lead=0.3, opportunity=0.3, middle=0.1),
    "full_path": PositionWeights(
        first=0.225, lead=0.225, opportunity=0.225, last=0.225, middle=0.1
    ),
    "j_shaped": PositionWeights(first=0.2, last=0.6, middle=0.2),
    "inverse_j": PositionWeights(first=0.6, last=0.2, middle=0.2),
}
SINGLE_TOUCH = ("first_touch", "last_touch", "last_non_direct")
DATA_DRIVEN = ("markov", "shapley")
#: Every model, in the order they are listed and compared.
MODELS = (*SINGLE_TOUCH, *POSITION_WEIGHTS, "custom", "time_decay", *DATA_DRIVEN)
#: Highest Markov order accepted (states are the last ``order`` channels).
MAX_ORDER = 4


@dataclass(frozen=True)
class AttributionSpec:
    """An attribution question (see the module docstring). ``weights`` is set for the
    position-based models and ``custom``; ``owners`` (None: every lead) limits the leads."""

    model: str = "linear"
    conversion: Conversion = Conversion.WON
    level: Level = Level.LEAD
    by: str = "channel"
    lookback_days: float | None = None
    kinds: tuple[str, ...] | None = None
    period_from: date | None = None
    period_to: date | None = None
    half_life_days: float = 7.0
    order: int = 1
    weights: PositionWeights | None = None
    owners: frozenset[uuid.UUID] | None = None


def parse_weights(text: str) -> PositionWeights:
    """``'first=0.4,lead=0.4,middle=0.2'`` -> :class:`PositionWeights` (must sum to 1)."""
    names = [f.name for f in fields(PositionWeights)]
    values: dict[str, float] = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        name, sep, raw = part.partition("=")
        name = name.strip().lower()
        if not sep or name not in names:
            raise ValidationError(
                "weights", f"'{part}' is not NAME=SHARE with NAME one of: {', '.join(names)}"
            )
        try:
            share = float(raw)
        except ValueError:
            raise ValidationError("weights", f"'{raw}' is not a number") from None
        if not math.isfinite(share) or share < 0:
            raise ValidationError("weights", f"{name} must be a number of 0 or more, got {raw}")
        values[name] = share
    if not math.isclose(sum(values.values()), 1.0, abs_tol=1e-9):
        raise ValidationError("weights", f"shares must sum to 1, got {sum(values.values()):g}")
    return PositionWeights(**values)


def _choice(value: str | None, field: str, choices: Iterable[str], default: str) -> str:
    clean = (value or default).strip().lower()
    options = list(choices)
    if clean not in options:
        raise ValidationError(field, f"'{value}' is not one of: {', '.join(options)}")
    return clean


def attribution_spec(
    *,
    model: str | None = None,
    conversion: str | None = None,
    level: str | None = None,
    by: str | None = None,
    lookback: str | float | None = None,
    kinds: Iterable[str] | None = None,
    period_from: date | None = None,
    period_to: date | None = None,
    half_life: str | float | None = None,
    order: int | None = None,
    weights: str | None = None,
    owners: frozenset[uuid.UUID] | None = None,
) -> AttributionSpec:
    """Validate loose options into an :class:`AttributionSpec`; errors name the field."""
    name = _choice(model, "model", MODELS, "linear")
    if weights is not None and name != "custom":
        raise ValidationError("weights", "only the custom model takes weights")
    if name == "custom" and weights is None:
        raise ValidationError("weights", "the custom model needs weights, e.g. first=0.5,last=0.5")
    chosen = parse_weights(weights) if weights is not None else POSITION_WEIGHTS.get(name)
    if order is not None and not 1 <= order <= MAX_ORDER:
        raise ValidationError("order", f"must be between 1 and {MAX_ORDER}, got {order}")
    if period_from and period_to and period_from > period_to:
        raise ValidationError(
            "period_from", f"{period_from} is after the end of the period, {period_to}"
        )
    kind_list = None if kinds is None else tuple(sorted({k.strip() for k in kinds if k.strip()}))
    return AttributionSpec(
        model=name,
        conversion=Conversion(_choice(conversion, "conversion", Conversion, "won")),
        level=Level(_choice(level, "level", Level, "lead")),
        by=_choice(by, "by", ("channel", "campaign"), "channel"),
        lookback_days=parse_window(lookback, field="lookback"),
        kinds=kind_list or None,
        period_from=period_from,
        period_to=period_to,
        half_life_days=parse_window(half_life, field="half_life") or 7.0,
        order=order or 1,
        weights=chosen,
        owners=owners,
    )
