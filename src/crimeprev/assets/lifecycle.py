"""The asset lifecycle as an explicit state machine.

States follow the stages in UNCAC art. 2 and 31, UNTOC art. 2, 12-14 and the
draft UNCAC guidelines on managing frozen, seized and confiscated assets
(see ``docs`` / the terms note): an asset is identified, traced, frozen or
seized, managed while proceedings run (possibly sold early, with or without
the owner's consent), then confiscated or released, and finally disposed of.
Release back to the owner is possible from every stage after identification
until confiscation.

:data:`TRANSITIONS` is the single table of allowed moves; :func:`check_transition`
refuses anything else with a :class:`~crimeprev.errors.ConflictError` naming the
current state and the allowed next ones (HTTP 409).

Examples
--------
>>> check_transition(State.SEIZED, State.UNDER_MANAGEMENT)
>>> try:
...     check_transition(State.IDENTIFIED, State.DISPOSED)
... except ConflictError as error:
...     print(error.message)
cannot move an asset from 'identified' to 'disposed'; allowed next states: traced, frozen, \
seized, released
"""

from __future__ import annotations

from enum import StrEnum

from crimeprev.db.models import Role
from crimeprev.errors import ConflictError, InvalidInputError


class State(StrEnum):
    """Where an asset is in its lifecycle."""

    IDENTIFIED = "identified"
    TRACED = "traced"
    FROZEN = "frozen"
    SEIZED = "seized"
    UNDER_MANAGEMENT = "under_management"
    INTERIM_SOLD = "interim_sold"
    CONFISCATED = "confiscated"
    RELEASED = "released"
    DISPOSED = "disposed"


#: Allowed next states, in the order a form offers them.
TRANSITIONS: dict[State, tuple[State, ...]] = {
    State.IDENTIFIED: (State.TRACED, State.FROZEN, State.SEIZED, State.RELEASED),
    State.TRACED: (State.FROZEN, State.SEIZED, State.RELEASED),
    State.FROZEN: (State.SEIZED, State.UNDER_MANAGEMENT, State.CONFISCATED, State.RELEASED),
    State.SEIZED: (
        State.UNDER_MANAGEMENT,
        State.INTERIM_SOLD,
        State.CONFISCATED,
        State.RELEASED,
    ),
    State.UNDER_MANAGEMENT: (State.INTERIM_SOLD, State.CONFISCATED, State.RELEASED),
    State.INTERIM_SOLD: (State.CONFISCATED, State.RELEASED),
    State.CONFISCATED: (State.DISPOSED,),
    State.RELEASED: (),
    State.DISPOSED: (),
}

#: States entered by a court or competent-authority order: the transition must cite one.
NEEDS_ORDER: frozenset[State] = frozenset(
    {State.FROZEN, State.SEIZED, State.INTERIM_SOLD, State.CONFISCATED, State.RELEASED}
)

#: Who may move an asset into each state (administrators may do everything).
MAY_ENTER: dict[State, frozenset[Role]] = {
    State.TRACED: frozenset({Role.INVESTIGATOR, Role.PROSECUTOR}),
    State.FROZEN: frozenset({Role.PROSECUTOR, Role.INVESTIGATOR}),
    State.SEIZED: frozenset({Role.PROSECUTOR, Role.INVESTIGATOR}),
    State.UNDER_MANAGEMENT: frozenset({Role.ASSET_MANAGER}),
    State.INTERIM_SOLD: frozenset({Role.ASSET_MANAGER}),
    State.CONFISCATED: frozenset({Role.PROSECUTOR}),
    State.RELEASED: frozenset({Role.PROSECUTOR}),
    State.DISPOSED: frozenset({Role.ASSET_MANAGER}),
}

#: States where the asset is held by the authorities (frozen, seized or managed).
HELD: frozenset[State] = frozenset(
    {State.FROZEN, State.SEIZED, State.UNDER_MANAGEMENT, State.INTERIM_SOLD}
)


class ConfiscationType(StrEnum):
    """Object-based (the asset itself) or value-based (a sum equal to the benefit)."""

    OBJECT_BASED = "object_based"
    VALUE_BASED = "value_based"


class ConfiscationBasis(StrEnum):
    """Conviction-based or non-conviction-based (UNCAC 54(1)(c))."""

    CONVICTION = "conviction"
    NON_CONVICTION = "non_conviction"


class Disposal(StrEnum):
    """How a confiscated asset left the registry (UNCAC 57; UNTOC 14; 1988 Convention 5(5))."""

    SOLD = "sold"
    DESTROYED = "destroyed"
    SOCIAL_REUSE = "social_reuse"
    INSTITUTIONAL_REUSE = "institutional_reuse"
    RETURNED_TO_VICTIMS = "returned_to_victims"
    RETURNED_TO_REQUESTING_STATE = "returned_to_requesting_state"
    SHARED_WITH_STATE = "shared_with_state"
    TRANSFERRED_TO_FUND = "transferred_to_fund"


def parse_state(value: str) -> State:
    """Return the state named `value` (case and ``-``/space tolerant).

    Examples
    --------
    >>> parse_state("Under management")
    <State.UNDER_MANAGEMENT: 'under_management'>
    """
    name = value.strip().lower().replace("-", "_").replace(" ", "_")
    try:
        return State(name)
    except ValueError:
        known = ", ".join(state.value for state in State)
        raise InvalidInputError(f"unknown state {value!r}; expected one of {known}") from None


def allowed_next(current: State) -> tuple[State, ...]:
    """The states an asset in `current` may move to.

    Examples
    --------
    >>> [s.value for s in allowed_next(State.CONFISCATED)]
    ['disposed']
    """
    return TRANSITIONS[current]


def check_transition(current: State, target: State) -> None:
    """Refuse a move that :data:`TRANSITIONS` does not allow.

    Raises
    ------
    ConflictError
        Naming the current state and the allowed next states (HTTP 409).
    """
    allowed = TRANSITIONS[current]
    if target not in allowed:
        listed = ", ".join(state.value for state in allowed) or "none (final state)"
        raise ConflictError(
            f"cannot move an asset from {current.value!r} to {target.value!r}; "
            f"allowed next states: {listed}",
            current_state=current.value,
            requested_state=target.value,
            allowed_next_states=[state.value for state in allowed],
        )
