"""The runner process refuses, in one line, a swarm backend on an engine that is no swarm manager."""

import os
import subprocess
import sys

import docker
import pytest

from paas.runner.__main__ import not_a_swarm_manager

ENGINE = "unix:///var/run/docker.sock"


def test_a_swarm_manager_passes():
    manager = {"Swarm": {"LocalNodeState": "active", "ControlAvailable": True}}
    assert not_a_swarm_manager(manager, ENGINE) is None


@pytest.mark.parametrize("swarm, says", [
    ({"LocalNodeState": "inactive", "ControlAvailable": False}, "is in no swarm (swarm state: inactive)"),
    ({"LocalNodeState": "active", "ControlAvailable": False}, "is a swarm worker"),
    ({"LocalNodeState": "pending", "ControlAvailable": False}, "is in no swarm (swarm state: pending)"),
    (None, "is in no swarm (swarm state: inactive)"),
])
def test_anything_else_is_refused_with_the_reason(swarm, says):
    problem = not_a_swarm_manager({"Swarm": swarm}, ENGINE)
    assert problem is not None and says in problem and ENGINE in problem and "docker swarm init" in problem


def test_a_swarm_runner_on_an_engine_that_is_no_manager_exits_with_one_line(tmp_path):
    client = docker.from_env()
    try:
        if client.info()["Swarm"].get("ControlAvailable"):
            pytest.skip("this engine is a swarm manager now (a swarm test is running)")
    finally:
        client.close()
    # Nothing of the running platform's: were the check missing, this runner would find no Redis,
    # Postgres or Caddy and loop with tracebacks (and the timeout below fail the test).
    closed = "127.0.0.1:9"
    env = {
        **os.environ, "PAAS_RUNNER_BACKEND": "swarm", "PAAS_DOCKER_URL": ENGINE, "PAAS_HOME": str(tmp_path),
        "PAAS_INSTANCE": "paas-test-main", "PAAS_REDIS_URL": f"redis://{closed}/0",
        "PAAS_DATABASE_URL": f"postgresql+psycopg://x:x@{closed}/x", "PAAS_CADDY_ADMIN_URL": f"http://{closed}",
        "PAAS_LOG_COLLECTOR": "127.0.0.1:0",
    }
    done = subprocess.run([sys.executable, "-m", "paas.runner"], env=env, cwd=tmp_path, capture_output=True, text=True,
                          timeout=30)
    assert done.returncode == 1
    lines = (done.stdout + done.stderr).strip().splitlines()
    assert len(lines) == 1, lines
    assert lines[0].startswith("paas runner: PAAS_RUNNER_BACKEND=swarm needs a swarm manager") and "in no swarm" in lines[0]
