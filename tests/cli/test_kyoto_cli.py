"""``crimeprev kyoto``."""

from __future__ import annotations

from typer.testing import CliRunner

from crimeprev.cli.main import app
from crimeprev.standards import kyoto

runner = CliRunner()


def test_paragraphs_of_pillar_one():
    result = runner.invoke(app, ["kyoto", "paragraphs", "--pillar", "I"])
    assert result.exit_code == 0
    for number in range(21, 31):
        assert str(number) in result.output
    assert "follow-up" not in result.output


def test_all_paragraphs_include_follow_up():
    result = runner.invoke(app, ["kyoto", "paragraphs"])
    assert result.exit_code == 0 and "follow-up" in result.output


def test_sessions_lists_every_question():
    result = runner.invoke(app, ["kyoto", "sessions"], env={"COLUMNS": "400"})
    assert result.exit_code == 0
    for item in kyoto.sessions():
        assert f"Session {item.number}" in result.output
        assert f"Q{len(item.questions)}." in result.output
