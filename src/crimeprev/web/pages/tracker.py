"""Pages of the Kyoto tracker: search, paragraph, State, coverage, comparison, records, forms.

Each page has a JSON twin under ``/api/tracker``. Forms post with the
session's CSRF token and redirect to the record they changed; errors show on
the app's error page (or, for the questionnaire import, next to the form).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from functools import cache
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Depends, File, Form, Request, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from crimeprev.db.models import User
from crimeprev.errors import DataFileError, InvalidInputError
from crimeprev.standards import kyoto
from crimeprev.tracker import exports, review, service, views
from crimeprev.tracker.access import (
    TrackerActor,
    grant_membership,
    list_memberships,
    require_secretariat,
    revoke_membership,
)
from crimeprev.tracker.indicators import series_chart
from crimeprev.tracker.member_states import member_state, member_states, regions
from crimeprev.tracker.models import Discussion, Submission
from crimeprev.tracker.questionnaire import QuestionnaireError
from crimeprev.tracker.search import search
from crimeprev.tracker.tagging import POPULATION_GROUPS, suggest_tags
from crimeprev.web.api.tracker import (
    optional_warehouse,
    read_upload,
    search_filters,
    tracker_actor,
    tracker_session,
    upload_limit,
)
from crimeprev.web.auth import page_csrf_token
from crimeprev.web.templating import render

router = APIRouter(prefix="/tracker", include_in_schema=False)


def _context(request: Request, actor: TrackerActor, **values: Any) -> dict[str, Any]:
    return {
        "actor": actor,
        "csrf_token": page_csrf_token(request),
        "state_name": lambda code: member_state(code).name,
        "groups": {group.key: group.label for group in POPULATION_GROUPS},
        **values,
    }


def _paragraph_choices() -> list[tuple[int, str]]:
    return [
        (
            item.number,
            f"{item.number} {item.title or ('Pillar ' + item.pillar.roman if item.pillar else '')}",
        )
        for item in kyoto.paragraphs()
    ]


def _numbers(values: list[str], free_text: str = "") -> tuple[int, ...]:
    parts = list(values) + [part for part in free_text.replace(";", ",").split(",") if part.strip()]
    return service.validate_paragraphs(parts) if parts else ()


@router.get("", response_class=HTMLResponse)
def overview(
    request: Request,
    q: str = "",
    page: int = 1,
    session: Session = Depends(tracker_session),
    actor: TrackerActor = Depends(tracker_actor),
) -> HTMLResponse:
    """Search with facets, the discussions and the ways into the data."""
    with session.begin():
        result = search(
            session,
            q,
            filters=search_filters(request),
            unpublished=actor.unpublished_scope,
            page=max(1, page),
        )
        discussions = (
            session.execute(select(Discussion).order_by(Discussion.number)).scalars().all()
        )
    context = _context(
        request,
        actor,
        result=result,
        query=q,
        chosen=search_filters(request),
        discussions=discussions,
        paragraph_title=lambda n: kyoto.paragraph(int(n)).title if str(n).isdigit() else None,
    )
    if request.headers.get("HX-Request"):
        return render(request, "tracker/_results.html", context)
    return render(request, "tracker/overview.html", context)


@router.get("/paragraphs/{number}", response_class=HTMLResponse)
def paragraph(
    request: Request,
    number: int,
    session: Session = Depends(tracker_session),
    actor: TrackerActor = Depends(tracker_actor),
) -> HTMLResponse:
    """Which States reported what on a paragraph."""
    with session.begin(), optional_warehouse(request) as warehouse:
        view = views.paragraph_view(session, actor, number, warehouse)
    return render(request, "tracker/paragraph.html", _context(request, actor, view=view))


@router.get("/states/{code}", response_class=HTMLResponse)
def state(
    request: Request,
    code: str,
    session: Session = Depends(tracker_session),
    actor: TrackerActor = Depends(tracker_actor),
) -> HTMLResponse:
    """A Member State's submissions, practices and indicator trends."""
    with session.begin(), optional_warehouse(request) as warehouse:
        view = views.state_view(session, actor, code, warehouse)
    charts = [series_chart(series, view.name) for series in view.series if series.points]
    return render(request, "tracker/state.html", _context(request, actor, view=view, charts=charts))


