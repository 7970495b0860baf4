"""Rule documents from files: the format from the suffix, parse errors naming the format."""

from __future__ import annotations

import re

import pytest

from leadfunnel.domain.errors import ValidationError
from leadfunnel.services.documents import format_of, read_document


def test_the_format_comes_from_the_suffix_unless_given():
    assert [format_of(n) for n in ("m.toml", "m.YML", "m.yaml", "m.json")] == [
        "toml",
        "yaml",
        "yaml",
        "json",
    ]
    assert format_of("rules.txt", "toml") == "toml"
    with pytest.raises(
        ValidationError,
        match=re.escape("cannot tell the format of rules.txt; give --format toml|yaml|json"),
    ):
        format_of("rules.txt")


@pytest.mark.parametrize(
    ("text", "fmt", "words"),
    [("name = ", "toml", "is not valid TOML"), ("[1, 2]", "json", "must be a table of settings"),
     ("a: [", "yaml", "is not valid YAML")],
)  # fmt: skip
def test_bad_documents_are_refused_naming_the_format(text, fmt, words):
    with pytest.raises(ValidationError, match=words) as caught:
        read_document(text, fmt)
    assert caught.value.field == "document"
