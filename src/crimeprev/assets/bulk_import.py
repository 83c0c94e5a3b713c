"""Bulk import of cases and assets from CSV or XLSX, all or nothing.

An agency moving to the registry arrives with a spreadsheet of its cases and
the assets in them. :func:`import_file` reads such a file, checks every row
and every cell, and writes either all of it (one transaction, one audit record
per created case and asset) or nothing: when any row is bad, the error lists
every problem with its sheet, row, column, value and what was expected.

Files:

* XLSX: the workbook made by :func:`template_xlsx`, with a ``cases`` and an
  ``assets`` sheet (either may be left empty). The first row of each sheet
  holds the column names.
* CSV: one table per file, UTF-8 (a BOM is fine); the header tells which
  table it is (an ``assets`` file has a ``case_reference`` column).

Assets name their case by reference: a case created by the same import or one
already in the registry that the importing user may see. Each row is written
through the same service functions as the API (so the same rules and roles
apply), each inside a savepoint, so a refused row is reported and the import
goes on checking the rest before rolling everything back.

Examples
--------
>>> sorted(COLUMNS)
['assets', 'cases']
>>> template_csv("cases").splitlines()[0]
'reference,title,jurisdiction,opened_on,offences,description,agency'
"""

from __future__ import annotations

import csv
import hashlib
import io
import warnings
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from openpyxl import Workbook, load_workbook
from openpyxl.styles import Font
from sqlalchemy import select
from sqlalchemy.orm import Session

from crimeprev.assets import cases, registry
from crimeprev.assets.access import CASE_WRITERS, require
from crimeprev.assets.models import Case
from crimeprev.db.accounts import Principal
from crimeprev.db.audit import record_audit
from crimeprev.db.base import utcnow
from crimeprev.errors import ConflictError, CrimeprevError, DataFileError, InvalidInputError
from crimeprev.standards import iccs

#: Largest file accepted (bytes) and most rows per table: bulk, not a data warehouse.
MAX_BYTES = 10 * 1024 * 1024
MAX_ROWS = 20_000


@dataclass(frozen=True)
class Column:
    """One column of an import table: its name, whether it is required, what it holds."""

    name: str
    required: bool
    expected: str


COLUMNS: dict[str, tuple[Column, ...]] = {
    "cases": (
        Column("reference", True, "1-64 letters, digits, '/', '.', '_' or '-'"),
        Column("title", True, "text of 1-200 characters"),
        Column("jurisdiction", True, "ISO 3166-1 alpha-3 code, e.g. ITA"),
        Column("opened_on", True, "a date YYYY-MM-DD, not in the future"),
        Column("offences", False, "ICCS codes as text, separated by ';', e.g. 0701;07041"),
        Column("description", False, "text"),
        Column("agency", False, "agency code (administrators only; others: their own)"),
    ),
    "assets": (
        Column("reference", True, "1-64 letters, digits, '/', '.', '_' or '-'"),
        Column("case_reference", True, "reference of a case in this file or in the registry"),
        Column("category", True, ", ".join(c.value for c in registry.Category)),
        Column("description", True, "text"),
        Column("country", True, "ISO 3166-1 alpha-3 code, e.g. ITA"),
        Column("identified_on", True, "a date YYYY-MM-DD, not in the future"),
        Column("identifier", False, "text of up to 200 characters"),
        Column("identifier_type", False, "text of up to 64 characters, e.g. IBAN, VIN"),
        Column("location", False, "text of up to 200 characters"),
        Column("custodian", False, "text of up to 200 characters"),
    ),
}


@dataclass(frozen=True)
class ImportIssue:
    """One problem in one cell (or one row, when `column` is empty)."""

    sheet: str
    row: int
    column: str
    value: str
    expected: str

    def __str__(self) -> str:
        where = f"{self.sheet} row {self.row}" + (f" column {self.column!r}" if self.column else "")
        return f"{where}: got {self.value!r}; expected {self.expected}"

    def as_dict(self) -> dict[str, Any]:
        """The issue as JSON-ready data."""
        return {
            "sheet": self.sheet,
            "row": self.row,
            "column": self.column,
            "value": self.value,
            "expected": self.expected,
        }