@router.get("/states", response_class=HTMLResponse)
def states(request: Request, actor: TrackerActor = Depends(tracker_actor)) -> HTMLResponse:
    """The 193 Member States by region."""
    grouped = [(region, member_states(region)) for region in regions()]
    return render(request, "tracker/states.html", _context(request, actor, grouped=grouped))


@router.get("/coverage", response_class=HTMLResponse)
def coverage(
    request: Request,
    session: Session = Depends(tracker_session),
    actor: TrackerActor = Depends(tracker_actor),
) -> HTMLResponse:
    """Which States reported on which paragraphs."""
    with session.begin():
        table = views.coverage(session, actor)
    states = table.by_state()
    drawn = atlas_codes()
    return render(
        request,
        "tracker/coverage.html",
        _context(
            request,
            actor,
            table=table,
            map_spec=coverage_map(states),
            not_drawn=[state for state in states if state["m49"] not in drawn],
        ),
    )


#: The vendored Natural Earth country outlines (see its PROVENANCE.md).
ATLAS = Path(__file__).resolve().parent.parent / "static/vendor/world-atlas/countries-110m.json"
ATLAS_URL = "/static/vendor/world-atlas/countries-110m.json"


@cache
def atlas_codes() -> frozenset[str]:
    """ISO 3166-1 numeric codes of the countries the 1:110m map draws (small States lack one)."""
    topology = json.loads(ATLAS.read_text(encoding="utf-8"))
    return frozenset(
        str(shape["id"])
        for shape in topology["objects"]["countries"]["geometries"]
        if "id" in shape
    )


def coverage_map(states: list[dict[str, Any]]) -> dict[str, Any]:
    """A Vega-Lite choropleth: paragraphs reported on, per State, on Natural Earth outlines.

    Every country is drawn in grey; a second layer looks each shape's ISO 3166
    numeric ``id`` up among the reporting States (their ``m49``) and colours the
    ones found. Only the counts travel in the spec; the outlines load from the
    vendored file, so the map works offline.
    """
    outlines = {"url": ATLAS_URL, "format": {"type": "topojson", "feature": "countries"}}
    return {
        "$schema": "https://vega.github.io/schema/vega-lite/v5.json",
        "description": "Member States by the number of Kyoto paragraphs they reported on",
        "width": "container",
        "height": 380,
        "projection": {"type": "equalEarth"},
        "layer": [
            {
                "data": outlines,
                "mark": {"type": "geoshape", "fill": "#e6e6e6", "stroke": "#fff"},
            },
            {
                "data": outlines,
                "transform": [
                    {
                        "lookup": "id",
                        "from": {
                            "data": {"values": states, "name": "coverage"},
                            "key": "m49",
                            "fields": ["iso3", "name", "paragraphs", "reports"],
                        },
                    },
                    {"filter": "isValid(datum.paragraphs)"},
                    {"calculate": "'/tracker/states/' + datum.iso3", "as": "link"},
                ],
                "mark": {"type": "geoshape", "stroke": "#fff"},
                "encoding": {
                    "color": {
                        "field": "paragraphs",
                        "type": "quantitative",
                        "title": "Paragraphs reported on",
                        "scale": {"scheme": "blues", "domainMin": 0},
                    },
                    "tooltip": [
                        {"field": "name", "title": "State"},
                        {"field": "paragraphs", "title": "Paragraphs"},
                        {"field": "reports", "title": "Answers and practices"},
                    ],
                    "href": {"field": "link"},
                },
            },
        ],
    }


