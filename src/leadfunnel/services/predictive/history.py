"""One lead's history as the predictive model sees it, and its outcome (the label).

**Target.** A lead *reached* stage S when it entered S or a later stage on the funnel path
``lead -> mql -> sql -> opportunity -> won`` (a lead moved ``mql -> won`` reached sql).

**Scoring moment.** ``created_at + observe_days``: the features use what was known then.

**Label** (:func:`outcome`), for target S, horizon N days, at ``now``:

* ``decided``: S was reached, or the lead was lost or disqualified, by the scoring moment.
  Nobody scores such a lead, so it is neither trained on nor evaluated.
* ``positive``: S was reached within N days of creation (known from that time on).
* ``negative``: not reached, and the N days have passed (known from creation + N days).
* ``open``: neither yet; not labelled.

Example, target ``sql``, N = 30, observe 1 day, now = 1 March: a lead created 1 January that
entered ``won`` on 20 January is positive; one created 20 February that is still at ``mql``
is open; one that entered ``sql`` an hour after creation is decided.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal

from leadfunnel.domain.lifecycle import FUNNEL_PATH

__all__ = ["LeadHistory", "Outcome", "assemble", "outcome", "reached_at", "scoring_moment"]

Label = Literal["positive", "negative", "open", "decided"]
_CLOSED = ("lost", "disqualified")


@dataclass
class LeadHistory:
    """What the model may know of one lead: its fields, stage entries, touches, first response."""

    id: uuid.UUID
    created_at: datetime
    stage: str
    fields: dict[str, Any]
    score: int | None = None
    #: The first time the lead entered each stage.
    entered: dict[str, datetime] = field(default_factory=dict)
    #: (at, kind) of every touchpoint, oldest first.
    touches: list[tuple[datetime, str]] = field(default_factory=list)
    #: The first sales activity by a user (the first response).
    first_response_at: datetime | None = None

    def value(self, name: str) -> Any:
        """A lead column, or ``custom_fields.NAME``."""
        if name.startswith("custom_fields."):
            return (self.fields.get("custom_fields") or {}).get(name.removeprefix("custom_fields."))
        return self.fields.get(name)


@dataclass(frozen=True)
class Outcome:
    label: Label
    #: When the label became known (``None`` while open or decided).
    known_at: datetime | None = None


def scoring_moment(history: LeadHistory, observe_days: int) -> datetime:
    return history.created_at + timedelta(days=observe_days)


def reached_at(history: LeadHistory, target: str) -> datetime | None:
    """When the lead first entered ``target`` or a later stage on the funnel path."""
    later = [s.value for s in FUNNEL_PATH[[s.value for s in FUNNEL_PATH].index(target) :]]
    times = [history.entered[s] for s in later if s in history.entered]
    return min(times) if times else None


def outcome(
    history: LeadHistory, *, target: str, horizon_days: int, observe_days: int, now: datetime
) -> Outcome:
    """The lead's label at ``now`` (see the module docstring)."""
    moment = scoring_moment(history, observe_days)
    reached = reached_at(history, target)
    closed = [history.entered[s] for s in _CLOSED if s in history.entered]
    if (reached is not None and reached <= moment) or (closed and min(closed) <= moment):
        return Outcome("decided")
    deadline = history.created_at + timedelta(days=horizon_days)
    if reached is not None and reached <= deadline:
        return Outcome("positive", reached)
    if deadline <= now:
        return Outcome("negative", deadline)
    return Outcome("open")


def assemble(
    leads: Iterable[Mapping[str, Any]],
    transitions: Iterable[tuple[uuid.UUID, str, datetime]],
    touches: Iterable[tuple[uuid.UUID, str, datetime]],
    responses: Iterable[tuple[uuid.UUID, uuid.UUID | None, datetime]],
) -> list[LeadHistory]:
    """Histories from rows: leads (dicts with ``id``, ``created_at``, ``stage``, ``score``
    and the field columns), transitions ``(lead_id, to_stage, at)``, touchpoints
    ``(lead_id, kind, at)`` and activities ``(lead_id, user_id, at)``; in the leads' order."""
    by_id: dict[uuid.UUID, LeadHistory] = {}
    for row in leads:
        by_id[row["id"]] = LeadHistory(
            id=row["id"],
            created_at=row["created_at"],
            stage=row["stage"],
            score=row.get("score"),
            fields={
                k: v for k, v in row.items() if k not in ("id", "created_at", "stage", "score")
            },
        )
    for lead_id, stage, at in transitions:
        lead = by_id.get(lead_id)
        if lead is not None and (stage not in lead.entered or at < lead.entered[stage]):
            lead.entered[stage] = at
    for lead_id, kind, at in touches:
        if (lead := by_id.get(lead_id)) is not None:
            lead.touches.append((at, kind))
    for lead_id, user_id, at in responses:
        lead = by_id.get(lead_id)
        if lead is None or user_id is None:
            continue
        if lead.first_response_at is None or at < lead.first_response_at:
            lead.first_response_at = at
    for lead in by_id.values():
        lead.touches.sort()
    return list(by_id.values())
