"""Amounts and currencies as every entry point reads them (imports, the API)."""

from __future__ import annotations

import functools
from decimal import Decimal, InvalidOperation
from typing import Any

from babel.numbers import list_currencies

from leadfunnel.domain.errors import ValidationError

__all__ = ["parse_amount", "parse_currency"]


def parse_amount(value: Any, *, field: str) -> Decimal:
    """A non-negative amount below 10^16 with cents, from a number or text (``"1,250.5"``)."""
    try:
        amount = Decimal(str(value).replace(",", "").strip())
    except InvalidOperation:
        raise ValidationError(field, f"'{value}' is not an amount") from None
    if not amount.is_finite() or amount < 0 or amount >= Decimal("1e16"):
        raise ValidationError(field, f"{value} is out of range (0 to 10^16)")
    return amount.quantize(Decimal("0.01"))


def parse_currency(value: Any) -> str:
    """An ISO 4217 code (``usd`` -> ``USD``); none given means USD.

    The codes are those CLDR knows (through Babel, offline), current and withdrawn
    (``DEM`` still reads old German costs); ``QQQ`` is not one.
    """
    code = str(value or "USD").strip().upper()
    if code not in _iso_4217_codes():
        raise ValidationError("currency", f"'{value}' is not an ISO 4217 currency code")
    return code


@functools.cache
def _iso_4217_codes() -> frozenset[str]:
    return frozenset(list_currencies())
