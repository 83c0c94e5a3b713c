"""The CLI prints data literally: square brackets in messages are not Rich markup."""

from __future__ import annotations

import pytest

from crimeprev.cli._output import console, print_error, styled


def test_error_keeps_square_brackets(capsys: pytest.CaptureFixture[str]) -> None:
    print_error("row 4: offence '0A' [iccs_unknown]; label 'Theft [over $5000]'")
    out = capsys.readouterr().out
    assert "error: row 4: offence '0A' [iccs_unknown]; label 'Theft [over $5000]'" in out


def test_plain_print_and_tables_keep_brackets(capsys: pytest.CaptureFixture[str]) -> None:
    from rich.table import Table

    table = Table("reason")
    table.add_row("date in the future [date_future]")
    console.print(table)
    console.print("[bold]not markup[/bold]")
    console.print(styled(("0501", "bold"), " Burglary [level 2]"))
    out = capsys.readouterr().out
    assert "[date_future]" in out
    assert "[bold]not markup[/bold]" in out
    assert "0501 Burglary [level 2]" in out
