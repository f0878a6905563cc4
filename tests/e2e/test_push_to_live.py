"""The walking skeleton, end to end: real git, Postgres, Redis, Celery, Docker, registry and Caddy."""

import subprocess
import time

import pytest

from tests.e2e.conftest import Checkout

pytestmark = pytest.mark.e2e


def body_has(text):
    return lambda response: response.status_code == 200 and text in response.text


def test_push_config_redeploy_rollback_and_failed_builds(api, router, checkout, app_name, settings):
    # A new app is routed but has nothing running yet: the 503 page.
    page = router.wait_for(app_name, lambda r: r.status_code == 503)
    assert page.status_code == 503 and "paas" in page.text

    # First push: the build streams to git, the release goes live.
    pushed = checkout.push()
    assert pushed.returncode == 0, pushed.stderr
    assert "remote: -----> Building image from Dockerfile" in pushed.stderr
    assert "remote:        Nothing in it runs: the source goes into /app as one layer" in pushed.stderr
    assert f"is live at http://{app_name}.localhost" in pushed.stderr
    assert router.get(app_name).text == "sample-app version=1 greeting=\n"
    first_commit = checkout.head()

    release = api.get(f"/apps/{app_name}/releases/2").json()
    assert release["status"] == "succeeded" and release["current"] is True
    assert release["description"] == f"Deploy {first_commit[:7]}"
    assert release["commit"] == first_commit
    assert release["image"].startswith(f"{settings.registry}/{app_name}@sha256:")

    # A config change is a new release and the running app sees it.
    changed = api.patch(f"/apps/{app_name}/config-vars", json={"GREETING": "hello"})
    assert changed.json() == {"GREETING": "hello"}
    assert router.wait_for(app_name, body_has("greeting=hello")).text == "sample-app version=1 greeting=hello\n"
    assert api.get(f"/apps/{app_name}/releases/3").json()["description"] == "Set GREETING config vars"

    # A second version.
    checkout.write("VERSION", "2\n")
    checkout.commit("version 2")
    pushed = checkout.push()
    assert pushed.returncode == 0, pushed.stderr
    assert router.get(app_name).text == "sample-app version=2 greeting=hello\n"

    # Roll back to v3 (version 1 with the greeting): no rebuild, serving within seconds.
    started = time.monotonic()
    rolled = api.post(f"/apps/{app_name}/releases", json={"release": 3})
    assert rolled.status_code == 201, rolled.text
    assert rolled.json()["version"] == 5 and rolled.json()["description"] == "Rollback to v3"
    assert router.wait_for(app_name, body_has("version=1"), timeout=15).text == "sample-app version=1 greeting=hello\n"
    assert time.monotonic() - started < 15
    assert api.get(f"/apps/{app_name}/releases/5").json()["image"] == api.get(f"/apps/{app_name}/releases/3").json()["image"]

    # A broken Dockerfile: the push is refused with the build's error, the branch stays, the app keeps serving.
    before = checkout.remote_refs()["refs/heads/main"]
    checkout.write("Dockerfile", "FROM paas/stack:bookworm\nRUN echo 'compiling...' && exit 3\n")
    checkout.commit("broken build")
    pushed = checkout.push()
    assert pushed.returncode != 0
    assert "! [remote rejected] main -> main (build failed)" in pushed.stderr
    assert "exit status 3" in pushed.stderr
    assert "compiling..." in pushed.stderr
    assert checkout.remote_refs()["refs/heads/main"] == before
    assert router.get(app_name).text == "sample-app version=1 greeting=hello\n"

    # A Dockerfile that does not even parse.
    checkout.write("Dockerfile", "FORM paas/stack:bookworm\n")
    checkout.commit("typo")
    pushed = checkout.push()
    assert "! [remote rejected] main -> main (build failed)" in pushed.stderr
    assert "unknown instruction" in pushed.stderr.lower()
    assert router.get(app_name).text == "sample-app version=1 greeting=hello\n"

    # An app that builds but crashes on boot: its release fails, the serving release is untouched.
    checkout.write("Dockerfile", "FROM paas/stack:bookworm\nCMD [\"python3\", \"-c\", \"print('boom: no database'); raise SystemExit(1)\"]\n")
    checkout.commit("crashes on boot")
    pushed = checkout.push()
    assert pushed.returncode != 0
    assert "! [remote rejected] main -> main (v6 did not start; v5 keeps serving)" in pushed.stderr
    assert "boom: no database" in pushed.stderr
    assert api.get(f"/apps/{app_name}/releases/6").json()["status"] == "failed"
    current = [r for r in api.get(f"/apps/{app_name}/releases").json() if r["current"]]
    assert [r["version"] for r in current] == [5]
    assert router.get(app_name).text == "sample-app version=1 greeting=hello\n"


