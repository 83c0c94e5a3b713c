"""The structured XLSX questionnaire: a template per thematic session, and its checked import.

Focal points who prefer to work offline download the template for a session,
fill it in Excel or LibreOffice and upload it. The template has three sheets:

``Instructions``
    What to fill in and how.
``Submission``
    Label/value rows: the template marker, the session number, the Member
    State (ISO 3166-1 alpha-3 code or name), the focal point and an e-mail.
``Answers``
    One row per discussion question: the question number and text (given),
    then the answer, the Kyoto paragraphs it addresses (numbers separated by
    commas) and the population groups it concerns (keys separated by commas).

:func:`read_questionnaire` checks every row and collects every problem, so one
upload shows the person all that needs fixing. Each problem names the sheet,
row, column, the value found and what was expected.

Examples
--------
>>> content = questionnaire_template(1)
>>> parsed = read_questionnaire(content, "blank.xlsx")  # doctest: +ELLIPSIS
Traceback (most recent call last):
    ...
crimeprev.tracker.questionnaire.QuestionnaireError: blank.xlsx: 3 problems; sheet 'Submission', ...
"""

from __future__ import annotations

import io
import re
import warnings
import zipfile
from dataclasses import dataclass
from typing import Any

from openpyxl import Workbook, load_workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils.exceptions import InvalidFileException
from openpyxl.worksheet.datavalidation import DataValidation

from crimeprev.errors import DataFileError, UnknownCodeError
from crimeprev.standards import kyoto
from crimeprev.tracker.member_states import member_state
from crimeprev.tracker.tagging import POPULATION_GROUPS

__all__ = [
    "MAX_ANSWER_LENGTH",
    "TEMPLATE_MARKER",
    "QuestionnaireAnswer",
    "QuestionnaireError",
    "QuestionnaireIssue",
    "QuestionnaireSubmission",
    "questionnaire_template",
    "read_questionnaire",
]

#: Written in the Submission sheet so that an upload can be recognised as ours.
TEMPLATE_MARKER = "crimeprev Kyoto questionnaire, version 1"

#: Longest answer accepted, in characters.
MAX_ANSWER_LENGTH = 20_000

_ANSWER_COLUMNS = ("Question", "Question text", "Answer", "Paragraphs", "Population groups")
_SUBMISSION_LABELS = ("Template", "Session", "Member State", "Focal point", "E-mail")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


@dataclass(frozen=True)
class QuestionnaireIssue:
    """One problem in an uploaded questionnaire.

    Attributes
    ----------
    sheet : str
    row : int or None
        Spreadsheet row number (1 is the first row).
    column : str or None
        The column's heading (``"Answer"``) or, in the Submission sheet, the label.
    value : object
        What the cell held.
    expected : str
        What the cell should hold.
    """

    sheet: str
    row: int | None
    column: str | None
    value: Any
    expected: str

    def __str__(self) -> str:
        where = f"sheet {self.sheet!r}"
        if self.row is not None:
            where += f", row {self.row}"
        if self.column:
            where += f", column {self.column!r}"
        return f"{where}: got {self.value!r}, expected {self.expected}"

    def as_dict(self) -> dict[str, Any]:
        """Return the issue as a JSON-ready dict."""
        value = (
            self.value
            if isinstance(self.value, str | int | float | type(None))
            else str(self.value)
        )
        return {
            "sheet": self.sheet,
            "row": self.row,
            "column": self.column,
            "value": value,
            "expected": self.expected,
        }


class QuestionnaireError(DataFileError):
    """An uploaded questionnaire has problems; ``issues`` lists every one."""

    def __init__(self, filename: str, issues: list[QuestionnaireIssue]) -> None:
        shown = "; ".join(str(issue) for issue in issues[:10])
        more = f"; and {len(issues) - 10} more" if len(issues) > 10 else ""
        count = f"{len(issues)} problem{'s' if len(issues) != 1 else ''}"
        super().__init__(f"{count}; {shown}{more}", file=filename)
        # DataFileError formats as "file NAME: ..."; the questionnaire reads better plainly.
        self.message = f"{filename}: {count}; {shown}{more}"
        self.args = (self.message,)
        self.issues = tuple(issues)
        self.details["issues"] = [issue.as_dict() for issue in issues]

    def __str__(self) -> str:
        return self.message


@dataclass(frozen=True)
class QuestionnaireAnswer:
    """One answered question."""

    question_number: int
    answer: str
    paragraphs: tuple[int, ...]
    population_groups: tuple[str, ...]


