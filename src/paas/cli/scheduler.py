"""`paas scheduler*`: commands an app runs on a schedule (five-field cron or @daily, in UTC), each
run a one-off dyno `scheduler.N`."""

from typing import Annotated

import typer

from paas.cli.client import Api
from paas.cli.common import AppOpt, JsonOpt, app, listed, print_json, print_table, resolve_app, segment, when, working

ScheduleOpt = Annotated[str | None, typer.Option("--schedule", help='Five cron fields in UTC, e.g. "*/10 * * * *", or @hourly, @daily.')]
SizeOpt = Annotated[str | None, typer.Option("--size", "-s", help="The dyno size of each run.")]
PolicyOpt = Annotated[str | None, typer.Option("--concurrency", help="forbid (default: no run while the last goes on) or allow.")]


def last(run: dict | None) -> str:
    if not run:
        return ""
    code = f" (exit {run['exit_code']})" if run.get("exit_code") is not None else ""
    return f"{run['status']}{code} {when(run['due_at'])}"


@app.command("scheduler")
def scheduler_list(app_name: AppOpt = None, as_json: JsonOpt = False):
    """List the app's scheduled jobs."""
    if (jobs := listed(f"/apps/{segment(resolve_app(app_name))}/scheduled-jobs", as_json)) is None:
        return
    print_table(("ID", "Schedule", "Command", "Size", "Next run", "Last run"),
                [(j["id"], j["schedule"], j["command"], j["size"], when(j["next_run_at"]), last(j["last_run"])) for j in jobs])


@app.command("scheduler:add")
def scheduler_add(command: Annotated[str, typer.Argument(help="The command line to run.")], schedule: ScheduleOpt = None,
                  size: SizeOpt = None, concurrency: PolicyOpt = None, app_name: AppOpt = None, as_json: JsonOpt = False):
    """Run a command on a schedule.  Example: paas scheduler:add "python report.py" --schedule "0 6 * * *" -a myapp"""
    name = resolve_app(app_name)
    body = {"command": command, "schedule": schedule, "size": size, "concurrency_policy": concurrency}
    with working(f"Scheduling `{command}` on {name}"):
        job = Api().post(f"/apps/{segment(name)}/scheduled-jobs", {k: v for k, v in body.items() if v is not None})
    if as_json:
        return print_json(job)
    typer.echo(f"{job['id']}: {job['schedule']} (next run {when(job['next_run_at'])} UTC)")


@app.command("scheduler:update")
def scheduler_update(job_id: str, command: Annotated[str | None, typer.Option("--command", help="The new command line.")] = None,
                     schedule: ScheduleOpt = None, size: SizeOpt = None, concurrency: PolicyOpt = None, app_name: AppOpt = None):
    """Change a scheduled job's command, schedule, size or concurrency policy."""
    name = resolve_app(app_name)
    body = {"command": command, "schedule": schedule, "size": size, "concurrency_policy": concurrency}
    with working(f"Updating scheduled job {job_id} of {name}"):
        Api().patch(f"/apps/{segment(name)}/scheduled-jobs/{segment(job_id)}", {k: v for k, v in body.items() if v is not None})


@app.command("scheduler:remove")
def scheduler_remove(job_id: str, app_name: AppOpt = None):
    """Stop running a scheduled job (a run under way finishes)."""
    name = resolve_app(app_name)
    with working(f"Removing scheduled job {job_id} from {name}"):
        Api().delete(f"/apps/{segment(name)}/scheduled-jobs/{segment(job_id)}")


@app.command("scheduler:runs")
def scheduler_runs(job_id: str, app_name: AppOpt = None, as_json: JsonOpt = False):
    """A scheduled job's latest runs: when, how long, and how each ended."""
    runs = Api().get(f"/apps/{segment(resolve_app(app_name))}/scheduled-jobs/{segment(job_id)}/runs")
    if as_json:
        return print_json(runs)
    print_table(("Dyno", "Due", "Status", "Exit", "Seconds", ""),
                [(r["name"], when(r["due_at"]), r["status"], "" if r["exit_code"] is None else str(r["exit_code"]),
                  "" if r["duration_seconds"] is None else f"{r['duration_seconds']:.1f}", r["message"] or "") for r in runs])
