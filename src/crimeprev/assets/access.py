"""Who may see and change which cases: roles and agency scoping.

Users see the cases of their own agency and those shared with it; auditors and
administrators see every case. Writing needs a role that does that kind of work
(see :data:`CASE_WRITERS`, :data:`VALUE_WRITERS` and
:data:`crimeprev.assets.lifecycle.MAY_ENTER`) *and* access to the case.
Refusals name the roles needed.
"""

from __future__ import annotations

from sqlalchemy import ColumnElement, exists, false, or_, true

from crimeprev.assets.models import Case, CaseShare
from crimeprev.db.accounts import Principal
from crimeprev.db.models import Role
from crimeprev.errors import NotFoundError, PermissionDeniedError

#: Roles that may open cases, register assets and parties and record court orders.
CASE_WRITERS = frozenset({Role.INVESTIGATOR, Role.PROSECUTOR, Role.ASSET_MANAGER})
#: Roles that may record valuations, management costs and exchange rates.
VALUE_WRITERS = frozenset({Role.ASSET_MANAGER})
#: Roles that may post to and allocate from the fund.
FUND_WRITERS = frozenset({Role.ASSET_MANAGER})
#: Roles that see every agency's cases.
SEE_ALL = frozenset({Role.AUDITOR, Role.ADMINISTRATOR})


def sees_all(principal: Principal) -> bool:
    """Whether `principal` sees every agency's cases."""
    return any(role in principal.roles for role in SEE_ALL)


def visible_cases(principal: Principal) -> ColumnElement[bool]:
    """A SQL condition selecting the cases `principal` may see."""
    if sees_all(principal):
        return true()
    if principal.agency_id is None:
        return false()
    shared = exists().where(
        CaseShare.case_id == Case.id, CaseShare.agency_id == principal.agency_id
    )
    return or_(Case.agency_id == principal.agency_id, shared)


def can_see(principal: Principal, case: Case) -> bool:
    """Whether `principal` may see `case`."""
    if sees_all(principal):
        return True
    if principal.agency_id is None:
        return False
    return case.agency_id == principal.agency_id or any(
        share.agency_id == principal.agency_id for share in case.shares
    )


def check_can_see(principal: Principal, case: Case, what: str) -> None:
    """Raise :class:`NotFoundError` if `principal` may not see `case`.

    Not found rather than forbidden: other agencies' cases are not even
    confirmed to exist.
    """
    if not can_see(principal, case):
        raise NotFoundError(f"no {what} visible to {principal.username}")


def require(principal: Principal, roles: frozenset[Role], action: str) -> None:
    """Raise :class:`PermissionDeniedError` unless `principal` holds one of `roles`."""
    if not principal.has_any(*roles):
        names = ", ".join(sorted(role.value for role in roles | {Role.ADMINISTRATOR}))
        held = ", ".join(sorted(role.value for role in principal.roles)) or "none"
        raise PermissionDeniedError(
            f"{action} needs one of the roles {names}; {principal.username} has {held}",
            required=sorted(role.value for role in roles),
        )