class ImportRowsError(DataFileError):
    """The file has bad rows; nothing was written. ``issues`` lists every problem."""

    def __init__(self, filename: str, issues: list[ImportIssue]) -> None:
        shown = "; ".join(str(issue) for issue in issues[:10])
        more = f"; and {len(issues) - 10} more" if len(issues) > 10 else ""
        count = f"{len(issues)} problem{'s' if len(issues) != 1 else ''}"
        super().__init__(f"{count}, nothing imported; {shown}{more}", file=filename)
        self.issues = tuple(issues)
        self.details["issues"] = [issue.as_dict() for issue in issues]


@dataclass
class ImportResult:
    """What an import created, by reference."""

    cases: list[str] = field(default_factory=list)
    assets: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        """The result as JSON-ready data."""
        return {
            "cases_created": len(self.cases),
            "assets_created": len(self.assets),
            "cases": self.cases,
            "assets": self.assets,
        }


# ---------------------------------------------------------------- templates


def template_xlsx() -> bytes:
    """The XLSX template: a ``cases`` and an ``assets`` sheet with headers and one example each.

    Every column is formatted as text, so ICCS codes keep their leading zeros.
    """
    book = Workbook()
    readme = book.active
    assert readme is not None
    readme.title = "read me"
    readme.append(["crimeprev asset registry import"])
    readme.append(["Fill the 'cases' and 'assets' sheets (either may stay empty);"])
    readme.append(["delete the example rows. Nothing is imported if any row is bad."])
    readme.append([])
    readme.append(["sheet", "column", "required", "expected"])
    for sheet_name, columns in COLUMNS.items():
        for column in columns:
            readme.append(
                [sheet_name, column.name, "yes" if column.required else "no", column.expected]
            )
        sheet = book.create_sheet(sheet_name)
        sheet.append([column.name for column in columns])
        sheet.append(_EXAMPLES[sheet_name])
        for cell in sheet[1]:
            cell.font = Font(bold=True)
        for index, column in enumerate(columns, start=1):
            letter = sheet.cell(row=1, column=index).column_letter
            sheet.column_dimensions[letter].width = max(14, len(column.name) + 4)
            for row in range(2, 1002):
                sheet.cell(row=row, column=index).number_format = "@"
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def template_csv(table: str) -> str:
    """The CSV template of one table (``cases`` or ``assets``): header and an example row."""
    columns = _columns(table)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow([column.name for column in columns])
    writer.writerow(_EXAMPLES[table])
    return out.getvalue()


_EXAMPLES: dict[str, list[str]] = {
    "cases": ["AR-2025/001", "Fictional operation", "ITA", "2025-01-15", "07041;0703", "", ""],
    "assets": [
        "AS-2025/001",
        "AR-2025/001",
        "vehicle",
        "Fictional car",
        "ITA",
        "2025-01-20",
        "FICTIONAL-VIN-1",
        "VIN",
        "Fictional town",
        "",
    ],
}


def _columns(table: str) -> tuple[Column, ...]:
    if table not in COLUMNS:
        raise InvalidInputError(f"table {table!r} is unknown; expected cases or assets")
    return COLUMNS[table]


# ---------------------------------------------------------------- reading


