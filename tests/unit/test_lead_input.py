from __future__ import annotations

from datetime import UTC, datetime

import pytest

from leadfunnel.domain.errors import ValidationError
from leadfunnel.domain.lifecycle import Stage
from leadfunnel.services.lead_input import LEAD_INPUT_FIELDS, parse_lead_input
from tests.builders import lead_fields

NOW = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)


def parse(**overrides):
    return parse_lead_input(lead_fields(**overrides), now=NOW, default_region="US")


def test_a_web_form_submission_is_normalised():
    draft = parse(
        email=" Ann.Lee@ACME.example ", phone="(415) 555-2671", company="  ACME  Widgets, Inc."
    )
    assert draft.email == "ann.lee@acme.example"
    assert draft.phone == "+14155552671"
    assert draft.company == "ACME Widgets, Inc." and draft.company_key == "acme widgets"
    assert (draft.utm.source, draft.utm.medium, draft.utm.campaign) == ("google", "cpc", "spring")
    assert draft.channel == "paid_search"  # derived from utm_medium=cpc
    assert draft.occurred_at == NOW and draft.stage is Stage.LEAD


def test_explicit_channel_wins_and_historical_time_is_kept_in_utc():
    draft = parse(channel="Trade Show", occurred_at="2025-06-01T10:00:00+08:00", stage="MQL")
    assert draft.channel == "trade_show"
    assert draft.occurred_at == datetime(2025, 6, 1, 2, 0, tzinfo=UTC)
    assert draft.stage is Stage.MQL


@pytest.mark.parametrize(
    ("overrides", "field", "words"),
    [
        ({"email": None}, "contact", "at least one of email, phone or external_id"),
        ({"email": "not-an-email"}, "email", "not a valid email"),
        ({"phone": "12345"}, "phone", "not a valid phone"),
        ({"stage": "prospect"}, "stage", "unknown stage 'prospect'"),
        ({"company": "x" * 201}, "company", "201 characters long; at most 200"),
        ({"email": "a" * 250 + "@x.io"}, "email", "at most 254"),
        ({"landing_url": "https://x.io/" + "a" * 2048}, "landing_url", "at most 2048"),
        ({"company_size": "many"}, "company_size", "not a whole number"),
        ({"company_size": -3}, "company_size", "out of range"),
        ({"occurred_at": "yesterday"}, "occurred_at", "not an ISO 8601"),
        ({"colour": "red"}, "colour", "not a lead field"),
        ({"custom_fields": "{bad json"}, "custom_fields", "not valid JSON"),
        ({"custom_fields": {"bad key": 1}}, "custom_fields", "not a field name"),
        ({"custom_fields": {"nested": {"a": 1}}}, "custom_fields.nested", "plain value"),
        ({"custom_fields": {"big": "x" * 17_000}}, "custom_fields", "at most 16384"),
        ({"first_name": ["Ann"]}, "first_name", "must be text"),
        ({"touchpoint_kind": "Form Submit!"}, "touchpoint_kind", "short name"),
    ],
)
def test_bad_input_is_refused_with_the_field_named(overrides, field, words):
    with pytest.raises(ValidationError) as caught:
        parse(**overrides)
    assert caught.value.field == field
    assert words in str(caught.value)


def test_phone_or_external_id_alone_is_enough_contact():
    assert parse(email=None, phone="+44 20 7946 0958").phone == "+442079460958"
    assert parse(email=None, external_id="olist-42").external_id == "olist-42"


def test_every_accepted_field_has_a_length_limit():
    assert all(limit > 0 for limit in LEAD_INPUT_FIELDS.values())
