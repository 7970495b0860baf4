"""The column-wise pass (adapters/scoring) decides and writes exactly what scoring each lead
in turn does, on SQLite and PostgreSQL: activation, re-scoring, dry runs."""

from __future__ import annotations

import random
from datetime import timedelta

import pytest

from leadfunnel.domain.ids import new_id
from leadfunnel.services.scoring import activate_model, dry_run, per_lead_scorer, rescore_all
from leadfunnel.services.scoring_models import import_model
from tests.builders import count_rows, submit

PRICING = {"all": [{"field": "kind", "op": "eq", "value": "page_view"},
                   {"field": "url", "op": "contains", "value": "/pricing"}]}  # fmt: skip
ALPHA = {
    "name": "alpha", "half_life_days": 20, "hot_threshold": 45,
    "fit": [
        {"name": "enterprise", "points": 15, "when": {"field": "company_size", "op": "ge", "value": 500}},
        {"name": "mid-market", "points": 7.5, "when": {"field": "company_size", "op": "between", "value": [100, 499]}},
        {"name": "exec", "points": 20, "when": {"field": "title", "op": "regex", "value": r"(?i)\b(vp|ceo|chief)\b"}},
        {"name": "industry", "points": 10, "when": {"field": "industry", "op": "in", "value": ["Software", "banking"]}},
        {"name": "free mail", "points": -10, "when": {"field": "email_is_free_mail", "op": "eq", "value": True}},
        {"name": "budget", "points": 5, "when": {"field": "custom_fields.budget", "op": "ge", "value": 1000}},
        {"name": "not retail", "points": 3, "when": {"not": {"field": "industry", "op": "eq", "value": "retail"}}},
    ],
    "behaviour": [
        {"name": "pricing", "points": 15, "max_points": 45, "per_period": {"points": 15, "days": 1}, "when": PRICING},
        {"name": "download", "points": 10, "max_points": 25, "half_life_days": 7,
         "when": {"field": "kind", "op": "eq", "value": "content_download"}},
        {"name": "trial plan", "points": 8, "when": {"field": "properties.plan", "op": "eq", "value": "trial"}},
        {"name": "unsubscribe", "points": -20, "when": {"field": "kind", "op": "eq", "value": "unsubscribe"}},
        {"name": "clicks", "points": 2.5, "per_period": {"points": 5, "days": 7}, "max_points": 12,
         "when": {"field": "kind", "op": "starts_with", "value": "email_"}},
    ],
    "priority": [
        {"tier": "A", "when": {"any": [{"field": "score", "op": "ge", "value": 60},
                                       {"field": "grade", "op": "in", "value": ["A1", "A2"]}]}},
        {"tier": "B", "when": {"field": "engagement", "op": "ge", "value": 15}},
        {"tier": "C"},
    ],
    "qualify": [
        {"name": "MQL", "to": "mql", "when": {"all": [{"field": "score", "op": "ge", "value": 40},
                                                      {"field": "fit_grade", "op": "in", "value": ["A", "B"]}]}},
        {"name": "nurture", "to": "nurture", "from": ["lead"], "when": {"field": "score", "op": "lt", "value": 0}},
    ],
}  # fmt: skip
BETA = {
    "name": "beta", "hot_threshold": 20,
    "applies_to": {"field": "industry", "op": "ne", "value": "retail"},
    "fit": [{"name": "big", "points": 12, "when": {"field": "company_size", "op": "gt", "value": 200}}],
    "behaviour": [{"name": "demo", "points": 30, "max_points": 30, "when": {"field": "kind", "op": "eq", "value": "demo_request"}}],
    "qualify": [{"name": "demo asked", "to": "mql", "when": {"field": "engagement", "op": "ge", "value": 30}}],
}  # fmt: skip
KINDS = ["page_view", "content_download", "unsubscribe", "email_click", "email_open", "demo_request", "webinar"]
TITLES = ["VP Sales", "Chief of Staff", "Engineer", "Student", "CEO", None, "Straße-Manager"]
INDUSTRIES = ["software", "Banking", "retail", None, "manufacturing"]


def populate(app, rng: random.Random, leads: int = 30) -> list:
    ids = []
    for i in range(leads):
        mail = f"p{i}@{rng.choice(['gmail.com', 'acme.example', 'big.example'])}"
        custom = {"budget": rng.choice([500, 1000, 5000])} if rng.random() < 0.6 else {}
        ids.append(submit(app, email=mail, title=rng.choice(TITLES), industry=rng.choice(INDUSTRIES),
                          company_size=rng.choice([None, 5, 150, 499, 500, 2000]), custom_fields=custom).lead_id)  # fmt: skip
    add_touches(app, rng, ids, app.clock())
    return ids


