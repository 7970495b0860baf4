"""The DuckDB store's first responses (the milestones' ``first_response_at``): kept up to
date incrementally, always equal to a full rebuild (new activities, a lead's creation time moved, new leads, an activity
moved to another lead), and unchanged by a sync that crashes."""

from __future__ import annotations

import random
from datetime import timedelta
from pathlib import Path
from uuid import UUID

import duckdb
import pytest
from sqlalchemy import text

from leadfunnel.adapters.warehouse import duckdb_store
from leadfunnel.adapters.warehouse.duckdb_store import FORMAT, DuckDbStore
from leadfunnel.adapters.warehouse.engine import analytics_engine
from leadfunnel.analytics.funnel_oracle import LeadHistory
from leadfunnel.analytics.kpi_oracle import Activity, KpiData
from leadfunnel.analytics.kpi_spec import RESPONSE_KINDS, kpi_spec
from tests.integration.test_kpi_engine import NOW, assert_same
from tests.kpi_data import random_data, write_kpi_data


def _rows(path: Path) -> list[tuple[object, ...]]:
    with duckdb.connect(str(path), read_only=True) as db:
        return db.execute(
            "SELECT lead_id, first_response_at FROM milestones "
            "WHERE first_response_at IS NOT NULL ORDER BY lead_id"
        ).fetchall()


def _rebuilt(engine, folder: Path, now) -> list[tuple[object, ...]]:
    """The first responses of a store built from scratch (a full sync into a new file)."""
    path = folder / f"rebuilt-{len(list(folder.glob('rebuilt-*')))}.duckdb"
    assert DuckDbStore(path).sync(engine.reader, now=now).full
    return _rows(path)


def _first(rows: list[tuple[object, ...]], lead: UUID) -> object:
    return dict(rows).get(lead)  # the store keeps lead ids as UUIDs


def _execute(app, sql: str, **params: object) -> None:
    with app.engine.begin() as conn:
        conn.execute(text(sql), params)


def test_incremental_syncs_keep_first_responses_equal_to_a_full_rebuild(app, tmp_path):
    data = random_data(random.Random(21), n=80)
    write_kpi_data(app, data)
    engine = analytics_engine(app.engine)
    store = engine.store
    assert store.sync(engine.reader, now=NOW).full
    start = _rows(store.path)
    assert start == _rebuilt(engine, tmp_path, NOW) and len(start) > 20

    # (a) New activities for existing leads: one earlier than the lead's first response
    # (it becomes the first), one later (nothing changes), one before creation (ignored),
    # one of a kind that is no response (ignored).
    later = NOW + timedelta(hours=3)
    answered = [
        (lead_id, lead)
        for lead_id, lead in data.leads
        if (first := _first(start, lead_id)) and first > lead.created_at.replace(tzinfo=None)
    ][:2]
    unanswered = [(lead_id, lead) for lead_id, lead in data.leads if not _first(start, lead_id)]
    (a_id, a), (b_id, b) = answered
    (c_id, c), (d_id, d) = unanswered[:2]
    extra = KpiData(
        leads=[],
        activities=[
            Activity(a_id, "chat", a.created_at),  # the earliest a response can be
            Activity(b_id, "call", b.created_at + timedelta(days=900)),
            Activity(c_id, "email", c.created_at - timedelta(minutes=1)),
            Activity(d_id, "task", d.created_at + timedelta(minutes=1)),
        ],
        deals=[],
        costs=[],
    )
    write_kpi_data(app, extra, written_at=later)
    stats = store.sync(engine.reader, now=later + timedelta(hours=1))
    assert not stats.full and stats.records["activities"] < 10
    after_a = _rows(store.path)
    assert after_a == _rebuilt(engine, tmp_path, later + timedelta(hours=1))
    assert _first(after_a, a_id) == a.created_at.replace(tzinfo=None)
    assert _first(after_a, b_id) == _first(start, b_id)
    assert _first(after_a, c_id) is None and _first(after_a, d_id) is None

    # (b) A lead's creation time moves (later than its first response: it has none now;
    # earlier: an activity from before the old creation time becomes its first response).
    moved = later + timedelta(hours=2)
    _execute(app, "UPDATE leads SET created_at = :at, updated_at = :stamp WHERE id = :id",
             at=(NOW + timedelta(days=5000)).replace(tzinfo=None), stamp=moved.replace(tzinfo=None),
             id=a_id.hex)  # fmt: skip
    _execute(app, "UPDATE leads SET created_at = :at, updated_at = :stamp WHERE id = :id",
             at=(c.created_at - timedelta(hours=1)).replace(tzinfo=None),
             stamp=moved.replace(tzinfo=None), id=c_id.hex)  # fmt: skip
    stats = store.sync(engine.reader, now=moved + timedelta(hours=1))
    assert not stats.full and stats.leads < 10
    after_b = _rows(store.path)
    assert after_b == _rebuilt(engine, tmp_path, moved + timedelta(hours=1))
    assert _first(after_b, a_id) is None
    assert _first(after_b, c_id) == (c.created_at - timedelta(minutes=1)).replace(tzinfo=None)

    # (c) New leads, one answered, one answered only before its creation, one not at all.
    newer = moved + timedelta(hours=2)
    fresh = [UUID(int=900_001 + i) for i in range(3)]
    new_leads = KpiData(
        leads=[(lead_id, LeadHistory(newer, "lead", (("lead", newer),), {"channel": "webinar"}))
               for lead_id in fresh],
        activities=[Activity(fresh[0], "meeting", newer + timedelta(minutes=4)),
                    Activity(fresh[1], "call", newer - timedelta(minutes=4))],
        deals=[],
        costs=[],
    )  # fmt: skip
    write_kpi_data(app, new_leads, written_at=newer)
    stats = store.sync(engine.reader, now=newer + timedelta(hours=1))
    assert not stats.full and stats.leads < 10
    after_c = _rows(store.path)
    assert after_c == _rebuilt(engine, tmp_path, newer + timedelta(hours=1))
    assert _first(after_c, fresh[0]) == (newer + timedelta(minutes=4)).replace(tzinfo=None)
    assert _first(after_c, fresh[1]) is None and _first(after_c, fresh[2]) is None

    # (d) Activities moved to another lead (and stamped when they moved, so the sync reads
    # them again), between two leads the sync does not see change: the lead they left loses
    # its responses, the one they joined gains those at or after its creation.
    where = newer + timedelta(hours=2)
    _execute(app, "UPDATE activities SET lead_id = :to, created_at = :stamp WHERE lead_id = :id",
             to=d_id.hex, stamp=where.replace(tzinfo=None), id=b_id.hex)  # fmt: skip
    stats = store.sync(engine.reader, now=where + timedelta(hours=1))
    assert not stats.full and b_id.hex not in engine.reader.changed_lead_ids(newer)
    after_d = _rows(store.path)
    assert after_d == _rebuilt(engine, tmp_path, where + timedelta(hours=1))
    assert _first(after_d, b_id) is None
    assert _first(after_d, d_id) == min(
        a.at.replace(tzinfo=None)
        for a in [*data.activities, *extra.activities]
        if a.lead_id == b_id and a.kind in RESPONSE_KINDS and a.at >= d.created_at
    )


