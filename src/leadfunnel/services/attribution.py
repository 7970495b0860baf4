"""Attribution use case: which channels and campaigns earned the conversions, and at what cost.

The models and their maths are in ``analytics/attribution*.py`` (docs/concepts/attribution.md);
this module loads the journeys once, credits them under the chosen model and any models to
compare with, and joins the credit with the KPI set's cost and lead counts (so cost per
lead means here what it means in ``leadfunnel kpi``).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from datetime import date, datetime
from typing import Protocol

from leadfunnel.analytics.attribution import GroupCredit, credit_by_group, touch_shares
from leadfunnel.analytics.attribution_journeys import (
    Journeys,
    by_account,
    converted_only,
    window,
)
from leadfunnel.analytics.attribution_markov import markov_shares
from leadfunnel.analytics.attribution_report import AttributionResult, economics_rows
from leadfunnel.analytics.attribution_spec import (
    DATA_DRIVEN,
    MODELS,
    POSITION_WEIGHTS,
    AttributionSpec,
    Conversion,
    Level,
    attribution_spec,
)
from leadfunnel.domain.access import SYSTEM, Principal, analytics_owners
from leadfunnel.domain.errors import ValidationError
from leadfunnel.services.kpis import run_kpis
from leadfunnel.services.ports import AttributionEngine, KpiEngine

__all__ = ["ATTRIBUTION_MODELS", "run_attribution"]

#: Every model a question may name (``custom`` needs weights).
ATTRIBUTION_MODELS = MODELS
_DAY = 86_400.0


class _Engine(AttributionEngine, KpiEngine, Protocol):
    """Journeys for the credit, KPIs for the cost."""


def _compared(spec: AttributionSpec, compare: Iterable[str] | None) -> list[str]:
    names = [spec.model]
    for raw in compare or ():
        name = raw.strip().lower()
        if not name:
            continue
        if name not in MODELS:
            raise ValidationError("compare", f"'{raw}' is not one of: {', '.join(MODELS)}")
        if name == "custom" and spec.model != "custom":
            raise ValidationError("compare", "custom can be compared only as the main model")
        if name not in names:
            names.append(name)
    return names


def _as_model(spec: AttributionSpec, name: str) -> AttributionSpec:
    if name == spec.model:
        return spec
    return replace(spec, model=name, weights=POSITION_WEIGHTS.get(name))


def _credit(
    spec: AttributionSpec, models: list[str], kept: Journeys, converted: Journeys
) -> tuple[dict[str, dict[str, GroupCredit]], dict[str, float] | None]:
    """Each model's credit per group (rule-based models read the converted journeys,
    data-driven ones learn from all), and the removal effects when Markov is the model."""
    won = spec.conversion is Conversion.WON
    comparison: dict[str, dict[str, GroupCredit]] = {}
    effects = None
    for name in models:
        data = kept if name in DATA_DRIVEN else converted
        if name == "markov":
            fit = markov_shares(data, order=spec.order)
            shares = fit.shares
            effects = fit.removal_effects if name == spec.model else effects
        else:
            shares = touch_shares(data, _as_model(spec, name))
        comparison[name] = {  # revenue is credited for won only
            c.group: c if won else replace(c, revenue=0.0)
            for c in credit_by_group(data, shares, spec.by)
        }
    return comparison, effects


def run_attribution(
    *,
    engine: _Engine,
    now: datetime,
    model: str | None = None,
    conversion: str | None = None,
    level: str | None = None,
    by: str | None = None,
    lookback: str | None = None,
    kinds: Iterable[str] | None = None,
    period_from: date | None = None,
    period_to: date | None = None,
    half_life: str | None = None,
    order: int | None = None,
    weights: str | None = None,
    compare: Iterable[str] | None = None,
    principal: Principal = SYSTEM,
) -> AttributionResult:
    """Validate the question (errors name the option), credit the journeys, add the cost.

    ``lookback`` and ``half_life`` are windows such as ``90d``; ``kinds`` touchpoint kinds
    (all when None); the period picks the leads created in it and the spend on its days.
    A manager's or rep's attribution covers the leads their team or they own, without cost.
    """
    spec = attribution_spec(
        model=model, conversion=conversion, level=level, by=by, lookback=lookback, kinds=kinds,
        period_from=period_from, period_to=period_to, half_life=half_life, order=order,
        weights=weights, owners=analytics_owners(principal),
    )  # fmt: skip
    models = _compared(spec, compare)
    journeys, accounts = engine.attribution_journeys(spec, now=now)
    if spec.level is Level.ACCOUNT:
        journeys = by_account(journeys, accounts, add_values=spec.conversion is Conversion.WON)
    lookback_seconds = None if spec.lookback_days is None else spec.lookback_days * _DAY
    kept, (lost, lost_value) = window(journeys, lookback_seconds=lookback_seconds)
    converted = converted_only(kept)
    won = spec.conversion is Conversion.WON
    comparison, effects = _credit(spec, models, kept, converted)
    kpis = run_kpis(
        engine=engine, now=now, by=spec.by, period_from=spec.period_from,
        period_to=spec.period_to, principal=principal,
    )  # fmt: skip
    counts = {row.counts.group: row.counts for row in kpis.rows}
    return AttributionResult(
        spec=spec,
        rows=tuple(economics_rows(list(comparison[spec.model].values()), counts, spec.conversion)),
        conversions=converted.size,
        revenue=float(converted.value.sum()) if won else 0.0,
        unattributed=lost,
        unattributed_revenue=lost_value if won else 0.0,
        journeys=kept.size,
        removal_effects=effects,
        comparison=comparison,
    )
