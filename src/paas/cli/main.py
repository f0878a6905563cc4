"""`paas`: a Heroku-CLI-like command line for the paas API (apps, config vars, releases, rollback)."""

import json
import os
import shlex
import sys
from contextlib import contextmanager
from typing import Annotated

import httpx
import typer
from rich.console import Console
from rich.table import Table
from typer.core import TyperGroup
from websockets.exceptions import WebSocketException

from paas.cli import credentials, gitremote, run
from paas.cli.client import (
    Api,
    api_url,
    error_message,
    fail,
    find_token,
    print_stream,
    token,
)


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


# --- apps -------------------------------------------------------------------


@app.command("apps")
def apps_list(as_json: JsonOpt = False):
    """List your apps."""
    items = Api().list("/apps")
    if as_json:
        return print_json(items)
    if not items:
        return typer.echo("You have no apps.")
    print_table(("Name", "Web URL", "Released"),
                [(a["name"], a.get("web_url") or "", when(a.get("released_at"))) for a in sorted(items, key=lambda a: a["name"])])


@app.command("apps:create")
def apps_create(
    name: Annotated[str | None, typer.Argument(help="App name; generated when omitted.")] = None,
    stack: Annotated[str | None, typer.Option("--stack", "-s", help="The stack to build on (`paas stack` lists them).")] = None,
    buildpack: Annotated[str | None, typer.Option("--buildpack", "-b", help="A buildpack's name or URL, instead of detection.")] = None,
    remote: Annotated[bool, typer.Option(help="Add the `paas` git remote when inside a git repo.")] = True,
    as_json: JsonOpt = False,
):
    """Create an app (and, inside a git repo, its `paas` remote).

    Example: paas apps:create myapp --stack trixie --buildpack python
    """
    api = Api()
    created = api.post("/apps", {**({"name": name} if name else {}), **({"stack": stack} if stack else {})})
    if buildpack:
        api.request("PUT", f"/apps/{created['name']}/buildpack-installations", json={"updates": [{"buildpack": buildpack}]})
    git_url = f"{api.url}/{created['name']}.git"
    if as_json:
        print_json(created)
    else:
        typer.echo(f"Creating ⬢ {created['name']}... done" + (f", stack is {stack}" if stack else ""))
        typer.echo(f"{created.get('web_url')} | {git_url}")
    if remote and gitremote.in_repo():
        set_paas_remote(api.url, git_url)
        if not as_json:
            typer.echo(f"Git remote {gitremote.REMOTE} added: {git_url}")


@app.command("apps:info")
def apps_info(app_name: AppOpt = None, as_json: JsonOpt = False):
    """Show an app."""
    data = Api().get(f"/apps/{resolve_app(app_name)}")
    if as_json:
        return print_json(data)
    print_fields(data["name"], {
        "Owner": (data.get("owner") or {}).get("email", ""),
        "Region": (data.get("region") or {}).get("name", ""),
        "Stack": (data.get("stack") or {}).get("name", ""),
        "Git URL": data.get("git_url"),
        "Web URL": data.get("web_url"),
        "Created": when(data.get("created_at")),
        "Released": when(data.get("released_at")),
    })


@app.command("apps:rename")
def apps_rename(new_name: Annotated[str, typer.Argument(help="The app's new name.")], app_name: AppOpt = None,
                as_json: JsonOpt = False):
    """Rename an app: its default host and git remote change (the old ones stop working).

    Example: paas apps:rename shiny-new-name -a old-name
    """
    name = resolve_app(app_name)
    api = Api()
    renamed = api.patch(f"/apps/{name}", {"name": new_name})
    if as_json:
        print_json(renamed)
    else:
        typer.echo(f"Renaming {name} to {renamed['name']}... done")
        typer.echo(f"{renamed.get('web_url')} | {renamed.get('git_url')}")
    url = gitremote.remote_url()
    if url and gitremote.app_from_remote_url(url) == name:
        set_paas_remote(api.url, f"{api.url}/{renamed['name']}.git")
        if not as_json:
            typer.echo(f"Git remote {gitremote.REMOTE} updated")


