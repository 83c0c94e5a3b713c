"""Annual report, CSV export, base-currency values and the self-funding ratio (both DBs)."""

from __future__ import annotations

import csv
import io
from datetime import date
from decimal import Decimal

import pytest

from crimeprev.assets import cases, rates, registry, reports
from crimeprev.assets.lifecycle import State
from crimeprev.assets.money import Money
from crimeprev.db import accounts as acc
from crimeprev.errors import NotFoundError


@pytest.fixture
def history(database, people):
    """Two vehicles seized in 2024 (valued 10,000 EUR and 20,000 USD), one sold in 2025."""
    admin, manager = people["admin"], people["manager"]
    with database.transaction() as session:
        case = cases.create_case(
            session,
            admin,
            reference="AR-R",
            title="Fictional",
            jurisdiction="ITA",
            opened_on=date(2024, 1, 1),
            agency_code="AMO",
        )
        made = []
        for number, value in enumerate((Money.of("10000", "EUR"), Money.of("20000", "USD"))):
            asset = registry.create_asset(
                session,
                admin,
                case.id,
                reference=f"R-{number}",
                category="vehicle",
                description="Fictional",
                country="ITA",
                identified_on=date(2024, 1, 2),
            )
            registry.add_valuation(
                session,
                manager,
                asset.id,
                valued_on=date(2024, 1, 3),
                amount=value,
                method="expert",
            )
            registry.transition_asset(
                session,
                admin,
                asset.id,
                registry.TransitionRequest(State.SEIZED, date(2024, 2, 1), court_order="o"),
            )
            made.append(asset.id)
        registry.add_cost(
            session,
            manager,
            made[0],
            incurred_on=date(2024, 3, 1),
            amount=Money.of("2000", "EUR"),
            kind="storage",
        )
        for state, day, extra in (
            (State.CONFISCATED, date(2025, 1, 10), {"confiscation_type": "object_based"}),
            (
                State.DISPOSED,
                date(2025, 2, 1),
                {"disposal": "sold", "realised": Money.of("9000", "EUR")},
            ),
        ):
            registry.transition_asset(
                session,
                admin,
                made[0],
                registry.TransitionRequest(state, day, court_order="o", **extra),
            )
        rates.add_rate(
            session, manager, currency="USD", base="EUR", on_date=date(2024, 1, 31), rate="0.9"
        )
    return made


def test_counts_values_and_base_currency(database, people, history):
    with database.transaction() as session:
        rows = reports.annual_report(session, people["auditor"])
        cells = {(r.year, r.stage): r for r in rows}
        assert cells[(2024, "seized")].count == 2
        assert cells[(2024, "seized")].value == (Money.of("10000", "EUR"), Money.of("20000", "USD"))
        assert cells[(2025, "disposed")].value == (Money.of("9000", "EUR"),)
        in_eur = reports.annual_report(session, people["auditor"], base_currency="EUR")
        seized = next(r for r in in_eur if (r.year, r.stage) == (2024, "seized"))
        assert seized.value == (Money.of("28000", "EUR"),)  # 10,000 + 20,000 x 0.9
        funding = reports.self_funding(session, people["auditor"])
        assert [(f.currency, f.ratio) for f in funding] == [("EUR", 4.5)]
        assert reports.annual_report(session, people["other"]) == []
        held = reports.held_longer_than(
            session, people["auditor"], days=365, today=date(2025, 6, 1)
        )
        assert [a.id for a in held] == [history[1]]


def test_missing_rate_is_named(database, people, history):
    with (
        pytest.raises(NotFoundError, match="no EUR->GBP exchange rate"),
        database.transaction() as session,
    ):
        reports.annual_report(session, people["auditor"], base_currency="GBP")


