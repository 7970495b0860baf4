"""Loading attribution journeys: two Ibis expressions, then numpy columns.

* :func:`journey_leads`: one row per selected lead (created in the period, owned by the
  caller's owners): its account (the lead itself without one), creation time, when it
  reached the conversion stage, when its first deal was opened (else when it reached
  ``opportunity``), and its won revenue (the sum of its won deals);
* :func:`journey_touches`: those leads' touchpoints of the chosen kinds, with channel and
  campaign (``(none)`` when empty).

:func:`to_journeys` turns the two Arrow tables into :class:`Journeys` (lead ids matched by
hash, channels and campaigns dictionary-encoded; the touches sorted into journeys by numpy,
which is faster than an ``ORDER BY`` on the lead ids' text). The lookback, the level and
the models are pure code (``analytics/attribution*.py``).
"""

from __future__ import annotations

from typing import Any

import ibis
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from ibis.expr.types import Table

from leadfunnel.adapters.warehouse.milestones import reach_column
from leadfunnel.analytics.attribution_journeys import Floats, Journeys, journeys
from leadfunnel.analytics.attribution_spec import AttributionSpec, Conversion
from leadfunnel.analytics.funnel_oracle import NONE_GROUP

__all__ = ["journey_leads", "journey_touches", "to_journeys"]


def journey_leads(
    milestones: Table, leads: Table, opportunities: Table, spec: AttributionSpec
) -> Table:
    m = milestones
    if spec.period_from is not None:
        m = m.filter(m.created_at.date() >= spec.period_from)
    if spec.period_to is not None:
        m = m.filter(m.created_at.date() <= spec.period_to)
    if spec.owners is not None:
        # No owner matches the empty set's stand-in: a caller who owns nothing sees nothing.
        m = m.filter(m.owner_id.cast("string").isin([str(o) for o in sorted(spec.owners)] or ["-"]))
    o = opportunities
    deals = o.group_by(deal_lead=o.lead_id).aggregate(
        opened=o.created_at.min(), revenue=o.amount.sum(where=o.stage == "won")
    )
    # A view: on PostgreSQL the milestones are themselves an expression over ``leads``.
    own = leads.view()
    accounts = own.select(account_lead=own.id, account_id=own.account_id)
    with_deals = m.left_join(deals, m.lead_id == deals.deal_lead)
    t = with_deals.left_join(accounts, with_deals.lead_id == accounts.account_lead)
    lead = t.lead_id.cast("string")
    return t.select(
        lead_id=lead,
        account=ibis.coalesce(t.account_id.cast("string"), lead),
        created_at=t.created_at,
        converted_at=t[reach_column(spec.conversion.value)],
        opened_at=ibis.coalesce(t.opened, t[reach_column("opportunity")]),
        revenue=t.revenue.cast("float64").fill_null(0.0),
    )


def journey_touches(touchpoints: Table, selected: Table, spec: AttributionSpec) -> Table:
    t = touchpoints
    if spec.kinds is not None:
        t = t.filter(t.kind.isin(list(spec.kinds)))
    t = t.filter(t.lead_id.cast("string").isin(selected.lead_id))
    return t.select(
        lead_id=t.lead_id.cast("string"),
        at=t.at,
        channel=t.channel.cast("string").nullif("").fill_null(NONE_GROUP),
        campaign=t.campaign.cast("string").nullif("").fill_null(NONE_GROUP),
    )


def _seconds(column: Any) -> Floats:
    """Arrow timestamps (naive UTC or zoned) as float seconds since the epoch; null: NaN."""
    values = column.to_numpy(zero_copy_only=False).astype("datetime64[us]")
    out = values.astype(np.int64).astype(np.float64) / 1e6
    out[np.isnat(values)] = np.nan
    return np.asarray(out, dtype=np.float64)


def _codes(column: Any) -> tuple[Any, tuple[str, ...]]:
    encoded = pc.dictionary_encode(column).combine_chunks()
    names = tuple(str(v) for v in encoded.dictionary.to_pylist())
    return encoded.indices.to_numpy(zero_copy_only=False).astype(np.int64), names


def to_journeys(
    leads: pa.Table, touches: pa.Table, spec: AttributionSpec
) -> tuple[Journeys, tuple[str, ...]]:
    """Lead journeys and each one's account, from the two tables' Arrow results."""
    lead_ids = leads.column("lead_id").combine_chunks()
    journey = pc.index_in(touches.column("lead_id"), value_set=lead_ids)
    channel, channels = _codes(touches.column("channel"))
    campaign, campaigns = _codes(touches.column("campaign"))
    won = spec.conversion is Conversion.WON
    revenue = leads.column("revenue").to_numpy(zero_copy_only=False).astype(np.float64)
    built = journeys(
        journey=journey.to_numpy(zero_copy_only=False).astype(np.int64),
        at=_seconds(touches.column("at")),
        channel=channel,
        campaign=campaign,
        channels=channels,
        campaigns=campaigns,
        converted_at=_seconds(leads.column("converted_at")),
        value=revenue if won else np.ones(len(lead_ids)),
        lead_at=_seconds(leads.column("created_at")),
        opportunity_at=_seconds(leads.column("opened_at")),
    )
    return built, tuple(leads.column("account").to_pylist())
