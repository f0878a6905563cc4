"""An app's events end to end: the live stream shows a push's build and release as they happen
and, reconnected with Last-Event-ID, goes on without a gap or a repeat; changes made while the
runner (whose thread publishes) is down are delivered when it is back, once; only those who may
view the app read its events; `paas events` prints them."""

import json
import os
import queue
import subprocess
import threading
import time
from pathlib import Path

import httpx
import pytest

from tests.e2e.conftest import eventually
from tests.e2e.test_logs import read_logs
from tests.e2e.test_one_off import paas
from tests.swarm_nodes import stop_process

pytestmark = pytest.mark.e2e
ROOT = Path(__file__).resolve().parents[2]


class Stream:
    """An app's live events, read in a thread: (id, event) pairs in a queue, until closed."""

    def __init__(self, settings, token: str, app: str, last: int | None = None):
        self.items: queue.Queue = queue.Queue()
        headers = {"Authorization": f"Bearer {token}", "Accept": "text/event-stream",
                   **({"Last-Event-ID": str(last)} if last is not None else {})}
        self.client = httpx.Client(base_url=settings.api_url, timeout=httpx.Timeout(10, read=60))
        self.response = self.client.send(self.client.build_request("GET", f"/apps/{app}/events", headers=headers), stream=True)
        assert self.response.status_code == 200 and self.response.headers["content-type"].startswith("text/event-stream")
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        event_id = None
        try:
            for line in self.response.iter_lines():
                if line.startswith("id: "):
                    event_id = int(line[4:])
                elif line.startswith("data: "):
                    self.items.put((event_id, json.loads(line[6:])))
        except httpx.HTTPError:
            pass

    def until(self, done, timeout: float = 120) -> list[tuple[int, dict]]:
        """Everything read until `done(event)` is true of one (included)."""
        found, deadline = [], time.monotonic() + timeout
        while True:
            try:
                item = self.items.get(timeout=max(0.1, deadline - time.monotonic()))
            except queue.Empty:
                pytest.fail(f"the stream did not get there within {timeout:.0f} s: {[kind(e) for _, e in found]}")
            found.append(item)
            if done(item[1]):
                return found

    def close(self) -> None:
        self.response.close()
        self.client.close()


def kind(event: dict) -> str:
    return f"{event['resource']}.{event['action']}"


def changes(found: list[tuple[int, dict]]) -> list[str]:
    """The kinds of what was read, less the dynos' state changes that come in between."""
    return [kind(e) for _, e in found if kind(e) != "dyno.update"]


def test_a_push_is_seen_live_and_a_reconnected_stream_misses_nothing(api, settings, token, checkout, app_name):
    stream = Stream(settings, token, app_name, last=0)
    try:
        made = stream.until(lambda e: kind(e) == "release.create")  # the app's, from the start
        assert [kind(e) for _, e in made] == ["app.create", "release.create"] and made[0][1]["data"]["name"] == app_name
        assert made[0][1]["actor"]["email"] == api.get("/account").json()["email"]
        assert checkout.push().returncode == 0
        pushed = stream.until(lambda e: kind(e) == "release.update")
        kinds = changes(pushed)
        assert kinds[:3] == ["build.create", "release.create", "build.update"] and kinds[-1] == "release.update", kinds
        up = lambda e: kind(e) == "dyno.update" and (e["data"]["name"], e["data"]["state"]) == ("web.1", "up")  # noqa: E731
        if not any(up(e) for _, e in pushed):  # the runner tells of its dynos once the release is live
            pushed += stream.until(up, 30)
        released = next(e for _, e in pushed if kind(e) == "release.update")
        assert released["data"]["status"] == "succeeded" and released["previous_data"]["status"] == "pending"
        assert pushed[0][1]["data"]["source_blob"]["version"] == checkout.head()
        seen = [i for i, _ in made + pushed]
        assert all(e["previous_data"]["state"] in (None, "starting") for _, e in pushed if up(e))  # a change, to up
        assert seen == sorted(seen) and len(set(seen)) == len(seen)
    finally:
        stream.close()
    # While nobody listens: a scale and a config change. A new stream from the last id read gets
    # exactly those (the same as the list after it), nothing before them again.
    assert api.patch(f"/apps/{app_name}/formation/web", json={"quantity": 2}).status_code == 200
    assert api.patch(f"/apps/{app_name}/config-vars", json={"COLOUR": "blue"}).status_code == 200
    missed = eventually(lambda: api.get(f"/apps/{app_name}/events", params={"after": seen[-1]}).json(), 30,
                        "the events made while disconnected")
    resumed = Stream(settings, token, app_name, last=seen[-1])
    try:
        again = resumed.until(lambda e: kind(e) == "release.update" and e["data"]["description"] == "Set COLOUR config vars")
    finally:
        resumed.close()
    assert [i for i, _ in again][: len(missed)] == [e["sequence"] for e in missed]
    assert changes(again)[:3] == ["formation.update", "config-vars.update", "release.create"]
    assert min(i for i, _ in again) > seen[-1]


