"""`paas domains*`: an app's custom domains."""

import typer

from paas.cli.client import Api
from paas.cli.common import AppOpt, JsonOpt, app, print_json, print_table, resolve_app, segment, working


@app.command("domains")
def domains_list(app_name: AppOpt = None, as_json: JsonOpt = False):
    """List an app's domains: its default one and custom ones with their certificates' state.
    Example: paas domains -a myapp"""
    name = resolve_app(app_name)
    items = Api().list(f"/apps/{segment(name)}/domains")
    if as_json:
        return print_json(items)
    print_table(("Domain", "Kind", "DNS target", "Certificate"), [
        (d["hostname"], d["kind"], d.get("cname") or "",
         (d.get("acm_status") or "") + (f" ({d['acm_status_reason']})" if d.get("acm_status_reason") else ""))
        for d in items
    ])


@app.command("domains:add")
def domains_add(hostname: str, app_name: AppOpt = None, as_json: JsonOpt = False):
    """Route a host name of yours to the app (HTTPS certificate made automatically).
    Example: paas domains:add www.example.com -a myapp"""
    name = resolve_app(app_name)
    with working(f"Adding {hostname} to ⬢ {name}"):
        made = Api().post(f"/apps/{segment(name)}/domains", {"hostname": hostname})
    if as_json:
        return print_json(made)
    typer.echo(f"Point {made['hostname']}'s DNS (CNAME) at {made['cname']}.")


@app.command("domains:remove")
def domains_remove(hostname: str, app_name: AppOpt = None):
    """Stop routing a custom host name to the app.  Example: paas domains:remove www.example.com -a myapp"""
    name = resolve_app(app_name)
    with working(f"Removing {hostname} from ⬢ {name}"):
        Api().delete(f"/apps/{segment(name)}/domains/{segment(hostname)}")
