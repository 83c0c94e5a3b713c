"""Make ``unicode_scripts.pdf``: one page of Cyrillic, Arabic and Chinese text.

Run once, by hand, with the two font files (Debian packages fonts-dejavu-core
and fonts-droid-fallback provide them); the PDF is kept in the repository so the
tests need no fonts::

    python tests/tracker/data/make_unicode_pdf.py DejaVuSans.ttf DroidSansFallbackFull.ttf

The fonts are embedded as subsets, as PDF writers do: DejaVu Sans (Bitstream
Vera / DejaVu licence, which allows embedding) and Droid Sans Fallback (Apache
2.0). The texts are our own short sentences, listed in ``LINES`` for the test.

The Arabic line is written in display order (right to left, the last letter
first), as word processors store right-to-left text in PDFs; fpdf2 without its
optional text shaping would otherwise draw the letters left to right. Letters
are in their isolated forms (no shaping), which changes how the line looks, not
the characters a reader extracts.
"""

from __future__ import annotations

import argparse
from datetime import UTC, datetime
from pathlib import Path

from fpdf import FPDF

#: (font, text in logical order, right to left?)
LINES = (
    ("DejaVu", "Профилактика преступности: общинная полиция в городах.", False),
    ("DejaVu", "منع الجريمة في المدن", True),
    ("DejaVu", "A \ufb01nancial investigation unit (ligature \ufb01 in the PDF).", False),
    ("Droid", "预防犯罪与刑事司法", False),
)


def main() -> None:
    """Write the PDF beside this script."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("dejavu_sans", type=Path, help="DejaVuSans.ttf")
    parser.add_argument("droid_fallback", type=Path, help="DroidSansFallbackFull.ttf")
    arguments = parser.parse_args()
    pdf = FPDF()
    pdf.set_creation_date(datetime(2026, 11, 29, tzinfo=UTC))  # a fixed stamp: reproducible
    pdf.add_page()
    pdf.add_font("DejaVu", fname=str(arguments.dejavu_sans))
    pdf.add_font("Droid", fname=str(arguments.droid_fallback))
    for font, text, right_to_left in LINES:
        pdf.set_font(font, size=12)
        shown = text[::-1] if right_to_left else text
        align = "R" if right_to_left else "L"
        pdf.multi_cell(0, 8, shown, new_x="LMARGIN", new_y="NEXT", align=align)
    pdf.output(str(Path(__file__).with_name("unicode_scripts.pdf")))


if __name__ == "__main__":
    main()
