"""Writing CSV and XLSX (``adapters/files/writers.py``): what each cell becomes."""

from __future__ import annotations

import csv
from datetime import UTC, date, datetime, timedelta, timezone

import openpyxl
import pytest

from leadfunnel.adapters.files.writers import (
    runs_as_formula,
    unwritable_reason,
    write_csv,
    write_xlsx,
)


def _xlsx_row(tmp_path, row):
    write_xlsx(tmp_path / "o.xlsx", [f"c{i}" for i in range(len(row))], [row])
    (row,) = openpyxl.load_workbook(tmp_path / "o.xlsx")["data"].iter_rows(min_row=2)
    return row


def _csv_row(tmp_path, row):
    write_csv(tmp_path / "o.csv", [f"c{i}" for i in range(len(row))], [row])
    with (tmp_path / "o.csv").open(encoding="utf-8-sig", newline="") as handle:
        return list(csv.reader(handle))[1]


@pytest.mark.parametrize("text", ["+14155552671", "-100", "-3.5", "+0", "12"])
def test_a_plain_number_cannot_run_as_a_formula(text):
    assert not runs_as_formula(text)


@pytest.mark.parametrize("text", ["=1", "+1 415 555 2671", "-2-3", "-1e5", "+1.", "-٣", "@x"])
def test_anything_else_starting_with_a_trigger_can(text):
    assert runs_as_formula(text)


def test_phones_and_negative_numbers_are_exported_unchanged(tmp_path):
    row = ["+14155552671", "-100", "-3.5"]
    assert _csv_row(tmp_path, row) == row
    cells = _xlsx_row(tmp_path, row)
    assert [(c.value, c.data_type, c.quotePrefix) for c in cells] == [(v, "s", False) for v in row]


def test_xlsx_keeps_a_formula_like_text_as_quote_prefixed_text(tmp_path):
    row = ['=HYPERLINK("http://evil.example","x")', "@SUM(A1)", "-2-3"]
    cells = _xlsx_row(tmp_path, row)
    assert [(c.value, c.data_type, c.quotePrefix) for c in cells] == [(v, "s", True) for v in row]
    assert _csv_row(tmp_path, row) == ["'" + v for v in row]


def test_xlsx_leaves_out_control_characters_it_cannot_hold(tmp_path):
    row = ["Ann\x0bLee", "Vertical\x01Tab Co", "nul\x00", "\x01=cmd", "tab\tand\nline"]
    cells = _xlsx_row(tmp_path, row)
    assert [c.value for c in cells] == ["AnnLee", "VerticalTab Co", "nul", "=cmd", "tab\tand\nline"]
    assert cells[3].data_type == "s" and cells[3].quotePrefix  # what is left is still no formula


def test_csv_keeps_control_characters_as_they_are(tmp_path):
    row = ["Ann\x0bLee", "Vertical\x01Tab Co"]
    assert _csv_row(tmp_path, row) == row


def test_xlsx_writes_dates_and_times_as_date_cells_in_utc(tmp_path):
    paris = timezone(timedelta(hours=1))
    row = [
        datetime(2026, 11, 23, 11, 33, 56, tzinfo=UTC),
        datetime(2026, 11, 23, 12, 33, 56, tzinfo=paris),
        date(2026, 11, 23),
    ]
    cells = _xlsx_row(tmp_path, row)
    assert [c.data_type for c in cells] == ["d", "d", "d"]
    assert [c.value for c in cells] == [
        datetime(2026, 11, 23, 11, 33, 56),
        datetime(2026, 11, 23, 11, 33, 56),
        datetime(2026, 11, 23),
    ]
    assert [c.number_format for c in cells] == ["yyyy-mm-dd hh:mm:ss"] * 2 + ["yyyy-mm-dd"]
    assert _csv_row(tmp_path, row)[0] == "2026-11-23T11:33:56+00:00"


def test_unwritable_reason_names_what_is_wrong(tmp_path):
    (tmp_path / "file").write_text("x")
    assert unwritable_reason(tmp_path / "new.csv") is None
    assert unwritable_reason(tmp_path / "file") is None
    assert unwritable_reason(tmp_path / "nodir" / "x.csv") == "no such directory"
    assert unwritable_reason(tmp_path / "file" / "x.csv") == "not a directory"
    assert unwritable_reason(tmp_path) == "is a directory"