@dataclass(frozen=True)
class RawRow:
    """One data row: its sheet, its row number as the user sees it, and its cells as text."""

    sheet: str
    number: int
    cells: dict[str, str]


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == datetime.min.time() else str(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def _table_rows(
    filename: str, sheet: str, rows: Iterable[Iterable[Any]], columns: tuple[Column, ...]
) -> Iterator[RawRow]:
    iterator = iter(rows)
    header_row = next(iterator, None)
    if header_row is None:
        return
    header = [_text(value).lower() for value in header_row]
    names = {column.name for column in columns}
    missing = [column.name for column in columns if column.required and column.name not in header]
    unknown = [name for name in header if name and name not in names]
    if missing or unknown:
        problems = []
        if missing:
            problems.append(f"missing columns {', '.join(missing)}")
        if unknown:
            problems.append(f"unknown columns {', '.join(unknown)}")
        raise DataFileError(
            f"sheet {sheet!r} header: {'; '.join(problems)}",
            file=filename,
            row=1,
            expected="the columns " + ", ".join(column.name for column in columns),
        )
    for number, values in enumerate(iterator, start=2):
        cells = {name: _text(value) for name, value in zip(header, values, strict=False) if name}
        if not any(cells.values()):
            continue
        if number - 1 > MAX_ROWS:
            raise DataFileError(
                f"sheet {sheet!r} has more than {MAX_ROWS} rows; split the file",
                file=filename,
                row=number,
            )
        yield RawRow(sheet, number, cells)


def read_file(filename: str, content: bytes) -> dict[str, list[RawRow]]:
    """Read a CSV or XLSX import file into rows per table (no checking of values yet).

    Raises
    ------
    DataFileError
        If the file is too large, not CSV/XLSX, or a header lacks required columns.
    """
    if len(content) > MAX_BYTES:
        raise DataFileError(
            f"the file has {len(content)} bytes; the limit is {MAX_BYTES}", file=filename
        )
    name = filename.lower()
    if name.endswith(".xlsx"):
        return _read_xlsx(filename, content)
    if name.endswith(".csv"):
        return _read_csv(filename, content)
    raise DataFileError(
        "unknown file type", file=filename, value=filename, expected="a .csv or .xlsx file"
    )


def _read_csv(filename: str, content: bytes) -> dict[str, list[RawRow]]:
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise DataFileError(
            f"not UTF-8 text (byte {error.start})", file=filename, expected="a UTF-8 CSV file"
        ) from None
    try:
        rows = list(csv.reader(io.StringIO(text)))
    except csv.Error as error:
        raise DataFileError(f"not a readable CSV file: {error}", file=filename) from None
    if not rows:
        raise DataFileError("the file is empty", file=filename, expected="a header row")
    header = {_text(value).lower() for value in rows[0]}
    table = "assets" if "case_reference" in header else "cases"
    result: dict[str, list[RawRow]] = {"cases": [], "assets": []}
    result[table] = list(_table_rows(filename, table, rows, COLUMNS[table]))
    return result


def _read_xlsx(filename: str, content: bytes) -> dict[str, list[RawRow]]:
    # An uploaded workbook is untrusted input: a damaged one can fail in the zip layer
    # (BadZipFile, zlib.error, an unsupported compression method), in the XML parser
    # (ParseError) or in openpyxl itself, while opening or later while rows are read
    # lazily. Any such failure means "this file cannot be read", so every exception is
    # reported as that.
    try:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", category=UserWarning, module="openpyxl")
            book = load_workbook(io.BytesIO(content), read_only=True, data_only=True)
    except Exception:  # noqa: BLE001 - see above
        raise DataFileError(
            "not a readable XLSX workbook", file=filename, expected="the import template"
        ) from None
    try:
        present = {title.strip().lower(): title for title in book.sheetnames}
        if not any(table in present for table in COLUMNS):
            raise DataFileError(
                "the workbook has neither a 'cases' nor an 'assets' sheet",
                file=filename,
                value=", ".join(book.sheetnames),
                expected="the sheets of the import template",
            )
        result: dict[str, list[RawRow]] = {}
        for table, columns in COLUMNS.items():
            if table not in present:
                result[table] = []
                continue
            sheet = book[present[table]]
            rows = sheet.iter_rows(values_only=True)
            result[table] = list(_table_rows(filename, table, rows, columns))
        return result
    except DataFileError:
        raise
    except Exception as error:  # noqa: BLE001 - a damaged sheet fails while its rows are read
        raise DataFileError(
            f"the workbook is damaged ({type(error).__name__})",
            file=filename,
            expected="an XLSX file saved by a spreadsheet program",
        ) from None
    finally:
        book.close()


# ---------------------------------------------------------------- checking


def _check_date(value: str) -> date:
    parsed = date.fromisoformat(value)
    if parsed > utcnow().date():
        raise ValueError("in the future")
    return parsed


def _check_offences(value: str) -> list[str]:
    return [iccs.validate(code.strip()) for code in value.replace(",", ";").split(";") if code]


#: Cell checks: column -> function returning the parsed value or raising.
_CHECKS: dict[str, Callable[[str], Any]] = {
    "reference": lambda v: cases.check_reference(v, "reference"),
    "case_reference": lambda v: cases.check_reference(v, "case reference"),
    "jurisdiction": cases.check_country,
    "country": cases.check_country,
    "opened_on": _check_date,
    "identified_on": _check_date,
    "offences": _check_offences,
    "category": lambda v: registry.parse_category(v).value,
}
_LIMITS = {
    "title": 200,
    "identifier": 200,
    "identifier_type": 64,
    "location": 200,
    "custodian": 200,
    "agency": 32,
    "description": 5000,
}


def check_row(row: RawRow, columns: tuple[Column, ...]) -> tuple[dict[str, Any], list[ImportIssue]]:
    """Check every cell of a row; return the parsed values and the issues found."""
    values: dict[str, Any] = {}
    issues: list[ImportIssue] = []
    for column in columns:
        raw = row.cells.get(column.name, "")
        if not raw:
            if column.required:
                issues.append(ImportIssue(row.sheet, row.number, column.name, raw, column.expected))
            values[column.name] = "" if column.name != "offences" else []
            continue
        limit = _LIMITS.get(column.name)
        if limit is not None and len(raw) > limit:
            issues.append(
                ImportIssue(
                    row.sheet,
                    row.number,
                    column.name,
                    raw[:40] + "...",
                    f"at most {limit} characters",
                )
            )
            continue
        check = _CHECKS.get(column.name)
        try:
            values[column.name] = check(raw) if check else raw
        except (CrimeprevError, ValueError):
            issues.append(ImportIssue(row.sheet, row.number, column.name, raw, column.expected))
    return values, issues


def _duplicates(rows: list[RawRow], column: str) -> list[ImportIssue]:
    seen: dict[str, int] = {}
    issues = []
    for row in rows:
        value = row.cells.get(column, "")
        if value and value in seen:
            issues.append(
                ImportIssue(
                    row.sheet,
                    row.number,
                    column,
                    value,
                    f"a reference not already used in row {seen[value]} of this sheet",
                )
            )
        seen.setdefault(value, row.number)
    return issues


# ---------------------------------------------------------------- writing


def _apply(
    session: Session, row: RawRow, write: Callable[[], Any], issues: list[ImportIssue]
) -> Any:
    """Run one row's write in a savepoint; a refusal becomes an issue for that row."""
    savepoint = session.begin_nested()
    try:
        result = write()
        savepoint.commit()
        return result
    except CrimeprevError as error:
        savepoint.rollback()
        column = str(error.details.get("field") or "")
        if isinstance(error, ConflictError):
            column = "reference"  # the only conflict a create can meet
        issues.append(
            ImportIssue(row.sheet, row.number, column, row.cells.get(column, ""), error.message)
        )
        return None


def import_rows(
    session: Session, principal: Principal, filename: str, tables: dict[str, list[RawRow]]
) -> ImportResult:
    """Check and write rows read by :func:`read_file`, in the caller's transaction.

    Raises
    ------
    PermissionDeniedError
        Without a role that may open cases and register assets.
    ImportRowsError
        If any row is bad; the caller's transaction must then be rolled back
        (the faces do: the error leaves their ``session.begin()`` block).
    """
    require(principal, CASE_WRITERS, "importing cases and assets")
    case_rows, asset_rows = tables.get("cases", []), tables.get("assets", [])
    if not case_rows and not asset_rows:
        raise DataFileError("no data rows found", file=filename, expected="at least one row")
    issues = _duplicates(case_rows, "reference") + _duplicates(asset_rows, "reference")
    result = ImportResult()
    # Hold the created cases themselves, not only their ids: the session's identity map
    # keeps objects weakly, and a case reloaded for each of its assets costs 3 queries.
    created_cases: dict[str, Case] = {}
    for row in case_rows:
        values, row_issues = check_row(row, COLUMNS["cases"])
        agency = str(values.get("agency", "")).upper()
        if agency and not principal.is_admin and agency != (principal.agency_code or ""):
            row_issues.append(
                ImportIssue(
                    row.sheet,
                    row.number,
                    "agency",
                    agency,
                    f"empty or your own agency {principal.agency_code or '(none)'}; "
                    "only administrators open cases for other agencies",
                )
            )
        issues += row_issues
        if row_issues:
            continue

        def open_case(values: dict[str, Any] = values) -> Case:
            return cases.create_case(
                session,
                principal,
                reference=values["reference"],
                title=values["title"],
                jurisdiction=values["jurisdiction"],
                opened_on=values["opened_on"],
                offences=values["offences"],
                description=values["description"],
                agency_code=values["agency"] or None,
            )

        case = _apply(session, row, open_case, issues)
        if case is not None:
            created_cases[case.reference] = case
            result.cases.append(case.reference)
    for row in asset_rows:
        values, row_issues = check_row(row, COLUMNS["assets"])
        issues += row_issues
        if row_issues:
            continue
        known = created_cases.get(values["case_reference"])
        case_id = (
            known.id if known else _existing_case(session, principal, values["case_reference"])
        )
        if case_id is None:
            issues.append(
                ImportIssue(
                    row.sheet,
                    row.number,
                    "case_reference",
                    values["case_reference"],
                    "a case in this file or one in the registry you may see",
                )
            )
            continue

        def register(values: dict[str, Any] = values, case_id: int = case_id) -> Any:
            return registry.create_asset(
                session,
                principal,
                case_id,
                reference=values["reference"],
                category=values["category"],
                description=values["description"],
                country=values["country"],
                identified_on=values["identified_on"],
                identifier=values["identifier"],
                identifier_type=values["identifier_type"],
                location=values["location"],
                custodian=values["custodian"],
            )

        asset = _apply(session, row, register, issues)
        if asset is not None:
            result.assets.append(asset.reference)
    if issues:
        issues.sort(key=lambda issue: (issue.sheet != "cases", issue.row, issue.column))
        raise ImportRowsError(filename, issues)
    return result


def _existing_case(session: Session, principal: Principal, reference: str) -> int | None:
    case_id = session.execute(select(Case.id).where(Case.reference == reference)).scalar()
    if case_id is None:
        return None
    try:
        return cases.get_case(session, principal, case_id).id
    except CrimeprevError:
        return None


def import_file(
    session: Session, principal: Principal, filename: str, content: bytes
) -> ImportResult:
    """Read, check and write a CSV or XLSX file of cases and assets (all or nothing).

    The caller owns the transaction: on :class:`ImportRowsError` it must roll
    back, which undoes every row already written. A successful import adds one
    audit record naming the file, its SHA-256 digest and how many cases and
    assets it created (each of which has its own audit record).
    """
    result = import_rows(session, principal, filename, read_file(filename, content))
    digest = hashlib.sha256(content).hexdigest()
    summary = {
        "file": filename[:200],
        "sha256": digest,
        "cases_created": len(result.cases),
        "assets_created": len(result.assets),
    }
    record_audit(session, principal, "import", "asset_import", digest[:16], None, summary)
    return result
