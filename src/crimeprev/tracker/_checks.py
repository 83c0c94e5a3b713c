"""Checks shared by submissions and practices: population groups, States, reasons."""

from __future__ import annotations

from collections.abc import Iterable

from crimeprev.errors import InvalidInputError
from crimeprev.tracker.member_states import member_state
from crimeprev.tracker.tagging import POPULATION_GROUPS


def validate_groups(values: Iterable[str], where: str = "population_groups") -> tuple[str, ...]:
    """Return population-group keys, lower-cased and unique; refuse unknown ones."""
    keys = [group.key for group in POPULATION_GROUPS]
    found: list[str] = []
    for value in values:
        key = str(value).strip().lower()
        if not key:
            continue
        if key not in keys:
            raise InvalidInputError(
                f"{where}: unknown population group {value!r}; expected one of {', '.join(keys)}",
                field=where,
                value=value,
            )
        if key not in found:
            found.append(key)
    return tuple(found)


def state_code(value: str) -> str:
    """Return the ISO3 code of a Member State given by code or name."""
    return member_state(value).iso3


def reason_given(reason: str, what: str) -> str:
    """Return the reason for unpublishing, tidied; refuse an empty one."""
    cleaned = " ".join(reason.split())
    if not cleaned:
        raise InvalidInputError(
            f"give a reason for unpublishing the {what}; it is kept in the audit log "
            "and shown to the State"
        )
    return cleaned[:1000]
