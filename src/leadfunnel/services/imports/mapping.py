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

Every ``[values.FIELD]`` and ``[formats]`` entry must name a field ``[columns]`` maps, a
constant must be text, a number or a boolean, and a ``custom_fields.NAME`` must be a valid
custom field name: a mapping file that breaks any of these is refused, naming the table and
key, before anything is read or written.

Without a mapping file, columns whose names match a field (ignoring case, spaces, ``-``, ``_``)
are mapped, and so are ``custom_fields.NAME`` (``properties.NAME``) columns for a kind that
has them; the other columns are listed as ignored.
"""

from __future__ import annotations

import difflib
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
    "DateCell",
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
#: The kind whose rows collect each prefix's ``PREFIX.NAME`` columns.
_PREFIX_KINDS = {"custom_fields.": "leads", "properties.": "touchpoints"}
#: A custom field's name, as intake accepts it (``services/lead_input.py``).
_CUSTOM_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")


class DateCell(str):
    """A cell the file itself typed as a date or time (an XLSX date cell), as ISO 8601 text.

    It already is a date, so a ``[formats]`` entry for its column does not apply to it, and a
    column mixing typed dates and text dates (common in spreadsheets) reads both::

        >>> mapping = ColumnMapping({"at": "Date"}, formats={"at": "%d/%m/%Y"})
        >>> [mapping.apply(2, {"Date": c})[0] for c in (DateCell("2025-11-20T10:30:00"), "21/11/2025")]
        [{'at': '2025-11-20T10:30:00+00:00'}, {'at': '2025-11-21T00:00:00+00:00'}]
    """

    __slots__ = ()


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
        for table, targets in (("columns", self.columns), ("constants", self.constants)):
            for target in targets:
                _check_target(f"{table}.{target}", target, kind, fields)
        for name in self._joined:
            if name in self.constants:
                raise ValidationError(
                    f"constants.{name}",
                    f"cannot be joined by {name}.NAME fields; set {name}.NAME constants instead",
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
    def _joined(self) -> frozenset[str]:
        """The JSON fields named fields join (``custom_fields`` for ``custom_fields.x``)."""
        targets = [*self.columns, *self.constants]
        return frozenset(where[0] for t in targets if (where := _custom(t)))

    @functools.cached_property
    def _steps(self) -> tuple[_Step, ...]:
        """For each mapped field: its source column, value map, date format and, for a
        custom field, the JSON field and key it goes to (decided once, not per row).

        A column holding a whole JSON field (``custom_fields``) that named columns or
        constants (``custom_fields.budget``) join goes first, as key ``""``: its object is
        read, then the named ones are added to it."""
        steps = [
            _Step(target, source, self.values.get(target), self.formats.get(target),
                  (target, "") if target in self._joined else _custom(target))
            for target, source in self.columns.items()
        ]  # fmt: skip
        return tuple(sorted(steps, key=lambda step: step.custom != (step.target, "")))

    @functools.cached_property
    def _constants(self) -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
        """The constants: plain fields, and custom ones by JSON field (``custom_fields.x``
        goes to ``custom_fields['x']``)."""
        plain: dict[str, Any] = {}
        custom: dict[str, dict[str, Any]] = {}
        for target, value in self.constants.items():
            where = _custom(target)
            if where is None:
                plain[target] = value
            else:
                custom.setdefault(where[0], {})[where[1]] = value
        return plain, custom

    def apply(
        self, number: int, row: Mapping[str, str | None]
    ) -> tuple[dict[str, Any], RowError | None]:
        """The fields of one row; or the first cell that cannot be converted."""
        plain, custom_constants = self._constants
        out: dict[str, Any] = dict(plain)
        for name, named in custom_constants.items():
            out[name] = dict(named)
        for target, source, values, fmt, custom in self._steps:
            value = row.get(source)
            if values is not None:
                value = values.get(value if value is not None else "", value)
            if value is not None and fmt is not None:
                try:
                    value = _parse_date(value, fmt)
                except ValueError:
                    return out, RowError(
                        number, source, value, f"does not match the date format {fmt}"
                    )
            if value is None:
                continue
            if custom is None:
                out[target] = value
            elif custom[1]:
                out.setdefault(custom[0], {})[custom[1]] = value
            else:
                whole = _json_object(value)
                if whole is None:
                    return out, RowError(number, source, value, "is not a JSON object")
                out[target] = {**out.get(target, {}), **whole}
        return out, None


class _Step(NamedTuple):
    target: str
    source: str
    values: dict[str, str | None] | None
    format: str | None
    custom: tuple[str, str] | None


def _prefix(target: str) -> str | None:
    return next((p for p in CUSTOM_PREFIXES if target.startswith(p)), None)


def _custom(target: str) -> tuple[str, str] | None:
    """``'custom_fields.booth'`` -> ``('custom_fields', 'booth')``; a plain field -> None."""
    prefix = _prefix(target)
    return (prefix[:-1], target[len(prefix) :]) if prefix else None


def _json_object(text: str) -> dict[str, Any] | None:
    try:
        value = json.loads(text)
    except json.JSONDecodeError:
        return None
    return value if isinstance(value, dict) else None


def _parse_date(value: str, fmt: str) -> str:
    """A cell read with its ``strptime`` format, as ISO 8601 UTC; a time without an offset
    (``%z``) is taken as UTC. A :class:`DateCell` already is a date: the format does not
    apply. Raises ValueError."""
    if isinstance(value, DateCell):
        parsed = datetime.fromisoformat(value)
    else:
        parsed = datetime.strptime(value, fmt)
    if parsed.tzinfo is None:
        return parsed.replace(tzinfo=UTC).isoformat()
    return parsed.astimezone(UTC).isoformat()


def _check_target(key: str, target: str, kind: str, fields: Sequence[str]) -> None:
    """Refuse a ``[columns]``/``[constants]`` field that ``kind`` does not have."""
    prefix = _prefix(target)
    if prefix is None and target not in fields:
        raise ValidationError(
            key, f"'{target}' is not a field of {kind}; fields: {', '.join(fields)}"
        )
    if prefix is not None and _PREFIX_KINDS[prefix] != kind:
        raise ValidationError(
            key, f"{kind} have no {prefix}NAME fields (only {_PREFIX_KINDS[prefix]} do)"
        )


def _check_custom_name(key: str, target: str) -> None:
    """Refuse a ``custom_fields.NAME`` whose NAME intake would refuse (on every row)."""
    where = _custom(target)
    if where is None:
        return
    name, part = where
    if name == "custom_fields" and not _CUSTOM_KEY.match(part):
        raise ValidationError(
            key,
            f"'{part}' is not a custom field name (a letter or '_', then letters, digits "
            "or '_'; at most 64)",
        )
    if not part.strip():
        raise ValidationError(key, f"names no {name} key after '{name}.'")


def _check_scalar(key: str, value: Any) -> None:
    """A constant or mapped value must be what a cell could hold."""
    if isinstance(value, str | int | float):  # bool is an int
        return
    if isinstance(value, list | dict):
        what = "a list" if isinstance(value, list) else "a table"
    else:
        what = "a TOML date or time; write it as text"
    raise ValidationError(key, f"must be text, a number or true/false, not {what}")


def _check_mapped(key: str, target: str, columns: Mapping[str, str]) -> None:
    """Refuse a ``[values.X]``/``[formats]`` entry for a field no column is mapped to: it
    would change nothing (a typo, most often)."""
    if target in columns:
        return
    close = difflib.get_close_matches(target, list(columns), n=1)
    hint = f"; did you mean '{close[0]}'?" if close else ""
    mapped = ", ".join(columns) or "none"
    raise ValidationError(key, f"'{target}' is not a field [columns] maps (mapped: {mapped}){hint}")


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
    options = _options(doc)
    kind = doc.get("kind")
    if kind is not None and not isinstance(kind, str):
        raise ValidationError("kind", "must be text")
    columns = _table(doc, "columns")
    for target, source in columns.items():
        if not isinstance(source, str) or not source:
            raise ValidationError(f"columns.{target}", "must name a source column")
        _check_custom_name(f"columns.{target}", target)
    constants = _table(doc, "constants")
    for target, value in constants.items():
        _check_scalar(f"constants.{target}", value)
        _check_custom_name(f"constants.{target}", target)
    return ColumnMapping(
        columns=columns,
        constants=constants,
        values=_values(doc, columns),
        formats=_formats(doc, columns),
        options=options,
        kind=kind,
    )


def _options(doc: Mapping[str, Any]) -> dict[str, Any]:
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
    return options


def _values(doc: Mapping[str, Any], columns: Mapping[str, str]) -> dict[str, dict[str, Any]]:
    """The ``[values.FIELD]`` tables, ``""`` (an empty cell) as None."""
    values = {}
    for target, table in _table(doc, "values").items():
        if not isinstance(table, dict):
            raise ValidationError(
                f"values.{target}", "must be a table of source value = field value"
            )
        _check_mapped(f"values.{target}", target, columns)
        for source, value in table.items():
            _check_scalar(f"values.{target}.{source}", value)
        values[target] = {str(k): (v if v != "" else None) for k, v in table.items()}
    return values


def _formats(doc: Mapping[str, Any], columns: Mapping[str, str]) -> dict[str, str]:
    formats = _table(doc, "formats")
    for target, fmt in formats.items():
        if not isinstance(fmt, str) or "%" not in fmt:
            raise ValidationError(
                f"formats.{target}", f"'{fmt}' is not a strptime format such as %Y-%m-%d"
            )
        _check_mapped(f"formats.{target}", target, columns)
    return formats


def _key(name: str) -> str:
    """``'First Name'``, ``'first_name'`` and ``'First-Name'`` all become ``'firstname'``."""
    return re.sub(r"[^a-z0-9]+", "", name.strip().lower())


def auto_mapping(
    fields: Sequence[str], columns: Sequence[str], *, kind: str | None = None
) -> tuple[ColumnMapping, list[str]]:
    """Map columns named like fields; returns the mapping and the ignored columns.

    ``PREFIX.NAME`` columns (``custom_fields.budget``) are mapped as they are named for the
    kind that has them (``kind``, or one whose ``fields`` hold the JSON field)::

        >>> mapping, ignored = auto_mapping(
        ...     ["email", "custom_fields"], ["E-mail", "custom_fields.budget", "Notes"])
        >>> mapping.columns, ignored
        ({'email': 'E-mail', 'custom_fields.budget': 'custom_fields.budget'}, ['Notes'])
    """
    prefixes = tuple(p for p in CUSTOM_PREFIXES if _PREFIX_KINDS[p] == kind or p[:-1] in fields)
    by_key = {_key(f): f for f in fields}
    mapped: dict[str, str] = {}
    for column in columns:
        target = column if _is_custom_column(column, prefixes) else by_key.get(_key(column))
        if target and target not in mapped:
            mapped[target] = column
    taken = set(mapped.values())
    return ColumnMapping(columns=mapped), [c for c in columns if c not in taken]


def _is_custom_column(column: str, prefixes: tuple[str, ...]) -> bool:
    """``custom_fields.budget`` for a kind with custom fields, and a valid name."""
    if not column.startswith(prefixes):
        return False
    try:
        _check_custom_name("columns", column)
    except ValidationError:
        return False
    return True
