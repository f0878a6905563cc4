"""Dynos end to end: what runs as the API shows it, restarts without a dropped request, and
crashed processes brought back by the engine with a growing back-off."""

import time
from datetime import datetime

import pytest

from tests.e2e.conftest import Load, app_containers, eventually

pytestmark = pytest.mark.e2e


def dynos(api, app):
    return {d["name"]: d for d in api.get(f"/apps/{app}/dynos").json()}


def engine_time(text: str) -> float:
    """Docker's RFC 3339 time, to the nanosecond (trailing zeros left out), as epoch seconds."""
    whole, _, fraction = text.removesuffix("Z").partition(".")
    return datetime.fromisoformat(whole + "+00:00").timestamp() + float("0." + (fraction or "0"))


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
    # Docker counts a restart when a run ends, then waits its back-off (doubling from 100 ms) before
    # the next run: run k starts at least 0.1 * 2**(k-1) s after run k-1 ended (the engine's own
    # times). A few tries, not a tight loop of hundreds.
    runs, waited = {}, {}  # run k: (started, ended); run k: how long after run k-1 ended it started

    def two_restarts_seen() -> list[int]:
        state = engine.containers.get(worker.id).attrs
        count, started, ended = state["RestartCount"], *(engine_time(state["State"][field]) for field in ("StartedAt", "FinishedAt"))
        if ended > started:  # run count-1 is over; the next one waits its turn
            runs[count - 1] = (started, ended)
            if count - 2 in runs:
                waited[count - 1] = started - runs[count - 2][1]
        return [k for k in sorted(waited) if k >= 4 and k + 1 in waited][:1]

    [k] = eventually(two_restarts_seen, timeout=60, what="two restarts of the crashing worker")
    assert waited[k] >= 0.1 * 2 ** (k - 1) and waited[k + 1] >= 0.1 * 2 ** k, waited
