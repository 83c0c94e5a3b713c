"""Text extraction from uploads, and every way an upload can be bad."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import docx
import pytest
from fpdf import FPDF

from crimeprev.errors import DataFileError
from crimeprev.tracker.documents import detect_kind, extract_text


def _pdf(*pages: str) -> bytes:
    document = FPDF()
    document.set_font("helvetica", size=12)
    for text in pages:
        document.add_page()
        if text:
            document.multi_cell(0, 10, text)
        else:
            document.rect(20, 20, 50, 30)  # a drawing, no text: like a scanned page
    return bytes(document.output())


def _docx(*paragraphs: str, table: list[list[str]] | None = None) -> bytes:
    document = docx.Document()
    for text in paragraphs:
        document.add_paragraph(text)
    if table:
        grid = document.add_table(rows=len(table), cols=len(table[0]))
        for row, values in zip(grid.rows, table, strict=True):
            for cell, value in zip(row.cells, values, strict=True):
                cell.text = value
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def test_pdf_text_and_pages():
    found = extract_text(_pdf("Street lighting in Ward 4.", "Burglary fell by a third."), "a.pdf")
    assert found.kind == "pdf" and found.pages == 2
    assert "Street lighting in Ward 4." in found.text
    assert "Burglary fell by a third." in found.text
    assert found.media_type == "application/pdf"
    assert len(found.sha256) == 64


def test_docx_paragraphs_and_tables():
    content = _docx("Youth mentoring", "Evaluated in 2022.", table=[["Year", "Reoffending"]])
    found = extract_text(content, "folder/practice.DOCX")
    assert found.filename == "practice.DOCX"
    assert found.kind == "docx"
    assert found.text.splitlines() == ["Youth mentoring", "Evaluated in 2022.", "Year\tReoffending"]


def test_text_with_bom():
    found = extract_text("\ufeffNeighbourhood watch — résumé".encode(), "n.txt")
    assert found.text == "Neighbourhood watch — résumé"


def test_pdf_with_no_text_is_refused():
    with pytest.raises(DataFileError, match="no text.*scanned image.*OCR") as caught:
        extract_text(_pdf(""), "scan.pdf")
    assert caught.value.details["file"] == "scan.pdf"


@pytest.mark.parametrize(
    ("content", "filename", "message"),
    [
        (b"", "empty.txt", "the file is empty"),
        (b"hello", "photo.jpg", "unsupported file type.*'.jpg'.*.pdf, .docx, .txt"),
        (b"hello", "noextension", "unsupported file type.*no extension"),
        (b"\x89PNG\r\n\x1a\n\x00\x00", "image.pdf", "not a PDF, DOCX or UTF-8 text"),
        (b"%PDF-1.4 hello", "report.docx", "content is a PDF but the name ends in .docx"),
        (b"plain words", "report.pdf", "content is a text file but the name ends in .pdf"),
        (b"\xff\xfe\xfa latin", "legacy.txt", "not a PDF, DOCX or UTF-8 text"),
        (b"%PDF-1.4\nthis is not really a pdf", "broken.pdf", "PDF could not be read"),
        (b"   \n\t  ", "blank.txt", "no text; upload a file with text"),
    ],
    ids=[
        "empty",
        "wrong-type",
        "no-extension",
        "png-named-pdf",
        "pdf-named-docx",
        "text-named-pdf",
        "not-utf8",
        "malformed-pdf",
        "blank-text",
    ],
)
def test_bad_uploads(content, filename, message):
    with pytest.raises(DataFileError, match=message):
        extract_text(content, filename)


def test_oversized():
    with pytest.raises(DataFileError, match="over the limit of 1000 bytes"):
        extract_text(b"x" * 1001, "long.txt", max_bytes=1000)
    assert extract_text(b"x" * 1000, "long.txt", max_bytes=1000).size == 1000


def test_zip_that_is_not_a_docx():
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("readme.txt", "hello")
    assert detect_kind(buffer.getvalue()) is None
    with pytest.raises(DataFileError, match="not a PDF, DOCX"):
        extract_text(buffer.getvalue(), "x.docx")


def test_malformed_docx():
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("word/document.xml", "<not xml")
        archive.writestr("[Content_Types].xml", "<broken")
    with pytest.raises(DataFileError, match="DOCX could not be read"):
        extract_text(buffer.getvalue(), "x.docx")


def test_truncated_docx():
    content = _docx("Some text")
    with pytest.raises(DataFileError, match="file x.docx"):
        extract_text(content[: len(content) // 2], "x.docx")


# The lines of tests/tracker/data/unicode_scripts.pdf (made by make_unicode_pdf.py there),
# in reading order, as a reader should extract them.
UNICODE_LINES = [
    "Профилактика преступности: общинная полиция в городах.",
    "منع الجريمة في المدن",
    "A financial investigation unit (ligature fi in the PDF).",  # the PDF has "ﬁ" ligatures
    "预防犯罪与刑事司法",
]
UNICODE_PDF = Path(__file__).with_name("data") / "unicode_scripts.pdf"


def test_pdf_text_in_cyrillic_arabic_and_chinese():
    content = UNICODE_PDF.read_bytes()
    found = extract_text(content, "scripts.pdf")
    assert found.kind == "pdf" and found.pages == 1
    assert found.text.splitlines() == UNICODE_LINES


def test_docx_text_in_cyrillic_arabic_and_chinese():
    content = _docx(
        UNICODE_LINES[0],
        UNICODE_LINES[1],
        table=[["Страна", "Мера"], ["中国", "预防犯罪"], ["مصر", "الشرطة المجتمعية"]],
    )
    found = extract_text(content, "scripts.docx")
    assert found.text.splitlines() == [
        UNICODE_LINES[0],
        UNICODE_LINES[1],
        "Страна\tМера",
        "中国\t预防犯罪",
        "مصر\tالشرطة المجتمعية",
    ]


def test_full_width_and_ligatures_are_normalised():
    found = extract_text("ＩＣＣＳ ０１０１ and ﬁrearms".encode(), "note.txt")
    assert found.text == "ICCS 0101 and firearms"
