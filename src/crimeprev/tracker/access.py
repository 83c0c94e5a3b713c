"""Who may do what in the tracker.

Three kinds of people use it:

* the public (nobody signed in) sees published submissions and practices only;
* a focal point speaks for one or more Member States: they see and edit their
  own States' drafts, and submit them for review;
* the secretariat reviews: it sees everything, returns submissions for
  changes, publishes them, and may edit on a State's behalf (e.g. import a
  questionnaire received by e-mail).

Administrators of the installation act as the secretariat, and only they
assign tracker roles (so no secretariat member can widen their own or others'
rights). Tracker roles are kept in ``tracker_membership`` (a focal point's row
names the State), so the platform-wide roles of :class:`crimeprev.db.Role`
stay unchanged.

Examples
--------
>>> public = TrackerActor(principal=None, secretariat=False, states=frozenset())
>>> public.may_see_unpublished("KEN"), public.username
(False, 'public')
>>> focal = TrackerActor(principal=None, secretariat=False, states=frozenset({"KEN"}))
>>> focal.may_edit("KEN"), focal.may_edit("UGA")
(True, False)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from crimeprev.db.accounts import Principal, get_user
from crimeprev.db.audit import record_audit
from crimeprev.errors import ConflictError, InvalidInputError, PermissionDeniedError
from crimeprev.tracker.member_states import member_state
from crimeprev.tracker.models import Membership, TrackerRole

__all__ = [
    "TrackerActor",
    "actor_for",
    "grant_membership",
    "list_memberships",
    "require_administrator",
    "require_secretariat",
    "require_state_editor",
    "revoke_membership",
]


@dataclass(frozen=True)
class TrackerActor:
    """Who is acting in the tracker, with their tracker rights resolved.

    Attributes
    ----------
    principal : Principal or None
        The signed-in user; ``None`` for the public.
    secretariat : bool
        Member of the secretariat (or an administrator).
    states : frozenset of str
        ISO3 codes of the States the user is focal point for.
    """

    principal: Principal | None
    secretariat: bool
    states: frozenset[str]

    @property
    def username(self) -> str:
        """The user's name, or ``"public"``."""
        return self.principal.username if self.principal else "public"

    @property
    def audit_actor(self) -> Principal | str:
        """What the audit log records as the actor."""
        return self.principal if self.principal else "public"

    @property
    def signed_in(self) -> bool:
        """Whether someone is signed in."""
        return self.principal is not None

    @property
    def administrator(self) -> bool:
        """Whether the actor administers the installation (and so assigns tracker roles)."""
        return self.principal is not None and self.principal.is_admin

    def may_edit(self, state_iso3: str) -> bool:
        """Whether the actor may write drafts for `state_iso3`."""
        return self.secretariat or state_iso3 in self.states

    def may_see_unpublished(self, state_iso3: str) -> bool:
        """Whether the actor may read `state_iso3`'s drafts and submissions under review."""
        return self.may_edit(state_iso3)

    @property
    def unpublished_scope(self) -> frozenset[str] | Literal["all"]:
        """The States whose unpublished texts the actor may find (for search)."""
        return "all" if self.secretariat else self.states


def actor_for(session: Session, principal: Principal | None) -> TrackerActor:
    """Resolve a signed-in user's tracker rights (the public when `principal` is None)."""
    if principal is None:
        return TrackerActor(principal=None, secretariat=False, states=frozenset())
    if principal.user_id is None:
        # System actors (demo, operator imports) act with the secretariat's rights.
        return TrackerActor(principal=principal, secretariat=principal.is_admin, states=frozenset())
    rows = session.execute(
        select(Membership.role, Membership.state_iso3).where(
            Membership.user_id == principal.user_id
        )
    ).all()
    return TrackerActor(
        principal=principal,
        secretariat=principal.is_admin
        or any(role == TrackerRole.SECRETARIAT.value for role, _ in rows),
        states=frozenset(
            state for role, state in rows if role == TrackerRole.FOCAL_POINT.value and state
        ),
    )


def require_secretariat(actor: TrackerActor, doing: str) -> None:
    """Raise unless the actor is the secretariat."""
    if not actor.secretariat:
        raise PermissionDeniedError(
            f"only the secretariat may {doing}; {actor.username} is "
            + (f"focal point for {', '.join(sorted(actor.states))}" if actor.states else "not")
            + (" and not in the secretariat" if actor.states else " in the secretariat"),
        )


