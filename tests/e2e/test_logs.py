"""Logs end to end: the app's own output, the router's access lines and the platform's events,
kept across a redeploy and a restart of the runner, read through log sessions as Heroku's
`logplex_url`, followed live, filtered, and bounded when an app floods them."""

import json
import os
import re
import subprocess
import threading
import time
import uuid
from pathlib import Path

import httpx
import pytest
import redis

from tests.e2e.conftest import app_containers, eventually
from paas.channels.dynos import NODES_KEY

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
LINE = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}\+00:00 (app|heroku)\[[a-z0-9._-]+\]: "


def read_logs(api, app: str, **options) -> list[str]:
    session = api.post(f"/apps/{app}/log-sessions", json={"lines": 10_000, **options})
    assert session.status_code == 201, session.text
    response = httpx.get(session.json()["logplex_url"], timeout=30)  # signed: no token needed
    assert response.status_code == 200, response.text
    return response.text.splitlines()


def logged(api, app: str, text: str, **options) -> list[str]:
    return eventually(lambda: [line for line in read_logs(api, app, **options) if text in line], timeout=20,
                      what=f"{text!r} in the logs of {app}")


def test_logs_keep_app_output_router_lines_and_events_across_a_redeploy_and_a_platform_restart(api, router, checkout, app_name, settings, engine):
    assert checkout.push().returncode == 0
    before = f"/before-{uuid.uuid4().hex[:8]}"
    assert router.get(app_name, before).status_code == 200
    [access] = logged(api, app_name, f'path="{before}"', source="heroku", dyno="router")
    assert re.match(LINE, access) and " heroku[router]: at=info method=GET " in access
    assert "dyno=web.1 " in access and " status=200 " in access and f"host={app_name}.{settings.domain}" in access
    assert logged(api, app_name, f"GET {before} HTTP/1.1")[0].split(" ", 1)[1].startswith("app[web.1]: ")
    events = "\n".join(read_logs(api, app_name))
    for event in ("app[api]: Build started by", "app[api]: Build succeeded", "app[api]: Release v2 created by",
                  "heroku[web.1]: Starting process with command", "heroku[web.1]: State changed from starting to up",
                  "app[web.1]: sample-app 1 listening on 5000"):
        assert event in events, (event, events)

    checkout.write("VERSION", "2\n")
    checkout.commit("version 2")
    assert checkout.push().returncode == 0
    assert router.get(app_name).text.startswith("sample-app version=2")
    api.patch(f"/apps/{app_name}/config-vars", json={"GREETING": "hi"}).raise_for_status()
    logged(api, app_name, "app[api]: Set GREETING config vars by")
    logged(api, app_name, "heroku[web.1]: Stopping all processes with SIGTERM")
    logged(api, app_name, "heroku[web.1]: Process exited with status")

    # The platform's processes (the runner collects) are down for a while; what the app and the
    # router write meanwhile is in the logs once they are back.
    platform = [str(ROOT / "scripts" / "platform.sh")]
    env = {**os.environ, "PAAS_HOME": str(settings.home)}
    def only_the_new_process():
        found = app_containers(engine, settings, app_name)
        return len(found) == 1 and [c.id for c in found]

    serving = eventually(only_the_new_process, timeout=40, what="the old processes gone")
    subprocess.run(platform + ["down"], check=True, capture_output=True, env=env)
    during = [f"/while-the-runner-was-down-{uuid.uuid4().hex[:8]}" for _ in range(3)]
    for path in during:
        assert router.get(app_name, path).status_code == 200
    # Docker has the app's lines of them (its own copy, beside the one for the stopped collector).
    [web] = app_containers(engine, settings, app_name)
    eventually(lambda: all(f"GET {path} HTTP/1.1" in web.logs().decode() for path in during), timeout=20,
               what="the app's lines of the requests in Docker's copy")
    up_at = time.time()
    subprocess.run(platform + ["up"], check=True, capture_output=True, env=env)
    store = redis.Redis.from_url(settings.redis_url)
    eventually(lambda: json.loads(store.get(NODES_KEY) or "{}").get("at", 0) > up_at,
               timeout=settings.reconcile_interval + 30, what="the new runner's first sweep")  # it ends with this
    time.sleep(2)  # inherent: proving none is replaced; one that sweep asked for would run by now
    assert [c.id for c in app_containers(engine, settings, app_name)] == serving  # none replaced
    lines = read_logs(api, app_name)
    assert any(before in line for line in lines)  # from before the redeploy
    # Docker kept the app's lines meanwhile (the first one went to the stopped collector and is lost).
    app_line = logged(api, app_name, f"GET {during[-1]} HTTP/1.1", source="app")[0]
    assert " app[web.1]: " in app_line
    for path in during:  # the router's file loses nothing
        logged(api, app_name, f'path="{path}"', dyno="router")
    # Filters: source, and a process type for all its dynos.
    assert all(" app[" in line for line in read_logs(api, app_name, source="app"))
    assert all(" heroku[router]: " in line for line in read_logs(api, app_name, dyno="router"))
    assert read_logs(api, app_name, lines=3, dyno="web")[-1:] and len(read_logs(api, app_name, lines=3)) == 3


