"""The crimeprev command."""

from __future__ import annotations

from typer.testing import CliRunner

import crimeprev
from crimeprev.cli.main import app

runner = CliRunner()


def invoke(*args: str, env: dict[str, str] | None = None):
    return runner.invoke(app, list(args), env=env)


def test_version():
    result = invoke("--version")
    assert result.exit_code == 0
    assert crimeprev.__version__ in result.output


def test_iccs_search_ranks_burglary_first():
    result = invoke("iccs", "search", "burglary")
    assert result.exit_code == 0
    rows = [line for line in result.output.splitlines() if "│" in line and "0" in line]
    assert rows[0].split("│")[1].strip() == "0501"


def test_iccs_search_without_results_exits_1():
    result = invoke("iccs", "search", "zzzzqqqq")
    assert result.exit_code == 1
    assert "no ICCS category matches" in result.output


def test_iccs_show():
    result = invoke("iccs", "show", "0501")
    assert result.exit_code == 0
    assert (
        "Burglary" in result.output and "05012" in result.output and "parent: 05" in result.output
    )


def test_iccs_show_unknown_code_is_a_clear_error():
    result = invoke("iccs", "show", "0599")
    assert result.exit_code == 2
    assert "not an ICCS 1.0 code" in result.output and "Nearest valid codes" in result.output


def test_iccs_tree_section_05_depth_2():
    result = invoke("iccs", "tree", "05", "--depth", "2")
    assert result.exit_code == 0
    out = result.output
    assert "05  Acts against property only" in out or "Acts against property" in out
    assert "0501  Burglary" in out and "05012  Burglary of private residential premises" in out
    assert "050121" not in out  # level 4 is three levels below the section


def test_iccs_tree_of_sections():
    result = invoke("iccs", "tree")
    assert result.exit_code == 0
    assert "01" in result.output and "0101" not in result.output


def test_settings_lists_every_setting(tmp_path):
    result = invoke("settings", env={"CRIMEPREV_DATA_DIR": str(tmp_path)})
    assert result.exit_code == 0
    for name in ("data_dir", "warehouse_url", "database_url", "secret_key", "host", "port"):
        assert name in result.output


def test_demo_build(tmp_path):
    result = invoke("demo", "build", env={"CRIMEPREV_DATA_DIR": str(tmp_path / "d")})
    assert result.exit_code == 0, result.output
    assert "320 codes" in result.output
    assert (tmp_path / "d" / "secret_key").exists()
