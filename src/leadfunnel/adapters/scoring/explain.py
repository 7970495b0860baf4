"""Each lead's explanation (the ``lead_scores.explanation`` document), built column-wise.

The text parses to exactly ``{**ScoreBreakdown.explanation(), "version": N}``: the same
keys in the same order, numbers rounded as Python's ``round(x, 2)`` rounds them. Rounding
column-wise (``x * 100``, to even, ``/ 100``) gives Python's result except where ``x * 100``
lies within float error of a half; those few values are rounded by Python itself.

Worked example: a lead with one decayed pricing-page hit of 22.5 points gets
``{"model": "b2b", "as_of": "...", "score": 22, "fit": 0.0, "engagement": 22.5, "grade":
"D2", "priority": "C", "rules": [{"rule": "pricing page", "kind": "behaviour", "events": 3,
"points": 22.5, "before_decay": 30.0, "capped": true}], "version": 1}``.
"""

from __future__ import annotations

import json
from datetime import datetime

import polars as pl

from leadfunnel.rules.scoring import RuleHit
from leadfunnel.rules.scoring_model import ScoringModel

__all__ = ["explanations", "round2"]


def _json(value: object) -> str:
    return json.dumps(value, ensure_ascii=False)


def round2(values: pl.Series) -> pl.Series:
    """``round(x, 2)`` of every value, as Python rounds it."""
    scaled = values * 100.0
    # numpy divides; polars would multiply by the reciprocal (a different float)
    whole = scaled.round(0, mode="half_to_even").to_numpy()
    rounded = pl.Series(whole / 100.0, dtype=pl.Float64)
    distance = (scaled - scaled.floor() - 0.5).abs()
    risky = ((distance < 1e-6) | (values.abs() >= 1e12) | values.is_nan()).fill_null(False)
    if not risky.any():
        return rounded
    where = risky.arg_true()
    fixed = pl.Series([round(v, 2) for v in values.gather(where).to_list()], dtype=pl.Float64)
    return rounded.scatter(where, fixed)


def _text(values: pl.Series) -> pl.Expr:
    return pl.lit(round2(values).cast(pl.String))


def explanations(
    scored: pl.DataFrame, model: ScoringModel, *, version: int, now: datetime
) -> pl.Series:
    """One JSON document per row of :func:`~leadfunnel.adapters.scoring.scorer.score_model`."""
    hits: list[pl.Expr] = []
    for i, rule in enumerate(model.fit_rules):
        text = _json(RuleHit(rule.name, "fit", 1, rule.points, rule.points, False).to_dict())
        hits.append(pl.when(pl.col(f"fit{i}")).then(pl.lit(text)))
    for i, b_rule in enumerate(model.behaviour_rules):
        head = f'{{"rule": {_json(b_rule.name)}, "kind": "behaviour", "events": '
        body = pl.concat_str(
            pl.lit(head), pl.col(f"beh{i}_events").cast(pl.String),
            pl.lit(', "points": '), _text(scored.get_column(f"beh{i}_points")),
            pl.lit(', "before_decay": '), _text(scored.get_column(f"beh{i}_before")),
            pl.lit(', "capped": '),
            pl.when(pl.col(f"beh{i}_capped")).then(pl.lit("true")).otherwise(pl.lit("false")),
            pl.lit("}"),
        )  # fmt: skip
        hits.append(pl.when(pl.col(f"beh{i}_events") > 0).then(body))
    rules = (
        pl.concat_str(hits, separator=", ", ignore_nulls=True) if hits else pl.lit("")
    ).fill_null("")
    # the pure fit is ``sum()`` of the fit hits: the integer 0 when none hit
    any_fit = pl.any_horizontal([pl.col(f"fit{i}") for i in range(len(model.fit_rules))] or [pl.lit(False)])
    fit = pl.when(any_fit).then(_text(scored.get_column("fit"))).otherwise(pl.lit("0"))
    head = f'{{"model": {_json(model.name)}, "as_of": {_json(now.isoformat())}, "score": '
    document = pl.concat_str(
        pl.lit(head), pl.col("score").cast(pl.String),
        pl.lit(', "fit": '), fit,
        pl.lit(', "engagement": '), _text(scored.get_column("engagement")),
        pl.lit(', "grade": "'), pl.col("grade"), pl.lit('", "priority": "'), pl.col("priority"),
        pl.lit('", "rules": ['), rules, pl.lit(f'], "version": {int(version)}}}'),
    )  # fmt: skip
    return scored.select(document.alias("explanation")).to_series()