@app.command("apps:destroy")
def apps_destroy(app_name: AppOpt = None,
    confirm: Annotated[str | None, typer.Option(help="The app's name, to skip the prompt.")] = None,
):
    """Delete an app for good."""
    # With neither -a nor a remote, the confirmed name is the app (`paas apps:destroy --confirm NAME`).
    name = resolve_app(app_name or (confirm if not gitremote.remote_url() else None))
    if confirm is None:
        confirm = typer.prompt(f"This deletes ⬢ {name} for good. Type its name to confirm", default="", show_default=False)
    if confirm != name:
        fail(f"Confirmation {confirm!r} did not match {name!r}. Nothing was deleted.")
    Api().delete(f"/apps/{name}")
    typer.echo(f"Destroying ⬢ {name}... done")
    url = gitremote.remote_url()
    if url and gitremote.app_from_remote_url(url) == name:
        gitremote.remove_remote()  # it points at nothing now, like `heroku apps:destroy` does


# --- config vars ------------------------------------------------------------


@app.command("config")
def config_show(app_name: AppOpt = None, as_json: JsonOpt = False):
    """Show the config vars."""
    name = resolve_app(app_name)
    config = Api().get(f"/apps/{name}/config-vars")
    if as_json:
        return print_json(config)
    print_fields(f"{name} Config Vars", dict(sorted(config.items())))


@app.command("config:get")
def config_get(key: str, app_name: AppOpt = None):
    """Print one config var's value (empty when unset)."""
    typer.echo(Api().get(f"/apps/{resolve_app(app_name)}/config-vars").get(key, ""))


def released(api: Api, name: str, verb: str, keys: list[str]) -> None:
    latest = api.latest_release(name)
    version = f", v{latest['version']}" if latest else ""
    typer.echo(f"{verb} {', '.join(keys)} and restarting ⬢ {name}... done{version}")


@app.command("config:set")
def config_set(pairs: Annotated[list[str], typer.Argument(help="KEY=value ...")], app_name: AppOpt = None):
    """Set config vars; makes a new release."""
    changes = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            fail(f"{pair!r} is not KEY=value.")
        changes[key] = value
    name, api = resolve_app(app_name), Api()
    config = api.patch(f"/apps/{name}/config-vars", changes)
    released(api, name, "Setting", list(changes))
    print_fields(f"{name} Config Vars", {key: config.get(key, "") for key in changes})


@app.command("config:unset")
def config_unset(keys: Annotated[list[str], typer.Argument(help="KEY ...")], app_name: AppOpt = None):
    """Remove config vars; makes a new release."""
    name, api = resolve_app(app_name), Api()
    api.patch(f"/apps/{name}/config-vars", dict.fromkeys(keys))  # null deletes a key
    released(api, name, "Unsetting", keys)


# --- releases ---------------------------------------------------------------


@app.command("releases")
def releases_list(app_name: AppOpt = None, as_json: JsonOpt = False):
    """List releases, newest first."""
    name = resolve_app(app_name)
    if (items := listed(f"/apps/{name}/releases", as_json, "version ..; order=desc")) is None:
        return
    typer.echo(f"=== {name} Releases")
    table = Table(box=None, show_header=False)
    for item in items:
        version = f"v{item['version']}" + (" (current)" if item.get("current") else "")
        status = "" if item.get("status") == "succeeded" else f" ({item.get('status')})"
        table.add_row(version, f"{item['description']}{status}", (item.get("user") or {}).get("email", ""), when(item.get("created_at")))
    console.print(table)


@app.command("releases:info")
def releases_info(version: str, app_name: AppOpt = None, as_json: JsonOpt = False):
    """Show one release (vN, N or its id) and its config snapshot."""
    name, api = resolve_app(app_name), Api()
    release = api.get(f"/apps/{name}/releases/{version}")
    if as_json:
        return print_json(release)
    print_fields(f"Release v{release['version']}", {
        "Change": release.get("description"),
        "Status": release.get("status"),
        "Current": "yes" if release.get("current") else "no",
        "By": (release.get("user") or {}).get("email", ""),
        "When": when(release.get("created_at")),
        "Image": release.get("image") or "",
    })
    config = api.get(f"/apps/{name}/releases/{release['id']}/config-vars")
    typer.echo("")
    print_fields(f"v{release['version']} Config Vars", dict(sorted(config.items())))


