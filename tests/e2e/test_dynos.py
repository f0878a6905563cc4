"""Dynos end to end: what runs as the API shows it, restarts without a dropped request, and
crashed processes brought back by the engine with a growing back-off."""

import time

import pytest

from tests.e2e.conftest import Load, app_containers, eventually

pytestmark = pytest.mark.e2e


def dynos(api, app):
    return {d["name"]: d for d in api.get(f"/apps/{app}/dynos").json()}


def test_dynos_are_listed_and_restarted_one_by_type_and_all_without_a_failed_request(api, router, checkout, app_name, settings):
    assert checkout.push().returncode == 0
    shown = eventually(lambda: dynos(api, app_name).get("web.1"), what="web.1 in the dynos list")
    assert shown["state"] == "up" and shown["type"] == "web" and shown["release"]["version"] == 2
    assert api.get(f"/apps/{app_name}/dynos/web.1").json()["id"] == shown["id"]
    assert api.get(f"/apps/{app_name}/dynos/web.9").status_code == 404
    assert api.delete(f"/apps/{app_name}/dynos/worker").status_code == 404

    api.patch(f"/apps/{app_name}/formation/web", json={"quantity": 2}).raise_for_status()
    eventually(lambda: set(dynos(api, app_name)) == {"web.1", "web.2"}, what="two web dynos listed")
    with Load(settings, app_name, keep_alive=True) as watch:
        first = dynos(api, app_name)
        assert api.delete(f"/apps/{app_name}/dynos/web.1").status_code == 202
        eventually(lambda: (d := dynos(api, app_name)).get("web.1", {}).get("id") not in (None, first["web.1"]["id"])
                   and len(d) == 2, what="web.1 replaced")
        assert dynos(api, app_name)["web.2"]["id"] == first["web.2"]["id"]  # only the one asked for

        before = dynos(api, app_name)
        assert api.delete(f"/apps/{app_name}/dynos").status_code == 202
        eventually(lambda: len(d := dynos(api, app_name)) == 2
                   and all(d[n]["id"] != before[n]["id"] for n in ("web.1", "web.2")), what="every dyno replaced")

        before = dynos(api, app_name)
        assert api.post(f"/apps/{app_name}/dynos/web.2/actions/stop").status_code == 202
        eventually(lambda: (d := dynos(api, app_name)).get("web.2", {}).get("id") not in (None, before["web.2"]["id"])
                   and len(d) == 2, what="the stopped web.2 started again")
    assert watch.failures == [] and watch.sent > 20, (watch.failures, watch.sent)


def test_a_killed_process_comes_back_and_a_crash_loop_backs_off(api, router, checkout, app_name, engine, settings):
    checkout.write("Procfile", "web: exec python3 -u server.py\nworker: echo crashing; exit 3\n")
    checkout.commit("a worker that crashes")
    assert checkout.push().returncode == 0
    [web] = app_containers(engine, settings, app_name, "web")
    killed_at = time.monotonic()
    web.kill()  # from outside: the engine leaves it down, the runner hears it exit and replaces it
    [back] = eventually(lambda: [c for c in app_containers(engine, settings, app_name, "web") if c.id != web.id],
                        timeout=20, what="web.1 replaced")
    assert router.wait_for(app_name, lambda r: r.status_code == 200, timeout=20).status_code == 200
    assert time.monotonic() - killed_at < 10  # not left for the next periodic sweep
    assert back.labels["paas.name"] == "web.1"

    api.patch(f"/apps/{app_name}/formation/worker", json={"quantity": 1}).raise_for_status()
    crashed = eventually(lambda: dynos(api, app_name).get("worker.1", {}).get("state") == "crashed", timeout=40,
                         what="worker.1 shown as crashed")
    assert crashed
    [worker] = app_containers(engine, settings, app_name, "worker") or [None]
    if worker is None:  # between two tries the list may miss it
        [worker] = eventually(lambda: app_containers(engine, settings, app_name, "worker"), what="the worker container")
    count = engine.containers.get(worker.id).attrs["RestartCount"]
    time.sleep(6)
    later = engine.containers.get(worker.id).attrs["RestartCount"]
    # Docker's back-off doubles from 100 ms: a few tries, not a tight loop of hundreds.
    assert 0 < later - count <= 6, (count, later)