@router.get("/compare", response_class=HTMLResponse)
def compare(
    request: Request,
    first: str = "",
    second: str = "",
    session: Session = Depends(tracker_session),
    actor: TrackerActor = Depends(tracker_actor),
) -> HTMLResponse:
    """Two States side by side."""
    rows: Any = None
    codes: tuple[str, str] | None = None
    if first and second:
        with session.begin():
            a, b, rows = views.compare_states(session, actor, first, second)
        codes = (a, b)
    return render(
        request,
        "tracker/compare.html",
        _context(
            request,
            actor,
            rows=rows,
            codes=codes,
            first=first,
            second=second,
            states=member_states(),
        ),
    )


@router.get("/discussions/{number}/report", response_class=HTMLResponse)
def report(number: int, session: Session = Depends(tracker_session)) -> HTMLResponse:
    """The session summary report as a standalone page (the API serves the PDF)."""
    with session.begin():
        compiled = exports.session_report(session, number)
    return HTMLResponse(exports.report_html(compiled))


@router.get("/submissions/new", response_class=HTMLResponse)
def new_submission(
    request: Request,
    discussion: int = 1,
    state: str = "",
    session: Session = Depends(tracker_session),
    actor: TrackerActor = Depends(tracker_actor),
) -> HTMLResponse:
    """The answer form for one discussion (prefilled with the latest working copy)."""
    with session.begin():
        found = service.get_discussion(session, discussion)
        iso3 = (
            member_state(state).iso3 if state else (sorted(actor.states)[0] if actor.states else "")
        )
        existing: dict[int, Any] = {}
        if iso3:
            for row in views.visible_answers(session, actor, state=iso3, discussion=discussion):
                existing[row.question] = row
        questions = [(question.number, question.text) for question in found.questions]
        title = found.title
    return render(
        request,
        "tracker/submission_form.html",
        _context(
            request,
            actor,
            discussion=discussion,
            title=title,
            questions=questions,
            iso3=iso3,
            existing=existing,
            states=member_states(),
            discussions=kyoto.sessions(),
        ),
    )


@router.post("/submissions/new")
async def save_submission(
    request: Request,
    session: Session = Depends(tracker_session),
    actor: TrackerActor = Depends(tracker_actor),
) -> Response:
    """Save the answer form as a new draft version."""
    form = await request.form()
    discussion = int(str(form.get("discussion", "0")) or 0)
    answers = []
    for key in form:
        if key.startswith("answer_"):
            number = int(key.removeprefix("answer_"))
            answers.append(
                service.AnswerInput(
                    question_number=number,
                    text=str(form.get(key, "")),
                    paragraphs=_numbers([], str(form.get(f"paragraphs_{number}", ""))),
                    population_groups=tuple(str(v) for v in form.getlist(f"groups_{number}")),
                )
            )
    with session.begin():
        found = service.save_submission(
            session,
            actor,
            discussion=discussion,
            state=str(form.get("state", "")),
            answers=answers,
            focal_point=str(form.get("focal_point", "")),
            email=str(form.get("email", "")),
            note=str(form.get("note", "")),
        )
        target = f"/tracker/submissions/{found.id}"
    return RedirectResponse(target, status_code=303)


@router.get("/submissions/{submission_id}", response_class=HTMLResponse)
def submission(
    request: Request,
    submission_id: int,
    version: int | None = None,
    session: Session = Depends(tracker_session),
    actor: TrackerActor = Depends(tracker_actor),
) -> HTMLResponse:
    """A submission with its answers and the workflow buttons the viewer may use.

    ``?version=N`` shows an earlier version's answers (editors and the
    secretariat; the public reads the published version only).
    """
    with session.begin():
        found = service.get_submission(session, actor, submission_id)
        answers: Sequence[views.AnswerRow] = views.submission_answers(session, actor, found)
        shown = service.visible_version(session, actor, found)
        shown_number = shown.version if shown else None
        if version is not None and version != shown_number:
            answers = _version_rows(session, actor, found, version)
            shown_number = version
        context = _context(
            request,
            actor,
            submission=found,
            discussion=found.discussion,
            answers=answers,
            shown_version=shown_number,
            asked_version=version,
            versions=review.submission_versions(session, actor, found.id)
            if actor.may_edit(found.state_iso3)
            else (),
            history=views.review_history(
                session, actor, "tracker_submission", found.id, found.state_iso3
            ),
        )
        return render(request, "tracker/submission.html", context)


