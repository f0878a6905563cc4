"""`paas access*`: an app's collaborators and their permissions."""

from typing import Annotated
from urllib.parse import quote

import typer

from paas.cli.client import Api
from paas.cli.common import AppOpt, JsonOpt, app, print_json, print_table, resolve_app


PermissionsOpt = Annotated[str | None, typer.Option("--permissions", help="Team apps: comma-separated view,deploy,operate,manage.")]


@app.command("access")
def access_list(app_name: AppOpt = None, as_json: JsonOpt = False):
    """Who may use an app, and what they may do.  Example: paas access -a myapp"""
    name = resolve_app(app_name)
    items = Api().list(f"/apps/{quote(name, safe='')}/collaborators")
    if as_json:
        return print_json(items)
    print_table(("User", "Role", "Permissions"), [(c["user"]["email"], c["role"], ", ".join(p["name"] for p in c["permissions"])) for c in items])


@app.command("access:add")
def access_add(email: str, app_name: AppOpt = None, permissions: PermissionsOpt = None):
    """Let a user use an app (a team app's member: with --permissions).
    Example: paas access:add dev@example.com -a myapp --permissions view,deploy"""
    name = resolve_app(app_name)
    body: dict = {"user": email}
    if permissions:
        body["permissions"] = [p.strip() for p in permissions.split(",") if p.strip()]
    path = f"/teams/apps/{quote(name, safe='')}/collaborators" if permissions else f"/apps/{quote(name, safe='')}/collaborators"
    added = Api().post(path, body)
    typer.echo(f"Added {email} to {name} ({', '.join(p['name'] for p in added['permissions'])})")


@app.command("access:remove")
def access_remove(email: str, app_name: AppOpt = None):
    """Stop a user from using an app.  Example: paas access:remove dev@example.com -a myapp"""
    name = resolve_app(app_name)
    Api().delete(f"/apps/{quote(name, safe='')}/collaborators/{quote(email, safe='')}")
    typer.echo(f"Removed {email} from {name}")
