"""SDG indicators as data, checked against the packaged ``sdg_indicators.csv``
(sources in ``../shared/data/standards/REPORT.md``: open-sdg global indicator
names, UNSD metadata) and against ICCS 1.0."""

from __future__ import annotations

import dataclasses

import pytest

from crimeprev.errors import DataFileError, InvalidInputError, NotFoundError, UnknownCodeError
from crimeprev.standards import iccs, sdg

PUBLISHED_IDS = [
    "16.1.1", "16.1.2", "16.1.3", "16.1.4",
    "16.2.1", "16.2.2", "16.2.3",
    "16.3.1", "16.3.2", "16.3.3",
    "16.4.1", "16.4.2",
    "16.5.1", "16.5.2",
    "5.2.1", "5.2.2", "5.3.1", "5.3.2",
    "11.7.2",
]  # fmt: skip


def ids_of(found: list[sdg.SdgIndicator]) -> list[str]:
    return [item.indicator for item in found]


def test_nineteen_indicators_in_file_order():
    assert ids_of(sdg.indicators()) == PUBLISHED_IDS


@pytest.mark.parametrize(("goal", "count"), [(16, 14), (5, 4), (11, 1), (1, 0)], ids=str)
def test_indicators_of_one_goal(goal, count):
    found = sdg.indicators(goal=goal)
    assert len(found) == count
    assert all(item.goal == goal for item in found)


def test_homicide_indicator_16_1_1():
    found = sdg.indicator("16.1.1")
    assert (
        found.name
        == "Number of victims of intentional homicide per 100,000 population, by sex and age"
    )
    assert found.iccs_codes == ("0101",)
    assert found.related_iccs_codes == ()
    assert found.unit == "per 100,000 population"
    assert found.custodian_agency == "UNODC; WHO"
    assert found.custodian_agencies == ("UNODC", "WHO")
    assert (found.goal, found.target) == (16, "16.1")
    assert "ICD-10 X85-Y09" in found.data_source_type
    assert found.verified


def test_every_column_is_kept_as_text():
    found = sdg.indicator("16.4.1")
    assert found.denominator == "none (level indicator)"
    assert found.unit == "current United States dollars"
    assert found.numerator.startswith("Total value of inward and outward illicit financial flows")
    assert found.disaggregations.startswith("inward/outward")
    assert found.verification == "partly verified: name and custodians; method from recall"


@pytest.mark.parametrize(
    ("identifier", "codes", "related", "note"),
    [
        ("16.1.1", ("0101",), (), None),
        ("16.1.2", ("0107",), ("110131",), None),  # "0107; 110131 (related)"
        ("16.1.3", ("02011", "02012", "0301"), (), None),  # labels in parentheses dropped
        ("16.1.4", (), (), None),  # empty cell
        ("16.2.2", ("0204",), (), None),  # "(02041-02044)" is the range under 0204
        ("16.3.1", ("02011", "0301", "0401"), (), None),
        ("16.4.1", (), ("0704", "07041"), None),  # trailing " - related" covers both
        ("16.4.2", ("0901",), (), None),
        ("16.5.1", ("07031", "070311", "070312"), (), None),  # "070311/070312"
        ("5.2.1", ("02011", "0301", "0208"), (), None),
        ("5.3.1", (), ("020292",), None),
        ("5.3.2", ("020111",), (), "where criminalized"),
        ("11.7.2", ("02081", "030122"), (), None),
    ],
    ids=lambda value: str(value)[:14],
)
def test_iccs_cell_is_parsed_into_codes_related_codes_and_note(identifier, codes, related, note):
    found = sdg.indicator(identifier)
    assert found.iccs_codes == codes
    assert found.related_iccs_codes == related
    assert found.iccs_note == note


def test_every_listed_code_is_an_iccs_code_with_its_leading_zero():
    listed = [
        code for item in sdg.indicators() for code in item.iccs_codes + item.related_iccs_codes
    ]
    assert len(listed) == 26
    for code in listed:
        assert isinstance(code, str)
        assert iccs.is_valid(code), code
    assert sum(code.startswith("0") for code in listed) == 25  # all but 110131


def test_partly_verified_rows_match_the_report():
    assert [item.indicator for item in sdg.indicators() if not item.verified] == [
        "16.1.2", "16.2.1", "16.2.3", "16.4.1", "16.5.2", "5.2.2", "5.3.1", "5.3.2",
    ]  # fmt: skip


