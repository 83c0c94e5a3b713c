"""``crimeprev db``: the operational database: migrations, agencies, users, tokens, audit."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

import typer
from rich.table import Table
from sqlalchemy.orm import Session

from crimeprev.cli._output import console, print_error, styled
from crimeprev.config import get_settings
from crimeprev.db import accounts
from crimeprev.db.audit import verify_audit_chain
from crimeprev.db.engine import Database
from crimeprev.db.migrate import current_revisions, head_revisions
from crimeprev.errors import CrimeprevError

app = typer.Typer(
    help="The operational database: migrations, agencies, users, API tokens, audit log.",
    no_args_is_help=True,
)


def open_database(*, upgrade: bool = True) -> Database:
    """Open the database of the current settings (upgrading it unless told not to)."""
    settings = get_settings()
    if settings.database_url.startswith("sqlite"):
        settings.ensure_data_dir()
    database = Database(settings.database_url)
    if upgrade:
        database.upgrade()
    return database


@contextmanager
def cli_transaction() -> Iterator[Session]:
    """One transaction on the settings' database; errors print ``error: ...`` and exit 2."""
    database = None
    try:
        database = open_database()
        with database.transaction() as session:
            yield session
    except CrimeprevError as error:
        print_error(f"{error.message}")
        raise typer.Exit(2) from error
    finally:
        if database is not None:
            database.dispose()


@app.command("upgrade")
def upgrade() -> None:
    """Create the database or bring it to the newest schema."""
    database = None
    try:
        database = open_database(upgrade=False)
        before = current_revisions(database.engine)
        reached = database.upgrade()
    except CrimeprevError as error:
        print_error(f"{error.message}")
        raise typer.Exit(2) from error
    finally:
        if database is not None:
            database.dispose()
    if before == head_revisions():
        console.print(f"database already at the newest schema ({reached})")
    else:
        console.print(f"database upgraded from {', '.join(before) or 'empty'} to {reached}")
    _build_derived()


def _build_derived() -> None:
    """Build the tracker's search index if it is missing, so no search request has to.

    A deployer runs the upgrade before starting the server and budgets its time;
    otherwise the first search after an upgrade would build the index inside a
    request (minutes at 100,000 documents). An index already built is left as it is.
    """
    from crimeprev.tracker.search_index import index_ready, rebuild_index

    with cli_transaction() as session:
        if index_ready(session.connection()):
            console.print("tracker search index already built")
            return
        console.print("building the tracker search index")
        counts = rebuild_index(session.connection(), lambda step: console.print(f"  {step} ..."))
    console.print(
        f"search index built: {counts.documents:,} documents, {counts.postings:,} postings "
        f"in {counts.seconds:.1f} s"
    )


@app.command("create-agency")
def create_agency(
    code: str = typer.Argument(..., help="Short code, e.g. AMO-IT"),
    name: str = typer.Option(..., help="Full name of the agency"),
    country: str = typer.Option(..., help="ISO 3166-1 alpha-3 country code, e.g. ITA"),
) -> None:
    """Create an agency (users of an agency share its records)."""
    with cli_transaction() as session:
        agency = accounts.create_agency(session, "cli", code=code, name=name, country=country)
        console.print(f"agency {agency.code} created (id {agency.id})")


@app.command("agencies")
def agencies() -> None:
    """List the agencies."""
    with cli_transaction() as session:
        table = Table(title="agencies")
        for column in ("code", "name", "country", "users"):
            table.add_column(column)
        for agency in accounts.list_agencies(session):
            table.add_row(agency.code, agency.name, agency.country, str(len(agency.users)))
        console.print(table)


@app.command("create-user")
def create_user(
    username: str = typer.Argument(..., help="Sign-in name (lower case)"),
    role: list[str] = typer.Option(
        ["viewer"],
        "--role",
        help="Role (repeat for several): viewer, investigator, asset_manager, prosecutor, "
        "auditor, administrator",
    ),
    agency: str | None = typer.Option(None, help="Agency code"),
    full_name: str = typer.Option("", help="Full name"),
    email: str = typer.Option("", help="E-mail address"),
    password: str = typer.Option(
        ...,
        prompt=True,
        hide_input=True,
        confirmation_prompt=True,
        envvar="CRIMEPREV_NEW_PASSWORD",
        help="Password (prompted when omitted; at least 10 characters)",
    ),
) -> None:
    """Create a user with an argon2-hashed password."""
    with cli_transaction() as session:
        user = accounts.create_user(
            session,
            "cli",
            username=username,
            password=password,
            roles=role,
            agency_code=agency,
            full_name=full_name,
            email=email,
        )
        roles = ", ".join(sorted(r.value for r in user.roles))
        console.print(f"user {user.username} created with roles {roles}")


