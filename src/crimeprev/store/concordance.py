"""Concordances: national offence codes or labels to ICCS, one CSV per scheme.

A concordance CSV has the columns ``national_code, national_label, iccs_code,
share, valid_from, valid_to, note``. Many national codes may map to one ICCS
code; one national code may map to several ICCS codes with shares that sum
to 1 at every date. :func:`check_concordance` lists every problem (unknown
ICCS code, share outside (0, 1], shares not summing to 1, the same pair with
overlapping validity); :func:`load_concordance` refuses a file with problems.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import ibis
import pyarrow as pa

from crimeprev.errors import DataFileError, NotFoundError
from crimeprev.standards import iccs
from crimeprev.store.warehouse import Warehouse

CONCORDANCE_DIR = Path(__file__).parent / "concordances"
COLUMNS = (
    "national_code",
    "national_label",
    "iccs_code",
    "share",
    "valid_from",
    "valid_to",
    "note",
)
_TOLERANCE = 1e-9


@dataclass(frozen=True)
class ConcordanceRow:
    """One mapping row (``line`` is its line number in the CSV, header = 1)."""

    line: int
    national_code: str
    national_label: str
    iccs_code: str
    share: float
    valid_from: date | None
    valid_to: date | None
    note: str


@dataclass(frozen=True)
class Problem:
    """A problem found in a concordance file."""

    file: str
    line: int | None
    field: str | None
    value: str | None
    rule: str

    def __str__(self) -> str:
        where = f"{self.file}" + (f", line {self.line}" if self.line else "")
        what = f" field {self.field!r}" if self.field else ""
        value = f" = {self.value!r}" if self.value is not None else ""
        return f"{where}:{what}{value}: {self.rule}"


@dataclass(frozen=True)
class Concordance:
    """A validated concordance scheme."""

    scheme: str
    rows: tuple[ConcordanceRow, ...]

    @property
    def dated(self) -> bool:
        """True when any row has a validity period."""
        return any(row.valid_from or row.valid_to for row in self.rows)

    def to_arrow(self) -> pa.Table:
        """The rows as an Arrow table in the warehouse's ``concordance`` layout."""
        return pa.table(
            {
                "scheme": [self.scheme] * len(self.rows),
                "national_code": [r.national_code for r in self.rows],
                "national_label": [r.national_label for r in self.rows],
                "iccs_code": [r.iccs_code for r in self.rows],
                "share": pa.array([r.share for r in self.rows], pa.float64()),
                "valid_from": pa.array([r.valid_from for r in self.rows], pa.date32()),
                "valid_to": pa.array([r.valid_to for r in self.rows], pa.date32()),
                "note": [r.note for r in self.rows],
            }
        )


def concordance_path(scheme_or_path: str | Path) -> Path:
    """Resolve a bundled scheme name or a file path."""
    path = Path(scheme_or_path)
    if path.suffix.lower() == ".csv":
        return path
    path = CONCORDANCE_DIR / f"{scheme_or_path}.csv"
    if not path.exists():
        raise NotFoundError(
            f"no concordance {str(scheme_or_path)!r}; bundled: {', '.join(scheme_names())}, "
            "or give the path of a .csv file"
        )
    return path


def scheme_names() -> list[str]:
    """Names of the bundled concordances.

    Examples
    --------
    >>> "vpd_type" in scheme_names()
    True
    """
    return sorted(path.stem for path in CONCORDANCE_DIR.glob("*.csv"))


def _parse_date(
    text: str, problems: list[Problem], file: str, line: int, field: str
) -> date | None:
    if not text.strip():
        return None
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        problems.append(Problem(file, line, field, text, "not a date (expected YYYY-MM-DD)"))
        return None


