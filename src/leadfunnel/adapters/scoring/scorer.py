"""Scoring many leads at once: :func:`leadfunnel.rules.scoring.score_lead`, column-wise.

:func:`score_model` gives one row per lead of the lead frame, with exactly the numbers
``score_lead`` gives that lead (the tests hold them equal on random leads, touches and
models), computed rule by rule over whole columns:

* **fit**: each rule's condition over the lead frame; ``fit`` adds the points of the rules
  that hold, in rule order (the same float additions as the pure sum);
* **behaviour**: each rule's condition over the touch frame (touches up to ``now``, ordered
  by lead, time, then as given). Within a (lead, period) group every matching touch earns
  the rule's points while the running total before it leaves room for them; the first
  touch that does not fit earns what is left, later ones nothing. This is the pure loop's
  running cap in closed form: the running total is the same sequence of float additions
  (a cumulative sum), so the points are identical, not merely close. Decay multiplies by
  ``0.5 ** (age_days / half_life_days)``; sums per lead are cumulative sums in time order,
  as the loop adds; the rule's cap clips the total;
* grades, priority tiers and the first qualification rule that moves the lead, over the
  lead frame plus the new score.

Columns: ``applies``; ``fit{i}`` (fit rule i holds); ``beh{i}_events``, ``beh{i}_points``,
``beh{i}_before``, ``beh{i}_capped`` (behaviour rule i; 0 events: no hit); ``fit``,
``engagement``, ``score``, ``fit_grade``, ``engagement_tier``, ``grade``, ``priority``;
``qualify`` (index of the qualification rule that moves the lead, or null) and ``holds{i}``
(qualification rule i's condition holds, whatever the stage).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import polars as pl

from leadfunnel.adapters.scoring.conditions import FrameConditions
from leadfunnel.rules.scoring import RuleHit, ScoreBreakdown
from leadfunnel.rules.scoring_model import (
    LEAD_DYNAMIC,
    OUTCOME_FIELDS,
    BehaviourRule,
    ScoringModel,
)

__all__ = ["breakdowns", "prepare_touches", "score_model"]

_DAY_SECONDS = 86_400.0
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_OUTCOME = ("score", "fit", "engagement", "grade", "fit_grade", "engagement_tier")


def micros(moment: datetime) -> int:
    """Microseconds since the Unix epoch, exactly."""
    return (moment - _EPOCH) // timedelta(microseconds=1)


def prepare_touches(touches: pl.DataFrame, now: datetime) -> pl.DataFrame:
    """The touches behaviour rules see: up to ``now``, by lead and time (ties as given)."""
    return touches.filter(pl.col("at") <= now).sort(["_lead", "at"], maintain_order=True)


def score_model(
    leads: FrameConditions, touches: FrameConditions, model: ScoringModel, *, now: datetime
) -> pl.DataFrame:
    """One row per lead of ``leads.frame``: the model's score and its parts (module doc).

    ``touches.frame`` must come from :func:`prepare_touches` with the same ``now``."""
    n = leads.frame.height
    applies = (
        leads.holds(model.applies_to) if model.applies_to is not None
        else pl.repeat(True, n, dtype=pl.Boolean, eager=True)
    )  # fmt: skip
    columns: dict[str, pl.Series] = {"applies": applies.rename("applies")}
    fit = pl.repeat(0.0, n, dtype=pl.Float64, eager=True)
    for i, fit_rule in enumerate(model.fit_rules):
        hit = leads.holds(fit_rule.when)
        columns[f"fit{i}"] = hit.rename(f"fit{i}")
        fit = fit + pl.select(pl.when(hit).then(fit_rule.points).otherwise(0.0)).to_series()
    engagement = pl.repeat(0.0, n, dtype=pl.Float64, eager=True)
    for i, rule in enumerate(model.behaviour_rules):
        events, points, before, capped = _behaviour(rule, touches, n, now)
        columns |= {f"beh{i}_events": events, f"beh{i}_points": points,
                    f"beh{i}_before": before, f"beh{i}_capped": capped}  # fmt: skip
        engagement = engagement + pl.select(
            pl.when(events > 0).then(points).otherwise(0.0)
        ).to_series()
    frame = pl.DataFrame(columns, height=n).with_columns(
        fit=fit, engagement=engagement, score=(fit + engagement).round(0, mode="half_to_even").cast(pl.Int64)
    )
    frame = frame.with_columns(_grades(model))
    frame = frame.with_columns(grade=pl.format("{}{}", "fit_grade", "engagement_tier"))
    return frame.with_columns(_decisions(leads, frame, model))


def _behaviour(
    rule: BehaviourRule, touches: FrameConditions, n: int, now: datetime
) -> tuple[pl.Series, pl.Series, pl.Series, pl.Series]:
    """Per lead: touches matched, points (after caps and decay), points before decay, and
    whether a cap took something away. Arithmetic in numpy: polars divides by multiplying
    with the reciprocal, which is not the float the pure function's division gives."""
    mask = touches.holds(rule.when).to_numpy()
    lead = touches.frame.get_column("_lead").to_numpy()[mask]
    at = touches.frame.get_column("at").cast(pl.Int64).to_numpy()[mask]
    events, total, before = np.zeros(n, np.int64), np.zeros(n), np.zeros(n)
    capped = np.zeros(n, bool)
    if not len(lead):
        return _series(events, total, before, capped)
    rows = np.arange(len(lead))
    starts = np.flatnonzero(np.r_[True, lead[1:] != lead[:-1]])
    step = abs(rule.points)
    short: np.ndarray | None = None
    if rule.period_points is not None and rule.period_days is not None:
        period = np.floor_divide(at.astype(np.float64) / 1e6, rule.period_days * _DAY_SECONDS)
        opens = np.r_[True, (lead[1:] != lead[:-1]) | (period[1:] != period[:-1])]
        rank = rows - np.maximum.accumulate(np.where(opens, rows, 0))  # within (lead, period)
        first_short, room = _period_schedule(step, rule.period_points, int(rank.max()))
        allowed = np.where(rank < first_short, step, np.where(rank == first_short, room, 0.0))
        points = allowed if rule.points >= 0 else -allowed
        short = rank >= first_short
    else:
        points = np.full(len(lead), float(rule.points))
    decayed = points
    if rule.half_life_days is not None:
        age_days = (micros(now) - at).astype(np.float64) / 1e6 / _DAY_SECONDS
        exponent = pl.Series(age_days / rule.half_life_days, dtype=pl.Float64)
        decayed = points * pl.select(pl.lit(0.5).pow(exponent)).to_series().to_numpy()
    who = lead[starts]
    events[who] = np.diff(np.r_[starts, len(lead)])
    total[who] = _sequential_sums(decayed, starts)
    before[who] = _sequential_sums(points, starts)
    if short is not None:
        capped[who] = np.logical_or.reduceat(short, starts)
    if rule.max_points is not None:
        over = np.abs(total) > rule.max_points
        total = np.where(over, np.where(total > 0, rule.max_points, -rule.max_points), total)
        capped |= over
    return _series(events, total, before, capped)


