"""The KPI set as Ibis expressions (semantics: ``analytics/kpis.py``), the same on every backend.

Three aggregations, each one scan per table, grouped by ``grp`` (the lead's breakdown value,
or ``all``):

* :func:`lead_counts`: the selected milestones with each lead's first response
  (``first_response_at``: :func:`first_responses`, the minimum ``at`` of its response
  activities at or after creation): stages reached, response counts and times, the sales
  cycle;
* :func:`deal_counts`: the selected leads' opportunities, each flagged when it is its
  customer's first win (a row number over all won deals per customer), counted per group
  and lost reason (one join of deals and leads for both the deal figures and the lost
  reasons);
* :func:`cost_counts`: daily campaign costs in the period, by the campaign's channel or name;

and, with a breakdown, :func:`overall_counts`: what its total cannot sum from the groups
(the median first-response time and the distinct customers of all the selected leads; the
rest of the total is summed: :func:`.kpis.total_counts`), so a dashboard needs no second
question without the breakdown.

The first responses are one expression everywhere, attached to the milestones by
:func:`with_first_responses`: the DuckDB store keeps the result as the milestones' column
``first_response_at``, maintained by the sync (:mod:`.duckdb_store`), so a KPI question
reads one table (a million leads: about 0.1 s instead of 0.3 s for the join); the Spark
store caches its milestones with the column; PostgreSQL attaches it inside the question,
for the selected leads only.

Counts are filtered ``COUNT``s, never sums of booleans (PostgreSQL cannot cast a boolean to
a number). :func:`kpi_result` reads the rows by column name into :class:`KpiCounts`.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from decimal import Decimal
from typing import Any

import ibis
from ibis.expr.types import Table

from leadfunnel.adapters.warehouse.milestones import custom_field, reach_column
from leadfunnel.analytics.funnel_oracle import NONE_GROUP
from leadfunnel.analytics.funnel_spec import custom_field_key
from leadfunnel.analytics.kpi_spec import (
    ALL_GROUP,
    FAST_RESPONSE_MINUTES,
    RESPONSE_KINDS,
    KpiSpec,
)
from leadfunnel.analytics.kpis import KpiCounts, KpiResult, KpiRow, kpi_rows, total_counts

__all__ = [
    "cost_counts",
    "deal_counts",
    "first_responses",
    "kpi_result",
    "lead_counts",
    "overall_counts",
    "selected_leads",
    "with_first_responses",
]

_CLOSED = ("won", "lost")


#: Dimensions holding ids: SQLite keeps them as 32 hex digits, PostgreSQL as ``uuid``.
_ID_DIMENSIONS = ("owner_id", "team_id")


def _label(value: Any) -> Any:
    return value.cast("string").nullif("").fill_null(NONE_GROUP)


def _dimension(table: Table, column: str) -> Any:
    """A lead's value of a dimension as grouped and filtered on: ids in their usual dashed
    form on every backend (as ``lead show`` prints them), empty values as ``(none)``."""
    value = table[column].cast("string")
    if column in _ID_DIMENSIONS:
        parts = [
            value.substr(start, length)
            for start, length in ((0, 8), (8, 4), (12, 4), (16, 4), (20, 12))
        ]
        dashed = parts[0] + "-" + parts[1] + "-" + parts[2] + "-" + parts[3] + "-" + parts[4]
        value = (value.length() == 32).ifelse(dashed, value)
    return _label(value)


def _seconds(later: Any, earlier: Any) -> Any:
    # Microseconds apart, not epoch seconds: Spark's epoch seconds drop the fraction.
    return later.delta(earlier, unit="microsecond").cast("float64") / 1e6


def selected_leads(milestones: Table, spec: KpiSpec) -> Table:
    """The milestone rows of the leads the question is about, with their group ``grp``."""
    m = milestones
    if spec.period_from is not None:
        m = m.filter(m.created_at.date() >= spec.period_from)
    if spec.period_to is not None:
        m = m.filter(m.created_at.date() <= spec.period_to)
    for name, values in spec.filters:
        key = custom_field_key(name)
        value = (
            _label(custom_field(m.custom_fields, key)) if key else _dimension(m, spec.column(name))
        )
        m = m.filter(value.isin(list(values)))
    column = spec.by_column
    return m.mutate(grp=ibis.literal(ALL_GROUP) if column is None else _dimension(m, column))


def first_responses(leads: Table, activities: Table) -> Table:
    """Per lead with a response: ``lead_id`` and ``first_at``, the earliest ``at`` of its
    activities of a response kind at or after its creation. ``leads`` needs ``id`` and
    ``created_at`` (all leads, or only those a question or a sync is about)."""
    a = activities.filter(activities.kind.isin(list(RESPONSE_KINDS)))
    lead = leads.select(sel_id=leads.id, sel_created=leads.created_at)
    answered = a.join(lead, a.lead_id == lead.sel_id).filter(lambda t: t.at >= t.sel_created)
    return answered.group_by(lead_id=answered.lead_id).aggregate(first_at=answered.at.min())


def with_first_responses(milestones: Table, first: Table) -> Table:
    """``milestones`` with ``first_response_at``: the lead's first response in ``first``
    (:func:`first_responses` of at least these leads), null when it has none."""
    responses = first.select(first_id=first.lead_id, first_response_at=first.first_at)
    joined = milestones.left_join(responses, milestones.lead_id == responses.first_id)
    return joined.drop("first_id")


def lead_counts(selected: Table, *, now: datetime) -> Table:
    """Per group: stages reached, first-response counts and times, the sales cycle
    (``selected``: milestones with ``first_response_at``; ``now`` decides which leads are
    old enough to be due a response)."""
    t = selected
    first_at = t.first_response_at
    fast = ibis.interval(minutes=FAST_RESPONSE_MINUTES)
    responded = first_at.notnull()
    due = (t.owner_id.notnull() | responded) & (t.created_at <= ibis.literal(now) - fast)
    quick = (due & responded & (first_at <= t.created_at + fast)).fill_null(False)
    minutes = _response_minutes(t)
    cycle = _seconds(t[reach_column("won")], t.created_at) / 86_400
    n = t.lead_id
    return t.group_by("grp").aggregate(
        leads=n.count(),
        **{s: n.count(where=t[reach_column(s)].notnull()) for s in ("mql", "sql", "opportunity", "won")},
        lost=n.count(where=t.current_stage == "lost"),
        responded=n.count(where=responded),
        response_due=n.count(where=due),
        responded_5m=n.count(where=quick),
        mttr_mean_minutes=minutes.mean(),
        mttr_median_minutes=minutes.quantile(0.5),
        sales_cycle_days=cycle.mean(),
    )  # fmt: skip


def _response_minutes(t: Table) -> Any:
    return _seconds(t.first_response_at, t.created_at) / 60


def overall_counts(selected: Table, opportunities: Table) -> Table:
    """One row over all the selected leads: their median first-response time and their
    distinct customers (the total's measures that are no sums of the groups')."""
    leads = selected.aggregate(overall_mttr_median=_response_minutes(selected).quantile(0.5))
    d = _deals(selected, opportunities)
    deals = d.aggregate(overall_customers=_customer(d).nunique(where=d.stage == "won"))
    return leads.cross_join(deals)


def _customer(deals: Table) -> Any:
    """The deal's customer: its account, else its lead (both ids of one type on every
    backend: ``uuid`` in the DuckDB store and PostgreSQL, text in Spark)."""
    return ibis.coalesce(deals.account_id, deals.lead_id)


def _first_wins(opportunities: Table) -> Table:
    """``first_win``: ids of the won deals that are their customer's first win (by close
    time, else creation time, then creation time, then id)."""
    won = opportunities.filter(opportunities.stage == "won")
    order = ibis.window(
        group_by=_customer(won),
        order_by=[ibis.coalesce(won.closed_at, won.created_at), won.created_at, won.id],
    )
    ranked = won.mutate(rank=ibis.row_number().over(order))
    return ranked.filter(ranked["rank"] == 0).select(first_win=ranked.id)


def _deals(selected: Table, opportunities: Table) -> Table:
    leads = selected.select(sel_id=selected.lead_id, grp=selected.grp)
    return opportunities.join(leads, opportunities.lead_id == leads.sel_id)


def deal_counts(selected: Table, opportunities: Table) -> Table:
    """Per group and ``reason``: the selected leads' deals by outcome, won revenue and
    customers. ``reason`` is null but for lost deals (``(none)`` for one without a reason),
    so a group's won deals, and so its customers, are all in its row without a reason."""
    d = _deals(selected, opportunities)
    firsts = _first_wins(opportunities)
    d = d.left_join(firsts, d.id == firsts.first_win)
    won = d.stage == "won"
    d = d.mutate(reason=(d.stage == "lost").ifelse(_label(d.lost_reason), ibis.null(str)))
    return d.group_by(["grp", "reason"]).aggregate(
        deals=d.id.count(),
        open_deals=d.id.count(where=~d.stage.isin(list(_CLOSED))),
        won_deals=d.id.count(where=won),
        lost_deals=d.id.count(where=d.stage == "lost"),
        won_revenue=d.amount.sum(where=won),
        customers=_customer(d).nunique(where=won),
        new_customers=d.id.count(where=d.first_win.notnull()),
    )


