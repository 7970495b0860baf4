"""Lead-to-cash KPIs, overall or per value of a dimension, answered by the analytics engine.

The definitions (which leads, first response, win rate, CAC, LTV, ...) live with the spec
and the oracle in ``analytics/kpis.py``; docs/concepts/kpis.md has them with a worked
example.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from datetime import date, datetime

from leadfunnel.analytics.funnel_spec import BREAKDOWNS
from leadfunnel.analytics.kpi_spec import kpi_spec
from leadfunnel.analytics.kpis import KpiResult
from leadfunnel.domain.access import SYSTEM, Principal, analytics_owners
from leadfunnel.services.ports import KpiEngine

__all__ = ["KPI_DIMENSIONS", "run_kpis"]

#: What KPIs can be grouped and filtered by.
KPI_DIMENSIONS = tuple(BREAKDOWNS)


def run_kpis(
    *,
    engine: KpiEngine,
    now: datetime,
    by: str | None = None,
    attribution: str | None = None,
    period_from: date | None = None,
    period_to: date | None = None,
    where: Iterable[str] | None = None,
    principal: Principal = SYSTEM,
) -> KpiResult:
    """Validate the question (errors name the option), then ask the engine.

    ``where`` holds ``dimension=value`` filters, e.g. ``["region=EMEA"]``; the period picks
    the leads created from ``period_from`` to ``period_to`` (inclusive) and the spend on
    those days. A manager's or rep's KPIs cover the leads their team or they own; their
    campaign spend is not theirs alone, so cost KPIs are left out for them (the engine
    attributes cost only to channel and campaign filters).
    """
    spec = kpi_spec(
        by=by,
        attribution=attribution,
        period_from=period_from,
        period_to=period_to,
        filters=list(where or ()),
    )
    owners = analytics_owners(principal)
    if owners is not None:
        # The caller's owners, narrowed by any owner filter they gave (never widened by it).
        asked = dict(spec.filters).get("owner_id")
        allowed = sorted(str(o) for o in owners if asked is None or str(o) in asked)
        filters = {name: values for name, values in spec.filters if name != "owner_id"}
        spec = replace(
            spec, filters=tuple(sorted({**filters, "owner_id": tuple(allowed or ["-"])}.items()))
        )
    return engine.kpis(spec, now=now)
