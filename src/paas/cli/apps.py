"""`paas apps*`, `git:remote`, `git:clone`, `open`: making, finding and removing apps."""

import os
import sys
import time
from pathlib import Path
from typing import Annotated

import typer

from paas.cli import gitremote
from paas.cli.builds import upload
from paas.cli.client import Api, fail, print_stream
from paas.cli.common import (
    AppOpt,
    JsonOpt,
    app,
    git_credential_command,
    print_fields,
    print_json,
    print_table,
    resolve_app,
    set_paas_remote,
    when,
)


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
    manifest: Annotated[bool, typer.Option("--manifest", help="Set it up from the directory's app.json: config, add-ons, "
                                           "formation, build, postdeploy (an app setup).")] = False,
    source: Annotated[Path, typer.Option("--dir", help="With --manifest: the directory.", file_okay=False, exists=True)] = Path("."),
    as_json: JsonOpt = False,
):
    """Create an app (and, inside a git repo, its `paas` remote).

    Example: paas apps:create myapp --stack trixie --buildpack python
    Example: paas apps:create myapp --manifest   (from app.json, with its add-ons, build and postdeploy)
    """
    api = Api()
    if manifest:
        created = set_up(api, name, source)
    else:
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


SETUP_WAIT = 1800  # seconds: a setup that is not done by then is failed by the platform


def set_up(api: Api, name: str | None, source: Path) -> dict:
    """An app setup from the directory: its progress as it goes, and the app once it is up."""
    setup = api.post("/app-setups", {"source_blob": {"url": upload(api, source)}, **({"app": {"name": name}} if name else {})})
    typer.echo(f"Setting up ⬢ {setup['app']['name']} from app.json...")
    streamed = False
    deadline = time.monotonic() + SETUP_WAIT
    while setup["status"] == "pending" and time.monotonic() < deadline:
        if setup["build"] and not streamed:
            print_stream(setup["build"]["output_stream_url"], "build's output")
            streamed = True
        time.sleep(0.5)
        setup = api.get(f"/app-setups/{setup['id']}")
    if setup["postdeploy"]:
        typer.echo(f"-----> postdeploy exited with status {setup['postdeploy']['exit_code']}")
        for line in setup["postdeploy"]["output"].splitlines():
            typer.echo(f"       {line}")
    if setup["status"] == "pending":
        fail(f"The setup of ⬢ {setup['app']['name']} is still under way: `paas apps:info -a {setup['app']['name']}` later.")
    if setup["status"] == "failed":
        problems = "".join(f"\n  - {error}" for error in setup["manifest_errors"])
        fail(f"The setup of ⬢ {setup['app']['name']} failed: {setup['failure_message']}{problems}\nNothing of it was kept.")
    return api.get(f"/apps/{setup['app']['name']}")


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
        "Maintenance": "on" if data.get("maintenance") else "off",
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


@app.command("maintenance")
def maintenance(app_name: AppOpt = None):
    """Say whether the app is in maintenance mode: on or off."""
    typer.echo("on" if Api().get(f"/apps/{resolve_app(app_name)}").get("maintenance") else "off")


def set_maintenance(app_name: str | None, on: bool) -> None:
    name = resolve_app(app_name)
    typer.echo(f"{'Enabling' if on else 'Disabling'} maintenance mode for {name}... ", nl=False)
    Api().patch(f"/apps/{name}", {"maintenance": on})
    typer.echo("done")


@app.command("maintenance:on")
def maintenance_on(app_name: AppOpt = None):
    """Put the app in maintenance mode: every request gets a 503 and the maintenance page (or the
    page at its MAINTENANCE_PAGE_URL); its processes keep running."""
    set_maintenance(app_name, True)


@app.command("maintenance:off")
def maintenance_off(app_name: AppOpt = None):
    """Take the app out of maintenance mode: its web processes serve again, with no request lost."""
    set_maintenance(app_name, False)


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
