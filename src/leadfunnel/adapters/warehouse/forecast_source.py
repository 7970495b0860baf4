"""Deals for the forecast, read from the analytics store as :class:`~leadfunnel.analytics.forecast_data.Deal`.

Two Ibis queries on any backend: the deals with their lead's channel, team and product
line (a deal without a lead has none), and the deals' stage history, oldest first. Both
are read as Arrow and assembled in one pass. ``owners`` (the caller's scope) keeps only the
deals those users own; ``None`` keeps all. :func:`forecast_leads` does the same for leads
and their lifecycle history, each lead worth 1 (the forecast then counts won leads).
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Iterable
from datetime import UTC, date, datetime
from typing import Any

from ibis.expr.types import Table

from leadfunnel.analytics.forecast_data import NONE, Deal, day_number

__all__ = ["forecast_deals", "forecast_leads"]


def _dashed(value: Any) -> str:
    if value is None:
        return NONE
    try:
        return str(uuid.UUID(str(value)))
    except ValueError:
        return str(value)


def _days(value: datetime | date | None) -> float | None:
    if value is None:
        return None
    if isinstance(value, datetime) and value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return day_number(value)


def _deal_table(opportunities: Table, leads: Table, owners: Iterable[str] | None) -> Table:
    o = opportunities
    if owners is not None:
        o = o.filter(o.owner_id.cast("string").isin(list(owners)))
    joined = o.left_join(leads, o.lead_id == leads.id)
    return joined.select(
        id=o.id.cast("string"), amount=o.amount.cast("float64"), created_at=o.created_at,
        owner_id=o.owner_id.cast("string"), team_id=leads.team_id.cast("string"), channel=leads.channel,
        product=leads.product_interest, expected_close=o.expected_close,
        category=o.forecast_category, next_step=o.next_step,
    )  # fmt: skip


def _histories(
    rows: list[dict[str, Any]], wanted: set[str]
) -> dict[str, tuple[tuple[float, str], ...]]:
    """Stage changes per owner id, oldest first; same-moment changes keep the order they
    were made in (UUIDv7 ids are time-ordered)."""
    found: dict[str, list[tuple[float, str, str]]] = defaultdict(list)
    for row in rows:
        if row["id"] in wanted:
            at = _days(row["at"])
            assert at is not None
            found[row["id"]].append((at, _dashed(row["change"]), row["stage"]))
    return {k: tuple((at, stage) for at, _, stage in sorted(v)) for k, v in found.items()}


def forecast_leads(leads: Table, transitions: Table, owners: Iterable[str] | None) -> list[Deal]:
    """Every lead (of ``owners``, when given) with its lifecycle history, worth 1 each."""
    chosen = (
        leads if owners is None else leads.filter(leads.owner_id.cast("string").isin(list(owners)))
    )
    rows = chosen.select(
        id=chosen.id.cast("string"), created_at=chosen.created_at, owner_id=chosen.owner_id.cast("string"),
        team_id=chosen.team_id.cast("string"), channel=chosen.channel, product=chosen.product_interest,
    ).to_pyarrow().to_pylist()  # fmt: skip
    t = transitions.select(id=transitions.lead_id.cast("string"), at=transitions["at"],
                           stage=transitions.to_stage, change=transitions.id.cast("string"))  # fmt: skip
    changes = _histories(t.to_pyarrow().to_pylist(), {r["id"] for r in rows})
    found = []
    for r in rows:
        created = _days(r["created_at"])
        assert created is not None
        found.append(Deal(
            _dashed(r["id"]), 1.0, created, changes.get(r["id"], ((created, "lead"),)), owner=_dashed(r["owner_id"]),
            team=_dashed(r["team_id"]), product=r["product"] or NONE, channel=r["channel"] or NONE,
        ))  # fmt: skip
    return found


def forecast_deals(
    opportunities: Table, leads: Table, history: Table, owners: Iterable[str] | None
) -> list[Deal]:
    """Every deal (of ``owners``, when given) with its stage history."""
    deals = _deal_table(opportunities, leads, owners).to_pyarrow().to_pylist()
    wanted = {d["id"] for d in deals}
    h = history.select(
        id=history.opportunity_id.cast("string"), at=history["at"], stage=history.to_stage,
        change=history.id.cast("string"),
    )  # fmt: skip
    changes = _histories(h.to_pyarrow().to_pylist(), wanted)
    found = []
    for d in deals:
        created = _days(d["created_at"])
        assert created is not None
        found.append(Deal(
            _dashed(d["id"]), float(d["amount"] or 0.0), created, changes.get(d["id"], ()),
            owner=_dashed(d["owner_id"]), team=_dashed(d["team_id"]), product=d["product"] or NONE,
            channel=d["channel"] or NONE, expected_close=_days(d["expected_close"]),
            category=d["category"], next_step=d["next_step"],
        ))  # fmt: skip
    return found