def read_rows(path: Path) -> tuple[list[ConcordanceRow], list[Problem]]:
    """Read a concordance CSV; return its rows and the problems found."""
    file = str(path)
    problems: list[Problem] = []
    rows: list[ConcordanceRow] = []
    if not path.exists():
        raise DataFileError("no such file", file=file)
    with path.open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        header = reader.fieldnames or []
        missing = [name for name in COLUMNS[:4] if name not in header]
        if missing:
            raise DataFileError(
                f"missing column(s) {missing}; found {header}",
                file=file,
                expected=f"columns {list(COLUMNS)}",
            )
        for line, record in enumerate(reader, start=2):
            code = (record.get("iccs_code") or "").strip()
            if not iccs.is_valid(code):
                problems.append(Problem(file, line, "iccs_code", code, "not an ICCS code"))
            text = (record.get("share") or "1").strip() or "1"
            try:
                share = float(text)
            except ValueError:
                problems.append(Problem(file, line, "share", text, "not a number"))
                share = float("nan")
            if not 0 < share <= 1:
                problems.append(Problem(file, line, "share", text, "share must be in (0, 1]"))
            national = (record.get("national_code") or "").strip()
            if not national:
                problems.append(Problem(file, line, "national_code", "", "empty national code"))
            valid_from = _parse_date(
                record.get("valid_from") or "", problems, file, line, "valid_from"
            )
            valid_to = _parse_date(record.get("valid_to") or "", problems, file, line, "valid_to")
            if valid_from and valid_to and valid_from > valid_to:
                problems.append(
                    Problem(file, line, "valid_to", str(valid_to), "ends before valid_from")
                )
            rows.append(
                ConcordanceRow(
                    line=line,
                    national_code=national,
                    national_label=(record.get("national_label") or "").strip(),
                    iccs_code=code,
                    share=share,
                    valid_from=valid_from,
                    valid_to=valid_to,
                    note=(record.get("note") or "").strip(),
                )
            )
    return rows, problems


def _active(row: ConcordanceRow, day: date) -> bool:
    return (row.valid_from is None or row.valid_from <= day) and (
        row.valid_to is None or day <= row.valid_to
    )


def check_rows(rows: list[ConcordanceRow], file: str) -> list[Problem]:
    """Check shares and validity periods per national code."""
    problems: list[Problem] = []
    by_code: dict[str, list[ConcordanceRow]] = {}
    for row in rows:
        by_code.setdefault(row.national_code, []).append(row)
    for code, group in by_code.items():
        seen: dict[str, list[ConcordanceRow]] = {}
        for row in group:
            for other in seen.get(row.iccs_code, []):
                if _overlap(row, other):
                    problems.append(
                        Problem(
                            file,
                            row.line,
                            "valid_from",
                            code,
                            f"maps to {row.iccs_code} again over a period overlapping "
                            f"line {other.line}",
                        )
                    )
            seen.setdefault(row.iccs_code, []).append(row)
        # Shares must sum to 1 wherever the code is mapped: check each period start.
        moments = {row.valid_from or date.min for row in group}
        moments |= {row.valid_to for row in group if row.valid_to}
        for moment in sorted(moments):
            active = [row for row in group if _active(row, moment)]
            if not active:
                continue
            total = sum(row.share for row in active)
            if abs(total - 1.0) > _TOLERANCE:
                shown = "" if moment == date.min else f" on {moment.isoformat()}"
                problems.append(
                    Problem(
                        file,
                        active[0].line,
                        "share",
                        f"{total:g}",
                        f"shares of {code!r}{shown} sum to {total:g}, not 1 "
                        f"(lines {', '.join(str(r.line) for r in active)})",
                    )
                )
    return problems


def _overlap(left: ConcordanceRow, right: ConcordanceRow) -> bool:
    left_start = left.valid_from or date.min
    left_end = left.valid_to or date.max
    right_start = right.valid_from or date.min
    right_end = right.valid_to or date.max
    return left_start <= right_end and right_start <= left_end


def check_concordance(scheme_or_path: str | Path) -> list[Problem]:
    """List every problem of a concordance file (empty when it is valid).

    Examples
    --------
    >>> check_concordance("vpd_type")
    []
    """
    path = concordance_path(scheme_or_path)
    rows, problems = read_rows(path)
    return problems + check_rows(rows, str(path))


def load_concordance(scheme_or_path: str | Path, *, scheme: str | None = None) -> Concordance:
    """Load and validate a concordance.

    Raises
    ------
    DataFileError
        Listing every problem when the file is not valid.

    Examples
    --------
    >>> load_concordance("code_nibrs").rows[0].iccs_code
    '020111'
    """
    path = concordance_path(scheme_or_path)
    rows, problems = read_rows(path)
    problems += check_rows(rows, str(path))
    if problems:
        listed = "; ".join(str(problem) for problem in problems[:20])
        more = f" (and {len(problems) - 20} more)" if len(problems) > 20 else ""
        first = problems[0]
        raise DataFileError(
            f"{len(problems)} problem(s) in the concordance: {listed}{more}",
            file=str(path),
            row=first.line,
            field=first.field,
        )
    return Concordance(scheme=scheme or path.stem, rows=tuple(rows))


