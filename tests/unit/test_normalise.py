from __future__ import annotations

import pytest

from leadfunnel.domain.errors import ValidationError
from leadfunnel.domain.lead import Utm
from leadfunnel.services.normalise import (
    channel_from_utm,
    clean_company,
    company_key,
    normalise_channel,
    normalise_email,
    normalise_phone,
    parse_utm,
)


@pytest.mark.parametrize(
    "raw",
    [
        "ann.lee@example.com",
        "  Ann.Lee@Example.COM ",
        "\tANN.LEE@EXAMPLE.COM\n",
        "Ann.Lee@EXAMPLE.com",
    ],
)
def test_email_spellings_of_one_address_normalise_to_one_value(raw):
    assert normalise_email(raw) == "ann.lee@example.com"


@pytest.mark.parametrize(
    "raw", ["ann", "ann@", "@example.com", "ann@@example.com", "ann lee@example.com", "   "]
)
def test_malformed_email_is_refused_naming_the_field(raw):
    with pytest.raises(ValidationError) as caught:
        normalise_email(raw)
    assert caught.value.field == "email"


@pytest.mark.parametrize(
    ("raw", "region", "expected"),
    [
        ("(415) 555-2671", "US", "+14155552671"),
        ("415.555.2671", "US", "+14155552671"),
        ("+1 415 555 2671", "CN", "+14155552671"),  # international form ignores the default
        ("138 1234 5678", "CN", "+8613812345678"),
        ("+86 138-1234-5678", "US", "+8613812345678"),
        ("0086 13812345678", "CN", "+8613812345678"),
        ("030 123456", "DE", "+4930123456"),
        ("020 7946 0958", "GB", "+442079460958"),
        ("(11) 98765-4321", "BR", "+5511987654321"),
    ],
)
def test_phones_in_national_and_international_formats_become_e164(raw, region, expected):
    assert normalise_phone(raw, region) == expected


@pytest.mark.parametrize("raw", ["12", "not a phone", "+1 000 000 0000", "555-2671"])
def test_invalid_phone_is_refused_naming_the_field(raw):
    with pytest.raises(ValidationError) as caught:
        normalise_phone(raw, "US")
    assert caught.value.field == "phone"


def test_company_display_form_is_cleaned_and_key_ignores_case_punctuation_and_legal_form():
    assert clean_company("  ACME\u3000  Widgets,  Inc. ") == "ACME Widgets, Inc."
    assert company_key("ACME Widgets, Inc.") == company_key("acme widgets") == "acme widgets"
    assert company_key("Müller GmbH") == "müller"
    assert company_key("华为技术有限公司") == "华为技术"
    assert company_key("Co-op Ltd") == "co op"


def test_utm_parameters_are_read_from_the_landing_url():
    utm = parse_utm(
        "https://www.example.com/lp?utm_source=google&utm_medium=cpc&utm_campaign=spring%20sale"
        "&utm_term=crm+software&utm_content=ad1&gclid=xyz"
    )
    assert utm == Utm(
        source="google", medium="cpc", campaign="spring sale", term="crm software", content="ad1"
    )


def test_explicit_utm_values_win_over_the_url_and_blanks_are_ignored():
    utm = parse_utm(
        "https://x.io/?utm_source=google&utm_medium=", {"source": "bing", "campaign": "  "}
    )
    assert utm == Utm(source="bing")


def test_url_without_utm_gives_empty_utm():
    assert parse_utm("https://x.io/pricing").is_empty()
    assert parse_utm(None).is_empty()


@pytest.mark.parametrize(
    ("medium", "channel"),
    [
        ("cpc", "paid_search"),
        ("CPC", "paid_search"),
        ("email", "email"),
        ("social", "social"),
        ("paid_social", "social_ads"),
        ("referral", "partner_referral"),
        ("banner", "display"),
        ("weird", "unknown"),
        (None, "unknown"),
    ],
)
def test_channel_is_derived_from_the_utm_medium(medium, channel):
    assert channel_from_utm(Utm(source="x", medium=medium)) == channel


def test_a_phone_seen_again_gives_the_same_answer_and_a_bad_one_fails_again():
    """Results are cached per distinct input; failures are not, so they keep their reason."""
    assert normalise_phone(" (415) 555-2671", "us") == "+14155552671"
    assert normalise_phone("(415) 555-2671", "US") == "+14155552671"
    assert normalise_phone("020 7946 0958", "GB") == "+442079460958"
    with pytest.raises(ValidationError):  # the same text read in another region
        normalise_phone("020 7946 0958", "US")
    for _ in range(2):
        with pytest.raises(ValidationError, match="read with default region US"):
            normalise_phone("555-2671", "us")


def test_explicit_utm_values_win_without_changing_what_the_url_gives():
    url = "https://x.io/p?utm_source=google&utm_medium=cpc"
    assert parse_utm(url, {"source": " newsletter ", "term": ""}) == Utm(
        source="newsletter", medium="cpc"
    )
    assert parse_utm(url) == Utm(source="google", medium="cpc")
    assert parse_utm(None, {"campaign": "may"}) == Utm(campaign="may")
    assert parse_utm(None) == Utm()


def test_channel_names_become_slugs_and_junk_is_refused():
    assert normalise_channel(" Paid Search ") == "paid_search"
    assert normalise_channel("trade-show") == "trade_show"
    with pytest.raises(ValidationError, match="channel"):
        normalise_channel("paid/search!")


from email_validator import validate_email  # noqa: E402
from hypothesis import given  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from leadfunnel.services.normalise import _PLAIN_EMAIL  # noqa: E402

_ALPHABET = st.sampled_from([*list("abcXYZ019.-_+@'!#"), "..", "@@", ".io", ".test", "é"])


@given(st.one_of(st.emails(), st.lists(_ALPHABET, min_size=3, max_size=30).map("".join)))
def test_fast_email_path_accepts_only_what_the_full_validator_accepts(text):
    """The fast path is an optimisation: it never accepts an address the parser refuses,
    and it normalises exactly as the full path does."""
    try:
        fast = normalise_email(text)
    except ValidationError:
        return
    if _PLAIN_EMAIL.match(text.strip().lower()):
        checked = validate_email(text.strip(), check_deliverability=False)
        assert checked.normalized.lower() == fast
