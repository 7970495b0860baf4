"""What happens to leads right after they change, inside the transaction that changed them.

Intake (API, web form, import batch) and every touchpoint re-score their leads with the
active scoring models (which may qualify them, e.g. lead -> mql, and emit ``lead.hot``), then
new leads still in the shared pool are routed by the active rules (which starts their
first-response SLA clock). Scoring comes first so routing rules, SLA policies and
score-tiered distribution see the new score, grade and priority.

With no active scoring model and no active routing rules this costs two small queries.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from leadfunnel.services.ports import UnitOfWork
from leadfunnel.services.routing import assign_lead
from leadfunnel.services.scoring import PassSummary, rescore_leads

__all__ = ["AfterChange", "after_leads_changed"]


@dataclass
class AfterChange:
    scoring: PassSummary = field(default_factory=PassSummary)
    routed: int = 0
    waiting: int = 0  # new leads no rep could take: still in the pool

    def to_dict(self) -> dict[str, object]:
        return {"scoring": self.scoring.to_dict(), "routed": self.routed, "waiting": self.waiting}


def after_leads_changed(
    *,
    uow: UnitOfWork,
    changed: Sequence[uuid.UUID],
    created: Sequence[uuid.UUID] = (),
    now: datetime,
    actor: str,
) -> AfterChange:
    """Re-score ``changed`` (and ``created``) leads, then route the ``created`` ones that are
    in the pool. Runs in the caller's transaction: it commits or rolls back with them."""
    result = AfterChange()
    everyone = list(dict.fromkeys([*changed, *created]))
    if everyone:
        result.scoring = rescore_leads(uow=uow, lead_ids=everyone, now=now, actor=actor)
    if created and uow.routing.rule_set("routing", None) is not None:
        for lead in uow.records.select_in("leads", "id", list(created)):
            if not lead["in_pool"] or lead["owner_id"] is not None:
                continue
            decision = assign_lead(uow=uow, lead=lead, now=now, actor=actor)
            if decision is not None and decision.rep is not None:
                result.routed += 1
            else:
                result.waiting += 1
    return result
