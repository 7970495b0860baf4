"""Read a CSV or XLSX file into memory as a checked table, before anything is written.

The whole file is decoded and split up front, so a file in the wrong encoding, without a
header, or with duplicate column names fails before the first row is imported, naming the
problem. Rows are numbered as a spreadsheet shows them: the header is row 1, the first
record row 2 (a CSV record spanning several lines counts as one row).

Encoding, when not given: a byte-order mark decides (UTF-8, UTF-16); else strict UTF-8; else
the best guess of ``charset-normalizer`` (GBK/GB18030, Latin-1, ...), which must then decode
the whole file strictly; a leading byte-order mark is never part of the first column's name,
whatever the encoding. Delimiter, when not given: sniffed among ``, ; TAB |``.

XLSX date and time cells are read as ISO 8601 text marked as typed
(:class:`~leadfunnel.services.imports.mapping.DateCell`), so a mapping's date format does not
apply to them. An old binary Excel workbook (XLS) is refused with a hint to save it as XLSX or
CSV; a file named ``.xls`` that is in fact an XLSX workbook is read as one.
"""

from __future__ import annotations

import csv
import hashlib
import io
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, time
from pathlib import Path
from typing import Any
from zipfile import BadZipFile

import openpyxl
from charset_normalizer import from_bytes

from leadfunnel.domain.errors import ValidationError
from leadfunnel.services.imports.mapping import DateCell

__all__ = ["FileFormatError", "TabularFile", "read_tabular"]

_BOMS = ((b"\xef\xbb\xbf", "utf-8-sig"), (b"\xff\xfe", "utf-16"), (b"\xfe\xff", "utf-16"))
_DELIMITERS = ",;\t|"
#: How an OLE2 compound file (an old XLS workbook, or an encrypted XLSX) and a ZIP (XLSX) start.
_OLE2_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_ZIP_MAGIC = b"PK\x03\x04"
csv.field_size_limit(10 * 1024 * 1024)


class FileFormatError(ValidationError):
    """The file as a whole cannot be read; nothing was imported."""

    def __init__(self, path: Path, message: str) -> None:
        super().__init__("file", f"{path.name}: {message}")


@dataclass
class TabularFile:
    """A checked table: column names, and rows as (row number, values) in file order."""

    name: str
    columns: list[str]
    fingerprint: str
    records: list[tuple[int, tuple[str | None, ...]]]
    #: Rows the file itself got wrong (too many fields): (row number, reason).
    broken_rows: list[tuple[int, str]] = field(default_factory=list)
    encoding: str | None = None
    delimiter: str | None = None

    @property
    def total_rows(self) -> int:
        return len(self.records) + len(self.broken_rows)

    def rows(self, start: int = 0) -> Iterator[tuple[int, dict[str, str | None]]]:
        """Rows from record index ``start`` on, each as {column: value or None}."""
        for number, values in self.records[start:]:
            yield number, dict(zip(self.columns, values, strict=True))


