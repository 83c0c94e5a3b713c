"""``crimeprev assets``: the asset recovery registry from the command line.

Commands act as a named user (``--as USER`` or ``CRIMEPREV_USER``), with that
user's roles and agency, so the audit log says who did what; without one they
act as the operator ``cli`` with administrator rights.
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from decimal import Decimal, InvalidOperation
from pathlib import Path

import typer
from rich.table import Table
from sqlalchemy.orm import Session

from crimeprev.assets import (
    backup,
    bulk_import,
    cases,
    cooperation,
    ledger,
    planning,
    rates,
    registry,
    reports,
    social_reuse,
    transparency,
)
from crimeprev.assets.lifecycle import parse_state
from crimeprev.assets.money import Money
from crimeprev.cli._output import console, print_error, styled
from crimeprev.cli.db import open_database
from crimeprev.config import get_settings
from crimeprev.db.accounts import SYSTEM, Principal, get_user, principal_for
from crimeprev.db.audit import verify_audit_chain
from crimeprev.errors import CrimeprevError, InvalidInputError

app = typer.Typer(
    help="Asset recovery registry: cases, assets, lifecycle steps, the fund, reports.",
    no_args_is_help=True,
)

AS_USER = typer.Option(
    None, "--as", envvar="CRIMEPREV_USER", help="Act as this user (their roles and agency)"
)


@contextmanager
def acting(as_user: str | None) -> Iterator[tuple[Session, Principal]]:
    """One transaction and the principal acting in it; errors print and exit 2."""
    database = None
    try:
        database = open_database()
        with database.transaction() as session:
            if as_user:
                principal = principal_for(get_user(session, as_user), via="cli")
            else:
                principal = Principal(None, "cli", SYSTEM.roles, via="cli")
            yield session, principal
    except CrimeprevError as error:
        print_error(f"{error.message}")
        raise typer.Exit(2) from error
    finally:
        if database is not None:
            database.dispose()


def _date(value: str, field: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise InvalidInputError(f"{field} {value!r} is not a date; use YYYY-MM-DD") from None


def _decimal(value: str, field: str) -> Decimal:
    try:
        return Decimal(value)
    except InvalidOperation:
        raise InvalidInputError(f"{field} {value!r} is not a number") from None


@app.command("open-case")
def open_case(
    reference: str = typer.Argument(...),
    title: str = typer.Option(...),
    jurisdiction: str = typer.Option(..., help="ISO 3166-1 alpha-3"),
    opened_on: str = typer.Option(..., help="YYYY-MM-DD"),
    offence: list[str] = typer.Option([], "--offence", help="ICCS code (repeat)"),
    agency: str | None = typer.Option(None, help="Lead agency (administrators only)"),
    as_user: str | None = AS_USER,
) -> None:
    """Open a case."""
    with acting(as_user) as (session, principal):
        case = cases.create_case(
            session,
            principal,
            reference=reference,
            title=title,
            jurisdiction=jurisdiction,
            opened_on=_date(opened_on, "opened_on"),
            offences=offence,
            agency_code=agency,
        )
        console.print(f"case {case.reference} opened (id {case.id})")


@app.command("cases")
def list_cases(
    search: str = typer.Option("", help="Text in reference or title"),
    offence: str = typer.Option("", help="ICCS code (includes sub-codes)"),
    as_user: str | None = AS_USER,
) -> None:
    """List cases."""
    with acting(as_user) as (session, principal):
        table = Table(title="cases")
        for column in ("id", "reference", "title", "agency", "opened", "offences", "assets"):
            table.add_column(column)
        for case in cases.list_cases(session, principal, search=search, offence=offence):
            table.add_row(
                str(case.id),
                case.reference,
                case.title,
                case.agency.code,
                case.opened_on.isoformat(),
                ", ".join(o.iccs_code for o in case.offences),
                str(len(case.assets)),
            )
        console.print(table)


@app.command("register")
def register(
    case_id: int = typer.Argument(...),
    reference: str = typer.Option(...),
    category: str = typer.Option(..., help=", ".join(c.value for c in registry.Category)),
    description: str = typer.Option(...),
    country: str = typer.Option(..., help="ISO 3166-1 alpha-3"),
    identified_on: str = typer.Option(..., help="YYYY-MM-DD"),
    identifier: str = typer.Option(""),
    identifier_type: str = typer.Option(""),
    location: str = typer.Option(""),
    as_user: str | None = AS_USER,
) -> None:
    """Register an asset in a case."""
    with acting(as_user) as (session, principal):
        asset = registry.create_asset(
            session,
            principal,
            case_id,
            reference=reference,
            category=category,
            description=description,
            country=country,
            identified_on=_date(identified_on, "identified_on"),
            identifier=identifier,
            identifier_type=identifier_type,
            location=location,
        )
        console.print(f"asset {asset.reference} registered (id {asset.id}), state identified")


@app.command("list")
def list_assets(
    state: str = typer.Option(""),
    category: str = typer.Option(""),
    search: str = typer.Option(""),
    as_user: str | None = AS_USER,
) -> None:
    """List assets."""
    with acting(as_user) as (session, principal):
        table = Table(title="assets")
        for column in ("id", "reference", "case", "category", "state", "since"):
            table.add_column(column)
        for asset in registry.list_assets(
            session, principal, state=state, category=category, search=search
        ):
            table.add_row(
                str(asset.id),
                asset.reference,
                asset.case.reference,
                asset.category,
                asset.state,
                asset.state_since.isoformat(),
            )
        console.print(table)


@app.command("show")
def show(asset_id: int = typer.Argument(...), as_user: str | None = AS_USER) -> None:
    """Show an asset with its timeline (as JSON)."""
    from crimeprev.web.api.assets import asset_json

    with acting(as_user) as (session, principal):
        body = asset_json(registry.get_asset(session, principal, asset_id), full=True)
    console.print_json(json.dumps(body))


@app.command("move")
def move(
    asset_id: int = typer.Argument(...),
    to_state: str = typer.Argument(..., help="Next state, e.g. seized"),
    on: str = typer.Option(..., "--on", help="Date it took effect, YYYY-MM-DD"),
    court_order: str = typer.Option(""),
    legal_basis: str = typer.Option(""),
    expected_version: int | None = typer.Option(None),
    confiscation_type: str = typer.Option(""),
    confiscation_basis: str = typer.Option(""),
    owner_consent: bool | None = typer.Option(None, "--owner-consent/--no-owner-consent"),
    disposal: str = typer.Option(""),
    realised: str = typer.Option("", help="Amount realised, e.g. 41250.00"),
    currency: str = typer.Option("EUR"),
    note: str = typer.Option(""),
    as_user: str | None = AS_USER,
) -> None:
    """Take a lifecycle step (refused steps name the allowed next states)."""
    with acting(as_user) as (session, principal):
        request = registry.TransitionRequest(
            to_state=parse_state(to_state),
            occurred_on=_date(on, "on"),
            legal_basis=legal_basis,
            court_order=court_order,
            expected_version=expected_version,
            confiscation_type=confiscation_type,
            confiscation_basis=confiscation_basis,
            owner_consent=owner_consent,
            disposal=disposal,
            realised=Money.of(realised, currency) if realised else None,
            note=note,
        )
        asset = registry.transition_asset(session, principal, asset_id, request)
        console.print(f"asset {asset.reference} is now {asset.state} (version {asset.version})")


@app.command("value")
def value(
    asset_id: int = typer.Argument(...),
    amount: str = typer.Option(...),
    currency: str = typer.Option("EUR"),
    on: str = typer.Option(..., "--on"),
    method: str = typer.Option("market", help=", ".join(registry.VALUATION_METHODS)),
    valuer: str = typer.Option(""),
    as_user: str | None = AS_USER,
) -> None:
    """Record a valuation."""
    with acting(as_user) as (session, principal):
        registry.add_valuation(
            session,
            principal,
            asset_id,
            valued_on=_date(on, "on"),
            amount=Money.of(amount, currency),
            method=method,
            valuer=valuer,
        )
        console.print(f"valuation {amount} {currency.upper()} recorded")


@app.command("cost")
def cost(
    asset_id: int = typer.Argument(...),
    amount: str = typer.Option(...),
    currency: str = typer.Option("EUR"),
    on: str = typer.Option(..., "--on"),
    kind: str = typer.Option(..., help=", ".join(registry.COST_KINDS)),
    description: str = typer.Option(""),
    as_user: str | None = AS_USER,
) -> None:
    """Record a management cost."""
    with acting(as_user) as (session, principal):
        registry.add_cost(
            session,
            principal,
            asset_id,
            incurred_on=_date(on, "on"),
            amount=Money.of(amount, currency),
            kind=kind,
            description=description,
        )
        console.print(f"cost {amount} {currency.upper()} ({kind}) recorded")


@app.command("request")
def request(
    case_id: int = typer.Argument(...),
    reference: str = typer.Option(...),
    direction: str = typer.Option(..., help="incoming or outgoing"),
    kind: str = typer.Option(..., help=", ".join(cooperation.REQUEST_KINDS)),
    state: str = typer.Option(..., help="Other State, ISO 3166-1 alpha-3"),
    sent_on: str = typer.Option(..., help="YYYY-MM-DD"),
    legal_basis: str = typer.Option(""),
    as_user: str | None = AS_USER,
) -> None:
    """Record an international cooperation request in a case."""
    with acting(as_user) as (session, principal):
        item = cooperation.add_request(
            session,
            principal,
            case_id,
            direction=direction,
            kind=kind,
            counterpart_state=state,
            reference=reference,
            sent_on=_date(sent_on, "sent_on"),
            legal_basis=legal_basis,
        )
        console.print(f"request {item.reference} ({item.direction}, {item.kind}) id {item.id}")


@app.command("answer")
def answer(
    request_id: int = typer.Argument(...),
    status: str = typer.Option(..., help=", ".join(cooperation.ANSWERS)),
    on: str = typer.Option(..., "--on"),
    as_user: str | None = AS_USER,
) -> None:
    """Record the answer to a pending request."""
    with acting(as_user) as (session, principal):
        item = cooperation.answer_request(
            session, principal, request_id, status=status, answered_on=_date(on, "on")
        )
        console.print(f"request {item.reference} is {item.status}")


@app.command("agreement")
def agreement(
    case_id: int = typer.Argument(...),
    reference: str = typer.Option(...),
    state: str = typer.Option(..., help="Other State, ISO 3166-1 alpha-3"),
    share: str = typer.Option(..., help="Their share of the proceeds, percent"),
    signed_on: str = typer.Option(..., help="YYYY-MM-DD"),
    legal_basis: str = typer.Option(""),
    as_user: str | None = AS_USER,
) -> None:
    """Record an asset-sharing agreement with another State."""
    with acting(as_user) as (session, principal):
        item = cooperation.add_agreement(
            session,
            principal,
            case_id,
            counterpart_state=state,
            reference=reference,
            share_percent=share,
            signed_on=_date(signed_on, "signed_on"),
            legal_basis=legal_basis,
        )
        console.print(
            f"agreement {item.reference}: {item.share_percent}% to {state} (id {item.id})"
        )


@app.command("return")
def return_share(
    agreement_id: int = typer.Argument(...),
    amount: str = typer.Option(...),
    currency: str = typer.Option("EUR"),
    on: str = typer.Option(..., "--on"),
    as_user: str | None = AS_USER,
) -> None:
    """Pay the other State its share under an agreement (from the fund)."""
    with acting(as_user) as (session, principal):
        entry = cooperation.record_return(
            session,
            principal,
            agreement_id,
            amount=Money.of(amount, currency),
            posted_on=_date(on, "on"),
        )
        console.print(f"entry {entry.id}: {entry.description}")


@app.command("fund")
def fund(as_user: str | None = AS_USER) -> None:
    """Balances of the fund and whether it reconciles."""
    with acting(as_user) as (session, principal):
        result = ledger.reconcile(session, principal)
    table = Table(title="fund ledger (debits positive)")
    table.add_column("account")
    table.add_column("balance", justify="right")
    for balance in result.balances:
        table.add_row(balance.account, str(balance.balance))
    console.print(table)
    console.print("reconciles" if result.balanced else styled(("does NOT reconcile", "red")))
    if not result.balanced:
        raise typer.Exit(1)


@app.command("allocate")
def allocate(
    amount: str = typer.Option(...),
    currency: str = typer.Option("EUR"),
    purpose: str = typer.Option(..., help=", ".join(ledger.ALLOCATIONS)),
    on: str = typer.Option(..., "--on"),
    description: str = typer.Option(...),
    project: str = typer.Option(""),
    as_user: str | None = AS_USER,
) -> None:
    """Allocate money from the fund."""
    with acting(as_user) as (session, principal):
        entry = ledger.allocate(
            session,
            principal,
            amount=Money.of(amount, currency),
            purpose=purpose,
            posted_on=_date(on, "on"),
            description=description,
            project=project,
        )
        console.print(f"entry {entry.id}: {amount} {currency.upper()} to {purpose}")


@app.command("add-rate")
def add_rate(
    currency: str = typer.Argument(...),
    base: str = typer.Argument(...),
    rate: str = typer.Argument(..., help="Units of BASE per unit of CURRENCY"),
    on: str = typer.Option(..., "--on"),
    source: str = typer.Option(""),
    as_user: str | None = AS_USER,
) -> None:
    """Record an exchange rate."""
    with acting(as_user) as (session, principal):
        rates.add_rate(
            session,
            principal,
            currency=currency,
            base=base,
            on_date=_date(on, "on"),
            rate=rate,
            source=source,
        )
        console.print(f"1 {currency.upper()} = {rate} {base.upper()} on {on}")


@app.command("plan")
def plan(
    value: str = typer.Option(..., help="Value today"),
    currency: str = typer.Option("EUR"),
    depreciation: str = typer.Option(..., help="Share of value lost per year, 0-1"),
    monthly_cost: str = typer.Option(..., help="Management cost per month"),
    months: int = typer.Option(..., help="Expected months to judgment"),
    sale_cost_rate: str = typer.Option("0.10"),
    dissipation_risk: str = typer.Option("0.25"),
) -> None:
    """Pre-seizure planning: seize, freeze with restrictions or sell early."""
    try:
        result = planning.plan_seizure(
            value=Money.of(value, currency),
            annual_depreciation=_decimal(depreciation, "depreciation"),
            monthly_cost=Money.of(monthly_cost, currency),
            months_to_judgment=months,
            sale_cost_rate=_decimal(sale_cost_rate, "sale_cost_rate"),
            dissipation_risk=_decimal(dissipation_risk, "dissipation_risk"),
        )
    except CrimeprevError as error:
        print_error(f"{error.message}")
        raise typer.Exit(2) from error
    table = Table(title=f"recommendation: {result.recommendation.replace('_', ' ')}")
    for column in ("course", "value at judgment", "costs", "sale costs", "net"):
        table.add_column(column, justify="right")
    for name, course in (
        ("seize", result.seize),
        ("freeze with restrictions", result.freeze),
        ("sell early", result.sell_early),
    ):
        table.add_row(
            name,
            str(course.value_at_judgment),
            str(course.costs),
            str(course.sale_costs),
            str(course.net),
        )
    console.print(table)
    console.print(result.reason)


@app.command("report")
def report(
    base_currency: str | None = typer.Option(None, help="Convert values to this currency"),
    csv_path: Path | None = typer.Option(None, "--csv", help="Write the report as CSV here"),
    xlsx_path: Path | None = typer.Option(None, "--xlsx", help="Write the report as XLSX here"),
    as_user: str | None = AS_USER,
) -> None:
    """Assets per year, agency, category and stage with values; self-funding ratio."""
    with acting(as_user) as (session, principal):
        rows = reports.annual_report(session, principal, base_currency=base_currency)
        funding = reports.self_funding(session, principal)
        projects = social_reuse.list_projects(session, principal)
        timing = reports.time_to_disposal(session, principal)
        returned = reports.returns(session, principal)
        offences = reports.by_offence(session, principal)
    if xlsx_path is not None:
        xlsx_path.write_bytes(
            reports.to_xlsx(
                rows,
                funding,
                base_currency=base_currency,
                prepared_for=principal.username,
                projects=projects,
                timing=timing,
                returned=returned,
                offences=offences,
            )
        )
        console.print(f"{len(rows)} rows written to {xlsx_path}")
        if csv_path is None:
            return
    if csv_path is not None:
        csv_path.write_text(reports.to_csv(rows), encoding="utf-8")
        console.print(f"{len(rows)} rows written to {csv_path}")
        return
    table = Table(title="assets per year, agency, category and stage")
    for column in ("year", "agency", "category", "stage", "count", "value"):
        table.add_column(column)
    for row in rows:
        table.add_row(
            str(row.year),
            row.agency,
            row.category,
            row.stage,
            str(row.count),
            ", ".join(str(m) for m in row.value),
        )
    console.print(table)
    for item in funding:
        ratio = "no costs" if item.ratio is None else str(item.ratio)
        console.print(
            f"{item.currency}: proceeds {item.proceeds}, costs {item.costs}, ratio {ratio}"
        )
    for held in timing:
        console.print(
            f"{held.year} {held.category}: {held.count} disposed, median {held.median_days} "
            f"days from seizure (max {held.max_days})"
        )
    for back in returned:
        realised = ", ".join(str(m) for m in back.realised) or "no amount recorded"
        console.print(f"{back.year} {back.disposal}: {back.count} ({realised})")


@app.command("export")
def export(
    output: Path = typer.Argument(..., help="JSON file to write"),
    as_user: str | None = AS_USER,
) -> None:
    """Write a full JSON export (cases, assets with timelines, fund entries)."""
    from crimeprev.web.api.assets import export_json

    with acting(as_user) as (session, principal):
        body = export_json(session, principal)
    output.write_text(json.dumps(body, indent=2, ensure_ascii=False), encoding="utf-8")
    console.print(f"{len(body['cases'])} cases exported to {output}")


@app.command("project")
def project(
    asset_id: int = typer.Argument(..., help="An asset disposed of for social/institutional reuse"),
    name: str = typer.Option(...),
    beneficiary: str = typer.Option(..., help="Organisation using the asset"),
    purpose: str = typer.Option(...),
    started_on: str = typer.Option(..., help="YYYY-MM-DD"),
    as_user: str | None = AS_USER,
) -> None:
    """Record the social-reuse project a disposed asset now serves."""
    with acting(as_user) as (session, principal):
        made = social_reuse.create_project(
            session,
            principal,
            asset_id,
            name=name,
            beneficiary=beneficiary,
            purpose=purpose,
            started_on=_date(started_on, "started_on"),
        )
        console.print(f"reuse project {made.name!r} recorded (id {made.id})")


@app.command("monitor")
def monitor(
    project_id: int = typer.Argument(...),
    on: str = typer.Option(..., "--on", help="Date of the monitoring, YYYY-MM-DD"),
    status: str = typer.Option(..., help=", ".join(social_reuse.REPORT_STATUSES)),
    finding: str = typer.Option(..., help="What the monitoring found"),
    as_user: str | None = AS_USER,
) -> None:
    """File a monitoring report on a social-reuse project."""
    with acting(as_user) as (session, principal):
        social_reuse.add_report(
            session,
            principal,
            project_id,
            reported_on=_date(on, "on"),
            status=status,
            finding=finding,
        )
        console.print(f"monitoring report filed on project {project_id}: {status}")


@app.command("projects")
def projects(as_user: str | None = AS_USER) -> None:
    """Social-reuse projects with their monitoring status and fund allocations."""
    with acting(as_user) as (session, principal):
        found = social_reuse.list_projects(session, principal)
    table = Table(title="social-reuse projects")
    for column in ("id", "project", "asset", "beneficiary", "since", "last report", "status"):
        table.add_column(column)
    for item in found:
        status = item["status"] + (" (overdue)" if item["monitoring_overdue"] else "")
        table.add_row(
            str(item["id"]),
            item["name"],
            item["asset"],
            item["beneficiary"],
            item["started_on"],
            item["last_report_on"] or "none",
            status,
        )
    console.print(table)


@app.command("import-template")
def import_template(
    output: Path = typer.Argument(..., help="File to write: .xlsx (both tables) or .csv"),
    table: str = typer.Option("cases", help="For CSV: cases or assets"),
) -> None:
    """Write the bulk-import template (XLSX with cases and assets sheets, or one CSV table)."""
    try:
        if output.suffix.lower() == ".csv":
            output.write_text(bulk_import.template_csv(table), encoding="utf-8")
        else:
            output.write_bytes(bulk_import.template_xlsx())
    except CrimeprevError as error:
        print_error(f"{error.message}")
        raise typer.Exit(2) from error
    console.print(f"template written to {output}")


@app.command("import")
def import_file(
    path: Path = typer.Argument(..., help="CSV or XLSX made from the import template"),
    as_user: str | None = AS_USER,
) -> None:
    """Import cases and assets, all or nothing; every bad row is listed and nothing is written."""
    if not path.is_file():
        print_error(f"no file {path}")
        raise typer.Exit(2)
    with acting(as_user) as (session, principal):
        try:
            result = bulk_import.import_file(session, principal, path.name, path.read_bytes())
        except bulk_import.ImportRowsError as error:
            table = Table(title=f"{len(error.issues)} problems in {path.name}; nothing imported")
            for column in ("sheet", "row", "column", "value", "expected"):
                table.add_column(column)
            for issue in error.issues:
                table.add_row(
                    issue.sheet, str(issue.row), issue.column, issue.value, issue.expected
                )
            console.print(table)
            raise
    console.print(
        f"imported {len(result.cases)} cases and {len(result.assets)} assets from {path.name}"
    )


@app.command("backup")
def backup_command(
    output: Path = typer.Argument(..., help="JSON file to write (.json.gz to compress)"),
) -> None:
    """Back up the whole operational database (every table, the audit chain) to one file.

    The file holds password hashes and token digests: keep it as safe as the database.
    """
    with acting(None) as (session, _):
        document = backup.create_backup(session)
    payload = json.dumps(document, ensure_ascii=False).encode("utf-8")
    if output.name.endswith(".gz"):
        payload = gzip.compress(payload)
    output.write_bytes(payload)
    rows = sum(document["counts"].values())
    state = ("valid", "") if document["audit"]["valid"] else ("BROKEN", "red")
    console.print(
        styled(
            f"{rows} rows in {len(document['counts'])} tables backed up to {output}; audit chain ",
            state,
            f" ({document['audit']['records']} records)",
        )
    )


@app.command("restore")
def restore_command(
    source: Path = typer.Argument(..., help="A file written by `crimeprev assets backup`"),
    replace: bool = typer.Option(
        False, "--replace", help="Delete what the target database holds first"
    ),
) -> None:
    """Restore a backup into an empty database; counts and the audit chain are verified."""
    try:
        raw = source.read_bytes()
        if source.name.endswith(".gz"):
            raw = gzip.decompress(raw)
        document = json.loads(raw.decode("utf-8"))
    except (OSError, ValueError, EOFError) as error:
        print_error(f"cannot read {source} as a backup: {error}")
        raise typer.Exit(2) from error
    with acting(None) as (session, principal):
        result = backup.restore_backup(
            session, principal, document, source=source.name, replace=replace
        )
    console.print(
        f"restored {sum(result.counts.values())} rows in {len(result.counts)} tables from "
        f"{source}; row counts match and the audit chain verifies ({result.audit_records} records)"
        + (" (previous contents replaced)" if result.replaced else "")
    )


@app.command("transparency")
def public_view() -> None:
    """The public aggregates (small counts suppressed)."""
    threshold = get_settings().small_count_threshold
    with acting(None) as (session, _):
        cells = transparency.asset_flows(session, threshold)
    table = Table(title=f"assets per year, category and stage (counts < {threshold} suppressed)")
    for column in ("year", "category", "stage", "assets", "realised"):
        table.add_column(column)
    for cell in cells:
        table.add_row(
            str(cell.year),
            cell.group,
            cell.stage,
            f"<{threshold}" if cell.suppressed else str(cell.count),
            ", ".join(str(m) for m in cell.realised),
        )
    console.print(table)


@app.command("audit-verify")
def audit_verify() -> None:
    """Recompute the audit chain; exit 1 if any record was changed, deleted or reordered."""
    with acting(None) as (session, _):
        result = verify_audit_chain(session)
    if result.valid:
        console.print(f"audit chain valid: {result.records} records")
        return
    console.print(
        styled(
            ("audit chain BROKEN", "red"),
            f" at sequence {result.first_bad_sequence}: {result.problem}",
        )
    )
    raise typer.Exit(1)
