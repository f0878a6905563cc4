"""The log collector with real processes: Docker's fluentd driver sends it their output, it
stores the lines per app, counts what an app writes past its rate, and keeps other
installations' lines out."""

import secrets
import time

import docker
import pytest
import redis

from paas.logs import LogStore, key
from paas.runner.backend import ProcessSpec
from paas.runner.docker_backend import DockerBackend
from paas.runner.log_collector import Bucket, LogCollector
from paas.settings import Settings
from tests.conftest import free_port


@pytest.fixture
def world(api_settings):
    address = f"127.0.0.1:{free_port()}"
    collector = LogCollector(api_settings.redis_url, address, "paas-test", max_lines=1000, rate=200)
    collector.start()
    client = redis.Redis.from_url(api_settings.redis_url, decode_responses=True)
    settings = Settings(instance="paas-test")
    backend = DockerBackend(docker.DockerClient(base_url=settings.docker_url), "paas-test", log_collector=address)
    app = "lc-" + secrets.token_hex(4)
    yield backend, app, f"{settings.registry}/{settings.stack_image}", LogStore(client, 1000)
    client.delete(key(app))


def run(backend, app, image, command: str) -> None:
    spec = ProcessSpec(app=app, release_id="r", version=1, process_type="run", index=1, image=image, command=command)
    assert backend.run_once(spec, timeout=60, emit=lambda line: None) == 0


def wait_for(probe, timeout=15):
    deadline = time.monotonic() + timeout
    while not (value := probe()) and time.monotonic() < deadline:
        time.sleep(0.1)
    return value


def test_stdout_and_stderr_lines_are_stored_with_their_dyno(world):
    backend, app, image, store = world
    run(backend, app, image, "echo hello; echo oops >&2; sleep 0.2; echo bye")
    lines = wait_for(lambda: (found := store.recent(app, 10)[0]) and len(found) == 3 and found)
    assert lines, store.recent(app, 10)[0]
    # stdout and stderr are separate pipes: their lines are ordered only within each
    assert sorted((l.source, l.dyno, l.text) for l in lines) == [("app", "run.1", t) for t in ("bye", "hello", "oops")]
    assert lines[-1].text == "bye"
    assert abs(lines[0].at - time.time()) < 30  # Docker's own timestamp


def test_past_its_rate_an_app_loses_lines_and_its_logs_say_how_many(world):
    backend, app, image, store = world
    run(backend, app, image, "seq 1 3000; sleep 1")  # (lines Docker still holds when a process ends are lost)
    notice = wait_for(lambda: [l for l in store.recent(app, 1000)[0] if l.dyno == "logplex"])
    assert notice and notice[0].source == "heroku" and notice[0].text.startswith("Error L10 (output buffer overflow): ")
    kept = [l for l in store.recent(app, 1000)[0] if l.dyno == "run.1"]
    dropped = int(notice[0].text.split(": ")[1].split(" ")[0])
    assert 200 <= len(kept) < 3000 and len(kept) + dropped == 3000, (len(kept), dropped)


def test_lines_of_another_installation_are_not_taken(world, api_settings):
    backend, app, image, store = world
    other = DockerBackend(backend.client, "paas-other", log_collector=backend.log_collector)
    run(other, app, image, "echo not mine")
    run(backend, app, image, "echo mine")
    lines = wait_for(lambda: store.recent(app, 10)[0])
    time.sleep(0.3)
    assert [l.text for l in store.recent(app, 10)[0]] == ["mine"]


def test_the_bucket_refills_at_its_rate():
    bucket = Bucket(rate=10)
    assert sum(bucket.take() for _ in range(30)) == 10 and bucket.dropped == 20
    time.sleep(0.25)
    assert 1 <= sum(bucket.take() for _ in range(30)) <= 4
