"""A scheduled job through the running platform, made with `paas scheduler:add`, due every minute
while the platform is stopped: once it is back, the minute it missed runs once, as `scheduler.N`
of the app's release, its output in the app's logs and its exit code recorded. (Start delays on
time are measured by bench/scheduler.py; the overlap rule with real processes is in
tests/runner/test_cron.py.)"""

import time
from datetime import datetime, timezone

import pytest

from tests.cli.conftest import paas
from tests.e2e.conftest import eventually, platform
from tests.e2e.test_logs import logged

pytestmark = pytest.mark.e2e
def test_a_minute_missed_while_the_platform_was_down_runs_once_when_it_is_back(api, checkout, app_name, settings, token):
    assert checkout.push().returncode == 0
    env = {"PAAS_TOKEN": token, "PAAS_API_URL": settings.api_url}
    added = paas("scheduler:add", "echo from-the-scheduler $DYNO; exit 4", "--schedule", "* * * * *", "-a", app_name, **env)
    assert added.exit_code == 0, added.output
    [job] = api.get(f"/apps/{app_name}/scheduled-jobs").json()
    assert job["schedule"] == "* * * * *" and job["id"] in paas("scheduler", "-a", app_name, "--json", **env).output
    platform(settings, "down")
    try:
        missed = datetime.now(timezone.utc).replace(second=0, microsecond=0)
        while datetime.now(timezone.utc).replace(second=0, microsecond=0) == missed:  # bounded: a minute at most
            time.sleep(0.2)
        missed = datetime.now(timezone.utc).replace(second=0, microsecond=0)  # due while nothing ran
        time.sleep(1)
    finally:
        platform(settings, "up")

    def finished() -> list:
        return [run for run in api.get(f"/apps/{app_name}/scheduled-jobs/{job['id']}/runs").json() if run["status"] != "running"]

    [run] = eventually(finished, timeout=60, what="the missed minute's run")
    assert (run["status"], run["exit_code"]) == ("failed", 4) and run["name"].startswith("scheduler.")
    assert datetime.fromisoformat(run["due_at"]) == missed and len(api.get(f"/apps/{app_name}/scheduled-jobs/{job['id']}/runs").json()) == 1
    [line] = logged(api, app_name, f"from-the-scheduler {run['name']}", dyno=run["name"])
    assert f"app[{run['name']}]: from-the-scheduler {run['name']}" in line
    logged(api, app_name, "Process exited with status 4", dyno=run["name"])
    listed = paas("scheduler:runs", job["id"], "-a", app_name, **env)
    assert listed.exit_code == 0 and run["name"] in listed.output and "failed" in listed.output
    assert paas("scheduler:remove", job["id"], "-a", app_name, **env).exit_code == 0
    assert api.get(f"/apps/{app_name}/scheduled-jobs").json() == []
