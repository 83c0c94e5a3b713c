"""``crimeprev tracker``: the Kyoto Declaration tracker and good-practice library.

Commands that read or write the database act as the operator (the system
actor, with the secretariat's rights); the web app and API check each user's
role. Errors print ``error: <message>`` and exit 2.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict
from pathlib import Path

import typer
from rich.table import Table
from rich.text import Text
from sqlalchemy.orm import Session

from crimeprev.cli._output import console, print_error
from crimeprev.cli.db import cli_transaction
from crimeprev.config import get_settings
from crimeprev.db import SYSTEM
from crimeprev.errors import CrimeprevError
from crimeprev.tracker import exports, review, service, views
from crimeprev.tracker.access import (
    TrackerActor,
    grant_membership,
    list_memberships,
    revoke_membership,
)
from crimeprev.tracker.documents import extract_text
from crimeprev.tracker.indicators import IndicatorSeries, existing_warehouse
from crimeprev.tracker.member_states import member_states
from crimeprev.tracker.questionnaire import (
    QuestionnaireError,
    questionnaire_template,
    read_questionnaire,
)
from crimeprev.tracker.search import search
from crimeprev.tracker.search_index import rebuild_index
from crimeprev.tracker.tagging import suggest_tags

app = typer.Typer(
    help="Kyoto Declaration follow-up: submissions, good practices, search, reports.",
    no_args_is_help=True,
)

#: The operator: the CLI acts with the secretariat's rights.
OPERATOR = TrackerActor(principal=SYSTEM, secretariat=True, states=frozenset())
PUBLIC = TrackerActor(principal=None, secretariat=False, states=frozenset())


@contextmanager
def _errors() -> Iterator[None]:
    try:
        yield
    except CrimeprevError as error:
        print_error(f"{error.message}")
        raise typer.Exit(2) from error


@contextmanager
def _session() -> Iterator[Session]:
    with cli_transaction() as session:
        service.sync_reference(session)
        yield session


def _read(path: Path) -> bytes:
    if not path.is_file():
        print_error(f"file {path} does not exist")
        raise typer.Exit(2)
    return path.read_bytes()


def _marked(snippet: str) -> Text:
    """A search snippet with its ``<mark>`` spans in bold, the rest printed literally."""
    text = Text()
    for index, part in enumerate(re.split(r"</?mark>", snippet)):
        text.append(part, style="bold" if index % 2 else "")
    return text


@app.command("states")
def states(region: str = typer.Option(None, help="An M49 region or sub-region")) -> None:
    """List the UN Member States with ISO codes and M49 regions."""
    with _errors():
        found = member_states(region)
    table = Table(title=f"{len(found)} Member States")
    for column in ("ISO3", "ISO2", "M49", "name", "region", "sub-region"):
        table.add_column(column)
    for item in found:
        table.add_row(item.iso3, item.iso2, item.m49, item.name, item.region, item.area)
    console.print(table)


def _print_series(series: IndicatorSeries) -> None:
    """One indicator series: its values with intervals, the notes and the breaks."""
    name = series.series if series.series.startswith("ICCS") else f"SDG {series.series}"
    level = f"{round(series.confidence * 100)}% interval"
    table = Table(title=f"{name}: {series.label} ({series.unit}); {series.source}")
    for column in ("year", "value", "count", f"{level} low", f"{level} high"):
        table.add_column(column, justify="right")
    for row in series.rows():
        table.add_row(
            str(row["year"]),
            f"{row['value']:.2f}",
            "" if row["count"] is None else f"{row['count']:,.0f}",
            "-" if row["ci_low"] is None else f"{row['ci_low']:.2f}",
            "-" if row["ci_high"] is None else f"{row['ci_high']:.2f}",
        )
    console.print(table)
    for note in series.interval_notes:
        console.print(note)
    if series.breaks:
        breaks = Table(title=f"{name}: series breaks (values on either side may not compare)")
        for column in ("from", "kind", "detail"):
            breaks.add_column(column)
        for item in series.breaks:
            breaks.add_row(item.period, item.kind, item.detail)
        console.print(breaks)
    else:
        console.print(f"{name}: no series break found")


@app.command("state")
def state(
    code: str = typer.Argument(..., help="ISO3 code or name of a Member State"),
    all_content: bool = typer.Option(False, "--all", help="Include unpublished content"),
    as_json: bool = typer.Option(False, "--json", help="Print JSON (as /api/tracker/states/CODE)"),
) -> None:
    """A State's submissions, practices and indicator trends with intervals and breaks.

    The series come from the warehouse (CRIMEPREV_WAREHOUSE_URL) when it holds
    data for the State, else from the data bundled with crimeprev.
    """
    settings = get_settings()
    with _session() as session, existing_warehouse(settings.warehouse_url) as warehouse:
        view = views.state_view(session, OPERATOR if all_content else PUBLIC, code, warehouse)
    if as_json:
        console.print_json(json.dumps(view.as_dict()))
        return
    console.print(f"{view.name} ({view.iso3}): {view.region}, {view.subregion}")
    table = Table(title="Submissions")
    for column in ("id", "session", "status", "versions", "public version"):
        table.add_column(column)
    for row in view.submissions:
        table.add_row(
            str(row.submission_id),
            f"{row.discussion}. {row.discussion_title}",
            row.status + (" (fictional demo)" if row.is_fictional else ""),
            str(row.current_version),
            "" if row.published_version is None else str(row.published_version),
        )
    console.print(table)
    practices = Table(title="Good practices")
    for column in ("id", "title", "level", "status", "paragraphs"):
        practices.add_column(column)
    for item in view.practices:
        practices.add_row(
            str(item.practice_id),
            item.title,
            item.level + (f", {item.locality}" if item.locality else ""),
            item.status,
            ", ".join(str(n) for n in item.paragraphs),
        )
    console.print(practices)
    where = "the warehouse" if view.series_from == "warehouse" else "the bundled data"
    console.print(f"Indicator trends from {where}:")
    for series in view.series:
        _print_series(series)
    if not view.series:
        console.print(f"no indicator series for {view.name}")


@app.command("paragraph")
def paragraph(
    number: int = typer.Argument(..., help="A paragraph of the Kyoto Declaration"),
    all_content: bool = typer.Option(False, "--all", help="Include unpublished content"),
    as_json: bool = typer.Option(False, "--json", help="Print JSON"),
) -> None:
    """Which States reported what on a paragraph, its practices and its indicators."""
    settings = get_settings()
    with _session() as session, existing_warehouse(settings.warehouse_url) as warehouse:
        view = views.paragraph_view(session, OPERATOR if all_content else PUBLIC, number, warehouse)
    if as_json:
        console.print_json(json.dumps(view.as_dict()))
        return
    pillar = f"pillar {view.pillar}" if view.pillar else "no pillar"
    console.print(f"Paragraph {view.number}: {view.title or ''} ({pillar})")
    answers = Table(title=f"{len(view.answers)} answer(s)")
    for column in ("State", "session", "question", "answer"):
        answers.add_column(column, overflow="fold")
    for row in view.answers:
        fictional = " (fictional demo)" if row.is_fictional else ""
        answers.add_row(
            row.state_name, str(row.discussion), row.question_text, row.text + fictional
        )
    console.print(answers)
    practices = Table(title=f"{len(view.practices)} good practice(s)")
    for column in ("id", "State", "title", "status"):
        practices.add_column(column)
    for item in view.practices:
        practices.add_row(str(item.practice_id), item.state_name, item.title, item.status)
    console.print(practices)
    for series, label, unit in view.indicators:
        console.print(f"indicator {series}: {label} ({unit})")
    if view.indicator_values:
        values = Table(title="Latest values for the States that reported on the paragraph")
        for column in ("series", "State", "year", "value", "95% interval", "breaks", "source"):
            values.add_column(column, overflow="fold")
        for value in view.indicator_values:
            interval = (
                f"{value.ci_low:.2f} to {value.ci_high:.2f}"
                if value.ci_low is not None and value.ci_high is not None
                else "not computable"
            )
            values.add_row(
                value.series,
                value.state_name,
                "" if value.year is None else str(value.year),
                "no value" if value.value is None else f"{value.value:.2f}",
                interval,
                str(value.breaks),
                value.source,
            )
        console.print(values)


@app.command("compare")
def compare(
    first: str = typer.Argument(..., help="ISO3 code or name"),
    second: str = typer.Argument(..., help="ISO3 code or name"),
    all_content: bool = typer.Option(False, "--all", help="Include unpublished content"),
    as_json: bool = typer.Option(False, "--json", help="Print JSON"),
) -> None:
    """Two States side by side, paragraph by paragraph."""
    with _session() as session:
        a, b, rows = views.compare_states(
            session, OPERATOR if all_content else PUBLIC, first, second
        )
    if as_json:
        payload = {"first": a, "second": b, "rows": [asdict(row) for row in rows]}
        console.print_json(json.dumps(payload))
        return
    table = Table(title=f"{a} and {b} side by side")
    for column in ("paragraph", a, b):
        table.add_column(column, overflow="fold")
    for row in rows:
        table.add_row(
            f"{row.paragraph} {row.title or ''}", "\n".join(row.first), "\n".join(row.second)
        )
    console.print(table)
    if not rows:
        console.print(f"neither {a} nor {b} has reported on any paragraph")


@app.command("versions")
def versions(
    submission_id: int = typer.Argument(..., metavar="ID", help="The submission's id"),
    version: int = typer.Option(None, help="Print this version's answers"),
    as_json: bool = typer.Option(False, "--json", help="Print JSON"),
) -> None:
    """List a submission's saved versions (what changed in each), or print one version."""
    with _session() as session:
        if version is not None:
            answers = review.version_answers(session, OPERATOR, submission_id, version)
        else:
            rows = review.submission_versions(session, OPERATOR, submission_id)
    if version is not None:
        if as_json:
            payload = {"submission": submission_id, "version": version,
                       "answers": [asdict(answer) for answer in answers]}  # fmt: skip
            console.print_json(json.dumps(payload))
            return
        table = Table(title=f"Submission {submission_id}, version {version}")
        for column in ("question", "answer", "paragraphs", "groups"):
            table.add_column(column, overflow="fold")
        for answer in answers:
            table.add_row(
                str(answer.question),
                answer.text,
                ", ".join(str(n) for n in answer.paragraphs),
                ", ".join(answer.population_groups),
            )
        console.print(table)
        return
    if as_json:
        console.print_json(json.dumps([row.as_dict() for row in rows]))
        return
    table = Table(title=f"Submission {submission_id}: {len(rows)} version(s)")
    for column in ("version", "saved (UTC)", "by", "answers", "questions changed", "state"):
        table.add_column(column)
    for row in rows:
        marks = [mark for mark, on in (("public", row.public), ("working copy", row.current)) if on]
        table.add_row(
            str(row.version),
            row.saved_at.strftime("%Y-%m-%d %H:%M"),
            row.saved_by,
            str(row.answers),
            ", ".join(str(n) for n in row.changed_questions) or "none",
            ", ".join(marks),
        )
    console.print(table)


