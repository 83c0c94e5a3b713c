"""Views, exports, the session report and document uploads, on both databases."""

from __future__ import annotations

import csv
import io
import json
import re
from datetime import date

import pytest
from fpdf import FPDF
from openpyxl import load_workbook
from pypdf import PdfReader
from sqlalchemy import func, select

from crimeprev.errors import (
    ConflictError,
    DataFileError,
    InvalidInputError,
    NotFoundError,
    PermissionDeniedError,
)
from crimeprev.tracker import exports, service, views
from crimeprev.tracker.models import Document, Practice
from crimeprev.tracker.search import search
from crimeprev.tracker.service import AnswerInput, PracticeInput
from crimeprev.tracker.views import AnswerRow


def _publish(session, people, state, answers, discussion=1, fictional=False):
    submission = service.save_submission(
        session,
        people["secretary"],
        discussion=discussion,
        state=state,
        answers=answers,
        is_fictional=fictional,
    )
    service.submit_submission(session, people["secretary"], submission.id)
    service.publish_submission(session, people["secretary"], submission.id)
    return submission.id


@pytest.fixture
def filled(tracker_db, people):
    with tracker_db.transaction() as session:
        _publish(
            session,
            people,
            "KEN",
            [
                AnswerInput(
                    1, "Kenya maps risk factors in informal settlements.", paragraphs=(21,)
                ),
                AnswerInput(2, "Crime rose in lockdown months, then fell.", paragraphs=(22,)),
            ],
        )
        _publish(
            session,
            people,
            "GHA",
            [
                AnswerInput(
                    1,
                    "Ghana’s plan targets youth unemployment — a root cause.",
                    paragraphs=(21, 26),
                    population_groups=("youth",),
                ),
            ],
            fictional=True,
        )
        # A Ghanaian draft on session 3 that the public must not see.
        service.save_submission(
            session,
            people["ghana"],
            discussion=3,
            state="GHA",
            answers=[AnswerInput(1, "Draft on gender.", paragraphs=(27,))],
        )
        practice = service.create_practice(
            session,
            people["kenya"],
            PracticeInput(
                title="Ward safety audits",
                summary="Residents walk the ward with police.",
                state="KEN",
                level="local",
                locality="Kisumu",
                paragraphs=(26,),
                year=2020,
            ),
        )
        service.submit_practice(session, people["kenya"], practice.id)
        service.publish_practice(session, people["secretary"], practice.id)
    return tracker_db


def test_paragraph_view(filled, people):
    with filled.transaction() as session:
        view = views.paragraph_view(session, people["public"], 21)
        assert [(row.state_iso3, row.question) for row in view.answers] == [("GHA", 1), ("KEN", 1)]
        assert view.indicators == (
            ("16.1.1", "Victims of intentional homicide", "per 100,000 population"),
        )
        twenty_six = views.paragraph_view(session, people["public"], 26)
        assert [row.title for row in twenty_six.practices] == ["Ward safety audits"]
        assert views.paragraph_view(session, people["public"], 27).answers == ()
        assert len(views.paragraph_view(session, people["ghana"], 27).answers) == 1


def test_state_view(filled, people):
    with filled.transaction() as session:
        public = views.state_view(session, people["public"], "GHA")
        assert [row.discussion for row in public.submissions] == [1]
        own = views.state_view(session, people["ghana"], "GHA")
        assert [row.discussion for row in own.submissions] == [1, 3]
        kenya = views.state_view(session, people["public"], "KEN")
        assert kenya.series[0].series == "16.1.1" and kenya.series[0].points


def test_coverage_and_comparison(filled, people):
    with filled.transaction() as session:
        table = views.coverage(session, people["public"])
        assert table.paragraphs == (21, 22, 26)
        assert table.rows == (
            ("GHA", "Ghana", "Africa", (1, 0, 1)),
            ("KEN", "Kenya", "Africa", (1, 1, 1)),
        )
        assert {region: reporting for region, reporting, _ in table.regions}["Africa"] == 2
        first, second, rows = views.compare_states(session, people["public"], "KEN", "Ghana")
        assert (first, second) == ("KEN", "GHA")
        by_number = {row.paragraph: row for row in rows}
        assert by_number[22].second == ()
        assert by_number[26].first == ("Practice: Ward safety audits",)
        with pytest.raises(InvalidInputError):
            views.compare_states(session, people["public"], "KEN", "ken")


