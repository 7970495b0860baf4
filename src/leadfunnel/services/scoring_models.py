"""Scoring models as versioned data: import (TOML, YAML or JSON via ``services/documents.py``),
list, show.

Importing never changes scores: it stores a new **draft** version (``name`` v1, v2, ...)
after validating every rule. :func:`leadfunnel.services.scoring.activate_model` makes a
version live, after :func:`leadfunnel.services.scoring.dry_run` has shown what it would do.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from leadfunnel.domain.errors import NotFound
from leadfunnel.domain.ids import new_id
from leadfunnel.rules.scoring_model import ScoringModel, parse_model
from leadfunnel.services.ports import Row, UnitOfWorkFactory

__all__ = [
    "ModelVersion",
    "get_model",
    "import_model",
    "list_models",
]


@dataclass(frozen=True)
class ModelVersion:
    id: Any
    name: str
    version: int
    status: str
    spec: Mapping[str, Any]
    created_at: datetime
    created_by: str
    activated_at: datetime | None

    @classmethod
    def from_row(cls, row: Row) -> ModelVersion:
        return cls(**{k: row[k] for k in cls.__dataclass_fields__})

    def compiled(self) -> ScoringModel:
        return parse_model(self.spec)

    def to_dict(self, *, with_spec: bool = False) -> dict[str, Any]:
        out = {"id": str(self.id), "name": self.name, "version": self.version, "status": self.status,
               "created_at": self.created_at.isoformat(), "created_by": self.created_by,
               "activated_at": self.activated_at.isoformat() if self.activated_at else None,
               "rules": {k: len(self.spec.get(k, [])) for k in ("fit", "behaviour", "qualify")}}  # fmt: skip
        if with_spec:
            out["spec"] = dict(self.spec)
        return out


def _json_safe(doc: Mapping[str, Any]) -> dict[str, Any]:
    """The document as stored: JSON types only (dates as ISO text)."""
    text = json.dumps(doc, default=lambda v: v.isoformat() if hasattr(v, "isoformat") else str(v))
    stored: dict[str, Any] = json.loads(text)
    return stored


def import_model(
    *, uow_factory: UnitOfWorkFactory, document: Mapping[str, Any], actor: str, now: datetime
) -> ModelVersion:
    """Validate ``document`` and store it as the next draft version of its model."""
    spec = _json_safe(document)
    model = parse_model(spec)  # raises naming the rule and field; nothing is stored then
    model_id = new_id()
    with uow_factory() as uow:
        row = {"id": model_id, "name": model.name, "version": uow.scoring.next_version(model.name),
               "spec": spec, "status": "draft", "created_at": now, "created_by": actor, "activated_at": None}  # fmt: skip
        uow.scoring.add_model(row)
        uow.audit.record(at=now, actor=actor, action="scoring_model.imported", entity="scoring_model",
                         entity_id=model_id, data={"name": model.name, "version": row["version"]})  # fmt: skip
        uow.commit()
    return ModelVersion.from_row(row)


def list_models(*, uow_factory: UnitOfWorkFactory, name: str | None = None) -> list[ModelVersion]:
    with uow_factory(write=False) as uow:
        return [ModelVersion.from_row(r) for r in uow.scoring.models(name)]


def get_model(
    *, uow_factory: UnitOfWorkFactory, name: str, version: int | None = None
) -> ModelVersion:
    """That version, or the active one (else the newest) when ``version`` is None."""
    with uow_factory(write=False) as uow:
        row = uow.scoring.model(name, version)
    if row is None:
        raise NotFound("scoring model", name if version is None else f"{name} v{version}")
    return ModelVersion.from_row(row)
