"""The Kyoto Declaration structure, checked against the Commission's background
paper for the thematic discussions of 10-12 November 2021 on pillar I (the
paragraph ranges of its introduction, the session programme, the topic
headings and the lists of discussion questions)."""

from __future__ import annotations

import dataclasses
import datetime
import json
from importlib import resources

import pytest

from crimeprev.errors import DataFileError, InvalidInputError, NotFoundError
from crimeprev.standards import kyoto

PILLAR_I = range(21, 31)


@pytest.mark.parametrize(
    ("number", "roman", "first", "last", "title_word"),
    [
        (1, "I", 21, 30, "crime prevention"),
        (2, "II", 31, 47, "criminal justice system"),
        (3, "III", 48, 59, "rule of law"),
        (4, "IV", 60, 95, "international cooperation and technical assistance"),
    ],
    ids=["I", "II", "III", "IV"],
)
def test_pillar_numbers_ranges_and_titles_follow_the_paper(number, roman, first, last, title_word):
    found = kyoto.pillar(number)
    assert (found.number, found.roman) == (number, roman)
    assert (found.first_paragraph, found.last_paragraph) == (first, last)
    assert title_word in found.title.lower()
    assert kyoto.pillar(roman) == found


def test_pillar_i_is_titled_advancing_crime_prevention():
    assert kyoto.pillar(1).title == "Advancing crime prevention"


def test_pillars_are_four_and_tile_paragraphs_21_to_95():
    found = kyoto.pillars()
    assert [item.roman for item in found] == ["I", "II", "III", "IV"]
    covered = [number for item in found for number in item.paragraph_numbers]
    assert covered == list(range(21, 96))


@pytest.mark.parametrize(
    "key", [1, "I", "i", " I ", "1"], ids=["int", "roman", "lower", "spaces", "digit-text"]
)
def test_pillar_accepts_number_or_roman_numeral(key):
    assert kyoto.pillar(key).number == 1


@pytest.mark.parametrize(
    "key", [0, 5, "V", "pillar one", ""], ids=["zero", "five", "V", "words", "empty"]
)
def test_unknown_pillar_is_not_found_and_the_message_lists_the_pillars(key):
    with pytest.raises(NotFoundError, match="pillars 1-4") as caught:
        kyoto.pillar(key)
    assert caught.value.details["valid"] == ["I", "II", "III", "IV"]


@pytest.mark.parametrize("key", [True, 1.0, None], ids=["bool", "float", "none"])
def test_pillar_refuses_values_that_are_neither_integers_nor_text(key):
    with pytest.raises(InvalidInputError, match="integer"):
        kyoto.pillar(key)


def test_every_paragraph_from_21_to_95_knows_its_pillar():
    for number in range(21, 96):
        found = kyoto.paragraph(number)
        assert found.number == number
        assert found.pillar is not None
        assert number in found.pillar.paragraph_numbers
        assert not found.is_follow_up


@pytest.mark.parametrize("number", list(PILLAR_I), ids=[str(n) for n in PILLAR_I])
def test_pillar_i_paragraphs_carry_a_title_and_a_short_summary(number):
    found = kyoto.paragraph(number)
    assert found.pillar == kyoto.pillar("I")
    assert found.title and len(found.title) < 60
    assert found.summary is not None
    sentences = [part for part in found.summary.split(". ") if part]
    assert 1 <= len(sentences) <= 3
    assert found.summary.endswith(".")


def test_paragraphs_outside_pillar_i_carry_no_summary_or_session():
    for number in range(31, 96):
        found = kyoto.paragraph(number)
        assert (found.title, found.summary, found.topic, found.session_numbers) == (
            None,
            None,
            None,
            (),
        )


def test_paragraph_96_is_the_follow_up_by_the_commission():
    found = kyoto.paragraph(96)
    assert found.pillar is None
    assert found.is_follow_up
    assert found.title == "Follow-up by the Commission"
    assert found.summary is not None
    assert "Commission on Crime Prevention and Criminal Justice" in found.summary
    assert "2030 Agenda" in found.summary
    assert kyoto.declaration().follow_up_paragraph == 96