@dataclass(frozen=True)
class QuestionnaireSubmission:
    """A questionnaire that passed every check."""

    session_number: int
    state_iso3: str
    focal_point: str
    email: str | None
    answers: tuple[QuestionnaireAnswer, ...]


def questionnaire_template(session_number: int) -> bytes:
    """Return the XLSX template for one thematic session's questions.

    Parameters
    ----------
    session_number : int
        The thematic session (see :func:`crimeprev.standards.kyoto.sessions`).

    Returns
    -------
    bytes
        The workbook.

    Raises
    ------
    NotFoundError
        If there is no such session.

    Examples
    --------
    >>> from openpyxl import load_workbook
    >>> book = load_workbook(io.BytesIO(questionnaire_template(2)))
    >>> book.sheetnames, book["Answers"].max_row
    (['Instructions', 'Submission', 'Answers'], 9)
    """
    session = kyoto.session(session_number)
    book = Workbook()
    bold = Font(bold=True)
    wrap = Alignment(wrap_text=True, vertical="top")
    given = PatternFill("solid", start_color="EEEEEE", end_color="EEEEEE")

    guide = book.active
    guide.title = "Instructions"
    lines = [
        f"Kyoto Declaration follow-up: questionnaire for thematic session {session.number}",
        f"{session.title} ({session.date.isoformat()})",
        "",
        "1. In the sheet 'Submission', enter your Member State (ISO 3166-1 alpha-3 code such "
        "as KEN, or the name) and the focal point's name and e-mail. Do not change the "
        "Template and Session rows.",
        "2. In the sheet 'Answers', write your answer to each question in the Answer column. "
        "Leave a question blank to skip it; at least one answer is needed.",
        "3. Paragraphs: the Kyoto Declaration paragraphs the answer addresses, as numbers "
        "separated by commas (e.g. 21, 26). The session covers paragraphs "
        f"{', '.join(str(n) for n in session.paragraph_numbers)}; any of 21-96 is accepted.",
        "4. Population groups: keys separated by commas, from this list: "
        + ", ".join(f"{group.key} ({group.label})" for group in POPULATION_GROUPS),
        "5. Do not add, remove or reorder rows or columns. Upload the file on the "
        "tracker's import page or with 'crimeprev tracker import'.",
        f"Answers longer than {MAX_ANSWER_LENGTH} characters are refused.",
    ]
    for row, line in enumerate(lines, start=1):
        cell = guide.cell(row=row, column=1, value=line)
        cell.alignment = Alignment(wrap_text=True)
    guide["A1"].font = Font(bold=True, size=14)
    guide.column_dimensions["A"].width = 120

    header = book.create_sheet("Submission")
    values: list[Any] = [TEMPLATE_MARKER, session.number, None, None, None]
    for row, (label, value) in enumerate(zip(_SUBMISSION_LABELS, values, strict=True), start=1):
        header.cell(row=row, column=1, value=label).font = bold
        cell = header.cell(row=row, column=2, value=value)
        if value is not None:
            cell.fill = given
    header.column_dimensions["A"].width = 18
    header.column_dimensions["B"].width = 60

    answers = book.create_sheet("Answers")
    for column, title in enumerate(_ANSWER_COLUMNS, start=1):
        answers.cell(row=1, column=column, value=title).font = bold
    for row, question in enumerate(session.questions, start=2):
        answers.cell(row=row, column=1, value=question.number).fill = given
        text = answers.cell(row=row, column=2, value=question.summary)
        text.fill = given
        text.alignment = wrap
        answers.cell(row=row, column=3).alignment = wrap
    for letter, width in zip("ABCDE", (10, 60, 80, 14, 28), strict=True):
        answers.column_dimensions[letter].width = width
    answers.freeze_panes = "C2"
    last = len(session.questions) + 1
    numbers = DataValidation(
        type="custom",
        formula1='ISNUMBER(SEARCH(",",D2&","))',
        allow_blank=True,
        showErrorMessage=False,
        promptTitle="Paragraphs",
        prompt="Numbers from 21 to 96, separated by commas",
        showInputMessage=True,
    )
    answers.add_data_validation(numbers)
    numbers.add(f"D2:D{last}")
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).strip()


