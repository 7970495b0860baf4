"""The records port predictive scoring reads and writes through, on SQLite and PostgreSQL:
whole-table scans (one streamed query) and deletes by key."""

from __future__ import annotations

from datetime import timedelta

from leadfunnel.services.predictive.store import LEAD_COLUMNS, load_histories
from tests.builders import submit


def test_scan_streams_the_named_columns_of_every_row(any_app, clock):
    ids = [submit(any_app, email=f"p{i}@example.com", channel="webinar").lead_id for i in range(3)]
    with any_app.uow_factory(write=False) as uow:
        rows = list(uow.records.scan("leads", ("id", "channel", "created_at")))
        histories = load_histories(uow)
    assert sorted(r[0] for r in rows) == sorted(ids)
    assert {r[1] for r in rows} == {"webinar"} and all(r[2] == clock.now for r in rows)
    assert len(LEAD_COLUMNS) == len(histories[0].fields) + 4  # id, created_at, stage, score
    assert [h.touches[0][1] for h in histories] == ["form_submit"] * 3


def test_delete_in_removes_only_the_matching_rows(any_app, clock):
    a = submit(any_app, email="a@example.com").lead_id
    b = submit(any_app, email="b@example.com").lead_id
    rows = [
        {"lead_id": lead, "model": model, "model_version": 1, "probability": 0.5,
         "factors": [], "as_of": clock.now + timedelta(hours=1)}
        for lead in (a, b) for model in ("m1", "m2")
    ]  # fmt: skip
    with any_app.uow_factory() as uow:
        uow.records.insert("lead_predictions", rows)
        uow.records.delete_in("lead_predictions", "lead_id", [a], where={"model": "m1"})
        uow.records.delete_in("lead_predictions", "model", ["m2"])
        uow.commit()
    with any_app.uow_factory(write=False) as uow:
        left = list(uow.records.scan("lead_predictions", ("lead_id", "model")))
    assert left == [(b, "m1")]


def test_a_model_document_reads_back_with_identical_numbers(any_app, clock):
    from leadfunnel.domain.ids import new_id
    from leadfunnel.services.predictive.features import Encoder
    from leadfunnel.services.predictive.learners import LogisticModel

    model = LogisticModel(
        encoder=Encoder({"channel": ["webinar"]}, {"company_size": [12.5, 1e-05, 3e6]}, [], False),
        intercept=-0.1234567890123456789,
        weights={
            "channel=webinar": 1.4799814008846601,
            "company_size=<12.5": -2.2250738585072014e-308,
        },
        feature_means={"channel": 1 / 3},
        slope=1.0238916993424252,
        offset=0.011813194598829265,
        C=0.3,
    )
    row = {"id": new_id(), "name": "m", "version": 1, "target": "sql", "horizon_days": 30,
           "status": "draft", "model": model.to_dict(), "metrics": {}, "trained_at": clock.now,
           "created_by": "test", "activated_at": None}  # fmt: skip
    with any_app.uow_factory() as uow:
        uow.records.insert("predictive_models", [row])
        uow.commit()
    with any_app.uow_factory(write=False) as uow:
        (stored,) = uow.records.select_in("predictive_models", "name", ["m"])
    assert LogisticModel.from_dict(stored["model"]) == model
