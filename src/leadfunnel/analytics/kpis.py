"""The KPI set: what every engine counts per group, and the ratios derived from the counts.

Engines (and the oracle) produce :class:`KpiCounts`: plain counts, sums, a mean and a
median per group. Every ratio is derived here, once, from those counts, so all engines
agree on the arithmetic. A ratio over zero is ``None``, never an error.

**Which leads.** The period and filters pick a *cohort*: the leads created in the period
(matching the filters). Every KPI describes those leads and what has happened to them so
far (their stage history, first responses and deals, whenever those happened); cost is the
spend on the days of the period. Without a period, all leads and all spend.

Per group (the lead's value of the breakdown, or ``all``):

* ``leads``; ``mql``, ``sql``, ``opportunity``, ``won``: leads that *reached* each stage
  (first entry into it or any later stage of the path, as in funnels); ``lost``: leads now
  in ``lost``. Rates: ``lead_to_mql``, ``mql_to_sql`` (sql / mql), ``lead_to_opportunity``,
  ``lead_to_won``.
* **First response**: a lead's earliest activity of kind call, email, meeting or chat at or
  after its creation (notes and tasks are not responses). ``mttr_mean_minutes`` and
  ``mttr_median_minutes`` (interpolated, as ``percentile_cont``) over the ``responded``
  leads. ``share_responded_5m`` = leads answered within 5 minutes / leads that should be
  answered: those with an owner now or with a response, created at least 5 minutes before
  the question (pool leads nobody works on are not counted against anyone).
* **Deals**: the opportunities of those leads. Won when its stage is ``won``, lost when
  ``lost``, open otherwise. ``win_rate`` = won / (won + lost); ``avg_deal_size`` = won
  revenue / won deals; ``lost_reasons``: lost deals per reason (``(none)`` without one) and
  their share of the lost deals. Amounts are summed as stored (one currency assumed).
* ``sales_cycle_days``: mean days from a lead's creation to its first ``won``, over the
  leads that reached ``won``. ``sales_velocity`` = open deals x win rate x average deal /
  cycle days: the revenue the open pipeline brings per day.
* **Customers**: a won deal's customer is its account, or its lead when it has none.
  ``customers``: distinct customers with a won deal (counted once per group they bought
  through); ``new_customers``: won deals that are their customer's first win ever (by close
  time). ``ltv`` = won revenue / customers: repeat purchases included.
* **Cost** (only by channel or campaign, see :mod:`.kpi_spec`; else ``None``): the sum of
  ``campaign_costs`` on the period's days of the group's campaigns. ``cpl`` = cost / leads;
  ``cac`` = cost / new customers; ``roi`` = (won revenue - cost) / cost; ``roas`` = won
  revenue / cost; ``ltv_to_cac`` = ltv / cac. Groups that spent but brought no lead are
  listed with zero leads; groups without any campaign cost 0.

Worked example (docs/concepts/kpis.md, checked by ``tests/unit/test_kpis.py``): two won deals
of 10,000 and 4,000 by one customer, one lost, one open; leads reaching won took 30 days;
cost 5,000 for 5 leads: win rate 2/3, average deal 7,000, velocity 1 x 2/3 x 7,000 / 30 =
155.56 a day, CPL 1,000, CAC 5,000, ROI 1.8, ROAS 2.8, LTV 14,000, LTV/CAC 2.8.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, fields
from decimal import Decimal
from typing import Any

from leadfunnel.analytics.kpi_spec import ALL_GROUP, KpiSpec

__all__ = ["KPI_COLUMNS", "KpiCounts", "KpiResult", "KpiRow", "kpi_rows", "total_counts"]


@dataclass(frozen=True)
class KpiCounts:
    """What an engine aggregates for one group (see the module docstring)."""

    group: str
    leads: int = 0
    mql: int = 0
    sql: int = 0
    opportunity: int = 0
    won: int = 0
    lost: int = 0
    responded: int = 0
    response_due: int = 0
    responded_5m: int = 0
    mttr_mean_minutes: float | None = None
    mttr_median_minutes: float | None = None
    sales_cycle_days: float | None = None
    deals: int = 0
    open_deals: int = 0
    won_deals: int = 0
    lost_deals: int = 0
    won_revenue: Decimal = Decimal(0)
    customers: int = 0
    new_customers: int = 0
    cost: Decimal | None = None
    lost_reasons: tuple[tuple[str, int], ...] = ()


def _ratio(a: float | Decimal | None, b: float | Decimal | None) -> float | None:
    if a is None or b is None or not b:
        return None
    return float(a) / float(b)


@dataclass(frozen=True)
class KpiRow:
    """One group's counts and every KPI derived from them."""

    counts: KpiCounts

    @property
    def group(self) -> str:
        return self.counts.group

    def derived(self) -> dict[str, Any]:
        c = self.counts
        win_rate = _ratio(c.won_deals, c.won_deals + c.lost_deals)
        avg_deal = _ratio(c.won_revenue, c.won_deals)
        velocity = None
        if win_rate is not None and avg_deal is not None and c.sales_cycle_days:
            velocity = c.open_deals * win_rate * avg_deal / c.sales_cycle_days
        ltv, cac = _ratio(c.won_revenue, c.customers), _ratio(c.cost, c.new_customers)
        roi = None if c.cost is None else _ratio(c.won_revenue - c.cost, c.cost)
        return {
            "lead_to_mql": _ratio(c.mql, c.leads),
            "mql_to_sql": _ratio(c.sql, c.mql),
            "lead_to_opportunity": _ratio(c.opportunity, c.leads),
            "lead_to_won": _ratio(c.won, c.leads),
            "share_responded_5m": _ratio(c.responded_5m, c.response_due),
            "win_rate": win_rate,
            "avg_deal_size": avg_deal,
            "sales_velocity": velocity,
            "cpl": _ratio(c.cost, c.leads),
            "cac": cac,
            "roi": roi,
            "roas": _ratio(c.won_revenue, c.cost),
            "ltv": ltv,
            "ltv_to_cac": _ratio(ltv, cac),
        }

    def lost_reason_shares(self) -> list[dict[str, Any]]:
        lost = self.counts.lost_deals
        return [
            {"reason": reason, "count": n, "share": _ratio(n, lost)}
            for reason, n in self.counts.lost_reasons
        ]

    def to_dict(self) -> dict[str, Any]:
        """Counts and KPIs by name; money as float; ``lost_reasons`` as a list."""
        c = self.counts
        out: dict[str, Any] = {
            f.name: getattr(c, f.name) for f in fields(c) if f.name != "lost_reasons"
        }
        out["won_revenue"] = float(c.won_revenue)
        out["cost"] = None if c.cost is None else float(c.cost)
        return {**out, **self.derived(), "lost_reasons": self.lost_reason_shares()}


