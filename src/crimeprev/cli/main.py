"""The ``crimeprev`` command: one Typer app with a sub-command group per domain.

Domain groups live in ``crimeprev.cli.<domain>`` and are added below with
``app.add_typer``. Commands are thin: they parse arguments, call the library
and print.
"""

from __future__ import annotations

import typer
from rich.table import Table

from crimeprev import __version__
from crimeprev.cli import assets as assets_cli
from crimeprev.cli import db as db_cli
from crimeprev.cli import iccs as iccs_cli
from crimeprev.cli import kyoto as kyoto_cli
from crimeprev.cli import spatial as spatial_cli
from crimeprev.cli import stats as stats_cli
from crimeprev.cli import survey as survey_cli
from crimeprev.cli import tracker as tracker_cli
from crimeprev.cli._output import console, styled
from crimeprev.config import describe_settings, get_settings

app = typer.Typer(
    name="crimeprev",
    help="Crime data into evidence for crime prevention.",
    no_args_is_help=True,
    add_completion=False,
)
app.add_typer(iccs_cli.app, name="iccs")
app.add_typer(kyoto_cli.app, name="kyoto")
app.add_typer(stats_cli.app, name="stats")
app.add_typer(stats_cli.concordance_app, name="concordance")
stats_cli.register_aliases(app)
app.add_typer(survey_cli.app, name="survey")
app.add_typer(tracker_cli.app, name="tracker")
spatial_cli.register(app)
app.add_typer(db_cli.app, name="db")
app.add_typer(db_cli.users_app, name="users")
app.add_typer(assets_cli.app, name="assets")
demo_app = typer.Typer(
    help="The demo workspace built from bundled real data.", no_args_is_help=True
)
app.add_typer(demo_app, name="demo")


def _version(value: bool) -> None:
    if value:
        console.print(f"crimeprev {__version__}")
        raise typer.Exit()


@app.callback()
def main(
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Print the version and exit."
    ),
) -> None:
    """Crime data into evidence for crime prevention."""


@app.command("settings")
def settings_command() -> None:
    """List every setting with its environment variable, default and current value."""
    current = get_settings()
    table = Table(title="crimeprev settings")
    for column in ("setting", "environment variable", "default", "current", "help"):
        table.add_column(column, overflow="fold")
    for info in describe_settings():
        value = getattr(current, info.name)
        shown = "(set)" if info.name == "secret_key" and value else str(value)
        table.add_row(info.name, info.env, info.default, shown, info.help)
    console.print(table)


@app.command("serve")
def serve(
    host: str | None = typer.Option(None, help="Address to listen on (default: setting host)."),
    port: int | None = typer.Option(None, help="Port (default: setting port)."),
) -> None:
    """Start the web app."""
    import uvicorn

    from crimeprev.web.app import create_app

    settings = get_settings()
    host = host or settings.host
    port = port or settings.port
    settings.ensure_data_dir()
    console.print(
        styled("crimeprev is serving at ", (f"http://{host}:{port}", "bold"), " (Ctrl+C stops it)")
    )
    uvicorn.run(create_app(settings), host=host, port=port, log_level="warning")


@demo_app.command("build")
def demo_build() -> None:
    """Build the demo workspace in the data directory."""
    from crimeprev.demo.build import build_demo

    settings = get_settings()
    for line in build_demo(settings):
        console.print(line)
