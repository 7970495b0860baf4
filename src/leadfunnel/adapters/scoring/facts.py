"""Frames of facts: what rules read of many leads and touchpoints, one column per fact.

The column-wise twin of :mod:`leadfunnel.rules.facts`. A **lead frame** has one row per
lead and a column per lead field a model reads (text, numbers, true/false, UTC date-times),
plus the derived facts: ``email_domain``, ``email_is_free_mail`` and one
``custom_fields.NAME`` column per custom field read, holding the value as JSON text (a
custom field's values may be of any JSON type). A **touch frame** has one row per
touchpoint: ``_lead`` (the row of its lead in the lead frame), ``kind``, ``channel``,
``campaign``, ``url``, ``at`` and ``properties.NAME`` columns, JSON text likewise.

Stores read base columns straight into frames (``adapters/scoring/store.py``);
:func:`lead_frame` and :func:`touch_frame` build the same frames from Python rows, for tests
and small passes.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import polars as pl

from leadfunnel.adapters.scoring.conditions import python_map
from leadfunnel.rules.conditions import FieldType
from leadfunnel.rules.facts import FREE_MAIL_DOMAINS
from leadfunnel.rules.scoring_model import LEAD_FIELDS, TOUCH_FIELDS

__all__ = [
    "TIME",
    "dtype_of",
    "lead_frame",
    "touch_frame",
    "with_json_fields",
    "with_lead_facts",
]

TIME = pl.Datetime("us", "UTC")
_DERIVED = {"email_domain", "email_is_free_mail"}
_DTYPES: dict[FieldType, pl.DataType] = {
    FieldType.TEXT: pl.String(), FieldType.NUMBER: pl.Float64(), FieldType.BOOL: pl.Boolean(),
    FieldType.DATETIME: TIME,
}  # fmt: skip


def dtype_of(kind: FieldType, name: str) -> pl.DataType:
    """The column type of a fact; whole-number fields stay integers."""
    if name == "company_size":
        return pl.Int64()
    return _DTYPES.get(kind, pl.String())


def base_lead_columns(fields: Iterable[str]) -> list[str]:
    """The stored lead columns behind the facts ``fields`` (derived facts need ``email``,
    custom fields need ``custom_fields``)."""
    columns: list[str] = []
    for name in sorted(fields):
        column = (
            "email" if name in _DERIVED
            else "custom_fields" if name.startswith("custom_fields.") else name
        )  # fmt: skip
        if column not in columns:
            columns.append(column)
    return columns


def with_lead_facts(frame: pl.DataFrame, fields: Iterable[str]) -> pl.DataFrame:
    """Add the derived facts among ``fields`` to a frame of stored lead columns."""
    wanted = set(fields)
    added: list[pl.Series] = []
    if wanted & _DERIVED:
        email = frame.get_column("email")
        has_at = email.str.contains("@", literal=True).fill_null(False)
        after = email.str.extract(r"@([^@]*)$", 1)
        domain = pl.select(
            pl.when(has_at).then(python_map(after, str.lower, pl.String())).otherwise(None)
        ).to_series()
        added.append(domain.rename("email_domain"))
        free = pl.select(
            pl.when(domain.is_null() | (domain == ""))
            .then(None)
            .otherwise(domain.is_in(sorted(FREE_MAIL_DOMAINS)))
        ).to_series()
        added.append(free.rename("email_is_free_mail"))
    frame = frame.with_columns(added) if added else frame
    custom = sorted(n.removeprefix("custom_fields.") for n in wanted if n.startswith("custom_fields."))
    return with_json_fields(frame, "custom_fields", "custom_fields.", custom)


def with_json_fields(
    frame: pl.DataFrame, source: str, prefix: str, names: Sequence[str]
) -> pl.DataFrame:
    """One column ``prefix + NAME`` per name: the value of key NAME of the JSON object in
    column ``source``, as JSON text (null when absent or null). Each distinct document is
    parsed once."""
    if not names:
        return frame
    docs = frame.get_column(source)
    distinct = docs.drop_nulls().unique()
    values: dict[str, list[str | None]] = {name: [] for name in names}
    for text in distinct.to_list():
        parsed = json.loads(text)
        parsed = parsed if isinstance(parsed, dict) else {}
        for name in names:
            value = parsed.get(name)
            values[name].append(None if value is None else json.dumps(value))
    columns = [
        docs.replace_strict(
            distinct, pl.Series(values[name], dtype=pl.String), default=None
        ).rename(prefix + name)
        for name in names
    ]
    return frame.with_columns(columns)


def lead_frame(rows: Sequence[Mapping[str, Any]], fields: Iterable[str]) -> pl.DataFrame:
    """A lead frame from stored lead rows (dicts as the repositories return them), with the
    facts ``fields`` and the stored columns ``id``, ``stage``, ``score``, ``grade``,
    ``stage_entered_at`` and ``version`` when the rows have them."""
    wanted = set(fields)
    data: dict[str, pl.Series] = {}
    extra = {"id": pl.String(), "stage": pl.String(), "score": pl.Int64(), "grade": pl.String(),
             "stage_entered_at": TIME, "version": pl.Int64()}  # fmt: skip
    for name in base_lead_columns(wanted):
        if name == "custom_fields":
            text = [json.dumps(r.get("custom_fields") or {}) for r in rows]
            data[name] = pl.Series(name, text, dtype=pl.String)
        elif name == "owner_id":
            ids = [None if r.get(name) is None else str(r[name]) for r in rows]
            data[name] = pl.Series(name, ids, dtype=pl.String)
        elif name in LEAD_FIELDS:
            dtype = dtype_of(LEAD_FIELDS[name], name)
            data[name] = pl.Series(name, [r.get(name) for r in rows], dtype=dtype)
    for name, dtype in extra.items():
        if name not in data and rows and name in rows[0]:
            values = [str(r[name]) if name == "id" else r[name] for r in rows]
            data[name] = pl.Series(name, values, dtype=dtype)
    frame = pl.DataFrame(data, height=len(rows))
    return with_lead_facts(frame, wanted)


def touch_frame(
    touches: Sequence[Sequence[Mapping[str, Any]]], fields: Iterable[str]
) -> pl.DataFrame:
    """A touch frame from each lead's touchpoints (``touches[i]`` belong to lead row ``i``),
    in the given order, with the facts ``fields``."""
    wanted = set(fields)
    flat = [(i, t) for i, lead_touches in enumerate(touches) for t in lead_touches]
    data: dict[str, pl.Series] = {
        "_lead": pl.Series("_lead", [i for i, _ in flat], dtype=pl.Int64),
        "at": pl.Series("at", [t["at"] for _, t in flat], dtype=TIME),
    }
    for name in sorted(wanted & set(TOUCH_FIELDS) - {"at"}):
        data[name] = pl.Series(name, [t.get(name) for _, t in flat], dtype=pl.String)
    props = sorted(n.removeprefix("properties.") for n in wanted if n.startswith("properties."))
    if props:
        text = [json.dumps(t.get("properties") or {}) for _, t in flat]
        data["properties"] = pl.Series("properties", text, dtype=pl.String)
    frame = pl.DataFrame(data, height=len(flat))
    return with_json_fields(frame, "properties", "properties.", props)
