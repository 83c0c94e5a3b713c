"""Bulk import of cases and assets (CSV and XLSX): all or nothing, every bad row reported,
each created record audited; library, API, CLI and page on both databases."""

from __future__ import annotations

import io
import re
import zipfile

import pytest
from openpyxl import load_workbook
from sqlalchemy import func, select
from typer.testing import CliRunner

from crimeprev.assets import bulk_import
from crimeprev.assets.models import Asset, Case
from crimeprev.cli.main import app
from crimeprev.db import accounts as acc
from crimeprev.db.audit import verify_audit_chain
from crimeprev.db.models import AuditRecord
from crimeprev.errors import PermissionDeniedError

PASSWORD = "correct horse battery"  # as in conftest.py
CASES_CSV = (
    "reference,title,jurisdiction,opened_on,offences,description,agency\n"
    "AR-I1,Fictional one,ITA,2025-01-02,07041;0703,,\n"
    "AR-I2,Fictional two,ita,2025-01-03,,seized car,\n"
)
ASSETS_CSV = (
    "reference,case_reference,category,description,country,identified_on\n"
    "AS-I1,AR-I1,vehicle,Fictional car,ITA,2025-01-04\n"
    "AS-I2,AR-I1,Real estate,Fictional flat,ITA,2025-01-05\n"
)


