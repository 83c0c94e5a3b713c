"""Exports: answers and practices as CSV, XLSX or JSON, and the session summary report.

Exports contain what the actor may see (the public: published content only).
Demo content carries ``fictional = true`` in every format and the report
labels it.

The report compiles a thematic discussion's published answers question by
question, as HTML (every character kept) or PDF (fpdf2's built-in Helvetica,
so characters outside Latin-1 are transliterated or shown as "?": crimeprev
ships no font files).

Examples
--------
>>> rows = [{"state": "KEN", "text": "Ward safety audits"}]
>>> to_csv(rows).splitlines()
['state,text', 'KEN,Ward safety audits']
"""

from __future__ import annotations

import csv
import io
import json
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from functools import cache
from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape
from openpyxl import Workbook
from sqlalchemy import select
from sqlalchemy.orm import Session

from crimeprev.errors import InvalidInputError
from crimeprev.standards import kyoto
from crimeprev.tracker.access import TrackerActor
from crimeprev.tracker.member_states import member_state, regions
from crimeprev.tracker.models import Practice
from crimeprev.tracker.service import get_discussion
from crimeprev.tracker.views import AnswerRow, visible_answers, visible_practices

__all__ = [
    "FORMATS",
    "SessionReport",
    "answer_records",
    "export",
    "practice_records",
    "report_html",
    "report_pdf",
    "session_report",
    "to_csv",
    "to_json",
    "to_xlsx",
]

#: Export formats and their media types.
FORMATS: dict[str, str] = {
    "csv": "text/csv; charset=utf-8",
    "json": "application/json",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


def answer_records(session: Session, actor: TrackerActor) -> list[dict[str, Any]]:
    """Every answer the actor may read, one flat record each."""
    return [
        {
            "submission_id": row.submission_id,
            "state_iso3": row.state_iso3,
            "state": row.state_name,
            "region": member_state(row.state_iso3).region,
            "discussion": row.discussion,
            "question": row.question,
            "question_text": row.question_text,
            "answer": row.text,
            "paragraphs": " ".join(str(number) for number in row.paragraphs),
            "population_groups": " ".join(row.population_groups),
            "version": row.version,
            "published": row.published,
            "fictional": row.is_fictional,
        }
        for row in visible_answers(session, actor)
    ]


def practice_records(session: Session, actor: TrackerActor) -> list[dict[str, Any]]:
    """Every good practice the actor may read, one flat record each, with every field.

    Lists (paragraphs, ICCS codes, SDG targets, population groups, document
    names) are joined with spaces, or with ``"; "`` for document names.
    """
    rows = visible_practices(session, actor)
    found = {
        practice.id: practice
        for practice in session.execute(
            select(Practice).where(Practice.id.in_([row.practice_id for row in rows]))
        ).scalars()
    }
    records = []
    for row in rows:
        practice = found[row.practice_id]
        records.append(
            {
                "practice_id": row.practice_id,
                "title": row.title,
                "summary": row.summary,
                "state_iso3": row.state_iso3,
                "state": row.state_name,
                "region": member_state(row.state_iso3).region,
                "level": row.level,
                "locality": row.locality,
                "year": row.year,
                "status": row.status,
                "paragraphs": " ".join(str(number) for number in row.paragraphs),
                "iccs_codes": " ".join(practice.tag_values("iccs")),
                "sdg_targets": " ".join(practice.tag_values("sdg")),
                "population_groups": " ".join(practice.tag_values("group")),
                "evaluation": practice.evaluation,
                "contact": practice.contact,
                "documents": "; ".join(document.filename for document in practice.documents),
                "fictional": row.is_fictional,
            }
        )
    return records


def to_csv(records: Sequence[dict[str, Any]]) -> str:
    """Records as CSV text (header from the first record; empty text for none)."""
    if not records:
        return ""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(records[0]), lineterminator="\n")
    writer.writeheader()
    writer.writerows(records)
    return buffer.getvalue()


def to_json(records: Sequence[dict[str, Any]]) -> str:
    """Records as a JSON array.

    Examples
    --------
    >>> to_json([{"a": 1}])
    '[\\n  {\\n    "a": 1\\n  }\\n]'
    """
    return json.dumps(list(records), ensure_ascii=False, indent=2)


