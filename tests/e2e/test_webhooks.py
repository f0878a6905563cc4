"""App webhooks end to end, against receivers the test runs on this host: deliveries are
Heroku's body, signed with the webhook's secret; `notify` tries once and `sync` again until the
receiver recovers; every attempt is listed with its code; a slow, dead or forbidden receiver
holds up neither the change nor another app's deliveries; the official CLI's webhooks:*."""

import base64
import hashlib
import hmac
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest

from tests.e2e.conftest import eventually
from tests.e2e.test_heroku_cli import heroku, ok  # noqa: F401 (a fixture)

pytestmark = pytest.mark.e2e


class Receiver:
    """An HTTP server of the test's: records each POST (its headers, raw body and time) and answers
    with the next of `answers` (then 200), after `delay` seconds."""

    def __init__(self, host: str = "127.0.0.1", answers: tuple[int, ...] = (), delay: float = 0.0):
        self.received: list[tuple[dict, bytes, float]] = []
        self.answers, self.delay = list(answers), delay
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                receiver.received.append(({k.lower(): v for k, v in self.headers.items()}, body, time.monotonic()))
                time.sleep(receiver.delay)
                self.send_response(receiver.answers.pop(0) if receiver.answers else 200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer((host, 0), Handler)
        self.url = f"http://{host}:{self.server.server_address[1]}/hooks"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def bodies(self) -> list[dict]:
        return [json.loads(body) for _, body, _ in self.received]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver():
    made: list[Receiver] = []

    def make(**kwargs) -> Receiver:
        made.append(Receiver(**kwargs))
        return made[-1]

    yield make
    for r in made:
        r.close()


def add(api, app: str, url: str, **fields) -> tuple[dict, str | None]:
    answer = api.post(f"/apps/{app}/webhooks", json={"include": ["api:release"], "level": "notify", "url": url, **fields})
    assert answer.status_code == 201, answer.text
    return answer.json(), answer.headers.get("heroku-webhook-secret")


def deliveries(api, app: str) -> list[dict]:
    return api.get(f"/apps/{app}/webhook-deliveries").json()


def test_deliveries_are_herokus_signed_and_notify_tries_once(api, app_name, receiver):
    fine, failing = receiver(), receiver(answers=(500,))
    hook, made = add(api, app_name, fine.url, secret="s3cret", authorization="Bearer let-me-in", include=["api:release", "api:formation"])
    assert made is None  # given, so not shown
    other, made_secret = add(api, app_name, failing.url)
    assert made_secret and len(made_secret) == 64  # made here, shown this once
    assert "secret" not in json.dumps(api.get(f"/apps/{app_name}/webhooks").json())

    assert api.patch(f"/apps/{app_name}/config-vars", json={"HOOKED": "yes"}).status_code == 200
    [(headers, raw, _)] = eventually(lambda: fine.received, 30, "the delivery")
    body = json.loads(raw)
    assert headers["heroku-webhook-hmac-sha256"] == base64.b64encode(hmac.new(b"s3cret", raw, hashlib.sha256).digest()).decode()
    assert headers["heroku-webhook-hmac-sha256"] != base64.b64encode(hmac.new(b"wrong", raw, hashlib.sha256).digest()).decode()
    assert headers["authorization"] == "Bearer let-me-in" and headers["content-type"] == "application/json"
    assert (body["resource"], body["action"], body["data"]["description"]) == ("release", "create", "Set HOOKED config vars")
    assert body["actor"]["email"] == api.get("/account").json()["email"] and isinstance(body["sequence"], int)
    assert body["webhook_metadata"]["webhook"]["id"] == hook["id"] and body["webhook_metadata"]["event"]["include"] == "api:release"
    assert {"id", "previous_data", "created_at", "published_at", "version"} <= set(body)
    # The other webhook's receiver got it signed with the secret made for it, answered 500: once only.
    [(their_headers, their_raw, _)] = eventually(lambda: failing.received, 30, "the failing delivery")
    assert their_headers["heroku-webhook-hmac-sha256"] == base64.b64encode(hmac.new(made_secret.encode(), their_raw, hashlib.sha256).digest()).decode()
    failed = eventually(lambda: [d for d in deliveries(api, app_name) if d["webhook"]["id"] == other["id"] and d["status"] == "failed"], 30,
                        "the failed delivery listed")
    assert failed[0]["num_attempts"] == 1 and failed[0]["last_attempt"]["code"] == 500 and failed[0]["next_attempt_at"] is None
    time.sleep(3)
    assert len(failing.received) == 1
    assert len(fine.received) == 1  # the change's config-vars event is of a kind neither includes
    event = api.get(f"/apps/{app_name}/webhook-events/{failed[0]['event']['id']}").json()
    assert event["payload"]["data"]["description"] == "Set HOOKED config vars" and event["include"] == "api:release"


def test_sync_is_retried_until_the_receiver_recovers(api, app_name, receiver):
    flaky = receiver(answers=(503, 502))
    hook, _ = add(api, app_name, flaky.url, level="sync")
    assert api.patch(f"/apps/{app_name}/config-vars", json={"RETRY": "1"}).status_code == 200
    done = eventually(lambda: [d for d in deliveries(api, app_name) if d["status"] == "succeeded"], 60, "the delivery succeeding")
    assert done[0]["num_attempts"] == 3 and done[0]["last_attempt"]["code"] == 200 and done[0]["webhook"]["level"] == "sync"
    times = [t for _, _, t in flaky.received]
    assert len(times) == 3 and [json.loads(b)["id"] for _, b, _ in flaky.received] == [json.loads(flaky.received[0][1])["id"]] * 3
    assert 1.5 < times[1] - times[0] < 4 and 3.5 < times[2] - times[1] < 7  # 2 s, then twice as long
    assert len({json.loads(b)["webhook_metadata"]["attempt"]["id"] for _, b, _ in flaky.received}) == 3


def test_a_slow_dead_or_forbidden_receiver_holds_up_nothing_else(api, new_app, receiver):
    slow_app, _ = new_app("flask")
    quick_app, _ = new_app("flask")
    slow, quick, forbidden = receiver(delay=8), receiver(), receiver(host="127.0.0.2")
    add(api, slow_app, slow.url, level="sync")
    add(api, slow_app, "http://127.0.0.1:9/hooks", level="sync")  # nothing listens there
    add(api, slow_app, forbidden.url)  # loopback beyond PAAS_OUTBOUND_ALLOW
    add(api, quick_app, quick.url)
    started = time.monotonic()
    for n in range(3):
        assert api.patch(f"/apps/{slow_app}/config-vars", json={"N": str(n)}).status_code == 200
    assert time.monotonic() - started < 3  # the changes never wait for a receiver
    eventually(lambda: slow.received, 30, "the slow receiver getting the first")
    changed = time.monotonic()
    assert api.patch(f"/apps/{quick_app}/config-vars", json={"QUICK": "1"}).status_code == 200
    eventually(lambda: quick.received, 30, "the other app's delivery")
    assert quick.received[0][2] - changed < 2, "held up by the slow receiver"
    assert len(slow.received) == 1  # still answering the first: one at a time per webhook
    found = eventually(lambda: [d for d in deliveries(api, slow_app) if d["status"] == "retrying" and d["last_attempt"]["error_class"]], 30,
                       "the dead receiver's retries")
    assert any(d["last_attempt"]["error_class"] == "could not connect to 127.0.0.1:9" and d["last_attempt"]["code"] is None
               for d in found), found
    refused = eventually(lambda: [d for d in deliveries(api, slow_app) if d["status"] == "failed"], 30, "the forbidden receiver's delivery")
    assert all("not allowed" in d["last_attempt"]["error_class"] for d in refused) and forbidden.received == []
    assert httpx.post(forbidden.url, json={}).status_code == 200 and len(forbidden.received) == 1  # it listens: the rule refused it
    eventually(lambda: len(slow.received) == 3, 60, "the slow receiver getting the rest, in turn")


def test_the_official_cli_manages_webhooks_and_lists_deliveries(heroku, api, app_name, receiver):  # noqa: F811
    target = receiver()
    added = ok(heroku("webhooks:add", "-i", "api:release,api:formation", "-l", "notify", "-u", target.url, "-a", app_name))
    assert "Webhooks Signing Secret" in added
    [hook] = api.get(f"/apps/{app_name}/webhooks").json()
    assert hook["include"] == ["api:formation", "api:release"] and hook["url"] == target.url
    listed = ok(heroku("webhooks", "-a", app_name))
    assert hook["id"] in listed and target.url in listed
    assert target.url in ok(heroku("webhooks:info", hook["id"], "-a", app_name))
    ok(heroku("webhooks:update", hook["id"], "-i", "api:release", "-l", "sync", "-u", target.url, "-a", app_name))
    assert api.get(f"/apps/{app_name}/webhooks/{hook['id']}").json()["level"] == "sync"
    assert api.patch(f"/apps/{app_name}/config-vars", json={"CLI": "1"}).status_code == 200
    eventually(lambda: [d for d in deliveries(api, app_name) if d["status"] == "succeeded"], 30, "a delivery")
    shown = ok(heroku("webhooks:deliveries", "-a", app_name))
    assert "succeeded" in shown and "api:release" in shown and "200" in shown
    ok(heroku("webhooks:remove", hook["id"], "-a", app_name))
    assert api.get(f"/apps/{app_name}/webhooks").json() == []
