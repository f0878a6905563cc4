"""`paas addons*`: an app's add-ons and their attachments."""

from typing import Annotated

import typer

from paas.cli.client import Api, fail
from paas.cli.common import AppOpt, JsonOpt, app, print_fields, print_json, print_table, resolve_app, segment, working


AsOpt = Annotated[str | None, typer.Option("--as", help="Attachment name: its URL is then <NAME>_URL.")]


@app.command("addons")
def addons_list(app_name: AppOpt = None, as_json: JsonOpt = False):
    """List an app's add-ons.  Example: paas addons -a myapp"""
    name = resolve_app(app_name)
    items = Api().list(f"/apps/{segment(name)}/addons")
    if as_json:
        return print_json(items)
    if not items:
        return typer.echo(f"No add-ons for app {name}.")
    print_table(("Add-on", "Plan", "State", "Owner", "Config vars"),
                [(a["name"], a["plan"]["name"], a["state"], a["app"]["name"], ", ".join(a["config_vars"])) for a in items])


@app.command("addons:create")
def addons_create(plan: Annotated[str, typer.Argument(help="SERVICE[:PLAN], e.g. postgresql, redis:mini, heroku-postgresql, external.")],
    app_name: AppOpt = None,
    attachment: AsOpt = None,
    url: Annotated[str | None, typer.Option(help="The URL an `external` add-on holds.")] = None,
    as_json: JsonOpt = False,
):
    """Create an add-on and attach it; the app rolls out a release with its URL.
    Example: paas addons:create postgresql -a myapp"""
    name = resolve_app(app_name)
    body: dict = {"plan": plan}
    if attachment:
        body["attachment"] = {"name": attachment}
    if url:
        body["config"] = {"url": url}
    with working(f"Creating {plan} on ⬢ {name}"):
        made = Api().post(f"/apps/{segment(name)}/addons", body)
    if as_json:
        return print_json(made)
    typer.echo(f"Created {made['name']} as {', '.join(made['config_vars'])}" + ("" if made["state"] == "provisioned" else f" ({made['state']})"))


@app.command("addons:attach")
def addons_attach(addon: Annotated[str, typer.Argument(help="The add-on's name or id.")],
                  app_name: AppOpt = None, attachment: AsOpt = None, as_json: JsonOpt = False):
    """Attach an existing add-on to another app.  Example: paas addons:attach postgresql-calm-01234 -a other"""
    name = resolve_app(app_name)
    with working(f"Attaching {addon} to ⬢ {name}"):
        made = Api().post("/addon-attachments", {"addon": addon, "app": name, **({"name": attachment} if attachment else {})})
    if as_json:
        return print_json(made)
    typer.echo(f"Attached as {made['name']}_URL")


@app.command("addons:detach")
def addons_detach(attachment: Annotated[str, typer.Argument(help="The attachment's name (DATABASE) or id.")],
                  app_name: AppOpt = None):
    """Detach an add-on from an app: its var goes, in a new release.  Example: paas addons:detach DATABASE -a other"""
    name = resolve_app(app_name)
    with working(f"Detaching {attachment} from ⬢ {name}"):
        Api().delete(f"/apps/{segment(name)}/addon-attachments/{segment(attachment)}")


@app.command("addons:destroy")
def addons_destroy(addon: Annotated[str, typer.Argument(help="The add-on's name, id or attachment name.")],
    app_name: AppOpt = None,
    confirm: Annotated[str | None, typer.Option(help="The app's name, to skip the prompt.")] = None,
):
    """Destroy an add-on and its data.  Example: paas addons:destroy postgresql-calm-01234 -a myapp --confirm myapp"""
    name = resolve_app(app_name)
    if confirm is None:
        confirm = typer.prompt(f"This destroys {addon} and its data for good. Type the app's name ({name}) to confirm",
                               default="", show_default=False)
    if confirm != name:
        fail(f"Confirmation {confirm!r} did not match {name!r}. Nothing was destroyed.")
    with working(f"Destroying {addon} on ⬢ {name}"):
        Api().delete(f"/apps/{segment(name)}/addons/{segment(addon)}")


@app.command("addons:info")
def addons_info(addon: Annotated[str, typer.Argument(help="The add-on's name, id or attachment name.")],
                app_name: AppOpt = None, as_json: JsonOpt = False):
    """Show an add-on.  Example: paas addons:info DATABASE -a myapp"""
    name = resolve_app(app_name)
    api = Api()
    found = api.get(f"/apps/{segment(name)}/addons/{segment(addon)}")
    if as_json:
        return print_json(found)
    attached = [a for a in api.list("/addon-attachments") if a["addon"]["id"] == found["id"]]
    print_fields(found["name"], {
        "Plan": found["plan"]["name"], "Owning app": found["app"]["name"], "State": found["state"],
        "Attachments": ", ".join(f"{a['app']['name']}::{a['name']}" for a in attached) or "(none)",
        "Created at": found["created_at"],
    })
