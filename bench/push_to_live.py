"""Push-to-live and rollback timings against the running platform (`make up` first; `make bench` does).

- push to live: from the start of `git push` of a no-change redeploy (an empty commit) of the
  sample app until the router serves the new release's container (the X-Container header).
- rollback: from the rollback API call until the router serves the older release again.

While each deploy and rollback runs, two bounded load loops request the app through the router,
one opening a new connection per request and one reusing a keep-alive connection, and count
the requests that did not get a 200 (at most ~100 requests a second each, only to 127.0.0.1).

With --change each deploy commits a one-line change of a file instead (the build then does work).
With --phases each push also prints its timeline: every line of the build's output and of the
app's log, at the time it was written (Redis' stream ids), from the start of `git push`.

Prints each run and the medians. Usage: python bench/push_to_live.py [--runs N] [--change] [--phases]
"""

import argparse
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx
import platform_clients  # beside this script

from paas import logs
from paas.channels import connect
from paas.channels.output import LogStream

SAMPLE_APP = Path(__file__).resolve().parent.parent / "tests" / "e2e" / "sample_app"
TIMEOUT = 120


def git(cwd: Path, *args: str) -> subprocess.CompletedProcess:
    return platform_clients.git(cwd, *args, timeout=TIMEOUT)


def wait_until(router: httpx.Client, url: str, host: str, done, what: str) -> httpx.Response:
    deadline = time.monotonic() + TIMEOUT
    while time.monotonic() < deadline:
        try:
            response = router.get(url, headers={"Host": host})
            if done(response):
                return response
        except httpx.TransportError:
            pass
        time.sleep(0.01)
    raise SystemExit(f"timed out waiting for {what} at {host}")


def wait_for_body(router: httpx.Client, url: str, host: str, text: str) -> httpx.Response:
    return wait_until(router, url, host, lambda r: text in r.text, repr(text))


class Load:
    """Requests the app in a loop until stopped; counts answers that are not 200."""

    def __init__(self, url: str, host: str, keep_alive: bool):
        self.url, self.host, self.keep_alive = url, host, keep_alive
        self.sent = self.failed = 0
        self.errors: list[str] = []
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)

    def run(self) -> None:
        client = httpx.Client(timeout=5) if self.keep_alive else None
        deadline = time.monotonic() + TIMEOUT  # bounded even if nobody stops it
        while not self.stopping.is_set() and time.monotonic() < deadline:
            try:
                get = client.get if client else httpx.get
                status = get(self.url, headers={"Host": self.host}).status_code
                ok = status == 200
                error = f"HTTP {status}"
            except httpx.HTTPError as exc:
                ok, error = False, type(exc).__name__
            if not ok:
                self.errors.append(error)
            self.sent += 1
            self.failed += not ok
            time.sleep(0.01)
        if client:
            client.close()

    def __enter__(self) -> "Load":
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stopping.set()
        self.thread.join()


