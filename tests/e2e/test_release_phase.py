"""Heroku's release phase end to end: the Procfile's `release` command runs once per release,
before it serves; when it fails, nothing that serves changes and the pusher sees why."""

import pytest

from tests.e2e.conftest import eventually

pytestmark = pytest.mark.e2e

PROCFILE = (
    "web: exec python3 -u server.py\n"
    'release: echo "migrating $HEROKU_RELEASE_VERSION as $DYNO"; test "$GREETING" != fail\n'
)


def one_offs(engine, settings, app):
    return engine.containers.list(all=True, filters={"label": [f"paas.app={app}", "paas.one-off"]}, ignore_removed=True)


def test_the_release_command_gates_deploys_config_changes_and_pushes(api, router, checkout, app_name, engine, settings):
    checkout.write("Procfile", PROCFILE)
    checkout.commit("a release phase")
    pushed = checkout.push()
    assert pushed.returncode == 0, pushed.stderr
    assert "Running release command" in pushed.stderr and "migrating v2 as release.1" in pushed.stderr
    assert router.get(app_name).text == "sample-app version=1 greeting=\n"
    assert "release" not in {f["type"] for f in api.get(f"/apps/{app_name}/formation").json()}
    assert one_offs(engine, settings, app_name) == []  # removed once it ended

    # A config change runs it too; this one fails it: the release fails and v2 keeps serving.
    api.patch(f"/apps/{app_name}/config-vars", json={"GREETING": "fail"}).raise_for_status()
    latest = eventually(lambda: (r := api.get(f"/apps/{app_name}/releases").json()[-1])["status"] != "pending" and r,
                        what="the config release settled")
    assert latest["version"] == 3 and latest["status"] == "failed"
    assert router.get(app_name).text == "sample-app version=1 greeting=\n"

    # A push whose release command fails is rejected with its output; the branch does not move.
    before = checkout.remote_refs()["refs/heads/main"]
    checkout.write("VERSION", "2\n")
    checkout.commit("version 2, still failing")
    rejected = checkout.push()
    assert rejected.returncode != 0 and "[remote rejected]" in rejected.stderr
    assert "the release command exited with code 1" in rejected.stderr and "migrating v4" in rejected.stderr
    assert checkout.remote_refs()["refs/heads/main"] == before
    assert router.get(app_name).text == "sample-app version=1 greeting=\n"

    api.patch(f"/apps/{app_name}/config-vars", json={"GREETING": "ok"}).raise_for_status()
    assert router.wait_for(app_name, lambda r: "greeting=ok" in r.text, timeout=60).status_code == 200
