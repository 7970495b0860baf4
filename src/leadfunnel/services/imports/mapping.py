"""Mapping files: how the columns of a source file become leadfunnel fields.

A mapping is TOML::

    [options]
    encoding = "utf-8"          # optional: else detected
    delimiter = ","             # optional: else sniffed
    default_region = "BR"       # how national phone numbers are read
    create_missing_owners = true
    backdated_history = "clamp" # stage-history rows dated before the lead's last change:
                                # "refuse" (default) or "clamp" to that change's time

    [columns]                   # field = "source column"
    external_id = "mql_id"
    occurred_at = "first_contact_date"
    channel = "origin"
    "custom_fields.landing_page" = "landing_page_id"

    [constants]                 # field = value, for every row
    stage = "mql"

    [values.channel]            # source value -> field value (others pass unchanged)
    "" = "unknown"              # "" stands for an empty cell
    paid_search = "paid_search"

    [formats]                   # strptime formats for date/time fields
    occurred_at = "%Y-%m-%d"

Without a mapping file, columns whose names match a field (ignoring case, spaces, ``-``, ``_``)
are mapped, and the other columns are listed as ignored.
"""

from __future__ import annotations

import functools
import hashlib
import json
import re
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, NamedTuple

from leadfunnel.domain.errors import ValidationError

__all__ = [
    "CUSTOM_PREFIXES",
    "OPTION_CHOICES",
    "ColumnMapping",
    "RowError",
    "auto_mapping",
    "load_mapping",
    "parse_mapping",
]

_SECTIONS = {"kind", "options", "columns", "constants", "values", "formats"}
_OPTIONS = {
    "encoding": str,
    "delimiter": str,
    "sheet": str,
    "default_region": str,
    "create_missing_owners": bool,
    "backdated_history": str,
}
#: Options that take one of a few words.
OPTION_CHOICES = {"backdated_history": ("refuse", "clamp")}
#: Field prefixes that collect several source columns into one JSON field.
CUSTOM_PREFIXES = ("custom_fields.", "properties.")


@dataclass(frozen=True)
class RowError:
    """Why one row (or one cell of it) was rejected."""

    row: int
    column: str
    value: str | None
    reason: str


@dataclass(frozen=True)
class ColumnMapping:
    columns: dict[str, str]
    constants: dict[str, Any] = field(default_factory=dict)
    values: dict[str, dict[str, str | None]] = field(default_factory=dict)
    formats: dict[str, str] = field(default_factory=dict)
    options: dict[str, Any] = field(default_factory=dict)
    kind: str | None = None

    @property
    def fingerprint(self) -> str:
        blob = json.dumps(
            [self.kind, self.columns, self.constants, self.values, self.formats, self.options],
            sort_keys=True,
            default=str,
        )
        return hashlib.sha256(blob.encode()).hexdigest()

    def source_of(self, target: str) -> str:
        """The source column a field comes from (for error reports), else the field's name."""
        return self.columns.get(target, target)

    def check(
        self,
        *,
        kind: str,
        fields: Sequence[str],
        required: Sequence[Sequence[str]],
        columns: Sequence[str],
    ) -> None:
        """Refuse, before anything is written, a mapping that cannot work with this file."""
        if self.kind is not None and self.kind != kind:
            raise ValidationError("kind", f"the mapping is for '{self.kind}', not '{kind}'")
        for target in [*self.columns, *self.constants]:
            if target not in fields and not target.startswith(CUSTOM_PREFIXES):
                raise ValidationError(
                    f"columns.{target}",
                    f"'{target}' is not a field of {kind}; fields: {', '.join(fields)}",
                )
        missing = sorted(c for c in self.columns.values() if c not in columns)
        if missing:
            raise ValidationError(
                "file", f"has no column '{missing[0]}' (columns: {', '.join(columns)})"
            )
        for group in required:
            if not any(f in self.columns or f in self.constants for f in group):
                names = " or ".join(group)
                raise ValidationError(
                    "mapping", f"{kind} need {names}; map a column to it or set a constant"
                )

    @functools.cached_property
    def _steps(self) -> tuple[_Step, ...]:
        """For each mapped field: its source column, value map, date format and, for a
        custom field, the JSON field and key it goes to (decided once, not per row)."""
        steps = []
        for target, source in self.columns.items():
            prefix = next((p for p in CUSTOM_PREFIXES if target.startswith(p)), None)
            custom = (prefix[:-1], target[len(prefix) :]) if prefix else None
            steps.append(
                _Step(target, source, self.values.get(target), self.formats.get(target), custom)
            )
        return tuple(steps)

    def apply(
        self, number: int, row: Mapping[str, str | None]
    ) -> tuple[dict[str, Any], RowError | None]:
        """The fields of one row; or the first cell that cannot be converted."""
        out: dict[str, Any] = dict(self.constants)
        for target, source, values, fmt, custom in self._steps:
            value = row.get(source)
            if values is not None:
                value = values.get(value if value is not None else "", value)
            if value is not None and fmt is not None:
                try:
                    value = datetime.strptime(value, fmt).replace(tzinfo=UTC).isoformat()
                except ValueError:
                    return out, RowError(
                        number, source, value, f"does not match the date format {fmt}"
                    )
            if value is None:
                continue
            if custom is not None:
                out.setdefault(custom[0], {})[custom[1]] = value
            else:
                out[target] = value
        return out, None