def install_concordance(warehouse: Warehouse, concordance: Concordance) -> int:
    """Replace the scheme's rows in the warehouse ``concordance`` table."""
    with warehouse.transaction():
        delete_scheme(warehouse, concordance.scheme)
        warehouse.insert("concordance", concordance.to_arrow())
    return len(concordance.rows)


def delete_scheme(warehouse: Warehouse, scheme: str) -> None:
    """Delete a scheme's rows (inside the caller's transaction)."""
    safe = scheme.replace("'", "''")
    warehouse.execute_sql(f"DELETE FROM concordance WHERE scheme = '{safe}'")


def installed(warehouse: Warehouse, scheme: str) -> ibis.Table:
    """The scheme's rows in the warehouse."""
    table = warehouse.table("concordance")
    return table.filter(table.scheme == scheme)


@dataclass(frozen=True)
class UnmappedCode:
    """A national code without ICCS mapping and how many records carry it."""

    national_code: str
    label: str
    records: int


@dataclass(frozen=True)
class Coverage:
    """How much of a source the concordance codes to ICCS."""

    source: str
    records: float
    records_mapped: float
    codes: int
    codes_mapped: int
    unmapped: tuple[UnmappedCode, ...]

    @property
    def share_records(self) -> float:
        """Share of records mapped to ICCS (NaN without records)."""
        return self.records_mapped / self.records if self.records else float("nan")

    @property
    def share_codes(self) -> float:
        """Share of distinct national codes mapped."""
        return self.codes_mapped / self.codes if self.codes else float("nan")


def coverage(warehouse: Warehouse, source: str) -> Coverage:
    """Coverage of a source's records and codes by its concordance.

    Records are weighted by their concordance share, so a record split
    between two ICCS codes counts once.

    Raises
    ------
    NotFoundError
        If the source has neither incidents nor aggregate rows.
    """
    table = warehouse.table("incident")
    rows = table.filter(table.source == source)
    if warehouse.scalar(rows.count()) == 0:
        aggregate = warehouse.table("aggregate")
        rows = aggregate.filter(aggregate.source == source)
        if warehouse.scalar(rows.count()) == 0:
            raise NotFoundError(
                f"no records for source {source!r} (neither incidents nor aggregate rows); "
                "import it first (crimeprev stats import) or list the sources (crimeprev sources)"
            )
        rows = rows.filter(rows.unit == "Counts")
    key = rows.offence_code.fill_null(rows.offence_label.fill_null("(none)"))
    grouped = rows.group_by(key=key).aggregate(
        label=rows.offence_label.max(),
        records=rows.iccs_weight.sum(),
        mapped=rows.iccs_code.notnull().cast("int64").max(),
    )
    frame = warehouse.to_arrow(grouped).to_pylist()
    records = sum(r["records"] or 0 for r in frame)
    mapped = sum((r["records"] or 0) for r in frame if r["mapped"])
    unmapped = sorted(
        (
            UnmappedCode(r["key"], r["label"] or "", round(r["records"] or 0))
            for r in frame
            if not r["mapped"]
        ),
        key=lambda item: (-item.records, item.national_code),
    )
    return Coverage(
        source=source,
        records=float(records),
        records_mapped=float(mapped),
        codes=len(frame),
        codes_mapped=sum(1 for r in frame if r["mapped"]),
        unmapped=tuple(unmapped),
    )


@dataclass(frozen=True)
class Suggestion:
    """Ranked ICCS candidates for one unmapped label (for a person to confirm)."""

    national_code: str
    label: str
    records: int
    candidates: tuple[iccs.SearchHit, ...]


def suggest(labels: list[tuple[str, str, int]], *, limit: int = 5) -> list[Suggestion]:
    """Rank ICCS candidates for (code, label, records) triples with the ICCS index.

    Examples
    --------
    >>> suggest([("BE", "Break and Enter Commercial", 3)])[0].candidates[0].code[:4]
    '0501'
    """
    out = []
    for code, label, records in labels:
        text = label or code
        hits = iccs.search(text, limit=limit)
        out.append(Suggestion(code, text, records, tuple(hits)))
    return out


def suggest_unmapped(warehouse: Warehouse, source: str, *, limit: int = 5) -> list[Suggestion]:
    """Suggestions for every unmapped code of a source, most frequent first."""
    report = coverage(warehouse, source)
    return suggest(
        [(item.national_code, item.label, item.records) for item in report.unmapped], limit=limit
    )
