"""Reading CSV/XLSX (adapter, pure file I/O) and writing them safely."""

from __future__ import annotations

import csv
from datetime import datetime

import openpyxl
import pytest

from leadfunnel.adapters.files.tabular import FileFormatError, read_tabular
from leadfunnel.adapters.files.writers import safe_cell, write_csv, write_xlsx
from leadfunnel.services.imports.mapping import DateCell

ROWS = [
    ["Email", "Company", "City"],
    ["ann@x.example", "Müller GmbH", "北京"],
    ["bob@y.example", "Ünal A.Ş.", "São Paulo"],
]


def write(path, text, encoding):
    path.write_bytes(text.encode(encoding))
    return path


def as_text(rows, delimiter=","):
    return "\n".join(delimiter.join(r) for r in rows) + "\n"


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "utf-16", "gb18030"])
def test_csv_in_any_common_encoding_reads_the_same(tmp_path, encoding):
    rows = [
        ROWS[0],
        ["ann@x.example", "华为技术有限公司", "北京"],
        ["bob@y.example", "腾讯科技", "深圳"],
    ]
    table = read_tabular(write(tmp_path / "a.csv", as_text(rows), encoding))
    assert table.columns == ["Email", "Company", "City"]
    assert next(v for _, v in table.rows()) == {
        "Email": "ann@x.example",
        "Company": "华为技术有限公司",
        "City": "北京",
    }
    assert table.total_rows == 2


def test_an_explicit_encoding_is_used_and_a_wrong_one_fails_naming_it(tmp_path):
    path = write(tmp_path / "gbk.csv", as_text([ROWS[0], ["a@x.example", "华为", "北京"]]), "gbk")
    assert read_tabular(path, encoding="gbk").records[0][1][1] == "华为"
    with pytest.raises(FileFormatError, match=r"gbk.csv: is not valid utf-8 \(byte"):
        read_tabular(path, encoding="utf-8")


@pytest.mark.parametrize("delimiter", [",", ";", "\t", "|"])
def test_delimiter_is_sniffed(tmp_path, delimiter):
    table = read_tabular(write(tmp_path / "d.csv", as_text(ROWS, delimiter), "utf-8"))
    assert table.columns == ROWS[0] and table.delimiter == delimiter


def test_rows_are_numbered_as_a_spreadsheet_shows_them_and_blank_lines_skipped(tmp_path):
    text = 'Email,Note\nann@x.example,"two\nlines"\n\nbob@y.example,  \n'
    table = read_tabular(write(tmp_path / "n.csv", text, "utf-8"))
    assert [(n, v["Email"], v["Note"]) for n, v in table.rows()] == [
        (2, "ann@x.example", "two\nlines"),
        (4, "bob@y.example", None),
    ]


def test_a_row_with_extra_fields_is_reported_not_silently_cut(tmp_path):
    table = read_tabular(
        write(tmp_path / "x.csv", "Email,Company\na@x.example,A,surplus\nb@x.example,B\n", "utf-8")
    )
    assert table.broken_rows == [(2, "has 3 fields, the header has 2")]
    assert [n for n, _ in table.rows()] == [3]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "has no header row"),
        ("Email,,City\n", "column 2 of the header has no name"),
        ("Email,email,Email\n", "names column 'Email' more than once"),
    ],
)
def test_a_malformed_header_fails_before_anything_is_read(tmp_path, text, message):
    with pytest.raises(FileFormatError, match=message):
        read_tabular(write(tmp_path / "h.csv", text, "utf-8"))


def test_xlsx_reads_typed_cells_as_text(tmp_path):
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "Leads"
    sheet.append(["Email", "Size", "Since", "Active"])
    sheet.append(["ann@x.example", 250.0, datetime(2025, 3, 1, 9, 30), True])
    sheet.append([None, None, None, None])
    sheet.append(["bob@y.example", 12, None, False])
    book.save(tmp_path / "l.xlsx")
    table = read_tabular(tmp_path / "l.xlsx")
    assert [v for _, v in table.rows()] == [
        {"Email": "ann@x.example", "Size": "250", "Since": "2025-03-01T09:30:00", "Active": "true"},
        {"Email": "bob@y.example", "Size": "12", "Since": None, "Active": "false"},
    ]
    assert [n for n, _ in table.rows()] == [2, 4]
    with pytest.raises(FileFormatError, match="has no sheet 'Other'; sheets: Leads"):
        read_tabular(tmp_path / "l.xlsx", sheet="Other")


