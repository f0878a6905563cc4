"""The Docker backend against the real engine, with the stack image from the real registry."""

import secrets
import socket
import struct
import threading
import time

import docker
import httpx
import pytest

from paas.runner.backend import ProcessSpec
from paas.runner.containers import _relay_output
from paas.runner.docker_backend import DockerBackend
from paas.settings import Settings
from tests.waiting import wait_until

SERVER = (
    "import http.server, os\n"
    "class H(http.server.BaseHTTPRequestHandler):\n"
    "    def do_GET(self):\n"
    "        body = (os.environ['MESSAGE'] + ' ' + os.environ['DYNO']).encode()\n"
    "        self.send_response(200); self.end_headers(); self.wfile.write(body)\n"
    "print('booting', flush=True)\n"
    "http.server.HTTPServer(('', int(os.environ['PORT'])), H).serve_forever()\n"
)


@pytest.fixture
def backend():
    settings = Settings(instance="paas-test")
    backend = DockerBackend.from_settings(settings)
    app = "rt-" + secrets.token_hex(4)
    yield backend, app, f"{settings.registry}/{settings.stack_image}"
    for process in backend.processes(app):
        backend.stop(process, 0)


def test_start_list_refresh_logs_and_stop(backend):
    backend, app, image = backend
    release_id = secrets.token_hex(16)
    # The server's source travels as a config var so the command needs no shell quoting.
    [process] = backend.start([
        ProcessSpec(
            app=app, app_id=app, release_id=release_id, version=7, process_type="web", index=1, image=image,
            command="python3 -u -c 'import os; exec(os.environ[\"SERVER\"])'",
            env={"MESSAGE": "hi", "SERVER": SERVER},
        )
    ])
    assert process.running and process.name == "web.1" and process.version == 7
    # Reached at its own address on the apps' network, on $PORT; nothing is published on the host.
    container = docker.from_env().containers.get(process.id)
    ip = container.attrs["NetworkSettings"]["Networks"][backend.containers.network]["IPAddress"]
    assert process.address == f"{ip}:5000" and not container.attrs["HostConfig"]["PortBindings"]

    deadline = time.monotonic() + 20
    while True:
        try:
            answer = httpx.get(f"http://{process.address}/", timeout=2)
            break
        except httpx.TransportError:
            assert time.monotonic() < deadline, "the container never answered"
            time.sleep(0.1)
    assert answer.text == "hi web.1"  # config vars and DYNO reach the process; PORT is honoured

    listed = backend.processes(app)
    assert [(p.id, p.release_id, p.address) for p in listed] == [(process.id, release_id, process.address)]
    assert backend.refresh(process) == process
    assert "booting" in backend.logs(process, tail=5)

    assert not any("docker.sock" in m.get("Source", "") for m in container.attrs["Mounts"])
    assert container.attrs["HostConfig"]["Init"] is True

    backend.stop(process, grace=5)
    assert backend.processes(app) == []
    assert backend.refresh(process) is None
    backend.stop(process, grace=5)  # stopping what is gone is fine


def test_app_containers_cannot_reach_each_other(backend):
    backend, app, image = backend
    processes = backend.start([
        ProcessSpec(
            app=app, app_id=app, release_id=secrets.token_hex(16), version=1, process_type="web", index=i, image=image,
            command="python3 -m http.server 5000",
        )
        for i in (1, 2)
    ])
    client = docker.from_env()
    first, second = (client.containers.get(p.id) for p in processes)
    assert first.attrs["HostConfig"]["NetworkMode"] == backend.containers.network
    second_ip = second.attrs["NetworkSettings"]["Networks"][backend.containers.network]["IPAddress"]
    probe = (
        "import socket, sys\n"
        "s = socket.socket(); s.settimeout(2)\n"
        f"sys.exit(s.connect_ex(('{second_ip}', 5000)))\n"
    )
    for target in (first, second):  # each reaches its own port, so the probe itself works
        deadline = time.monotonic() + 10
        while target.exec_run(["python3", "-c", probe.replace(second_ip, "127.0.0.1")]).exit_code != 0:
            assert time.monotonic() < deadline, "a container could not reach its own port"
            time.sleep(0.2)
    assert first.exec_run(["python3", "-c", probe]).exit_code != 0


def test_one_offs_of_a_runner_that_stopped_are_removed_and_running_ones_kept(backend):
    backend, app, image = backend
    engine = docker.from_env()
    stray = engine.containers.run(image, ["sleep", "600"], detach=True,
                                  labels={"paas.instance": "paas-test", "paas.app": app, "paas.one-off": "an-old-runner"})
    spec = ProcessSpec(app=app, app_id=app, release_id="r", version=1, process_type="run", index=1, image=image, command="sleep 3; echo done")
    seen = []
    running = threading.Thread(target=lambda: seen.append(backend.containers.run_once(spec, 30, seen.append)))
    running.start()
    own = [f"paas.app={app}", f"paas.one-off={backend.containers.one_off_label}"]
    wait_until(lambda: engine.containers.list(filters={"label": own, "status": "running"}, ignore_removed=True), 30, "the run's own container running")
    backend.containers.remove_stray_one_offs()
    with pytest.raises(docker.errors.NotFound):
        engine.containers.get(stray.id)
    running.join(30)
    assert seen == ["done", 0]  # its own run was left alone


def test_attached_output_is_taken_out_of_dockers_frames():
    ours, theirs = socket.socketpair()
    frames = b"".join(struct.pack(">BxxxI", stream, len(data)) + data for stream, data in ((1, b"out "), (2, b"err\n"), (1, b"x" * 70000)))
    got = []
    sender = threading_send(theirs, frames)
    _relay_output(ours, tty=False, output=got.append)
    sender.join()
    assert b"".join(got) == b"out err\n" + b"x" * 70000


def threading_send(sock, data: bytes):
    def send():
        for i in range(0, len(data), 5):  # in pieces that split headers and payloads
            sock.sendall(data[i:i + 5])
        sock.close()

    thread = threading.Thread(target=send)
    thread.start()
    return thread