def cost_counts(campaigns: Table, costs: Table, spec: KpiSpec) -> Table:
    """Spend per group in the period (only meaningful when ``spec.cost_attributable``)."""
    k = campaigns.select(
        campaign_key=campaigns.id, channel=campaigns.channel, campaign=campaigns.name
    )
    c = costs.join(k, costs.campaign_id == k.campaign_key)
    if spec.period_from is not None:
        c = c.filter(c.day >= spec.period_from)
    if spec.period_to is not None:
        c = c.filter(c.day <= spec.period_to)
    for name, values in spec.filters:
        c = c.filter(_label(c[name]).isin(list(values)))
    group = ibis.literal(ALL_GROUP) if spec.by is None else _label(c[spec.by])
    return c.mutate(grp=group).group_by("grp").aggregate(cost=c.amount.sum())


def _number(value: Any) -> float | None:
    return None if value is None or value != value else float(value)


def kpi_result(
    spec: KpiSpec,
    leads: list[dict[str, Any]],
    deals: list[dict[str, Any]],
    costs: list[dict[str, Any]] | None,
    overall: list[dict[str, Any]] | None = None,
) -> KpiResult:
    """The aggregations' rows, by column name, as a :class:`KpiResult` (with a breakdown,
    its total from the groups and ``overall``: :func:`overall_counts`)."""
    # A question without a breakdown always has its row.
    fields: dict[str, dict[str, Any]] = defaultdict(
        dict, {ALL_GROUP: {}} if spec.by is None else {}
    )
    measured = ("mttr_mean_minutes", "mttr_median_minutes", "sales_cycle_days")
    for row in leads:
        fields[row["grp"]].update(
            {k: int(v or 0) for k, v in row.items() if k != "grp" and k not in measured},
            **{k: _number(row[k]) for k in measured},
        )
    lost: dict[str, list[tuple[str, int]]] = defaultdict(list)
    for row in deals:  # a group's rows: one per lost reason, one for the rest
        group = fields[row["grp"]]
        for k, v in row.items():
            if k == "won_revenue":
                group[k] = group.get(k, Decimal(0)) + Decimal(v or 0)
            elif k not in ("grp", "reason"):
                group[k] = group.get(k, 0) + int(v or 0)
        if row["reason"] is not None:
            lost[row["grp"]].append((row["reason"], int(row["lost_deals"])))
    spent = {row["grp"]: Decimal(row["cost"] or 0) for row in costs or ()}
    for group in spent:  # groups that spent without bringing a lead
        fields.setdefault(group, {})
    counts = [
        KpiCounts(
            group,
            **values,
            cost=None if costs is None else spent.get(group, Decimal(0)),
            lost_reasons=tuple(sorted(lost[group], key=lambda kv: (-kv[1], kv[0]))),
        )
        for group, values in fields.items()
    ]
    if spec.by is None or overall is None:
        return KpiResult(spec, kpi_rows(counts))
    (whole,) = overall
    total = total_counts(
        counts,
        mttr_median_minutes=_number(whole["overall_mttr_median"]),
        customers=int(whole["overall_customers"] or 0),
        costed=costs is not None,
    )
    return KpiResult(spec, kpi_rows(counts), KpiRow(total))
