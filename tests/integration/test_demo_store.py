"""The demo's bulk load on each backend: SQLite (multi-row inserts) and PostgreSQL (COPY)."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pytest

from leadfunnel.adapters.sql.bulk import BulkWriter
from leadfunnel.domain.access import SYSTEM
from leadfunnel.services.demo import TableBatch, build_demo
from leadfunnel.services.leads import get_lead, list_leads
from tests.builders import count_rows, funnel_steps

NOW = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)


def test_demo_history_reads_back_on_each_backend(any_app):
    with BulkWriter(any_app.engine) as writer:
        result = build_demo(sink=writer, leads=400, seed=5, now=NOW)
        writer.commit()
    for table, count in result.rows.items():
        assert count_rows(any_app, table) == count, table
    steps = funnel_steps(any_app, NOW)
    assert steps[0].reached == 400 and steps[1].reached > steps[2].reached > 0
    in_sql = list_leads(uow_factory=any_app.uow_factory, principal=SYSTEM, filters={"stage": "sql"}, limit=3)
    assert in_sql.total == steps[2].open  # nobody moves back to sql: all of them are open there
    lead = list_leads(uow_factory=any_app.uow_factory, principal=SYSTEM, filters={"channel": "paid_search"}).items[0]
    view = get_lead(uow_factory=any_app.uow_factory, principal=SYSTEM, lead_id=lead["id"])
    assert view.lead["created_at"].tzinfo is not None and view.lead["created_at"] < NOW
    assert view.timeline[-1]["at"] <= NOW and view.lead["custom_fields"] == {}
    assert (
        view.lead["stage"]
        == [e for e in view.timeline if e["type"] == "stage_change"][-1]["to_stage"]
    )


def test_demo_cannot_write_a_table_or_column_the_schema_lacks(any_app):
    with BulkWriter(any_app.engine) as writer:
        with pytest.raises(ValueError, match="no column"):
            writer.write(TableBatch("leads", {"nickname": np.array(["x"], dtype=object)}))
        with pytest.raises(ValueError, match="no table"):
            writer.write(TableBatch("sheep", {"id": np.array(["x"], dtype=object)}))