@app.command("releases:output")
def releases_output(version: Annotated[str | None, typer.Argument(help="vN, N or a release id; default: the newest.")] = None,
                    app_name: AppOpt = None):
    """Print what a release's deploy printed (release phase, processes starting), live while it runs.

    Example: paas releases:output v12 -a myapp
    """
    name, api = resolve_app(app_name), Api()
    release = api.get(f"/apps/{name}/releases/{version}") if version else api.latest_release(name)
    if not release or not release.get("output_stream_url"):
        fail(f"v{release['version'] if release else '?'} of ⬢ {name} deployed no code, so it has no output.")
    print_stream(release["output_stream_url"], "release's output")


# --- logs ------------------------------------------------------------------


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


# --- run -------------------------------------------------------------------


def start_run(name: str, command: list[str], attach: bool, size: str | None, env: list[str]) -> dict:
    variables = {}
    for item in env:
        key, sep, value = item.partition("=")
        if not sep:
            fail(f"--env takes KEY=VALUE, got {item!r}.")
        variables[key] = value
    line = command[0] if len(command) == 1 else shlex.join(command)  # one argument: a shell line as given
    body = {"command": line, "attach": attach, "env": {**(run.terminal_env() if attach else {}), **variables},
            "force_no_tty": not run.interactive(), "attach_transport": "websocket", **({"size": size} if size else {})}
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
        status, message = run.attach(dyno["attach_url"], tty=run.interactive())
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


# --- login -----------------------------------------------------------------


@app.command("login")
def login(token: Annotated[str | None, typer.Option(help="API token; asked for (hidden) when omitted.")] = None):
    """Save an API token for this API URL (used by the CLI and by `git push`)."""
    url = api_url()
    if token is None:
        token = typer.prompt(f"API token for {url}", hide_input=True, default="", show_default=False)
    token = token.strip()
    if not token:
        fail("No token given.")
    response = Api(token).request("GET", "/account", check=False)
    if response.is_error:
        reason = error_message(response).rstrip(".")
        if response.status_code in (401, 403):
            reason = f"the token was refused ({reason})"
        fail(f"Login to {url} failed: {reason}. Nothing was saved.")
    try:
        path = credentials.save(url, token)
    except (credentials.CredentialsError, OSError) as error:
        fail(f"Could not save the token: {error}")
    typer.echo(f"Logged in as {response.json().get('email', '?')}")
    if os.environ.get("PAAS_TOKEN") and os.environ["PAAS_TOKEN"] != token:
        typer.echo(f"Note: PAAS_TOKEN is set and wins over the token saved in {path}.", err=True)


@app.command("logout")
def logout():
    """Forget the token saved for this API URL."""
    url = api_url()
    try:
        removed = credentials.remove(url)
    except (credentials.CredentialsError, OSError) as error:
        fail(str(error))
    typer.echo(f"Logged out of {url}" if removed else f"Not logged in to {url}")


@app.command("auth:whoami")
def whoami():
    """Print the email of the account the token belongs to."""
    typer.echo(Api().get("/account")["email"])


@app.command("auth:token")
def auth_token():
    """Print the API token the CLI uses (for scripts: `curl -H "Authorization: Bearer $(paas auth:token)"`)."""
    typer.echo(token())


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


@app.command("git-credential", hidden=True)
def git_credential(action: Annotated[str, typer.Argument(help="get, store or erase (git's helper protocol).")]):
    """git credential helper: answers `get` for the API's host with the CLI's token."""
    if action != "get":
        return  # store/erase: the token lives in the credentials file, not in git
    try:
        request = credentials.parse_git_request(sys.stdin)
        url = api_url()
        if not credentials.matches_api(request, url):
            return  # another host: not ours to answer, and no token is even looked up
        answer = credentials.git_answer(request, url, find_token(url))
    except Exception:  # never break git: without an answer it falls back to its own prompting
        return
    sys.stdout.write(answer)


