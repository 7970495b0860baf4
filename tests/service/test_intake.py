from __future__ import annotations

from datetime import timedelta

import pytest

from leadfunnel.domain.errors import IdempotencyConflict, ValidationError
from leadfunnel.services.leads import get_lead
from tests.builders import submit, table_counts


def lead_of(app, result):
    return get_lead(uow_factory=app.uow_factory, lead_id=result.lead_id)


def test_first_submission_creates_a_lead_in_stage_lead_with_first_and_last_touch(app):
    result = submit(app)
    assert result.outcome == "created" and result.matched_on is None
    view = lead_of(app, result)
    lead = view.lead
    assert lead["stage"] == "lead" and lead["in_pool"] is True
    assert (lead["first_utm_source"], lead["first_utm_medium"], lead["first_utm_campaign"]) == (
        "google",
        "cpc",
        "spring",
    )
    assert lead["last_utm_campaign"] == "spring" and lead["channel"] == "paid_search"
    kinds = [(e["type"], e.get("to_stage") or e.get("kind")) for e in view.timeline]
    assert kinds == [("stage_change", "lead"), ("touchpoint", "form_submit")]


def test_same_person_with_differently_written_email_is_merged_not_duplicated(app, clock):
    first = submit(app, email="Ann.Lee@ACME.example")
    clock.now += timedelta(days=3)
    second = submit(
        app,
        email="  ann.lee@acme.EXAMPLE ",
        landing_url="https://www.example.com/webinar?utm_source=newsletter&utm_medium=email&utm_campaign=may",
    )
    assert (
        second.outcome == "merged"
        and second.matched_on == "email"
        and second.lead_id == first.lead_id
    )
    assert table_counts(app)["leads"] == 1
    view = lead_of(app, second)
    assert view.lead["first_utm_campaign"] == "spring"  # first touch stays
    assert (view.lead["last_utm_campaign"], view.lead["last_channel"]) == ("may", "email")
    assert view.lead["last_touch_at"] == clock.now
    assert [e["kind"] for e in view.timeline if e["type"] == "touchpoint"] == [
        "form_submit",
        "form_submit",
    ]


def test_phone_match_merges_and_fills_only_missing_fields(app):
    first = submit(app, email=None, phone="(415) 555-2671", title=None)
    second = submit(
        app, email="ann@acme.example", phone="+1 415 555 2671", title="CTO", company="Other Corp"
    )
    assert (
        second.outcome == "merged"
        and second.matched_on == "phone"
        and second.lead_id == first.lead_id
    )
    lead = lead_of(app, second).lead
    assert lead["email"] == "ann@acme.example" and lead["title"] == "CTO"
    assert lead["company"] == "ACME Widgets, Inc."  # present already: not overwritten


def test_an_older_imported_touch_becomes_the_first_touch(app, clock):
    submit(app)
    older = (clock.now - timedelta(days=30)).isoformat()
    submit(
        app,
        occurred_at=older,
        channel="trade_show",
        landing_url="https://x.io/expo?utm_campaign=expo",
    )
    lead = get_lead(uow_factory=app.uow_factory, lead_id=submit(app).lead_id).lead
    assert lead["first_channel"] == "trade_show" and lead["channel"] == "trade_show"
    assert lead["first_utm_campaign"] == "expo"
    assert lead["last_utm_campaign"] == "spring"  # the older touch does not become the last one


def test_identity_owned_by_another_lead_is_not_copied_on_merge(app):
    submit(app, email="bob@beta.example", phone=None)
    carol = submit(app, email="carol@gamma.example", phone="(415) 555-2671")
    merged = submit(app, email="bob@beta.example", phone="(415) 555-2671")
    assert merged.matched_on == "email"
    assert lead_of(app, merged).lead["phone"] is None
    assert lead_of(app, carol).lead["phone"] == "+14155552671"


def test_same_idempotency_key_and_payload_replays_the_first_result_and_writes_nothing(app):
    first = submit(app, key="form-123")
    before = table_counts(app)
    again = submit(app, key="form-123")
    assert (
        again.replayed
        and again.lead_id == first.lead_id
        and again.touchpoint_id == first.touchpoint_id
    )
    assert table_counts(app) == before


def test_same_idempotency_key_with_another_payload_is_an_error_and_writes_nothing(app):
    submit(app, key="form-123")
    before = table_counts(app)
    with pytest.raises(IdempotencyConflict, match="form-123"):
        submit(app, key="form-123", title="CEO")
    assert table_counts(app) == before


@pytest.mark.parametrize(
    "overrides",
    [
        {"email": None},
        {"email": "nope@"},
        {"stage": "prospect"},
        {"company": "x" * 500},
        {"phone": "12"},
    ],
)
def test_bad_input_writes_nothing(app, overrides):
    submit(app, email="existing@acme.example")
    before = table_counts(app)
    with pytest.raises(ValidationError):
        submit(app, **overrides)
    assert table_counts(app) == before