def to_xlsx(sheets: Mapping[str, Sequence[dict[str, Any]]]) -> bytes:
    """Records as an XLSX workbook, one sheet per entry of `sheets`."""
    book = Workbook()
    book.remove(book.active)
    for name, records in sheets.items():
        sheet = book.create_sheet(name[:31])
        if records:
            columns = list(records[0])
            sheet.append(columns)
            for record in records:
                sheet.append([record[column] for column in columns])
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def export(session: Session, actor: TrackerActor, what: str, fmt: str) -> tuple[bytes, str, str]:
    """Export answers, practices or both; return (content, media type, file name).

    Parameters
    ----------
    what : {"answers", "practices", "all"}
        ``"all"`` is available as XLSX (two sheets) and JSON (two lists).
    fmt : {"csv", "json", "xlsx"}

    Raises
    ------
    InvalidInputError
        For an unknown `what` or `fmt`, or ``all`` as CSV.
    """
    if fmt not in FORMATS:
        raise InvalidInputError(f"format must be one of {', '.join(FORMATS)}, got {fmt!r}")
    if what not in {"answers", "practices", "all"}:
        raise InvalidInputError(f"export answers, practices or all, got {what!r}")
    sheets: dict[str, list[dict[str, Any]]] = {}
    if what in {"answers", "all"}:
        sheets["answers"] = answer_records(session, actor)
    if what in {"practices", "all"}:
        sheets["practices"] = practice_records(session, actor)
    filename = f"kyoto-tracker-{what}-{date.today().isoformat()}.{fmt}"
    if fmt == "xlsx":
        return to_xlsx(sheets), FORMATS[fmt], filename
    if fmt == "json":
        payload: Any = sheets if what == "all" else sheets[what]
        return json.dumps(payload, ensure_ascii=False, indent=2).encode(), FORMATS[fmt], filename
    if what == "all":
        raise InvalidInputError("CSV holds one table: export answers or practices, or use xlsx")
    return to_csv(sheets[what]).encode("utf-8"), FORMATS[fmt], filename


@dataclass(frozen=True)
class ReportQuestion:
    """A question and the published answers to it."""

    number: int
    text: str
    answers: tuple[AnswerRow, ...]


@dataclass(frozen=True)
class SessionReport:
    """The published answers of one thematic discussion, question by question."""

    number: int
    title: str
    held_on: date
    topics: tuple[tuple[str, tuple[int, ...]], ...]
    questions: tuple[ReportQuestion, ...]
    states: tuple[str, ...]
    regions: tuple[tuple[str, int], ...]
    has_fictional: bool

    @property
    def answer_count(self) -> int:
        """Number of answers compiled."""
        return sum(len(question.answers) for question in self.questions)


def session_report(session: Session, discussion: int) -> SessionReport:
    """Compile a discussion's published answers (what the public may read).

    Raises
    ------
    NotFoundError
        If there is no such discussion.
    """
    found = get_discussion(session, discussion)
    public = TrackerActor(principal=None, secretariat=False, states=frozenset())
    answers = visible_answers(session, public, discussion=discussion)
    by_question: dict[int, list[AnswerRow]] = {}
    for row in answers:
        by_question.setdefault(row.question, []).append(row)
    topics: dict[str, list[int]] = {}
    for link in found.paragraph_links:
        topics.setdefault(link.topic, []).append(link.commitment_number)
    states = tuple(sorted({row.state_iso3 for row in answers}, key=lambda c: member_state(c).name))
    return SessionReport(
        number=found.number,
        title=found.title,
        held_on=found.held_on,
        topics=tuple((title, tuple(sorted(numbers))) for title, numbers in topics.items()),
        questions=tuple(
            ReportQuestion(
                number=question.number,
                text=question.text,
                answers=tuple(by_question.get(question.number, ())),
            )
            for question in found.questions
        ),
        states=states,
        regions=tuple(
            (region, sum(1 for code in states if member_state(code).region == region))
            for region in regions()
        ),
        has_fictional=any(row.is_fictional for row in answers),
    )


def _environment() -> Environment:
    return Environment(
        loader=PackageLoader("crimeprev.tracker", "templates"),
        autoescape=select_autoescape(["html"]),
        trim_blocks=True,
        lstrip_blocks=True,
    )


def report_html(report: SessionReport) -> str:
    """The report as a standalone HTML page."""
    return (
        _environment()
        .get_template("report.html")
        .render(
            report=report,
            declaration=kyoto.declaration(),
            state_name=lambda code: member_state(code).name,
        )
    )


#: The PDF report's fonts: Noto Sans (Latin, Greek, Cyrillic), then Noto Sans Arabic for
#: what the first lacks; fpdf2 shapes and orders Arabic right to left with HarfBuzz.
_PDF_FONTS = ("Noto Sans", "Noto Sans Arabic")


