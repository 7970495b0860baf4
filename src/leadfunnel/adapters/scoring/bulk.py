"""A pass over every lead, column-wise: the :class:`~leadfunnel.services.ports.BulkScorer`.

What it decides is what ``services/scoring.py`` decides scoring each lead in turn (the
tests run both on SQLite and PostgreSQL and compare every table):

* per model, in order: the leads it applies to, their scores (:func:`score_model`);
* a model's score is **hot** when it is at or above the model's threshold and the lead's
  stored score of that model is missing or below it;
* a lead's **primary** model is the first that applies; grade and priority changes are
  counted against the stored score of that model; ``leads.score``/``grade`` are written
  where they differ from the primary result;
* a lead **moves** by the first model, in order, with a qualification rule that moves it.

The pass reads only the columns the models read (see ``store.py``), keeps one row per lead
in memory, and writes ``lead_scores`` in slices so the explanation texts of a million leads
never sit in memory at once.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import polars as pl
from sqlalchemy import Connection

from leadfunnel.adapters.scoring.conditions import FrameConditions
from leadfunnel.adapters.scoring.explain import explanations
from leadfunnel.adapters.scoring.facts import base_lead_columns, with_json_fields, with_lead_facts
from leadfunnel.adapters.scoring.scorer import prepare_touches, score_model
from leadfunnel.adapters.scoring.store import ScoringTables
from leadfunnel.domain.lifecycle import FUNNEL_PATH, Stage
from leadfunnel.rules.scoring_model import (
    LEAD_DYNAMIC,
    LEAD_FIELDS,
    TOUCH_DYNAMIC,
    TOUCH_FIELDS,
    ScoringModel,
)
from leadfunnel.services.ports import BulkScores

__all__ = ["FrameScorer", "lead_fields", "touch_fields"]

_WRITE_SLICE = 200_000
_PASS_COLUMNS = ("stage", "score", "grade")  # and, for the few leads that move, see _moves


def lead_fields(models: Sequence[ScoringModel]) -> set[str]:
    """The lead facts the models' conditions read (outcome facts aside)."""
    found: set[str] = set()
    for model in models:
        conditions = [model.applies_to, *(r.when for r in model.fit_rules),
                      *(p.when for p in model.priorities), *(q.when for q in model.qualifications)]  # fmt: skip
        for condition in conditions:
            if condition is not None:
                found |= condition.fields
    return {f for f in found if f in LEAD_FIELDS or f.startswith(LEAD_DYNAMIC)}


def touch_fields(models: Sequence[ScoringModel]) -> set[str]:
    return {f for m in models for r in m.behaviour_rules for f in r.when.fields}


