from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from leadfunnel.domain.errors import ValidationError
from leadfunnel.services.imports.mapping import (
    ColumnMapping,
    DateCell,
    RowError,
    auto_mapping,
    load_mapping,
    parse_mapping,
)

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


def test_a_date_format_with_an_offset_is_converted_to_utc_and_one_without_is_taken_as_utc():
    mapping = ColumnMapping(
        columns={"occurred_at": "When", "at": "At"},
        formats={"occurred_at": "%Y-%m-%d %H:%M %z", "at": "%Y-%m-%d %H:%M"},
    )
    fields, error = mapping.apply(2, {"When": "2025-11-23 09:00 +0800", "At": "2025-11-23 09:00"})
    assert error is None
    assert fields == {"occurred_at": "2025-11-23T01:00:00+00:00", "at": "2025-11-23T09:00:00+00:00"}


def test_a_cell_the_file_typed_as_a_date_is_that_date_whatever_the_format():
    mapping = ColumnMapping(columns={"at": "Date"}, formats={"at": "%d/%m/%Y"})
    rows = [DateCell("2025-11-20T10:30:00"), DateCell("2025-11-21"), "21/11/2025"]
    assert [mapping.apply(2, {"Date": cell}) for cell in rows] == [
        ({"at": "2025-11-20T10:30:00+00:00"}, None),
        ({"at": "2025-11-21T00:00:00+00:00"}, None),
        ({"at": "2025-11-21T00:00:00+00:00"}, None),
    ]
    # a typed time of day is no date
    assert mapping.apply(3, {"Date": DateCell("10:30:00")})[1] == RowError(
        3, "Date", "10:30:00", "does not match the date format %d/%m/%Y"
    )
    # text the reader did not type is read with the format, even when it looks like ISO
    assert mapping.apply(4, {"Date": "2025-11-20T10:30:00"})[1] is not None


def test_custom_field_constants_join_the_row_s_custom_fields():
    mapping = parse_mapping(
        {
            "columns": {"email": "E", "custom_fields.budget": "Budget"},
            "constants": {"custom_fields.source": "expo", "channel": "trade_show"},
        }
    )
    first, _ = mapping.apply(2, {"E": "a@x.example", "Budget": "5k"})
    second, _ = mapping.apply(3, {"E": "b@x.example", "Budget": None})
    assert first == {
        "channel": "trade_show",
        "email": "a@x.example",
        "custom_fields": {"source": "expo", "budget": "5k"},
    }
    assert second["custom_fields"] == {"source": "expo"}  # no row shares another's dict


@pytest.mark.parametrize(
    ("text", "field", "words"),
    [
        (
            "[columns]\nregion = 'R'\n[values.regoin]\nIDF = 'Île-de-France'",
            "values.regoin",
            "'regoin' is not a field [columns] maps (mapped: region); did you mean 'region'?",
        ),
        (
            "[columns]\noccurred_at = 'D'\n[formats]\noccured_at = '%d/%m/%Y'",
            "formats.occured_at",
            "did you mean 'occurred_at'?",
        ),
        (
            "[constants]\nchannel = 'web'\n[values.channel]\nweb = 'w'",
            "values.channel",
            "mapped: none",
        ),
        ("[columns]\nregion = 'R'\n[values]\nregion = 'x'", "values.region", "must be a table"),
        ("[columns]\nregion = 'R'\n[values.region]\nx = ['a']", "values.region.x", "not a list"),
        (
            "[constants]\nstage = ['mql']",
            "constants.stage",
            "text, a number or true/false, not a list",
        ),
        ("[constants]\nstage = {a = 1}", "constants.stage", "not a table"),
        ("[constants]\noccurred_at = 2025-11-23", "constants.occurred_at", "not a TOML date"),
        (
            "[columns]\n'custom_fields.bad key' = 'B'",
            "columns.custom_fields.bad key",
            "'bad key' is not a custom field name",
        ),
        (
            "[constants]\n'custom_fields.1st' = 'x'",
            "constants.custom_fields.1st",
            "not a custom field name",
        ),
        ("[columns]\n'properties.' = 'P'", "columns.properties.", "names no properties key"),
    ],
)
def test_a_mapping_whose_tables_name_what_cannot_apply_is_refused_naming_table_and_key(
    tmp_path, text, field, words
):
    (tmp_path / "m.toml").write_text(text, encoding="utf-8")
    with pytest.raises(ValidationError) as caught:
        load_mapping(tmp_path / "m.toml")
    assert caught.value.field == field and words in str(caught.value)


