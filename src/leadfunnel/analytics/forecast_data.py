"""The facts a forecast reads, and what of them was known at a past moment.

A :class:`Deal` is an opportunity with its append-only stage history and the dimensions the
forecast segments and breaks down by. A lead can stand in for one (``subject=leads``: its
lifecycle history, an amount of 1, so bookings count won leads) where a store keeps the
lifecycle but no deals, as the Olist data set does. Times are *days since 1970-01-01 UTC* as floats, so the
estimator and the simulation work on numpy arrays; :func:`day_number` and :func:`day_time`
convert.

:func:`known_at` is the one place a backtest forgets the future: a deal created after the
as-of moment does not exist yet, and of the others only stage changes made by then count.
So a deal won on 10 March, seen as of 1 March, is open in the stage it was in on 1 March.
What the write store keeps only as a current value (amount, expected close, forecast
category, next step) cannot be rewound; the forecast model uses the amount only, and
docs/concepts/forecasting.md says what that means for backtests.

Example::

    >>> d = Deal("d1", 1000.0, created=10.0, history=((10.0, "qualification"), (25.0, "won")))
    >>> d.outcome, d.closed_at
    ('won', 25.0)
    >>> known_at(d, 20.0).outcome
    'open'
    >>> known_at(d, 5.0) is None
    True
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta

__all__ = [
    "AMOUNT_BANDS",
    "BREAKDOWNS",
    "NONE",
    "SEGMENT_LEVELS",
    "Deal",
    "amount_band",
    "day_number",
    "day_time",
    "known_at",
]

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
#: Stages that end a deal's (or a lead's) story, and how.
_OUTCOMES = {"won": "won", "lost": "lost", "disqualified": "lost"}
#: The value of a dimension a deal lacks.
NONE = "(none)"
#: Deal size bands (USD, upper bounds exclusive), for segmenting the learned probabilities.
AMOUNT_BANDS = (
    (5_000.0, "<5k"),
    (20_000.0, "5k-20k"),
    (50_000.0, "20k-50k"),
    (100_000.0, "50k-100k"),
)
#: What a forecast may be broken down by (``rep`` is the deal's owner).
BREAKDOWNS = ("team", "rep", "product", "channel")
#: The segment dimensions, broadest first: each is shrunk toward the one before it.
SEGMENT_LEVELS = ("size_band", "product", "channel", "team")


def day_number(at: datetime | date) -> float:
    """Days since 1970-01-01 UTC; a ``date`` is its midnight UTC, a naive time is UTC."""
    if not isinstance(at, datetime):
        at = datetime(at.year, at.month, at.day, tzinfo=UTC)
    elif at.tzinfo is None:
        at = at.replace(tzinfo=UTC)
    return (at - _EPOCH).total_seconds() / 86_400


def day_time(days: float) -> datetime:
    """The UTC time of a day number (inverse of :func:`day_number`)."""
    return _EPOCH + timedelta(days=days)


def amount_band(amount: float) -> str:
    for upper, label in AMOUNT_BANDS:
        if amount < upper:
            return label
    return "100k+"


@dataclass(frozen=True)
class Deal:
    """One opportunity: amount, creation, stage changes ``(at, to_stage)`` oldest first, the
    dimensions it is segmented and broken down by, and the rep's current forecast inputs."""

    id: str
    amount: float
    created: float
    history: tuple[tuple[float, str], ...]
    owner: str = NONE
    team: str = NONE
    product: str = NONE
    channel: str = NONE
    expected_close: float | None = None
    category: str | None = None
    next_step: str | None = None

    def __post_init__(self) -> None:
        # Read millions of times by the estimator: worked out once (the fields are frozen).
        stage = self.history[-1][1] if self.history else "qualification"
        object.__setattr__(self, "_stage", stage)
        object.__setattr__(self, "_outcome", _OUTCOMES.get(stage, "open"))
        object.__setattr__(self, "size_band", amount_band(self.amount))

    @property
    def stage(self) -> str:
        """The stage now: the last change's, or ``qualification`` before the first."""
        return self._stage  # type: ignore[attr-defined,no-any-return]

    @property
    def outcome(self) -> str:
        """``won``, ``lost`` (a lead also when ``disqualified``) or ``open``."""
        return self._outcome  # type: ignore[attr-defined,no-any-return]

    @property
    def closed_at(self) -> float | None:
        return self.history[-1][0] if self.outcome != "open" else None

    @property
    def stage_entered(self) -> float:
        """When the deal entered its current stage (its creation if it has no history)."""
        return self.history[-1][0] if self.history else self.created

    def dimension(self, name: str) -> str:
        """A segment or breakdown value by name (``rep`` is the owner; ``size_band`` the
        :data:`AMOUNT_BANDS` label of the amount)."""
        return self.owner if name == "rep" else str(getattr(self, name))


def known_at(deal: Deal, as_of: float) -> Deal | None:
    """The deal as it stood at ``as_of``: None if not yet created; else only the stage
    changes made by then (a close after ``as_of`` has not happened)."""
    if deal.created > as_of:
        return None
    if not deal.history or deal.history[-1][0] <= as_of:
        return deal
    return replace(deal, history=tuple(h for h in deal.history if h[0] <= as_of))
