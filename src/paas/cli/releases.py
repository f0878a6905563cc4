"""`paas releases*` and `rollback`: an app's releases, their output, and going back to one."""

from typing import Annotated

import typer
from rich.table import Table

from paas.cli.client import Api, fail, print_stream
from paas.cli.common import AppOpt, JsonOpt, app, console, listed, print_fields, print_json, resolve_app, when


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