def test_changes_made_while_the_publisher_is_down_are_delivered_once_when_it_is_back(api, settings, checkout, app_name):
    assert checkout.push().returncode == 0
    home = settings.home.resolve()
    stop_process(home / "run" / "runner.pid")  # the runner, and the publisher with it
    try:
        assert api.patch(f"/apps/{app_name}/config-vars", json={"WHILE": "down"}).status_code == 200
        time.sleep(1)
        pending = api.get(f"/apps/{app_name}/events").json()
        assert "Set WHILE config vars" not in [e["data"].get("description") for e in pending]  # recorded, not delivered
    finally:
        subprocess.run([str(ROOT / "scripts" / "platform.sh"), "up"], check=True, capture_output=True, timeout=300,
                       env={**os.environ, "PAAS_HOME": str(home)})
    eventually(lambda: api.get(f"/apps/{app_name}/releases").json()[-1]["status"] == "succeeded", 120,
               "the release made while the runner was down deployed")
    release = api.get(f"/apps/{app_name}/releases").json()[-1]
    assert release["description"] == "Set WHILE config vars"
    line = f"app[api]: Release v{release['version']} created by"
    eventually(lambda: any(line in entry for entry in read_logs(api, app_name)), 30, "its log line")
    time.sleep(2)  # a second delivery would have come by now
    assert sum(line in entry for entry in read_logs(api, app_name)) == 1
    listed = [e for e in api.get(f"/apps/{app_name}/events").json() if e["data"].get("description") == "Set WHILE config vars"]
    assert [kind(e) for e in listed] == ["release.create", "release.update"]


def test_only_those_who_may_view_the_app_read_its_events_and_the_cli_prints_them(api, settings, token, app_name):
    assert api.patch(f"/apps/{app_name}/config-vars", json={"SEEN": "1"}).status_code == 200
    stranger = api.post("/accounts", json={"email": f"events-{int(time.time() * 1000)}@example.com"}).json()
    try:
        with httpx.Client(base_url=settings.api_url, headers={"Authorization": f"Bearer {stranger['token']}"}, timeout=30) as theirs:
            for accept in ("application/json", "text/event-stream"):
                refused = theirs.get(f"/apps/{app_name}/events", headers={"Accept": accept})
                assert refused.status_code in (403, 404) and refused.json()["id"] in ("forbidden", "not_found"), refused.text
            assert api.post(f"/apps/{app_name}/collaborators", json={"user": stranger["email"]}).status_code == 201
            # The same request, now as a collaborator: the positive control.
            allowed = eventually(lambda: theirs.get(f"/apps/{app_name}/events").json(), 30, "the events, as a collaborator")
            assert "config-vars.update" in [kind(e) for e in allowed]
    finally:
        api.delete(f"/accounts/{stranger['id']}")
    printed = eventually(lambda: (r := paas(settings, token, "events", "-a", app_name)).returncode == 0 and "set SEEN" in r.stdout and r,
                         30, "paas events printing the change")
    assert "config-vars.update  set SEEN  by " in printed.stdout and "app.create" in printed.stdout, printed.stdout


def test_a_user_holds_a_few_live_streams_at_once_and_one_more_once_one_ends(api, settings, app_name):
    """Each stream holds a Redis connection: a user may not open them without end (429 past
    `live_streams_per_user`); another user is not held back by it, and a closed stream frees its place."""
    user = api.post("/accounts", json={"email": f"streams-{int(time.time() * 1000)}@example.com"}).json()
    other = api.post("/accounts", json={"email": f"streams-other-{int(time.time() * 1000)}@example.com"}).json()
    opened: list[Stream] = []
    try:
        for who in (user, other):
            assert api.post(f"/apps/{app_name}/collaborators", json={"user": who["email"]}).status_code == 201
        opened = [Stream(settings, user["token"], app_name) for _ in range(settings.live_streams_per_user - 1)]
        with httpx.Client(base_url=settings.api_url, timeout=30) as plain:
            def one_more(token: str) -> httpx.Response:
                headers = {"Authorization": f"Bearer {token}", "Accept": "text/event-stream"}
                answer = plain.send(plain.build_request("GET", f"/apps/{app_name}/events", headers=headers), stream=True)
                if answer.status_code != 200:
                    answer.read()
                return answer

            last = one_more(user["token"])  # the user's last one (not read by a thread: it closes at once)
            assert last.status_code == 200
            refused = one_more(user["token"])
            assert refused.status_code == 429 and refused.json()["id"] == "rate_limit", refused.text
            theirs = one_more(other["token"])
            assert theirs.status_code == 200  # the positive control: someone else's stream
            theirs.close()
            last.close()
            eventually(lambda: (r := one_more(user["token"])).status_code == 200 and (r.close() or True), 30,
                       "a stream once one of the user's ended")
    finally:
        for stream in opened:
            stream.close()
        for who in (user, other):
            api.delete(f"/accounts/{who['id']}")