def test_summaries_keep_the_names_the_paper_gives():
    assert "International Classification of Crime for Statistical Purposes" in (
        kyoto.paragraph(22).summary or ""
    )
    assert "Effective Management and Disposal of Seized and Confiscated Assets" in (
        kyoto.paragraph(25).summary or ""
    )
    assert "domestic violence" in (kyoto.paragraph(28).summary or "")
    assert "gender-related killings" in (kyoto.paragraph(27).summary or "")


@pytest.mark.parametrize("number", [-1, 0, 1, 20, 97, 200], ids=str)
def test_out_of_range_paragraph_is_not_found_and_names_the_valid_range(number):
    with pytest.raises(NotFoundError, match="from 21 to 96") as caught:
        kyoto.paragraph(number)
    assert isinstance(caught.value, LookupError)
    assert caught.value.details == {"received": number, "valid_range": [21, 96]}


@pytest.mark.parametrize("number", ["21", 21.0, True], ids=["text", "float", "bool"])
def test_paragraph_number_must_be_an_integer(number):
    with pytest.raises(InvalidInputError, match="paragraph number must be an integer"):
        kyoto.paragraph(number)


def test_paragraphs_lists_21_to_96_in_order():
    found = kyoto.paragraphs()
    assert [item.number for item in found] == list(range(21, 97))
    assert found[-1].is_follow_up


@pytest.mark.parametrize(
    ("key", "numbers"),
    [("I", PILLAR_I), (2, range(31, 48)), ("iii", range(48, 60)), (4, range(60, 96))],
    ids=["I", "II", "III", "IV"],
)
def test_paragraphs_of_one_pillar(key, numbers):
    assert [item.number for item in kyoto.paragraphs(key)] == list(numbers)


def test_paragraphs_accepts_a_pillar_object():
    assert kyoto.paragraphs(kyoto.pillar(3)) == kyoto.paragraphs("III")


def test_paragraphs_of_an_unknown_pillar_is_not_found():
    with pytest.raises(NotFoundError):
        kyoto.paragraphs(9)


def test_three_sessions_on_10_11_and_12_november_2021():
    found = kyoto.sessions()
    assert [item.number for item in found] == [1, 2, 3]
    assert [item.date for item in found] == [
        datetime.date(2021, 11, 10),
        datetime.date(2021, 11, 11),
        datetime.date(2021, 11, 12),
    ]


@pytest.mark.parametrize(
    ("number", "topics"),
    [
        (
            1,
            [
                ("Addressing the causes, including the root causes, of crime", (21,)),
                ("Evidence-based crime prevention", (22, 23)),
                ("Tailor-made crime prevention strategies", (26,)),
            ],
        ),
        (2, [("Addressing the economic dimension of crime", (24, 25))]),
        (
            3,
            [
                ("Mainstreaming a gender perspective into crime prevention", (27, 28)),
                ("Children and youth in crime prevention", (29,)),
                ("Youth empowerment for crime prevention", (30,)),
            ],
        ),
    ],
    ids=["session-1", "session-2", "session-3"],
)
def test_session_topics_and_their_paragraphs_follow_the_programme(number, topics):
    found = kyoto.session(number)
    assert [(topic.title, topic.paragraph_numbers) for topic in found.topics] == topics


def test_sessions_cover_each_pillar_i_paragraph_exactly_once():
    covered = [n for item in kyoto.sessions() for n in item.paragraph_numbers]
    assert sorted(covered) == list(PILLAR_I)
    # Paragraph 26 (tailor-made strategies) is discussed on day 1, before 24-25.
    assert kyoto.session(1).paragraph_numbers == (21, 22, 23, 26)


@pytest.mark.parametrize(
    ("number", "session_number", "topic"),
    [
        (21, 1, "Addressing the causes, including the root causes, of crime"),
        (23, 1, "Evidence-based crime prevention"),
        (26, 1, "Tailor-made crime prevention strategies"),
        (24, 2, "Addressing the economic dimension of crime"),
        (25, 2, "Addressing the economic dimension of crime"),
        (28, 3, "Mainstreaming a gender perspective into crime prevention"),
        (30, 3, "Youth empowerment for crime prevention"),
    ],
    ids=lambda value: str(value)[:12],
)
def test_paragraph_knows_the_session_and_topic_that_discussed_it(number, session_number, topic):
    found = kyoto.paragraph(number)
    assert found.session_numbers == (session_number,)
    assert found.topic == topic


