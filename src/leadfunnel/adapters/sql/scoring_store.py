"""Scoring models, lead scores and lead events in the write store."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, select, tuple_

from leadfunnel.adapters.sql import tables as t
from leadfunnel.adapters.sql.repositories import _Repo
from leadfunnel.services.ports import Row

__all__ = ["SqlScoring"]

_SCORE_COLUMNS = ("score", "fit", "engagement", "grade", "priority")


class SqlScoring(_Repo):
    def models(self, name: str | None = None) -> list[Row]:
        query = select(t.scoring_models).order_by(
            t.scoring_models.c.name, t.scoring_models.c.version
        )
        if name is not None:
            query = query.where(t.scoring_models.c.name == name)
        return self._rows(query)

    def model(self, name: str, version: int | None) -> Row | None:
        c = t.scoring_models.c
        query = select(t.scoring_models).where(c.name == name)
        if version is None:  # the active one, else the newest
            query = query.order_by((c.status == "active").desc(), c.version.desc()).limit(1)
        else:
            query = query.where(c.version == version)
        return self._one(query)

    def active_models(self) -> list[Row]:
        c = t.scoring_models.c
        return self._rows(select(t.scoring_models).where(c.status == "active").order_by(c.name))

    def next_version(self, name: str) -> int:
        c = t.scoring_models.c
        found = self._run(select(func.max(c.version)).where(c.name == name)).scalar()
        return int(found or 0) + 1

    def add_model(self, row: Mapping[str, Any]) -> None:
        self._run(t.scoring_models.insert().values(**row))

    def set_status(self, model_id: uuid.UUID, status: str, activated_at: datetime | None) -> None:
        self._run(
            t.scoring_models.update()
            .where(t.scoring_models.c.id == model_id)
            .values(status=status, activated_at=activated_at)
        )

    def scores_for(self, lead_ids: Sequence[uuid.UUID]) -> dict[tuple[uuid.UUID, str], Row]:
        if not lead_ids:
            return {}
        rows = self._rows(select(t.lead_scores).where(t.lead_scores.c.lead_id.in_(list(lead_ids))))
        return {(r["lead_id"], r["model"]): r for r in rows}

    def put_scores(self, rows: Sequence[Mapping[str, Any]]) -> None:
        """Replace the scores of each (lead, model) in ``rows``."""
        if not rows:
            return
        c = t.lead_scores.c
        keys = [(r["lead_id"], r["model"]) for r in rows]
        for start in range(0, len(keys), 400):
            self._run(
                delete(t.lead_scores).where(
                    tuple_(c.lead_id, c.model).in_(keys[start : start + 400])
                )
            )
        self._insert(t.lead_scores, rows)

    def forget_model_scores(self, model: str, keep: Sequence[uuid.UUID]) -> None:
        """Drop ``model``'s scores of leads it no longer applies to (not in ``keep``)."""
        c = t.lead_scores.c
        stale = [
            r.lead_id
            for r in self._run(select(c.lead_id).where(c.model == model))
            if r.lead_id not in set(keep)
        ]
        for start in range(0, len(stale), 500):
            self._run(
                delete(t.lead_scores).where(
                    c.model == model, c.lead_id.in_(stale[start : start + 500])
                )
            )

    def add_events(self, rows: Sequence[Mapping[str, Any]]) -> None:
        self._insert(t.lead_events, rows)

    def events(self, kind: str | None = None, limit: int = 100) -> list[Row]:
        c = t.lead_events.c
        query = select(t.lead_events).order_by(c.at.desc(), c.id.desc()).limit(limit)
        if kind is not None:
            query = query.where(c.kind == kind)
        return self._rows(query)

    def lead_page(self, after: uuid.UUID | None, limit: int) -> list[Row]:
        """Leads in id order after ``after``: keyset pages for a pass over every lead."""
        c = t.leads.c
        query = select(t.leads).order_by(c.id).limit(limit)
        if after is not None:
            query = query.where(c.id > after)
        return self._rows(query)

    def lead_ids_scored_by(self, model: str) -> set[uuid.UUID]:
        c = t.lead_scores.c
        return {r.lead_id for r in self._run(select(c.lead_id).where(c.model == model))}
