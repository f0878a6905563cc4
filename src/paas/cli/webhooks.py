"""`paas webhooks*`: where an app's events are POSTed, and how their deliveries went."""

from typing import Annotated

import typer

from paas.cli.client import Api
from paas.cli.common import AppOpt, JsonOpt, app, listed, print_fields, print_json, print_table, resolve_app, segment, working

IncludeOpt = Annotated[str | None, typer.Option("--include", "-i", help="Event kinds, comma-separated: api:release,api:build...")]
LevelOpt = Annotated[str | None, typer.Option("--level", "-l", help="notify (one try) or sync (retried for up to 72 hours).")]
UrlOpt = Annotated[str | None, typer.Option("--url", "-u", help="Where the events are POSTed.")]
SecretOpt = Annotated[str | None, typer.Option("--secret", "-s", help="Signs each delivery (made for you when not given).")]
AuthorizationOpt = Annotated[str | None, typer.Option("--authorization", "-t", help="Sent as the Authorization header.")]


def fields(include: str | None, level: str | None, url: str | None, secret: str | None, authorization: str | None) -> dict:
    given = {"include": [i.strip() for i in include.split(",")] if include else None, "level": level, "url": url,
             "secret": secret, "authorization": authorization}
    return {key: value for key, value in given.items() if value is not None}


@app.command("webhooks")
def webhooks_list(app_name: AppOpt = None, as_json: JsonOpt = False):
    """List an app's webhooks.  Example: paas webhooks -a myapp"""
    name = resolve_app(app_name)
    if (items := listed(f"/apps/{segment(name)}/webhooks", as_json)) is None:
        return
    print_table(("Webhook ID", "URL", "Include", "Level"), [(w["id"], w["url"], ",".join(w["include"]), w["level"]) for w in items])


@app.command("webhooks:add")
def webhooks_add(include: IncludeOpt = None, level: LevelOpt = None, url: UrlOpt = None, secret: SecretOpt = None,
                 authorization: AuthorizationOpt = None, app_name: AppOpt = None, as_json: JsonOpt = False):
    """POST the app's events of some kinds to a URL, each signed (Heroku-Webhook-Hmac-SHA256).
    Example: paas webhooks:add -i api:release,api:build -l notify -u https://example.com/hooks -a myapp"""
    name = resolve_app(app_name)
    with working(f"Adding webhook to ⬢ {name}"):
        response = Api().request("POST", f"/apps/{segment(name)}/webhooks", json=fields(include, level, url, secret, authorization))
    if as_json:
        return print_json(response.json())
    if made := response.headers.get("heroku-webhook-secret"):
        typer.echo(f"=== Webhooks Signing Secret\n{made}\n(shown this once: keep it to check the signatures)")


@app.command("webhooks:info")
def webhooks_info(webhook_id: str, app_name: AppOpt = None, as_json: JsonOpt = False):
    """Show one webhook."""
    hook = Api().get(f"/apps/{segment(resolve_app(app_name))}/webhooks/{segment(webhook_id)}")
    if as_json:
        return print_json(hook)
    print_fields(hook["id"], {"Webhook ID": hook["id"], "URL": hook["url"], "Include": ",".join(hook["include"]), "Level": hook["level"]})


@app.command("webhooks:update")
def webhooks_update(webhook_id: str, include: IncludeOpt = None, level: LevelOpt = None, url: UrlOpt = None,
                    secret: SecretOpt = None, authorization: AuthorizationOpt = None, app_name: AppOpt = None):
    """Change a webhook's kinds, level, URL, secret or authorization."""
    name = resolve_app(app_name)
    with working(f"Updating webhook {webhook_id} for ⬢ {name}"):
        Api().patch(f"/apps/{segment(name)}/webhooks/{segment(webhook_id)}", fields(include, level, url, secret, authorization))


@app.command("webhooks:remove")
def webhooks_remove(webhook_id: str, app_name: AppOpt = None):
    """Remove a webhook (its deliveries go with it)."""
    name = resolve_app(app_name)
    with working(f"Removing webhook {webhook_id} from ⬢ {name}"):
        Api().delete(f"/apps/{segment(name)}/webhooks/{segment(webhook_id)}")


@app.command("webhooks:deliveries")
def webhooks_deliveries(app_name: AppOpt = None, status: Annotated[str | None, typer.Option("--status", "-s", help="Only these: pending, retrying, succeeded, failed.")] = None,
                        as_json: JsonOpt = False):
    """The latest deliveries of an app's webhooks, newest first: status, attempts, last code."""
    name = resolve_app(app_name)
    items = Api().get(f"/apps/{segment(name)}/webhook-deliveries" + (f"?eq[status]={segment(status)}" if status else ""))
    if as_json:
        return print_json(items)
    print_table(("Delivery ID", "Created", "Status", "Include", "Level", "Attempts", "Code", "Error", "Next Attempt"), [
        (d["id"], d["created_at"], d["status"], d["event"]["include"], d["webhook"]["level"], str(d["num_attempts"]),
         str((d.get("last_attempt") or {}).get("code") or ""), (d.get("last_attempt") or {}).get("error_class") or "",
         d.get("next_attempt_at") or "") for d in items])