def _token(html: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


def sign_in(client, username: str) -> None:
    """Sign in through the login form (password from conftest.py)."""
    page = client.get("/login")
    data = {"username": username, "password": PASSWORD, "csrf_token": _token(page.text)}
    assert client.post("/login", data=data, follow_redirects=False).status_code == 303


def _workbook(cases_rows: list[list[object]], asset_rows: list[list[object]]) -> bytes:
    """Fill the app's own template, as a user would."""
    book = load_workbook(io.BytesIO(bulk_import.template_xlsx()))
    for name, rows in (("cases", cases_rows), ("assets", asset_rows)):
        sheet = book[name]
        sheet.delete_rows(2, sheet.max_row)
        for row in rows:
            sheet.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def _counts(session):
    return (
        session.execute(select(func.count(Case.id))).scalar_one(),
        session.execute(select(func.count(Asset.id))).scalar_one(),
        session.execute(select(func.count(AuditRecord.id))).scalar_one(),
    )


def test_xlsx_template_round_trip_creates_and_audits_every_record(database, people):
    from datetime import date

    content = _workbook(
        [["AR-X1", "Fictional", "ITA", date(2025, 2, 1), "0701", "", ""]],
        [
            ["AS-X1", "AR-X1", "cash", "Fictional cash", "ITA", date(2025, 2, 2)],
            [
                "AS-X2",
                "AR-X1",
                "bank_account",
                "Fictional account",
                "ITA",
                "2025-02-03",
                "X",
                "IBAN",
            ],
        ],
    )
    with database.transaction() as session:
        before = _counts(session)
        result = bulk_import.import_file(session, people["investigator"], "cases.xlsx", content)
    assert result.cases == ["AR-X1"] and result.assets == ["AS-X1", "AS-X2"]
    with database.transaction() as session:
        after = _counts(session)
        assert after[0] - before[0] == 1 and after[1] - before[1] == 2
        created = session.execute(
            select(AuditRecord.entity).where(AuditRecord.sequence > before[2])
        ).scalars()
        assert sorted(created) == ["asset", "asset", "asset_import", "case"]
        assert verify_audit_chain(session).valid
        case = session.execute(select(Case).where(Case.reference == "AR-X1")).scalar_one()
        assert case.agency.code == "AMO"  # the importing user's agency
        assert [o.iccs_code for o in case.offences] == ["0701"]
        account = session.execute(select(Asset).where(Asset.reference == "AS-X2")).scalar_one()
        assert (account.identifier, account.identifier_type, account.state) == (
            "X",
            "IBAN",
            "identified",
        )


def test_bad_rows_are_all_reported_and_nothing_is_written(database, people):
    with database.transaction() as session:
        bulk_import.import_file(session, people["investigator"], "c.csv", CASES_CSV.encode())
    content = _workbook(
        [
            ["AR-B1", "Fine", "ITA", "2025-01-01", "", "", ""],
            ["AR-B2", "", "ITALY", "2025-13-01", "999999", "", ""],
            ["AR-I1", "Already there", "ITA", "2025-01-01", "", "", ""],
            ["AR-B1", "Twice in the file", "ITA", "2025-01-01", "", "", ""],
        ],
        [
            ["AS-B1", "AR-B1", "spaceship", "x", "ITA", "2025-01-02"],
            ["AS-B2", "AR-NOPE", "cash", "x", "ITA", "2099-01-01"],
            ["AS-B3", "AR-B1", "cash", "Fine cash", "ITA", "2025-01-02"],
        ],
    )
    with database.transaction() as session:
        before = _counts(session)
    with pytest.raises(bulk_import.ImportRowsError) as caught, database.transaction() as session:
        bulk_import.import_file(session, people["investigator"], "bad.xlsx", content)
    found = {(i.sheet, i.row, i.column, i.value) for i in caught.value.issues}
    assert found == {
        ("cases", 3, "title", ""),
        ("cases", 3, "jurisdiction", "ITALY"),
        ("cases", 3, "opened_on", "2025-13-01"),
        ("cases", 3, "offences", "999999"),
        ("cases", 4, "reference", "AR-I1"),  # exists in the registry
        ("cases", 5, "reference", "AR-B1"),  # used twice in this file
        ("assets", 2, "category", "spaceship"),
        ("assets", 3, "identified_on", "2099-01-01"),
    }
    assert "nothing imported" in caught.value.message
    assert all(i.expected for i in caught.value.issues)
    with database.transaction() as session:
        assert _counts(session) == before  # not the good rows either, nor their audit
        assert verify_audit_chain(session).valid


def test_unknown_case_reference_and_other_agency(database, people):
    with database.transaction() as session:
        bulk_import.import_file(session, people["other"], "c.csv", CASES_CSV.encode())
    with (
        pytest.raises(bulk_import.ImportRowsError) as caught,
        database.transaction() as session,
    ):  # AR-I1 belongs to POL, invisible to AMO
        bulk_import.import_file(session, people["investigator"], "a.csv", ASSETS_CSV.encode())
    assert {(i.row, i.column) for i in caught.value.issues} == {
        (2, "case_reference"),
        (3, "case_reference"),
    }
    bad_agency = CASES_CSV.replace("AR-I1,", "AR-I9,").replace(",,\n", ",,POL\n", 1)
    with pytest.raises(bulk_import.ImportRowsError) as caught, database.transaction() as session:
        bulk_import.import_file(session, people["investigator"], "c.csv", bad_agency.encode())
    assert [(i.row, i.column, i.value) for i in caught.value.issues] == [
        (2, "agency", "POL"),
        (3, "reference", "AR-I2"),  # references are unique across agencies
    ]


def test_roles_headers_and_file_types(database, people):
    with pytest.raises(PermissionDeniedError), database.transaction() as session:
        bulk_import.import_file(session, people["viewer"], "c.csv", CASES_CSV.encode())
    bad_header = "reference,title,colour\nA,B,C\n"
    with (
        pytest.raises(bulk_import.DataFileError, match="missing columns jurisdiction, opened_on"),
        database.transaction() as session,
    ):
        bulk_import.import_file(session, people["admin"], "c.csv", bad_header.encode())
    template = zipfile.ZipFile(io.BytesIO(bulk_import.template_xlsx()))
    damaged = io.BytesIO()
    with zipfile.ZipFile(damaged, "w") as out:
        for item in template.infolist():
            broken = item.filename.startswith("xl/worksheets/")
            out.writestr(item, b"<worksheet><sheetData><row>" if broken else template.read(item))
    for name, content, pattern in (
        ("c.xlsx", damaged.getvalue(), "not a readable XLSX|damaged"),
        ("c.txt", b"x", "expected a .csv or .xlsx file"),
        ("c.xlsx", b"not a zip", "not a readable XLSX"),
        ("c.csv", b"\xff\xfe", "not UTF-8"),
        ("c.csv", b"reference,title,jurisdiction,opened_on\n", "no data rows"),
    ):
        with (
            pytest.raises(bulk_import.DataFileError, match=pattern),
            database.transaction() as session,
        ):
            bulk_import.import_file(session, people["admin"], name, content)


def test_api_import_and_templates(registry_client, database, people):
    with database.transaction() as session:
        token = acc.create_api_token(session, acc.SYSTEM, "investigator", name="t").secret
    headers = {"Authorization": f"Bearer {token}"}
    template = registry_client.get("/api/assets/import/template", headers=headers)
    assert template.status_code == 200
    assert load_workbook(io.BytesIO(template.content)).sheetnames == ["read me", "cases", "assets"]
    csv_template = registry_client.get(
        "/api/assets/import/template?format=csv&table=assets", headers=headers
    )
    assert csv_template.text.startswith("reference,case_reference,category")
    made = registry_client.post(
        "/api/assets/import", headers=headers, files={"file": ("c.csv", CASES_CSV, "text/csv")}
    )
    assert made.status_code == 201, made.text
    assert made.json()["cases_created"] == 2
    bad = ASSETS_CSV.replace("vehicle", "boat")
    refused = registry_client.post(
        "/api/assets/import", headers=headers, files={"file": ("a.csv", bad, "text/csv")}
    )
    assert refused.status_code == 422
    error = refused.json()["error"]
    assert error["details"]["issues"] == [
        {
            "sheet": "assets",
            "row": 2,
            "column": "category",
            "value": "boat",
            "expected": ", ".join(c.value for c in bulk_import.registry.Category),
        }
    ]
    assert registry_client.get("/api/assets/items", headers=headers).json()["assets"] == []


def test_cli_import(monkeypatch, tmp_path, database, people):
    monkeypatch.setenv("CRIMEPREV_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("CRIMEPREV_DATABASE_URL", database.url)
    runner = CliRunner()
    template = tmp_path / "t.xlsx"
    assert runner.invoke(app, ["assets", "import-template", str(template)]).exit_code == 0
    assert load_workbook(template).sheetnames == ["read me", "cases", "assets"]
    (tmp_path / "c.csv").write_text(CASES_CSV, encoding="utf-8")
    (tmp_path / "a.csv").write_text(ASSETS_CSV.replace("2025-01-05", "yesterday"), "utf-8")
    done = runner.invoke(app, ["assets", "import", str(tmp_path / "c.csv"), "--as", "manager"])
    assert done.exit_code == 0, done.output
    assert "imported 2 cases and 0 assets" in done.output
    refused = runner.invoke(app, ["assets", "import", str(tmp_path / "a.csv"), "--as", "manager"])
    assert refused.exit_code == 2
    text = " ".join(refused.output.split())
    assert "identified_on" in text and "yesterday" in text and "nothing imported" in text


def test_import_page(registry_client, people):
    sign_in(registry_client, "investigator")
    page = registry_client.get("/assets/import")
    assert page.status_code == 200 and "case_reference" in page.text
    token = _token(page.text)
    done = registry_client.post(
        "/assets/import",
        data={"csrf_token": token},
        files={"file": ("c.csv", CASES_CSV, "text/csv")},
    )
    assert done.status_code == 200 and "Imported 2 cases and 0 assets" in done.text
    bad = registry_client.post(
        "/assets/import",
        data={"csrf_token": token},
        files={"file": ("a.csv", ASSETS_CSV.replace("ITA,2025-01-05", "XX,2025-01-05"), "x")},
    )
    assert bad.status_code == 422
    assert re.search(r"<td>country</td><td>XX</td>", bad.text)
    forged = registry_client.post(
        "/assets/import", data={"csrf_token": "wrong"}, files={"file": ("c.csv", "x", "x")}
    )
    assert forged.status_code == 403
