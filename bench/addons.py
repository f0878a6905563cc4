"""Add-on timings and memory against the running platform (`make up` first; `make bench` does).

- addons:create to serving: from the API call that creates a Postgres (then a Redis) add-on of a
  running app until the app, through the router, answers from the new DATABASE_URL (/db/read)
  or REDIS_URL (/redis/incr): provisioning, the release with the URL and its rollout.
- memory per idle Postgres add-on, two ways: a server per add-on (paas's design: the server's
  container memory, idle) and one shared server (what one more idle database and role in a
  server that runs already adds).

Prints each run and the medians. Usage: python bench/addons.py [--runs N]
"""

import argparse
import secrets
import shutil
import statistics
import tempfile
import time
from pathlib import Path

import docker
import platform_clients  # beside this script

BACKING_APP = Path(__file__).resolve().parent.parent / "tests" / "e2e" / "apps" / "backing"
TIMEOUT = 60


def serving(platform, host: str, path: str) -> float:
    started = time.monotonic()
    while time.monotonic() - started < TIMEOUT:
        try:
            if platform.router.get(platform.router_url.rstrip("/") + path, headers={"Host": host}).status_code == 200:
                return time.monotonic()
        except Exception:
            pass
        time.sleep(0.02)
    raise SystemExit(f"{host}{path} did not answer within {TIMEOUT} s")


def memory_mb(container) -> float:
    stats = container.stats(stream=False)["memory_stats"]
    used = stats["usage"] - stats.get("stats", {}).get("inactive_file", 0)  # what `docker stats` shows
    return used / 2**20


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    runs = parser.parse_args().runs
    platform = platform_clients.connect()
    settings, api = platform.settings, platform.api
    engine = docker.DockerClient(base_url=settings.docker_url)
    name = f"bench-{secrets.token_hex(3)}"
    host = settings.app_host(name)
    api.post("/apps", json={"name": name}).raise_for_status()
    workdir = Path(tempfile.mkdtemp(prefix="paas-bench-"))
    try:
        app_dir = platform_clients.checkout(BACKING_APP, workdir / "app")
        pushed = platform_clients.git(app_dir, "push", platform.remote(name), "main", timeout=600)
        if pushed.returncode != 0:
            raise SystemExit(f"push failed:\n{pushed.stderr}")
        timings: dict[str, list[float]] = {"postgresql": [], "redis": []}
        for run in range(1, runs + 1):
            for service, path in (("postgresql", "/db/read"), ("redis", "/redis/incr")):
                started = time.monotonic()
                made = api.post(f"/apps/{name}/addons", json={"plan": service})
                made.raise_for_status()
                timings[service].append(serving(platform, host, path) - started)
                if run < runs:
                    api.delete(f"/apps/{name}/addons/{made.json()['name']}").raise_for_status()
            print(f"run {run}: postgresql {timings['postgresql'][-1]:.2f} s, redis {timings['redis'][-1]:.2f} s to serving", flush=True)
        print(f"addons:create to serving, median of {runs}: postgresql {statistics.median(timings['postgresql']):.2f} s "
              f"(target < 10 s), redis {statistics.median(timings['redis']):.2f} s (target < 5 s)")

        time.sleep(5)  # idle
        servers = {a["addon_service"]["name"]: engine.containers.get(f"{settings.instance}-addon-{a['name']}")
                   for a in api.get(f"/apps/{name}/addons").json()}
        per_server = memory_mb(servers["postgresql"])
        print(f"idle Postgres add-on, a server of its own: {per_server:.1f} MB; idle Redis add-on: {memory_mb(servers['redis']):.1f} MB")
        # The shared-server way, measured in that same server: ten more idle databases and roles.
        pg = servers["postgresql"]
        for i in range(10):
            for sql in (f"CREATE ROLE bench{i} LOGIN PASSWORD 'x{i}'", f"CREATE DATABASE bench{i} OWNER bench{i}"):
                pg.exec_run(["psql", "-q", "-d", "postgres", "-c", sql], user="postgres")
        time.sleep(3)
        shared = (memory_mb(pg) - per_server) / 10
        print(f"idle Postgres add-on, a database and role in a shared server: {shared:.2f} MB each (10 added)")
    finally:
        api.delete(f"/apps/{name}")
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
