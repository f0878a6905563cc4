"""The log collector with real processes: Docker's fluentd driver sends it their output, it
stores the lines per app, counts what an app writes past its rate, and keeps other
installations' lines out."""

import os
import secrets
import time
from pathlib import Path

import docker
import pytest
import redis

from paas.logs import LogFilter, LogStore, key, router_key
from paas.runner.backend import ProcessSpec
from paas.runner.containers import Containers
from paas.runner.log_collector import Bucket, LogCollector
from paas.settings import Settings
from tests.conftest import free_port
from tests.waiting import wait_until


@pytest.fixture
def world(api_settings):
    address = f"127.0.0.1:{free_port()}"
    collector = LogCollector(api_settings.redis_url, address, "paas-test", max_lines=1000, rate=200)
    collector.start()
    client = redis.Redis.from_url(api_settings.redis_url, decode_responses=True)
    settings = Settings(instance="paas-test")
    backend = Containers(docker.DockerClient(base_url=settings.docker_url), "paas-test", log_collector=address,
                         registry_auth=Settings().registry_auth("runner"))
    app = "lc-" + secrets.token_hex(4)
    yield backend, app, f"{settings.registry}/{settings.stack_image}", LogStore(client, 1000)
    client.delete(key(app))


def run(backend, app, image, command: str) -> None:
    spec = ProcessSpec(app=app, app_id=app, release_id="r", version=1, process_type="run", index=1, image=image, command=command)
    assert backend.run_once(spec, timeout=60, emit=lambda line: None) == 0


def wait_for(probe, timeout=15):
    return wait_until(probe, timeout, "the lines", interval=0.1)


def reading_at_its_end(path: Path) -> bool:
    """The collector (a thread of this process) has `path` open at its end, so it reads what is
    written next: one of our open files is that file, its offset the file's size."""
    name, size = str(path.resolve()), path.stat().st_size
    for fd in os.listdir("/proc/self/fd"):
        try:
            if os.readlink(f"/proc/self/fd/{fd}") == name:
                label, offset = Path(f"/proc/self/fdinfo/{fd}").read_text().split()[:2]  # "pos: <offset>" first
                if label == "pos:" and int(offset) == size:
                    return True
        except OSError:  # closed meanwhile
            continue
    return False


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
    other = Containers(backend.client, "paas-other", log_collector=backend.log_collector,
                       registry_auth=Settings().registry_auth("runner"))
    run(other, app, image, "echo not mine")
    run(backend, app, image, "echo mine")
    lines = wait_for(lambda: store.recent(app, 10)[0])
    time.sleep(0.3)  # inherent: proving the other installation's line never comes takes a window
    assert [l.text for l in store.recent(app, 10)[0]] == ["mine"]


def test_the_bucket_refills_at_its_rate():
    bucket = Bucket(rate=10)
    assert sum(bucket.take() for _ in range(30)) == 10 and bucket.dropped == 20
    time.sleep(0.25)  # inherent: the refill is what is measured
    assert 1 <= sum(bucket.take() for _ in range(30)) <= 4


def test_router_lines_are_read_on_across_a_roll_over_and_from_where_the_last_runner_stopped(api_settings, tmp_path):
    from paas.router.access_log import AccessLogParser
    from tests.router.test_access_log import entries

    client = redis.Redis.from_url(api_settings.redis_url, decode_responses=True)
    client.delete(key("id-shop"), router_key("id-shop"), "paas:router-log:position")
    log_file = tmp_path / "access.log"
    log_file.write_text("\n".join(entries(1, "10.0.0.7:5000", uri="/old")) + "\n")  # before the collector: not replayed

    def start():
        collector = LogCollector(api_settings.redis_url, f"127.0.0.1:{free_port()}", "paas-test", max_lines=1000, rate=1000,
                                 router_log=log_file, parser=AccessLogParser("localhost", "127.0.0.2", lambda app, address: "web.1"),
                                 app_id_of=lambda name: f"id-{name}")
        collector.start()

    def write(path, uri):
        with open(path, "a") as file:
            file.write("\n".join(entries(2, "10.0.0.7:5000", uri=uri)) + "\n")

    store = LogStore(client, 1000)
    paths = lambda: [l.text.split('path="')[1].split('"')[0] for l in store.recent("id-shop", 100)[0]]
    start()
    wait_until(lambda: reading_at_its_end(log_file), 10, "the collector reading the log file from its end")
    write(log_file, "/one")
    assert wait_for(lambda: paths() == ["/one"]), paths()
    write(log_file, "/two")
    log_file.rename(tmp_path / "access-1.log")  # Caddy rolls the file over...
    write(log_file, "/three")  # ...and goes on in a new one
    assert wait_for(lambda: paths() == ["/one", "/two", "/three"]), paths()
    client.delete(key("id-shop"), router_key("id-shop"))


def test_a_flood_of_requests_takes_nothing_of_the_apps_own_log_budget(world, api_settings, tmp_path):
    """The router's lines of an app have a rate and a store of their own: past their rate they
    are dropped and counted among the router's lines, and the app's own lines all come through."""
    from paas.router.access_log import AccessLogParser
    from tests.router.test_access_log import entries

    backend, app, image, store = world
    client = store.client
    client.delete(router_key(app), "paas:router-log:position")
    log_file = tmp_path / "access.log"
    log_file.touch()  # as Caddy makes it when its configuration is loaded, before the runner starts this
    collector = LogCollector(api_settings.redis_url, f"127.0.0.1:{free_port()}", "paas-test", max_lines=1000, rate=200,
                             router_rate=50, router_log=log_file,
                             parser=AccessLogParser("localhost", "127.0.0.2", lambda name, address: "web.1"),
                             app_id_of=lambda name: app if name == "flooded" else None)
    collector.start()
    try:
        wait_until(lambda: reading_at_its_end(log_file), 10, "the collector reading the log file")
        with open(log_file, "a") as file:  # 1,000 requests at once: 20 times the router's rate
            file.write("\n".join(raw for port in range(1000) for raw in entries(port, "10.0.0.7:5000", host="flooded.localhost:8080")) + "\n")
        notice = wait_for(lambda: [l for l in store.recent(app, 2000, LogFilter(dyno="router"))[0] if l.text.startswith("Error L10")])
        assert notice and "router messages dropped since" in notice[0].text, store.recent(app, 5)[0]
        routed = [l for l in store.recent(app, 2000, LogFilter(dyno="router"))[0] if l.text.startswith("at=info")]
        dropped = int(notice[0].text.split(": ")[1].split(" ")[0])
        assert 50 <= len(routed) < 1000 and len(routed) + dropped == 1000, (len(routed), dropped)
        # Meanwhile the app's own lines, within its own rate, all come through.
        run(backend, app, image, "seq 1 150")
        own = wait_for(lambda: len(found := store.recent(app, 1000, LogFilter(source="app"))[0]) == 150 and found)
        assert own and [l.text for l in own] == [str(i) for i in range(1, 151)]
        assert client.xlen(key(app)) == 150  # and none of the router's lines, nor their drop notice, among them
    finally:
        client.delete(router_key(app), "paas:router-log:position")