@pytest.mark.parametrize(
    ("mapping", "kind", "field", "words"),
    [
        (ColumnMapping(columns={"properties.page": "P"}), "leads", "columns.properties.page",
         "leads have no properties.NAME fields (only touchpoints do)"),
        (ColumnMapping(columns={}, constants={"custom_fields.x": "1"}), "touchpoints",
         "constants.custom_fields.x", "touchpoints have no custom_fields.NAME fields"),
        (ColumnMapping(columns={}, constants={"colour": "red"}), "leads", "constants.colour",
         "'colour' is not a field of leads"),
        (ColumnMapping(columns={"custom_fields.budget": "B"}, constants={"custom_fields": "{}"}),
         "leads", "constants.custom_fields", "set custom_fields.NAME constants instead"),
    ],
)  # fmt: skip
def test_check_refuses_fields_the_kind_does_not_have_naming_table_and_key(
    mapping, kind, field, words
):
    with pytest.raises(ValidationError) as caught:
        mapping.check(
            kind=kind, fields=("email", "custom_fields"), required=(), columns=["P", "CF", "B"]
        )
    assert caught.value.field == field and words in str(caught.value)


def test_the_documented_and_example_mappings_stay_valid():
    root = Path(__file__).parents[2]
    docs = (root / "docs/how-to/import.md").read_text(encoding="utf-8")
    example = docs.split("```toml\n", 1)[1].split("```", 1)[0]
    documents = [tomllib.loads(example)]
    examples = [
        tomllib.loads(p.read_text(encoding="utf-8")) for p in root.glob("examples/*/*.toml")
    ]
    documents += [e for e in examples if "columns" in e]  # the others are rules, not mappings
    assert len(documents) >= 6
    for document in documents:
        parse_mapping(document)


def test_without_a_mapping_custom_field_columns_are_mapped_for_the_kind_that_has_them():
    columns = ["E-mail", "custom_fields.budget", "custom_fields.bad key", "properties.page"]
    mapping, ignored = auto_mapping(("email", "custom_fields"), columns)
    assert mapping.columns == {"email": "E-mail", "custom_fields.budget": "custom_fields.budget"}
    assert ignored == ["custom_fields.bad key", "properties.page"]
    mapping, ignored = auto_mapping(("email", "kind", "at"), columns, kind="touchpoints")
    assert mapping.columns == {"email": "E-mail", "properties.page": "properties.page"}
    assert mapping.apply(2, {"E-mail": "a@x.example", "properties.page": "pricing"})[0] == {
        "email": "a@x.example",
        "properties": {"page": "pricing"},
    }


def test_a_whole_json_custom_fields_column_is_joined_by_named_columns_and_constants():
    mapping, ignored = auto_mapping(
        ("email", "custom_fields"), ["custom_fields", "email", "custom_fields.budget"]
    )
    assert ignored == []
    mapping = ColumnMapping(columns=mapping.columns, constants={"custom_fields.source": "expo"})
    row = {"email": "a@x.example", "custom_fields": '{"plan": "gold", "budget": "1k"}'}
    assert mapping.apply(2, {**row, "custom_fields.budget": "5k"})[0]["custom_fields"] == {
        "source": "expo",
        "plan": "gold",
        "budget": "5k",
    }
    assert mapping.apply(3, {**row, "custom_fields": None})[0]["custom_fields"] == {
        "source": "expo"
    }
    assert mapping.apply(4, {**row, "custom_fields": "[1]"})[1] == RowError(
        4, "custom_fields", "[1]", "is not a JSON object"
    )
    # alone, the whole column's JSON text goes to intake as it is
    alone = auto_mapping(("email", "custom_fields"), ["custom_fields"])[0]
    assert alone.apply(2, {"custom_fields": "[1]"}) == ({"custom_fields": "[1]"}, None)
