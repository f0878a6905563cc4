"""`paas config*`: an app's config vars (each change is a new release)."""

from typing import Annotated

import typer

from paas.cli.client import Api, fail
from paas.cli.common import AppOpt, JsonOpt, app, print_fields, print_json, resolve_app


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