# --- rollback and git -------------------------------------------------------


def previous_release(api: Api, name: str) -> dict:
    """The newest release before the current one that can be rolled back to (Heroku's default).

    "Current" is the newest release that has not failed: one still starting (e.g. right after
    `config set`) is what the user wants to undo, though the API calls the older one current.
    """
    releases = api.list(f"/apps/{name}/releases", "version ..; order=desc")
    current = next((r for r in releases if r.get("status") != "failed"), None)
    if current is None:
        fail(f"⬢ {name} has no release to roll back from.")
    for release in releases:
        if release["version"] < current["version"] and release.get("eligible_for_rollback"):
            return release
    fail(f"⬢ {name} has no release before v{current['version']} with deployed code to roll back to.")


@app.command("rollback")
def rollback(
    release: Annotated[str | None, typer.Argument(help="vN, N or a release id; default: the release before the current one.")] = None,
    app_name: AppOpt = None,
):
    """Release the code and config of an earlier release again."""
    name, api = resolve_app(app_name), Api()
    target = release.removeprefix("v") if release else previous_release(api, name)["version"]
    if isinstance(target, str) and target.isdigit():
        target = int(target)
    created = api.post(f"/apps/{name}/releases", {"release": target})
    typer.echo(f"Rolling back ⬢ {name}... done, v{created['version']} ({created['description']})")
    if created.get("output_stream_url"):  # its deploy, as it happens
        print_stream(created["output_stream_url"], "release's output")


@app.command("git:remote")
@app.command("git-remote", hidden=True)
def git_remote(app_name: AppOpt = None):
    """Add or update the `paas` remote of this git repo."""
    if not gitremote.in_repo():
        fail("Not inside a git repository.")
    api = Api()
    name = api.get(f"/apps/{resolve_app(app_name)}")["name"]
    url = f"{api.url}/{name}.git"
    set_paas_remote(api.url, url)
    typer.echo(f"set git remote {gitremote.REMOTE} to {url}")


@app.command("git:clone")
def git_clone(app_name: Annotated[str, typer.Option("--app", "-a", help="The app to clone.")],
              directory: Annotated[str | None, typer.Argument(help="Where to; default: the app's name.")] = None):
    """Clone an app's git repository (with its `paas` remote set up for `git push`).

    Example: paas git:clone -a myapp
    """
    api = Api()
    name = api.get(f"/apps/{app_name}")["name"]
    url, target = f"{api.url}/{name}.git", directory or name
    helper = ["-c", f"{gitremote.credential_helper_key(api.url)}=", "-c", f"{gitremote.credential_helper_key(api.url)}={git_credential_command()}"]
    cloned = gitremote.git(*helper, "clone", "--origin", gitremote.REMOTE, url, target)
    if cloned.returncode != 0:
        fail(f"git clone failed: {cloned.stderr.strip()}")
    if "empty repository" in cloned.stderr:
        typer.echo(f"Cloning into '{target}'... ⬢ {name} has no code yet: push some.")
    else:
        typer.echo(f"Cloning into '{target}'... done")
    os.chdir(target)
    set_paas_remote(api.url, url)


@app.command("open")
def open_app(app_name: AppOpt = None, path: Annotated[str, typer.Argument(help="A path on the app, e.g. /admin.")] = ""):
    """Open the app's web URL in a browser (printed when there is none, or no terminal).

    Example: paas open /status -a myapp
    """
    url = Api().get(f"/apps/{resolve_app(app_name)}")["web_url"].rstrip("/") + "/" + path.lstrip("/")
    typer.echo(url)
    if sys.stdout.isatty():
        import webbrowser

        webbrowser.open(url)


# These commands live in modules of their own and add themselves to `app`.
from paas.cli import access as _access  # noqa: E402,F401
from paas.cli import addons as _addons  # noqa: E402,F401
from paas.cli import builds as _builds  # noqa: E402,F401
from paas.cli import nodes as _nodes  # noqa: E402,F401
from paas.cli import processes as _processes  # noqa: E402,F401

if __name__ == "__main__":
    app()
