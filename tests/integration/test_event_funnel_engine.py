"""Event funnels, exclusions, cohorts by entry and custom-field breakdowns: the engines equal
the oracle on random histories (DuckDB) and on a fixed set (DuckDB, PostgreSQL); touchpoints
sync incrementally; owner ids read the same on every backend."""

from __future__ import annotations

import random
import uuid
from datetime import UTC, datetime, timedelta

import duckdb
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from leadfunnel.adapters.warehouse.engine import analytics_engine
from leadfunnel.analytics.drill import drill_spec, oracle_drill
from leadfunnel.analytics.durations import oracle_step_times, oracle_step_times_by
from leadfunnel.analytics.funnel_oracle import LeadHistory, oracle_funnel
from leadfunnel.analytics.funnel_spec import funnel_spec
from leadfunnel.domain.ids import id_at, new_id
from leadfunnel.domain.lifecycle import DEFAULT_MOVES, Stage
from tests.histories import (
    BASE,
    KINDS,
    PLANS,
    as_stored,
    event_histories,
    event_specs,
    write_histories,
    write_reps,
)

NOW = BASE + timedelta(days=330)


@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    leads=st.lists(event_histories(), max_size=20),
    spec_list=st.lists(event_specs(), min_size=1, max_size=4),
)
def test_duckdb_event_funnels_equal_the_oracle_on_random_histories(fresh_app, leads, spec_list):
    app = fresh_app()
    write_histories(app, leads)
    engine = analytics_engine(app.engine)
    stored = [as_stored(lead) for lead in leads]
    for spec in spec_list:
        assert engine.funnel(spec, now=NOW).rows == oracle_funnel(stored, spec, now=NOW).rows, spec


def _walks(rng: random.Random, n: int = 300) -> list[LeadHistory]:
    """Random walks through the lifecycle with touchpoints around them."""
    leads = []
    for i in range(n):
        created = BASE + timedelta(hours=rng.randrange(24 * 300))
        stage, at = Stage.LEAD, created
        transitions = [(stage.value, at)]
        for _ in range(rng.randrange(6)):
            stage = rng.choice(sorted(DEFAULT_MOVES[stage]))
            at += timedelta(hours=rng.choice([0, 5, 48, 24 * 40]))
            transitions.append((stage.value, at))
        touch_at = created - timedelta(hours=rng.choice([0, 1]))
        touches = []
        for _ in range(rng.randrange(5)):
            touch_at += timedelta(hours=rng.choice([0, 3, 24 * 4, 24 * 30]))
            touches.append((rng.choice(KINDS), touch_at))
        dims = {"channel": rng.choice(["webinar", "paid_search", "email"]),
                "custom_fields": {"plan": rng.choice(PLANS)} if i % 5 else {}}  # fmt: skip
        leads.append(LeadHistory(created, stage.value, tuple(transitions), dims, tuple(touches)))
    return leads


FIXED_SPECS = [
    funnel_spec(events=["ad_click", "form_submit", "demo_request", "opportunity"]),
    funnel_spec(
        events=["form_submit", "mql", "demo_request", "won"],
        exclude=["unsubscribe", "nurture"],
        window="60d",
        breakdown="custom.plan",
        top_n=3,
    ),
    funnel_spec(
        events=["ad_click", "ad_click", "sql"],
        step_windows=["30d", None],
        cohort="month",
        cohort_by="entered",
        breakdown="channel",
    ),
    funnel_spec(steps=["lead", "mql", "won"], exclude=["nurture"], window="120d"),
    funnel_spec(
        steps=["mql", "sql", "won"], cohort="quarter", cohort_by="entered", breakdown="custom.plan"
    ),
    funnel_spec(steps=["lead", "sql"], mode="strict", cohort="month", cohort_by="entered"),
    funnel_spec(events=["ad_click", "form_submit", "mql"], mode="strict", window="60d"),
    funnel_spec(
        events=["demo_request", "ad_click", "sql"],
        mode="any",
        window="60d",
        exclude=["unsubscribe"],
        breakdown="channel",
    ),
    funnel_spec(
        events=["ad_click", "form_submit", "mql"],
        breakdown="channel",
        filters=["custom.plan=gold", "custom.plan=42", "channel=webinar", "channel=email"],
    ),
    funnel_spec(steps=["lead", "mql", "won"], exclude=["nurture"], filters=["custom.plan=(none)"]),
]


