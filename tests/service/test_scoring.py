"""Scoring use cases on a real store: versions, activation, dry runs, incremental re-scores."""

from __future__ import annotations

from datetime import timedelta

import pytest

from leadfunnel.domain.errors import NotFound, ValidationError
from leadfunnel.domain.ids import new_id
from leadfunnel.services.scoring import (
    activate_model,
    dry_run,
    explain_lead,
    rescore_all,
    rescore_leads,
)
from leadfunnel.services.scoring_models import import_model, list_models
from tests.builders import count_rows, submit, table_counts

DEMO_REQUEST = {"field": "kind", "op": "eq", "value": "demo_request"}


def model_doc(**extra):
    doc = {
        "name": "b2b",
        "hot_threshold": 50,
        "fit": [
            {"name": "enterprise", "points": 20, "when": {"field": "company_size", "op": "ge", "value": 500}},
            {"name": "executive", "points": 20, "when": {"field": "title", "op": "regex", "value": r"(?i)\bvp\b"}},
        ],
        "behaviour": [{"name": "demo request", "points": 30, "max_points": 30, "when": DEMO_REQUEST}],
        "qualify": [{"name": "MQL at 60", "to": "mql", "when": {"field": "score", "op": "ge", "value": 60}}],
    }  # fmt: skip
    return {**doc, **extra}


def store_model(app, **extra):
    return import_model(
        uow_factory=app.uow_factory, document=model_doc(**extra), actor="ops", now=app.clock()
    )


def add_touch(app, lead_id, kind, at):
    with app.uow_factory() as uow:
        uow.touchpoints.add_many([{"id": new_id(), "lead_id": lead_id, "kind": kind, "channel": None, "campaign_id": None,
                                   "campaign": None, "url": None, "at": at, "properties": {}}])  # fmt: skip
        summary = rescore_leads(uow=uow, lead_ids=[lead_id], now=at, actor="scoring")
        uow.commit()
    return summary


def lead_row(app, lead_id):
    with app.uow_factory(write=False) as uow:
        return (
            uow.leads.get(lead_id),
            uow.scoring.scores_for([lead_id]),
            uow.transitions.for_lead(lead_id),
        )


def test_imports_are_draft_versions_and_a_bad_model_stores_nothing(app):
    first, second = store_model(app), store_model(app)
    assert (first.version, second.version, first.status) == (1, 2, "draft")
    before = count_rows(app, "scoring_models")
    with pytest.raises(ValidationError, match=r"behaviour\[0\] 'demo request'.when.op"):
        store_model(
            app,
            behaviour=[
                {
                    "name": "demo request",
                    "points": 5,
                    "when": {"field": "kind", "op": "gt", "value": 1},
                }
            ],
        )
    assert count_rows(app, "scoring_models") == before
    assert [m.version for m in list_models(uow_factory=app.uow_factory)] == [1, 2]


def test_activation_scores_every_lead_qualifies_and_marks_hot_leads(any_app):
    app = any_app
    vp = submit(app, email="vp@big.example", title="VP Sales", company_size=900).lead_id
    small = submit(app, email="dev@tiny.example", title="Engineer", company_size=5).lead_id
    store_model(app)
    summary = activate_model(
        uow_factory=app.uow_factory, name="b2b", version=1, actor="ops", now=app.clock()
    )
    assert (summary.leads, summary.scored, summary.hot, dict(summary.moved)) == (2, 2, 0, {})
    lead, scores, _ = lead_row(app, vp)
    assert (lead["score"], lead["grade"], scores[(vp, "b2b")]["priority"]) == (40, "A4", "B")
    assert lead_row(app, small)[0]["score"] == 0

    later = app.clock() + timedelta(hours=1)
    touched = add_touch(app, vp, "demo_request", later)
    assert (touched.hot, dict(touched.moved)) == (1, {"lead->mql": 1})
    lead, scores, history = lead_row(app, vp)
    assert (lead["score"], lead["stage"]) == (70, "mql")
    assert (
        history[-1]["reason"] == "scoring model b2b v1: MQL at 60"
        and history[-1]["actor"] == "scoring"
    )
    assert scores[(vp, "b2b")]["explanation"]["rules"][-1] == {
        "rule": "demo request", "kind": "behaviour", "events": 1, "points": 30, "before_decay": 30, "capped": False,
    }  # fmt: skip
    # Crossing the threshold again is not news: no second hot event.
    assert add_touch(app, vp, "demo_request", later + timedelta(minutes=5)).hot == 0
    assert count_rows(app, "lead_events") == 1


