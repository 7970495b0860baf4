"""Lead KPIs per value of a dimension: how many leads reached each stage, and the key rates.

This is the store-side view until the analytics engine lands; the counting rules are the
lifecycle funnel's (a lead reached a stage if it entered it or any later stage on the path).

Per group: ``leads``, ``mql``, ``sql``, ``opportunity``, ``won`` (reached counts), ``lost``
(leads now in lost), ``lead_to_mql``, ``mql_to_sql``, ``lead_to_won`` and ``win_rate``
(won / (won + lost): of the deals that closed, the share won). Ratios over zero are ``None``.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from leadfunnel.analytics.lifecycle_funnel import LeadPath, lifecycle_funnel
from leadfunnel.domain.errors import ValidationError
from leadfunnel.services.ports import UnitOfWorkFactory

__all__ = ["KPI_DIMENSIONS", "KpiRow", "lead_kpis"]

KPI_DIMENSIONS = (
    "channel", "campaign", "region", "country", "industry", "company_size", "product_interest",
    "owner_id", "source", "first_utm_source", "first_utm_medium", "first_utm_campaign", "last_channel",
)  # fmt: skip


@dataclass(frozen=True)
class KpiRow:
    group: str
    leads: int
    mql: int
    sql: int
    opportunity: int
    won: int
    lost: int

    def _ratio(self, a: int, b: int) -> float | None:
        return a / b if b else None

    def to_dict(self) -> dict[str, Any]:
        return {
            **self.__dict__,
            "lead_to_mql": self._ratio(self.mql, self.leads),
            "mql_to_sql": self._ratio(self.sql, self.mql),
            "lead_to_won": self._ratio(self.won, self.leads),
            "win_rate": self._ratio(self.won, self.won + self.lost),
        }


def lead_kpis(*, uow_factory: UnitOfWorkFactory, by: str | None = None) -> list[KpiRow]:
    """One row per value of ``by`` (largest groups first), or one ``all`` row."""
    if by is not None and by not in KPI_DIMENSIONS:
        raise ValidationError(
            "by", f"cannot group by '{by}'; expected one of: {', '.join(KPI_DIMENSIONS)}"
        )
    with uow_factory(write=False) as uow:
        pairs = uow.transitions.stages_entered()
        current = uow.leads.stages_and_values(by or "channel")
    entered: dict[uuid.UUID, set[str]] = defaultdict(set)
    for lead_id, stage in pairs:
        entered[lead_id].add(stage)
    groups: dict[str, list[LeadPath]] = defaultdict(list)
    for lead_id, (stage, value) in current.items():
        group = "all" if by is None else ("(none)" if value in (None, "") else str(value))
        groups[group].append(LeadPath(frozenset(entered.get(lead_id, ())), stage))
    rows = []
    for group, paths in groups.items():
        lead, mql, sql, opportunity, won = (step.reached for step in lifecycle_funnel(paths))
        lost = sum(1 for p in paths if p.current == "lost")
        rows.append(KpiRow(group, lead, mql, sql, opportunity, won, lost))
    return sorted(rows, key=lambda r: (-r.leads, r.group))
