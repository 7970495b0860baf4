"""Write tables to CSV or XLSX, safe against spreadsheet formula injection.

A text cell that starts with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return could be
run as a formula by Excel, LibreOffice or Google Sheets when the file is opened (OWASP,
"CSV Injection"), unless it is a plain number (``-100``, ``+14155552671``, ``-3.5``), which
a spreadsheet reads as a number and never runs. The other such cells are neutralised:

* in CSV, written with a leading apostrophe, which spreadsheets read as "this is text":
  ``=HYPERLINK("http://evil")`` is written as ``'=HYPERLINK("http://evil")``;
* in XLSX, written unchanged as a text cell (never a formula) with the ``quotePrefix`` style,
  so it stays text even when the cell is edited.

Numbers are written as numbers and left alone (``-5`` is not text).

CSV is written in UTF-8 with a byte-order mark, so Excel opens non-ASCII text correctly, and
keeps every character of the text. XLSX cannot hold most control characters (NUL, ``\\x01``,
a vertical tab ``\\x0b``...): they are dropped from the text, so one bad cell never blocks an
export. Dates and times are XLSX date cells, in UTC (a cell holds no time zone).
"""

from __future__ import annotations

import csv
import os
import re
import sys
import uuid
from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

import openpyxl
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

if TYPE_CHECKING:
    from openpyxl.worksheet._write_only import WriteOnlyWorksheet

__all__ = [
    "FORMULA_TRIGGERS",
    "runs_as_formula",
    "safe_cell",
    "unwritable_reason",
    "write_csv",
    "write_xlsx",
]

FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
_PLAIN_NUMBER = re.compile(r"[+-]?[0-9]+(?:\.[0-9]+)?")
_DATETIME_FORMAT = "yyyy-mm-dd hh:mm:ss"
_DATE_FORMAT = "yyyy-mm-dd"


def runs_as_formula(text: str) -> bool:
    """Whether a spreadsheet could run ``text`` as a formula: it starts with a formula
    trigger and is not a plain number. ``runs_as_formula("=1+1")`` and
    ``runs_as_formula("+1 415 555 2671")`` are true; ``runs_as_formula("+14155552671")`` and
    ``runs_as_formula("-3.5")`` are false."""
    return text.startswith(FORMULA_TRIGGERS) and _PLAIN_NUMBER.fullmatch(text) is None


def safe_cell(value: Any) -> Any:
    """The value as it may go into a CSV cell."""
    if value is None or isinstance(value, bool | int | float | Decimal):
        return value
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, date | uuid.UUID):
        return str(value)
    text = str(value)
    return "'" + text if runs_as_formula(text) else text


def unwritable_reason(target: Path) -> str | None:
    """Why a file cannot be written at ``target`` (``"no such directory"``, ``"not a
    directory"``, ``"is a directory"``, ``"permission denied"``), or None if it can: checked
    before the work that produces the file, so a bad path fails first."""
    folder = target.parent
    if not folder.exists():
        return "no such directory"
    if not folder.is_dir():
        return "not a directory"
    if target.is_dir():
        return "is a directory"
    if target.exists():
        return None if os.access(target, os.W_OK) else "permission denied"
    return None if os.access(folder, os.W_OK | os.X_OK) else "permission denied"


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
    """Write one sheet to ``target``; returns the number of rows written."""
    book = openpyxl.Workbook(write_only=True)
    out = book.create_sheet(sheet)
    out.append([_xlsx_cell(out, c) for c in columns])
    count = 0
    for row in rows:
        out.append([_xlsx_cell(out, v) for v in row])
        count += 1
    book.save(target)
    return count


def _xlsx_cell(sheet: WriteOnlyWorksheet, value: Any) -> Any:
    """The value as an XLSX cell: numbers as numbers, dates as date cells in UTC, the rest
    as text without the characters XLSX cannot hold, never as a formula."""
    if value is None or isinstance(value, bool | int | float | Decimal):
        return value
    if isinstance(value, datetime):
        if value.tzinfo is not None:
            value = value.astimezone(UTC).replace(tzinfo=None)
        cell = WriteOnlyCell(sheet, value=value)
        cell.number_format = _DATETIME_FORMAT
        return cell
    if isinstance(value, date):
        cell = WriteOnlyCell(sheet, value=value)
        cell.number_format = _DATE_FORMAT
        return cell
    text = ILLEGAL_CHARACTERS_RE.sub("", str(value))
    if not runs_as_formula(text):
        return text
    # Given "=...", openpyxl would write a formula: keep the text, as text.
    cell = WriteOnlyCell(sheet, value=text)
    cell.data_type = "s"
    cell.quotePrefix = True
    return cell
