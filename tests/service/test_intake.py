from __future__ import annotations

from datetime import timedelta

import pytest

from leadfunnel.domain.access import SYSTEM
from leadfunnel.domain.errors import IdempotencyConflict, ValidationError
from leadfunnel.services.leads import get_lead
from tests.builders import submit, table_counts


def lead_of(app, result):
    return get_lead(uow_factory=app.uow_factory, principal=SYSTEM, lead_id=result.lead_id)


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
    lead = get_lead(uow_factory=app.uow_factory, principal=SYSTEM, lead_id=submit(app).lead_id).lead
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


def batch(app, *submissions, source="import"):
    from leadfunnel.services.intake import IntakeItem, intake_batch
    from leadfunnel.services.lead_input import parse_lead_input
    from tests.builders import lead_fields

    items = [
        IntakeItem(
            parse_lead_input(lead_fields(**fields), now=app.clock(), default_region="US"), key
        )
        for key, fields in submissions
    ]
    return intake_batch(
        uow_factory=app.uow_factory, items=items, source=source, actor="test", now=app.clock()
    )


def test_a_batch_merges_later_rows_into_leads_earlier_rows_created(app):
    outcomes = batch(
        app,
        (None, {"email": "a@x.example", "phone": None, "title": None}),
        (None, {"email": "A@X.example ", "phone": "(415) 555-2671", "title": None}),
        (None, {"email": None, "phone": "+1 415-555-2671", "title": "CEO"}),
        (None, {"email": "b@x.example"}),
    )
    assert [o.outcome for o in outcomes] == ["created", "merged", "merged", "created"]
    assert [o.matched_on for o in outcomes] == [None, "email", "phone", None]
    assert outcomes[0].lead_id == outcomes[1].lead_id == outcomes[2].lead_id != outcomes[3].lead_id
    lead = get_lead(uow_factory=app.uow_factory, principal=SYSTEM, lead_id=outcomes[0].lead_id).lead
    assert (lead["phone"], lead["title"], lead["version"]) == ("+14155552671", "CEO", 3)
    assert table_counts(app) == {
        "leads": 2,
        "stage_transitions": 2,
        "touchpoints": 4,
        "audit_log": 4,
        "idempotency_keys": 0,
    }


def test_a_key_repeated_within_a_batch_replays_or_conflicts_without_stopping_the_batch(app):
    outcomes = batch(
        app,
        ("k1", {"email": "a@x.example"}),
        ("k1", {"email": "a@x.example"}),
        ("k1", {"email": "other@x.example"}),
        ("k2", {"email": "c@x.example"}),
    )
    assert outcomes[1].replayed and outcomes[1].lead_id == outcomes[0].lead_id
    assert isinstance(outcomes[2], IdempotencyConflict)
    assert outcomes[3].outcome == "created"
    assert table_counts(app)["leads"] == 2 and table_counts(app)["idempotency_keys"] == 2


def test_a_batch_merges_into_stored_leads_found_by_any_identity(app):
    stored = submit(app, email="stored@x.example", phone=None, external_id="crm-7")
    outcomes = batch(app, (None, {"email": None, "external_id": "crm-7", "industry": "retail"}))
    assert outcomes[0].lead_id == stored.lead_id and outcomes[0].matched_on == "external_id"
    assert (
        get_lead(uow_factory=app.uow_factory, principal=SYSTEM, lead_id=stored.lead_id).lead["industry"]
        == "manufacturing"
    )


def test_an_older_touch_without_channel_information_keeps_the_known_channel(app, clock):
    first = submit(app, channel="webinar", landing_url=None)
    older = (clock.now - timedelta(days=2)).isoformat()
    submit(app, occurred_at=older, landing_url=None)  # no channel, no UTM: channel "unknown"
    lead = get_lead(uow_factory=app.uow_factory, principal=SYSTEM, lead_id=first.lead_id).lead
    assert lead["channel"] == "webinar" and lead["first_touch_at"].isoformat() == older
