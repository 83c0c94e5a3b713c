"""Submissions and good practices: their workflow, versions, permissions and audit trail.

One import for the faces: this module gathers the functions of
:mod:`crimeprev.tracker.reference` (reference data), :mod:`crimeprev.tracker.submissions`
(a State's versioned answers) and :mod:`crimeprev.tracker.practices` (good
practices and their documents).

Every function works inside the caller's transaction, checks the actor's
rights (:mod:`crimeprev.tracker.access`), writes one audit record per change
and keeps the search index in step. Nothing is stored when a check fails: the
caller's transaction rolls back.
"""

from __future__ import annotations

from crimeprev.tracker.practices import (
    PracticeInput,
    add_document,
    create_practice,
    delete_practice_documents,
    get_document,
    get_practice,
    publish_practice,
    return_practice,
    submit_practice,
    unpublish_practice,
    update_practice,
)
from crimeprev.tracker.reference import (
    DEFAULT_INDICATORS,
    get_discussion,
    sync_reference,
    validate_paragraphs,
)
from crimeprev.tracker.submissions import (
    AnswerInput,
    get_submission,
    import_questionnaire,
    publish_submission,
    return_submission,
    save_submission,
    submit_submission,
    unpublish_submission,
    visible_version,
)

__all__ = [
    "DEFAULT_INDICATORS",
    "AnswerInput",
    "PracticeInput",
    "add_document",
    "create_practice",
    "delete_practice_documents",
    "get_discussion",
    "get_document",
    "get_practice",
    "get_submission",
    "import_questionnaire",
    "publish_practice",
    "publish_submission",
    "return_practice",
    "return_submission",
    "save_submission",
    "submit_practice",
    "submit_submission",
    "sync_reference",
    "unpublish_practice",
    "unpublish_submission",
    "update_practice",
    "validate_paragraphs",
    "visible_version",
]
