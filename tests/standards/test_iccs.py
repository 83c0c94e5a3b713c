"""ICCS 1.0 as data: structure checks against the published counts and spot values
from UNODC (2015), ICCS Version 1.0, Part Two and Annex 2."""

from __future__ import annotations

from collections import Counter

import pytest
from hypothesis import given
from hypothesis import strategies as st

from crimeprev.errors import InvalidInputError, UnknownCodeError
from crimeprev.standards import iccs

ALL_CODES = [c.code for c in iccs.codes()]


def test_codes_are_unique_and_320():
    assert len(ALL_CODES) == 320
    assert len(set(ALL_CODES)) == 320


def test_codes_per_level_match_the_published_structure():
    counts = Counter(c.level for c in iccs.codes())
    assert counts == {1: 11, 2: 63, 3: 148, 4: 98}


def test_every_parent_exists_and_levels_follow_code_length():
    for item in iccs.codes():
        assert len(item.code) == iccs.LEVELS[item.level], item
        if item.level == 1:
            assert item.parent_code is None
        else:
            assert item.parent_code in ALL_CODES
            assert item.code.startswith(item.parent_code)
            assert iccs.get(item.parent_code).level == item.level - 1


@pytest.mark.parametrize(
    ("code", "label"),
    [
        ("01", "Acts leading to death or intending to cause death"),
        ("0101", "Intentional homicide"),
        ("0501", "Burglary"),
        ("050121", "Burglary of permanent private residences"),
        ("0701", "Fraud"),
        ("11", "Other criminal acts not elsewhere classified"),
    ],
    ids=["section-01", "homicide", "burglary", "level4", "fraud", "section-11"],
)
def test_spot_labels(code, label):
    assert iccs.get(code).label == label


def test_leading_zeros_are_kept():
    assert iccs.get("0101").code == "0101"
    with pytest.raises(InvalidInputError, match="leading zeros"):
        iccs.get(101)  # type: ignore[arg-type]


def test_children_ancestors_descendants():
    assert [c.code for c in iccs.children("0501")] == ["05011", "05012", "05013", "05019"]
    assert [c.code for c in iccs.children("050121")] == []
    assert [a.code for a in iccs.ancestors("050121")] == ["05", "0501", "05012"]
    assert iccs.parent("05") is None
    level3 = [c.code for c in iccs.descendants("05", level=3)]
    assert "05012" in level3 and all(len(c) == 5 for c in level3)
    assert {c.code for c in iccs.descendants("0501")} == {
        "05011",
        "05012",
        "050121",
        "050122",
        "05013",
        "05019",
    }


def test_roll_up():
    assert iccs.roll_up("050121", 1) == "05"
    assert iccs.roll_up("050121", 3) == "05012"
    assert iccs.roll_up("0501", 2) == "0501"
    with pytest.raises(InvalidInputError, match="cannot roll 0501"):
        iccs.roll_up("0501", 3)


def test_unknown_code_names_nearest_valid_codes():
    with pytest.raises(UnknownCodeError) as info:
        iccs.validate("05015")
    message = str(info.value)
    assert "'05015' is not an ICCS 1.0 code" in message
    assert "05011" in info.value.details["nearest"] or "05019" in info.value.details["nearest"]
    assert all(iccs.is_valid(code) for code in info.value.details["nearest"])


def test_eurostat_prefix_is_accepted():
    assert iccs.validate("ICCS0101") == "0101"


def test_index_has_968_terms_and_keeps_printed_codes():
    terms = iccs.index_terms()
    assert len(terms) == 968
    corrected = [t for t in terms if t.code_as_printed and t.code != t.code_as_printed]
    assert corrected, "the index prints some draft codes that were corrected"
    assert all(t.code is None or iccs.is_valid(t.code) for t in terms)


def test_tags_include_attempted_and_victim_sex():
    attempted = iccs.tag("At")
    assert [c.label for c in attempted.categories][:2] == ["Attempted", "Completed"]
    assert iccs.tag("SV").variable == "Sex of victim"
    with pytest.raises(UnknownCodeError, match="not an ICCS tag"):
        iccs.tag("Nope")


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("burglary", "0501"),
        ("burglery", "0501"),
        ("0501", "0501"),
        ("fraud", "0701"),
        ("intentional homicide", "0101"),
        ("rape", "03011"),
    ],
    ids=["exact", "typo", "code", "fraud", "phrase", "rape"],
)
def test_search_ranks_the_expected_code_first(query, expected):
    assert iccs.search(query)[0].code == expected


def test_search_finds_index_terms():
    hits = iccs.search("shed garage")
    assert hits[0].code == "05012" and hits[0].via == "index"


def test_search_level_filter_and_empty_query():
    assert all(h.level == 3 for h in iccs.search("theft", level=3))
    assert iccs.search("   ") == []


@given(st.sampled_from(ALL_CODES), st.integers(1, 4))
def test_roll_up_is_an_ancestor_or_self(code, level):
    item = iccs.get(code)
    if level > item.level:
        return
    rolled = iccs.roll_up(code, level)
    assert code.startswith(rolled)
    assert iccs.get(rolled).level == level
