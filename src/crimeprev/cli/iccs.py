"""``crimeprev iccs``: look up, search and browse the ICCS."""

from __future__ import annotations

import typer
from rich.table import Table
from rich.tree import Tree

from crimeprev.cli._output import console, print_error, styled
from crimeprev.errors import CrimeprevError
from crimeprev.standards import iccs

app = typer.Typer(
    help="The International Classification of Crime for Statistical Purposes.", no_args_is_help=True
)


def fail(error: CrimeprevError) -> typer.Exit:
    """Print an error the way every command does and return the exit to raise."""
    print_error(f"{error.message}")
    return typer.Exit(code=2)


@app.command("show")
def show(code: str = typer.Argument(..., help="An ICCS code, e.g. 0501")) -> None:
    """Show a code with its parent, children and index terms."""
    try:
        item = iccs.get(code)
    except CrimeprevError as error:
        raise fail(error) from error
    console.print(styled((item.code, "bold"), f" {item.label}  (level {item.level})"))
    parent = iccs.parent(item.code)
    console.print(f"parent: {parent.code} {parent.label}" if parent else "parent: (section)")
    kids = iccs.children(item.code)
    if kids:
        console.print("children:")
        for kid in kids:
            console.print(f"  {kid.code}  {kid.label}")
    terms = iccs.index_terms(item.code)
    if terms:
        console.print("index terms:")
        for term in terms:
            console.print(f"  - {term.term}")


@app.command("search")
def search(
    text: str = typer.Argument(..., help="Words, a phrase or a code"),
    limit: int = typer.Option(10, min=1, max=100, help="Number of results"),
) -> None:
    """Search codes, labels and index terms, best first."""
    hits = iccs.search(text, limit=limit)
    if not hits:
        console.print(f"no ICCS category matches {text!r}")
        raise typer.Exit(code=1)
    table = Table()
    for column in ("code", "category", "matched", "score"):
        table.add_column(column)
    for hit in hits:
        matched = f"index: {hit.matched}" if hit.via == "index" else hit.via
        table.add_row(hit.code, hit.label, matched, f"{hit.score:.0f}")
    console.print(table)


@app.command("tree")
def tree(
    code: str | None = typer.Argument(None, help="Start here (default: all sections)"),
    depth: int = typer.Option(1, min=0, max=4, help="Levels to show below the start"),
) -> None:
    """Print the hierarchy below a code (or the sections)."""
    try:
        roots = [iccs.get(code)] if code else iccs.sections()
    except CrimeprevError as error:
        raise fail(error) from error
    top = Tree("ICCS 1.0") if code is None else None

    def grow(node: Tree, item: iccs.IccsCode, remaining: int) -> None:
        if remaining <= 0:
            return
        for kid in iccs.children(item.code):
            grow(node.add(f"{kid.code}  {kid.label}"), kid, remaining - 1)

    for root in roots:
        label = styled((root.code, "bold"), f"  {root.label}")
        node = top.add(label) if top is not None else Tree(label)
        grow(node, root, depth if code else depth - 1)
        if top is None:
            console.print(node)
    if top is not None:
        console.print(top)