@app.command("review")
def review_command(
    as_json: bool = typer.Option(False, "--json", help="Print JSON"),
) -> None:
    """List the submissions and practices under review, then the drafts."""
    with _session() as session:
        items = review.worklist(session, OPERATOR)
    if as_json:
        console.print_json(json.dumps([item.as_dict() for item in items]))
        return
    table = Table(title=f"{len(items)} item(s) waiting")
    for column in ("waiting for", "kind", "id", "state", "what", "status", "since (UTC)"):
        table.add_column(column, overflow="fold")
    for item in items:
        table.add_row(
            item.waiting_for,
            item.kind,
            str(item.record_id),
            item.state_iso3,
            item.title + (" (fictional demo)" if item.is_fictional else ""),
            item.status,
            item.updated_at.strftime("%Y-%m-%d %H:%M"),
        )
    console.print(table)


@app.command("audit")
def audit(
    entity: str = typer.Option(None, help="submission, practice, document or membership"),
    record_id: str = typer.Option(None, "--id", help="One record's history (with --entity)"),
    limit: int = typer.Option(50, help="At most this many records, newest first"),
    as_json: bool = typer.Option(False, "--json", help="Print JSON"),
) -> None:
    """Print the tracker's audit log (newest first) and check its hash chain."""
    with _session() as session:
        found = review.tracker_audit(
            session, OPERATOR, entity=entity, entity_id=record_id, limit=limit
        )
    if as_json:
        console.print_json(json.dumps(found.as_dict()))
        return
    table = Table(title=f"Tracker audit log ({len(found.rows)} record(s))")
    for column in ("#", "when (UTC)", "who", "action", "record", "change"):
        table.add_column(column, overflow="fold")
    for row in found.rows:
        change = row.after if row.after is not None else row.before
        table.add_row(
            str(row.sequence),
            row.at.strftime("%Y-%m-%d %H:%M:%S"),
            row.actor,
            row.action,
            f"{row.entity.removeprefix('tracker_')} {row.entity_id}",
            json.dumps(change, ensure_ascii=False)[:200],
        )
    console.print(table)
    if found.chain_valid:
        console.print(f"audit chain verifies ({found.chain_records} records)")
    else:
        print_error(f"the audit chain does not verify: {found.chain_problem}")
        raise typer.Exit(1)


