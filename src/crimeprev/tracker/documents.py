"""Text extraction from uploaded source documents: PDF, DOCX and plain text.

A good practice carries its source documents; their text is extracted once,
at upload, so that search covers them. The file's content decides its type,
not only its name: a PDF must start with ``%PDF-``, a DOCX must be a ZIP
holding ``word/document.xml``, and text must decode as UTF-8. A name whose
extension disagrees with the content is refused, as are files over the size
limit, files the parsers cannot read and PDFs without a text layer (scanned
images), each with a message that says what was wrong and what to do.

Text in any script is kept: pypdf reads the PDF's Unicode mapping (so Cyrillic,
Arabic and Chinese come out as written, right-to-left runs in reading order),
and the text is normalised (NFKC) so ligatures and presentation forms match
the words a user types.

Examples
--------
>>> found = extract_text(b"Community policing in three districts.", "note.txt")
>>> found.kind, found.text, found.pages
('text', 'Community policing in three districts.', None)
>>> extract_text(b"%PDF-1.7 ...", "report.docx")  # doctest: +ELLIPSIS
Traceback (most recent call last):
    ...
crimeprev.errors.DataFileError: file report.docx: the content is a PDF but the name ends in .docx...
"""

from __future__ import annotations

import hashlib
import io
import unicodedata
import zipfile
from dataclasses import dataclass
from pathlib import PurePath

from crimeprev.errors import DataFileError

__all__ = ["DEFAULT_MAX_BYTES", "EXTENSIONS", "ExtractedDocument", "detect_kind", "extract_text"]

#: Largest upload accepted unless the caller says otherwise (10 MiB).
DEFAULT_MAX_BYTES = 10 * 1024 * 1024

#: File name extensions accepted for each kind of document.
EXTENSIONS: dict[str, tuple[str, ...]] = {
    "pdf": (".pdf",),
    "docx": (".docx",),
    "text": (".txt", ".text", ".md"),
}

_MEDIA_TYPES = {
    "pdf": "application/pdf",
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "text": "text/plain; charset=utf-8",
}


@dataclass(frozen=True)
class ExtractedDocument:
    """A checked upload and its text.

    Attributes
    ----------
    filename : str
        The name as uploaded (without folders).
    kind : str
        ``"pdf"``, ``"docx"`` or ``"text"``.
    media_type : str
        The MIME type to serve the file with.
    size : int
        Bytes.
    sha256 : str
        Hex digest of the content, to spot duplicates.
    text : str
        The extracted text, whitespace-trimmed, never empty.
    pages : int or None
        Number of pages, for PDFs.
    """

    filename: str
    kind: str
    media_type: str
    size: int
    sha256: str
    text: str
    pages: int | None


def detect_kind(content: bytes) -> str | None:
    """Return ``"pdf"``, ``"docx"`` or ``"text"`` from the content, or None.

    Examples
    --------
    >>> detect_kind(b"%PDF-1.4"), detect_kind(b"plain words"), detect_kind(b"\\x00\\x01")
    ('pdf', 'text', None)
    """
    if content.startswith(b"%PDF-"):
        return "pdf"
    if content.startswith(b"PK\x03\x04"):
        try:
            with zipfile.ZipFile(io.BytesIO(content)) as archive:
                names = set(archive.namelist())
        except zipfile.BadZipFile:
            return None
        return "docx" if "word/document.xml" in names else None
    if b"\x00" in content:
        return None
    try:
        content.decode("utf-8-sig")
    except UnicodeDecodeError:
        return None
    return "text"


def _kind_from_name(filename: str) -> str | None:
    suffix = PurePath(filename).suffix.lower()
    for kind, suffixes in EXTENSIONS.items():
        if suffix in suffixes:
            return kind
    return None


def _accepted() -> str:
    return ", ".join(suffix for suffixes in EXTENSIONS.values() for suffix in suffixes)


