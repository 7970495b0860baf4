"""What the predictive use cases read and write, through the unit of work's records.

Training reads the whole store with one streamed query per table (leads, stage transitions,
touchpoints, activities), never one per lead. Models live in ``predictive_models`` (learned
parameters as JSON), predictions in ``lead_predictions``.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from leadfunnel.domain.errors import NotFound, ValidationError
from leadfunnel.services.ports import Row, UnitOfWork
from leadfunnel.services.predictive.history import LeadHistory, assemble
from leadfunnel.services.predictive.spec import FIT_COLUMNS

__all__ = ["LEAD_COLUMNS", "load_histories", "model_versions", "pick_model", "set_status"]

LEAD_COLUMNS = ("id", "created_at", "stage", "score", *FIT_COLUMNS, "custom_fields")
_TRANSITION = ("lead_id", "to_stage", "at")
_TOUCH = ("lead_id", "kind", "at")
_ACTIVITY = ("lead_id", "user_id", "at")


def load_histories(
    uow: UnitOfWork, lead_ids: Sequence[uuid.UUID] | None = None
) -> list[LeadHistory]:
    """Every lead's history (or only these leads')."""
    records = uow.records
    if lead_ids is None:
        return assemble(
            (
                dict(zip(LEAD_COLUMNS, row, strict=True))
                for row in records.scan("leads", LEAD_COLUMNS)
            ),
            records.scan("stage_transitions", _TRANSITION),
            records.scan("touchpoints", _TOUCH),
            records.scan("activities", _ACTIVITY),
        )
    ids = list(lead_ids)

    def rows(table: str, columns: Sequence[str]) -> list[Any]:
        return [tuple(r[c] for c in columns) for r in records.select_in(table, "lead_id", ids)]

    leads = [{c: r[c] for c in LEAD_COLUMNS} for r in records.select_in("leads", "id", ids)]
    return assemble(
        leads,
        rows("stage_transitions", _TRANSITION),
        rows("touchpoints", _TOUCH),
        rows("activities", _ACTIVITY),
    )


def model_versions(uow: UnitOfWork, name: str) -> list[Row]:
    """Every version of the model ``name``, oldest first."""
    return sorted(
        uow.records.select_in("predictive_models", "name", [name]), key=lambda r: r["version"]
    )


def pick_model(rows: Sequence[Row], name: str, version: int | None, *, active: bool = False) -> Row:
    """That version; else the active one; else (unless ``active`` is required) the newest."""
    if not rows:
        raise NotFound("predictive model", f"'{name}'")
    if version is not None:
        found = [r for r in rows if r["version"] == version]
        if not found:
            raise NotFound("predictive model", f"'{name}' version {version}")
        return found[0]
    current = [r for r in rows if r["status"] == "active"]
    if current:
        return current[0]
    if active:
        raise ValidationError(
            "model",
            f"'{name}' has no active version; activate one first "
            "(leadfunnel score activate-predictive NAME)",
        )
    return rows[-1]


def set_status(uow: UnitOfWork, row: Row, status: str, at: datetime | None) -> None:
    uow.records.update(
        "predictive_models",
        [{"id": row["id"], "status": status, "activated_at": at}],
        columns=("status", "activated_at"),
    )