def _integer(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    return None


def _open(content: bytes, filename: str) -> Any:
    if not content.startswith(b"PK\x03\x04"):
        raise DataFileError(
            "not an XLSX workbook (an .xlsx file is a ZIP archive); save the file as "
            "Excel Workbook (.xlsx) and upload it again",
            file=filename,
        )
    try:
        with warnings.catch_warnings():
            # openpyxl warns about spreadsheet features it drops (e.g. extensions written
            # by other programs); the cell values we read are unaffected.
            warnings.filterwarnings("ignore", category=UserWarning, module="openpyxl")
            return load_workbook(io.BytesIO(content), read_only=True, data_only=True)
    except (InvalidFileException, zipfile.BadZipFile, KeyError, ValueError, OSError) as error:
        raise DataFileError(
            f"the workbook could not be opened ({type(error).__name__}: {error}); "
            "download a fresh template and copy your answers into it",
            file=filename,
        ) from error
    except Exception as error:  # lxml's XMLSyntaxError for damaged sheets
        raise DataFileError(
            f"the workbook could not be opened ({type(error).__name__}: {error})", file=filename
        ) from error


def read_questionnaire(
    content: bytes, filename: str = "questionnaire.xlsx"
) -> QuestionnaireSubmission:
    """Read and check a filled questionnaire, row by row.

    Parameters
    ----------
    content : bytes
        The uploaded workbook.
    filename : str, default="questionnaire.xlsx"
        Its name, for messages.

    Returns
    -------
    QuestionnaireSubmission
        The Member State, session, focal point and the answered questions.

    Raises
    ------
    DataFileError
        If the file is not an XLSX workbook or cannot be opened.
    QuestionnaireError
        If any cell fails a check; ``issues`` lists every problem with its
        sheet, row, column, value and what was expected.

    Examples
    --------
    >>> from openpyxl import load_workbook
    >>> book = load_workbook(io.BytesIO(questionnaire_template(2)))
    >>> book["Submission"]["B3"] = "KEN"
    >>> book["Submission"]["B4"] = "A. Example (fictional)"
    >>> book["Answers"]["C2"] = "A national asset management office was set up."
    >>> book["Answers"]["D2"] = "24, 25"
    >>> buffer = io.BytesIO(); book.save(buffer)
    >>> found = read_questionnaire(buffer.getvalue())
    >>> found.state_iso3, found.session_number, found.answers[0].paragraphs
    ('KEN', 2, (24, 25))
    """
    book = _open(content, filename)
    try:
        return _check(book, filename)
    finally:
        book.close()


def _check(book: Any, filename: str) -> QuestionnaireSubmission:
    issues: list[QuestionnaireIssue] = []
    missing = [name for name in ("Submission", "Answers") if name not in book.sheetnames]
    if missing:
        raise QuestionnaireError(
            filename,
            [
                QuestionnaireIssue(
                    sheet=name,
                    row=None,
                    column=None,
                    value=None,
                    expected=f"a sheet named {name!r}; download a fresh template",
                )
                for name in missing
            ],
        )

    header_rows = list(
        book["Submission"].iter_rows(min_row=1, max_row=10, max_col=2, values_only=True)
    )
    found: dict[str, tuple[int, Any]] = {}
    for row_number, row in enumerate(header_rows, start=1):
        label = _text(row[0] if row else None)
        if label:
            found[label] = (row_number, row[1] if len(row) > 1 else None)

    def header(label: str) -> tuple[int | None, Any]:
        if label not in found:
            issues.append(
                QuestionnaireIssue("Submission", None, label, None, f"a row labelled {label!r}")
            )
            return None, None
        return found[label]

    row, marker = header("Template")
    if row is not None and _text(marker) != TEMPLATE_MARKER:
        issues.append(
            QuestionnaireIssue("Submission", row, "Template", marker, repr(TEMPLATE_MARKER))
        )
    row, raw_session = header("Session")
    session = None
    if row is not None:
        number = _integer(raw_session)
        valid = [item.number for item in kyoto.sessions()]
        if number not in valid:
            issues.append(
                QuestionnaireIssue("Submission", row, "Session", raw_session, f"one of {valid}")
            )
        else:
            session = kyoto.session(number)
    row, raw_state = header("Member State")
    state_iso3 = ""
    if row is not None:
        try:
            state_iso3 = member_state(_text(raw_state)).iso3 if _text(raw_state) else ""
        except UnknownCodeError:
            state_iso3 = ""
        if not state_iso3:
            issues.append(
                QuestionnaireIssue(
                    "Submission",
                    row,
                    "Member State",
                    raw_state,
                    "a UN Member State's ISO 3166-1 alpha-3 code (e.g. KEN) or name",
                )
            )
    row, raw_focal = header("Focal point")
    focal_point = _text(raw_focal)
    if row is not None and not focal_point:
        issues.append(
            QuestionnaireIssue(
                "Submission", row, "Focal point", raw_focal, "the focal point's name"
            )
        )
    row, raw_email = header("E-mail")
    email = _text(raw_email) or None
    if row is not None and email is not None and not _EMAIL.match(email):
        issues.append(
            QuestionnaireIssue("Submission", row, "E-mail", raw_email, "an e-mail address or blank")
        )

    answers_sheet = book["Answers"]
    rows = list(answers_sheet.iter_rows(min_row=1, max_col=len(_ANSWER_COLUMNS), values_only=True))
    heading = tuple(_text(value) for value in (rows[0] if rows else ()))
    heading = heading + ("",) * (len(_ANSWER_COLUMNS) - len(heading))
    if heading != _ANSWER_COLUMNS:
        for position, (got, wanted) in enumerate(zip(heading, _ANSWER_COLUMNS, strict=True)):
            if got != wanted:
                issues.append(
                    QuestionnaireIssue(
                        "Answers", 1, f"column {position + 1}", got, f"the heading {wanted!r}"
                    )
                )
        raise QuestionnaireError(filename, issues)

    valid_questions = {question.number for question in session.questions} if session else set()
    groups = {group.key for group in POPULATION_GROUPS}
    answers: list[QuestionnaireAnswer] = []
    seen: dict[int, int] = {}
    first, last = kyoto.declaration().first_paragraph, kyoto.declaration().follow_up_paragraph
    for row_number, values in enumerate(rows[1:], start=2):
        cells = tuple(values) + (None,) * (len(_ANSWER_COLUMNS) - len(values))
        raw_number, _, raw_answer, raw_paragraphs, raw_groups = cells
        answer = _text(raw_answer)
        if not any(_text(value) for value in cells):
            continue  # an empty row
        number = _integer(raw_number)
        if number is None or (session is not None and number not in valid_questions):
            expected = (
                f"a question number from 1 to {len(session.questions)} of session {session.number}"
                if session
                else "a question number"
            )
            issues.append(
                QuestionnaireIssue("Answers", row_number, "Question", raw_number, expected)
            )
            continue
        if number in seen:
            issues.append(
                QuestionnaireIssue(
                    "Answers",
                    row_number,
                    "Question",
                    raw_number,
                    f"each question once (question {number} is already on row {seen[number]})",
                )
            )
            continue
        seen[number] = row_number
        if len(answer) > MAX_ANSWER_LENGTH:
            issues.append(
                QuestionnaireIssue(
                    "Answers",
                    row_number,
                    "Answer",
                    f"{answer[:40]}... ({len(answer)} characters)",
                    f"at most {MAX_ANSWER_LENGTH} characters",
                )
            )
        paragraphs: list[int] = []
        for part in (piece.strip() for piece in _text(raw_paragraphs).split(",")):
            if not part:
                continue
            value = _integer(part)
            if value is None or not first <= value <= last:
                issues.append(
                    QuestionnaireIssue(
                        "Answers",
                        row_number,
                        "Paragraphs",
                        raw_paragraphs,
                        f"paragraph numbers from {first} to {last} separated by commas "
                        f"({part!r} is not one)",
                    )
                )
                break
            if value not in paragraphs:
                paragraphs.append(value)
        chosen: list[str] = []
        for part in (piece.strip().lower() for piece in _text(raw_groups).split(",")):
            if not part:
                continue
            if part not in groups:
                issues.append(
                    QuestionnaireIssue(
                        "Answers",
                        row_number,
                        "Population groups",
                        raw_groups,
                        f"keys from: {', '.join(sorted(groups))} ({part!r} is not one)",
                    )
                )
                break
            if part not in chosen:
                chosen.append(part)
        if not answer:
            if paragraphs or chosen:
                issues.append(
                    QuestionnaireIssue(
                        "Answers",
                        row_number,
                        "Answer",
                        raw_answer,
                        "an answer, since paragraphs or population groups are given",
                    )
                )
            continue
        answers.append(QuestionnaireAnswer(number, answer, tuple(paragraphs), tuple(chosen)))

    if not answers and not any(issue.sheet == "Answers" for issue in issues):
        issues.append(
            QuestionnaireIssue("Answers", None, "Answer", None, "at least one answered question")
        )
    if issues or session is None:
        raise QuestionnaireError(filename, issues)
    return QuestionnaireSubmission(
        session_number=session.number,
        state_iso3=state_iso3,
        focal_point=focal_point,
        email=email,
        answers=tuple(answers),
    )