def _version_rows(
    session: Session, actor: TrackerActor, found: Submission, version: int
) -> list[views.AnswerRow]:
    """One version's answers in the shape the page shows answers."""
    return [
        views.AnswerRow(
            submission_id=found.id,
            state_iso3=found.state_iso3,
            state_name=member_state(found.state_iso3).name,
            discussion=found.discussion.number,
            question=answer.question,
            question_text=answer.question_text,
            text=answer.text,
            paragraphs=answer.paragraphs,
            population_groups=answer.population_groups,
            version=version,
            published=version == found.published_version,
            is_fictional=found.is_fictional,
        )
        for answer in review.version_answers(session, actor, found.id, version)
    ]


@router.get("/review", response_class=HTMLResponse)
def review_page(
    request: Request,
    session: Session = Depends(tracker_session),
    actor: TrackerActor = Depends(tracker_actor),
) -> HTMLResponse:
    """What waits for review (secretariat) or completion (focal points)."""
    with session.begin():
        items = review.worklist(session, actor)
    return render(request, "tracker/review.html", _context(request, actor, items=items))


@router.get("/audit", response_class=HTMLResponse)
def audit_page(
    request: Request,
    entity: str | None = None,
    id: str | None = None,  # noqa: A002 - the query name
    limit: int = 200,
    session: Session = Depends(tracker_session),
    actor: TrackerActor = Depends(tracker_actor),
) -> HTMLResponse:
    """The tracker's audit log and its chain check (secretariat)."""
    with session.begin():
        found = review.tracker_audit(session, actor, entity=entity or None, entity_id=id or None,
                                     limit=limit)  # fmt: skip
    return render(
        request,
        "tracker/audit.html",
        _context(request, actor, audit=found, entity=entity or "", record=id or ""),
    )


@router.post("/submissions/{submission_id}/{step}")
def submission_step(
    submission_id: int,
    step: str,
    note: str = Form(""),
    session: Session = Depends(tracker_session),
    actor: TrackerActor = Depends(tracker_actor),
) -> Response:
    """Submit, return, publish or unpublish a submission."""
    with session.begin():
        if step == "submit":
            service.submit_submission(session, actor, submission_id)
        elif step == "return":
            service.return_submission(session, actor, submission_id, note)
        elif step == "publish":
            service.publish_submission(session, actor, submission_id)
        elif step == "unpublish":
            service.unpublish_submission(session, actor, submission_id, note)
        else:
            raise InvalidInputError(f"unknown step {step!r}")
    return RedirectResponse(f"/tracker/submissions/{submission_id}", status_code=303)


@router.get("/import", response_class=HTMLResponse)
def import_page(request: Request, actor: TrackerActor = Depends(tracker_actor)) -> HTMLResponse:
    """Download a questionnaire template; upload a filled one."""
    return render(
        request,
        "tracker/import.html",
        _context(request, actor, discussions=kyoto.sessions(), issues=[], message=""),
    )


@router.post("/import", response_class=HTMLResponse)
async def import_upload(
    request: Request,
    file: UploadFile = File(...),
    session: Session = Depends(tracker_session),
    actor: TrackerActor = Depends(tracker_actor),
) -> Response:
    """Import a filled questionnaire; on problems, list every one next to the form."""
    try:
        content = await read_upload(file, upload_limit(request))
        with session.begin():
            found = service.import_questionnaire(
                session, actor, content, file.filename or "upload.xlsx"
            )
            target = f"/tracker/submissions/{found.id}"
    except QuestionnaireError as error:
        return render(
            request,
            "tracker/import.html",
            _context(
                request,
                actor,
                discussions=kyoto.sessions(),
                issues=error.issues,
                message=f"{file.filename}: {len(error.issues)} problem(s); nothing was imported.",
            ),
            status_code=422,
        )
    except DataFileError as error:
        return render(
            request,
            "tracker/import.html",
            _context(
                request,
                actor,
                discussions=kyoto.sessions(),
                issues=[],
                message=f"{error.message}; nothing was imported.",
            ),
            status_code=422,
        )
    return RedirectResponse(target, status_code=303)