@app.command("suggest")
def suggest(
    text: str = typer.Argument(None, help="The text (or use --file)"),
    file: Path = typer.Option(None, help="A PDF, DOCX or text file to read the text from"),
    limit: int = typer.Option(5, help="Suggestions of each kind"),
    as_json: bool = typer.Option(False, "--json", help="Print JSON"),
) -> None:
    """Suggest Kyoto paragraphs, ICCS categories and population groups for a text."""
    with _errors():
        if file is not None:
            text = extract_text(_read(file), file.name).text
        if not text:
            print_error("give a text or --file")
            raise typer.Exit(2)
        found = suggest_tags(text, limit=limit)
    if as_json:
        console.print_json(json.dumps(found.as_dict()))
        return
    for name, items in found.as_dict().items():
        table = Table(title=name.replace("_", " "))
        for column in ("key", "label", "score", "matched words"):
            table.add_column(column)
        for item in items:
            table.add_row(
                str(item["key"]),
                str(item["label"]),
                f"{item['score']:.3f}",
                ", ".join(item["matched"]),  # type: ignore[arg-type]
            )
        console.print(table)


@app.command("extract")
def extract(file: Path = typer.Argument(..., help="A PDF, DOCX or text file")) -> None:
    """Check a document as an upload would be checked, and print its text."""
    with _errors():
        found = extract_text(_read(file), file.name)
    pages = f", {found.pages} pages" if found.pages else ""
    console.print(
        f"{found.filename}: {found.kind}, {found.size} bytes{pages}, {len(found.text)} characters",
        highlight=False,
    )
    console.print(found.text, highlight=False, markup=False)