def require_administrator(actor: TrackerActor, doing: str) -> None:
    """Raise unless the actor administers the installation."""
    if not actor.administrator:
        raise PermissionDeniedError(
            f"only an administrator may {doing}; {actor.username} is not one"
        )


def require_state_editor(actor: TrackerActor, state_iso3: str, doing: str) -> None:
    """Raise unless the actor may edit `state_iso3`'s records."""
    if not actor.signed_in:
        raise PermissionDeniedError(f"sign in to {doing}")
    if not actor.may_edit(state_iso3):
        mine = ", ".join(sorted(actor.states)) or "no State"
        raise PermissionDeniedError(
            f"{actor.username} may not {doing} for {state_iso3}: they are focal point for "
            f"{mine}; ask the secretariat",
            state=state_iso3,
        )


def _parse_role(role: str | TrackerRole) -> TrackerRole:
    try:
        return TrackerRole(role)
    except ValueError:
        raise InvalidInputError(
            f"unknown tracker role {role!r}; expected focal_point or secretariat"
        ) from None


def grant_membership(
    session: Session,
    actor: TrackerActor,
    *,
    username: str,
    role: str | TrackerRole,
    state: str | None = None,
) -> Membership:
    """Make a user a focal point for a State, or a member of the secretariat.

    Raises
    ------
    PermissionDeniedError
        Unless the actor is an administrator.
    InvalidInputError
        For an unknown role, a focal point without a State, or the secretariat with one.
    ConflictError
        If the user already holds that role (for that State).
    """
    require_administrator(actor, "grant tracker roles")
    parsed = _parse_role(role)
    iso3 = member_state(state).iso3 if state else None
    if parsed is TrackerRole.FOCAL_POINT and iso3 is None:
        raise InvalidInputError("a focal point speaks for a State: give its ISO3 code")
    if parsed is TrackerRole.SECRETARIAT and iso3 is not None:
        raise InvalidInputError("the secretariat serves every State: give no State")
    user = get_user(session, username)
    existing = session.execute(
        select(Membership).where(
            Membership.user_id == user.id,
            Membership.role == parsed.value,
            Membership.state_iso3.is_(None) if iso3 is None else Membership.state_iso3 == iso3,
        )
    ).scalar_one_or_none()
    if existing is not None:
        raise ConflictError(
            f"{username} is already {parsed.value}" + (f" for {iso3}" if iso3 else "")
        )
    membership = Membership(user_id=user.id, role=parsed.value, state_iso3=iso3)
    session.add(membership)
    session.flush()
    record_audit(
        session,
        actor.audit_actor,
        "grant",
        "tracker_membership",
        membership.id,
        None,
        {"username": username, "role": parsed.value, "state": iso3},
    )
    return membership


def revoke_membership(
    session: Session,
    actor: TrackerActor,
    *,
    username: str,
    role: str | TrackerRole,
    state: str | None = None,
) -> int:
    """Remove a tracker role (administrators only); return how many were removed (0 or 1)."""
    require_administrator(actor, "revoke tracker roles")
    parsed = _parse_role(role)
    iso3 = member_state(state).iso3 if state else None
    user = get_user(session, username)
    condition = [Membership.user_id == user.id, Membership.role == parsed.value]
    condition.append(
        Membership.state_iso3.is_(None) if iso3 is None else Membership.state_iso3 == iso3
    )
    found = session.execute(select(Membership.id).where(*condition)).scalars().all()
    if found:
        session.execute(delete(Membership).where(Membership.id.in_(found)))
        record_audit(
            session,
            actor.audit_actor,
            "revoke",
            "tracker_membership",
            found[0],
            {"username": username, "role": parsed.value, "state": iso3},
            None,
        )
    return len(found)


def list_memberships(session: Session) -> list[tuple[str, str, str | None]]:
    """Return (username, role, state) for every tracker membership, sorted."""
    from crimeprev.db.models import User

    rows = session.execute(
        select(User.username, Membership.role, Membership.state_iso3).join(
            User, User.id == Membership.user_id
        )
    ).all()
    return sorted((name, role, state) for name, role, state in rows)