@router.post("/suggest", response_class=HTMLResponse)
async def suggest(request: Request) -> HTMLResponse:
    """Tag suggestions for the text typed so far (an htmx fragment of checkboxes)."""
    form = await request.form()
    text = " ".join(str(form.get(name, "")) for name in ("title", "summary", "evaluation"))
    found = suggest_tags(text[:200_000])
    return render(request, "tracker/_suggestions.html", {"found": found})


@router.get("/practices/new", response_class=HTMLResponse)
def new_practice(request: Request, actor: TrackerActor = Depends(tracker_actor)) -> HTMLResponse:
    """The form for a new good practice, with tagging help."""
    return render(
        request,
        "tracker/practice_form.html",
        _context(
            request,
            actor,
            practice=None,
            states=member_states(),
            default_state=sorted(actor.states)[0] if actor.states else "",
            paragraphs=_paragraph_choices(),
        ),
    )


@router.post("/practices/new")
async def create_practice(
    request: Request,
    session: Session = Depends(tracker_session),
    actor: TrackerActor = Depends(tracker_actor),
) -> Response:
    """Record the practice as a draft and show it."""
    data = _practice_input(await request.form())
    with session.begin():
        found = service.create_practice(session, actor, data)
        target = f"/tracker/practices/{found.id}"
    return RedirectResponse(target, status_code=303)


@router.get("/practices/{practice_id}/edit", response_class=HTMLResponse)
def edit_practice(
    request: Request,
    practice_id: int,
    session: Session = Depends(tracker_session),
    actor: TrackerActor = Depends(tracker_actor),
) -> HTMLResponse:
    """The practice form, filled with the practice's current values."""
    with session.begin():
        found = service.get_practice(session, actor, practice_id)
        return render(
            request,
            "tracker/practice_form.html",
            _context(
                request,
                actor,
                practice=found,
                states=member_states(),
                default_state=found.state_iso3,
                paragraphs=_paragraph_choices(),
            ),
        )


@router.post("/practices/{practice_id}/edit")
async def update_practice(
    request: Request,
    practice_id: int,
    session: Session = Depends(tracker_session),
    actor: TrackerActor = Depends(tracker_actor),
) -> Response:
    """Save the changed practice (a focal point's change to a published one makes a draft)."""
    data = _practice_input(await request.form())
    with session.begin():
        service.update_practice(session, actor, practice_id, data)
    return RedirectResponse(f"/tracker/practices/{practice_id}", status_code=303)


def _practice_input(form: Any) -> service.PracticeInput:
    year_text = str(form.get("year", "")).strip()
    try:
        year = int(year_text) if year_text else None
    except ValueError:
        raise InvalidInputError(f"year must be a number, got {year_text!r}", field="year") from None
    return service.PracticeInput(
        title=str(form.get("title", "")),
        summary=str(form.get("summary", "")),
        state=str(form.get("state", "")),
        level=str(form.get("level", "national")),
        locality=str(form.get("locality", "")),
        evaluation=str(form.get("evaluation", "")),
        contact=str(form.get("contact", "")),
        year=year,
        paragraphs=_numbers(
            [str(v) for v in form.getlist("paragraphs")], str(form.get("more_paragraphs", ""))
        ),
        iccs_codes=tuple(
            dict.fromkeys(
                [str(v) for v in form.getlist("iccs")]
                + [c.strip() for c in str(form.get("more_iccs", "")).split(",") if c.strip()]
            )
        ),
        sdg=tuple(s.strip() for s in str(form.get("sdg", "")).split(",") if s.strip()),
        population_groups=tuple(dict.fromkeys(str(v) for v in form.getlist("groups"))),
    )