def timeline(platform: platform_clients.Platform, app: str, started: float, live: float) -> list[str]:
    """What the push's build printed and the app's log said between `started` and `live` (wall
    clock), each at its offset from `started`: where a push's time goes."""
    redis = connect(platform.settings)
    build = platform.api.get(f"/apps/{app}/builds", headers={"Range": "created_at ..; max=1, order=desc"}).json()[0]
    app_id = platform.api.get(f"/apps/{app}").json()["id"]
    low, high = f"{int(started * 1000)}-0", f"{int(live * 1000) + 1}-0"
    entries = [(entry_id, fields.get("line") or f"(end {fields.get('end')})")
               for entry_id, fields in redis.xrange(LogStream.for_build(redis, build["id"]).key, low, high)]
    entries += [(entry_id, f"{fields.get('source')}[{fields.get('dyno')}]: {fields.get('text', fields.get('line', ''))}")
                for entry_id, fields in redis.xrange(logs.key(app_id), low, high) if fields.get("source") != "app"]
    entries.sort(key=lambda entry: tuple(int(part) for part in entry[0].split("-")))
    lines = [f"  {int(entry_id.split('-')[0]) / 1000 - started:6.3f} {text.strip()[:110]}" for entry_id, text in entries]
    return [*lines, f"  {live - started:6.3f} (the router serves the new release)"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--change", action="store_true", help="change a file in each deploy (not an empty commit)")
    parser.add_argument("--phases", action="store_true", help="print each push's timeline")
    options = parser.parse_args()
    runs = options.runs

    platform = platform_clients.connect()
    settings, api, router, router_url = platform.settings, platform.api, platform.router, platform.router_url
    name = f"bench-{secrets.token_hex(3)}"
    host = settings.app_host(name)
    api.post("/apps", json={"name": name}).raise_for_status()
    workdir = Path(tempfile.mkdtemp(prefix="paas-bench-"))
    remote = platform.remote(name)
    try:
        app_dir = platform_clients.checkout(SAMPLE_APP, workdir / "app")
        first = git(app_dir, "push", remote, "main")
        if first.returncode != 0:
            raise SystemExit(f"first push failed:\n{first.stderr}")

        push_times, rollback_times, loads = [], [], []
        for run in range(1, runs + 1):
            # A no-change redeploy whose answer still tells the new release apart: GREETING=run-N.
            api.patch(f"/apps/{name}/config-vars", json={"GREETING": f"run-{run}"}).raise_for_status()
            before = wait_for_body(router, router_url, host, f"greeting=run-{run}").headers["X-Container"]
            if options.change:
                (app_dir / "NOTES").write_text(f"deploy {run}\n")
                git(app_dir, "add", "NOTES")
            git(app_dir, "commit", "-q", "--allow-empty", "-m", f"redeploy {run}")
            with Load(router_url, host, False) as fresh, Load(router_url, host, True) as kept:
                started, wall = time.monotonic(), time.time()
                pushed = git(app_dir, "push", remote, "main")
                if pushed.returncode != 0:
                    raise SystemExit(f"push failed:\n{pushed.stderr}")
                git_seconds = time.monotonic() - started
                # The same code and config: only a new container (the new release) tells it apart.
                wait_until(router, router_url, host, lambda r, before=before: r.headers.get("X-Container") != before, "a new container")
                push_times.append(time.monotonic() - started)
                if options.phases:
                    print("\n".join(timeline(platform, name, wall, wall + push_times[-1])), flush=True)
                time.sleep(0.5)  # keep the load on while the old container is stopped
            loads.append((fresh, kept))
            latest = api.get(f"/apps/{name}/releases", headers={"Range": "version ..; max=1, order=desc"}).json()[0]

            # Roll back to the config release before the push, then measure until it serves.
            api.patch(f"/apps/{name}/config-vars", json={"GREETING": f"after-{run}"}).raise_for_status()
            wait_for_body(router, router_url, host, f"greeting=after-{run}")
            with Load(router_url, host, False) as fresh, Load(router_url, host, True) as kept:
                started = time.monotonic()
                api.post(f"/apps/{name}/releases", json={"release": latest["version"]}).raise_for_status()
                wait_for_body(router, router_url, host, f"greeting=run-{run}")
                rollback_times.append(time.monotonic() - started)
                time.sleep(0.5)
            loads.append((fresh, kept))
            print(f"run {run}: push-to-live {push_times[-1]:.2f} s (git push returned after {git_seconds:.2f} s), rollback {rollback_times[-1]:.2f} s", flush=True)

        print(f"push-to-live median of {runs}: {statistics.median(push_times):.2f} s (target < 3 s)")
        print(f"rollback median of {runs}:     {statistics.median(rollback_times):.2f} s (target < 1.5 s)")
        fresh_sent, fresh_failed = sum(f.sent for f, _ in loads), sum(f.failed for f, _ in loads)
        kept_sent, kept_failed = sum(k.sent for _, k in loads), sum(k.failed for _, k in loads)
        print(f"failed requests during deploys and rollbacks: {fresh_failed} of {fresh_sent} (new connection each), "
              f"{kept_failed} of {kept_sent} (keep-alive)")
        errors = sorted({e for f, k in loads for e in f.errors + k.errors})
        if errors:
            print(f"kinds of failure: {', '.join(errors)}")
    finally:
        api.delete(f"/apps/{name}")
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
