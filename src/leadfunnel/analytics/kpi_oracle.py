"""The KPI set computed the slow, obvious way, lead by lead: the reference every engine must equal.

It reads raw records (each lead's stage history, its activities, the deals, the daily
costs), never the engines' milestone table or aggregates. Semantics: :mod:`.kpis`.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from leadfunnel.analytics.durations import percentile
from leadfunnel.analytics.funnel_oracle import NONE_GROUP, LeadHistory, custom_text
from leadfunnel.analytics.funnel_spec import custom_field_key
from leadfunnel.analytics.kpi_spec import (
    ALL_GROUP,
    FAST_RESPONSE_MINUTES,
    RESPONSE_KINDS,
    KpiSpec,
)
from leadfunnel.analytics.kpis import KpiCounts, KpiResult, KpiRow, kpi_rows
from leadfunnel.domain.lifecycle import FUNNEL_PATH

__all__ = ["Activity", "CampaignCost", "Deal", "KpiData", "oracle_kpis"]

_PATH = [s.value for s in FUNNEL_PATH]


@dataclass(frozen=True)
class Activity:
    lead_id: Any
    kind: str
    at: datetime


@dataclass(frozen=True)
class Deal:
    """An opportunity: ``stage`` ``won``/``lost`` closes it; the customer is the account, else the lead."""

    id: Any
    lead_id: Any
    amount: Decimal
    stage: str
    created_at: datetime
    closed_at: datetime | None = None
    lost_reason: str | None = None
    account_id: Any = None

    @property
    def customer(self) -> str | None:
        key = self.account_id if self.account_id is not None else self.lead_id
        return None if key is None else str(key)


@dataclass(frozen=True)
class CampaignCost:
    campaign: str
    channel: str
    day: date
    amount: Decimal


@dataclass(frozen=True)
class KpiData:
    """Everything the KPIs read. ``leads`` are (id, history); the history's ``dims`` hold
    the lead's dimensions, ``owner_id`` among them."""

    leads: Sequence[tuple[Any, LeadHistory]] = ()
    activities: Sequence[Activity] = ()
    deals: Sequence[Deal] = ()
    costs: Sequence[CampaignCost] = ()


def _label(value: Any) -> str:
    return NONE_GROUP if value in (None, "") else str(value)


def _selected(lead: LeadHistory, spec: KpiSpec) -> bool:
    if not spec.in_period(lead.created_at.date()):
        return False
    return all(_value(lead, spec, name) in values for name, values in spec.filters)


def _value(lead: LeadHistory, spec: KpiSpec, name: str) -> str:
    key = custom_field_key(name)
    if key is not None:
        return _label(custom_text((lead.dims.get("custom_fields") or {}).get(key)))
    return _label(lead.dims.get(spec.column(name)))


def _group(lead: LeadHistory, spec: KpiSpec) -> str:
    return ALL_GROUP if spec.by_column is None else _label(lead.dims.get(spec.by_column))


def _reached(lead: LeadHistory) -> dict[str, datetime]:
    entered = [(stage, at) for stage, at in lead.transitions if stage in _PATH]
    out = {}
    for i, stage in enumerate(_PATH):
        later = [at for s, at in entered if _PATH.index(s) >= i]
        if later:
            out[stage] = min(later)
    return out


def _first_wins(deals: Iterable[Deal]) -> set[Any]:
    """Ids of the won deals that are their customer's first win (by close, creation, id)."""
    first: dict[str, Deal] = {}

    def order(d: Deal) -> tuple[datetime, datetime, str]:
        return (d.closed_at or d.created_at, d.created_at, str(d.id))

    for deal in deals:
        if deal.stage == "won" and deal.customer is not None:
            best = first.get(deal.customer)
            if best is None or order(deal) < order(best):
                first[deal.customer] = deal
    return {d.id for d in first.values()}