class FrameScorer:
    """Scores every lead of the store behind ``conn`` (see the module docstring)."""

    def __init__(self, conn: Connection) -> None:
        self.tables = ScoringTables(conn)

    def score_all(
        self,
        models: Sequence[tuple[int, ScoringModel]],
        *,
        now: datetime,
        write: bool,
        check: str | None = None,
    ) -> BulkScores:
        with self.tables.roomy_cache():
            return self._score_all(models, now=now, write=write, check=check)

    def _score_all(
        self, models: Sequence[tuple[int, ScoringModel]], *, now: datetime, write: bool, check: str | None
    ) -> BulkScores:
        compiled = [model for _, model in models]
        wanted = lead_fields(compiled)
        columns = [*base_lead_columns(wanted - set(_PASS_COLUMNS)), *_PASS_COLUMNS]
        leads = self.tables.leads(columns, scores_of=[m.name for m in compiled])
        leads = with_lead_facts(leads, wanted)
        found = BulkScores(leads=leads.height)
        if not models or leads.is_empty():
            return found
        lead_facts = FrameConditions(leads, schema=LEAD_FIELDS, dynamic=LEAD_DYNAMIC)
        touch_facts = FrameConditions(
            self._touches(leads, touch_fields(compiled), now), schema=TOUCH_FIELDS, dynamic=TOUCH_DYNAMIC
        )  # fmt: skip
        results: list[pl.DataFrame] = []
        for k, (version, model) in enumerate(models):
            scored = score_model(lead_facts, touch_facts, model, now=now)
            scored = scored.with_columns(
                leads.get_column(f"previous{k}_{c}").alias(f"previous_{c}") for c in ("score", "grade", "priority")
            )  # fmt: skip
            results.append(scored)
            found.hot += _hot(leads, scored, model, version)
            if write:
                self._write_scores(leads, scored, model, version, now)
        self._decide(found, leads, results, models, now=now, write=write)
        for (_, model), scored in zip(models, results, strict=True):
            if model.name == check:
                found.checks = self._checks(leads, scored, model)
        return found

    def _touches(self, leads: pl.DataFrame, fields: set[str], now: datetime) -> pl.DataFrame:
        plain = sorted(f for f in fields if not f.startswith(TOUCH_DYNAMIC) and f != "at")
        props = sorted(f.removeprefix("properties.") for f in fields if f.startswith(TOUCH_DYNAMIC))
        raw = self.tables.touches([*plain, *(["properties"] if props else [])], until=now)
        index = leads.select(pl.col("id").alias("lead_id")).with_row_index("_lead")
        touches = raw.join(index, on="lead_id", how="inner", maintain_order="left")
        touches = with_json_fields(touches, "properties", "properties.", props)
        return prepare_touches(touches.with_columns(pl.col("_lead").cast(pl.Int64)), now)

    def _write_scores(
        self, leads: pl.DataFrame, scored: pl.DataFrame, model: ScoringModel, version: int,
        now: datetime,
    ) -> None:  # fmt: skip
        rows = scored.with_columns(
            lead_id=leads.get_column("id"),
            model=pl.lit(model.name),
            model_version=pl.lit(version, pl.Int64),
            fit_whole=pl.col("fit").round(0, mode="half_to_even").cast(pl.Int64),
            engagement_whole=pl.col("engagement").round(0, mode="half_to_even").cast(pl.Int64),
        ).filter(pl.col("applies"))
        for start in range(0, rows.height, _WRITE_SLICE):
            part = rows.slice(start, _WRITE_SLICE)
            text = explanations(part, model, version=version, now=now)
            self.tables.put_scores(
                part.select(
                    "lead_id", "model", "model_version", "score",
                    pl.col("fit_whole").alias("fit"), pl.col("engagement_whole").alias("engagement"),
                    "grade", "priority",
                ).with_columns(explanation=text),
                as_of=now,
            )  # fmt: skip

    def _decide(
        self, found: BulkScores, leads: pl.DataFrame, results: list[pl.DataFrame],
        models: Sequence[tuple[int, ScoringModel]], *, now: datetime, write: bool,
    ) -> None:  # fmt: skip
        """Primary results, changes against stored scores, and stage moves."""
        applies = [r.get_column("applies") for r in results]
        scored_any = pl.select(pl.any_horizontal(applies)).to_series()

        def primary(column: str) -> pl.Series:
            chain: Any = None
            for flags, result in zip(applies, results, strict=True):
                step = pl.when(flags) if chain is None else chain.when(flags)
                chain = step.then(result.get_column(column))
            return leads.select(chain.otherwise(None).alias(column)).to_series()

        grade, priority, score = primary("grade"), primary("priority"), primary("score")
        old_grade, old_priority = primary("previous_grade"), primary("previous_priority")
        found.scored = int(scored_any.sum())
        found.grade_changed = int((scored_any & grade.ne_missing(old_grade)).sum())
        found.priority_changed = int((scored_any & priority.ne_missing(old_priority)).sum())
        counts = grade.filter(scored_any).value_counts()
        found.grades = {str(g): int(n) for g, n in counts.iter_rows()}
        if write:
            changed = scored_any & (
                score.ne_missing(leads.get_column("score")) | grade.ne_missing(leads.get_column("grade"))
            )  # fmt: skip
            keys = leads.select(pl.selectors.by_name("id", "_row", require_all=False))
            self.tables.set_lead_scores(
                keys.with_columns(score, grade).filter(changed), updated_at=now
            )
        found.moves = _moves(leads, results, models, applies, self.tables)

    def _checks(self, leads: pl.DataFrame, scored: pl.DataFrame, model: ScoringModel) -> dict[str, list[int]]:
        reached = [s.value for s in FUNNEL_PATH[2:]]
        history = self.tables.conversions(reached, Stage.WON.value)
        joined = leads.select("id").join(
            history.rename({"lead_id": "id"}), on="id", how="left", maintain_order="left"
        )
        sql = joined.get_column("reached").fill_null(False)
        won = joined.get_column("won").fill_null(False)
        applies = scored.get_column("applies")
        checks: dict[str, list[int]] = {}
        for i, rule in enumerate(model.qualifications):
            held = scored.get_column(f"holds{i}")
            counts = []
            for selected in (applies & held, applies & ~held):
                counts += [int(selected.sum()), int((selected & sql).sum()), int((selected & won).sum())]
            checks[rule.name] = counts
        return checks


def _hot(leads: pl.DataFrame, scored: pl.DataFrame, model: ScoringModel, version: int) -> list[dict[str, Any]]:
    if model.hot_threshold is None:
        return []
    threshold = model.hot_threshold
    before = pl.col("previous_score")
    rising = pl.col("applies") & (pl.col("score") >= threshold) & (before.is_null() | (before < threshold))
    hot = scored.with_columns(id=leads.get_column("id")).filter(rising)
    return [{"lead_id": uuid.UUID(lead_id), "model": model.name, "version": version, "score": score,
             "previous": previous}
            for lead_id, score, previous in hot.select("id", "score", "previous_score").iter_rows()]  # fmt: skip


def _moves(
    leads: pl.DataFrame, results: list[pl.DataFrame], models: Sequence[tuple[int, ScoringModel]],
    applies: list[pl.Series], tables: ScoringTables,
) -> list[dict[str, Any]]:  # fmt: skip
    """The first model, in order, whose qualification rule moves each lead."""
    chain: Any = None
    for k, (flags, result) in enumerate(zip(applies, results, strict=True)):
        moves = flags & result.get_column("qualify").is_not_null()
        step = pl.when(moves) if chain is None else chain.when(moves)
        chain = step.then(pl.struct(model=pl.lit(k), rule=result.get_column("qualify")))
    if chain is None:
        return []
    moving = leads.select("id", "stage", chain.alias("move")).drop_nulls("move")
    stamps = tables.stage_stamps(moving.get_column("id").to_list())
    rows = []
    for lead_id, stage, move in moving.iter_rows():
        version, model = models[move["model"]]
        rule = model.qualifications[move["rule"]]
        entered, lead_version = stamps[lead_id]
        rows.append({"lead_id": uuid.UUID(lead_id), "from_stage": stage, "stage_entered_at": entered,
                     "lead_version": lead_version, "model": model.name, "version": version,
                     "rule": rule.name, "to": rule.to.value})  # fmt: skip
    return rows
