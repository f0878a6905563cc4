"""Scaling and the router's cost (`make up` first; needs `wrk`, which `make bench` installs).

- scale: web 1 -> 10, from the PATCH until the router has answered from all ten instances;
- router overhead: wrk (only to 127.0.0.1 and the app's own container address) through the
  router vs. straight to the one instance of a static app (nginx, from the static buildpack:
  HTTP/1.1 keep-alive and a deep listen backlog, so the app is not what limits the numbers, as
  the Python sample app's HTTP/1.0 server with its backlog of 5 is): one connection at a time
  (the router's own latency, p50/p99), then 10 connections on 2 threads (throughput, when the
  2 cores are shared by wrk, Caddy and the app).

Usage: python bench/scale_and_router.py [--runs 3]
"""

import argparse
import re
import secrets
import shutil
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

import httpx
import platform_clients  # beside this script

SAMPLE_APP = Path(__file__).resolve().parent.parent / "tests" / "e2e" / "sample_app"
STATIC_APP = Path(__file__).resolve().parent.parent / "tests" / "e2e" / "apps" / "static"


def instances_answering(platform, host: str, tries: int = 60) -> set[str]:
    seen = set()
    for _ in range(tries):
        response = httpx.get(platform.router_url, headers={"Host": host}, timeout=5)
        if response.status_code == 200:
            seen.add(response.headers["X-Container"])
    return seen


def wrk(url: str, host: str | None, connections: int) -> dict[str, float]:
    command = ["wrk", f"-t{min(2, connections)}", f"-c{connections}", "-d5s", "--latency", url]
    if host:
        command[1:1] = ["-H", f"Host: {host}"]
    out = subprocess.run(command, capture_output=True, text=True, timeout=60, check=True).stdout
    unit = {"us": 1e-3, "ms": 1.0, "s": 1e3}

    def latency(percent: str) -> float:
        value, scale = re.search(rf"^\s+{percent}%\s+([\d.]+)(us|ms|s)$", out, re.MULTILINE).groups()
        return float(value) * unit[scale]

    return {"rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)), "p50": latency("50"), "p99": latency("99")}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    runs = parser.parse_args().runs
    platform = platform_clients.connect()
    api, settings = platform.api, platform.settings
    name = f"bench-scale-{secrets.token_hex(3)}"
    host = settings.app_host(name)
    api.post("/apps", json={"name": name}).raise_for_status()
    workdir = Path(tempfile.mkdtemp(prefix="paas-bench-"))
    try:
        app_dir = platform_clients.checkout(SAMPLE_APP, workdir / "app")
        if platform_clients.git(app_dir, "push", platform.remote(name), "main", timeout=300).returncode != 0:
            raise SystemExit("the first push failed")
        timings = []
        for run in range(1, runs + 1):
            started = time.monotonic()
            api.patch(f"/apps/{name}/formation/web", json={"quantity": 10}).raise_for_status()
            while len(instances_answering(platform, host)) < 10:
                if time.monotonic() - started > 120:
                    raise SystemExit("ten instances did not answer within 120 s")
            timings.append(time.monotonic() - started)
            print(f"run {run}: web 1 -> 10 routed in {timings[-1]:.2f} s", flush=True)
            api.patch(f"/apps/{name}/formation/web", json={"quantity": 1}).raise_for_status()
            while len(instances_answering(platform, host, 20)) > 1 or len(api.get(f"/apps/{name}/dynos").json()) > 1:
                time.sleep(0.5)
        print(f"scale web 1 -> 10 until all ten are routed: median {statistics.median(timings):.2f} s (target < 5 s)")

        api.delete(f"/apps/{name}").raise_for_status()
        name = f"bench-router-{secrets.token_hex(3)}"
        host = settings.app_host(name)
        api.post("/apps", json={"name": name}).raise_for_status()
        static_dir = platform_clients.checkout(STATIC_APP, workdir / "static")
        if platform_clients.git(static_dir, "push", platform.remote(name), "main", timeout=300).returncode != 0:
            raise SystemExit("the static app's push failed")
        [dyno] = api.get(f"/apps/{name}/dynos").json()
        address = next(line.split()[0] for line in (settings.router_hosts_dir / name).read_text().splitlines())
        for connections in (1, 10):
            direct = wrk(f"http://{address}:{settings.web_port}/", None, connections)
            routed = wrk(platform.router_url, host, connections)
            print(f"{connections} connection(s), straight to {dyno['name']}: {direct['rps']:.0f} req/s, "
                  f"p50 {direct['p50']:.2f} ms, p99 {direct['p99']:.2f} ms")
            print(f"{connections} connection(s), through the router:  {routed['rps']:.0f} req/s, "
                  f"p50 {routed['p50']:.2f} ms, p99 {routed['p99']:.2f} ms")
            print(f"{connections} connection(s), router overhead: p50 +{routed['p50'] - direct['p50']:.2f} ms (target < 1 ms), "
                  f"throughput {100 * (1 - routed['rps'] / direct['rps']):.1f}% lower (target < 5%)", flush=True)
    finally:
        api.delete(f"/apps/{name}")
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
