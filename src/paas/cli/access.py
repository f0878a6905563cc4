"""`paas accounts:create`, `authorizations*`, `quotas*`, `access*`, `teams*`: who may use the platform and its apps."""

from typing import Annotated
from urllib.parse import quote

import typer

from paas.cli.client import Api
from paas.cli.main import AppOpt, JsonOpt, app, print_json, print_table, resolve_app

PermissionsOpt = Annotated[str | None, typer.Option("--permissions", help="Team apps: comma-separated view,deploy,operate,manage.")]


@app.command("accounts:create")
def accounts_create(email: str, name: Annotated[str | None, typer.Option(help="The user's name.")] = None, as_json: JsonOpt = False):
    """Make a user's account (admins only) and print their first API token, once.
    Example: paas accounts:create dev@example.com --name Dev"""
    made = Api().post("/accounts", {"email": email, **({"name": name} if name else {})})
    if as_json:
        return print_json(made)
    typer.echo(f"Created {made['email']}. Their API token (shown this once; give it to them for `paas login`):")
    typer.echo(made["token"])


@app.command("authorizations")
def authorizations(as_json: JsonOpt = False):
    """List your API tokens (their values are never shown again).  Example: paas authorizations"""
    items = Api().list("/oauth/authorizations")
    if as_json:
        return print_json(items)
    print_table(("ID", "Description", "Created"), [(a["id"], a["description"], a["created_at"][:16]) for a in items])


@app.command("authorizations:create")
def authorizations_create(description: Annotated[str, typer.Option("--description", "-d", help="What it is for.")] = "",
                          as_json: JsonOpt = False):
    """Make another API token for yourself and print it, once.  Example: paas authorizations:create -d ci"""
    made = Api().post("/oauth/authorizations", {"description": description})
    if as_json:
        return print_json(made)
    typer.echo(made["access_token"]["token"])


@app.command("authorizations:revoke")
def authorizations_revoke(ident: str):
    """Revoke one of your API tokens by its ID.  Example: paas authorizations:revoke 1f0c..."""
    Api().delete(f"/oauth/authorizations/{quote(ident, safe='')}")
    typer.echo(f"Revoked {ident}")


@app.command("quotas")
def quotas(email: Annotated[str | None, typer.Argument(help="Another user's (admins only).")] = None, as_json: JsonOpt = False):
    """Your quotas and what you use of each, or a user's.  Example: paas quotas dev@example.com"""
    print_quotas(Api().get(f"/accounts/{quote(email, safe='')}/quotas" if email else "/account/quotas"), as_json)


@app.command("quotas:set")
def quotas_set(email: str, changes: Annotated[list[str], typer.Argument(help="QUOTA=N, or QUOTA=default.")], as_json: JsonOpt = False):
    """Set a user's quotas (admins only).  Example: paas quotas:set dev@example.com apps=5 dynos=default"""
    body: dict[str, int | None] = {}
    for change in changes:
        quota, sep, value = change.partition("=")
        if not sep or not (value.isdigit() or value == "default"):
            raise typer.BadParameter(f"{change!r}: give QUOTA=N or QUOTA=default (apps, addons, dynos, one_off_dynos, authorizations).")
        body[quota] = None if value == "default" else int(value)
    print_quotas(Api().patch(f"/accounts/{quote(email, safe='')}/quotas", body), as_json)


def print_quotas(shown: dict, as_json: bool) -> None:
    if as_json:
        return print_json(shown)
    print_table(("Quota", "Used", "Limit"), [(q, str(v["used"]), "none" if v["limit"] is None else str(v["limit"]))
                                            for q, v in shown.items()])


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


@app.command("teams")
def teams_list(as_json: JsonOpt = False):
    """The teams you are in, and your role.  Example: paas teams"""
    items = Api().list("/teams")
    if as_json:
        return print_json(items)
    print_table(("Team", "Role"), [(t["name"], t["role"] or "") for t in items])


@app.command("teams:create")
def teams_create(name: str):
    """Make a team (you become its admin).  Example: paas teams:create crew"""
    Api().post("/teams", {"name": name})
    typer.echo(f"Created team {name}")


@app.command("members:set")
def members_set(email: str, team: Annotated[str, typer.Option("--team", "-t", help="The team.")],
                role: Annotated[str, typer.Option(help="admin or member.")] = "member"):
    """Add a user to a team, or change their role.  Example: paas members:set dev@example.com -t crew --role member"""
    Api().request("PUT", f"/teams/{quote(team, safe='')}/members", json={"email": email, "role": role})
    typer.echo(f"{email} is {role} of {team}")


@app.command("members")
def members_list(team: Annotated[str, typer.Option("--team", "-t", help="The team.")], as_json: JsonOpt = False):
    """A team's members.  Example: paas members -t crew"""
    items = Api().list(f"/teams/{quote(team, safe='')}/members")
    if as_json:
        return print_json(items)
    print_table(("Email", "Role"), [(m["email"], m["role"]) for m in items])
