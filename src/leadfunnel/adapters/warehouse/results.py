"""Turn an engine's per-(group, cohort) counts into the :class:`FunnelResult` every caller uses."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from leadfunnel.adapters.warehouse.funnel_builder import open_column, reached_column
from leadfunnel.analytics.funnel_oracle import FunnelResult, merge_top_n, rows_from_counts
from leadfunnel.analytics.funnel_spec import FunnelSpec

__all__ = ["funnel_result"]


def _day(value: Any) -> date | None:
    if value is None or value != value:  # None or NaT/NaN from pandas
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    return date.fromisoformat(str(value)[:10])


def funnel_result(records: list[dict[str, Any]], spec: FunnelSpec) -> FunnelResult:
    """Rows by column name (never by position); applies top-N merging into ``other``."""
    n = len(spec.steps)
    cells: dict[tuple[str | None, date | None], list[list[int]]] = {}
    for record in records:
        group = record["grp"] if isinstance(record["grp"], str) else None
        cells[(group, _day(record["cohort"]))] = [
            [
                int(record[reached_column(k)] or 0),
                int(record[open_column(k)] or 0) if k < n - 1 else 0,
            ]
            for k in range(n)
        ]
    return FunnelResult(spec, tuple(rows_from_counts(merge_top_n(cells, spec), spec)))
