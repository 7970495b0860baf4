"""The write store on SQLite and PostgreSQL: schema, settings, and races."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta, timezone

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from leadfunnel.adapters.sql.engine import create_store_engine
from leadfunnel.adapters.sql.migrate import current_revision, head_revision, upgrade
from leadfunnel.adapters.sql.tables import metadata
from leadfunnel.bootstrap import build_app
from leadfunnel.config import Settings
from leadfunnel.domain.access import SYSTEM
from leadfunnel.domain.errors import StorageError
from leadfunnel.services.intake import intake_lead
from leadfunnel.services.lead_input import parse_lead_input
from leadfunnel.services.leads import get_lead
from tests.builders import lead_fields, submit, table_counts


def test_migrations_build_exactly_the_declared_schema(any_app):
    with any_app.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), metadata)
    assert diff == []
    assert current_revision(any_app.engine) == head_revision()


def test_upgrade_is_safe_to_repeat(any_app):
    before, after = upgrade(any_app.engine)
    assert before == after == head_revision()


def test_sqlite_runs_with_wal_full_sync_foreign_keys_and_busy_timeout(sqlite_url):
    engine = create_store_engine(sqlite_url)
    with engine.connect() as conn:
        pragmas = {
            p: conn.exec_driver_sql(f"PRAGMA {p}").scalar()
            for p in ("journal_mode", "synchronous", "foreign_keys", "busy_timeout")
        }
    engine.dispose()
    assert pragmas == {
        "journal_mode": "wal",
        "synchronous": 2,
        "foreign_keys": 1,
        "busy_timeout": 30_000,
    }


def test_an_unmigrated_database_is_refused_with_the_command_to_fix_it(tmp_path):
    url = f"sqlite:///{tmp_path / 'empty.db'}"
    create_store_engine(url).dispose()
    with pytest.raises(StorageError, match="not initialised; run: leadfunnel db upgrade"):
        build_app(Settings(database_url=url))


def test_times_round_trip_as_aware_utc(any_app):
    eight_hours_east = timezone(timedelta(hours=8))
    at = datetime(2025, 6, 1, 18, 0, tzinfo=eight_hours_east)
    lead_id = submit(any_app, at=at).lead_id
    lead = get_lead(uow_factory=any_app.uow_factory, principal=SYSTEM, lead_id=lead_id).lead
    assert lead["created_at"] == datetime(2025, 6, 1, 10, 0, tzinfo=UTC)
    assert lead["created_at"].tzinfo is not None and lead["created_at"].utcoffset() == timedelta(0)


EMAIL_SPELLINGS = [
    "Same.Person@Example.com",
    " same.person@example.com",
    "SAME.PERSON@EXAMPLE.COM ",
    "same.person@EXAMPLE.com",
]


def _concurrently(n, action):
    barrier = threading.Barrier(n)

    def run(i):
        barrier.wait()
        return action(i)

    with ThreadPoolExecutor(max_workers=n) as pool:
        return list(pool.map(run, range(n)))


def test_twenty_concurrent_intakes_of_one_person_yield_exactly_one_lead(any_app):
    drafts = [
        parse_lead_input(
            lead_fields(email=EMAIL_SPELLINGS[i % 4], title=f"t{i}"),
            now=any_app.clock(),
            default_region="US",
        )
        for i in range(20)
    ]
    results = _concurrently(
        20,
        lambda i: intake_lead(
            uow_factory=any_app.uow_factory,
            draft=drafts[i],
            source="api",
            actor="test",
            now=any_app.clock(),
        ),
    )
    assert len({r.lead_id for r in results}) == 1
    assert sorted(r.outcome for r in results) == ["created"] + ["merged"] * 19
    counts = table_counts(any_app)
    assert counts["leads"] == 1 and counts["touchpoints"] == 20 and counts["stage_transitions"] == 1


def test_concurrent_retries_with_one_idempotency_key_create_one_lead_and_one_touch(any_app):
    draft = parse_lead_input(lead_fields(), now=any_app.clock(), default_region="US")
    results = _concurrently(
        12,
        lambda i: intake_lead(
            uow_factory=any_app.uow_factory,
            draft=draft,
            source="api",
            actor="test",
            now=any_app.clock(),
            idempotency_key="k-1",
        ),
    )
    assert len({(r.lead_id, r.touchpoint_id) for r in results}) == 1
    assert sum(not r.replayed for r in results) == 1
    counts = table_counts(any_app)
    assert (counts["leads"], counts["touchpoints"], counts["idempotency_keys"]) == (1, 1, 1)


def test_unique_indexes_back_deduplication(any_app):
    from sqlalchemy.exc import IntegrityError

    from leadfunnel.adapters.sql.tables import leads

    first = get_lead(uow_factory=any_app.uow_factory, principal=SYSTEM, lead_id=submit(any_app).lead_id).lead
    clone = {**first, "id": __import__("leadfunnel.domain.ids", fromlist=["new_id"]).new_id()}
    with pytest.raises(IntegrityError), any_app.engine.begin() as conn:
        conn.execute(leads.insert().values(**clone))


def test_upgrading_a_database_with_data_keeps_it_and_downgrade_round_trips(store_url):
    from alembic import command
    from sqlalchemy import text

    from leadfunnel.adapters.sql.migrate import _config

    engine = create_store_engine(store_url)
    try:
        command.downgrade(_config(engine), "0001")
        with engine.begin() as conn:
            conn.execute(text("INSERT INTO teams (id, name, created_at) VALUES (:id, 'East', :at)"),
                         {"id": "0" * 32 if engine.dialect.name == "sqlite" else "00000000-0000-0000-0000-000000000000",
                          "at": "2025-01-01 00:00:00"})  # fmt: skip
            conn.execute(text("INSERT INTO users (id, email, name, role, team_id, timezone, active, created_at) "
                              "SELECT id, 'm@x.example', 'M', 'manager', id, 'UTC', true, created_at FROM teams"))  # fmt: skip
            conn.execute(text("UPDATE teams SET manager_id = id"))
        before, after = upgrade(engine)
        assert (before, after) == ("0001", head_revision())
        with engine.connect() as conn:
            assert conn.execute(text("SELECT email, external_id FROM users")).one() == (
                "m@x.example",
                None,
            )
            assert (
                conn.execute(
                    text("SELECT count(*) FROM teams WHERE manager_id IS NOT NULL")
                ).scalar_one()
                == 1
            )
            if engine.dialect.name == "sqlite":
                assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        command.downgrade(_config(engine), "0001")
        upgrade(engine)
        with engine.connect() as conn:
            diff = compare_metadata(MigrationContext.configure(conn), metadata)
        assert diff == []
    finally:
        engine.dispose()