def test_engines_agree_with_the_oracle_on_a_fixed_data_set(any_app):
    leads = _walks(random.Random(17))
    write_histories(any_app, leads)
    engine = analytics_engine(any_app.engine)
    stored = [as_stored(lead) for lead in leads]
    for spec in FIXED_SPECS:
        result = engine.funnel(spec, now=NOW)
        assert result.rows == oracle_funnel(stored, spec, now=NOW).rows, spec
        assert sum(r.converted for r in result.rows) > 0  # the fixed set is not trivially empty
    groups = {r.group for r in engine.funnel(FIXED_SPECS[1], now=NOW).rows}
    assert {"gold", "(none)", "other"} <= groups


def test_event_funnel_drill_down_and_time_to_convert_equal_the_oracle(any_app):
    leads = _walks(random.Random(23))
    write_histories(any_app, leads)
    with any_app.uow_factory(write=False) as uow:
        ids = {row["external_id"]: row["id"] for row in uow.records.select_in(
            "leads", "external_id", [f"h{i}" for i in range(len(leads))])}  # fmt: skip
    pairs = [(ids[f"h{i}"], as_stored(lead)) for i, lead in enumerate(leads)]
    engine = analytics_engine(any_app.engine)
    cells = [
        drill_spec(FIXED_SPECS[0], step="form_submit", outcome="dropped"),
        drill_spec(FIXED_SPECS[0], step="ad_click", outcome="open"),
        drill_spec(FIXED_SPECS[1], step="mql", outcome="converted", group="gold"),
        drill_spec(FIXED_SPECS[2], step="ad_click", outcome="reached", cohort=BASE.date().replace(month=4)),
        drill_spec(FIXED_SPECS[3], step="mql", outcome="dropped"),
        drill_spec(FIXED_SPECS[6], step="ad_click", outcome="dropped"),
        drill_spec(FIXED_SPECS[6], step="form_submit", outcome="converted"),
        drill_spec(FIXED_SPECS[7], step="demo_request", outcome="open"),
        drill_spec(FIXED_SPECS[7], step="ad_click", outcome="converted", group="webinar"),
        drill_spec(FIXED_SPECS[8], step="ad_click", outcome="dropped", group="email"),
        drill_spec(FIXED_SPECS[9], step="mql", outcome="converted"),
    ]  # fmt: skip
    for cell in cells:
        expected = oracle_drill(pairs, cell, now=NOW)
        assert engine.drill(cell, now=NOW, limit=1000, offset=0) == (expected, len(expected)), cell
    assert sum(engine.drill(c, now=NOW, limit=1, offset=0)[1] for c in cells) > 20
    stored = [lead for _, lead in pairs]
    for spec in (FIXED_SPECS[1], FIXED_SPECS[7], FIXED_SPECS[8]):  # by custom.plan, by channel
        got_by, want_by = engine.step_times_by(spec, now=NOW), oracle_step_times_by(stored, spec)
        assert set(got_by) == set(want_by) and len(want_by) >= 2, spec
        for group, want_gaps in want_by.items():
            assert [(g.count, g.histogram) for g in got_by[group]] == [
                (w.count, w.histogram) for w in want_gaps
            ], (spec, group)
    for spec in [*FIXED_SPECS[:3], *FIXED_SPECS[6:]]:
        got, want = engine.step_times(spec, now=NOW), oracle_step_times(stored, spec)
        assert [(g.count, g.histogram) for g in got] == [(w.count, w.histogram) for w in want]
        assert all(
            (g.median_days is None and w.median_days is None) or abs(g.median_days - w.median_days) < 1e-6
            for g, w in zip(got, want, strict=True)
        )  # fmt: skip


def test_an_empty_store_gives_an_empty_event_funnel(any_app):
    spec = funnel_spec(events=["ad_click", "won"], exclude=["unsubscribe"], breakdown="custom.plan")
    assert analytics_engine(any_app.engine).funnel(spec, now=NOW).to_dict()["rows"] == []


def test_owner_ids_are_dashed_uuids_on_every_backend(any_app):
    owners = write_reps(any_app, 2)
    leads = [
        LeadHistory(
            BASE, "lead", (("lead", BASE),), {"owner_id": owners[i % 3] if i % 3 < 2 else None}
        )
        for i in range(6)
    ]
    write_histories(any_app, leads)
    engine = analytics_engine(any_app.engine)
    spec = funnel_spec(steps=["lead"], breakdown="owner_id")
    groups = {r.group: r.reached for r in engine.funnel(spec, now=NOW).rows}
    assert groups == {str(owners[0]): 2, str(owners[1]): 2, "(none)": 2}
    cell = drill_spec(spec, step="lead", group=str(owners[1]))
    assert engine.drill(cell, now=NOW, limit=10, offset=0)[1] == 2


