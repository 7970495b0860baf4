"""What a KPI question is: a frozen, validated spec, normalised once.

A question has a **period** (leads created from ``period_from`` to ``period_to``, both
inclusive, UTC days; either may be open), an optional breakdown ``by`` one of the funnel's
dimensions (:data:`~leadfunnel.analytics.dimensions.BREAKDOWNS`; channel, campaign and the
UTM fields follow ``attribution``: the lead's first touch or its last), and ``filters``:
``dimension=value`` pairs that keep only matching leads (several values of one dimension
are alternatives; different dimensions must all match; ``(none)`` matches an empty value;
a filter's dimension may also be a custom field, ``custom.NAME``, read as funnels read it).

Cost can only be attributed to channels and campaigns (``campaign_costs`` belong to a
campaign, and a campaign to a channel), so cost-based KPIs exist only when the breakdown
and every filter are on ``channel`` or ``campaign``: :attr:`KpiSpec.cost_attributable`.

>>> spec = kpi_spec(by="channel", filters=["campaign=Spring expo"])
>>> spec.by_column, spec.filters, spec.cost_attributable
('channel', (('campaign', ('Spring expo',)),), True)
>>> kpi_spec(filters=["region=EMEA"]).cost_attributable
False
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from leadfunnel.analytics.dimensions import (
    BREAKDOWNS,
    FilterInput,
    Filters,
    dimension_name,
    parse_filters,
)
from leadfunnel.analytics.funnel_spec import Attribution
from leadfunnel.domain.errors import ValidationError

__all__ = [
    "ALL_GROUP",
    "COST_DIMENSIONS",
    "FAST_RESPONSE_MINUTES",
    "RESPONSE_KINDS",
    "KpiSpec",
    "kpi_spec",
]

#: The group of a question without a breakdown.
ALL_GROUP = "all"
#: Dimensions campaign costs can be attributed to.
COST_DIMENSIONS = ("channel", "campaign")
#: Activity kinds that answer a lead (notes and tasks are internal, not a response).
RESPONSE_KINDS = ("call", "email", "meeting", "chat")
#: A first response within this many minutes of creation counts as fast.
FAST_RESPONSE_MINUTES = 5


@dataclass(frozen=True)
class KpiSpec:
    """A KPI question (see the module docstring). ``filters`` are sorted (dimension, values)."""

    by: str | None = None
    attribution: Attribution = Attribution.FIRST_TOUCH
    period_from: date | None = None
    period_to: date | None = None
    filters: Filters = ()

    def column(self, dimension: str) -> str:
        """The lead column holding ``dimension`` under this spec's attribution (not for a
        custom field: ``funnel_spec.custom_field_key`` names the field)."""
        first, last = BREAKDOWNS[dimension]
        return first if self.attribution is Attribution.FIRST_TOUCH else last

    @property
    def by_column(self) -> str | None:
        return None if self.by is None else self.column(self.by)

    @property
    def cost_attributable(self) -> bool:
        dims = [d for d, _ in self.filters] + ([self.by] if self.by else [])
        return all(d in COST_DIMENSIONS for d in dims)

    def in_period(self, day: date) -> bool:
        return (self.period_from is None or day >= self.period_from) and (
            self.period_to is None or day <= self.period_to
        )


def kpi_spec(
    *,
    by: str | None = None,
    attribution: str | Attribution | None = None,
    period_from: date | None = None,
    period_to: date | None = None,
    filters: FilterInput = None,
) -> KpiSpec:
    """Validate loose options into a :class:`KpiSpec`; errors name the field."""
    if attribution is None or isinstance(attribution, Attribution):
        touch = attribution or Attribution.FIRST_TOUCH
    else:
        try:
            touch = Attribution(attribution.strip().lower())
        except ValueError:
            choices = ", ".join(a.value for a in Attribution)
            raise ValidationError(
                "attribution", f"'{attribution}' is not one of: {choices}"
            ) from None
    if period_from and period_to and period_from > period_to:
        raise ValidationError(
            "period_from", f"{period_from} is after the end of the period, {period_to}"
        )
    return KpiSpec(
        by=None if by is None else dimension_name(by, "by", "group by"),
        attribution=touch,
        period_from=period_from,
        period_to=period_to,
        filters=parse_filters(filters, custom_fields=True),
    )
