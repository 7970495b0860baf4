"""The opportunity pipeline: its stages, their default win probabilities, and legal moves.

Open stages (``qualification``, ``proposal``, ``negotiation``) move freely among themselves,
forward or back, as deals do. ``won`` and ``lost`` close a deal; a move to ``lost`` names the
reason (it feeds the lost-reason analytics). A closed deal stays closed: a customer who buys
again is a new opportunity (a repurchase), which keeps win rates and cycle times honest.
"""

from __future__ import annotations

from leadfunnel.domain.errors import IllegalTransition, ValidationError

__all__ = [
    "CLOSED",
    "FORECAST_CATEGORIES",
    "OPEN_STAGES",
    "PIPELINE",
    "STAGE_PROBABILITY",
    "check_forecast_category",
    "check_opportunity_move",
]

OPEN_STAGES = ("qualification", "proposal", "negotiation")
CLOSED = ("won", "lost")
PIPELINE = (*OPEN_STAGES, *CLOSED)
#: Default probability that a deal in the stage is won (weighted pipeline, forecasts).
STAGE_PROBABILITY = {
    "qualification": 0.1,
    "proposal": 0.35,
    "negotiation": 0.6,
    "won": 1.0,
    "lost": 0.0,
}
#: The rep's forecast call on an open deal, weakest first; each includes the ones after it
#: in roll-ups (best case = best_case + commit + closed won). ``closed won`` is not set by
#: hand: a won deal is closed won. A deal without a call counts as ``pipeline``.
FORECAST_CATEGORIES = ("pipeline", "best_case", "commit")


def check_forecast_category(value: str) -> None:
    """Raise unless ``value`` is a forecast category a rep may set."""
    if value not in FORECAST_CATEGORIES:
        raise ValidationError(
            "forecast_category",
            f"'{value}' is not a forecast category; expected one of: {', '.join(FORECAST_CATEGORIES)}",
        )


def check_opportunity_move(current: str, target: str, lost_reason: str | None) -> None:
    """Raise unless ``current -> target`` is allowed (and a lost deal says why)."""
    if target not in PIPELINE:
        raise ValidationError(
            "to", f"'{target}' is not a pipeline stage; expected one of: {', '.join(PIPELINE)}"
        )
    if current in CLOSED:
        raise IllegalTransition(current, target, [])
    if target == current:
        raise ValidationError("to", f"the opportunity is already in '{current}'")
    if target == "lost" and not (lost_reason and lost_reason.strip()):
        raise ValidationError("lost_reason", "say why the deal was lost")
