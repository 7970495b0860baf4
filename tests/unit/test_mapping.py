from __future__ import annotations

import pytest

from leadfunnel.domain.errors import ValidationError
from leadfunnel.services.imports.mapping import ColumnMapping, RowError, auto_mapping, load_mapping

MAPPING = """
kind = "leads"
[options]
default_region = "BR"
[columns]
external_id = "mql_id"
occurred_at = "first_contact_date"
channel = "origin"
"custom_fields.landing_page" = "landing_page_id"
[constants]
stage = "mql"
[values.channel]
"" = "unknown"
organic = "organic_search"
[formats]
occurred_at = "%Y-%m-%d"
"""


def test_a_mapping_renames_maps_values_parses_dates_and_adds_constants(tmp_path):
    (tmp_path / "m.toml").write_text(MAPPING, encoding="utf-8")
    mapping = load_mapping(tmp_path / "m.toml")
    row = {
        "mql_id": "abc",
        "first_contact_date": "2018-02-01",
        "origin": "organic",
        "landing_page_id": "lp9",
    }
    fields, error = mapping.apply(2, row)
    assert error is None
    assert fields == {
        "stage": "mql",
        "external_id": "abc",
        "occurred_at": "2018-02-01T00:00:00+00:00",
        "channel": "organic_search",
        "custom_fields": {"landing_page": "lp9"},
    }
    assert mapping.apply(3, {**row, "origin": None})[0]["channel"] == "unknown"
    assert mapping.apply(4, {**row, "origin": "social"})[0]["channel"] == "social"


def test_a_cell_that_does_not_match_its_date_format_is_a_row_error_naming_the_column(tmp_path):
    (tmp_path / "m.toml").write_text(MAPPING, encoding="utf-8")
    _, error = load_mapping(tmp_path / "m.toml").apply(
        7, {"mql_id": "a", "first_contact_date": "01/02/2018"}
    )
    assert error == RowError(
        7, "first_contact_date", "01/02/2018", "does not match the date format %Y-%m-%d"
    )


@pytest.mark.parametrize(
    ("text", "field", "words"),
    [
        ("[colums]\nemail='E'", "colums", "not a mapping section"),
        ("[options]\nspeed = 3", "options.speed", "not an option"),
        (
            "[options]\ncreate_missing_owners = 'yes'",
            "options.create_missing_owners",
            "must be bool",
        ),
        (
            "[options]\nbackdated_history = 'fix'",
            "options.backdated_history",
            "not one of: refuse, clamp",
        ),
        ("[columns]\nemail = 3", "columns.email", "must name a source column"),
        ("[formats]\nat = 'YYYY-MM-DD'", "formats.at", "not a strptime format"),
        ("columns = [", "mapping", "not valid TOML"),
    ],
)
def test_a_bad_mapping_is_refused_naming_the_key(tmp_path, text, field, words):
    (tmp_path / "m.toml").write_text(text, encoding="utf-8")
    with pytest.raises(ValidationError) as caught:
        load_mapping(tmp_path / "m.toml")
    assert caught.value.field == field and words in str(caught.value)


def test_check_refuses_unknown_fields_missing_columns_and_unmet_requirements():
    fields = ("email", "phone", "external_id", "company")
    required = (("email", "phone", "external_id"),)
    with pytest.raises(ValidationError, match="'colour' is not a field of leads"):
        ColumnMapping(columns={"colour": "Colour"}).check(
            kind="leads", fields=fields, required=required, columns=["Colour"]
        )
    with pytest.raises(ValidationError, match="has no column 'E-mail'"):
        ColumnMapping(columns={"email": "E-mail"}).check(
            kind="leads", fields=fields, required=required, columns=["Email"]
        )
    with pytest.raises(ValidationError, match="leads need email or phone or external_id"):
        ColumnMapping(columns={"company": "Company"}).check(
            kind="leads", fields=fields, required=required, columns=["Company"]
        )
    with pytest.raises(ValidationError, match="the mapping is for 'leads', not 'touchpoints'"):
        ColumnMapping(columns={}, kind="leads").check(
            kind="touchpoints", fields=fields, required=(), columns=[]
        )


def test_without_a_mapping_columns_named_like_fields_are_mapped_and_the_rest_listed():
    mapping, ignored = auto_mapping(
        ("email", "first_name", "company_size"), ["E-mail", "First Name", "Company Size", "Notes"]
    )
    assert mapping.columns == {
        "email": "E-mail",
        "first_name": "First Name",
        "company_size": "Company Size",
    }
    assert ignored == ["Notes"]
