"""A funnel limited to some owners' leads (a rep's or a manager's report) is the oracle's
answer over those leads alone, on DuckDB and PostgreSQL; owning nothing gives zeros."""

from __future__ import annotations

import random
from dataclasses import replace

from leadfunnel.adapters.warehouse.engine import analytics_engine
from leadfunnel.analytics.drill import drill_spec, oracle_drill
from leadfunnel.analytics.funnel_oracle import oracle_funnel
from leadfunnel.analytics.funnel_spec import funnel_spec
from tests.histories import as_stored, write_histories, write_reps
from tests.integration.test_event_funnel_engine import NOW, _walks


def test_owner_limited_funnels_equal_the_oracle_on_every_backend(any_app):
    owners = write_reps(any_app, 3)
    rng = random.Random(41)
    leads = [
        replace(lead, dims={**lead.dims, "owner_id": rng.choice([*owners, None])})
        for lead in _walks(rng, 200)
    ]
    write_histories(any_app, leads)
    engine = analytics_engine(any_app.engine)
    stored = [as_stored(lead) for lead in leads]
    for chosen in ({owners[0]}, {owners[1], owners[2]}, set()):
        for options in ({}, {"breakdown": "channel", "window": "90d"},
                        {"events": ["form_submit", "mql", "won"], "exclude": ["unsubscribe"]}):  # fmt: skip
            spec = funnel_spec(owners=chosen, **options)
            got = engine.funnel(spec, now=NOW).rows
            assert got == oracle_funnel(stored, spec, now=NOW).rows, (chosen, options)
            everyone = oracle_funnel(stored, funnel_spec(**options), now=NOW).rows
            if chosen:
                assert 0 < sum(r.reached for r in got) < sum(r.reached for r in everyone)
            else:
                assert sum(r.reached for r in got) == 0
    if any_app.engine.dialect.name == "sqlite":  # the DuckDB store: plans shared by all scopes
        assert (engine.plans.misses, engine.plans.hits) == (3, 6)
    with any_app.uow_factory(write=False) as uow:
        ids = {row["external_id"]: row["id"] for row in uow.records.select_in(
            "leads", "external_id", [f"h{i}" for i in range(len(leads))])}  # fmt: skip
    pairs = [(ids[f"h{i}"], as_stored(lead)) for i, lead in enumerate(leads)]
    cell = drill_spec(funnel_spec(owners={owners[0]}), step="mql", outcome="dropped")
    expected = oracle_drill(pairs, cell, now=NOW)
    assert engine.drill(cell, now=NOW, limit=1000, offset=0) == (expected, len(expected))