@pytest.mark.parametrize(
    ("number", "count"),
    # Session 1 lists nine bullets; the paragraph on victimisation surveys and
    # statistical indicators has no bullet of its own and continues the fourth
    # (data standards) question. Sessions 2 and 3 list eight and thirteen.
    [(1, 9), (2, 8), (3, 13)],
    ids=["session-1", "session-2", "session-3"],
)
def test_question_counts_match_the_paper(number, count):
    questions = kyoto.session(number).questions
    assert len(questions) == count
    assert [question.number for question in questions] == list(range(1, count + 1))
    assert {question.session_number for question in questions} == {number}
    assert all(question.summary.endswith("?") for question in questions)


@pytest.mark.parametrize(
    ("number", "position", "words"),
    [
        (1, 2, ["COVID-19", "crime"]),
        (1, 4, ["ICCS", "victimisation surveys", "statistical indicators"]),
        (1, 7, ["tailor-made", "community safety audits"]),
        (1, 9, ["organized crime", "gang-related and urban crime"]),
        (2, 2, ["financial investigations"]),
        (2, 6, ["draft non-binding guidelines", "UNODC"]),
        (2, 8, ["informal networks for asset confiscation"]),
        (3, 4, ["domestic violence"]),
        (3, 7, ["SDGs"]),
        (3, 9, ["online child sexual abuse and exploitation", "child pornography"]),
        (3, 13, ["social media", "digital tools"]),
    ],
    ids=lambda value: str(value)[:12],
)
def test_questions_keep_the_published_order(number, position, words):
    summary = kyoto.session(number).questions[position - 1].summary
    for word in words:
        assert word in summary


@pytest.mark.parametrize("number", [0, 4, -1], ids=str)
def test_unknown_session_is_not_found(number):
    with pytest.raises(NotFoundError, match="sessions 1, 2, 3"):
        kyoto.session(number)


def test_session_number_must_be_an_integer():
    with pytest.raises(InvalidInputError):
        kyoto.session("1")  # type: ignore[arg-type]


def test_declaration_adoption_and_coverage():
    found = kyoto.declaration()
    assert found.adopted_on == datetime.date(2021, 3, 7)
    assert found.short_name == "Kyoto Declaration"
    assert found.name.startswith("Kyoto Declaration on Advancing Crime Prevention")
    assert "Fourteenth United Nations Congress" in found.adopted_by
    assert found.paragraph_numbers == range(21, 97)


def test_records_are_frozen():
    with pytest.raises(dataclasses.FrozenInstanceError):
        kyoto.pillar(1).title = "changed"  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        kyoto.paragraph(21).summary = "changed"  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        kyoto.session(1).questions[0].summary = "changed"  # type: ignore[misc]


def test_lookups_return_the_same_loaded_objects():
    assert kyoto.paragraph(21).pillar is kyoto.pillar("I")
    assert kyoto.session(3) is kyoto.sessions()[2]


def test_public_names_exist():
    assert sorted(kyoto.__all__) == kyoto.__all__
    for name in kyoto.__all__:
        assert hasattr(kyoto, name)


def _packaged_data() -> dict:
    text = resources.files("crimeprev.standards").joinpath("data", "kyoto.json").read_text("utf-8")
    return json.loads(text)


def test_inconsistent_data_are_refused_with_the_file_named():
    raw = _packaged_data()
    raw["pillars"][1]["first_paragraph"] = 32
    with pytest.raises(DataFileError, match="kyoto.json.*pillar II does not follow pillar I"):
        kyoto._build(raw)


def test_missing_summary_is_refused():
    raw = _packaged_data()
    raw["paragraphs"] = [item for item in raw["paragraphs"] if item["number"] != 27]
    with pytest.raises(DataFileError, match="expected"):
        kyoto._build(raw)