def add_touches(app, rng: random.Random, ids, now) -> None:
    rows = []
    for lead_id in ids:
        moments = [now - timedelta(days=rng.choice([0, 0.2, 1, 3, 10, 30, 61]), hours=rng.choice([0, 5]))
                   for _ in range(rng.randint(0, 9))]  # fmt: skip
        for at in moments + moments[:2]:  # a few touches at the same instant
            kind = rng.choice(KINDS)
            rows.append({"id": new_id(), "lead_id": lead_id, "kind": kind, "channel": "web", "campaign_id": None,
                         "campaign": None, "url": rng.choice(["https://x.example/pricing", "/blog", None]),
                         "at": at, "properties": rng.choice([{}, {"plan": "trial"}, {"plan": "Trial", "n": 2}])})  # fmt: skip
    with app.uow_factory() as uow:
        uow.touchpoints.add_many(rows)
        uow.commit()


def snapshot(uow) -> dict:
    """Everything a pass writes, without the random ids of new rows."""
    leads = list(uow.records.scan("leads", ["id", "score", "grade", "stage", "stage_entered_at", "version", "updated_at"]))
    scores = uow.scoring.scores_for([row[0] for row in leads])
    return {
        "leads": sorted(leads, key=repr),
        "scores": sorted(((key, {k: v for k, v in row.items()}) for key, row in scores.items()), key=repr),
        "events": sorted(((e["lead_id"], e["kind"], e["at"], e["data"]) for e in uow.scoring.events(limit=10_000)), key=repr),
        "transitions": sorted(uow.records.scan("stage_transitions", ["lead_id", "from_stage", "to_stage", "at", "actor", "reason"]), key=repr),
        "audit": sorted((r for r in uow.records.scan("audit_log", ["entity_id", "action", "actor", "data"]) if r[1] == "lead.stage_changed"), key=repr),
    }  # fmt: skip


class Rehearsal:
    """A unit-of-work factory whose ``commit`` records what the transaction wrote, then
    rolls it back: both scorers run on the same data."""

    def __init__(self, app) -> None:
        self.app, self.written = app, None

    def __call__(self, *, write: bool = True):
        uow = self.app.uow_factory(write=write)

        def commit() -> None:
            self.written = snapshot(uow)

        uow.commit = commit
        return uow


def both(app, run):
    """Run ``run(uow_factory, scorer)`` with the per-lead scorer and the column-wise one."""
    outcomes = []
    for scorer in (per_lead_scorer, None):
        rehearsal = Rehearsal(app)
        result = run(rehearsal, scorer)
        outcomes.append((result.to_dict(), rehearsal.written))
    return outcomes


def test_the_column_wise_pass_writes_what_the_per_lead_pass_writes(any_app):
    app = any_app
    rng = random.Random(11)
    ids = populate(app, rng)
    for doc in (ALPHA, BETA, {**ALPHA, "hot_threshold": 30, "half_life_days": 3}):
        import_model(uow_factory=app.uow_factory, document=doc, actor="ops", now=app.clock())

    def activate(name, version):
        return lambda factory, scorer: activate_model(uow_factory=factory, name=name, version=version,
                                                      actor="ops", now=app.clock(), scorer=scorer)  # fmt: skip

    python, bulk = both(app, activate("alpha", 1))
    assert python == bulk and python[0]["scored"] == len(ids) and python[1]["events"]
    activate_model(uow_factory=app.uow_factory, name="alpha", version=1, actor="ops", now=app.clock())
    python, bulk = both(app, activate("beta", 1))
    assert python == bulk and python[1]["transitions"]
    activate_model(uow_factory=app.uow_factory, name="beta", version=1, actor="ops", now=app.clock())

    app.clock.now += timedelta(days=2)
    add_touches(app, rng, ids[::2], app.clock())
    python, bulk = both(app, lambda factory, scorer: rescore_all(uow_factory=factory, now=app.clock(),
                                                                 actor="nightly", scorer=scorer))  # fmt: skip
    assert python == bulk and python[0]["grade_changed"] > 0

    previews = [dry_run(uow_factory=app.uow_factory, name="alpha", version=2, now=app.clock(), scorer=scorer).to_dict()
                for scorer in (per_lead_scorer, None)]  # fmt: skip
    assert previews[0] == previews[1] and previews[0]["thresholds"][0]["selected"] > 0


def test_a_failed_activation_leaves_every_score_as_it_was(any_app):
    app = any_app
    populate(app, random.Random(3), leads=5)
    import_model(uow_factory=app.uow_factory, document=ALPHA, actor="ops", now=app.clock())

    def failing(uow):
        scorer = uow.scoring.bulk_scorer()

        class Failing:
            def score_all(self, *args, **kwargs):
                scorer.score_all(*args, **kwargs)  # writes every score, then the pass fails
                raise RuntimeError("disk full")

        return Failing()

    with pytest.raises(RuntimeError):
        activate_model(uow_factory=app.uow_factory, name="alpha", version=1, actor="ops",
                       now=app.clock(), scorer=failing)  # fmt: skip
    assert count_rows(app, "lead_scores") == 0
    with app.uow_factory(write=False) as uow:
        assert uow.scoring.active_models() == []
        assert {row[1] for row in uow.records.scan("leads", ["id", "score"])} == {None}
