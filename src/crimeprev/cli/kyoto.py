"""``crimeprev kyoto``: the Kyoto Declaration's structure and thematic sessions."""

from __future__ import annotations

import typer
from rich.table import Table

from crimeprev.cli._output import console, styled
from crimeprev.standards import kyoto

app = typer.Typer(
    help="The Kyoto Declaration (2021): pillars, paragraphs, thematic sessions.",
    no_args_is_help=True,
)


@app.command("paragraphs")
def paragraphs(
    pillar: str | None = typer.Option(None, help="Only this pillar (1-4 or I-IV)"),
) -> None:
    """List the paragraphs with their pillar, title and summary."""
    items = kyoto.paragraphs(int(pillar) if pillar and pillar.isdigit() else pillar)
    table = Table(title=kyoto.declaration().short_name)
    for column in ("para.", "pillar", "title", "summary"):
        table.add_column(column, overflow="fold")
    for item in items:
        table.add_row(
            str(item.number),
            item.pillar.roman if item.pillar else "follow-up",
            item.title or "",
            item.summary or "",
        )
    console.print(table)


@app.command("sessions")
def sessions() -> None:
    """List the thematic sessions of November 2021 with their topics and questions."""
    for item in kyoto.sessions():
        console.print(
            styled((f"Session {item.number}", "bold"), f" ({item.date.isoformat()}): {item.title}")
        )
        for topic in item.topics:
            numbers = ", ".join(str(n) for n in topic.paragraph_numbers)
            console.print(f"  topic: {topic.title} (paragraphs {numbers})")
        for question in item.questions:
            console.print(f"  Q{question.number}. {question.summary}")
        console.print()