@app.command("attach")
def attach(
    practice_id: int = typer.Argument(..., metavar="PRACTICE", help="The practice's id"),
    files: list[Path] = typer.Argument(..., metavar="FILE...", help="PDF, DOCX or text files"),
) -> None:
    """Attach source documents to a good practice, checked as uploads are (as the secretariat).

    All or nothing: if one file is refused, none is attached.
    """
    limit = int(get_settings().tracker_upload_max_bytes)
    contents = [(_read(file), file.name) for file in files]
    with _session() as session:
        attached = [
            service.add_document(session, OPERATOR, practice_id, content, name, max_bytes=limit)
            for content, name in contents
        ]
        lines = [
            f"attached {d.filename} ({d.kind}, {d.size} bytes, {len(d.text)} characters) "
            f"as document {d.id}"
            for d in attached
        ]
    for line in lines:
        console.print(line)


@app.command("template")
def template(
    session_number: int = typer.Argument(..., metavar="SESSION", help="Thematic discussion number"),
    output: Path = typer.Option(None, "-o", "--output", help="Where to write the XLSX"),
) -> None:
    """Write the XLSX questionnaire template of a thematic discussion."""
    with _errors():
        content = questionnaire_template(session_number)
    target = output or Path(f"kyoto-questionnaire-session-{session_number}.xlsx")
    target.write_bytes(content)
    console.print(f"wrote {target}")


