"""Builds queue for the workers there are, and a worker that dies mid-build fails its push promptly."""

import os
import signal
import subprocess
import threading
import time
import uuid
from pathlib import Path

import pytest

pytestmark = pytest.mark.e2e

from tests.e2e.conftest import SAMPLE_APP

ROOT = Path(__file__).resolve().parents[2]


def test_three_pushes_at_once_on_two_build_slots_all_go_live(new_app, router):
    checkouts = [new_app(SAMPLE_APP) for _ in range(3)]
    for _name, checkout in checkouts:
        # A slower build, so that the three really overlap (a fresh step each run: no layer cache).
        step = f"RUN echo {uuid.uuid4().hex} && sleep 3\n"
        checkout.write("Dockerfile", checkout.path.joinpath("Dockerfile").read_text() + step)
        checkout.commit("slow build")
    results = {}

    def push(name, checkout):
        results[name] = checkout.push()

    threads = [threading.Thread(target=push, args=pair) for pair in checkouts]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(300)
    for name, _checkout in checkouts:
        assert results[name].returncode == 0, results[name].stderr
        assert router.get(name).text == "sample-app version=1 greeting=\n"
    waited = [r for r in results.values() if "Waiting for a build worker" in r.stderr]
    assert waited, "with two build slots one of three pushes must have queued"


def worker_pid(settings) -> int:
    return int((settings.home / "run" / "worker.pid").read_text())


def test_a_worker_killed_mid_build_fails_that_push_promptly_and_the_next_push_works(new_app, router, settings):
    name, checkout = new_app(SAMPLE_APP)
    checkout.write("Dockerfile", checkout.path.joinpath("Dockerfile").read_text() + f"RUN echo long step {uuid.uuid4().hex} && sleep 120\n")
    checkout.commit("a build that takes long")
    push = subprocess.Popen(
        ["git", "push", checkout.remote, "main"], cwd=checkout.path, stderr=subprocess.PIPE, text=True,
        env={**os.environ, "GIT_TERMINAL_PROMPT": "0"},
    )
    seen = []
    for line in push.stderr:
        seen.append(line)
        if "long step" in line:
            break
    assert any("long step" in line for line in seen), "".join(seen)
    killed_at = time.monotonic()
    os.killpg(worker_pid(settings), signal.SIGKILL)  # the worker and its build processes, no goodbye
    try:
        _, rest = push.communicate(timeout=90)
        elapsed = time.monotonic() - killed_at
        assert push.returncode != 0
        assert "build worker was lost" in rest, rest
        assert elapsed < 45, f"the push took {elapsed:.0f} s to learn that its worker was lost"
        assert "refs/heads/main" not in checkout.remote_refs()
    finally:
        subprocess.run([str(ROOT / "scripts" / "platform.sh"), "up"], check=True, capture_output=True,
                       env={**os.environ, "PAAS_HOME": str(settings.home)})
    # The worker is back: a normal push works, and the killed build never goes live.
    checkout.write("Dockerfile", (ROOT / "tests/e2e/sample_app/Dockerfile").read_text())
    checkout.commit("normal build")
    result = checkout.push()
    assert result.returncode == 0, result.stderr
    assert router.get(name).text == "sample-app version=1 greeting=\n"
