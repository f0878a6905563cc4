"""`paas builds*`, `paas buildpacks*` and `paas stack*`: how an app is built, Heroku's verbs."""

import io
import tarfile
import time
from pathlib import Path
from typing import Annotated

import httpx
import typer

from paas.cli.client import Api, error_message, fail, print_stream
from paas.cli.common import (
    AppOpt,
    JsonOpt,
    app,
    listed,
    print_fields,
    print_json,
    print_table,
    resolve_app,
    when,
    working,
)

BuildpackArg = Annotated[str, typer.Argument(help="A built-in's name (python, nodejs, static) or a buildpack's URL.")]
IndexOpt = Annotated[int | None, typer.Option("--index", "-i", help="Its place in the list, from 1.")]


@app.command("builds")
def builds_list(app_name: AppOpt = None, as_json: JsonOpt = False):
    """List the app's builds, newest first."""
    name = resolve_app(app_name)
    if (items := listed(f"/apps/{name}/builds", as_json, "created_at ..; order=desc")) is None:
        return
    typer.echo(f"=== {name} Builds")
    print_table(("Id", "Status", "Version", "By", "Created"), [
        (b["id"], b["status"], (b.get("source_blob") or {}).get("version") or "", (b.get("user") or {}).get("email", ""),
         when(b.get("created_at"))) for b in items])


@app.command("builds:info")
def builds_info(build: Annotated[str | None, typer.Argument(help="A build's id; default: the newest.")] = None,
                app_name: AppOpt = None, as_json: JsonOpt = False):
    """Show a build."""
    name, api = resolve_app(app_name), Api()
    data = find_build(api, name, build)
    if as_json:
        return print_json(data)
    print_fields(f"Build {data['id']}", {
        "Status": data["status"], "Version": (data.get("source_blob") or {}).get("version") or "",
        "Stack": data.get("stack") or "", "By": (data.get("user") or {}).get("email", ""),
        "Created": when(data.get("created_at")), "Release": (data.get("release") or {}).get("id", ""),
    })


@app.command("builds:output")
def builds_output(build: Annotated[str | None, typer.Argument(help="A build's id; default: the newest.")] = None,
                  app_name: AppOpt = None):
    """Print a build's output (as it comes, while it runs)."""
    name, api = resolve_app(app_name), Api()
    print_stream(find_build(api, name, build)["output_stream_url"], "build's output")


@app.command("builds:create")
def builds_create(
    app_name: AppOpt = None,
    source: Annotated[Path, typer.Option("--dir", help="The directory to build.", file_okay=False, exists=True)] = Path("."),
    version: Annotated[str, typer.Option(help="What to call this source (a commit, a tag).")] = "tarball",
):
    """Build a directory's files and release them, without git (an uploaded tarball).

    Example: paas builds:create --dir ./site --version 1.4.2 -a myapp
    """
    name, api = resolve_app(app_name), Api()
    build = api.post(f"/apps/{name}/builds", {"source_blob": {"url": upload(api, source), "version": version}})
    print_stream(build["output_stream_url"], "build's output")
    build = settled(api, f"/apps/{name}/builds/{build['id']}")
    if build["status"] != "succeeded":
        fail(f"The build {build['status']}: ⬢ {name} keeps its current release.")
    release = api.get(f"/apps/{name}/releases/{build['release']['id']}")
    if release.get("output_stream_url"):
        print_stream(release["output_stream_url"], "release's output")
    release = settled(api, f"/apps/{name}/releases/{release['id']}")
    if release["status"] != "succeeded":
        fail(f"v{release['version']} did not start: ⬢ {name} keeps its current release.")


def upload(api: Api, source: Path) -> str:
    """The directory's files as a source of the platform's: its URL for builds and setups."""
    with working(f"Packing {source}"):
        tarball = pack(source)
    blob = api.post("/sources", {})["source_blob"]
    with working(f"Uploading {len(tarball) / 1e6:.1f} MB"):
        try:
            uploaded = httpx.put(blob["put_url"], content=tarball, timeout=300)
        except httpx.HTTPError as error:
            fail(f"The upload failed: {error}")
        if uploaded.is_error:
            fail(f"The upload failed: {error_message(uploaded)}")
    return blob["get_url"]


def pack(source: Path) -> bytes:
    """The directory as a .tar.gz, its git metadata left out."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        for path in sorted(source.rglob("*")):
            relative = path.relative_to(source)
            if ".git" not in relative.parts and not path.is_dir():
                archive.add(path, arcname=str(relative), recursive=False)
    return buffer.getvalue()


def settled(api: Api, path: str, timeout: float = 30) -> dict:
    """A build or release once it is no longer pending (its output may end a moment before)."""
    deadline = time.monotonic() + timeout
    while (item := api.get(path))["status"] == "pending" and time.monotonic() < deadline:
        time.sleep(0.2)
    return item


@app.command("builds:cache:purge")
def builds_cache_purge(app_name: AppOpt = None, confirm: Annotated[str | None, typer.Option(help="The app's name.")] = None):
    """Forget the app's build cache: the next build starts from nothing."""
    name = resolve_app(app_name)
    if (confirm or typer.prompt(f"This purges the build cache of ⬢ {name}. Type its name to confirm", default="")) != name:
        fail("Not confirmed: the cache stays.")
    Api().request("DELETE", f"/apps/{name}/build-cache")
    typer.echo(f"Purged the build cache of ⬢ {name}")


