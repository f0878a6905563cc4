"""The platform at rest with many apps (`make up` first): its CPU while nothing changes, and
the push-to-live of one app among them.

Creates --apps apps (no code) and pushes the sample app to --running of them (half, by
default: the issue's 1,000 apps with 500 running one web process each), measures the CPU of
the platform's processes (API, build worker, runner) over --seconds of idle (from /proc, user +
system time over wall time), then times a no-change redeploy of one of the running apps;
deletes every app it made at the end.

Usage: python bench/idle_runner.py [--apps 1000] [--running 500] [--seconds 30]
"""

import argparse
import secrets
import shutil
import statistics
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import platform_clients  # beside this script

SAMPLE_APP = Path(__file__).resolve().parent.parent / "tests" / "e2e" / "sample_app"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--apps", type=int, default=1000)
    parser.add_argument("--running", type=int, default=500)
    parser.add_argument("--seconds", type=float, default=30.0)
    args = parser.parse_args()
    platform = platform_clients.connect()
    api = platform.api
    workdir = Path(tempfile.mkdtemp(prefix="paas-bench-"))
    try:
        with platform_clients.many_apps(api, f"idle-{secrets.token_hex(2)}", args.apps) as names:
            measure(args, platform, names, workdir)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def measure(args, platform, names: list[str], workdir: Path) -> None:
    settings = platform.settings
    app_dir = platform_clients.checkout(SAMPLE_APP, workdir / "app")
    started = time.monotonic()

    def push(name: str) -> None:
        pushed = platform_clients.git(app_dir, "push", platform.remote(name), "main", timeout=300)
        if pushed.returncode != 0:
            raise SystemExit(f"push to {name} failed:\n{pushed.stderr}")

    with ThreadPoolExecutor(4) as pool:  # two build slots, two pushes waiting on their start-up
        list(pool.map(push, names[: args.running]))
    print(f"pushed {args.running} of them in {time.monotonic() - started:.1f} s", flush=True)
    time.sleep(settings.reconcile_interval + 2)  # let the first sweeps over them pass

    pids = {name: int((settings.home / "run" / f"{name}.pid").read_text()) for name in ("api", "worker", "runner")}
    cpu, wall = {name: platform_clients.cpu_seconds(pid) for name, pid in pids.items()}, time.monotonic()
    time.sleep(args.seconds)
    elapsed = time.monotonic() - wall
    shares = {name: (platform_clients.cpu_seconds(pid) - cpu[name]) / elapsed for name, pid in pids.items()}
    each = ", ".join(f"{name} {share * 100:.2f}%" for name, share in shares.items())
    print(f"platform CPU while idle with {args.apps} apps ({args.running} running): "
          f"{sum(shares.values()) * 100:.2f}% of a core ({each}; target < 2%)", flush=True)

    timings = []
    for run in range(3):
        platform_clients.git(app_dir, "commit", "-q", "--allow-empty", "-m", f"redeploy {run}", timeout=60)
        started = time.monotonic()
        pushed = platform_clients.git(app_dir, "push", platform.remote(names[0]), "main", timeout=300)
        if pushed.returncode != 0:
            raise SystemExit(f"redeploy failed:\n{pushed.stderr}")
        timings.append(time.monotonic() - started)
    print(f"push-to-live of one app among them (git push until live): median {statistics.median(timings):.2f} s", flush=True)

if __name__ == "__main__":
    main()
