"""Builds on more than one machine: a second Celery worker, started as one would on another host
(the same broker, database and registry), takes build tasks and releases what it built."""

import os
import socket
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from paas.domain.db import make_sessionmaker
from paas.domain.models import Build
from tests.e2e.conftest import eventually
from tests.swarm_nodes import stop_process

pytestmark = pytest.mark.e2e
ROOT = Path(__file__).resolve().parents[2]


def test_a_second_worker_takes_builds(settings, api, checkout, app_name, router, tmp_path):
    home = settings.home.resolve()
    stop_process(home / "run" / "worker.pid")  # only the second worker is left to take the build
    log = open(tmp_path / "second-worker.log", "ab")
    second = subprocess.Popen(
        [str(Path(sys.executable).with_name("celery")), "-A", "paas.builder.tasks", "worker", "--loglevel=INFO",
         "--pool=threads", "--concurrency=1", "--without-gossip", "--without-mingle", "--hostname", "second@%h"],
        env={**os.environ, "PAAS_HOME": str(home)}, stdout=log, stderr=log, start_new_session=True,
        umask=0o077,  # as scripts/platform.sh starts the platform's processes: their files are private
    )
    celery = str(Path(sys.executable).with_name("celery"))
    try:
        eventually(lambda: subprocess.run([celery, "-A", "paas.builder.tasks", "inspect", "ping", "-d", f"second@{socket.gethostname()}",
                                           "--timeout", "1"], capture_output=True, env={**os.environ, "PAAS_HOME": str(home)}).returncode == 0,
                   60, "the second worker to answer")
        pushed = checkout.push()
        assert pushed.returncode == 0, pushed.stderr
        [build] = api.get(f"/apps/{app_name}/builds").json()
        assert eventually(lambda: api.get(f"/apps/{app_name}/builds/{build['id']}").json()["status"] == "succeeded", 30)
        assert router.get(app_name).status_code == 200
        with make_sessionmaker(settings)() as db:
            taken_by = db.get(Build, uuid.UUID(build["id"])).worker  # host:thread of the worker that built it
        host, _, thread = taken_by.partition(":")
        assert host == socket.gethostname() and Path(f"/proc/{second.pid}/task/{thread}").exists(), taken_by
    finally:
        os.killpg(second.pid, 15)
        second.wait(60)
        subprocess.run([str(ROOT / "scripts" / "platform.sh"), "up"], env={**os.environ, "PAAS_HOME": str(home)},
                       capture_output=True, timeout=180)
