"""Zero means zero: under steady load from a client that opens a new connection per request and
one that keeps a single connection alive throughout, a deploy, a rollback, a config change, a
scale up and a scale down all finish without one failed request."""

import time

import httpx
import pytest

from tests.e2e.conftest import Load, app_containers, eventually

pytestmark = pytest.mark.e2e


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