#: The scalar columns of :meth:`KpiRow.to_dict`, in order (for tables and exports).
KPI_COLUMNS = tuple(k for k in KpiRow(KpiCounts("")).to_dict() if k != "lost_reasons")


def kpi_rows(counts: list[KpiCounts]) -> tuple[KpiRow, ...]:
    """Rows ordered by leads (most first), then group name."""
    return tuple(KpiRow(c) for c in sorted(counts, key=lambda c: (-c.leads, c.group)))


#: Counts whose total is the sum of the groups'.
_SUMMED = ("leads", "mql", "sql", "opportunity", "won", "lost", "responded", "response_due",
           "responded_5m", "deals", "open_deals", "won_deals", "lost_deals", "new_customers")  # fmt: skip


def _weighted(groups: Sequence[KpiCounts], mean: str, weight: str) -> float | None:
    """The mean over all groups' members of a per-group mean, weighted by ``weight``."""
    pairs = [(getattr(g, mean), getattr(g, weight)) for g in groups if getattr(g, mean) is not None]
    n = sum(w for _, w in pairs)
    return sum(m * w for m, w in pairs) / n if n else None


def total_counts(
    groups: Sequence[KpiCounts],
    *,
    mttr_median_minutes: float | None,
    customers: int,
    costed: bool,
) -> KpiCounts:
    """The breakdown's total: what the same question without a breakdown counts (each lead
    is in exactly one group). Counts, revenue and cost are the groups' sums; the mean
    first-response time and sales cycle, the groups' means weighted by their responded and
    won leads; the median and the distinct customers (one customer may buy through two
    groups) cannot be summed and are counted over all the leads (the arguments). Cost is
    summed when the question's groups are ``costed`` (its cost is attributable), else
    ``None``.

    >>> a = KpiCounts("ads", leads=3, responded=2, mttr_mean_minutes=10.0, won_deals=1,
    ...               won_revenue=Decimal(5), cost=Decimal(30))
    >>> b = KpiCounts("fair", leads=1, responded=1, mttr_mean_minutes=40.0, cost=Decimal(0))
    >>> t = total_counts([a, b], mttr_median_minutes=12.0, customers=1, costed=True)
    >>> t.leads, t.responded, t.mttr_mean_minutes, t.won_revenue, t.cost, t.customers
    (4, 3, 20.0, Decimal('5'), Decimal('30'), 1)
    """
    return KpiCounts(
        ALL_GROUP,
        **{name: sum(getattr(g, name) for g in groups) for name in _SUMMED},
        mttr_mean_minutes=_weighted(groups, "mttr_mean_minutes", "responded"),
        mttr_median_minutes=mttr_median_minutes,
        sales_cycle_days=_weighted(groups, "sales_cycle_days", "won"),
        won_revenue=sum((g.won_revenue for g in groups), Decimal(0)),
        customers=customers,
        cost=sum((g.cost or Decimal(0) for g in groups), Decimal(0)) if costed else None,
        lost_reasons=_summed_reasons(groups),
    )


def _summed_reasons(groups: Sequence[KpiCounts]) -> tuple[tuple[str, int], ...]:
    total: dict[str, int] = {}
    for g in groups:
        for reason, n in g.lost_reasons:
            total[reason] = total.get(reason, 0) + n
    return tuple(sorted(total.items(), key=lambda kv: (-kv[1], kv[0])))


@dataclass(frozen=True)
class KpiResult:
    """One row per group; with a breakdown, also their ``total`` (the same question
    without the breakdown: :func:`total_counts`)."""

    spec: KpiSpec
    rows: tuple[KpiRow, ...]
    total: KpiRow | None = None

    def to_dict(self) -> dict[str, Any]:
        s = self.spec
        return {
            "by": s.by,
            "attribution": s.attribution.value,
            "from": s.period_from.isoformat() if s.period_from else None,
            "to": s.period_to.isoformat() if s.period_to else None,
            "where": {name: list(values) for name, values in s.filters},
            "cost_attributable": s.cost_attributable,
            "groups": [row.to_dict() for row in self.rows],
            "total": None if self.total is None else self.total.to_dict(),
        }
