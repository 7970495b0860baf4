"""The analytics engines equal the oracle: on random histories (DuckDB) and on a fixed set
(DuckDB, PostgreSQL); the sync is incremental and survives a crash."""

from __future__ import annotations

import random
import threading
import time
from datetime import timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from leadfunnel.adapters.warehouse.duckdb_store import OVERLAP
from leadfunnel.adapters.warehouse.engine import analytics_engine
from leadfunnel.adapters.warehouse.source import WriteStoreReader
from leadfunnel.analytics.funnel_oracle import oracle_funnel
from leadfunnel.analytics.funnel_spec import funnel_spec
from leadfunnel.services.lifecycle import move_lead
from tests.builders import submit
from tests.histories import BASE, as_stored, histories, specs, write_histories

NOW = BASE + timedelta(days=330)


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    leads=st.lists(histories(), max_size=25), spec_list=st.lists(specs(), min_size=1, max_size=4)
)
def test_duckdb_engine_equals_the_oracle_on_random_histories(fresh_app, leads, spec_list):
    app = fresh_app()
    write_histories(app, leads)
    engine = analytics_engine(app.engine)
    stored = [as_stored(lead) for lead in leads]
    for spec in spec_list:
        assert engine.funnel(spec, now=NOW).rows == oracle_funnel(stored, spec, now=NOW).rows, spec


FIXED_SPECS = [
    funnel_spec(),
    funnel_spec(window="30d", breakdown="channel"),
    funnel_spec(steps=["mql", "sql", "won"], mode="strict", window="120d", cohort="month"),
    funnel_spec(
        steps=["lead", "opportunity"],
        step_windows=["30d"],
        breakdown="channel",
        attribution="last_touch",
        top_n=2,
    ),
    funnel_spec(cohort="week", breakdown="region"),
    funnel_spec(breakdown="region", filters=["channel=webinar", "channel=email", "region=East"]),
    funnel_spec(
        steps=["lead", "sql", "won"],
        mode="strict",
        attribution="last_touch",
        filters={"channel": "social", "region": "(none)"},
    ),
]


def _walks(rng):
    from leadfunnel.analytics.funnel_oracle import LeadHistory
    from leadfunnel.domain.lifecycle import DEFAULT_MOVES, Stage

    leads = []
    for i in range(300):
        created = BASE + timedelta(hours=rng.randrange(24 * 300))
        stage, at = Stage.LEAD, created
        transitions = [(stage.value, at)]
        for _ in range(rng.randrange(6)):
            stage = rng.choice(sorted(DEFAULT_MOVES[stage]))
            at += timedelta(hours=rng.choice([0, 5, 48, 24 * 40]))
            transitions.append((stage.value, at))
        dims = {"channel": rng.choice(["webinar", "paid_search", "email"]), "last_channel": rng.choice(["email", "social"]),
                "region": rng.choice(["East", "West"]) if i % 7 else None}  # fmt: skip
        leads.append(LeadHistory(created, stage.value, tuple(transitions), dims))
    return leads


def test_engines_agree_with_each_other_and_the_oracle_on_a_fixed_data_set(any_app):
    leads = _walks(random.Random(11))
    write_histories(any_app, leads)
    engine = analytics_engine(any_app.engine)
    stored = [as_stored(lead) for lead in leads]
    for spec in FIXED_SPECS:
        result = engine.funnel(spec, now=NOW)
        assert result.rows == oracle_funnel(stored, spec, now=NOW).rows, spec
        assert result.rows  # the fixed set is not trivially empty


def test_filters_keep_only_matching_leads_values_or_ed_dimensions_and_ed(app):
    leads = _walks(random.Random(11))
    write_histories(app, leads)
    engine = analytics_engine(app.engine)

    def first(spec):
        return {r.group: r.reached for r in engine.funnel(spec, now=NOW).rows if r.step == 0}

    by_channel = first(funnel_spec(breakdown="channel"))
    either = first(funnel_spec(filters=["channel=webinar", "channel=email"]))
    assert either == {None: by_channel["webinar"] + by_channel["email"]}
    both = first(funnel_spec(breakdown="channel", filters=["channel=webinar", "region=East"]))
    east = first(funnel_spec(breakdown="channel", filters=["region=East"]))
    assert both == {"webinar": east["webinar"]} and 0 < east["webinar"] < by_channel["webinar"]
    social = first(funnel_spec(breakdown="channel", attribution="last_touch"))["social"]
    assert first(funnel_spec(attribution="last_touch", filters=["channel=social"])) == {None: social}


