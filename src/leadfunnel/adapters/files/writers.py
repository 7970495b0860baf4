"""Write tables to CSV or XLSX, safe against spreadsheet formula injection.

A text cell that starts with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return would be
run as a formula by Excel, LibreOffice or Google Sheets when the file is opened (OWASP,
"CSV Injection"). Such cells are written with a leading apostrophe, which spreadsheets read
as "this is text": ``=HYPERLINK("http://evil")`` is written as ``'=HYPERLINK("http://evil")``.
Numbers are written as numbers and left alone (``-5`` is not text).

CSV is written in UTF-8 with a byte-order mark, so Excel opens non-ASCII text correctly.
"""

from __future__ import annotations

import csv
import sys
import uuid
from collections.abc import Iterable, Sequence
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, TextIO

import openpyxl

__all__ = ["FORMULA_TRIGGERS", "safe_cell", "write_csv", "write_xlsx"]

FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: Any) -> Any:
    """The value as it may go into a spreadsheet cell."""
    if value is None or isinstance(value, bool | int | float | Decimal):
        return value
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, date | uuid.UUID):
        return str(value)
    text = str(value)
    return "'" + text if text.startswith(FORMULA_TRIGGERS) else text


def write_csv(target: Path | None, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> int:
    """Write to ``target`` (or stdout when None); returns the number of rows written."""
    if target is None:
        return _write_csv(sys.stdout, columns, rows)
    with target.open("w", encoding="utf-8-sig", newline="") as handle:
        return _write_csv(handle, columns, rows)


def _write_csv(handle: TextIO, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> int:
    writer = csv.writer(handle)
    writer.writerow([safe_cell(c) for c in columns])
    count = 0
    for row in rows:
        writer.writerow(["" if v is None else safe_cell(v) for v in row])
        count += 1
    return count


def write_xlsx(
    target: Path, columns: Sequence[str], rows: Iterable[Sequence[Any]], *, sheet: str = "data"
) -> int:
    book = openpyxl.Workbook(write_only=True)
    out = book.create_sheet(sheet)
    out.append([safe_cell(c) for c in columns])
    count = 0
    for row in rows:
        out.append([safe_cell(v) for v in row])
        count += 1
    book.save(target)
    return count