def _touch(lead_id, kind, at, touch_id=None):
    return {"id": touch_id or new_id(), "lead_id": lead_id, "kind": kind, "channel": None,
            "campaign_id": None, "campaign": None, "url": None, "at": at, "properties": {}}  # fmt: skip


def _ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def test_touchpoints_sync_incrementally_and_late_history_is_still_found(app):
    rng = random.Random(5)
    plain = [LeadHistory(lead.created_at, lead.current_stage, lead.transitions, lead.dims)
             for lead in _walks(rng, 60)]  # fmt: skip
    write_histories(app, plain)
    with app.uow_factory(write=False) as uow:
        ids = [row["id"] for row in sorted(
            uow.records.select_in("leads", "external_id", [f"h{i}" for i in range(60)]),
            key=lambda row: int(row["external_id"][1:]))]  # fmt: skip
    # History imported with ids made from the times it describes, an hour apart.
    touches: dict[int, list[tuple[str, datetime]]] = {i: [] for i in range(60)}
    rows = []
    for n in range(200):
        i, kind, at = rng.randrange(60), rng.choice(KINDS), BASE + timedelta(hours=n)
        touches[i].append((kind, at))
        rows.append(_touch(ids[i], kind, at, id_at(_ms(at), n)))
    with app.uow_factory() as uow:
        uow.records.insert("touchpoints", rows)
        uow.commit()
    engine = analytics_engine(app.engine)
    assert engine.sync(now=datetime.now(UTC)).records["touchpoints"] == 200

    live = [("form_submit", NOW - timedelta(days=3)), ("demo_request", NOW - timedelta(days=2))]
    with app.uow_factory() as uow:
        uow.records.insert("touchpoints", [_touch(ids[0], kind, at) for kind, at in live])
        uow.commit()
    # The two new ones, and the newest old one again (inside the five-minute overlap).
    assert engine.sync(now=datetime.now(UTC)).records["touchpoints"] == 3

    # A row whose id is older than the watermark: the row count gives it away, and the sync
    # copies the table again.
    late = ("ad_click", BASE - timedelta(days=30))
    with app.uow_factory() as uow:
        uow.records.insert("touchpoints", [_touch(ids[0], *late, id_at(_ms(late[1]), 7))])
        uow.commit()
    assert engine.sync(now=datetime.now(UTC)).records["touchpoints"] == 203

    touches[0] += [*live, late]
    stored = [
        as_stored(LeadHistory(lead.created_at, lead.current_stage, lead.transitions, lead.dims,
                              tuple(touches[i])))
        for i, lead in enumerate(plain)
    ]  # fmt: skip
    for spec in (funnel_spec(events=["ad_click", "form_submit", "demo_request"]),
                 funnel_spec(events=["form_submit", "mql"], exclude=["unsubscribe"])):  # fmt: skip
        result = engine.funnel(spec, now=NOW)
        assert result.rows == oracle_funnel(stored, spec, now=NOW).rows
        assert result.rows[0].reached > 10


def test_a_store_synced_by_an_older_version_is_rebuilt(app):
    leads = _walks(random.Random(8), 50)
    write_histories(app, leads)
    engine = analytics_engine(app.engine)
    engine.sync(now=NOW)
    with duckdb.connect(str(engine.store.path)) as db:  # the shape of format 1: no custom fields
        db.execute("ALTER TABLE leads DROP COLUMN custom_fields")
        db.execute("DROP TABLE touchpoints")
        db.execute("DELETE FROM sync_state WHERE name = 'format'")
    rebuilt = engine.sync(now=NOW)
    assert rebuilt.full and rebuilt.leads == 50
    spec = funnel_spec(events=["ad_click", "mql"], breakdown="custom.plan")
    stored = [as_stored(lead) for lead in leads]
    assert engine.funnel(spec, now=NOW).rows == oracle_funnel(stored, spec, now=NOW).rows
    assert uuid.UUID(
        str(engine.drill(drill_spec(spec, step="ad_click"), now=NOW, limit=1, offset=0)[0][0])
    )