def test_csv_export_through_the_api(registry_client, database, history):
    with database.transaction() as session:
        token = acc.create_api_token(session, acc.SYSTEM, "auditor", name="t").secret
    response = registry_client.get(
        "/api/assets/reports/annual",
        params={"format": "csv", "base_currency": "EUR"},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/csv")
    lines = list(csv.DictReader(io.StringIO(response.text)))
    seized = next(line for line in lines if line["stage"] == "seized")
    assert seized == {
        "year": "2024",
        "agency": "AMO",
        "category": "vehicle",
        "stage": "seized",
        "count": "2",
        "value": "28000.00",
        "currency": "EUR",
    }


def test_xlsx_export_api_cli_and_charts_on_the_page(
    registry_client, database, history, monkeypatch, tmp_path
):
    from openpyxl import load_workbook
    from typer.testing import CliRunner

    from crimeprev.cli.main import app

    with database.transaction() as session:
        token = acc.create_api_token(session, acc.SYSTEM, "auditor", name="t").secret
    response = registry_client.get(
        "/api/assets/reports/annual",
        params={"format": "xlsx", "base_currency": "EUR"},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert response.status_code == 200, response.text
    assert "spreadsheetml" in response.headers["content-type"]
    book = load_workbook(io.BytesIO(response.content))
    annual = [[c.value for c in row] for row in book["annual"].iter_rows()]
    assert annual[0] == ["year", "agency", "category", "stage", "count", "value", "currency"]
    assert [2024, "AMO", "vehicle", "seized", 2, 28000, "EUR"] in annual  # 10,000 + 20,000 x 0.9
    assert [2025, "AMO", "vehicle", "disposed", 1, 9000, "EUR"] in annual
    funding = [[c.value for c in row] for row in book["self-funding"].iter_rows()]
    assert funding[1] == ["EUR", 9000, 2000, 4.5]  # 9,000 realised / 2,000 storage
    monkeypatch.setenv("CRIMEPREV_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("CRIMEPREV_DATABASE_URL", database.url)
    path = tmp_path / "report.xlsx"
    made = CliRunner().invoke(app, ["assets", "report", "--xlsx", str(path), "--as", "auditor"])
    assert made.exit_code == 0, made.output
    rows = [[c.value for c in r] for r in load_workbook(path)["annual"].iter_rows()]
    assert [2024, "AMO", "vehicle", "seized", 2, 10000, "EUR"] in rows  # no base currency
    assert [2024, "AMO", "vehicle", "seized", 2, 20000, "USD"] in rows
    page = registry_client.get("/login")
    csrf = page.text.split('name="csrf_token" value="')[1].split('"')[0]
    signed = registry_client.post(
        "/login",
        data={"username": "auditor", "password": "correct horse battery", "csrf_token": csrf},
        follow_redirects=False,
    )
    assert signed.status_code == 303
    mixed = registry_client.get("/assets/reports")
    assert mixed.text.count("data-vega-spec=") == 1  # EUR and USD: counts only
    assert "choose a base currency" in mixed.text
    single = registry_client.get("/assets/reports?base_currency=EUR")
    assert single.text.count("data-vega-spec=") == 2
    assert "Value entering each stage, per year (EUR)" in single.text
    assert "format=xlsx&amp;base_currency=EUR" in single.text


def test_time_to_disposal_returns_and_offences(registry_client, database, people):
    admin = people["admin"]
    seized_1, disposed_1 = date(2024, 1, 10), date(2024, 8, 1)
    frozen_2, disposed_2 = date(2024, 2, 1), date(2024, 9, 1)
    with database.transaction() as session:
        for reference, offences, steps in (
            (
                "AR-T1",
                ["07041", "0703"],
                [
                    (State.SEIZED, seized_1, {}),
                    (State.CONFISCATED, date(2024, 6, 1), {"confiscation_type": "object_based"}),
                    (
                        State.DISPOSED,
                        disposed_1,
                        {"disposal": "returned_to_victims", "realised": Money.of("500", "EUR")},
                    ),
                ],
            ),
            (
                "AR-T2",
                ["0101", "07011"],
                [
                    (State.FROZEN, frozen_2, {}),
                    (State.SEIZED, date(2024, 3, 1), {}),
                    (State.CONFISCATED, date(2024, 5, 1), {"confiscation_type": "value_based"}),
                    (State.DISPOSED, disposed_2, {"disposal": "shared_with_state"}),
                ],
            ),
        ):
            case = cases.create_case(
                session,
                admin,
                reference=reference,
                title="Fictional",
                jurisdiction="ITA",
                opened_on=date(2024, 1, 1),
                agency_code="AMO",
                offences=offences,
            )
            asset = registry.create_asset(
                session,
                admin,
                case.id,
                reference=reference + "-A",
                category="vehicle",
                description="Fictional",
                country="ITA",
                identified_on=date(2024, 1, 2),
            )
            for state, day, extra in steps:
                registry.transition_asset(
                    session,
                    admin,
                    asset.id,
                    registry.TransitionRequest(state, day, court_order="o", **extra),
                )
    days = sorted([(disposed_1 - seized_1).days, (disposed_2 - frozen_2).days])  # 204, 213
    with database.transaction() as session:
        timing = reports.time_to_disposal(session, people["auditor"])
        assert [(t.year, t.category, t.count, t.max_days) for t in timing] == [
            (2024, "vehicle", 2, days[1])
        ]
        assert timing[0].median_days == (Decimal(days[0]) + Decimal(days[1])) / 2
        back = reports.returns(session, people["auditor"])
        assert [(r.year, r.disposal, r.count, r.realised) for r in back] == [
            (2024, "returned_to_victims", 1, (Money.of("500", "EUR"),)),
            (2024, "shared_with_state", 1, ()),
        ]
        offences = {(o.iccs_section, o.stage): o.count for o in reports.by_offence(session, admin)}
        # AR-T1 has two section-07 offences but counts once; AR-T2 counts in 01 and 07
        assert offences == {
            ("07", "seized"): 2,
            ("07", "frozen"): 1,
            ("07", "confiscated"): 2,
            ("07", "disposed"): 2,
            ("01", "seized"): 1,
            ("01", "frozen"): 1,
            ("01", "confiscated"): 1,
            ("01", "disposed"): 1,
        }
        assert reports.returns(session, people["other"]) == []  # POL sees no AMO case
    with database.transaction() as session:
        token = acc.create_api_token(session, acc.SYSTEM, "auditor", name="t").secret
    body = registry_client.get(
        "/api/assets/reports/annual", headers={"Authorization": f"Bearer {token}"}
    ).json()
    assert body["time_to_disposal"][0]["median_days"] == "208.5"
    assert {r["disposal"] for r in body["returns"]} == {"returned_to_victims", "shared_with_state"}
    assert {"year": 2024, "iccs_section": "01", "stage": "frozen", "count": 1} in body["by_offence"]
    from openpyxl import load_workbook

    content = registry_client.get(
        "/api/assets/reports/annual?format=xlsx", headers={"Authorization": f"Bearer {token}"}
    ).content
    book = load_workbook(io.BytesIO(content))
    timing_rows = [[c.value for c in r] for r in book["time to disposal"].iter_rows()]
    assert timing_rows[1] == [2024, "vehicle", 2, 208.5, 213]
    returns_rows = [[c.value for c in r] for r in book["returns"].iter_rows()]
    assert [2024, "returned_to_victims", 1, 500, "EUR"] in returns_rows