class _Step(NamedTuple):
    target: str
    source: str
    values: dict[str, str | None] | None
    format: str | None
    custom: tuple[str, str] | None


def _table(doc: Mapping[str, Any], name: str) -> dict[str, Any]:
    value = doc.get(name, {})
    if not isinstance(value, dict):
        raise ValidationError(name, "must be a table ([" + name + "])")
    return value


def load_mapping(path: Path) -> ColumnMapping:
    """Read and validate a mapping file; errors name the key."""
    try:
        doc = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ValidationError("mapping", f"cannot read {path}: {exc.strerror}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ValidationError("mapping", f"{path.name} is not valid TOML ({exc})") from None
    return parse_mapping(doc)


def parse_mapping(doc: Mapping[str, Any]) -> ColumnMapping:
    """Validate a mapping document as read from TOML (the web's column mapper builds one
    from its form, so both are checked alike); errors name the key."""
    unknown = sorted(set(doc) - _SECTIONS)
    if unknown:
        raise ValidationError(
            unknown[0], f"is not a mapping section; expected: {', '.join(sorted(_SECTIONS))}"
        )
    options = _table(doc, "options")
    for key, value in options.items():
        if key not in _OPTIONS:
            raise ValidationError(
                f"options.{key}", f"is not an option; expected: {', '.join(_OPTIONS)}"
            )
        if not isinstance(value, _OPTIONS[key]):
            raise ValidationError(f"options.{key}", f"must be {_OPTIONS[key].__name__}")
        if key in OPTION_CHOICES and value not in OPTION_CHOICES[key]:
            raise ValidationError(
                f"options.{key}",
                f"'{value}' is not one of: {', '.join(OPTION_CHOICES[key])}",
            )
    columns = _table(doc, "columns")
    for target, source in columns.items():
        if not isinstance(source, str) or not source:
            raise ValidationError(f"columns.{target}", "must name a source column")
    values = {
        t: {str(k): (v if v != "" else None) for k, v in m.items()}
        for t, m in _table(doc, "values").items()
    }
    formats = _table(doc, "formats")
    for target, fmt in formats.items():
        if not isinstance(fmt, str) or "%" not in fmt:
            raise ValidationError(
                f"formats.{target}", f"'{fmt}' is not a strptime format such as %Y-%m-%d"
            )
    kind = doc.get("kind")
    if kind is not None and not isinstance(kind, str):
        raise ValidationError("kind", "must be text")
    return ColumnMapping(
        columns=columns,
        constants=_table(doc, "constants"),
        values=values,
        formats=formats,
        options=options,
        kind=kind,
    )


def _key(name: str) -> str:
    """``'First Name'``, ``'first_name'`` and ``'First-Name'`` all become ``'firstname'``."""
    return re.sub(r"[^a-z0-9]+", "", name.strip().lower())


def auto_mapping(fields: Sequence[str], columns: Sequence[str]) -> tuple[ColumnMapping, list[str]]:
    """Map columns named like fields; returns the mapping and the ignored columns."""
    by_key = {_key(f): f for f in fields}
    mapped: dict[str, str] = {}
    ignored = []
    for column in columns:
        target = by_key.get(_key(column))
        if target and target not in mapped:
            mapped[target] = column
        else:
            ignored.append(column)
    return ColumnMapping(columns=mapped), ignored
