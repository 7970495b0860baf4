"""Scoring models, lead scores and lead events in the write store."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import delete, func, select, tuple_

from leadfunnel.adapters.sql import tables as t
from leadfunnel.adapters.sql.repositories import _Repo
from leadfunnel.services.ports import BulkScorer, Row

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

    # The per-event path (one lead re-scored after a touchpoint) reads with the driver's own
    # rows: SQLAlchemy's per-value result processing would cost more than the scoring.

    def active_versions(self) -> list[Row]:
        sql = "SELECT id, name, version FROM scoring_models WHERE status = 'active' ORDER BY name"
        return [
            {"id": self._uuid(i), "name": n, "version": v}
            for i, n, v in self._conn.exec_driver_sql(sql)
        ]

    def latest_scores(self, lead_ids: Sequence[uuid.UUID]) -> dict[tuple[uuid.UUID, str], Row]:
        found = {}
        for lead, model, score, grade, priority in self._by_lead(
            "SELECT lead_id, model, score, grade, priority FROM lead_scores", lead_ids
        ):
            found[(lead, model)] = {"lead_id": lead, "model": model, "score": score, "grade": grade,
                                    "priority": priority}  # fmt: skip
        return found

    def touches_for(self, lead_ids: Sequence[uuid.UUID]) -> list[Row]:
        sql = "SELECT lead_id, kind, channel, campaign, url, at, properties FROM touchpoints"
        return [{"lead_id": lead, "kind": kind, "channel": channel, "campaign": campaign, "url": url,
                 "at": self._time(at), "properties": json.loads(doc) if isinstance(doc, str) else doc}
                for lead, kind, channel, campaign, url, at, doc in self._by_lead(sql, lead_ids)]  # fmt: skip

    def _by_lead(self, select_sql: str, lead_ids: Sequence[uuid.UUID]) -> Iterator[tuple[Any, ...]]:
        """Rows of ``select_sql WHERE lead_id IN lead_ids``, lead ids as the given UUIDs."""
        sqlite = self._conn.dialect.name == "sqlite"
        keys = {(i.hex if sqlite else i): i for i in lead_ids}
        wanted = list(keys)
        for start in range(0, len(wanted), 500):
            part = wanted[start : start + 500]
            if sqlite:
                marks = ", ".join("?" * len(part))
                rows = self._conn.exec_driver_sql(
                    f"{select_sql} WHERE lead_id IN ({marks})", tuple(part)
                )
            else:
                rows = self._conn.exec_driver_sql(f"{select_sql} WHERE lead_id = ANY(%s)", (part,))
            for row in rows:
                yield (keys[row[0]], *row[1:])

    def _uuid(self, value: Any) -> uuid.UUID:
        return value if isinstance(value, uuid.UUID) else uuid.UUID(value)

    def _time(self, value: Any) -> datetime:
        """A stored UTC time as the UTCDateTime column type reads it."""
        if isinstance(value, str):  # SQLite: 'YYYY-MM-DD HH:MM:SS.ffffff', naive UTC
            return datetime.fromisoformat(value).replace(tzinfo=UTC)
        moment: datetime = value
        return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)

    def bulk_scorer(self) -> BulkScorer:
        """The column-wise scorer on this connection (polars loads only when a pass needs it)."""
        from leadfunnel.adapters.scoring.bulk import FrameScorer

        return FrameScorer(self._conn)

    def lead_ids_scored_by(self, model: str) -> set[uuid.UUID]:
        c = t.lead_scores.c
        return {r.lead_id for r in self._run(select(c.lead_id).where(c.model == model))}