def find_build(api: Api, name: str, build: str | None) -> dict:
    if build:
        return api.get(f"/apps/{name}/builds/{build}")
    newest = api.request("GET", f"/apps/{name}/builds", headers={"Range": "created_at ..; max=1, order=desc"}).json()
    if not newest:
        fail(f"⬢ {name} has no builds yet.")
    return newest[0]


# --- buildpacks -------------------------------------------------------------


def installed(api: Api, name: str) -> list[str]:
    return [entry["buildpack"]["url"] for entry in api.get(f"/apps/{name}/buildpack-installations")]


def install(api: Api, name: str, buildpacks: list[str]) -> None:
    rows = api.request("PUT", f"/apps/{name}/buildpack-installations",
                       json={"updates": [{"buildpack": b} for b in buildpacks]}).json()
    if not rows:
        typer.echo(f"⬢ {name} has no buildpacks set: the next build detects them.")
        return
    typer.echo(f"Buildpacks of ⬢ {name} (the next build uses them):")
    for row in rows:
        typer.echo(f"  {row['ordinal'] + 1}. {row['buildpack']['url']}")


@app.command("buildpacks")
def buildpacks_list(app_name: AppOpt = None, as_json: JsonOpt = False):
    """List the app's buildpacks, in the order they run."""
    name, api = resolve_app(app_name), Api()
    if as_json:
        return print_json(api.get(f"/apps/{name}/buildpack-installations"))
    entries = installed(api, name)
    if not entries:
        return typer.echo(f"⬢ {name} has no buildpacks set: each build detects them.")
    typer.echo(f"=== {name} Buildpacks")
    for i, url in enumerate(entries, start=1):
        typer.echo(f"{i}. {url}")


@app.command("buildpacks:set")
def buildpacks_set(buildpack: BuildpackArg, app_name: AppOpt = None, index: IndexOpt = None):
    """Set the buildpack (or the one at --index)."""
    name, api = resolve_app(app_name), Api()
    entries = installed(api, name)
    if index is None or not entries:
        entries = [buildpack]
    elif 1 <= index <= len(entries):
        entries[index - 1] = buildpack
    else:
        fail(f"--index must be from 1 to {len(entries)}.")
    install(api, name, entries)


@app.command("buildpacks:add")
def buildpacks_add(buildpack: BuildpackArg, app_name: AppOpt = None, index: IndexOpt = None):
    """Add a buildpack, last (or at --index)."""
    name, api = resolve_app(app_name), Api()
    entries = installed(api, name)
    entries.insert(len(entries) if index is None else max(index - 1, 0), buildpack)
    install(api, name, entries)


@app.command("buildpacks:remove")
def buildpacks_remove(buildpack: Annotated[str | None, typer.Argument(help="The buildpack to remove.")] = None,
                      app_name: AppOpt = None, index: IndexOpt = None):
    """Remove a buildpack, named or by --index."""
    name, api = resolve_app(app_name), Api()
    entries = installed(api, name)
    if index is not None:
        if not 1 <= index <= len(entries):
            fail(f"--index must be from 1 to {len(entries)}.")
        entries.pop(index - 1)
    elif buildpack in entries:
        entries.remove(buildpack)
    else:
        fail(f"{buildpack or 'Nothing'} is not one of the buildpacks of ⬢ {name}.")
    install(api, name, entries)


@app.command("buildpacks:clear")
def buildpacks_clear(app_name: AppOpt = None):
    """Remove every buildpack: the next build detects them."""
    name, api = resolve_app(app_name), Api()
    install(api, name, [])


# --- stacks -----------------------------------------------------------------


@app.command("stack")
def stack_list(app_name: AppOpt = None, as_json: JsonOpt = False):
    """List the stacks, marking the app's."""
    name, api = resolve_app(app_name), Api()
    stacks = api.get("/stacks")
    if as_json:
        return print_json(stacks)
    current = (api.get(f"/apps/{name}").get("build_stack") or {}).get("name")
    typer.echo(f"=== ⬢ {name} Available Stacks")
    for stack in stacks:
        typer.echo(f"{'*' if stack['name'] == current else ' '} {stack['name']}")


@app.command("stack:set")
def stack_set(stack: Annotated[str, typer.Argument(help="A stack's name (`paas stack` lists them).")], app_name: AppOpt = None):
    """Build the app on another stack from its next build on."""
    name, api = resolve_app(app_name), Api()
    api.patch(f"/apps/{name}", {"build_stack": stack})
    typer.echo(f"Set ⬢ {name} to build on {stack}: the next push builds on it.")
