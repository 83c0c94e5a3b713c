"""Concordance validation, coverage and suggestions."""

from __future__ import annotations

import pytest

from crimeprev.errors import DataFileError
from crimeprev.store.concordance import (
    check_concordance,
    coverage,
    load_concordance,
    scheme_names,
    suggest,
)


@pytest.mark.parametrize("scheme", scheme_names())
def test_bundled_concordances_are_valid(scheme):
    assert check_concordance(scheme) == []


def test_problems_name_line_field_and_rule(tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text(
        "national_code,national_label,iccs_code,share,valid_from,valid_to,note\n"
        "A,Alpha,0501,1,,,\n"
        "B,Beta,9999,1,,,\n"
        "C,Gamma,0501,0.5,,,\n"
        "C,Gamma,0502,0.3,,,\n"
        "D,Delta,0501,1,2020-01-01,2021-12-31,\n"
        "D,Delta,0501,1,2021-06-01,,\n"
        "E,Epsilon,0502,1,2020-13-01,,\n"
        "F,Phi,0502,1.5,,,\n",
        encoding="utf-8",
    )
    problems = [str(p) for p in check_concordance(path)]
    assert any("line 3: field 'iccs_code' = '9999': not an ICCS code" in p for p in problems)
    assert any("shares of 'C' sum to 0.8, not 1 (lines 4, 5)" in p for p in problems)
    assert any("line 7" in p and "overlapping line 6" in p for p in problems)
    assert any("line 8: field 'valid_from' = '2020-13-01'" in p for p in problems)
    assert any("line 9: field 'share' = '1.5'" in p for p in problems)
    with pytest.raises(DataFileError, match="problem"):
        load_concordance(path)


def test_dated_rows_that_follow_each_other_are_valid(tmp_path):
    path = tmp_path / "dated.csv"
    path.write_text(
        "national_code,national_label,iccs_code,share,valid_from,valid_to,note\n"
        "V,Violent crime,02,1,,2013-04-30,\n"
        "V,Violent crime,02,0.9,2013-05-01,,\n"
        "V,Violent crime,03,0.1,2013-05-01,,\n",
        encoding="utf-8",
    )
    assert check_concordance(path) == []
    assert load_concordance(path).dated


def test_missing_column_is_a_file_error(tmp_path):
    path = tmp_path / "short.csv"
    path.write_text("code,iccs\nA,0501\n", encoding="utf-8")
    with pytest.raises(DataFileError, match="missing column"):
        load_concordance(path)


def test_coverage_of_bundled_sources(loaded_warehouse):
    report = coverage(loaded_warehouse, "vancouver_2020")
    assert report.share_records == 1.0 and report.codes == 11
    sf = coverage(loaded_warehouse, "sf_2012")
    assert sf.codes_mapped == sf.codes and sf.records == 10_140


def test_suggest_ranks_burglary_for_break_and_enter():
    (item,) = suggest([("BEC", "Break and Enter Commercial", 2787)])
    assert [hit.code for hit in item.candidates[:3]] == ["0501", "05011", "05012"]
    assert item.records == 2787
