"""Promotion to live against the running platform (`make up` first): a staging app of the sample
app is promoted to a production app of its own config, each run after a new config on staging
so that the promoted release is told apart (production's GREETING stays its own: the run number is
in production's config too, set before the clock starts).

Measured from the POST /pipeline-promotions until the router serves production's new container
(target < 1.5 s), while two bounded load loops (new connection, keep-alive) request production
and count answers that are not 200. Usage: python bench/promotion.py [--runs N]
"""

import argparse
import secrets
import shutil
import statistics
import tempfile
import time
from pathlib import Path

import platform_clients  # beside this script
from push_to_live import SAMPLE_APP, Load, git, wait_for_body, wait_until


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    runs = parser.parse_args().runs
    platform = platform_clients.connect()
    api, router, router_url, settings = platform.api, platform.router, platform.router_url, platform.settings
    staging, production = f"bench-{secrets.token_hex(3)}-stg", f"bench-{secrets.token_hex(3)}-prd"
    workdir = Path(tempfile.mkdtemp(prefix="paas-bench-"))
    pipeline = None
    try:
        for name in (staging, production):
            api.post("/apps", json={"name": name}).raise_for_status()
        app_dir = platform_clients.checkout(SAMPLE_APP, workdir / "app")
        if (pushed := git(app_dir, "push", platform.remote(staging), "main")).returncode != 0:
            raise SystemExit(f"push failed:\n{pushed.stderr}")
        pipeline = api.post("/pipelines", json={"name": staging[:30]}).json()
        for app, stage in ((staging, "staging"), (production, "production")):
            api.post("/pipeline-couplings", json={"app": app, "pipeline": pipeline["id"], "stage": stage}).raise_for_status()
        host = settings.app_host(production)
        times, loads = [], []
        for run in range(1, runs + 1):
            api.patch(f"/apps/{production}/config-vars", json={"GREETING": f"prod-{run}"}).raise_for_status()
            if run == 1:  # production's first code comes from the first promotion (not timed)
                api.post("/pipeline-promotions", json={"pipeline": {"id": pipeline["id"]}, "source": {"app": {"id": staging}},
                                                       "targets": [{"app": {"id": production}}]}).raise_for_status()
            before = wait_for_body(router, router_url, host, f"greeting=prod-{run}").headers["X-Container"]
            with Load(router_url, host, False) as fresh, Load(router_url, host, True) as kept:
                started = time.monotonic()
                api.post("/pipeline-promotions", json={"pipeline": {"id": pipeline["id"]}, "source": {"app": {"id": staging}},
                                                       "targets": [{"app": {"id": production}}]}).raise_for_status()
                wait_until(router, router_url, host, lambda r, before=before: r.headers.get("X-Container") != before, "a new container")
                times.append(time.monotonic() - started)
                time.sleep(0.5)  # keep the load on while the old container stops
            loads.append((fresh, kept))
            print(f"run {run}: promotion to live {times[-1]:.2f} s", flush=True)
        print(f"promotion to live, median of {runs}: {statistics.median(times):.2f} s, max {max(times):.2f} s (target < 1.5 s)")
        print(f"failed requests during promotions: {sum(f.failed for f, _ in loads)} of {sum(f.sent for f, _ in loads)} (new connection each), "
              f"{sum(k.failed for _, k in loads)} of {sum(k.sent for _, k in loads)} (keep-alive)")
        print(f"builds of production: {len(api.get(f'/apps/{production}/builds').json())} (a promotion builds nothing)")
    finally:
        if pipeline:
            api.delete(f"/pipelines/{pipeline['id']}")
        for name in (staging, production):
            api.delete(f"/apps/{name}")
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
