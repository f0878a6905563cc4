"""`paas metrics` and GET /apps/{app}/metrics against the running platform: requests through the
router and the dyno's cgroup, collected by the runner, come back as points and as rows."""

import re
import time

import httpx
import pytest

from paas.settings import Settings
from tests.cli.conftest import paas
from tests.cli.test_main import git, git_repo, paas_json

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("env")]


def test_requests_and_a_dynos_memory_become_metrics(app_name, token, env):
    repo = git_repo(env / "app")
    settings = Settings()
    remote = f"http://paas:{token}@{settings.api_url.removeprefix('http://')}/{app_name}.git"
    git("push", "-q", remote, "main", cwd=repo)
    router = f"http://{settings.router_host}:{settings.router_port}"
    for path in ("/",) * 12 + ("/missing",) * 3:  # 200s and 404s (http.server's)
        httpx.get(router + path, headers={"Host": settings.app_host(app_name)}, timeout=10)

    def collected() -> list[dict]:
        return [p for p in paas_json("metrics", "-a", app_name, "--since", "5m")["points"] if p["requests"]]

    deadline = time.monotonic() + 40  # a 10-s bucket closes, then the collector writes it
    while sum(p["requests"]["2xx"] + p["requests"]["4xx"] for p in collected()) < 15 and time.monotonic() < deadline:
        time.sleep(1)
    points = collected()
    assert sum(p["requests"]["2xx"] for p in points) == 12 and sum(p["requests"]["4xx"] for p in points) == 3, points
    assert all(p["response_time_ms"]["p50"] is None or p["response_time_ms"]["p50"] > 0 for p in points)
    assert any(p["memory_bytes"]["max"] and p["memory_bytes"]["max"] > 2**20 for p in points)  # the dyno's cgroup
    rows = paas("metrics", "-a", app_name, "--since", "5m")
    # A row per point with requests (the 15 may fall in two 10-s buckets).
    assert rows.exit_code == 0 and re.search(r"\b\d+/0/\d+/0\b", rows.output) and "MB" in rows.output, rows.output
    refused = paas("metrics", "-a", app_name, "--since", "soon")
    assert refused.exit_code != 0 and "--since is a number and a unit" in refused.output
