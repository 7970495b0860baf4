"""Test data builders and personas (readable inputs, not fixtures)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from leadfunnel.bootstrap import App
from leadfunnel.services.intake import IntakeResult, intake_lead
from leadfunnel.services.lead_input import parse_lead_input


def lead_fields(**overrides: Any) -> dict[str, Any]:
    """A valid web-form submission; override what the test is about."""
    fields: dict[str, Any] = {
        "email": "ann.lee@acme.example",
        "first_name": "Ann",
        "last_name": "Lee",
        "company": "ACME Widgets, Inc.",
        "title": "VP Operations",
        "region": "West",
        "industry": "manufacturing",
        "company_size": 800,
        "landing_url": "https://www.example.com/pricing?utm_source=google&utm_medium=cpc&utm_campaign=spring",
    }
    fields.update(overrides)
    return {k: v for k, v in fields.items() if v is not None}


def submit(
    app: App,
    *,
    at: datetime | None = None,
    key: str | None = None,
    source: str = "api",
    **overrides: Any,
) -> IntakeResult:
    """Submit a lead the way every entry point does: parse, then intake."""
    now = at or app.clock()
    draft = parse_lead_input(
        lead_fields(**overrides), now=now, default_region=app.settings.default_region
    )
    return intake_lead(
        uow_factory=app.uow_factory,
        draft=draft,
        source=source,
        actor="test",
        now=now,
        idempotency_key=key,
    )


def count_rows(app: App, table: str) -> int:
    from sqlalchemy import text

    with app.engine.connect() as conn:
        return int(conn.execute(text(f"SELECT count(*) FROM {table}")).scalar_one())


def table_counts(app: App) -> dict[str, int]:
    """Row counts of every table a write can touch: compare before/after to prove nothing was written."""
    return {
        name: count_rows(app, name)
        for name in ("leads", "stage_transitions", "touchpoints", "audit_log", "idempotency_keys")
    }


def funnel_steps(app, now):
    """The lifecycle funnel's rows, one per stage, from the analytics engine."""
    from types import SimpleNamespace

    from leadfunnel.services.analytics import run_funnel

    return [
        SimpleNamespace(**row)
        for row in run_funnel(engine=app.analytics, now=now).to_dict()["rows"]
    ]
