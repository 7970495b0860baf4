"""Channel economics: what each channel or campaign earned under a model, and what it cost.

Per group (a channel or a campaign, the breakdown of the question):

* ``conversions`` and ``revenue``: the credit the model gives it (fractions of
  conversions; revenue is credited only for ``won``);
* ``cost``: its campaign spend on the period's days, and ``leads``, ``mql`` and ``sql``:
  the leads it brought (first touch) and how many reached each stage, all as the KPI set
  counts them (``analytics/kpis.py``), so CPL matches ``leadfunnel kpi``;
* ``cpl`` = cost / leads, ``cost_per_mql`` = cost / mql, ``cost_per_sql`` = cost / sql
  (lead-source counts); ``cost_per_conversion`` = cost / attributed conversions, which is the
  **CAC** when the conversion is ``won``; ``roi`` = (attributed revenue - cost) / cost and
  ``roas`` = attributed revenue / cost, derived by the KPI code from the attributed revenue.

A ratio over zero or over an unknown cost is ``None``. Cost is unknown (``None``) for a
caller whose results are limited to some owners: spend is not theirs alone.

**Comparison**: the same journeys credited under several models, group by group.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from decimal import Decimal
from typing import Any

from leadfunnel.analytics.attribution import GroupCredit
from leadfunnel.analytics.attribution_spec import AttributionSpec, Conversion
from leadfunnel.analytics.kpis import KpiCounts, KpiRow

__all__ = ["AttributionResult", "EconomicsRow", "economics_rows"]


@dataclass(frozen=True)
class EconomicsRow:
    """One channel's or campaign's credit, cost and cost ratios (module docstring)."""

    group: str
    conversions: float
    revenue: float
    cost: float | None
    leads: int
    mql: int
    sql: int
    cpl: float | None
    cost_per_mql: float | None
    cost_per_sql: float | None
    cost_per_conversion: float | None
    cac: float | None
    roi: float | None
    roas: float | None


def _per(cost: float | None, count: float) -> float | None:
    return None if cost is None or count <= 0 else cost / count


def economics_rows(
    credits: list[GroupCredit], counts: dict[str, KpiCounts], conversion: Conversion
) -> list[EconomicsRow]:
    """Credit joined with the KPI counts of the same groups; groups that earned nothing but
    spent or brought leads are listed too. Most conversions first, then most cost."""
    earned = {c.group: c for c in credits}
    rows = []
    for group in sorted(set(earned) | set(counts)):
        credit = earned.get(group, GroupCredit(group, 0.0, 0.0))
        kpi = counts.get(group, KpiCounts(group))
        revenue = credit.revenue if conversion is Conversion.WON else 0.0
        derived = KpiRow(
            KpiCounts(group, leads=kpi.leads, won_revenue=Decimal(repr(revenue)), cost=kpi.cost)
        ).derived()
        cost = None if kpi.cost is None else float(kpi.cost)
        per_conversion = _per(cost, credit.conversions)
        rows.append(
            EconomicsRow(
                group=group,
                conversions=credit.conversions,
                revenue=revenue,
                cost=cost,
                leads=kpi.leads,
                mql=kpi.mql,
                sql=kpi.sql,
                cpl=derived["cpl"],
                cost_per_mql=_per(cost, kpi.mql),
                cost_per_sql=_per(cost, kpi.sql),
                cost_per_conversion=per_conversion,
                cac=per_conversion if conversion is Conversion.WON else None,
                roi=derived["roi"] if conversion is Conversion.WON else None,
                roas=derived["roas"] if conversion is Conversion.WON else None,
            )
        )
    return sorted(rows, key=lambda r: (-r.conversions, -(r.cost or 0.0), r.group))


@dataclass(frozen=True)
class AttributionResult:
    """A question's answer: the model's economics per group, totals, what could not be
    attributed, the Markov removal effects (Markov only) and the side-by-side comparison
    (model -> group -> credit)."""

    spec: AttributionSpec
    rows: tuple[EconomicsRow, ...]
    conversions: int
    revenue: float
    unattributed: int
    unattributed_revenue: float
    journeys: int
    removal_effects: dict[str, float] | None
    comparison: dict[str, dict[str, GroupCredit]]

    def to_dict(self) -> dict[str, Any]:
        s = self.spec
        return {
            "model": s.model,
            "conversion": s.conversion.value,
            "level": s.level.value,
            "by": s.by,
            "lookback_days": s.lookback_days,
            "kinds": list(s.kinds) if s.kinds else None,
            "from": s.period_from.isoformat() if s.period_from else None,
            "to": s.period_to.isoformat() if s.period_to else None,
            "half_life_days": s.half_life_days if s.model == "time_decay" else None,
            "order": s.order if s.model == "markov" else None,
            "journeys": self.journeys,
            "conversions": self.conversions,
            "revenue": self.revenue,
            "unattributed": {
                "conversions": self.unattributed,
                "revenue": self.unattributed_revenue,
            },
            "removal_effects": self.removal_effects,
            "groups": [asdict(row) for row in self.rows],
            "comparison": {
                model: {
                    g: {"conversions": c.conversions, "revenue": c.revenue}
                    for g, c in groups.items()
                }
                for model, groups in self.comparison.items()
            },
        }
