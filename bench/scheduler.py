"""Scheduler start delay against the running platform (`make up` first): an app of the sample app
with N jobs due every minute (`true`), for M minutes; each run's start (the one-off dyno made and
starting) after its minute, from the runs the platform recorded: p50, p99 and max (target: p99
under 5 s). Usage: python bench/scheduler.py [--jobs 10] [--minutes 3]
"""

import argparse
import secrets
import shutil
import statistics
import tempfile
import time
from datetime import datetime
from pathlib import Path

import platform_clients  # beside this script
from push_to_live import SAMPLE_APP, git


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=10)
    parser.add_argument("--minutes", type=int, default=3)
    options = parser.parse_args()
    platform = platform_clients.connect()
    api, name = platform.api, f"bench-{secrets.token_hex(3)}"
    workdir = Path(tempfile.mkdtemp(prefix="paas-bench-"))
    try:
        api.post("/apps", json={"name": name}).raise_for_status()
        app_dir = platform_clients.checkout(SAMPLE_APP, workdir / "app")
        if (pushed := git(app_dir, "push", platform.remote(name), "main")).returncode != 0:
            raise SystemExit(f"push failed:\n{pushed.stderr}")
        jobs = [api.post(f"/apps/{name}/scheduled-jobs", json={"command": "true", "schedule": "* * * * *"}).json()
                for _ in range(options.jobs)]
        print(f"{options.jobs} jobs every minute for {options.minutes} minutes...", flush=True)
        deadline = time.monotonic() + 60 * options.minutes + 45  # bounded
        runs: list[dict] = []
        while time.monotonic() < deadline:
            time.sleep(5)
            runs = [run for job in jobs for run in api.get(f"/apps/{name}/scheduled-jobs/{job['id']}/runs").json()]
            if len({run["due_at"] for run in runs}) > options.minutes and all(run["status"] != "running" for run in runs):
                break
        delays = sorted((datetime.fromisoformat(r["started_at"]) - datetime.fromisoformat(r["due_at"])).total_seconds()
                        for r in runs if r["status"] != "skipped")
        if not delays:
            raise SystemExit("no run started")
        p99 = delays[min(len(delays) - 1, int(len(delays) * 0.99))]
        statuses = {status: sum(r["status"] == status for r in runs) for status in ("succeeded", "failed", "skipped", "running")}
        print(f"runs: {len(runs)} ({', '.join(f'{k} {v}' for k, v in statuses.items())})")
        print(f"start delay after the minute: p50 {statistics.median(delays):.2f} s, p99 {p99:.2f} s, max {delays[-1]:.2f} s (target: p99 < 5 s)")
    finally:
        api.delete(f"/apps/{name}")
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
