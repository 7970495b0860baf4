"""Rows written in bulk (the repositories' multi-row insert and update) are stored exactly as
SQLAlchemy Core stores them, whichever of their values are missing; a bulk unit of work
(an import batch) defers SQLite's checkpoints."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

from sqlalchemy import select

from leadfunnel.adapters.sql import tables as t
from leadfunnel.domain.ids import new_id

AT = datetime(2025, 5, 1, 10, 0, tzinfo=UTC)


def lead_row(n: int, **values):
    row = {c.name: None for c in t.leads.c}
    row.update(
        id=new_id(), email=f"p{n}@bulk.example", channel="webinar", source="import",
        custom_fields={}, in_pool=True, stage="lead", stage_entered_at=AT, created_at=AT,
        updated_at=AT, version=1,
    )  # fmt: skip
    row.update(values)
    return row


ROWS = [
    lambda: lead_row(1),
    lambda: lead_row(2, phone="+14155552671", company_size=250, custom_fields={"plan": "pro"}),
    lambda: lead_row(3, email=None, external_id="crm-3", first_touch_at=AT, last_touch_at=AT),
    # an aware time in another zone is stored as the same UTC instant
    lambda: lead_row(4, created_at=AT.astimezone(timezone(timedelta(hours=8))), region="APAC"),
    lambda: lead_row(5, in_pool=False, title="CTO"),
]


def key(row):
    return row["email"] or row["external_id"]


def without_identities(row):
    return {k: v for k, v in row.items() if k not in ("email", "phone", "external_id")}


def stored(app, emails_or_ids):
    """The raw stored values of these leads, by email (external id when no email)."""
    with app.engine.connect() as conn:
        rows = conn.exec_driver_sql("SELECT * FROM leads").mappings().all()
    return {
        r["email"] or r["external_id"]: {k: v for k, v in r.items() if k != "id"}
        for r in rows
        if (r["email"] or r["external_id"]) in emails_or_ids
    }


def test_bulk_inserted_rows_are_stored_as_core_stores_them(any_app):
    bulk = [make() for make in ROWS]
    # the same rows with other identities, written by Core
    core = [
        {**make(), "email": None, "phone": None, "external_id": f"core-{key(row)}"}
        for make, row in zip(ROWS, bulk, strict=True)
    ]
    with any_app.uow_factory() as uow:
        uow.records.insert("leads", bulk)  # rows of several shapes in one call
        uow.commit()
    with any_app.engine.begin() as conn:
        conn.execute(t.leads.insert(), core)
    keys = [key(r) for r in bulk]
    written = stored(any_app, keys)
    reference = stored(any_app, [f"core-{k}" for k in keys])
    for k in keys:
        assert without_identities(written[k]) == without_identities(reference[f"core-{k}"])
    with any_app.engine.connect() as conn:
        back = {
            r.email: r for r in conn.execute(select(t.leads).where(t.leads.c.email.isnot(None)))
        }
    assert back["p2@bulk.example"].phone == "+14155552671"
    assert back["p2@bulk.example"].custom_fields == {"plan": "pro"}
    assert back["p4@bulk.example"].created_at == AT and back["p1@bulk.example"].phone is None


def test_bulk_updates_are_stored_as_core_stores_them(any_app):
    rows = [make() for make in ROWS]
    with any_app.uow_factory() as uow:
        uow.records.insert("leads", rows)
        uow.commit()
    later = AT + timedelta(days=3)
    changes = [
        {**rows[0], "title": "VP", "last_touch_at": later, "custom_fields": {"a": 1}, "version": 2},
        {**rows[1], "phone": None, "company_size": None, "updated_at": later, "version": 2},
    ]
    columns = (
        "title",
        "phone",
        "company_size",
        "last_touch_at",
        "custom_fields",
        "updated_at",
        "version",
    )
    with any_app.uow_factory() as uow:
        uow.records.update("leads", changes, columns=columns)
        uow.commit()
    with any_app.uow_factory(write=False) as uow:
        back = {
            r["id"]: r for r in uow.records.select_in("leads", "id", [r["id"] for r in changes])
        }
    for change in changes:
        assert {c: back[change["id"]][c] for c in columns} == {c: change[c] for c in columns}


def _db_pages(app) -> int:
    """Pages in the SQLite database file itself (not counting its write-ahead log)."""
    path = Path(app.engine.url.database)
    return path.stat().st_size // 4096


def test_a_bulk_batch_stays_in_the_write_ahead_log_and_the_connection_is_restored(app):
    url = "https://example.com/" + "p" * 2000
    rows = [lead_row(n, first_touch_url=url, last_touch_url=url) for n in range(3000)]
    before = _db_pages(app)
    with app.uow_factory(bulk=True) as uow:
        uow.records.insert("leads", rows)  # about 3,000 log pages: over SQLite's default 1,000
        uow.commit()
    assert _db_pages(app) - before < 100  # committed (durably, to the log) but not copied
    with app.uow_factory(write=False) as uow:
        assert len(uow.records.select_in("leads", "id", [r["id"] for r in rows[:10]])) == 10
    with app.uow_factory() as uow:  # an ordinary commit checkpoints as SQLite always does
        uow.records.insert("leads", [lead_row(7000)])
        uow.commit()
    assert _db_pages(app) - before > 1000