def test_an_empty_store_gives_an_empty_valid_result(app):
    result = analytics_engine(app.engine).funnel(funnel_spec(breakdown="channel"), now=NOW)
    assert result.rows == () and result.to_dict()["rows"] == []


def test_a_second_sync_reads_only_the_leads_that_changed(app, clock):
    leads = _walks(random.Random(5))[:200]
    clock.now = NOW
    write_histories(app, leads)
    engine = analytics_engine(app.engine)
    first = engine.sync(now=NOW)
    assert (first.full, first.leads) == (True, 200)
    clock.now = NOW + timedelta(hours=2)
    with app.uow_factory(write=False) as uow:
        open_leads = [
            lead for lead in uow.leads.list(filters={"stage": "lead"}, limit=10, offset=0)[0]
        ]
    for lead in open_leads:
        move_lead(
            uow_factory=app.uow_factory, lead_id=lead["id"], to="mql", actor="t", now=clock.now
        )
    second = engine.sync(now=clock.now)
    moved = {lead["external_id"] for lead in open_leads}
    # Besides the moved leads, those stamped within the overlap before the first watermark.
    overlap = {
        f"h{i}"
        for i, lead in enumerate(leads)
        if lead.created_at.replace(tzinfo=None) >= first.watermark - OVERLAP
    }
    assert len(moved) == 10 and (second.full, second.leads) == (False, len(moved | overlap))
    assert len(moved | overlap) < 20
    # Nothing written since: the engine does not read the write store again (its change token
    # is the same), while a sync of the store itself would re-read the overlap: the moved
    # leads stay inside the overlap of the new watermark until it moves on.
    assert engine.sync(now=clock.now + timedelta(hours=1)) is second
    later = engine.store.sync(engine.reader, now=clock.now + timedelta(hours=1))
    assert later.leads == len(moved)
    after = engine.funnel(funnel_spec(), now=clock.now)
    assert {r.stage: r.reached for r in after.rows}["mql"] >= 10


def test_a_sync_that_crashes_leaves_the_store_as_it_was_and_the_next_one_completes(app):
    leads = _walks(random.Random(9))[:120]
    write_histories(app, leads)
    engine = analytics_engine(app.engine)
    before = engine.funnel(funnel_spec(), now=NOW)

    more = _walks(random.Random(10))[:50]
    later = NOW + timedelta(hours=1)
    write_histories(app, more, prefix="more", updated_at=later)

    class Crashing:
        def __init__(self, inner):
            self.inner = inner

        def changed_lead_ids(self, since):
            return self.inner.changed_lead_ids(since)

        def leads(self, ids):
            yield from self.inner.leads(ids)

        def transitions(self, ids):
            raise RuntimeError("disk pulled out mid-sync")
            yield

    with pytest.raises(RuntimeError, match="mid-sync"):
        engine.store.sync(Crashing(engine.reader), now=later)
    con = engine.store.connect()
    try:
        assert con.table("milestones").count().to_pyarrow().as_py() == 120
    finally:
        con.disconnect()
    stored = [as_stored(lead) for lead in leads + more]
    after = engine.funnel(funnel_spec(), now=later)
    assert after.rows == oracle_funnel(stored, funnel_spec(), now=later).rows
    assert after.rows[0].reached == before.rows[0].reached + 50


def test_questions_from_many_threads_while_the_store_changes_all_get_answers(app):
    """One engine serves a server's threads: a sync (a read-write DuckDB connection) must
    not collide with questions still reading (read-only ones), which DuckDB refuses."""
    write_histories(app, _walks(random.Random(11))[:100])
    engine = analytics_engine(app.engine)
    engine.sync(now=NOW)
    stop, failures, answers = threading.Event(), [], []

    def ask():
        while not stop.is_set():
            try:
                answers.append(engine.funnel(funnel_spec(), now=NOW).rows[0].reached)
            except Exception as error:
                failures.append(error)

    threads = [threading.Thread(target=ask) for _ in range(3)]
    for thread in threads:
        thread.start()
    try:
        for i in range(8):  # each write moves the change token: the next question syncs
            submit(app, email=f"writer-{i}@client.example")
            time.sleep(0.05)
    finally:
        stop.set()
        for thread in threads:
            thread.join(60)
    assert failures == [] and answers
    assert engine.funnel(funnel_spec(), now=NOW).rows[0].reached == 108


