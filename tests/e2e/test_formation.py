"""Formation end to end: scaling, process types, sizes and the dyno environment, seen through the
router and on the Docker engine itself."""

import pytest

from tests.e2e.conftest import app_containers, eventually

pytestmark = pytest.mark.e2e


def serving_containers(router, app, tries=40) -> set[str]:
    """Which containers answered `tries` requests through the router (each a new connection)."""
    seen = set()
    for _ in range(tries):
        response = router.get(app)
        if response.status_code == 200:
            seen.add(response.headers["X-Container"])
    return seen


def web_count(engine, settings, app):
    return len(app_containers(engine, settings, app, "web"))


def test_scale_web_up_down_relative_to_zero_and_back(api, router, checkout, app_name, engine, settings):
    assert checkout.push().returncode == 0
    assert api.patch(f"/apps/{app_name}/formation/web", json={"quantity": 3}).json()["quantity"] == 3
    three = eventually(lambda: len(s := serving_containers(router, app_name)) == 3 and s, what="three web instances answering")
    names = sorted(c.labels["paas.name"] for c in app_containers(engine, settings, app_name, "web"))
    assert names == ["web.1", "web.2", "web.3"]

    api.patch(f"/apps/{app_name}/formation", json={"updates": [{"type": "web", "quantity": "-1"}]}).raise_for_status()
    eventually(lambda: web_count(engine, settings, app_name) == 2, what="web scaled to 2")
    assert serving_containers(router, app_name) < three  # the two that stayed, not new ones

    api.patch(f"/apps/{app_name}/formation/web", json={"quantity": 0}).raise_for_status()
    eventually(lambda: router.get(app_name).status_code == 503, what="the 503 page at web=0")
    eventually(lambda: web_count(engine, settings, app_name) == 0, what="no web containers")
    api.patch(f"/apps/{app_name}/formation/web", json={"quantity": "+1"}).raise_for_status()
    assert router.wait_for(app_name, lambda r: r.status_code == 200).text == "sample-app version=1 greeting=\n"


def test_a_worker_runs_with_the_dyno_environment(api, router, checkout, app_name, engine, settings):
    checkout.write("Procfile", "web: exec python3 -u server.py\nworker: env; exec sleep infinity\n")
    checkout.commit("a worker")
    assert checkout.push().returncode == 0
    assert api.get(f"/apps/{app_name}/formation/worker").json()["quantity"] == 0  # new types start at 0
    api.patch(f"/apps/{app_name}/formation/worker", json={"quantity": 1}).raise_for_status()
    [worker] = eventually(lambda: app_containers(engine, settings, app_name, "worker"), what="a worker container")
    env = eventually(lambda: worker.logs().decode(), what="the worker's output")
    app = api.get(f"/apps/{app_name}").json()
    expected = {"DYNO": "worker.1", "HEROKU_APP_NAME": app_name, "HEROKU_APP_ID": app["id"],
                "HEROKU_RELEASE_VERSION": "v2", "HEROKU_SLUG_COMMIT": checkout.head()}
    lines = dict(line.split("=", 1) for line in env.splitlines() if "=" in line)
    assert {k: lines.get(k) for k in expected} == expected, env
    assert lines["HEROKU_RELEASE_CREATED_AT"].endswith("Z") and len(lines["HEROKU_DYNO_ID"]) == 36
    assert "PORT" not in lines  # only web processes get one
    [web] = app_containers(engine, settings, app_name, "web")
    assert "DYNO=web.1" in web.attrs["Config"]["Env"] and f"PORT={settings.web_port}" in web.attrs["Config"]["Env"]


def test_a_size_sets_the_limits_and_replaces_processes_without_a_gap(api, router, checkout, app_name, engine, settings):
    assert checkout.push().returncode == 0
    [before] = app_containers(engine, settings, app_name, "web")
    assert before.attrs["HostConfig"]["Memory"] == settings.dyno_sizes["basic"].memory_mb * 2**20
    api.patch(f"/apps/{app_name}/formation/web", json={"size": "standard-2x"}).raise_for_status()

    def replaced():
        running = app_containers(engine, settings, app_name, "web")
        return [c for c in running if c.id != before.id] if len(running) == 1 else None

    answers = []
    [after] = eventually(lambda: answers.append(router.get(app_name).status_code) or replaced(), what="the resized web.1")
    limits = settings.dyno_sizes["standard-2x"]
    assert after.attrs["HostConfig"]["Memory"] == limits.memory_mb * 2**20
    assert after.attrs["HostConfig"]["CpuShares"] == limits.cpu_shares and after.attrs["HostConfig"]["PidsLimit"] == limits.pids
    assert set(answers) == {200}, answers  # the old one served until the new one answered
