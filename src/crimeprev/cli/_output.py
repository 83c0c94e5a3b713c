"""The console every command prints through.

Rich reads square brackets as markup by default, so a message such as a quarantine
reason ``[iccs_unknown]`` or a national label ``Theft [over $5000]`` would lose its
brackets. Our console therefore prints text literally; the few styled pieces are built
as :class:`rich.text.Text` from parts, so data never passes through the markup parser.
"""

from __future__ import annotations

from rich.console import Console
from rich.text import Text

console = Console(markup=False)


def styled(*parts: str | tuple[str, str]) -> Text:
    """Join plain strings and ``(text, style)`` pairs into one Text, literally.

    Examples
    --------
    >>> styled(("0501", "bold"), " Burglary [level 2]").plain
    '0501 Burglary [level 2]'
    """
    return Text.assemble(*parts)


def print_error(message: str, *, label: str = "error") -> None:
    """Print ``error: message`` with the label in red and the message as given."""
    console.print(styled((f"{label}:", "red"), " ", message))
