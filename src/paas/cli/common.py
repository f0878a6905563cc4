"""What every `paas` command shares: the Typer app the topic modules add their commands to (Heroku's `topic:verb` names), the -a/--json options, and how results are printed."""

import json
import os
import shlex
import sys
from contextlib import contextmanager
from typing import Annotated
from urllib.parse import quote

import typer
from rich.console import Console
from rich.table import Table
from typer.core import TyperGroup

from paas.cli import gitremote
from paas.cli.client import Api, fail


class Verbs(TyperGroup):
    """Heroku's colon verbs (`apps:create`) are the commands; `paas apps create` is read as
    `paas apps:create` when there is such a command, so both spellings work."""

    def parse_args(self, ctx, args):
        if len(args) >= 2 and not args[0].startswith("-") and f"{args[0]}:{args[1]}" in self.commands:
            args = [f"{args[0]}:{args[1]}", *args[2:]]
        return super().parse_args(ctx, args)

    def list_commands(self, ctx):
        return sorted(self.commands)  # topics together: apps, apps:create, apps:destroy, ...


app = typer.Typer(help="Drive a paas platform (Heroku Platform API v3).", no_args_is_help=True, add_completion=False,
                  cls=Verbs)


# Not a terminal under tests and pipes: rich then prints plain text, which is what we want.
console = Console(highlight=False)


AppOpt = Annotated[str | None, typer.Option("--app", "-a", help="App name; default: from the `paas` git remote.")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print the API's raw JSON.")]


def print_json(data) -> None:
    typer.echo(json.dumps(data, indent=2))


def print_table(columns: tuple[str, ...], rows) -> None:
    """Aligned columns under bold headers (plain text when not a terminal)."""
    table = Table(box=None, header_style="bold")
    for column in columns:
        table.add_column(column)
    for row in rows:
        table.add_row(*row)
    console.print(table)


def listed(path: str, as_json: bool, range_: str | None = None) -> list | None:
    """Every item of a list, for a table; with --json printed as it came instead (and None)."""
    items = Api().list(path, range_)
    if as_json:
        print_json(items)
        return None
    return items


@contextmanager
def working(what: str):
    """`what... done`, with a spinner meanwhile on a terminal (plain lines otherwise)."""
    if console.is_terminal:
        with console.status(f"{what}..."):
            yield
        console.print(f"{what}... done")
    else:
        typer.echo(f"{what}...")
        yield
        typer.echo("done")


def when(timestamp: str | None) -> str:
    return (timestamp or "")[:16].replace("T", " ")


def resolve_app(name: str | None) -> str:
    """-a on the command, else the `paas` (or `heroku`) git remote."""
    if name := name or gitremote.app_of_repo():
        return name
    fail("No app specified. Use -a/--app NAME, or run inside a git repo with a `paas` remote (`paas git:remote -a NAME`).")


def segment(value: str) -> str:
    """`value` as one segment of an API path (a name or id with any character quoted)."""
    return quote(value, safe="")


def print_fields(title: str, fields: dict[str, object]) -> None:
    typer.echo(f"=== {title}")
    width = max(map(len, fields), default=0) + 1
    for key, value in fields.items():
        typer.echo(f"{key + ':':<{width}} {value}")


def git_credential_command() -> str:
    """This very CLI as git's credential helper, whatever `paas` on PATH is (or is not)."""
    return f"!{shlex.quote(os.path.abspath(sys.executable))} -m paas.cli.main git-credential"


def set_paas_remote(url: str, git_url: str) -> None:
    """The `paas` remote, and the helper that gives `git push` the token of `paas login`."""
    try:
        gitremote.set_remote(git_url)
        gitremote.set_credential_helper(url, git_credential_command())
    except RuntimeError as error:
        fail(f"Could not set up the git remote: {error}")
