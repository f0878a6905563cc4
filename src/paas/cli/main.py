"""`paas`: a Heroku-CLI-like command line for the paas API. This module only wires the topics:
each adds its commands to the one Typer app (`common.app`)."""

from typing import Annotated

import typer

from paas.cli import access, accounts, addons, apps, builds, config, domains, events, metrics, nodes, pipelines, processes, releases, runs, scheduler, teams, webhooks  # noqa: F401
from paas.cli.client import fail
from paas.cli.common import app


@app.command("help")
def help_(ctx: typer.Context, command: Annotated[list[str] | None, typer.Argument(help="A command, e.g. apps:create.")] = None):
    """Show help: of every command, or of one (`paas help config:set`)."""
    group = ctx.parent.command if ctx.parent else ctx.command
    if command:
        name = ":".join(command) if len(command) > 1 else command[0]
        found = group.get_command(ctx, name)
        if found is None:
            fail(f"No such command: {name}. `paas help` lists them.")
        with found.make_context(name, [], parent=ctx.parent, resilient_parsing=True) as sub:
            typer.echo(found.get_help(sub))
        return
    typer.echo(group.get_help(ctx.parent or ctx))


if __name__ == "__main__":
    app()