@app.command("users")
def users() -> None:
    """List the users with their roles and agency."""
    with cli_transaction() as session:
        table = Table(title="users")
        for column in ("username", "full name", "agency", "roles", "active"):
            table.add_column(column)
        for user in accounts.list_users(session):
            table.add_row(
                user.username,
                user.full_name,
                user.agency.code if user.agency else "",
                ", ".join(sorted(r.value for r in user.roles)),
                "yes" if user.is_active else "no",
            )
        console.print(table)


@app.command("set-roles")
def set_roles(
    username: str = typer.Argument(...),
    role: list[str] = typer.Option(..., "--role", help="Role (repeat for several)"),
) -> None:
    """Replace a user's roles."""
    with cli_transaction() as session:
        user = accounts.set_roles(session, "cli", username, role)
        console.print(f"{user.username}: {', '.join(sorted(r.value for r in user.roles))}")


@app.command("set-password")
def set_password(
    username: str = typer.Argument(...),
    password: str = typer.Option(
        ...,
        prompt=True,
        hide_input=True,
        confirmation_prompt=True,
        envvar="CRIMEPREV_NEW_PASSWORD",
        help="New password",
    ),
) -> None:
    """Set a user's password (ends their sign-in sessions)."""
    with cli_transaction() as session:
        accounts.set_password(session, "cli", username, password)
        console.print(f"password of {username} changed; their sessions were ended")


@app.command("disable-user")
def disable_user(username: str = typer.Argument(...)) -> None:
    """Disable a user: they can no longer sign in or use their tokens."""
    with cli_transaction() as session:
        accounts.set_active(session, "cli", username, False)
        console.print(f"{username} disabled")


@app.command("create-token")
def create_token(
    username: str = typer.Argument(...),
    name: str = typer.Option(..., help="What the token is for"),
    days: int = typer.Option(90, min=1, help="Days until it expires"),
) -> None:
    """Issue an API token for a user; the secret is printed once."""
    with cli_transaction() as session:
        issued = accounts.create_api_token(
            session, "cli", username, name=name, lifetime=timedelta(days=days)
        )
        console.print(f"token {issued.id} for {username} (expires {issued.expires_at:%Y-%m-%d}):")
        console.print(issued.secret, soft_wrap=True, highlight=False)


@app.command("enable-user")
def enable_user(username: str = typer.Argument(...)) -> None:
    """Enable a disabled user again."""
    with cli_transaction() as session:
        accounts.set_active(session, "cli", username, True)
        console.print(f"{username} enabled")


@app.command("revoke-token")
def revoke_token(token_id: int = typer.Argument(..., help="The token's id")) -> None:
    """Revoke an API token; requests with it get 401 from then on."""
    with cli_transaction() as session:
        accounts.revoke_api_token(session, "cli", token_id)
        console.print(f"token {token_id} revoked")


@app.command("audit-verify")
def audit_verify() -> None:
    """Recompute the audit chain; exit 1 if any record was changed, deleted or reordered."""
    with cli_transaction() as session:
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


#: ``crimeprev users ...``: the same account commands under the names an administrator
#: looks for first (``crimeprev db`` keeps them too, beside migrations and the audit).
users_app = typer.Typer(
    help="User accounts: list, create, roles, passwords, enable/disable, API tokens.",
    no_args_is_help=True,
)
users_app.command("list")(users)
users_app.command("create")(create_user)
users_app.command("set-roles")(set_roles)
users_app.command("set-password")(set_password)
users_app.command("disable")(disable_user)
users_app.command("enable")(enable_user)
users_app.command("create-token")(create_token)
users_app.command("revoke-token")(revoke_token)
users_app.command("agencies")(agencies)
users_app.command("create-agency")(create_agency)
