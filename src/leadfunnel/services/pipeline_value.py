"""The open pipeline's value: what the dashboard's pipeline tile shows.

Open deals are those in a stage other than won and lost (``domain/pipeline.py``
``OPEN_STAGES``), summed per currency (amounts in different currencies are never added),
with the amount weighted by each stage's default win probability (``STAGE_PROBABILITY``).
It is the pipeline *now*, of the deals the caller may see (a manager's team's, a rep's own).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from leadfunnel.domain.access import Principal, lead_scope
from leadfunnel.domain.pipeline import OPEN_STAGES, STAGE_PROBABILITY
from leadfunnel.services.ports import UnitOfWorkFactory

__all__ = ["PipelineValue", "pipeline_value"]


@dataclass(frozen=True)
class PipelineValue:
    currency: str
    deals: int
    amount: Decimal
    weighted: Decimal


def pipeline_value(*, uow_factory: UnitOfWorkFactory, principal: Principal) -> list[PipelineValue]:
    """Per currency, largest amount first."""
    with uow_factory(write=False) as uow:
        rows = uow.crm.pipeline_totals(lead_scope(principal), OPEN_STAGES)
    totals: dict[str, tuple[int, Decimal, Decimal]] = {}
    for row in rows:
        deals, amount, weighted = totals.get(row["currency"], (0, Decimal(0), Decimal(0)))
        stage_amount = Decimal(str(row["amount"] or 0))
        chance = Decimal(str(STAGE_PROBABILITY.get(row["stage"]) or 0))
        totals[row["currency"]] = (deals + int(row["deals"]), amount + stage_amount,
                                   weighted + stage_amount * chance)  # fmt: skip
    values = [PipelineValue(c, d, a, w) for c, (d, a, w) in totals.items()]
    return sorted(values, key=lambda v: (-v.amount, v.currency))