def test_exports_hold_published_answers_only(filled, people):
    for fmt in ("csv", "json", "xlsx"):
        with filled.transaction() as session:
            content, media_type, filename = exports.export(
                session, people["public"], "answers", fmt
            )
        assert filename.endswith(f".{fmt}") and media_type == exports.FORMATS[fmt]
        if fmt == "csv":
            records = list(csv.DictReader(io.StringIO(content.decode())))
        elif fmt == "json":
            records = json.loads(content)
        else:
            rows = list(load_workbook(io.BytesIO(content))["answers"].iter_rows(values_only=True))
            records = [dict(zip(rows[0], row, strict=True)) for row in rows[1:]]
        assert sorted((r["state_iso3"], int(r["question"])) for r in records) == [
            ("GHA", 1),
            ("KEN", 1),
            ("KEN", 2),
        ], fmt
        fictional = {r["state_iso3"]: str(r["fictional"]).lower() for r in records}
        assert fictional == {"GHA": "true", "KEN": "false"}, fmt


def test_export_all_as_xlsx_has_two_sheets(filled, people):
    with filled.transaction() as session:
        content, _, _ = exports.export(session, people["secretary"], "all", "xlsx")
        with pytest.raises(InvalidInputError, match="CSV holds one table"):
            exports.export(session, people["secretary"], "all", "csv")
    book = load_workbook(io.BytesIO(content))
    assert book.sheetnames == ["answers", "practices"]
    assert book["answers"].max_row == 1 + 4  # the secretariat also sees the draft


def test_session_report_html_and_pdf(filled):
    with filled.transaction() as session:
        report = exports.session_report(session, 1)
    assert report.states == ("GHA", "KEN") and report.answer_count == 3
    assert [len(q.answers) for q in report.questions][:3] == [2, 1, 0]
    html = exports.report_html(report)
    assert "Ghana’s plan targets youth unemployment — a root cause." in html
    assert "Fictional demo content" in html and "Ghana (fictional)" in html
    reader = PdfReader(io.BytesIO(exports.report_pdf(report)))
    text = " ".join(" ".join(page.extract_text() for page in reader.pages).split())
    assert "Thematic discussion 1: Root causes" in text
    assert "Ghana’s plan targets youth unemployment — a root cause." in text
    assert "FICTIONAL DEMO CONTENT" in text
    assert "cannot be shown" not in text


def _answer(state: str, question: int, text: str) -> AnswerRow:
    return AnswerRow(
        submission_id=1, state_iso3=state, state_name=state, discussion=1, question=question,
        question_text="", text=text, paragraphs=(21,), population_groups=(), version=1,
        published=True, is_fictional=False,
    )  # fmt: skip


def test_pdf_report_sets_cyrillic_greek_and_arabic_and_says_what_it_cannot_show():
    russian = "Профилактика преступности в городах: 12 муниципальных программ."
    greek = "Πρόληψη της εγκληματικότητας στις γειτονιές."
    arabic = "منع الجريمة في المدن"
    chinese = "城市预防犯罪"
    report = exports.SessionReport(
        number=1, title="Root causes", held_on=date(2021, 11, 10), topics=(),
        questions=(
            exports.ReportQuestion(1, "What works?", (
                _answer("RUS", 1, russian), _answer("GRC", 1, greek),
                _answer("EGY", 1, arabic), _answer("CHN", 1, chinese),
            )),
        ),
        states=("CHN", "EGY", "GRC", "RUS"), regions=(), has_fictional=False,
    )  # fmt: skip
    reader = PdfReader(io.BytesIO(exports.report_pdf(report)))
    text = " ".join(" ".join(page.extract_text() for page in reader.pages).split())
    assert russian in text and greek in text
    # Arabic is shaped and set right to left in Noto Sans Arabic: its letters are all in
    # the PDF (extraction gives them in visual order, with joiner marks between some).
    fonts = {str(font.get_object()["/BaseFont"]).split("+")[-1]
             for page in reader.pages for font in page["/Resources"]["/Font"].values()}  # fmt: skip
    assert {"NotoSans", "NotoSansArabic"} <= fonts
    assert set(arabic.replace(" ", "")) <= set(text)
    assert "1 answer(s) use a script this PDF's fonts do not cover" in text
    # Only the Chinese answer carries the notice, right after its question marks.
    assert text.count("Some characters of this answer cannot be shown in this PDF") == 1
    assert "China ?????? Some characters of this answer" in text
    html = exports.report_html(report)
    assert arabic in html and chinese in html