def test_the_change_token_counts_commits_not_only_file_times(app):
    """File size and time can look the same after a commit (a checkpoint reset the log and
    the clock did not tick): the watched connection's data version still moves."""
    reader = WriteStoreReader(app.engine)
    try:
        before = reader.change_token()
        assert reader.change_token() == before  # nothing written: the same token
        submit(app, email="one-more@client.example")
        after = reader.change_token()
        assert after is not None and before is not None and after[-1] != before[-1]
    finally:
        reader.close()


def _close(a, b):
    if a.count != b.count or a.histogram != b.histogram or a.open != b.open:
        return False
    return all(
        (x is None and y is None) or (x is not None and y is not None and abs(x - y) < 1e-6)
        for x, y in (
            (a.mean_days, b.mean_days),
            (a.median_days, b.median_days),
            (a.p90_days, b.p90_days),
        )
    )


def test_time_in_stage_and_time_to_convert_equal_the_oracle(any_app):
    from leadfunnel.analytics.durations import oracle_stage_times, oracle_step_times

    leads = _walks(random.Random(3))
    write_histories(any_app, leads)
    engine = analytics_engine(any_app.engine)
    stored = [as_stored(lead) for lead in leads]
    expected = oracle_stage_times(stored)
    actual = engine.stage_times(now=NOW)
    assert sorted(actual) == sorted(expected)
    assert all(_close(actual[s], expected[s]) for s in expected), (actual, expected)
    for spec in FIXED_SPECS:
        got, want = engine.step_times(spec, now=NOW), oracle_step_times(stored, spec)
        assert len(got) == len(want) and all(
            _close(g, w) for g, w in zip(got, want, strict=True)
        ), spec
    assert expected["mql"].count > 20 and expected["mql"].median_days is not None


def test_drill_down_lists_exactly_the_leads_of_each_cell_in_stable_pages(any_app):
    from leadfunnel.analytics.drill import drill_spec, oracle_drill

    leads = _walks(random.Random(21))
    write_histories(any_app, leads)
    with any_app.uow_factory(write=False) as uow:
        ids = {
            row["external_id"]: row["id"]
            for row in uow.records.select_in(
                "leads", "external_id", [f"h{i}" for i in range(len(leads))]
            )
        }
    pairs = [(ids[f"h{i}"], as_stored(lead)) for i, lead in enumerate(leads)]
    engine = analytics_engine(any_app.engine)
    cells = [
        drill_spec(FIXED_SPECS[0], step="mql", outcome="dropped"),
        drill_spec(FIXED_SPECS[0], step="sql", outcome="open"),
        drill_spec(FIXED_SPECS[1], step="lead", outcome="converted", group="webinar"),
        drill_spec(
            FIXED_SPECS[2], step="mql", outcome="reached", cohort=BASE.date().replace(month=3)
        ),
        drill_spec(FIXED_SPECS[0], step="won"),
        drill_spec(FIXED_SPECS[5], step="mql", outcome="dropped", group="West"),
        drill_spec(FIXED_SPECS[6], step="lead", outcome="reached"),
    ]
    for cell in cells:
        expected = oracle_drill(pairs, cell, now=NOW)
        page, total = engine.drill(cell, now=NOW, limit=1000, offset=0)
        assert (page, total) == (expected, len(expected)), cell
        if len(expected) > 3:
            assert engine.drill(cell, now=NOW, limit=2, offset=1)[0] == expected[1:3]
    assert sum(engine.drill(c, now=NOW, limit=1, offset=0)[1] for c in cells) > 20