class _Group:
    def __init__(self) -> None:
        self.counts: dict[str, int] = defaultdict(int)
        self.minutes: list[float] = []
        self.cycle_days: list[float] = []
        self.revenue = Decimal(0)
        self.customers: set[str] = set()
        self.reasons: dict[str, int] = defaultdict(int)
        self.cost: Decimal | None = None

    def result(self, group: str) -> KpiCounts:
        c, minutes = self.counts, sorted(self.minutes)
        return KpiCounts(
            group, **{k: c[k] for k in ("leads", "mql", "sql", "opportunity", "won", "lost",
                                        "responded", "response_due", "responded_5m", "deals",
                                        "open_deals", "won_deals", "lost_deals", "new_customers")},
            mttr_mean_minutes=sum(minutes) / len(minutes) if minutes else None,
            mttr_median_minutes=percentile(minutes, 0.5),
            sales_cycle_days=sum(self.cycle_days) / len(self.cycle_days) if self.cycle_days else None,
            won_revenue=self.revenue, customers=len(self.customers), cost=self.cost,
            lost_reasons=tuple(sorted(self.reasons.items(), key=lambda kv: (-kv[1], kv[0]))),
        )  # fmt: skip


def _count_lead(g: _Group, lead: LeadHistory, responses: list[datetime], now: datetime) -> None:
    c = g.counts
    c["leads"] += 1
    reached = _reached(lead)
    for stage in _PATH[1:]:
        c[stage] += stage in reached
    c["lost"] += lead.current_stage == "lost"
    if "won" in reached:
        g.cycle_days.append((reached["won"] - lead.created_at) / timedelta(days=1))
    first = min((at for at in responses if at >= lead.created_at), default=None)
    fast = timedelta(minutes=FAST_RESPONSE_MINUTES)
    if first is not None:
        c["responded"] += 1
        g.minutes.append((first - lead.created_at) / timedelta(minutes=1))
    owned = lead.dims.get("owner_id") not in (None, "")
    if (owned or first is not None) and lead.created_at <= now - fast:
        c["response_due"] += 1
        c["responded_5m"] += first is not None and first - lead.created_at <= fast


def _count_deal(g: _Group, deal: Deal, first_wins: set[Any]) -> None:
    c = g.counts
    c["deals"] += 1
    if deal.stage == "won":
        c["won_deals"] += 1
        g.revenue += deal.amount
        if deal.customer is not None:
            g.customers.add(deal.customer)
        c["new_customers"] += deal.id in first_wins
    elif deal.stage == "lost":
        c["lost_deals"] += 1
        g.reasons[_label(deal.lost_reason)] += 1
    else:
        c["open_deals"] += 1


def _add_costs(groups: dict[str, _Group], costs: Iterable[CampaignCost], spec: KpiSpec) -> None:
    for g in groups.values():
        g.cost = Decimal(0)
    for cost in costs:
        values = {"channel": cost.channel, "campaign": cost.campaign}
        if not spec.in_period(cost.day) or any(
            _label(values[name]) not in allowed for name, allowed in spec.filters
        ):
            continue
        key = ALL_GROUP if spec.by is None else _label(values[spec.by])
        group = groups[key]
        group.cost = (group.cost or Decimal(0)) + cost.amount


def oracle_kpis(data: KpiData, spec: KpiSpec, *, now: datetime) -> KpiResult:
    """The KPIs of ``data`` for ``spec`` as of ``now`` (see :mod:`.kpis`)."""
    # A question without a breakdown always has its row.
    groups: dict[str, _Group] = defaultdict(
        _Group, {ALL_GROUP: _Group()} if spec.by is None else {}
    )
    responses: dict[Any, list[datetime]] = defaultdict(list)
    for activity in data.activities:
        if activity.kind in RESPONSE_KINDS:
            responses[activity.lead_id].append(activity.at)
    group_of = {}
    for lead_id, lead in data.leads:
        if _selected(lead, spec):
            group_of[lead_id] = _group(lead, spec)
            _count_lead(groups[group_of[lead_id]], lead, responses[lead_id], now)
    first_wins = _first_wins(data.deals)
    for deal in data.deals:
        if deal.lead_id in group_of:
            _count_deal(groups[group_of[deal.lead_id]], deal, first_wins)
    if spec.cost_attributable:
        _add_costs(groups, data.costs, spec)
    rows = kpi_rows([g.result(name) for name, g in groups.items()])
    if spec.by is None:
        return KpiResult(spec, rows)
    # The total: the same question without the breakdown, counted over the leads anew;
    # cost only where the breakdown's groups have one.
    (whole,) = oracle_kpis(data, replace(spec, by=None), now=now).rows
    if not spec.cost_attributable:
        whole = KpiRow(replace(whole.counts, cost=None))
    return KpiResult(spec, rows, whole)
