"""One-off runs end to end through the real `paas` CLI: output and exit code, stdin, an
interactive shell on a terminal, detached runs into the logs, and nothing left behind."""

import os
import pty
import select
import socket
import ssl
import subprocess
import sys
import time
import urllib.parse
import uuid
from pathlib import Path

import pytest
from websockets.sync.client import connect

from tests.e2e.conftest import eventually
from tests.e2e.test_logs import logged

pytestmark = pytest.mark.e2e

PAAS = str(Path(sys.executable).with_name("paas"))


@pytest.fixture
def deployed(api, checkout, app_name):
    assert checkout.push().returncode == 0
    api.patch(f"/apps/{app_name}/config-vars", json={"GREETING": "hello there"}).raise_for_status()
    return app_name


def paas(settings, token, *args, **kwargs) -> subprocess.CompletedProcess:
    env = {**os.environ, "PAAS_API_URL": settings.api_url, "PAAS_TOKEN": token}
    return subprocess.run([PAAS, *args], capture_output=True, text=True, env=env, timeout=120, **kwargs)


def one_offs(engine, app):
    return engine.containers.list(all=True, filters={"label": [f"paas.app={app}", "paas.one-off"]}, ignore_removed=True)


def test_an_attached_run_gets_output_stdin_and_exit_code_with_the_apps_env(deployed, settings, token, engine, api):
    result = paas(settings, token, "run", "-a", deployed, "--", 'echo "$GREETING from $DYNO"; cat; echo oops >&2; exit 7',
                  input="line one\nline two\n")
    assert result.returncode == 7, result
    assert result.stdout.startswith("hello there from run.") and "line one\nline two\n" in result.stdout
    assert "oops" in result.stdout  # no terminal: stderr comes back with the output
    assert f"on ⬢ {deployed}... up, run." in result.stderr
    assert paas(settings, token, "run", "-a", deployed, "-e", "ONLY_HERE=1", "--", "test $ONLY_HERE = 1",
                stdin=subprocess.DEVNULL).returncode == 0
    eventually(lambda: one_offs(engine, deployed) == [], timeout=10, what="one-off containers removed")
    logged(api, deployed, "heroku[run.1]: Process exited with status 7")


def test_an_interactive_shell_on_a_terminal(deployed, settings, token):
    controller, terminal = pty.openpty()
    env = {**os.environ, "PAAS_API_URL": settings.api_url, "PAAS_TOKEN": token}
    shell = subprocess.Popen([PAAS, "run", "-a", deployed, "--", "sh"], stdin=terminal, stdout=terminal, stderr=terminal,
                             env=env, start_new_session=True)
    os.close(terminal)
    seen = b""

    def read_until(text: bytes, timeout: float = 20) -> None:
        nonlocal seen
        deadline = time.monotonic() + timeout
        while text not in seen and time.monotonic() < deadline:
            if select.select([controller], [], [], 0.1)[0]:
                try:
                    seen += os.read(controller, 4096)
                except OSError:
                    return

    try:
        read_until(b"# ")  # the shell's prompt: it has a terminal
        os.write(controller, b"tty; echo $((6*7))\r")
        read_until(b"42")
        os.write(controller, b"exit 3\r")
        assert shell.wait(20) == 3, seen
    finally:
        shell.kill()
        os.close(controller)
    assert b"/dev/pts/" in seen and b"42" in seen, seen


def test_a_detached_run_writes_to_the_logs_and_ends(deployed, settings, token, engine, api):
    result = paas(settings, token, "run:detached", "-a", deployed, "--", 'echo "detached says $GREETING"')
    assert result.returncode == 0 and "done, run." in result.stdout, result
    name = result.stdout.split("done, ")[1].split(" ")[0]
    logged(api, deployed, f"app[{name}]: detached says hello there")
    logged(api, deployed, f"heroku[{name}]: State changed from up to complete")
    eventually(lambda: one_offs(engine, deployed) == [], timeout=10, what="one-off containers removed")


def test_a_client_that_goes_away_ends_its_run(deployed, api, engine):
    body = {"command": "sleep 600", "attach": True, "force_no_tty": True, "attach_transport": "websocket"}
    dyno = api.post(f"/apps/{deployed}/dynos", json=body).json()
    with connect(dyno["attach_url"]):
        eventually(lambda: one_offs(engine, deployed), timeout=20, what="the one-off container")
        listed = eventually(lambda: [d for d in api.get(f"/apps/{deployed}/dynos").json() if d["type"] == "run"],
                            timeout=10, what="the run in the dynos list")
        assert listed[0]["name"] == dyno["name"] and listed[0]["state"] == "up" and listed[0]["command"] == "sleep 600"
        assert api.get(f"/apps/{deployed}/dynos/{dyno['name']}").json()["id"] == dyno["id"]
    eventually(lambda: one_offs(engine, deployed) == [], timeout=20, what="the run killed after the hang-up")
    eventually(lambda: all(d["type"] != "run" for d in api.get(f"/apps/{deployed}/dynos").json()), timeout=10,
               what="the run gone from the dynos list")


def test_bad_runs_get_clear_errors(api, app_name):
    assert "deploy some code first" in api.post(f"/apps/{app_name}/dynos", json={"command": "ls"}).json()["message"]
    for body, word in (({}, "command"), ({"command": " "}, "command"), ({"command": "ls", "attach": "yes"}, "attach"),
                       ({"command": "ls", "env": {"1X": "y"}}, "1X"), ({"command": "ls", "env": {"A": 1}}, "env"),
                       ({"command": "ls", "size": "huge"}, "huge"), ({"command": "ls", "colour": 1}, "colour"),
                       ({"command": "ls", "attach_transport": "ftp"}, "attach_transport")):
        response = api.post(f"/apps/{app_name}/dynos", json=body)
        assert response.status_code == 422 and word in response.json()["message"], (body, response.text)


def rendezvous(attach_url: str, settings, sent: bytes = b"") -> tuple[bytes, bytes]:
    """Heroku's rendezvous as the Heroku CLI speaks it, checking the platform's certificate:
    the first line, and everything after it until the platform closes the connection."""
    url = urllib.parse.urlsplit(attach_url)
    assert url.scheme == "rendezvous" and url.hostname == settings.api_host, attach_url
    context = ssl.create_default_context(cafile=str(settings.rendezvous_ca_file))
    with socket.create_connection((url.hostname, url.port), timeout=30) as raw, \
            context.wrap_socket(raw, server_hostname=url.hostname) as tls:
        tls.sendall(f"{url.path[1:]}?{url.query}\r\n".encode())
        received = b""
        while b"\r\n" not in received:
            received += tls.recv(4096)
        first, _, rest = received.partition(b"\r\n")
        tls.sendall(sent)
        while chunk := tls.recv(65536):
            rest += chunk
    return first, rest


def test_the_rendezvous_carries_input_output_and_the_exit_code(deployed, api, settings):
    body = {"command": 'echo "$GREETING"; cat; exit 5', "attach": True, "force_no_tty": True}
    dyno = api.post(f"/apps/{deployed}/dynos", json=body).json()
    first, rest = rendezvous(dyno["attach_url"], settings, b"piped in\n\x04")
    assert first == b"rendezvous"
    assert rest == "hello there\npiped in\n\uffff heroku-command-exit-status: 5\n".encode(), rest

    # A URL that is not signed, or is signed for another run, reaches no run.
    forged = dyno["attach_url"].replace(dyno["id"], str(uuid.uuid4()))
    assert rendezvous(forged, settings)[0].startswith(b"no such run")
