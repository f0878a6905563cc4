"""`paas events`: what changed in an app, and who changed it; with --tail, as it happens."""

import json
import sys
import time
from typing import Annotated

import httpx
import typer

from paas.cli.client import Api, error_message, fail
from paas.cli.common import AppOpt, JsonOpt, app, resolve_app

RECONNECT_AFTER = 1.0  # seconds: a dropped stream is taken up again where it stopped


def summary(event: dict) -> str:
    """One line: when, what, which, by whom."""
    data = event.get("data") or {}
    match event["resource"]:
        case "release":
            which = f"v{data.get('version')} {data.get('description')} ({data.get('status')})"
        case "build":
            which = f"{data.get('status')} {(data.get('source_blob') or {}).get('version', '')[:7]}"
        case "formation":
            which = f"{data.get('type')}={data.get('quantity')}:{data.get('size')}"
        case "config-vars":
            which = "; ".join(f"{word} {', '.join(keys)}" for word, keys in (("set", data.get("set")), ("unset", data.get("unset"))) if keys)
        case "domain":
            which = str(data.get("hostname"))
        case "collaborator":
            which = str((data.get("user") or {}).get("email"))
        case "link":
            which = f"to {(data.get('target') or {}).get('name')}"
        case "addon-attachment":
            which = f"{data.get('name')} of {(data.get('addon') or {}).get('name')}"
        case _:
            which = str(data.get("name", ""))
    by = (event.get("actor") or {}).get("email") or "paas"
    return f"{(event.get('created_at') or '')[:19]}Z  {event['resource']}.{event['action']}  {which}  by {by}"


@app.command("events")
def events(
    app_name: AppOpt = None,
    tail: Annotated[bool, typer.Option("--tail", "-t", help="Keep showing events as they happen.")] = False,
    num: Annotated[int, typer.Option("--num", "-n", min=1, max=1000, help="How many past events to show.")] = 20,
    as_json: JsonOpt = False,
):
    """Show an app's events: builds, releases, scaling, config, add-ons, domains, collaborators.

    Example: paas events -a myapp --tail
    """
    name, api = resolve_app(app_name), Api()

    def show(event: dict) -> None:
        typer.echo(json.dumps(event) if as_json else summary(event))

    past = api.request("GET", f"/apps/{name}/events?max={num}").json()
    for event in past:
        show(event)
    if not tail:
        return
    last = str(past[-1]["sequence"]) if past else None
    try:
        while True:
            last = follow(api, name, last, show)
            time.sleep(RECONNECT_AFTER)
    except KeyboardInterrupt:
        pass


def follow(api: Api, name: str, last: str | None, show) -> str | None:
    """Read the stream from after `last` until it drops; the last event's sequence."""
    headers = {"Accept": "text/event-stream", **({"Last-Event-ID": last} if last else {})}
    try:
        with api.http.stream("GET", f"/apps/{name}/events", headers=headers, timeout=httpx.Timeout(30.0, read=60.0)) as response:
            if response.is_error:
                response.read()
                fail(error_message(response))
            event_id = None
            for line in response.iter_lines():
                if line.startswith("id: "):
                    event_id = line[4:]
                elif line.startswith("data: "):
                    event = json.loads(line[6:])
                    show(event)
                    last = event_id
                    sys.stdout.flush()
                    if (event["resource"], event["action"]) == ("app", "destroy"):
                        raise typer.Exit(0)
    except httpx.HTTPError:
        pass  # taken up again
    return last
