"""What every benchmark needs of the running platform: its settings, the admin's API client, a
router client, and the git remote of an app."""

import os
import re
import shutil
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from paas.settings import Settings


@dataclass
class Platform:
    settings: Settings
    token: str
    api: httpx.Client
    router: httpx.Client
    router_url: str

    def remote(self, app: str) -> str:
        return f"http://bench:{self.token}@{self.settings.api_url.removeprefix('http://')}/{app}.git"


def connect() -> Platform:
    settings = Settings()
    token = settings.admin_token_file.read_text().strip()
    api = httpx.Client(base_url=settings.api_url, headers={"Authorization": f"Bearer {token}"}, timeout=30)
    router_url = f"http://{settings.router_host}:{settings.router_port}/"
    return Platform(settings, token, api, httpx.Client(timeout=5), router_url)


def cpu_seconds(pid: int, thread: str | None = None) -> float:
    """CPU time (user + system) of a process, or of its threads of that name (paas.threads)."""
    stats = [Path(f"/proc/{pid}/stat")] if thread is None else [
        task / "stat" for task in Path(f"/proc/{pid}/task").iterdir() if (task / "comm").read_text().strip() == thread]
    if not stats:
        raise SystemExit(f"process {pid} has no thread named {thread}")
    ticks = sum(int(fields[11]) + int(fields[12]) for fields in (s.read_text().rsplit(")", 1)[1].split() for s in stats))
    return ticks / os.sysconf("SC_CLK_TCK")


def git(cwd: Path, *args: str, timeout: float) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["git", "-c", "user.email=bench@paas.localhost", "-c", "user.name=bench", *args],
        cwd=cwd, capture_output=True, text=True, timeout=timeout,
    )


def checkout(source: Path, dest: Path) -> Path:
    """A git repository at `dest` holding a copy of the app at `source`, committed on main."""
    shutil.copytree(source, dest)
    for command in (("init", "-q", "-b", "main"), ("add", "-A"), ("commit", "-qm", "first")):
        git(dest, *command, timeout=60)
    return dest


@contextmanager
def many_apps(api, prefix: str, count: int):
    """`count` new apps (no code) named `<prefix>-<i>`, deleted at the end: their names."""
    names = [f"{prefix}-{i}" for i in range(count)]
    try:
        started = time.monotonic()
        with ThreadPoolExecutor(8) as pool:
            list(pool.map(lambda n: api.post("/apps", json={"name": n}).raise_for_status(), names))
        print(f"created {count} apps in {time.monotonic() - started:.1f} s", flush=True)
        yield names
    finally:
        with ThreadPoolExecutor(8) as pool:
            list(pool.map(lambda n: api.delete(f"/apps/{n}"), names))


PUSH_TO_LIVE_MEDIAN = re.compile(r"^push-to-live median of \d+: ([0-9.]+) s")


def push_to_live(runs: int, *options: str, env: dict[str, str] | None = None) -> tuple[float, list[str]]:
    """push_to_live.py run on its own (`env` over this environment: another platform's ports):
    its push-to-live median, and the lines it printed."""
    done = subprocess.run([sys.executable, str(Path(__file__).with_name("push_to_live.py")), *options, "--runs", str(runs)],
                          capture_output=True, text=True, timeout=1800, env={**os.environ, **(env or {})})
    lines = done.stdout.splitlines()
    found = [m.group(1) for line in lines if (m := PUSH_TO_LIVE_MEDIAN.match(line))]
    if done.returncode != 0 or not found:
        raise SystemExit(f"push_to_live.py failed:\n{done.stdout}\n{done.stderr}")
    return float(found[0]), lines