def _pdf(text: str) -> bytes:
    document = FPDF()
    document.add_page()
    document.set_font("helvetica", size=12)
    if text:
        document.multi_cell(0, 10, text)
    else:
        document.rect(10, 10, 40, 40)
    return bytes(document.output())


@pytest.fixture
def practice_id(tracker_db, people):
    with tracker_db.transaction() as session:
        return service.create_practice(
            session,
            people["kenya"],
            PracticeInput(
                title="Violence interrupters",
                summary="Outreach workers mediate disputes.",
                state="KEN",
                paragraphs=(21,),
            ),
        ).id


def test_upload_extracts_and_indexes_text(tracker_db, people, practice_id):
    # One file, uploaded twice: fpdf2 stamps the creation time, so two renders may differ.
    content = _pdf("Evaluation found fewer shootings.")
    with tracker_db.transaction() as session:
        document = service.add_document(
            session,
            people["kenya"],
            practice_id,
            content,
            "eval.pdf",
        )
        assert (document.kind, document.pages) == ("pdf", 1)
    with tracker_db.transaction() as session:
        found = search(session, "shootings", unpublished=["KEN"])
        assert [(hit.kind, hit.ref_id) for hit in found.hits] == [("document", document.id)]
        with pytest.raises(ConflictError, match="already attached"):
            service.add_document(
                session,
                people["kenya"],
                practice_id,
                content,
                "again.pdf",
            )


BAD_UPLOADS = [
    (b"GIF89a...", "photo.gif", "unsupported file type"),
    (b"x" * 2048, "big.txt", "over the limit"),
    (b"%PDF-1.4 garbage", "broken.pdf", "could not be read"),
    (None, "scan.pdf", "no text"),
    (b"plain", "fake.docx", "content is a text file"),
]


def test_bad_uploads_store_nothing(tracker_db, people, practice_id):
    for content, filename, message in BAD_UPLOADS:
        content = _pdf("") if content is None else content
        with tracker_db.transaction() as session, pytest.raises(DataFileError, match=message):
            service.add_document(
                session, people["kenya"], practice_id, content, filename, max_bytes=1024
            )
    with tracker_db.transaction() as session:
        assert session.execute(select(func.count()).select_from(Document)).scalar_one() == 0


def test_other_states_may_not_upload(tracker_db, people, practice_id):
    with tracker_db.transaction() as session, pytest.raises(PermissionDeniedError):
        service.add_document(session, people["ghana"], practice_id, b"notes", "n.txt")


def test_coverage_map_joins_states_on_their_iso_numeric_code(filled, people, tracker_client):
    with filled.transaction() as session:
        _publish(session, people, "MLT", [AnswerInput(1, "Malta reports.", paragraphs=(21,))])
    page = tracker_client.get("/tracker/coverage")
    assert page.status_code == 200
    found = re.search(
        r'<script type="application/json" id="tracker-coverage-spec">(.*?)</script>',
        page.text,
        re.S,
    )
    assert found is not None
    spec = json.loads(found.group(1))
    outlines, shaded = spec["layer"]
    lookup = shaded["transform"][0]
    assert lookup["lookup"] == "id" and lookup["from"]["key"] == "m49"
    values = {row["iso3"]: row for row in lookup["from"]["data"]["values"]}
    # ISO 3166-1 numeric codes: Ghana 288, Kenya 404, Malta 470.
    assert {code: values[code]["m49"] for code in values} == {
        "GHA": "288",
        "KEN": "404",
        "MLT": "470",
    }
    assert (values["KEN"]["paragraphs"], values["KEN"]["reports"]) == (3, 3)
    assert (values["GHA"]["paragraphs"], values["GHA"]["reports"]) == (2, 2)
    # The outlines are served from the vendored file, whose shapes carry the same codes.
    atlas = tracker_client.get(outlines["data"]["url"])
    assert atlas.status_code == 200
    names = {
        shape.get("id"): shape["properties"]["name"]
        for shape in atlas.json()["objects"]["countries"]["geometries"]
    }
    assert (names["288"], names["404"]) == ("Ghana", "Kenya") and "470" not in names
    # Malta has no shape at 1:110m, so the page names it under the map.
    assert re.search(r"Too small to draw at this scale: <a [^>]*>Malta</a> \(1\)", page.text)
    twin = tracker_client.get("/api/tracker/coverage").json()
    assert {row["iso3"]: row["m49"] for row in twin["states"]} == {
        "GHA": "288",
        "KEN": "404",
        "MLT": "470",
    }