def _series(*arrays: np.ndarray) -> tuple[pl.Series, pl.Series, pl.Series, pl.Series]:
    events, total, before, capped = (pl.Series(a) for a in arrays)
    return events, total, before, capped


def _period_schedule(step: float, cap: float, last_rank: int) -> tuple[int, float]:
    """The rank, within a period, of the first touch the per-period cap cuts, and what it
    still earns: the pure loop's running total ``spent`` for ranks 0, 1, 2, ... is the same
    in every period (``step`` added again and again), so where it runs out is too. Every
    touch before that rank earns ``step``, every touch after it nothing (the cut touch takes
    what is left, after which ``spent`` equals the cap)."""
    spent = 0.0
    for rank in range(last_rank + 1):
        room = max(cap - spent, 0.0)
        if room < step:
            return rank, room
        spent += step
    return last_rank + 1, 0.0


def _sequential_sums(values: np.ndarray, starts: np.ndarray) -> np.ndarray:
    """The sum of each run of ``values`` (runs begin at ``starts``), added left to right from
    0.0 exactly as the pure loop adds (numpy's own sums pair terms up, which rounds
    differently). One vector addition per position within a run, over the runs that long."""
    sizes = np.diff(np.r_[starts, len(values)])
    order = np.argsort(-sizes, kind="stable")
    first, longest_first = starts[order], -sizes[order]
    sums = np.zeros(len(starts))
    for k in range(int(sizes.max())):
        live = int(np.searchsorted(longest_first, -k, side="left"))  # runs longer than k
        sums[:live] += values[first[:live] + k]
    out = np.empty_like(sums)
    out[order] = sums
    return out