def read_tabular(
    path: Path,
    *,
    encoding: str | None = None,
    delimiter: str | None = None,
    sheet: str | None = None,
) -> TabularFile:
    """Read ``path`` (``.csv``/``.txt``/``.tsv``, or ``.xlsx``/``.xlsm``: an XLSX workbook)."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise FileFormatError(path, f"cannot be read ({exc.strerror})") from None
    fingerprint = hashlib.sha256(data).hexdigest()
    suffix = path.suffix.lower()
    if data.startswith(_OLE2_MAGIC):
        raise FileFormatError(
            path,
            "is an old Excel workbook (XLS) or a password-protected one, which cannot be "
            "read; save it as XLSX or CSV (without a password)",
        )
    if suffix in (".xlsx", ".xlsm") or (suffix == ".xls" and data.startswith(_ZIP_MAGIC)):
        return _read_xlsx(path, data, fingerprint, sheet)
    if sheet is not None:
        raise FileFormatError(path, "--sheet applies only to XLSX files")
    text, used = _decode(path, data, encoding)
    return _read_csv(path, text, fingerprint, used, delimiter)


def _decode(path: Path, data: bytes, encoding: str | None) -> tuple[str, str]:
    if encoding is None:
        encoding = next((name for bom, name in _BOMS if data.startswith(bom)), None)
    if encoding is None:
        try:
            return data.decode("utf-8"), "utf-8"
        except UnicodeDecodeError:
            guess = from_bytes(data[:200_000]).best()
            if guess is None:
                raise FileFormatError(
                    path, "its text encoding cannot be recognised; give it with --encoding"
                ) from None
            encoding = guess.encoding
    try:
        # A BOM still there (an explicit "utf-8", say) would become part of the first name.
        return data.decode(encoding).removeprefix("\ufeff"), encoding
    except LookupError:
        raise FileFormatError(path, f"unknown encoding '{encoding}'") from None
    except UnicodeDecodeError as exc:
        raise FileFormatError(
            path,
            f"is not valid {encoding} (byte {exc.start}: {exc.reason}); give the right one with --encoding",
        ) from None


def _header(path: Path, raw: list[Any]) -> list[str]:
    columns = [str(c).strip() if c is not None else "" for c in raw]
    while columns and not columns[-1]:
        columns.pop()
    if not columns:
        raise FileFormatError(path, "has no header row")
    if "" in columns:
        raise FileFormatError(path, f"column {columns.index('') + 1} of the header has no name")
    duplicates = sorted({c for c in columns if columns.count(c) > 1})
    if duplicates:
        raise FileFormatError(path, f"the header names column '{duplicates[0]}' more than once")
    return columns


def _clean(value: str) -> str | None:
    value = value.strip()
    return value or None


def _read_csv(
    path: Path, text: str, fingerprint: str, encoding: str, delimiter: str | None
) -> TabularFile:
    if delimiter is None:
        try:
            delimiter = csv.Sniffer().sniff(text[:64_000], delimiters=_DELIMITERS).delimiter
        except csv.Error:
            delimiter = ","
    elif len(delimiter) != 1:
        raise FileFormatError(path, f"the delimiter must be one character, got '{delimiter}'")
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        columns = _header(path, next(reader, []))
        table = TabularFile(path.name, columns, fingerprint, [], [], encoding, delimiter)
        width = len(columns)
        for number, raw in enumerate(reader, start=2):
            if not any(cell.strip() for cell in raw):
                continue
            if len(raw) > width and any(cell.strip() for cell in raw[width:]):
                table.broken_rows.append((number, f"has {len(raw)} fields, the header has {width}"))
                continue
            cells = [_clean(c) for c in raw[:width]] + [None] * (width - len(raw))
            table.records.append((number, tuple(cells)))
    except csv.Error as exc:
        raise FileFormatError(path, f"is not valid CSV near row {reader.line_num}: {exc}") from None
    return table


def _cell(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, datetime | date | time):
        return DateCell(value.isoformat())
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return _clean(str(value))


def _read_xlsx(path: Path, data: bytes, fingerprint: str, sheet: str | None) -> TabularFile:
    try:
        book = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except (BadZipFile, KeyError, OSError, ValueError) as exc:
        raise FileFormatError(path, f"is not a readable XLSX workbook ({exc})") from None
    try:
        if sheet is not None and sheet not in book.sheetnames:
            raise FileFormatError(
                path, f"has no sheet '{sheet}'; sheets: {', '.join(book.sheetnames)}"
            )
        rows = book[sheet] if sheet else book.worksheets[0]
        iterator = rows.iter_rows(values_only=True)
        columns = _header(path, list(next(iterator, ())))
        table = TabularFile(path.name, columns, fingerprint, [])
        width = len(columns)
        for number, raw in enumerate(iterator, start=2):
            cells = [_cell(v) for v in raw[:width]]
            if any(c is not None for c in cells):
                table.records.append((number, tuple(cells + [None] * (width - len(cells)))))
        return table
    finally:
        book.close()