@router.get("/practices/{practice_id}", response_class=HTMLResponse)
def practice(
    request: Request,
    practice_id: int,
    session: Session = Depends(tracker_session),
    actor: TrackerActor = Depends(tracker_actor),
) -> HTMLResponse:
    """A good practice with its tags, documents and workflow buttons."""
    with session.begin():
        found = service.get_practice(session, actor, practice_id)
        return render(
            request,
            "tracker/practice.html",
            _context(
                request,
                actor,
                practice=found,
                paragraph_title=lambda n: kyoto.paragraph(n).title,
                history=views.review_history(
                    session, actor, "tracker_practice", found.id, found.state_iso3
                ),
            ),
        )


@router.post("/practices/{practice_id}/documents")
async def upload_document(
    request: Request,
    practice_id: int,
    file: UploadFile = File(...),
    session: Session = Depends(tracker_session),
    actor: TrackerActor = Depends(tracker_actor),
) -> Response:
    """Attach a document to a practice."""
    limit = upload_limit(request)
    content = await read_upload(file, limit)
    with session.begin():
        service.add_document(
            session, actor, practice_id, content, file.filename or "upload", max_bytes=limit
        )
    return RedirectResponse(f"/tracker/practices/{practice_id}", status_code=303)


@router.post("/practices/{practice_id}/{step}")
def practice_step(
    practice_id: int,
    step: str,
    note: str = Form(""),
    session: Session = Depends(tracker_session),
    actor: TrackerActor = Depends(tracker_actor),
) -> Response:
    """Submit, return, publish or unpublish a practice."""
    with session.begin():
        if step == "submit":
            service.submit_practice(session, actor, practice_id)
        elif step == "return":
            service.return_practice(session, actor, practice_id, note)
        elif step == "publish":
            service.publish_practice(session, actor, practice_id)
        elif step == "unpublish":
            service.unpublish_practice(session, actor, practice_id, note)
        else:
            raise InvalidInputError(f"unknown step {step!r}")
    return RedirectResponse(f"/tracker/practices/{practice_id}", status_code=303)


@router.get("/roles", response_class=HTMLResponse)
def roles(
    request: Request,
    session: Session = Depends(tracker_session),
    actor: TrackerActor = Depends(tracker_actor),
) -> HTMLResponse:
    """Who holds which tracker role; administrators assign and remove them."""
    require_secretariat(actor, "see tracker roles")
    with session.begin():
        rows = list_memberships(session)
        usernames = (
            session.execute(select(User.username).where(User.is_active).order_by(User.username))
            .scalars()
            .all()
        )
    return render(
        request,
        "tracker/roles.html",
        _context(
            request,
            actor,
            rows=rows,
            usernames=usernames,
            all_states=member_states(),
        ),
    )


@router.post("/roles")
def grant_role(
    username: str = Form(...),
    role: str = Form(...),
    state: str = Form(""),
    session: Session = Depends(tracker_session),
    actor: TrackerActor = Depends(tracker_actor),
) -> Response:
    """Give a user a tracker role (administrators only)."""
    with session.begin():
        grant_membership(session, actor, username=username, role=role, state=state or None)
    return RedirectResponse("/tracker/roles", status_code=303)


@router.post("/roles/revoke")
def revoke_role(
    username: str = Form(...),
    role: str = Form(...),
    state: str = Form(""),
    session: Session = Depends(tracker_session),
    actor: TrackerActor = Depends(tracker_actor),
) -> Response:
    """Take a tracker role from a user (administrators only)."""
    with session.begin():
        revoke_membership(session, actor, username=username, role=role, state=state or None)
    return RedirectResponse("/tracker/roles", status_code=303)