def test_a_dry_run_writes_nothing_and_predicts_what_activation_does(app):
    for i in range(6):
        lead_id = submit(
            app, email=f"p{i}@x.example", title="VP" if i % 2 else "Analyst", company_size=100 * i
        ).lead_id
        if i >= 3:
            add_touch(app, lead_id, "demo_request", app.clock())
    store_model(app)
    before = table_counts(app) | {"lead_scores": count_rows(app, "lead_scores")}
    preview = dry_run(uow_factory=app.uow_factory, name="b2b", version=1, now=app.clock())
    assert table_counts(app) | {"lead_scores": count_rows(app, "lead_scores")} == before
    done = activate_model(
        uow_factory=app.uow_factory, name="b2b", version=1, actor="ops", now=app.clock()
    )
    assert preview.summary.to_dict() == done.to_dict()
    (check,) = preview.thresholds
    assert (check.rule, check.selected + check.others) == ("MQL at 60", 6)


def test_a_new_version_retires_the_old_and_rescoring_follows_it(app):
    lead_id = submit(app, title="VP", company_size=900).lead_id
    store_model(app)
    activate_model(uow_factory=app.uow_factory, name="b2b", version=1, actor="ops", now=app.clock())
    store_model(app, fit=[{"name": "everyone", "points": 5, "when": {"all": []}}])
    activate_model(uow_factory=app.uow_factory, name="b2b", version=2, actor="ops", now=app.clock())
    assert [m.status for m in list_models(uow_factory=app.uow_factory)] == ["retired", "active"]
    assert lead_row(app, lead_id)[0]["score"] == 5
    with pytest.raises(ValidationError, match="already active"):
        activate_model(
            uow_factory=app.uow_factory, name="b2b", version=2, actor="ops", now=app.clock()
        )
    with pytest.raises(NotFound):
        activate_model(
            uow_factory=app.uow_factory, name="b2b", version=9, actor="ops", now=app.clock()
        )
    assert rescore_all(uow_factory=app.uow_factory, now=app.clock(), actor="nightly").scored == 1


def test_models_per_product_line_score_only_their_leads(app):
    analytics = submit(app, email="a@x.example", product_interest="analytics").lead_id
    other = submit(app, email="b@x.example", product_interest="support").lead_id
    store_model(app, applies_to={"field": "product_interest", "op": "eq", "value": "analytics"})
    activate_model(uow_factory=app.uow_factory, name="b2b", version=1, actor="ops", now=app.clock())
    assert lead_row(app, analytics)[1] and not lead_row(app, other)[1]
    assert lead_row(app, other)[0]["score"] is None


def test_explain_shows_the_stored_score_and_the_score_now(app):
    lead_id = submit(app, title="VP", company_size=900).lead_id
    store_model(app, half_life_days=10)
    activate_model(uow_factory=app.uow_factory, name="b2b", version=1, actor="ops", now=app.clock())
    add_touch(app, lead_id, "demo_request", app.clock())
    (entry,) = explain_lead(
        uow_factory=app.uow_factory, lead_id=lead_id, now=app.clock() + timedelta(days=10)
    )
    assert entry["stored"]["score"] == 70 and entry["now"]["score"] == 55  # 40 + 30 halved
    assert [r["rule"] for r in entry["now"]["rules"]] == ["enterprise", "executive", "demo request"]
    with pytest.raises(NotFound):
        explain_lead(uow_factory=app.uow_factory, lead_id=new_id(), now=app.clock())