def test_custodian_remarks_in_parentheses_are_left_out():
    found = sdg.indicator("5.2.2")
    assert found.custodian_agency.startswith("UNICEF; UN Women; UNFPA; WHO; UNODC; UNSD (")
    assert found.custodian_agencies == ("UNICEF", "UN Women", "UNFPA", "WHO", "UNODC", "UNSD")
    assert sdg.indicator("16.5.2").custodian_agencies == ("World Bank", "UNODC")


@pytest.mark.parametrize("text", ["16.1.1", " 16.1.1 ", "SDG 16.1.1", "sdg16.1.1"], ids=repr)
def test_indicator_accepts_an_sdg_prefix_and_spaces(text):
    assert sdg.indicator(text).indicator == "16.1.1"


@pytest.mark.parametrize("text", ["16.1.9", "16.1", "", "0101"], ids=repr)
def test_unknown_indicator_lists_the_valid_ids(text):
    with pytest.raises(UnknownCodeError) as caught:
        sdg.indicator(text)
    error = caught.value
    assert isinstance(error, NotFoundError) and isinstance(error, KeyError)
    assert error.details["valid"] == PUBLISHED_IDS
    assert str(error).startswith(f"{text!r} is not an SDG indicator")
    assert "16.1.1, 16.1.2" in str(error) and str(error).endswith("11.7.2")


@pytest.mark.parametrize("value", [16.1, None], ids=repr)
def test_indicator_id_must_be_text(value):
    with pytest.raises(InvalidInputError, match="must be text"):
        sdg.indicator(value)


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        ("0101", ["16.1.1"]),  # exact
        ("01", ["16.1.1", "16.1.2"]),  # section above 0101 and 0107
        ("010", None),  # not a code
        ("0204", ["16.2.2"]),
        ("02041", ["16.2.2"]),  # descendant of 0204
        ("ICCS0204", ["16.2.2"]),  # Eurostat prefix
        ("0301", ["16.1.3", "16.2.3", "16.3.1", "5.2.1", "5.2.2", "11.7.2"]),
        ("03012", ["16.1.3", "16.2.3", "16.3.1", "5.2.1", "5.2.2", "11.7.2"]),
        ("0208", ["5.2.1", "11.7.2"]),  # 02081 lies under 0208
        ("07", ["16.4.1", "16.5.1", "16.5.2"]),
        ("070311", ["16.5.1", "16.5.2"]),  # active bribery lies under 07031
        ("11", ["16.1.2"]),  # 110131 is related to conflict deaths
        ("05", []),  # property crime: no SDG indicator
    ],
    ids=lambda value: str(value)[:14],
)
def test_indicators_for_iccs_follow_the_hierarchy(code, expected):
    if expected is None:
        with pytest.raises(UnknownCodeError):
            sdg.indicators_for_iccs(code)
    else:
        assert ids_of(sdg.indicators_for_iccs(code)) == expected


def test_related_codes_can_be_left_out():
    assert ids_of(sdg.indicators_for_iccs("07", include_related=False)) == ["16.5.1", "16.5.2"]
    assert sdg.indicators_for_iccs("11", include_related=False) == []
    assert ids_of(sdg.indicators_for_iccs("01", include_related=False)) == ["16.1.1", "16.1.2"]


def test_a_parent_code_answers_for_everything_its_children_answer_for():
    # Every indicator matching a code also matches its parent: prefixes only widen.
    for item in iccs.codes():
        if item.parent_code is None:
            continue
        child = set(ids_of(sdg.indicators_for_iccs(item.code)))
        parent = set(ids_of(sdg.indicators_for_iccs(item.parent_code)))
        assert child <= parent, item.code


def test_indicators_for_iccs_refuses_an_integer():
    with pytest.raises(InvalidInputError):
        sdg.indicators_for_iccs(101)  # type: ignore[arg-type]


def test_records_are_frozen():
    with pytest.raises(dataclasses.FrozenInstanceError):
        sdg.indicator("16.1.1").iccs_codes = ("01",)  # type: ignore[misc]


def test_malformed_code_in_the_file_names_row_and_field():
    with pytest.raises(DataFileError, match=r"row 7, field 'iccs_codes'.*'01x'"):
        sdg._parse_iccs_cell("0101; 01x (typo)", row=7)


def test_public_names_exist():
    assert sorted(sdg.__all__) == sdg.__all__
    for name in sdg.__all__:
        assert hasattr(sdg, name)
