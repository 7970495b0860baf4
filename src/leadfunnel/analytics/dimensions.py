"""Lead dimensions: what funnel and KPI questions break down and filter by.

A dimension is one of :data:`BREAKDOWNS` (channel, campaign and the UTM fields have a
first-touch and a last-touch column; the spec's attribution picks one) or, where a question
allows it, a custom field ``custom.NAME``.

**Filters** keep only matching leads: several values of one dimension are alternatives
(OR), different dimensions must all match (AND), and ``(none)`` matches an empty value.
They come as ``DIMENSION=VALUE`` strings (CLI ``--where``, API ``where``) or a mapping, and
are normalised once into sorted ``(dimension, values)`` pairs; errors name the field
``where``:

>>> parse_filters(["region=EMEA", "channel=webinar", "region=APAC"])
(('channel', ('webinar',)), ('region', ('APAC', 'EMEA')))
>>> parse_filters({"custom.plan": ["gold"]}, custom_fields=True)
(('custom.plan', ('gold',)),)
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

from leadfunnel.domain.errors import ValidationError

__all__ = [
    "BREAKDOWNS",
    "FilterInput",
    "Filters",
    "custom_dimension",
    "dimension_name",
    "parse_filters",
]

#: Breakdown dimensions -> (first-touch column, last-touch column) of the lead.
BREAKDOWNS: dict[str, tuple[str, str]] = {
    "channel": ("channel", "last_channel"),
    "campaign": ("campaign", "last_campaign"),
    "utm_source": ("first_utm_source", "last_utm_source"),
    "utm_medium": ("first_utm_medium", "last_utm_medium"),
    "utm_campaign": ("first_utm_campaign", "last_utm_campaign"),
    **{d: (d, d) for d in ("region", "country", "industry", "company_size_band", "product_interest",
                           "owner_id", "team_id", "grade", "source")},
}  # fmt: skip
#: Normalised filters: sorted (dimension, sorted values) pairs.
Filters = tuple[tuple[str, tuple[str, ...]], ...]
#: What callers may give: ``DIMENSION=VALUE`` strings, or dimension -> value(s).
FilterInput = Iterable[str] | Mapping[str, str | Iterable[str]] | None

_CUSTOM = re.compile(r"^(?:custom|custom_fields)\.([A-Za-z_][A-Za-z0-9_]{0,63})$")


def custom_dimension(name: str) -> str | None:
    """``custom.NAME`` (or ``custom_fields.NAME``) as ``custom.NAME``; None if it is not one."""
    match = _CUSTOM.match(name.strip())
    return f"custom.{match.group(1)}" if match else None


def dimension_name(name: str, field: str, verb: str, *, custom_fields: bool = False) -> str:
    """A known dimension's name, cleaned; else a :class:`ValidationError` naming ``field``."""
    clean = name.strip().lower()
    if clean in BREAKDOWNS:
        return clean
    custom = custom_dimension(name) if custom_fields else None
    if custom is not None:
        return custom
    also = ", or custom.NAME for a custom field" if custom_fields else ""
    raise ValidationError(
        field, f"cannot {verb} '{name}'; expected one of: {', '.join(BREAKDOWNS)}{also}"
    )


def parse_filters(filters: FilterInput, *, custom_fields: bool = False) -> Filters:
    """Validate filters (see the module docstring); ``custom_fields`` allows ``custom.NAME``."""
    pairs: list[tuple[str, str]] = []
    if isinstance(filters, Mapping):
        for name, value in filters.items():
            values = [value] if isinstance(value, str) else list(value)
            pairs.extend((name, v) for v in values)
    else:
        for text in filters or ():
            name, sep, value = text.partition("=")
            if not sep or not name.strip() or not value.strip():
                raise ValidationError(
                    "where", f"'{text}' is not DIMENSION=VALUE, e.g. channel=webinar"
                )
            pairs.append((name, value))
    chosen: dict[str, set[str]] = {}
    for name, value in pairs:
        if not value.strip():
            raise ValidationError("where", f"'{name}' needs a value, e.g. {name}=webinar")
        dimension = dimension_name(name, "where", "filter by", custom_fields=custom_fields)
        chosen.setdefault(dimension, set()).add(value.strip())
    return tuple((name, tuple(sorted(values))) for name, values in sorted(chosen.items()))
