"""`paas nodes`: the hosts the platform runs apps on (admins only)."""

import typer

from paas.cli.client import Api
from paas.cli.common import JsonOpt, app, listed, print_table


@app.command("nodes")
def nodes_list(as_json: JsonOpt = False):
    """List the hosts processes run on, with their state and dynos.  Example: paas nodes"""
    if (items := listed("/nodes", as_json)) is None:
        return
    if not items:
        return typer.echo("The runner has not reported any node yet: is it running?")
    print_table(("Id", "Hostname", "Address", "State", "Availability", "Role", "Dynos"), [
        (n["id"][:12], n["hostname"], n["address"], n["state"], n["availability"],
         n["role"] + (" (leader)" if n.get("leader") else ""), str(n["dynos"])) for n in items])


@app.command("nodes:join")
def nodes_join():
    """Print the command that makes another host a worker node of the swarm.  Example: paas nodes:join"""
    typer.echo(Api().get("/nodes/join")["command"])