def test_stagnation_equals_the_oracle(any_app):
    from leadfunnel.analytics.stagnation import oracle_stagnation, stagnation_spec

    leads = _walks(random.Random(5))
    write_histories(any_app, leads)
    engine = analytics_engine(any_app.engine)
    stored = [as_stored(lead) for lead in leads]
    for text in ("30d", "mql=14d,sql=60d,nurture=2w"):
        spec = stagnation_spec(text)
        got, want = engine.stagnation(spec, now=NOW), oracle_stagnation(stored, spec, now=NOW)
        assert [(r.stage, r.open, r.stagnant) for r in got] == [
            (r.stage, r.open, r.stagnant) for r in want
        ]
        assert all(
            (g.longest_days is None) == (w.longest_days is None)
            and (g.longest_days is None or abs(g.longest_days - w.longest_days) < 1e-6)
            for g, w in zip(got, want, strict=True)
        )
    assert sum(r.stagnant for r in want) > 0


def test_the_data_version_changes_with_every_commit_and_only_then(app, clock):
    engine = analytics_engine(app.engine)
    before = engine.data_version()
    if app.engine.dialect.name != "sqlite":
        assert before is None  # other stores cannot tell cheaply: callers fall back to a TTL
        return
    engine.sync(now=clock.now)  # reading (and syncing) writes nothing to the write store
    assert engine.data_version() == before
    submit(app, email="new.buyer@client.example")
    assert engine.data_version() != before


def _stays_in_order(engine) -> tuple[bool, str]:
    import duckdb

    from leadfunnel.domain.lifecycle import Stage

    with duckdb.connect(str(engine.store.path), read_only=True) as db:
        rows = db.execute("SELECT stage, days FROM stage_stays").fetchall()
        (unsorted,) = db.execute(
            "SELECT value FROM sync_state WHERE name = 'stays_unsorted'"
        ).fetchone()
    # Sorted by stage in the stage type's order (the lifecycle's), then duration, open last.
    order = [s.value for s in Stage]
    key = lambda r: (order.index(r[0]), r[1] is None, r[1] or 0.0)  # noqa: E731
    return rows == sorted(rows, key=key), unsorted


def test_stays_are_kept_sorted_appended_unsorted_and_sorted_again_past_a_fifth(app):
    from leadfunnel.adapters.warehouse.duckdb_store import RESORT_SHARE

    leads = _walks(random.Random(21))
    write_histories(app, leads[:200])
    engine = analytics_engine(app.engine)
    engine.sync(now=NOW)
    assert _stays_in_order(engine) == (True, "0")
    # A few new leads: appended at the end, counted as unsorted.
    write_histories(app, leads[200:210], prefix="few", updated_at=NOW + timedelta(hours=1))
    engine.sync(now=NOW + timedelta(hours=1))
    _, unsorted = _stays_in_order(engine)
    assert int(unsorted) > 0
    # Many more: past a fifth of the table, the sync sorts it again.
    write_histories(app, leads[:100], prefix="many", updated_at=NOW + timedelta(hours=2))
    engine.sync(now=NOW + timedelta(hours=2))
    assert _stays_in_order(engine) == (True, "0") and RESORT_SHARE == 5
    stored = [as_stored(lead) for lead in leads[:200] + leads[200:210] + leads[:100]]
    expected = oracle_funnel(stored, funnel_spec(), now=NOW)
    assert engine.funnel(funnel_spec(), now=NOW).rows == expected.rows


def test_the_store_stays_open_between_questions_and_is_let_go_when_idle_or_written(
    app, clock, monkeypatch
):
    from leadfunnel.adapters.warehouse import duckdb_store

    monkeypatch.setattr(duckdb_store, "KEEP_OPEN_SECONDS", 0.2)
    write_histories(app, _walks(random.Random(13))[:40])
    engine, other = analytics_engine(app.engine), analytics_engine(app.engine)
    anchor = duckdb_store._anchor(engine.store.path)
    first = engine.funnel(funnel_spec(), now=NOW)
    assert anchor._con is not None  # held open after the question
    # Another engine of the same process writes the file: the hold is let go first.
    write_histories(app, _walks(random.Random(14))[:5], prefix="late", updated_at=NOW)
    assert other.sync(now=NOW).leads > 0 and anchor._con is None
    assert engine.funnel(funnel_spec(), now=NOW).rows[0].reached == first.rows[0].reached + 5
    deadline = time.monotonic() + 5
    while anchor._con is not None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert anchor._con is None  # idle: released
    engine.close()
    other.close()
