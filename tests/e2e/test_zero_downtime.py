"""Zero means zero: under steady load from a client that opens a new connection per request and
one that keeps a single connection alive throughout, a deploy, a rollback, a config change, a
scale up and a scale down all finish without one failed request."""

import http.client
import threading
import time

import httpx
import pytest

from tests.e2e.conftest import app_containers, eventually

pytestmark = pytest.mark.e2e


class Load:
    """A bounded request loop through the router (127.0.0.1 only); every non-200 answer and every
    connection error is a failure. keep_alive: one connection for the whole run (a reset or a
    close by the router is a failure, then it reconnects)."""

    def __init__(self, settings, app: str, keep_alive: bool):
        self.settings, self.host, self.keep_alive = settings, settings.app_host(app), keep_alive
        self.sent, self.failures, self.connections = 0, [], 1
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)

    def connect(self):
        return http.client.HTTPConnection(self.settings.router_host, self.settings.router_port, timeout=10)

    def run(self):
        connection = self.connect()
        deadline = time.monotonic() + 240
        while not self.stopping.is_set() and time.monotonic() < deadline and self.sent < 20000:
            try:
                if not self.keep_alive:
                    connection.close()
                    connection = self.connect()
                connection.request("GET", "/", headers={"Host": self.host})
                response = connection.getresponse()
                response.read()
                if response.status != 200:
                    self.failures.append(response.status)
            except (OSError, http.client.HTTPException) as error:
                self.failures.append(type(error).__name__)
                connection.close()
                connection = self.connect()
                self.connections += 1
            self.sent += 1
            time.sleep(0.005)
        connection.close()

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.stopping.set()
        self.thread.join(30)


def answers(settings, app: str, tries: int = 20) -> set[str]:
    seen = set()
    for _ in range(tries):
        response = httpx.get(f"http://{settings.router_host}:{settings.router_port}/", headers={"Host": settings.app_host(app)})
        seen.add((response.text, response.headers.get("X-Container")))
    return seen


def test_deploy_rollback_config_and_scaling_drop_no_request(api, router, checkout, app_name, settings, engine):
    assert checkout.push().returncode == 0
    with Load(settings, app_name, keep_alive=False) as fresh, Load(settings, app_name, keep_alive=True) as kept:
        time.sleep(0.5)
        checkout.write("VERSION", "2\n")
        checkout.commit("version 2")
        assert checkout.push().returncode == 0  # deploy: returns once v3 serves
        assert {text for text, _ in answers(settings, app_name)} == {"sample-app version=2 greeting=\n"}

        api.post(f"/apps/{app_name}/releases", json={"release": 2}).raise_for_status()  # rollback
        eventually(lambda: {t for t, _ in answers(settings, app_name)} == {"sample-app version=1 greeting=\n"},
                   what="the rollback serving")

        api.patch(f"/apps/{app_name}/config-vars", json={"GREETING": "hi"}).raise_for_status()
        eventually(lambda: {t for t, _ in answers(settings, app_name)} == {"sample-app version=1 greeting=hi\n"},
                   what="the config change serving")

        api.patch(f"/apps/{app_name}/formation/web", json={"quantity": 3}).raise_for_status()
        eventually(lambda: len({c for _, c in answers(settings, app_name, 40)}) == 3, what="three instances serving")

        api.patch(f"/apps/{app_name}/formation/web", json={"quantity": 1}).raise_for_status()
        eventually(lambda: len(app_containers(engine, settings, app_name, "web")) == 1, what="scaled down to one")
        time.sleep(settings.router_drain + 0.5)  # the last ones stopped while the load went on
    for load in (fresh, kept):
        assert load.failures == [], (load.keep_alive, load.failures[:10], load.sent)
        assert load.sent > 100
    assert kept.connections == 1  # the keep-alive client's one connection was never closed