def _grades(model: ScoringModel) -> list[pl.Expr]:
    fit, engagement = pl.col("fit"), pl.col("engagement")
    bands, tiers = model.fit_bands, model.engagement_bands
    letter = (
        pl.when(fit >= bands["A"]).then(pl.lit("A")).when(fit >= bands["B"]).then(pl.lit("B"))
        .when(fit >= bands["C"]).then(pl.lit("C")).otherwise(pl.lit("D"))
    )  # fmt: skip
    tier = (
        pl.when(engagement >= tiers[1]).then(1).when(engagement >= tiers[2]).then(2)
        .when(engagement >= tiers[3]).then(3).otherwise(4)
    )  # fmt: skip
    return [letter.alias("fit_grade"), tier.cast(pl.Int64).alias("engagement_tier")]


def _decisions(leads: FrameConditions, scored: pl.DataFrame, model: ScoringModel) -> list[pl.Series]:
    """Priority, the qualification rule that moves each lead, and each rule's condition."""
    outcome = FrameConditions(
        leads.frame.with_columns(scored.select(_OUTCOME)),  # the new score replaces the old
        schema=OUTCOME_FIELDS,
        dynamic=LEAD_DYNAMIC,
    )
    priority: pl.Expr | None = None
    chain: Any = None  # a when/then chain
    for tier in model.priorities:
        if tier.when is None:  # parse_model ends every model with such a fallback tier
            priority = pl.lit(tier.tier) if chain is None else chain.otherwise(pl.lit(tier.tier))
            break
        held = outcome.holds(tier.when)
        chain = (pl.when(held) if chain is None else chain.when(held)).then(pl.lit(tier.tier))
    assert priority is not None
    stage = leads.frame.get_column("stage") if "stage" in leads.frame.columns else None
    found = [outcome.holds(rule.when).rename(f"holds{i}") for i, rule in enumerate(model.qualifications)]
    qualify: pl.Expr = pl.lit(None, pl.Int32)
    if stage is not None:
        for i in reversed(range(len(model.qualifications))):
            sources = [s.value for s in model.qualifications[i].from_stages]
            moves = stage.is_in(sources).fill_null(False) & found[i]
            qualify = pl.when(moves).then(pl.lit(i, pl.Int32)).otherwise(qualify)
    chosen = scored.with_columns(priority=priority, qualify=qualify)  # literals broadcast
    return [chosen.get_column("priority"), chosen.get_column("qualify"), *found]


def breakdowns(scored: pl.DataFrame, model: ScoringModel, *, now: datetime) -> list[ScoreBreakdown | None]:
    """The rows of :func:`score_model` as the pure function's results (None where the model
    does not apply): what the tests compare with ``score_lead``."""
    out: list[ScoreBreakdown | None] = []
    for row in scored.iter_rows(named=True):
        if not row["applies"]:
            out.append(None)
            continue
        hits = [RuleHit(rule.name, "fit", 1, rule.points, rule.points, False)
                for i, rule in enumerate(model.fit_rules) if row[f"fit{i}"]]  # fmt: skip
        hits += [RuleHit(rule.name, "behaviour", row[f"beh{i}_events"], row[f"beh{i}_points"],
                         row[f"beh{i}_before"], row[f"beh{i}_capped"])
                 for i, rule in enumerate(model.behaviour_rules) if row[f"beh{i}_events"]]  # fmt: skip
        out.append(ScoreBreakdown(
            model.name, row["score"], row["fit"], row["engagement"], row["fit_grade"],
            row["engagement_tier"], row["priority"], tuple(hits), now,
        ))  # fmt: skip
    return out
