"""A scheduled job through the running platform, made with `paas scheduler:add`: within a minute
it runs as `scheduler.N` of the app's release, its output is in the app's logs, its exit code and
times are recorded, and it started within 5 s of its minute."""

from datetime import datetime

import pytest

from tests.cli.conftest import paas
from tests.e2e.conftest import eventually
from tests.e2e.test_logs import logged

pytestmark = pytest.mark.e2e


def test_a_job_every_minute_runs_logs_and_records_its_exit_code(api, checkout, app_name, settings, token):
    assert checkout.push().returncode == 0
    env = {"PAAS_TOKEN": token, "PAAS_API_URL": settings.api_url}
    added = paas("scheduler:add", "echo from-the-scheduler $DYNO; exit 4", "--schedule", "* * * * *", "-a", app_name, **env)
    assert added.exit_code == 0, added.output
    [job] = api.get(f"/apps/{app_name}/scheduled-jobs").json()
    assert job["schedule"] == "* * * * *" and job["id"] in paas("scheduler", "-a", app_name, "--json", **env).output

    def finished() -> list:
        return [run for run in api.get(f"/apps/{app_name}/scheduled-jobs/{job['id']}/runs").json() if run["status"] != "running"]

    [run] = eventually(finished, timeout=75, what="a finished scheduled run")
    assert (run["status"], run["exit_code"]) == ("failed", 4) and run["name"].startswith("scheduler.")
    delay = (datetime.fromisoformat(run["started_at"]) - datetime.fromisoformat(run["due_at"])).total_seconds()
    assert 0 <= delay < 5, run
    [line] = logged(api, app_name, f"from-the-scheduler {run['name']}", dyno=run["name"])
    assert f"app[{run['name']}]: from-the-scheduler {run['name']}" in line
    logged(api, app_name, "Process exited with status 4", dyno=run["name"])
    listed = paas("scheduler:runs", job["id"], "-a", app_name, **env)
    assert listed.exit_code == 0 and run["name"] in listed.output and "failed" in listed.output
    assert paas("scheduler:remove", job["id"], "-a", app_name, **env).exit_code == 0
    assert api.get(f"/apps/{app_name}/scheduled-jobs").json() == []