def test_a_sync_that_crashes_leaves_first_responses_as_they_were(app, tmp_path, monkeypatch):
    data = random_data(random.Random(22), n=40)
    write_kpi_data(app, data)
    engine = analytics_engine(app.engine)
    store = engine.store
    store.sync(engine.reader, now=NOW)
    before = _rows(store.path)
    spec = kpi_spec()
    answer = engine.kpis(spec, now=NOW)

    later = NOW + timedelta(hours=3)
    lead_id, lead = next((i, lead) for i, lead in data.leads if _first(before, i) is None)
    write_kpi_data(
        app,
        KpiData([], [Activity(lead_id, "call", lead.created_at + timedelta(minutes=2))], [], []),
        written_at=later,
    )
    # The sync fails at its last step, after deleting the rows it was about to recompute.
    real = duckdb_store._first_responses_sql

    def broken(only_changed: bool) -> str:
        return "SELECT * FROM no_such_table" if only_changed else real(only_changed)

    monkeypatch.setattr(duckdb_store, "_first_responses_sql", broken)
    with pytest.raises(duckdb.CatalogException, match="no_such_table"):
        store.sync(engine.reader, now=later + timedelta(hours=1))
    assert _rows(store.path) == before
    with duckdb.connect(str(store.path), read_only=True) as db:
        (count,) = db.execute("SELECT count(*) FROM activities").fetchone()
    assert count == len(data.activities)  # the activities read are rolled back too

    monkeypatch.setattr(duckdb_store, "_first_responses_sql", real)
    stats = store.sync(engine.reader, now=later + timedelta(hours=1))
    assert not stats.full and stats.records["activities"] >= 1
    after = _rows(store.path)
    assert after == _rebuilt(engine, tmp_path, later + timedelta(hours=1))
    assert _first(after, lead_id) == (lead.created_at + timedelta(minutes=2)).replace(tzinfo=None)
    assert engine.kpis(spec, now=later).rows[0].counts.responded == (
        answer.rows[0].counts.responded + 1
    )


def test_a_store_of_the_previous_format_or_without_the_milestones_is_rebuilt(app):
    data = random_data(random.Random(23), n=30)
    write_kpi_data(app, data)
    engine = analytics_engine(app.engine)
    store = engine.store
    store.sync(engine.reader, now=NOW)
    expected = _rows(store.path)
    spec = kpi_spec(by="channel")
    answer = engine.kpis(spec, now=NOW)
    store.release()  # the engine holds the file open read-only after a question
    with duckdb.connect(str(store.path)) as db:
        db.execute("DROP TABLE milestones")
    assert store.sync(engine.reader, now=NOW).full
    assert _rows(store.path) == expected
    with duckdb.connect(str(store.path)) as db:
        # The previous format kept the first responses in a table of their own.
        db.execute("ALTER TABLE milestones DROP COLUMN first_response_at")
        db.execute("CREATE TABLE first_responses (lead_id VARCHAR, first_at TIMESTAMP)")
        db.execute("UPDATE sync_state SET value = ? WHERE name = 'format'", [str(int(FORMAT) - 1)])
    assert store.sync(engine.reader, now=NOW).full
    assert _rows(store.path) == expected
    with duckdb.connect(str(store.path), read_only=True) as db:
        (left,) = db.execute(
            "SELECT count(*) FROM information_schema.tables WHERE table_name = 'first_responses'"
        ).fetchone()
    assert left == 0
    assert_same(engine.kpis(spec, now=NOW), answer)