@cache
def _pdf_fonts() -> tuple[tuple[str, ...], frozenset[int]]:
    """The PDF fonts' files and the code points they cover together."""
    import fontpkg
    from fontTools.ttLib import TTFont

    paths = tuple(str(fontpkg.path(family)) for family in _PDF_FONTS)
    covered: set[int] = set()
    for path in paths:
        with TTFont(path, lazy=True) as font:
            covered |= set(font.getBestCmap())
    return paths, frozenset(covered)


def _printable(text: str) -> tuple[str, bool]:
    """`text` with the characters the PDF fonts lack replaced; and whether any were.

    A character the fonts lack is written as its compatibility decomposition
    when that is covered (a full-width letter or a unit sign as plain letters),
    else as ``?``.

    Examples
    --------
    >>> _printable("Россия, Côte d’Ivoire, 5 ㎞")
    ('Россия, Côte d’Ivoire, 5 km', False)
    >>> _printable("مرحبا")
    ('مرحبا', False)
    >>> _printable("预防犯罪")
    ('????', True)
    """
    _, covered = _pdf_fonts()
    out = []
    lost = False
    for character in text:
        if ord(character) in covered or character in "\n\t":
            out.append(character)
            continue
        decomposed = unicodedata.normalize("NFKD", character)
        if decomposed != character and all(ord(part) in covered for part in decomposed):
            out.append(decomposed)
        else:
            out.append("?")
            lost = True
    return "".join(out), lost


def report_pdf(report: SessionReport) -> bytes:
    """The report as a PDF document.

    Text is set in Noto Sans (Latin, Greek and Cyrillic scripts: English,
    French, Spanish and Russian answers) with Noto Sans Arabic for Arabic,
    shaped and set right to left. An answer with characters neither font has
    (Chinese script, for instance) shows them as ``?`` and says so under the
    answer, and the first page says how many answers are affected: the HTML
    report shows every script.
    """
    from fpdf import FPDF

    (latin, arabic), _ = _pdf_fonts()
    document = FPDF(format="A4")
    for family, path in (("report", latin), ("report-arabic", arabic)):
        document.add_font(family, "", path, variations={"wght": 400.0, "wdth": 100.0})
        document.add_font(family, "B", path, variations={"wght": 700.0, "wdth": 100.0})
    document.set_fallback_fonts(["report-arabic"])
    document.set_text_shaping(True)
    document.set_auto_page_break(auto=True, margin=15)
    document.set_title(_printable(f"Thematic discussion {report.number}: {report.title}")[0])
    document.add_page()
    width = document.epw

    def line(text: str, size: float = 10, style: str = "", gap: float = 1.5) -> bool:
        printable, lost = _printable(text)
        document.set_font("report", style="B" if "B" in style else "", size=size)
        if "I" in style:
            document.set_text_color(80, 80, 80)
        document.multi_cell(width, size * 0.5, printable, new_x="LMARGIN", new_y="NEXT")
        document.set_text_color(0, 0, 0)
        document.ln(gap)
        return lost

    line("Kyoto Declaration follow-up", 9, "I")
    line(f"Thematic discussion {report.number}: {report.title}", 16, "B")
    line(
        f"Held on {report.held_on.isoformat()}. Published answers of {len(report.states)} "
        f"Member States ({report.answer_count} answers).",
        10,
    )
    unprintable = sum(
        1 for question in report.questions for a in question.answers if _printable(a.text)[1]
    )
    if unprintable:
        line(
            f"{unprintable} answer(s) use a script this PDF's fonts do not cover (such as "
            "Chinese); those characters show as '?'. The HTML report shows the full text.",
            10,
            "B",
        )
    if report.has_fictional:
        line(
            "FICTIONAL DEMO CONTENT: the answers below were invented to show the tool; "
            "they are not statements of any Member State.",
            10,
            "B",
        )
    for title, numbers in report.topics:
        line(f"Topic: {title} (paragraphs {', '.join(str(n) for n in numbers)})", 10, "I", 0.5)
    document.ln(2)
    for question in report.questions:
        line(f"Question {question.number}. {question.text}", 12, "B")
        if not question.answers:
            line("No published answer.", 10, "I")
        for answer in question.answers:
            label = member_state(answer.state_iso3).name + (
                " (fictional)" if answer.is_fictional else ""
            )
            line(label, 10, "B", 0.5)
            if line(answer.text, 10):
                line(
                    "Some characters of this answer cannot be shown in this PDF; see the "
                    "HTML report.",
                    9,
                    "I",
                )
    return bytes(document.output())
