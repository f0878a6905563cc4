"""`paas metrics`: how an app's process type performed, from the platform's own metrics."""

import re
import time
from typing import Annotated
from urllib.parse import urlencode

import typer

from paas.cli.client import Api, fail
from paas.cli.common import AppOpt, JsonOpt, app, print_json, print_table, resolve_app

SINCE = re.compile(r"(\d+)([mhd])")
SECONDS = {"m": 60, "h": 3600, "d": 86400}


def number(value, unit: str = "", scale: float = 1.0, digits: int = 0) -> str:
    return "-" if value is None else f"{value / scale:.{digits}f}{unit}"


@app.command("metrics")
def metrics(
    app_name: AppOpt = None,
    process_type: Annotated[str, typer.Option("--type", "-t", help="The process type.")] = "web",
    since: Annotated[str, typer.Option("--since", "-s", help="How far back: 10m, 1h, 2d (at most 7d).")] = "10m",
    step: Annotated[int | None, typer.Option(help="Seconds per row (a multiple of 10, or of 60 past the last hour).")] = None,
    as_json: JsonOpt = False,
):
    """Requests, response times, CPU and memory of an app's process type, a row per step.

    Example: paas metrics -a myapp --since 1h --step 300
    """
    found = SINCE.fullmatch(since)
    if not found:
        fail("--since is a number and a unit: 10m, 1h, 2d.")
    seconds = int(found.group(1)) * SECONDS[found.group(2)]
    query = {"type": process_type, "from": int(time.time() - seconds), **({"step": step} if step else {})}
    answer = Api().request("GET", f"/apps/{resolve_app(app_name)}/metrics?{urlencode(query)}").json()
    if as_json:
        return print_json(answer)
    rows = []
    for p in answer["points"]:
        if p["requests"] is None:
            continue
        r, t, cpu, memory = p["requests"], p["response_time_ms"], p["cpu"], p["memory_bytes"]
        events = " ".join(f"{code}×{n}" for code, n in p["events"].items() if n)
        rows.append((p["time"][11:19], number(p["throughput"], "/s", digits=2), f"{r['2xx']}/{r['3xx']}/{r['4xx']}/{r['5xx']}",
                     f"{number(t['p50'])}/{number(t['p95'])}/{number(t['p99'])}", number(cpu["mean"], digits=2),
                     number(memory["max"], " MB", 2**20), events))
    if not rows:
        return typer.echo(f"No metrics of {process_type} in the last {since}: has it had requests or running dynos?")
    print_table(("UTC", "Req/s", "2xx/3xx/4xx/5xx", "p50/p95/p99 ms", "CPU", "Memory", "Events"), rows)
