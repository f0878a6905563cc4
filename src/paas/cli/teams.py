"""`paas teams*`, `members*`: teams and their members."""

from typing import Annotated
from urllib.parse import quote

import typer

from paas.cli.client import Api
from paas.cli.common import JsonOpt, app, print_json, print_table


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
