"""Keyset pages shared by the lists of deals and accounts: a page, its opaque cursor."""

from __future__ import annotations

import base64
import binascii
import json
import uuid
from dataclasses import dataclass

from leadfunnel.domain.errors import ValidationError
from leadfunnel.services.ports import Row

__all__ = ["MAX_PAGE", "Page", "check_limit", "decode_cursor", "encode_cursor"]

MAX_PAGE = 1000


@dataclass(frozen=True)
class Page:
    items: list[Row]
    total: int
    next_cursor: str | None


def encode_cursor(value: str, key: uuid.UUID) -> str:
    """The cursor after a row: its sort value (as text) and its id."""
    raw = json.dumps([value, str(key)]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str | None) -> tuple[str, uuid.UUID] | None:
    if not cursor:
        return None
    try:
        value, key = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        return str(value), uuid.UUID(key)
    except (ValueError, TypeError, binascii.Error):
        raise ValidationError(
            "cursor", "is not a cursor from a previous page of this list"
        ) from None


def check_limit(limit: int) -> None:
    if not 1 <= limit <= MAX_PAGE:
        raise ValidationError("limit", f"must be between 1 and {MAX_PAGE}, got {limit}")