@app.command("import")
def import_questionnaire(
    file: Path = typer.Argument(..., help="A filled questionnaire (.xlsx)"),
    publish: bool = typer.Option(False, help="Submit and publish it at once"),
) -> None:
    """Import a filled questionnaire as a draft (checked row by row; nothing stored on error)."""
    content = _read(file)
    try:
        read_questionnaire(content, file.name)  # every problem listed before touching the database
    except QuestionnaireError as error:
        table = Table(title=f"{file.name}: {len(error.issues)} problem(s); nothing was imported")
        for column in ("sheet", "row", "column", "value", "expected"):
            table.add_column(column)
        for issue in error.issues:
            table.add_row(
                issue.sheet,
                str(issue.row or ""),
                issue.column or "",
                repr(issue.value),
                issue.expected,
            )
        console.print(table)
        raise typer.Exit(2) from error
    except CrimeprevError as error:
        print_error(f"{error.message}")
        raise typer.Exit(2) from error
    with _session() as session:
        found = service.import_questionnaire(session, OPERATOR, content, file.name)
        if publish:
            service.submit_submission(session, OPERATOR, found.id)
            service.publish_submission(session, OPERATOR, found.id)
        summary = (
            found.id,
            found.state_iso3,
            found.discussion.number,
            found.current_version,
            found.status,
        )
    console.print(
        f"submission {summary[0]}: {summary[1]}, session {summary[2]}, version {summary[3]}, "
        f"{summary[4]}"
    )


@app.command("search")
def search_command(
    query: str = typer.Argument("", help="Words to find"),
    country: list[str] = typer.Option(None, help="Filter by ISO3 code (repeatable)"),
    paragraph: list[str] = typer.Option(None, help="Filter by paragraph (repeatable)"),
    group: list[str] = typer.Option(None, help="Filter by population group (repeatable)"),
    all_content: bool = typer.Option(False, "--all", help="Include unpublished content"),
    as_json: bool = typer.Option(False, "--json", help="Print JSON"),
) -> None:
    """Search submissions, practices and documents (published only unless --all)."""
    filters = {
        name: values
        for name, values in (("country", country), ("paragraph", paragraph), ("group", group))
        if values
    }
    with _session() as session:
        found = search(session, query, filters=filters, unpublished="all" if all_content else ())
    if as_json:
        payload = {
            "query": found.query,
            "total": found.total,
            "exact": found.exact,
            "counted": found.counted,
            "hits": [asdict(hit) for hit in found.hits],
            "facets": {name: [asdict(i) for i in items] for name, items in found.facets.items()},
        }
        console.print_json(json.dumps(payload))
        return
    table = Table(title=f"{found.total:,} result(s) for {query!r}")
    for column in ("kind", "state", "title", "snippet"):
        table.add_column(column, overflow="fold")
    for hit in found.hits:
        snippet = _marked(hit.snippet)
        table.add_row(hit.kind, hit.state_iso3, hit.title, snippet)
    console.print(table)


@app.command("reindex")
def reindex() -> None:
    """Build or rebuild the search index now (else the first search after an upgrade does)."""

    def report(step: str) -> None:
        console.print(f"  {step} ...")

    console.print("rebuilding the tracker search index")
    with cli_transaction() as session:
        counts = rebuild_index(session.connection(), report)
    console.print(
        f"search index built: {counts.documents:,} documents, {counts.postings:,} postings "
        f"in {counts.seconds:.1f} s"
    )


@app.command("grant")
def grant(
    username: str = typer.Argument(...),
    role: str = typer.Argument(..., help="focal_point or secretariat"),
    state: str = typer.Option(None, help="The State a focal point speaks for"),
) -> None:
    """Make a user a focal point for a State, or a member of the secretariat."""
    with _session() as session:
        found = grant_membership(session, OPERATOR, username=username, role=role, state=state)
        shown = f"{username} is now {found.role}" + (
            f" for {found.state_iso3}" if found.state_iso3 else ""
        )
    console.print(shown)


@app.command("publish")
def publish(
    kind: str = typer.Argument(..., help="submission or practice"),
    record_id: int = typer.Argument(..., metavar="ID"),
) -> None:
    """Publish a submission or practice under review (as the secretariat)."""
    with _session() as session:
        if kind == "submission":
            found = service.publish_submission(session, OPERATOR, record_id)
            status = found.status
        elif kind == "practice":
            status = service.publish_practice(session, OPERATOR, record_id).status
        else:
            print_error("publish a submission or a practice")
            raise typer.Exit(2)
    console.print(f"{kind} {record_id}: {status}")