def test_practice_exports_carry_every_field(tracker_db, people):
    with tracker_db.transaction() as session:
        number = service.create_practice(
            session,
            people["kenya"],
            PracticeInput(
                title="Street lights",
                summary="Lights in market lanes.",
                state="KEN",
                level="local",
                locality="Kisumu",
                evaluation="Before/after count of burglaries, published 2024.",
                contact="safety@example.org",
                year=2022,
                paragraphs=(26,),
                iccs_codes=("0501",),
                sdg=("16.1",),
                population_groups=("communities", "women_and_girls"),
            ),
        ).id
        service.add_document(
            session, people["kenya"], number, b"Burglaries fell by a third.", "evaluation.txt"
        )
        service.submit_practice(session, people["kenya"], number)
        service.publish_practice(session, people["secretary"], number)
    with tracker_db.transaction() as session:
        content, _, _ = exports.export(session, people["public"], "practices", "csv")
        as_json, _, _ = exports.export(session, people["public"], "practices", "json")
    (record,) = list(csv.DictReader(io.StringIO(content.decode("utf-8-sig"))))
    assert {key: record[key] for key in (
        "state", "region", "level", "locality", "year", "paragraphs", "iccs_codes",
        "sdg_targets", "population_groups", "evaluation", "contact", "documents",
    )} == {
        "state": "Kenya", "region": "Africa", "level": "local", "locality": "Kisumu",
        "year": "2022", "paragraphs": "26", "iccs_codes": "0501", "sdg_targets": "16.1",
        "population_groups": "communities women_and_girls",
        "evaluation": "Before/after count of burglaries, published 2024.",
        "contact": "safety@example.org", "documents": "evaluation.txt",
    }  # fmt: skip
    assert json.loads(as_json)[0]["iccs_codes"] == "0501"


def test_a_document_added_to_a_published_practice_waits_for_review(tracker_db, people):
    with tracker_db.transaction() as session:
        number = service.create_practice(
            session,
            people["kenya"],
            PracticeInput(title="Market wardens", summary="Wardens patrol markets.", state="KEN"),
        ).id
        service.submit_practice(session, people["kenya"], number)
        service.publish_practice(session, people["secretary"], number)
    with tracker_db.transaction() as session:
        late = service.add_document(
            session, people["kenya"], number, b"An unreviewed claim.", "late.txt"
        )
        late_id = late.id
    with tracker_db.transaction() as session:
        found = session.get(Practice, number)
        assert found.status == "draft" and found.published_at is None
        assert views.visible_practices(session, people["public"], state="KEN") == []
        with pytest.raises(NotFoundError):
            service.get_document(session, people["public"], late_id)
        assert search(session, "unreviewed").total == 0
        history = views.review_history(session, people["kenya"], "tracker_practice", number, "KEN")
        assert [row.action for row in history][-2:] == ["update", "upload document"]
        assert history[-2].note == "document late.txt added: a draft again, for review"
        # The secretariat may add a document to a published practice without unpublishing it.
        service.submit_practice(session, people["kenya"], number)
        service.publish_practice(session, people["secretary"], number)
        service.add_document(session, people["secretary"], number, b"Reviewed annex.", "annex.txt")
        assert session.get(Practice, number).status == "published"
        assert search(session, "annex").total == 1