def _pdf_text(content: bytes, filename: str) -> tuple[str, int]:
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    try:
        reader = PdfReader(io.BytesIO(content))
        if reader.is_encrypted and not reader.decrypt(""):
            raise DataFileError(
                "the PDF is password-protected; upload an unprotected copy", file=filename
            )
        pages = [page.extract_text() or "" for page in reader.pages]
    except DataFileError:
        raise
    except (PdfReadError, ValueError, KeyError, TypeError, AttributeError, OSError) as error:
        raise DataFileError(
            f"the PDF could not be read ({error}); the file is damaged or not a real PDF",
            file=filename,
        ) from error
    return "\n\n".join(page.strip() for page in pages), len(pages)


def _docx_text(content: bytes, filename: str) -> str:
    import docx
    from docx.opc.exceptions import PackageNotFoundError

    try:
        document = docx.Document(io.BytesIO(content))
    except (PackageNotFoundError, KeyError, ValueError, zipfile.BadZipFile) as error:
        raise DataFileError(
            f"the DOCX could not be read ({error}); save it again from the word processor",
            file=filename,
        ) from error
    except Exception as error:  # lxml raises its own XMLSyntaxError for broken XML
        raise DataFileError(
            f"the DOCX could not be read ({type(error).__name__}: {error})", file=filename
        ) from error
    parts = [paragraph.text for paragraph in document.paragraphs]
    for table in document.tables:
        for row in table.rows:
            parts.append("\t".join(cell.text for cell in row.cells))
    return "\n".join(part for part in parts if part.strip())


def extract_text(
    content: bytes, filename: str, *, max_bytes: int = DEFAULT_MAX_BYTES
) -> ExtractedDocument:
    """Check an uploaded file and extract its text.

    Parameters
    ----------
    content : bytes
        The file's bytes.
    filename : str
        The name it was uploaded under; its extension must match the content.
    max_bytes : int, default=DEFAULT_MAX_BYTES
        Refuse larger files.

    Returns
    -------
    ExtractedDocument

    Raises
    ------
    DataFileError
        If the file is empty or too large, of a type other than PDF, DOCX or
        UTF-8 text, named with an extension that contradicts its content,
        damaged, password-protected, or has no text (e.g. a scanned PDF).

    Examples
    --------
    >>> extract_text(b"x" * 20, "big.txt", max_bytes=10)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
        ...
    crimeprev.errors.DataFileError: file big.txt: the file is 20 bytes, over the limit of 10...
    """
    name = PurePath(filename.replace("\\", "/")).name or "upload"
    size = len(content)
    if size == 0:
        raise DataFileError("the file is empty", file=name)
    if size > max_bytes:
        raise DataFileError(
            f"the file is {size} bytes, over the limit of {max_bytes} bytes; "
            "split it or upload a smaller version",
            file=name,
        )
    named = _kind_from_name(name)
    if named is None:
        raise DataFileError(
            "unsupported file type",
            file=name,
            value=PurePath(name).suffix or "(no extension)",
            expected=f"one of {_accepted()}",
        )
    found = detect_kind(content)
    if found is None:
        raise DataFileError(
            f"the content is not a PDF, DOCX or UTF-8 text file although the name ends in "
            f"{PurePath(name).suffix}; the file is damaged or of another type",
            file=name,
        )
    if found != named:
        raise DataFileError(
            f"the content is a {found.upper() if found != 'text' else 'text file'} but the "
            f"name ends in {PurePath(name).suffix}; rename the file or upload the right one",
            file=name,
        )
    pages: int | None = None
    if found == "pdf":
        text, pages = _pdf_text(content, name)
    elif found == "docx":
        text = _docx_text(content, name)
    else:
        text = content.decode("utf-8-sig")
    # Compatibility forms become plain characters, so that search finds them: the
    # ligatures PDFs use ("ﬁ" in "ﬁnancial"), Arabic presentation forms (shaped
    # letters some PDFs map to), full-width Latin letters and digits.
    text = unicodedata.normalize("NFKC", text).strip()
    if not text:
        hint = (
            "it is probably a scanned image; run text recognition (OCR) first"
            if found == "pdf"
            else "upload a file with text in it"
        )
        raise DataFileError(f"the file has no text; {hint}", file=name)
    return ExtractedDocument(
        filename=name,
        kind=found,
        media_type=_MEDIA_TYPES[found],
        size=size,
        sha256=hashlib.sha256(content).hexdigest(),
        text=text,
        pages=pages,
    )