@app.command("return")
def return_command(
    kind: str = typer.Argument(..., help="submission or practice"),
    record_id: int = typer.Argument(..., metavar="ID"),
    note: str = typer.Option(..., help="What the State should change (kept in the audit log)"),
) -> None:
    """Send a submission or practice under review back to its State (as the secretariat)."""
    with _session() as session:
        if kind == "submission":
            status = service.return_submission(session, OPERATOR, record_id, note).status
        elif kind == "practice":
            status = service.return_practice(session, OPERATOR, record_id, note).status
        else:
            print_error("return a submission or a practice")
            raise typer.Exit(2)
    console.print(f"{kind} {record_id}: returned, now {status}")


@app.command("unpublish")
def unpublish(
    kind: str = typer.Argument(..., help="submission or practice"),
    record_id: int = typer.Argument(..., metavar="ID"),
    reason: str = typer.Option(..., help="Why it is withdrawn (kept in the audit log)"),
) -> None:
    """Withdraw a published submission or practice from the public (as the secretariat)."""
    with _session() as session:
        if kind == "submission":
            status = service.unpublish_submission(session, OPERATOR, record_id, reason).status
        elif kind == "practice":
            status = service.unpublish_practice(session, OPERATOR, record_id, reason).status
        else:
            print_error("unpublish a submission or a practice")
            raise typer.Exit(2)
    console.print(f"{kind} {record_id}: unpublished, now {status}")


@app.command("revoke")
def revoke(
    username: str = typer.Argument(...),
    role: str = typer.Argument(..., help="focal_point or secretariat"),
    state: str = typer.Option(None, help="The State of a focal point's role"),
) -> None:
    """Take a tracker role from a user."""
    with _session() as session:
        removed = revoke_membership(session, OPERATOR, username=username, role=role, state=state)
    if not removed:
        print_error(f"{username} does not hold that role")
        raise typer.Exit(2)
    console.print(f"{username} is no longer {role}" + (f" for {state}" if state else ""))


@app.command("roles")
def roles() -> None:
    """List who holds which tracker role."""
    with _session() as session:
        rows = list_memberships(session)
    table = Table(title="Tracker roles")
    for column in ("user", "role", "state"):
        table.add_column(column)
    for username, role, state in rows:
        table.add_row(username, role, state or "")
    console.print(table)


@app.command("coverage")
def coverage() -> None:
    """Print which States reported on which paragraphs (published content)."""
    with _session() as session:
        table_data = views.coverage(session, PUBLIC)
    table = Table(title="Coverage: answers and practices per paragraph")
    table.add_column("State")
    for number in table_data.paragraphs:
        table.add_column(f"¶{number}", justify="right")
    for _, name, _, counts in table_data.rows:
        table.add_row(name, *[str(count or "") for count in counts])
    console.print(table)
    for region, reporting, total in table_data.regions:
        console.print(f"{region}: {reporting} of {total} Member States reporting")


@app.command("report")
def report(
    session_number: int = typer.Argument(..., metavar="SESSION"),
    output: Path = typer.Option(..., "-o", "--output", help="report.html or report.pdf"),
) -> None:
    """Write the session summary report (published answers by question) as HTML or PDF."""
    if output.suffix.lower() not in {".html", ".pdf"}:
        print_error("the output must end in .html or .pdf")
        raise typer.Exit(2)
    with _session() as session:
        compiled = exports.session_report(session, session_number)
    if output.suffix.lower() == ".pdf":
        output.write_bytes(exports.report_pdf(compiled))
    else:
        output.write_text(exports.report_html(compiled), encoding="utf-8")
    console.print(
        f"wrote {output}: {compiled.answer_count} answers from {len(compiled.states)} States"
    )


@app.command("export")
def export(
    what: str = typer.Option("answers", help="answers, practices or all"),
    fmt: str = typer.Option("csv", "--format", help="csv, json or xlsx"),
    output: Path = typer.Option(..., "-o", "--output"),
    all_content: bool = typer.Option(False, "--all", help="Include unpublished content"),
) -> None:
    """Export published answers and/or practices (everything with --all)."""
    with _session() as session:
        content, _, _ = exports.export(session, OPERATOR if all_content else PUBLIC, what, fmt)
    output.write_bytes(content)
    console.print(f"wrote {output} ({len(content)} bytes)")
