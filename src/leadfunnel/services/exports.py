"""Export data sets as tables (columns + rows) for the file writers.

Data sets: ``leads`` (with the list filters), ``funnel`` (the lifecycle funnel), ``kpi``
(the KPI set from the analytics engine, optionally by a dimension: one row per group, the
lost reasons as one ``reason=count; ...`` cell). Each data set takes only its own options
(:data:`EXPORT_OPTIONS`); any other is refused, never silently ignored. Writers neutralise
spreadsheet formulas; see ``adapters/files/writers.py``.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from leadfunnel.analytics.kpis import KPI_COLUMNS, KpiResult
from leadfunnel.domain.access import SYSTEM, Principal
from leadfunnel.domain.errors import ValidationError
from leadfunnel.services.analytics import run_funnel
from leadfunnel.services.kpis import run_kpis
from leadfunnel.services.leads import LIST_FILTERS, list_leads
from leadfunnel.services.ports import AnalyticsEngine, UnitOfWorkFactory

__all__ = ["EXPORT_DATASETS", "EXPORT_OPTIONS", "LEAD_EXPORT_COLUMNS", "Table", "export_table"]

EXPORT_DATASETS = ("leads", "funnel", "kpi")
#: The options each data set takes: the lead list's filters, nothing, the KPI dimension.
EXPORT_OPTIONS: dict[str, tuple[str, ...]] = {
    "leads": LIST_FILTERS,
    "funnel": (),
    "kpi": ("by",),
}
LEAD_EXPORT_COLUMNS = (
    "id", "created_at", "stage", "stage_entered_at", "email", "phone", "external_id", "first_name",
    "last_name", "company", "title", "region", "country", "industry", "company_size", "product_interest",
    "channel", "campaign", "first_utm_source", "first_utm_medium", "first_utm_campaign", "last_channel",
    "last_touch_at", "owner_id", "in_pool", "score", "grade",
)  # fmt: skip
_PAGE = 1000


@dataclass
class Table:
    columns: list[str]
    rows: Iterator[list[Any]]


def _lead_rows(
    uow_factory: UnitOfWorkFactory, principal: Principal, filters: dict[str, Any]
) -> Iterator[list[Any]]:
    cursor: str | None = None
    while True:
        page = list_leads(uow_factory=uow_factory, principal=principal, filters=filters,
                          limit=_PAGE, cursor=cursor)  # fmt: skip
        for lead in page.items:
            yield [lead[c] for c in LEAD_EXPORT_COLUMNS]
        cursor = page.next_cursor
        if cursor is None:
            return


def _kpi_rows(result: KpiResult) -> Iterator[list[Any]]:
    for row in result.rows:
        values = row.to_dict()
        reasons = "; ".join(f"{r['reason']}={r['count']}" for r in values["lost_reasons"])
        yield [*(values[c] for c in KPI_COLUMNS), reasons]


def export_table(
    *,
    uow_factory: UnitOfWorkFactory,
    dataset: str,
    engine: AnalyticsEngine | None = None,
    now: datetime | None = None,
    filters: dict[str, Any] | None = None,
    by: str | None = None,
    principal: Principal = SYSTEM,
) -> Table:
    """The columns and rows of ``dataset``; rows are produced as the writer consumes them.

    ``funnel`` and ``kpi`` need the analytics ``engine`` and ``now``; ``leads`` reads the store.
    A filter or ``by`` the data set does not take is refused (``ValidationError`` naming it)."""
    _check_options(dataset, {**(filters or {}), "by": by})
    if dataset == "leads":
        # Validate the filters now, not when the writer first asks for a row.
        list_leads(uow_factory=uow_factory, principal=principal, filters=filters or {}, limit=1)
        return Table(list(LEAD_EXPORT_COLUMNS), _lead_rows(uow_factory, principal, filters or {}))
    if dataset in ("funnel", "kpi") and (engine is None or now is None):
        raise ValueError(f"the {dataset} data set needs the analytics engine and the time")
    if dataset == "funnel":
        assert engine is not None and now is not None
        steps = run_funnel(engine=engine, now=now).to_dict()["rows"]
        columns = (
            [c for c in steps[0] if c not in ("group", "cohort")] if steps else ["stage", "reached"]
        )
        return Table(columns, iter([[s[c] for c in columns] for s in steps]))
    if dataset == "kpi":
        assert engine is not None and now is not None
        result = run_kpis(engine=engine, now=now, by=by)
        return Table([*KPI_COLUMNS, "lost_reasons"], _kpi_rows(result))
    raise AssertionError(dataset)  # _check_options refused it


def _check_options(dataset: str, options: dict[str, Any]) -> None:
    """Refuse an unknown data set, then any option given (not None) that it does not take."""
    if dataset not in EXPORT_OPTIONS:
        raise ValidationError(
            "dataset",
            f"unknown data set '{dataset}'; expected one of: {', '.join(EXPORT_DATASETS)}",
        )
    for name, value in options.items():
        if value is not None and name not in EXPORT_OPTIONS[dataset]:
            others = [d for d, takes in EXPORT_OPTIONS.items() if name in takes]
            where = f" (only of: {', '.join(others)})" if others else ""
            raise ValidationError(name, f"is not an option of the {dataset} export{where}")
