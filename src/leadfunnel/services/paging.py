"""Keyset pages and their opaque cursors, shared by the lists of leads, deals and accounts.

A cursor is base64url JSON naming the list that issued it and its order (the sort column,
``-`` first when descending), the last row's sort value as text, and its id::

    {"order": "leads:-created_at", "value": "2026-01-05T09:30:00+00:00", "id": "0193..."}

A list takes back only a cursor of its own list and order, whole and well-formed. Anything
else (another list's cursor, another sort or direction, an id that is not a UUID, a time
without a UTC offset, a number no score could be) is refused as a bad ``cursor`` (422),
never a server error.
"""

from __future__ import annotations

import base64
import binascii
import json
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, NoReturn

from leadfunnel.domain.errors import ValidationError
from leadfunnel.services.ports import Row

__all__ = [
    "MAX_PAGE",
    "Page",
    "check_limit",
    "cursor_time",
    "decode_cursor",
    "encode_cursor",
    "refuse_cursor",
]

MAX_PAGE = 1000
#: Longer than any sort value a list issues (a name key, a timestamp, a score).
_MAX_VALUE = 300


@dataclass(frozen=True)
class Page:
    items: list[Row]
    total: int
    next_cursor: str | None


def encode_cursor(value: str, key: uuid.UUID, *, order: str) -> str:
    """The cursor after a row: the list and its ``order``, the row's sort value (as text),
    its id."""
    raw = json.dumps({"order": order, "value": value, "id": str(key)}, separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def refuse_cursor(
    reason: str = "is not a cursor from a previous page of this list (same sort)",
) -> NoReturn:
    raise ValidationError("cursor", reason)


def decode_cursor(cursor: str | None, *, order: str) -> tuple[str, uuid.UUID] | None:
    """The sort value (as text) and id in a cursor that the list and ``order`` issued.

    >>> decode_cursor(encode_cursor("acme", uuid.UUID(int=7), order="x:name"), order="x:name")
    ('acme', UUID('00000000-0000-0000-0000-000000000007'))

    The list reads the value itself (a time: :func:`cursor_time`). A cursor from before
    cursors named their list (``[value, id]``) is refused with a word on why.
    """
    if not cursor:
        return None
    data = _load(cursor)
    if isinstance(data, list):
        refuse_cursor(
            "was issued by an earlier version of leadfunnel; start again from the first page"
        )
    if not isinstance(data, dict) or set(data) != {"order", "value", "id"}:
        refuse_cursor()
    value, key = data["value"], data["id"]
    if data["order"] != order or not isinstance(value, str) or not isinstance(key, str):
        refuse_cursor()
    if len(value) > _MAX_VALUE:
        refuse_cursor()
    try:
        return value, uuid.UUID(key)
    except ValueError:
        refuse_cursor()


def cursor_time(value: str) -> datetime:
    """The UTC timestamp a cursor carries; refused when naive or out of range."""
    try:
        moment = datetime.fromisoformat(value)
        if moment.utcoffset() is None:
            refuse_cursor()
        return moment.astimezone(UTC)
    except (ValueError, OverflowError):
        refuse_cursor()


def _load(cursor: str) -> Any:
    try:
        return json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (ValueError, binascii.Error, RecursionError):  # JSON and UTF-8 errors are ValueErrors
        refuse_cursor()


def check_limit(limit: int) -> None:
    if not 1 <= limit <= MAX_PAGE:
        raise ValidationError("limit", f"must be between 1 and {MAX_PAGE}, got {limit}")
