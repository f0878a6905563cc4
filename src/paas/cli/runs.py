"""`paas logs`, `run`, `run:detached`: an app's logs, and one-off processes."""

import shlex
import sys
from typing import Annotated

import httpx
import typer
from websockets.exceptions import WebSocketException

from paas.cli import terminal
from paas.cli.client import Api, error_message, fail
from paas.cli.common import AppOpt, app, resolve_app


@app.command("logs")
def logs(
    app_name: AppOpt = None,
    tail: Annotated[bool, typer.Option("--tail", "-t", help="Keep showing new lines as they come.")] = False,
    num: Annotated[int, typer.Option("--num", "-n", help="How many past lines to show.")] = 100,
    dyno: Annotated[str | None, typer.Option("--dyno", "-d", help="Only this dyno (web.1) or type (web).")] = None,
    source: Annotated[str | None, typer.Option("--source", "-s", help="Only `app` (your processes) or `heroku` (router, platform).")] = None,
):
    """Show an app's logs: its processes' output, the router's access lines and platform events.

    Example: paas logs -a myapp --tail --dyno web
    """
    name, api = resolve_app(app_name), Api()
    options = {"lines": num, "tail": tail, **({"dyno": dyno} if dyno else {}), **({"source": source} if source else {})}
    session = api.post(f"/apps/{name}/log-sessions", options)
    try:
        timeout = httpx.Timeout(30.0, read=None if tail else 30.0)
        with httpx.stream("GET", session["logplex_url"], timeout=timeout) as response:
            if response.is_error:
                response.read()
                fail(error_message(response))
            for chunk in response.iter_text():
                sys.stdout.write(chunk)
                sys.stdout.flush()
    except httpx.HTTPError as error:
        fail(f"Reading the logs of ⬢ {name} failed: {error}")
    except KeyboardInterrupt:
        pass


def start_run(name: str, command: list[str], attach: bool, size: str | None, env: list[str]) -> dict:
    variables = {}
    for item in env:
        key, sep, value = item.partition("=")
        if not sep:
            fail(f"--env takes KEY=VALUE, got {item!r}.")
        variables[key] = value
    line = command[0] if len(command) == 1 else shlex.join(command)  # one argument: a shell line as given
    body = {"command": line, "attach": attach, "env": {**(terminal.terminal_env() if attach else {}), **variables},
            "force_no_tty": not terminal.interactive(), "attach_transport": "websocket", **({"size": size} if size else {})}
    return Api().post(f"/apps/{name}/dynos", body)


CommandArg = Annotated[list[str], typer.Argument(help="The command; put `--` before it when it has options.")]
SizeOpt = Annotated[str | None, typer.Option("--size", "-s", help="Dyno size, e.g. standard-2x.")]
EnvOpt = Annotated[list[str], typer.Option("--env", "-e", help="KEY=VALUE for this run only (repeatable).")]


@app.command("run")
def run_command(command: CommandArg, app_name: AppOpt = None, size: SizeOpt = None, env: EnvOpt = []):
    """Run a command in a one-off dyno of the current release, attached: its output shows as it
    comes, stdin goes to it, and paas exits with its exit code.

    Example: paas run -a myapp -- python manage.py migrate
    """
    name = resolve_app(app_name)
    dyno = start_run(name, command, True, size, env)
    typer.echo(f"Running {dyno['command']} on ⬢ {name}... up, {dyno['name']}", err=True)
    try:
        status, message = terminal.attach(dyno["attach_url"], tty=terminal.interactive())
    except (OSError, WebSocketException) as error:
        fail(f"Could not attach to {dyno['name']}: {error}")
    if message:
        typer.echo(message, err=True)
    raise typer.Exit(status)


@app.command("run:detached")
def run_detached(command: CommandArg, app_name: AppOpt = None, size: SizeOpt = None, env: EnvOpt = []):
    """Run a command in a one-off dyno whose output goes to the app's logs.

    Example: paas run:detached -a myapp -- python worker.py --once
    """
    name = resolve_app(app_name)
    dyno = start_run(name, command, False, size, env)
    typer.echo(f"Running {dyno['command']} on ⬢ {name}... done, {dyno['name']} ({dyno['size']})")
    typer.echo(f"Run `paas logs -a {name} --dyno {dyno['name']}` to see its output.")