def test_a_corrupt_xlsx_fails_naming_the_file(tmp_path):
    (tmp_path / "bad.xlsx").write_bytes(b"not a zip")
    with pytest.raises(FileFormatError, match=r"bad\.xlsx: is not a readable XLSX"):
        read_tabular(tmp_path / "bad.xlsx")


@pytest.mark.parametrize(
    "text",
    ["=1+1", "+1 415 555 2671", "-2-3", "@SUM(A1)", "\tx", "\rx", '=HYPERLINK("http://evil")'],
)
def test_cells_that_a_spreadsheet_would_run_as_formulas_are_neutralised(text):
    assert safe_cell(text) == "'" + text


@pytest.mark.parametrize(
    "value", ["ann@x.example", "ACME = best", -5, 3.5, None, True, "-2", "+14155552671", "-3.5"]
)
def test_other_cells_are_left_alone(value):
    assert safe_cell(value) == value


def test_csv_and_xlsx_exports_hold_no_live_formula(tmp_path):
    rows = [["=cmd|' /C calc'!A0", -3], ["safe", 4]]
    write_csv(tmp_path / "o.csv", ["name", "n"], rows)
    with (tmp_path / "o.csv").open(encoding="utf-8-sig", newline="") as handle:
        assert list(csv.reader(handle))[1] == ["'=cmd|' /C calc'!A0", "-3"]
    write_xlsx(tmp_path / "o.xlsx", ["name", "n"], rows)
    cell = openpyxl.load_workbook(tmp_path / "o.xlsx")["data"]["A2"]
    assert cell.data_type == "s" and cell.value == "=cmd|' /C calc'!A0" and cell.quotePrefix


@pytest.mark.parametrize("encoding", ["utf-8", "UTF8", "utf-16-le", None])
def test_a_byte_order_mark_is_never_part_of_the_first_column_s_name(tmp_path, encoding):
    text = "\ufeff" + as_text(ROWS)
    path = write(tmp_path / "bom.csv", text, encoding or "utf-8")
    assert read_tabular(path, encoding=encoding).columns == ["Email", "Company", "City"]


def test_xlsx_date_cells_are_marked_as_typed_dates_and_text_cells_are_not(tmp_path):
    book = openpyxl.Workbook()
    book.active.append(["Email", "Since"])
    book.active.append(["ann@x.example", datetime(2025, 11, 20, 10, 30)])
    book.active.append(["bob@y.example", "21/11/2025"])
    book.save(tmp_path / "d.xlsx")
    typed, text = (row["Since"] for _, row in read_tabular(tmp_path / "d.xlsx").rows())
    assert isinstance(typed, DateCell) and typed == "2025-11-20T10:30:00"
    assert not isinstance(text, DateCell) and text == "21/11/2025"


def test_an_old_xls_workbook_is_refused_with_a_hint_to_save_it_as_xlsx_or_csv(tmp_path):
    ole2 = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(range(256)) * 20
    (tmp_path / "old.xls").write_bytes(ole2)
    with pytest.raises(
        FileFormatError, match=r"old\.xls: is an old Excel workbook \(XLS\)"
    ) as caught:
        read_tabular(tmp_path / "old.xls")
    assert "save it as XLSX or CSV" in str(caught.value)


def test_an_xlsx_workbook_named_xls_is_read_as_xlsx(tmp_path):
    book = openpyxl.Workbook()
    book.active.append(["Email"])
    book.active.append(["ann@x.example"])
    book.save(tmp_path / "x.xls")
    assert [row for _, row in read_tabular(tmp_path / "x.xls").rows()] == [
        {"Email": "ann@x.example"}
    ]
