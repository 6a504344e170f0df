"""Tables to files people open in Excel: CSV (UTF-8 with a BOM) and XLSX (a right-to-left sheet).

`rows` is any iterable of mappings (a generator streaming from the database is fine); `columns` is
a sequence of (key, Persian header) pairs that picks and orders the cells.
"""
from __future__ import annotations

import csv
import io
import unicodedata
from collections.abc import Iterable, Mapping, Sequence

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell

Columns = Sequence[tuple[str, str]]

CSV_MIME = "text/csv"
XLSX_MIME = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

# Text starting with these becomes a formula in Excel. Names and codes come from the national
# portal, i.e. from outside, so a cell like "=HYPERLINK(...)" must stay text (CSV injection).
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


class CountedRows:
    """Rows passed through to a writer, counted on the way (an export streams; its audit event
    names how many rows left)."""

    def __init__(self, rows: Iterable[Mapping]) -> None:
        self.rows, self.count = rows, 0

    def __iter__(self):
        for row in self.rows:
            self.count += 1
            yield row


def _is_formula_like(value: object) -> bool:
    """Spreadsheets also read a formula after leading spaces, and in full-width forms («＝», «＋»)."""
    return isinstance(value, str) and (
        value.startswith(_FORMULA_START)
        or unicodedata.normalize("NFKC", value).lstrip(" \u00a0\u3000").startswith(_FORMULA_START))


def _csv_cell(value: object) -> object:
    if value is None:
        return ""
    return "'" + value if _is_formula_like(value) else value


def export_csv(rows: Iterable[Mapping], columns: Columns) -> bytes:
    """CSV with a UTF-8 BOM: without it Excel reads the bytes as the local code page and garbles Persian."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n")
    writer.writerow([header for _, header in columns])
    for row in rows:
        writer.writerow([_csv_cell(row.get(key)) for key, _ in columns])
    return buf.getvalue().encode("utf-8-sig")


def export_xlsx(rows: Iterable[Mapping], columns: Columns, sheet_title: str = "کارتابل") -> bytes:
    """XLSX written row by row (write-only mode keeps memory flat for large exports), right to left."""
    wb = Workbook(write_only=True)
    ws = wb.create_sheet(title=sheet_title[:31])
    ws.sheet_view.rightToLeft = True
    ws.append([header for _, header in columns])
    for row in rows:
        ws.append([_xlsx_cell(ws, row.get(key)) for key, _ in columns])
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def _xlsx_cell(ws, value: object) -> object:
    if not _is_formula_like(value):
        return value
    cell = WriteOnlyCell(ws, value=value)
    cell.data_type = "s"  # openpyxl would otherwise store "=..." as a formula
    return cell
