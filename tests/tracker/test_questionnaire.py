"""The XLSX questionnaire: template round trip and row-by-row validation."""

from __future__ import annotations

import io

import pytest
from openpyxl import Workbook, load_workbook

from crimeprev.errors import DataFileError, NotFoundError
from crimeprev.standards import kyoto
from crimeprev.tracker.questionnaire import (
    TEMPLATE_MARKER,
    QuestionnaireError,
    questionnaire_template,
    read_questionnaire,
)


def _filled(session_number: int = 3, **cells: object) -> bytes:
    book = load_workbook(io.BytesIO(questionnaire_template(session_number)))
    defaults: dict[str, object] = {
        "Submission!B3": "Ghana",
        "Submission!B4": "Focal Point (fictional)",
        "Submission!B5": "focal@example.org",
        "Answers!C2": "A national action plan on gender-related violence.",
        "Answers!D2": "27, 28",
        "Answers!E2": "women_and_girls, victims",
        "Answers!C4": "Online safety lessons in schools.",
    }
    defaults.update(cells)
    for key, value in defaults.items():
        sheet, cell = key.split("!")
        book[sheet][cell] = value
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def _issues(content: bytes) -> list[dict[str, object]]:
    with pytest.raises(QuestionnaireError) as caught:
        read_questionnaire(content, "filled.xlsx")
    return caught.value.details["issues"]


def test_template_lists_every_question_of_the_session():
    for session in kyoto.sessions():
        book = load_workbook(io.BytesIO(questionnaire_template(session.number)))
        rows = list(book["Answers"].iter_rows(min_row=2, values_only=True))
        assert [row[0] for row in rows] == [q.number for q in session.questions]
        assert [row[1] for row in rows] == [q.summary for q in session.questions]
        assert book["Submission"]["B1"].value == TEMPLATE_MARKER
        assert book["Submission"]["B2"].value == session.number


def test_template_for_unknown_session():
    with pytest.raises(NotFoundError):
        questionnaire_template(9)


def test_round_trip():
    found = read_questionnaire(_filled())
    assert found.session_number == 3
    assert found.state_iso3 == "GHA"
    assert found.focal_point == "Focal Point (fictional)"
    assert found.email == "focal@example.org"
    assert [(a.question_number, a.paragraphs, a.population_groups) for a in found.answers] == [
        (1, (27, 28), ("women_and_girls", "victims")),
        (3, (), ()),
    ]
    assert found.answers[1].answer == "Online safety lessons in schools."


def test_numbers_typed_as_numbers_are_accepted():
    found = read_questionnaire(_filled(**{"Answers!D2": 29, "Submission!B3": "gha"}))
    assert found.answers[0].paragraphs == (29,)


def test_every_problem_is_reported_with_its_place():
    content = _filled(
        **{
            "Submission!B3": "Atlantis",
            "Submission!B5": "not-an-email",
            "Answers!D2": "27, 120",
            "Answers!E3": "teenagers",
            "Answers!C3": "Something",
            "Answers!A5": 99,
            "Answers!C5": "An answer to a question that does not exist",
        }
    )
    issues = _issues(content)
    places = {(issue["sheet"], issue["row"], issue["column"]) for issue in issues}
    assert places == {
        ("Submission", 3, "Member State"),
        ("Submission", 5, "E-mail"),
        ("Answers", 2, "Paragraphs"),
        ("Answers", 3, "Population groups"),
        ("Answers", 5, "Question"),
    }
    paragraph = next(issue for issue in issues if issue["column"] == "Paragraphs")
    assert paragraph["value"] == "27, 120"
    assert "from 21 to 96" in paragraph["expected"] and "'120'" in paragraph["expected"]
    question = next(issue for issue in issues if issue["column"] == "Question")
    assert question["value"] == 99 and "1 to 13 of session 3" in question["expected"]


def test_message_names_sheet_row_column_value_and_expectation():
    with pytest.raises(QuestionnaireError) as caught:
        read_questionnaire(_filled(**{"Answers!E2": "aliens"}), "ghana.xlsx")
    assert str(caught.value).startswith("ghana.xlsx: 1 problem; sheet 'Answers', row 2, column")
    assert "got 'aliens', expected keys from:" in str(caught.value)


def test_tags_without_an_answer_are_refused():
    issues = _issues(_filled(**{"Answers!D6": "21"}))
    assert [(issue["row"], issue["column"]) for issue in issues] == [(6, "Answer")]


def test_no_answer_at_all():
    issues = _issues(
        _filled(**{"Answers!C2": None, "Answers!D2": None, "Answers!E2": None, "Answers!C4": None})
    )
    assert issues[0]["expected"] == "at least one answered question"


def test_duplicate_question():
    issues = _issues(_filled(**{"Answers!A3": 1, "Answers!C3": "again"}))
    assert issues[0]["row"] == 3 and "already on row 2" in issues[0]["expected"]


def test_tampered_template_marker_and_session():
    issues = _issues(_filled(**{"Submission!B1": "something else", "Submission!B2": 7}))
    assert {(issue["row"], issue["column"]) for issue in issues} >= {
        (1, "Template"),
        (2, "Session"),
    }


def test_changed_headings():
    issues = _issues(_filled(**{"Answers!C1": "Reply"}))
    assert issues[-1] == {
        "sheet": "Answers",
        "row": 1,
        "column": "column 3",
        "value": "Reply",
        "expected": "the heading 'Answer'",
    }


def test_missing_sheet():
    book = Workbook()
    book.active.title = "Something"
    buffer = io.BytesIO()
    book.save(buffer)
    issues = _issues(buffer.getvalue())
    assert [issue["sheet"] for issue in issues] == ["Submission", "Answers"]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"Question,Answer\n1,yes\n", "not an XLSX workbook"),
        (b"PK\x03\x04garbage", "could not be opened"),
    ],
    ids=["csv", "broken-zip"],
)
def test_malformed_workbooks(content, message):
    with pytest.raises(DataFileError, match=message) as caught:
        read_questionnaire(content, "bad.xlsx")
    assert caught.value.details["file"] == "bad.xlsx"


def test_truncated_workbook():
    content = _filled()
    with pytest.raises(DataFileError, match="file bad.xlsx"):
        read_questionnaire(content[: len(content) // 2], "bad.xlsx")
