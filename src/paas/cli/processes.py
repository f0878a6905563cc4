"""`paas ps*`: an app's dynos and formation, Heroku's verbs (ps, ps:scale, ps:type, ps:restart, ps:stop)."""

import re
import time
from typing import Annotated
from urllib.parse import quote

import typer

from paas.cli.client import Api, fail
from paas.cli.common import AppOpt, JsonOpt, app, print_json, resolve_app, working

SCALE = re.compile(r"(?P<type>[a-z][a-z0-9_-]*?)(?:(?P<op>[=+-])(?P<n>[0-9]{1,4}))?(?::(?P<size>[A-Za-z0-9-]+))?")
WAIT = 120  # seconds `ps:scale --wait` waits for the dynos


def parse_scale(args: list[str], current: dict[str, int]) -> list[dict]:
    """`web=2 worker+1 web:standard-2x` -> formation updates; `current` is each type's quantity."""
    updates: dict[str, dict] = {}
    for arg in args:
        match = SCALE.fullmatch(arg)
        if not match or (match["op"] is None and match["size"] is None):
            raise ValueError(f"{arg!r}: write TYPE=N, TYPE+N, TYPE-N or TYPE:SIZE (web=2, worker+1, web=2:standard-2x)")
        update = updates.setdefault(match["type"], {"type": match["type"]})
        if match["op"]:
            number = int(match["n"])
            base = current.get(match["type"], 0)
            quantity = number if match["op"] == "=" else base + number if match["op"] == "+" else base - number
            if quantity < 0:
                raise ValueError(f"{arg!r}: {match['type']} has {base} dynos, so cannot lose {number}")
            update["quantity"] = quantity
        if match["size"]:
            update["size"] = match["size"].lower()
    return list(updates.values())


@app.command("ps")
def ps(app_name: AppOpt = None, as_json: JsonOpt = False):
    """List the app's dynos, by process type (`paas ps -a myapp`)."""
    name = resolve_app(app_name)
    api = Api()
    dynos = api.get(f"/apps/{name}/dynos")
    if as_json:
        return print_json(dynos)
    if not dynos:
        return typer.echo(f"No dynos on ⬢ {name}")
    formation = {f["type"]: f for f in api.get(f"/apps/{name}/formation")}
    for kind in sorted({d["type"] for d in dynos}):
        mine = sorted((d for d in dynos if d["type"] == kind), key=lambda d: d["name"])
        row = formation.get(kind, {})
        command = row.get("command") or mine[0].get("command") or "(the image's command)"
        typer.echo(f"=== {kind} ({row.get('size') or mine[0].get('size')}): {command} ({len(mine)})")
        for dyno in mine:
            typer.echo(f"{dyno['name']}: {dyno.get('state')} {(dyno.get('updated_at') or '')[:19].replace('T', ' ')}")
        typer.echo("")


@app.command("ps:scale")
def ps_scale(
    changes: Annotated[list[str], typer.Argument(help="TYPE=N, TYPE+N, TYPE-N, TYPE=N:SIZE ...")],
    app_name: AppOpt = None,
    wait: Annotated[bool, typer.Option(help="Wait until the dynos asked for are up.")] = False,
):
    """Scale process types (`paas ps:scale web=2 worker+1`); sizes too (`web=2:standard-2x`)."""
    name, api = resolve_app(app_name), Api()
    current = {f["type"]: f["quantity"] for f in api.get(f"/apps/{name}/formation")}
    try:
        updates = parse_scale(changes, current)
    except ValueError as error:
        fail(str(error))
    with working(f"Scaling dynos on ⬢ {name}"):
        rows = api.patch(f"/apps/{name}/formation", {"updates": updates})
        if wait:
            wait_for_dynos(api, name, {r["type"]: r["quantity"] for r in rows})
    typer.echo("Now running " + ", ".join(f"{r['type']} at {r['quantity']}:{r['size']}" for r in rows))


@app.command("ps:type")
def ps_type(
    changes: Annotated[list[str], typer.Argument(help="TYPE=SIZE ... (web=standard-2x)")],
    app_name: AppOpt = None,
):
    """Change the dyno size of process types (`paas ps:type web=standard-2x`)."""
    name, api = resolve_app(app_name), Api()
    updates = []
    for change in changes:
        kind, sep, size = change.partition("=")
        if not sep or not kind or not size:
            fail(f"{change!r}: write TYPE=SIZE (web=standard-2x)")
        updates.append({"type": kind, "size": size.lower()})
    rows = api.patch(f"/apps/{name}/formation", {"updates": updates})
    typer.echo("Now " + ", ".join(f"{r['type']} dynos are {r['size']}" for r in rows))


@app.command("ps:restart")
def ps_restart(
    target: Annotated[str | None, typer.Argument(help="A process type (web) or a dyno (web.1); none: all.")] = None,
    app_name: AppOpt = None,
):
    """Restart every dyno, a process type's, or one (`paas ps:restart web.1`)."""
    name, api = resolve_app(app_name), Api()
    path = f"/apps/{name}/dynos" + (f"/{quote(target, safe='')}" if target else "")
    with working(f"Restarting {target or 'all'} dynos on ⬢ {name}"):
        api.request("DELETE", path)


@app.command("ps:stop")
def ps_stop(target: Annotated[str, typer.Argument(help="A dyno (web.1, run.3).")], app_name: AppOpt = None):
    """Stop a dyno (a formation dyno is started again, as on Heroku; a one-off run ends)."""
    name, api = resolve_app(app_name), Api()
    with working(f"Stopping {target} on ⬢ {name}"):
        api.request("POST", f"/apps/{name}/dynos/{quote(target, safe='')}/actions/stop")


def wait_for_dynos(api: Api, name: str, wanted: dict[str, int]) -> None:
    deadline = time.monotonic() + WAIT
    while time.monotonic() < deadline:
        dynos = api.get(f"/apps/{name}/dynos")
        up = {kind: sum(1 for d in dynos if d["type"] == kind and d.get("state") == "up") for kind in wanted}
        if up == wanted:
            return
        time.sleep(0.5)
    fail(f"The dynos of ⬢ {name} were not all up within {WAIT} s: `paas ps -a {name}` shows them.")
