"""NCVS person-level indicators (SDG 16.1.3, 16.3.1) when the user supplies a person file.

The bundled public-use subset has no person file, so these tests build a
small fictional one: hand-made records for the recipe, and, for the CLI, a
person record (with invented age, sex and weight) for every victim in the
bundled incident file plus invented non-victims. The expected values are
computed here from the incident file with plain pandas.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from crimeprev.cli.main import app as cli
from crimeprev.errors import InvalidInputError
from crimeprev.survey.io import _ncvs_files, load_dataset
from crimeprev.survey.ncvs import prepare_persons

runner = CliRunner()


def incident_row(idper: str, crime: int, reported: int, times: int = 1) -> dict[str, object]:
    series = times > 1
    return {
        "YEARQ": 2021.1,
        "IDHH": idper[:2],
        "IDPER": idper,
        "WGTVICCY": 3000.0,
        "V4022": 2,
        "V4399": reported,
        "V4529": crime,
        "V4016": times,
        "V4017": 2 if series else 1,
        "V4018": 1.0 if series else np.nan,
        "V4019": 2.0 if series else np.nan,
    }


def test_person_recipe_by_hand():
    person = pd.DataFrame(
        {
            "YEARQ": [2021.1] * 4,
            "IDHH": ["h1", "h1", "h2", "h2"],
            "IDPER": ["h1a", "h1b", "h2a", "h2b"],
            "WGTPERCY": [1500.0, 1500.0, 1000.0, 0.0],
            "V3014": [15, 40, 70, 30],
            "V3018": [1, 2, 2, 1],
            "V2117": [1, 1, 2, 2],
            "V2118": [1, 1, 2, 2],
        }
    )
    incident = pd.DataFrame(
        [
            incident_row("h1a", 11, 1),  # aggravated assault, reported
            incident_row("h1a", 14, 2, times=12),  # simple assault, series of 12 -> 10
            incident_row("h2a", 5, 2),  # robbery, not reported
            incident_row("h2a", 31, 1),  # burglary: a household crime, not counted here
        ]
    )
    frame = prepare_persons(person, incident)
    # Adjustment WGTVICCY / WGTPERCY: 3000/1500 = 2 for h1a, 3000/1000 = 3 for h2a.
    assert frame["violent"].tolist() == [22.0, 0.0, 3.0, 0.0]
    assert frame["violent_reported"].tolist() == [2.0, 0.0, 0.0, 0.0]
    assert frame["simple_assault"].tolist() == [20.0, 0.0, 0.0, 0.0]
    assert frame["robbery"].tolist() == [0.0, 0.0, 3.0, 0.0]
    assert frame["age"].tolist() == [1.0, 4.0, 6.0, 3.0]
    with pytest.raises(InvalidInputError, match="1 victims in the incident file have no person"):
        prepare_persons(person.iloc[:2], incident)


def test_the_person_profile_needs_the_file():
    with pytest.raises(InvalidInputError, match="needs the NCVS 2021 person file"):
        load_dataset("ncvs_2021_persons")


@pytest.fixture(scope="module")
def person_file(tmp_path_factory):
    household, incident = _ncvs_files()
    victims = incident[["YEARQ", "IDHH", "IDPER"]].drop_duplicates()
    rng = np.random.default_rng(4)
    others = household.loc[household["WGTHHCY"] > 0, ["YEARQ", "IDHH"]].sample(3000, random_state=1)
    others = others.assign(IDPER=others["IDHH"] + "99")
    people = pd.concat([victims, others], ignore_index=True)
    people["WGTPERCY"] = rng.uniform(1500.0, 4500.0, len(people))
    people["V3014"] = rng.integers(12, 90, len(people))
    people["V3018"] = rng.integers(1, 3, len(people))
    path = tmp_path_factory.mktemp("ncvs") / "ncvs_2021_person.parquet"
    people.to_parquet(path)
    return path, people, incident


def test_cli_gives_sdg_16_1_3_and_16_3_1_from_a_person_file(person_file):
    path, people, incident = person_file
    result = runner.invoke(
        cli,
        [
            "survey",
            "indicators",
            "--design",
            "ncvs_2021_persons",
            "--data",
            str(path),
            "--format",
            "json",
        ],
    )
    assert result.exit_code == 0, result.output
    records = json.loads(result.output)
    violent = incident[(incident["V4022"] != 1) & (incident["V4529"] <= 20)]
    victims = violent.drop_duplicates(["YEARQ", "IDHH", "IDPER"])[["YEARQ", "IDHH", "IDPER"]]
    flagged = people.merge(victims.assign(victim=1.0), how="left").fillna({"victim": 0.0})
    share = np.average(flagged["victim"], weights=flagged["WGTPERCY"])
    prevalence = next(
        r
        for r in records
        if r["indicator"] == "prevalence" and r["crime_type"] == "violent" and r["domain"] == "all"
    )
    assert prevalence["sdg"] == "16.1.3"
    assert prevalence["estimate"] == pytest.approx(share)
    reporting = next(
        r
        for r in records
        if r["indicator"] == "reporting_rate"
        and r["crime_type"] == "violent"
        and r["domain"] == "all"
    )
    assert reporting["sdg"] == "16.3.1"
    assert 0 < reporting["estimate"] < 1
    domains = {r["domain"] for r in records if r["crime_type"] == "violent"}
    assert {"Male", "Female", "12-17", "65 or older"} <= {d.split("=")[-1] for d in domains}


def test_web_profiles_list_the_person_profile_without_data(client):
    body = client.get("/api/survey/profiles").json()
    persons = next(p for p in body["profiles"] if p["name"] == "ncvs_2021_persons")
    assert "person file" in persons["needs_file"]
    page = client.get("/survey").text
    assert "SDG 16.1.3 (share of persons subjected to violence) needs" in page