def test_push_needs_a_valid_token_and_a_known_app(checkout, settings, app_name):
    host = settings.api_url.removeprefix("http://")
    refused = checkout.push(f"http://paas:not-a-token@{host}/{app_name}.git")
    assert refused.returncode != 0
    assert "Authentication failed" in refused.stderr or "401" in refused.stderr

    unknown = checkout.push(checkout.remote.replace(f"/{app_name}.git", "/no-such-app.git"))
    assert unknown.returncode != 0
    assert "not found" in unknown.stderr


def test_deleting_an_app_stops_it_and_drops_its_route(api, router, checkout, app_name):
    assert checkout.push().returncode == 0
    assert router.get(app_name).status_code == 200
    assert api.delete(f"/apps/{app_name}").status_code == 200
    gone = router.wait_for(app_name, lambda r: r.status_code == 404)
    assert gone.status_code == 404 and "paas" in gone.text
    assert api.get(f"/apps/{app_name}").status_code == 404


def test_only_main_or_master_deploy_and_a_commit_needs_a_dockerfile_or_a_buildpack(api, router, checkout, app_name):
    feature = checkout.push(ref="main:refs/heads/feature")
    assert feature.returncode == 0, feature.stderr
    assert "only main or master deploy; not building" in feature.stderr
    assert [r["version"] for r in api.get(f"/apps/{app_name}/releases").json()] == [1]

    master = checkout.push(ref="main:master")
    assert master.returncode == 0, master.stderr
    assert "is live at" in master.stderr
    assert router.get(app_name).text == "sample-app version=1 greeting=\n"

    checkout.git("rm", "-q", "Dockerfile")
    checkout.commit("no Dockerfile")  # and nothing a buildpack recognises
    missing = checkout.push(ref="main:master")
    assert "! [remote rejected] main -> master (build failed)" in missing.stderr
    assert "no buildpack applies to this app" in missing.stderr
    assert router.get(app_name).text == "sample-app version=1 greeting=\n"


def test_one_deploying_push_per_app_at_a_time(router, checkout, app_name, tmp_path):
    checkout.write("Dockerfile", checkout.path.joinpath("Dockerfile").read_text() + "RUN sleep 3\n")
    checkout.commit("slow build")
    slow = subprocess.Popen(["git", "push", checkout.remote, "main"], cwd=checkout.path, stderr=subprocess.PIPE, text=True)
    seen = []
    for line in slow.stderr:  # wait until the slow build runs: its push holds the app's push lock
        seen.append(line)
        if "RUN sleep 3" in line:
            break
    rejected = Checkout(tmp_path / "other", checkout.remote).push()
    assert rejected.returncode != 0
    assert f"another push to {app_name} is deploying; push again when it is done" in rejected.stderr
    seen.extend(slow.stderr)
    assert slow.wait(120) == 0, "".join(seen)
    assert router.get(app_name).text == "sample-app version=1 greeting=\n"

    checkout.commit("to both branches")
    both = checkout.git("push", "--atomic", checkout.remote, "main", "main:master", check=False)
    assert both.returncode != 0 and "push main or master, not both at once" in both.stderr


def test_a_procfile_beside_the_dockerfile_overrides_cmd_per_type(api, router, checkout, app_name):
    checkout.write("Procfile", "web: GREETING=from-procfile exec python3 -u server.py\nworker: sleep infinity\n")
    checkout.commit("a Procfile")
    pushed = checkout.push()
    assert pushed.returncode == 0, pushed.stderr
    assert "-----> Process types: web, worker" in pushed.stderr
    assert router.get(app_name).text == "sample-app version=1 greeting=from-procfile\n"
    assert api.get(f"/apps/{app_name}").json()["stack"]["name"] == "container"  # the image brings its own