def test_a_tailing_session_sees_new_lines_as_they_come(api, router, checkout, app_name):
    assert checkout.push().returncode == 0
    session = api.post(f"/apps/{app_name}/log-sessions", json={"tail": True, "lines": 0, "source": "heroku"}).json()
    seen: list[str] = []
    marker = f"/tail-{uuid.uuid4().hex[:8]}"

    streaming = threading.Event()

    def follow():
        with httpx.stream("GET", session["logplex_url"], timeout=httpx.Timeout(30, read=None)) as response:
            streaming.set()  # the API took its place in the log before it answered: what comes now, it sends
            for line in response.iter_lines():
                seen.append(line)
                if marker in line:
                    return

    reader = threading.Thread(target=follow, daemon=True)
    reader.start()
    assert streaming.wait(20), "the tail did not start"
    assert router.get(app_name, marker).status_code == 200
    reader.join(20)
    assert seen and marker in seen[-1] and " heroku[router]: " in seen[-1], seen
    assert not any("sample-app" in line for line in seen)  # lines: 0 and source heroku: no app output


def test_a_tail_ends_when_its_token_is_revoked(api, settings, router, checkout, app_name):
    assert checkout.push().returncode == 0
    email = f"tail-{uuid.uuid4().hex[:8]}@example.com"
    made = api.post("/accounts", json={"email": email})
    assert made.status_code == 201, made.text
    theirs = httpx.Client(base_url=settings.api_url, headers={"Authorization": f"Bearer {made.json()['token']}"}, timeout=30)
    try:
        assert api.post(f"/apps/{app_name}/collaborators", json={"user": email}).status_code == 201
        session = theirs.post(f"/apps/{app_name}/log-sessions", json={"tail": True, "lines": 0, "source": "heroku"})
        assert session.status_code == 201, session.text
        seen, streaming, ended = [], threading.Event(), threading.Event()

        def follow():
            with httpx.stream("GET", session.json()["logplex_url"], timeout=httpx.Timeout(30, read=None)) as response:
                streaming.set()  # its place in the log is taken: what comes now, it sends
                for line in response.iter_lines():
                    seen.append(line)
            ended.set()

        threading.Thread(target=follow, daemon=True).start()
        assert streaming.wait(20), "the tail did not start"
        assert router.get(app_name, "/before-revoking").status_code == 200
        eventually(lambda: any("/before-revoking" in line for line in seen), 20, "the tail to show the request")
        [authorization] = theirs.get("/oauth/authorizations").json()
        assert theirs.delete(f"/oauth/authorizations/{authorization['id']}").status_code == 200
        revoked = time.monotonic()
        assert ended.wait(20), "the tail went on after its token was revoked"
        assert time.monotonic() - revoked < 15
    finally:
        theirs.close()
        api.delete(f"/accounts/{email}")


def test_bad_log_sessions_get_clear_errors(api, app_name):
    for body, word in (({"lines": -1}, "lines"), ({"lines": "ten"}, "lines"), ({"tail": "yes"}, "tail"),
                       ({"dyno": "web.1; rm"}, "dyno"), ({"source": "kernel"}, "source"), ({"colour": 1}, "colour"),
                       ([1], "JSON object")):
        response = api.post(f"/apps/{app_name}/log-sessions", json=body)
        assert response.status_code == 422 and word in response.json()["message"], (body, response.text)
    session = api.post(f"/apps/{app_name}/log-sessions", json={}).json()
    assert httpx.get(session["logplex_url"].split("?")[0]).status_code == 404  # unsigned
    assert api.post("/apps/no-such-app-here/log-sessions", json={}).status_code == 404


def test_an_app_flooding_its_logs_keeps_serving_and_the_drop_is_counted(api, router, checkout, app_name, settings):
    # A web process that prints about 20,000 lines a second beside its server.
    checkout.write("flood.py", "import itertools, time\nfor i in itertools.count():\n"
                   "    print('flood line', i)\n    if i % 200 == 0:\n        time.sleep(0.01)\n")
    checkout.write("Procfile", "web: python3 -u flood.py & exec python3 -u server.py\n")
    checkout.commit("flood")
    assert checkout.push().returncode == 0
    served, started = 0, time.monotonic()
    while time.monotonic() - started < 4:
        assert router.get(app_name).status_code == 200
        served += 1
    assert served > 20
    [notice] = logged(api, app_name, "Error L10 (output buffer overflow)")[:1]
    assert " heroku[logplex]: " in notice and "messages dropped since" in notice
    kept = redis.Redis.from_url(settings.redis_url).xlen(f"paas:logs:{api.get(f'/apps/{app_name}').json()['id']}")
    assert kept <= settings.log_lines + 1000, kept  # bounded (trimmed by whole blocks)


def test_a_crash_and_a_process_over_its_memory_show_in_the_logs(api, checkout, app_name):
    checkout.write("Procfile", "web: exec python3 -u server.py\n"
                               "worker: python3 -c 'x = bytearray(700 * 2**20); import time; time.sleep(60)'\n"
                               "crasher: echo about to crash; exit 3\n")
    checkout.commit("a worker over its memory and one that crashes")
    assert checkout.push().returncode == 0
    api.patch(f"/apps/{app_name}/formation", json={"updates": [{"type": "worker", "quantity": 1},
                                                               {"type": "crasher", "quantity": 1}]}).raise_for_status()
    logged(api, app_name, "app[api]: Scaled to ")
    logged(api, app_name, "heroku[worker.1]: Error R15 (Memory quota vastly exceeded)")
    logged(api, app_name, "heroku[worker.1]: Process exited with status 137")
    logged(api, app_name, "app[crasher.1]: about to crash")
    logged(api, app_name, "heroku[crasher.1]: Process exited with status 3")
    logged(api, app_name, "heroku[crasher.1]: State changed from up to crashed")
