"""The bundled Member States list, checked against facts stated independently here."""

from __future__ import annotations

import csv
from importlib import resources

import pytest

from crimeprev.errors import InvalidInputError, UnknownCodeError
from crimeprev.tracker import member_states as ms


def _rows() -> list[dict[str, str]]:
    text = resources.files("crimeprev.tracker").joinpath("data", "member_states.csv")
    return list(csv.DictReader(text.read_text("utf-8").splitlines()))


def test_there_are_193_member_states_with_unique_codes():
    rows = _rows()
    assert len(rows) == 193
    for column in ("iso3", "iso2", "m49", "name"):
        assert len({row[column] for row in rows}) == 193, column
    assert all(len(row["iso3"]) == 3 and row["iso3"].isupper() for row in rows)
    assert all(len(row["iso2"]) == 2 and row["iso2"].isupper() for row in rows)
    assert all(len(row["m49"]) == 3 and row["m49"].isdigit() for row in rows)


def test_region_counts_follow_m49():
    # M49 groups the 193 Member States as 54 in Africa, 35 in the Americas,
    # 47 in Asia, 43 in Europe and 14 in Oceania.
    counts = {region: len(ms.member_states(region)) for region in ms.regions()}
    assert counts == {"Africa": 54, "Americas": 35, "Asia": 47, "Europe": 43, "Oceania": 14}


@pytest.mark.parametrize(
    ("key", "iso3", "iso2", "m49", "subregion"),
    [
        ("Namibia", "NAM", "NA", "516", "Sub-Saharan Africa"),  # "NA" must not become missing
        ("france", "FRA", "FR", "250", "Western Europe"),
        ("JP", "JPN", "JP", "392", "Eastern Asia"),
        ("076", "BRA", "BR", "076", "Latin America and the Caribbean"),
        ("Fiji", "FJI", "FJ", "242", "Melanesia"),
        ("South Sudan", "SSD", "SS", "728", "Sub-Saharan Africa"),
        ("Republic of Korea", "KOR", "KR", "410", "Eastern Asia"),
        ("United States of America", "USA", "US", "840", "Northern America"),
    ],
    ids=["namibia", "france", "japan", "brazil", "fiji", "south-sudan", "korea", "usa"],
)
def test_spot_values(key, iso3, iso2, m49, subregion):
    found = ms.member_state(key)
    assert (found.iso3, found.iso2, found.m49, found.subregion) == (iso3, iso2, m49, subregion)


@pytest.mark.parametrize("code", ["VAT", "PSE", "COK", "NIU", "TWN", "XKX", "ATA"])
def test_non_members_are_not_listed(code):
    with pytest.raises(UnknownCodeError, match="not a UN Member State"):
        ms.member_state(code)


def test_unknown_name_suggests_the_closest():
    with pytest.raises(UnknownCodeError) as caught:
        ms.member_state("Keyna")
    assert "Kenya" in caught.value.details["closest"]


def test_non_text_is_refused():
    with pytest.raises(InvalidInputError):
        ms.member_state(404)  # type: ignore[arg-type]


def test_unknown_region_lists_the_valid_ones():
    with pytest.raises(UnknownCodeError, match="Western Africa|Sub-Saharan"):
        ms.member_states("Atlantis")


def test_intermediate_regions():
    western_africa = {state.iso3 for state in ms.member_states("Western Africa")}
    assert len(western_africa) == 16
    assert {"NGA", "GHA", "SEN", "CPV"} <= western_africa
    assert ms.member_state("DEU").intermediate_region is None
