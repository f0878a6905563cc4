"""Cold and warm push-to-live of the Flask sample built by the python buildpack (`make up` first).

- cold: a new app (empty build cache), from the start of `git push` until the router serves it;
- warm: a second push of the same app that changes one line of code (requirements unchanged);
- size: how much bigger the app's image is than the stack's run image it is built on.

Prints each run and the medians. Usage: python bench/buildpack_push.py [--runs N]
"""

import argparse
import secrets
import shutil
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

import docker
import httpx
import platform_clients  # beside this script

FLASK_APP = Path(__file__).resolve().parent.parent / "tests" / "e2e" / "apps" / "flask"
TIMEOUT = 300


def git(cwd: Path, *args: str) -> subprocess.CompletedProcess:
    return platform_clients.git(cwd, *args, timeout=TIMEOUT)


def push_until_served(app_dir: Path, remote: str, router: httpx.Client, url: str, host: str, text: str) -> float:
    started = time.monotonic()
    pushed = git(app_dir, "push", remote, "main")
    if pushed.returncode != 0:
        raise SystemExit(f"push failed:\n{pushed.stderr}")
    deadline = started + TIMEOUT
    while time.monotonic() < deadline:
        try:
            if text in router.get(url, headers={"Host": host}).text:
                return time.monotonic() - started
        except httpx.TransportError:
            pass
        time.sleep(0.01)
    raise SystemExit(f"timed out waiting for {text!r} at {host}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    runs = parser.parse_args().runs

    platform = platform_clients.connect()
    settings, api, router, url = platform.settings, platform.api, platform.router, platform.router_url
    engine = docker.DockerClient(base_url=settings.docker_url)
    cold, warm, growth = [], [], []
    for run in range(1, runs + 1):
        name = f"bench-bp-{secrets.token_hex(3)}"
        api.post("/apps", json={"name": name}).raise_for_status()
        remote = platform.remote(name)
        workdir = Path(tempfile.mkdtemp(prefix="paas-bench-"))
        try:
            app_dir = platform_clients.checkout(FLASK_APP, workdir / "app")
            cold.append(push_until_served(app_dir, remote, router, url, settings.app_host(name), "version=1"))
            (app_dir / "VERSION").write_text("2\n")
            git(app_dir, "commit", "-qam", "one line of code")
            warm.append(push_until_served(app_dir, remote, router, url, settings.app_host(name), "version=2"))
            app = api.get(f"/apps/{name}").json()
            release = api.get(f"/apps/{name}/releases", headers={"Range": "version ..; order=desc, max=1"}).json()[0]
            image = engine.images.get(release["image"])
            base = engine.images.get(f"paas/stack:{app['stack']['name']}")
            growth.append((image.attrs["Size"] - base.attrs["Size"]) / 2**20)
            print(f"run {run}: cold {cold[-1]:.2f} s, warm {warm[-1]:.2f} s, image +{growth[-1]:.1f} MB "
                  f"over paas/stack:{app['stack']['name']} (slug {app['slug_size'] / 2**20:.1f} MB compressed)", flush=True)
        finally:
            api.delete(f"/apps/{name}")
            shutil.rmtree(workdir, ignore_errors=True)
    print(f"median cold push-to-live: {statistics.median(cold):.2f} s (target < 10 s)")
    print(f"median warm push-to-live: {statistics.median(warm):.2f} s (target < 2 s)")
    print(f"median image growth over the run image: {statistics.median(growth):.1f} MB (target <= 30 MB)")


if __name__ == "__main__":
    main()
