"""Rule documents from files: scoring models, routing rules, SLA policies and calendars are
written as TOML, YAML or JSON and parsed here into plain tables, before their own validation."""

from __future__ import annotations

import json
import tomllib
from typing import Any

import yaml

from leadfunnel.domain.errors import ValidationError

__all__ = ["FORMATS", "format_of", "read_document"]

FORMATS = ("toml", "yaml", "json")


def format_of(file_name: str, given: str | None = None) -> str:
    """``given``, else the format a file name's suffix says (``.yml`` is YAML)."""
    suffix = file_name.rpartition(".")[2].lower() if "." in file_name else ""
    fmt = given or {"yml": "yaml"}.get(suffix, suffix)
    if fmt not in FORMATS:
        raise ValidationError(
            "--format", f"cannot tell the format of {file_name}; give --format {'|'.join(FORMATS)}"
        )
    return fmt


def read_document(text: str, fmt: str) -> dict[str, Any]:
    """Parse a document's text; ``fmt`` is toml, yaml or json."""
    if fmt not in FORMATS:
        raise ValidationError("format", f"'{fmt}' is not one of: {', '.join(FORMATS)}")
    try:
        if fmt == "toml":
            doc: Any = tomllib.loads(text)
        elif fmt == "yaml":
            doc = yaml.safe_load(text)
        else:
            doc = json.loads(text)
    except (tomllib.TOMLDecodeError, yaml.YAMLError, json.JSONDecodeError) as exc:
        raise ValidationError("document", f"is not valid {fmt.upper()}: {exc}") from None
    if not isinstance(doc, dict):
        raise ValidationError("document", f"the {fmt.upper()} document must be a table of settings")
    return doc
